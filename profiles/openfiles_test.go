package profiles

import (
	"strings"
	"testing"
)

// The plan's VUs (its segment's share, capped by max_conns_per_host) are
// checked against the open-file limit before the start.
func TestCheckOpenFiles(t *testing.T) {
	t.Parallel()
	plan := func(load, http string) *Plan {
		t.Helper()
		src := "target: http://127.0.0.1:1\nscenario:\n  - {name: a, get: /}\nload: " + load + "\n" + http
		p, err := Parse("p.yaml", []byte(src), ".")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		p     *Plan
		seg   Segment
		limit uint64
		want  string // in the warning; "" none
	}{
		// 1,000 VUs and the reserve fit in 20,000.
		{"fits", plan("{vus: 1000, duration: 1s}", ""), Segment{}, 20_000, ""},
		// 40,000 VUs do not: each may hold a connection.
		{"over", plan("{vus: 40000, duration: 1s}", ""), Segment{}, 20_000, "up to 40000 VUs (http.max_conns_per_host unset) may hold about 40064 open files, over the open-file limit of 20000 (ulimit -n)"},
		// A quarter of them in each of four pods fits.
		{"segment", plan("{vus: 40000, duration: 1s}", ""), Segment{Index: 1, Count: 4}, 20_000, ""},
		// Capped connections fit whatever the VUs.
		{"capped", plan("{vus: 40000, duration: 1s}", "http: {max_conns_per_host: 500}\n"), Segment{}, 1024, ""},
		{"capped over", plan("{vus: 40000, duration: 1s}", "http: {max_conns_per_host: 5000}\n"), Segment{}, 1024, "(http.max_conns_per_host 5000)"},
		// The open model's max_vus count.
		{"open", plan("{rate: 100/s, duration: 1s, preallocated_vus: 10, max_vus: 3000}", ""), Segment{}, 1024, "up to 3000 VUs"},
		// An unknown limit is not checked.
		{"unknown", plan("{vus: 40000, duration: 1s}", ""), Segment{}, 0, ""},
	} {
		got := CheckOpenFiles(tc.p, tc.seg, tc.limit)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if OpenFileLimit() == 0 {
		t.Error("OpenFileLimit: unknown on this machine")
	}
}
