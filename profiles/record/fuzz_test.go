package record

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionload/load/profiles"
)

// FuzzConvert: any bytes given as a HAR either convert into a plan that the
// plan decoder accepts or are refused with an error naming the file; the
// converter never panics.
func FuzzConvert(f *testing.F) {
	bad, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.har"))
	for _, p := range bad {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"log":{"version":"1.2","entries":[{"startedDateTime":"2026-12-02T20:00:00.000Z","time":1,` +
		`"request":{"method":"GET","url":"http://127.0.0.1:8080/api/me","headers":[],"queryString":[],"cookies":[]},` +
		`"response":{"status":200,"headers":[],"cookies":[],"content":{"mimeType":"application/json","text":"{\"user\":\"u\"}"}}}]}}`))
	f.Fuzz(func(t *testing.T, har []byte) {
		res, err := Convert("f.har", bytes.NewReader(har), Options{})
		if err != nil {
			if !strings.Contains(err.Error(), "f.har") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(res.UsersHeader+"\nu,p\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := profiles.Parse("plan.yaml", []byte(res.Plan), dir); err != nil {
			t.Fatalf("the converted plan does not parse: %v\n%s", err, res.Plan)
		}
	})
}
