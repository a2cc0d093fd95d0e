package record_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionload/load/profiles/record"
)

var update = flag.Bool("update", false, "rewrite the golden .err files of testdata/bad")

// TestMalformedHAR pins the exact error of each malformed recording in
// testdata/bad (x.har → x.err): it names the file, the line and column
// where there is one, and what was expected.
func TestMalformedHAR(t *testing.T) {
	hars, _ := filepath.Glob("testdata/bad/*.har")
	if len(hars) < 8 {
		t.Fatalf("%d malformed HARs, expected at least 8", len(hars))
	}
	hars = append(hars, "testdata/bad/missing.har") // no such file
	for _, h := range hars {
		name := strings.TrimSuffix(filepath.Base(h), ".har")
		t.Run(name, func(t *testing.T) {
			_, err := record.ConvertFile(h, record.Options{})
			if err == nil {
				t.Fatal("converted, expected an error")
			}
			golden := strings.TrimSuffix(h, ".har") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(err.Error()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if got := err.Error() + "\n"; got != string(want) {
				t.Errorf("error:\n got %s want %s", got, want)
			}
			if !strings.HasPrefix(err.Error(), h) && !strings.Contains(err.Error(), h) {
				t.Errorf("the error does not name the file %s: %v", h, err)
			}
		})
	}
}
