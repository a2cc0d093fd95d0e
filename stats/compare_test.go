package stats

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseTolerances(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Tolerances
		err  string
	}{
		// The example.
		{"p99=10%,errors=0.1pp", Tolerances{"p99": {10, false}, "errors": {0.1, true}}, ""},
		// p999 is p99.9; blanks are fine; errors may be relative too.
		{" p999 = 5% , rps=20%, errors=50%", Tolerances{"p99.9": {5, false}, "rps": {20, false}, "errors": {50, false}}, ""},
		// Points only for error rates.
		{"p99=1pp", nil, "only apply to errors"},
		// No unit.
		{"p99=10", nil, "expected a percentage"},
		// Unknown metric.
		{"p98.5=1%", nil, "METRIC"},
		{"p99=-1%", nil, "non-negative"},
		{"", nil, "no tolerance"},
	} {
		got, err := ParseTolerances(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("%q: %v %v", tc.in, got, err)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%q: %s = %+v, want %+v", tc.in, k, got[k], v)
			}
		}
	}
}

// slower returns a copy of r whose login latencies are all scaled by f and
// whose total errors grew by extra.
func slower(t *testing.T, r *Results, f float64, extra int64) *Results {
	t.Helper()
	n := *r
	n.Endpoints = append([]EndpointResult(nil), r.Endpoints...)
	h, err := DecodeHDR(n.Endpoints[0].HDR)
	if err != nil {
		t.Fatal(err)
	}
	scaled := newHistogram()
	for _, b := range h.Distribution() {
		if b.Count > 0 {
			_ = scaled.RecordValues(int64(float64(b.From)*f), b.Count)
		}
	}
	if n.Endpoints[0].HDR, err = encodeHDR(scaled); err != nil {
		t.Fatal(err)
	}
	n.Totals.Errors += extra
	return &n
}

func TestCompare(t *testing.T) {
	t.Parallel()
	base := sinkRun(t)
	// The same run: no regression.
	c, err := Compare(base, base, DefaultTolerances())
	if err != nil || c.Regressions != 0 {
		t.Fatalf("same run: %d regressions, %v", c.Regressions, err)
	}
	// login 30% slower and one error in 100 more: p99 and errors regress.
	next := slower(t, base, 1.3, base.Totals.Requests/100)
	c, err = Compare(base, next, DefaultTolerances())
	if err != nil {
		t.Fatal(err)
	}
	var regs []string
	for _, r := range c.Rows {
		if r.Regressed {
			regs = append(regs, r.Endpoint+" "+r.Metric)
		}
	}
	if strings.Join(regs, ",") != "login p99,total errors" || c.Regressions != 2 {
		t.Errorf("regressions %v, want login p99 and total errors", regs)
	}
	for _, r := range c.Rows {
		if r.Endpoint == "login" && r.Metric == "p99" && (r.Change() < 25 || r.Change() > 35) {
			t.Errorf("login p99 change %.1f%%, want about +30%%", r.Change())
		}
	}
	// A looser tolerance lets it pass.
	loose, _ := ParseTolerances("p99=50%,errors=5pp")
	if c, _ := Compare(base, next, loose); c.Regressions != 0 {
		t.Errorf("loose tolerances: %d regressions", c.Regressions)
	}
	var buf bytes.Buffer
	if err := c.Write(&buf); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"✗ regression (> +10%)", "2 regressions", "view cart *", "+1.00pp"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("comparison lacks %q:\n%s", w, buf.String())
		}
	}
	t.Log("\n" + buf.String())
}

// FuzzParseTolerances: never panics; what parses has known metrics and
// non-negative values.
func FuzzParseTolerances(f *testing.F) {
	f.Add("p99=10%,errors=0.1pp")
	f.Add("p999=5%, rps=20%")
	f.Fuzz(func(t *testing.T, s string) {
		tol, err := ParseTolerances(s)
		if err != nil {
			return
		}
		for m, v := range tol {
			if _, ok := map[string]bool{"p50": true, "p90": true, "p95": true, "p99": true, "p99.9": true, "mean": true, "max": true, "errors": true, "rps": true}[m]; !ok || v.Value < 0 {
				t.Fatalf("ParseTolerances(%q) = %v", s, tol)
			}
		}
	})
}
