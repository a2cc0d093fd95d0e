package profiles_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionload/load/profiles"
)

// A password from the environment or a file is taken as written (a "{{"
// in it is no template), given to every VU, and never in Plan.Source.
func TestPasswordSources(t *testing.T) {
	const pw = "p{{a$$w0rd}}-from-outside"
	t.Setenv("LOAD_TEST_PASSWORD", pw)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw.txt"), []byte(pw+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"password_env: LOAD_TEST_PASSWORD", "password_file: pw.txt"} {
		plan := `
target: http://127.0.0.1:8080
users: {template: {username: "user{{.VU}}", ` + src + `}}
session: {login: spring-form}
scenario: [{name: home, get: /}]
load: {vus: 2, duration: 1s}
`
		p, err := profiles.Parse("plan.yaml", []byte(plan), dir)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if id := p.Scenarios[0].Users.Identity(2); id.Username != "user2" || id.Password != pw {
			t.Errorf("%s: identity %q / %q, want user2 / %q", src, id.Username, id.Password, pw)
		}
		if strings.Contains(p.Source, pw) {
			t.Errorf("%s: the password is in Plan.Source", src)
		}
	}
}
