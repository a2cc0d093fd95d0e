package profiles

import (
	"os"
	"path/filepath"
	"testing"
)

// The manager's credentials come from the environment or a file, never
// from the plan in clear.
func TestServerCredentials(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "manager.pw"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LOAD_TEST_MANAGER_USER", "jmx")
	p, err := Parse("plan.yaml", []byte(`
target: http://127.0.0.1:8080/shop
scenario: [{name: a, get: /}]
load: {vus: 1, duration: 1s}
server: {url: http://127.0.0.1:8080/manager, context: /shop, username_env: LOAD_TEST_MANAGER_USER, password_file: manager.pw, interval: 2s}
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Server; c == nil || c.Username != "jmx" || c.Password != "s3cret" || c.Context != "/shop" || c.Interval.Seconds() != 2 {
		t.Errorf("server config %+v", c)
	}
}
