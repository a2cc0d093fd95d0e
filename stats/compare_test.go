package stats

import (
	"bytes"
	"encoding/xml"
	"errors"
	"math"
	"slices"
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
		// Counts take a share lost.
		{"requests=25%,iterations=5%", Tolerances{"requests": {25, false}, "iterations": {5, false}}, ""},
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

// hist records values (µs) into an HDR field.
func hist(t *testing.T, values ...[2]int64) string {
	t.Helper()
	h := newHistogram()
	for _, v := range values {
		if err := h.RecordValues(v[0], v[1]); err != nil {
			t.Fatal(err)
		}
	}
	s, err := encodeHDR(h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// spread is n values evenly over lo..hi µs, times f.
func spread(n int, lo, hi int64, f float64) [][2]int64 {
	out := make([][2]int64, n)
	for i := range n {
		out[i] = [2]int64{int64(f * float64(lo+(hi-lo)*int64(i)/int64(max(n-1, 1)))), 1}
	}
	return out
}

// run is a results file with one endpoint "catalog" of n requests, errs
// failed, latencies from values; the totals are the same endpoint.
func run(t *testing.T, n, errs int64, values [][2]int64) *Results {
	t.Helper()
	e := EndpointResult{Name: "catalog", Requests: n, Errors: errs, RPS: float64(n) / 10, HDR: hist(t, values...)}
	tot := e
	tot.Name = TotalName
	return &Results{Schema: SchemaV1, Plan: "shop", PlanHash: "abc", Endpoints: []EndpointResult{e}, Totals: tot,
		Iterations: IterationCounts{Completed: n}}
}

// regressions lists a comparison's regressed figures.
func regressions(c *Comparison) []string {
	var out []string
	for _, r := range c.Rows {
		if r.Regressed {
			out = append(out, r.Name())
		}
	}
	return out
}

func row(c *Comparison, name string) CompareRow {
	for _, r := range c.Rows {
		if r.Name() == name {
			return r
		}
	}
	return CompareRow{}
}

// A quantile's interval brackets its rank ∓ z·√(nq(1−q)): for 10,000
// values 1..10,000 µs, p99 is rank 9,900 and its 95% interval ranks
// 9,880..9,921.
func TestQuantileInterval(t *testing.T) {
	t.Parallel()
	z := math.Sqrt2 * math.Erfinv(0.95)
	f, err := latencyFigures(hist(t, spread(10_000, 1, 10_000, 1)...), z)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m             string
		value, lo, hi float64 // ms
		tolerance     float64
		n             int64
	}{
		{"p99", 9.9, 9.880, 9.921, 0.011, 10_000},
		{"p50", 5.0, 4.902, 5.099, 0.006, 10_000},
		// Mean ± z·σ/√n: σ of a uniform 0..10 ms is 2.89 ms.
		{"mean", 5.0, 5.0 - z*0.0289, 5.0 + z*0.0289, 0.005, 10_000},
	} {
		e := f[tc.m]
		if math.Abs(e.Value-tc.value) > tc.tolerance || math.Abs(e.Lo-tc.lo) > tc.tolerance || math.Abs(e.Hi-tc.hi) > tc.tolerance || e.N != tc.n {
			t.Errorf("%s = %+v, want %.3f [%.3f..%.3f] n %d", tc.m, e, tc.value, tc.lo, tc.hi, tc.n)
		}
		if e.Lo > e.Value || e.Hi < e.Value {
			t.Errorf("%s: interval %+v does not hold the value", tc.m, e)
		}
	}
}

// The Wilson interval of an error rate: wide for few requests, sane at 0%
// and 100%.
func TestWilson(t *testing.T) {
	t.Parallel()
	z := math.Sqrt2 * math.Erfinv(0.95)
	for _, tc := range []struct {
		errs, n int64
		lo, hi  float64 // percent
	}{
		{0, 150, 0, 2.49},      // no error in 150: up to 2.5% is plausible
		{3, 150, 0.68, 5.71},   // 2% of 150
		{300, 300, 98.74, 100}, // all failed
		{50, 1000, 3.81, 6.54}, // 5% of 1,000
	} {
		e := wilson(tc.errs, tc.n, z)
		if math.Abs(e.Lo-tc.lo) > 0.01 || math.Abs(e.Hi-tc.hi) > 0.01 {
			t.Errorf("%d/%d: [%.2f..%.2f], want [%.2f..%.2f]", tc.errs, tc.n, e.Lo, e.Hi, tc.lo, tc.hi)
		}
	}
}

// A noisy tail: 980 samples at 1 ms and 20 spread over 10..200 ms, whose
// p99 (rank 990) could be anywhere from about 30 to 170 ms.
func noisyTail(f float64) [][2]int64 {
	return append([][2]int64{{1000, 980}}, spread(20, 10_000, 200_000, f)...)
}

func TestCompare(t *testing.T) {
	t.Parallel()
	fast := spread(5000, 1000, 10_000, 1)
	for _, tc := range []struct {
		name        string
		bases       []*Results
		next        *Results
		tol         string
		regressions []string
		notes       map[string]string // figure -> its note
	}{
		// The same run: nothing.
		{"same", []*Results{run(t, 5000, 0, fast)}, run(t, 5000, 0, fast), "", nil, nil},
		// 30% slower with 5,000 samples: p50 and p99 regress, and so does
		// p90 when asked for.
		{"slower", []*Results{run(t, 5000, 0, fast)}, run(t, 5000, 0, spread(5000, 1000, 10_000, 1.3)), "p90=10%",
			[]string{"catalog p50", "catalog p90", "catalog p99"}, map[string]string{"total p99": "not judged: a mix of endpoints, each judged on its own"}},
		// 0.2 → 0.3 ms (+50%) with tight intervals: below the 1 ms least change.
		{"least change", []*Results{run(t, 5000, 0, spread(5000, 100, 200, 1))}, run(t, 5000, 0, spread(5000, 100, 200, 1.5)), "",
			nil, map[string]string{"catalog p99": "within noise: up 0.0990ms, less than 1ms"}},
		// 3x slower with 500 samples: shown, not judged.
		{"few samples", []*Results{run(t, 500, 0, spread(500, 1000, 10_000, 1))}, run(t, 500, 0, spread(500, 1000, 10_000, 3)), "",
			nil, map[string]string{"catalog p99": "not judged: 500 and 500 samples, fewer than 1000"}},
		// 20% slower p99 in a tail too thin to tell: within noise.
		{"overlap", []*Results{run(t, 1000, 0, noisyTail(1))}, run(t, 1000, 0, noisyTail(1.2)), "",
			nil, map[string]string{"catalog p99": "within noise: the 95% intervals overlap"}},
		// 0 → 2 errors in 150 requests (+1.3pp) is noise; 0 → 1% of
		// 20,000 is not.
		{"errors noise", []*Results{run(t, 150, 0, fast)}, run(t, 150, 2, fast), "", nil,
			map[string]string{"catalog errors": "within noise: the 95% intervals overlap"}},
		{"errors", []*Results{run(t, 20_000, 0, fast)}, run(t, 20_000, 200, fast), "", []string{"catalog errors", "total errors"}, nil},
		// --max-regress p99=50% keeps judging errors and counts.
		{"errors whatever max-regress", []*Results{run(t, 20_000, 0, fast)}, run(t, 2000, 2000, fast), "p99=50%",
			[]string{"catalog requests", "catalog errors", "total requests", "total iterations", "total errors"}, nil},
		// Median of three: two fast runs and a slow one are a fast base.
		{"median fast", []*Results{run(t, 5000, 0, fast), run(t, 5000, 0, spread(5000, 1000, 10_000, 3)), run(t, 5000, 0, fast)},
			run(t, 5000, 0, fast), "", nil, nil},
		{"median slow", []*Results{run(t, 5000, 0, fast), run(t, 5000, 0, spread(5000, 1000, 10_000, 3)), run(t, 5000, 0, fast)},
			run(t, 5000, 0, spread(5000, 1000, 10_000, 2)), "", []string{"catalog p50", "catalog p99"}, nil},
	} {
		var opt CompareOptions
		if tc.tol != "" {
			var err error
			if opt.Tolerances, err = ParseTolerances(tc.tol); err != nil {
				t.Fatal(err)
			}
		}
		c, err := Compare(tc.bases, tc.next, opt)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := regressions(c); !slices.Equal(got, tc.regressions) || c.Regressions != len(tc.regressions) {
			t.Errorf("%s: regressions %v (%d), want %v", tc.name, got, c.Regressions, tc.regressions)
		}
		for fig, note := range tc.notes {
			if r := row(c, fig); r.Note != note || r.Regressed {
				t.Errorf("%s: %s: note %q regressed %v, want %q", tc.name, fig, r.Note, r.Regressed, note)
			}
		}
	}
}

// A latency's interval is widened by the run's own schedule lag at the
// same quantile: a tail that rose by no more than the generator was late
// is not the server's.
func TestCompareScheduleLag(t *testing.T) {
	t.Parallel()
	base := run(t, 5000, 0, spread(5000, 2000, 3000, 1))
	next := run(t, 5000, 0, append(spread(4900, 2000, 3000, 1), spread(100, 4000, 4500, 1)...))
	c, err := Compare([]*Results{base}, next, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(regressions(c), []string{"catalog p99"}) {
		t.Fatalf("without lag: %v", regressions(c))
	}
	// The new run's generator was up to 1.5 ms late at p99: its p99 of
	// about 4 ms, against 3 ms, may be its own.
	next.Generator = &Generator{ScheduleLag: &Percentiles{P50: 0.1, P99: 1.5}}
	c, _ = Compare([]*Results{base}, next, CompareOptions{})
	if r := row(c, "catalog p99"); r.Regressed || r.Note != "within noise: the 95% intervals overlap" || r.New.Lo > r.New.Value-1.5 {
		t.Errorf("with lag: %+v", r)
	}
}

// Corrected latency is compared with corrected only, service time with
// service time.
func TestCompareCorrection(t *testing.T) {
	t.Parallel()
	fast := spread(5000, 1000, 10_000, 1)
	base, next := run(t, 5000, 0, fast), run(t, 5000, 0, fast)
	queued := hist(t, spread(5000, 50_000, 500_000, 1)...)
	// Only the base has corrected figures, much higher than any service
	// time: none is compared with the new run's service time.
	base.Endpoints[0].CorrectedHDR, base.Totals.CorrectedHDR = queued, queued
	base.Endpoints[0].CorrectedRequests, base.Totals.CorrectedRequests = 5000, 5000
	c, err := Compare([]*Results{base}, next, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Rows {
		if r.Corrected || r.Regressed {
			t.Errorf("mixed runs: row %+v", r)
		}
	}
	if !slices.Contains(c.Notes, "corrected latency only in base: service time compared, corrected not") {
		t.Errorf("notes %q", c.Notes)
	}
	// Both corrected, the new one queued 3x longer, service the same:
	// only the corrected figures regress.
	next.Endpoints[0].CorrectedHDR = hist(t, spread(5000, 50_000, 500_000, 3)...)
	next.Totals.CorrectedHDR = next.Endpoints[0].CorrectedHDR
	next.Endpoints[0].CorrectedRequests, next.Totals.CorrectedRequests = 5000, 5000
	if c, _ = Compare([]*Results{base}, next, CompareOptions{}); !slices.Equal(regressions(c), []string{"catalog corrected p50", "catalog corrected p99"}) {
		t.Errorf("corrected regressions %v", regressions(c))
	}
	var buf bytes.Buffer
	if err := c.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "regression: catalog corrected p99 496ms → 1487ms") {
		t.Errorf("comparison:\n%s", buf.String())
	}
}

// An endpoint that vanished regresses; a new one does not.
func TestCompareVanished(t *testing.T) {
	t.Parallel()
	fast := spread(5000, 1000, 10_000, 1)
	base, next := run(t, 5000, 0, fast), run(t, 5000, 0, fast)
	base.Endpoints = append(base.Endpoints, EndpointResult{Name: "checkout", Requests: 20, HDR: hist(t, [2]int64{1000, 20})})
	c, err := Compare([]*Results{base}, next, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := regressions(c); !slices.Equal(got, []string{"checkout requests"}) || row(c, "checkout requests").Missing != "new" {
		t.Errorf("vanished: %v", got)
	}
	if c, _ := Compare([]*Results{next}, base, CompareOptions{}); c.Regressions != 0 || row(c, "checkout requests").Missing != "base" {
		t.Errorf("a new endpoint: %v", regressions(c))
	}
	// A run lists every step, also one no VU got to: with no requests it
	// is as gone as a missing one.
	next.Endpoints = append(next.Endpoints, EndpointResult{Name: "checkout", HDR: hist(t)})
	if c, _ := Compare([]*Results{base}, next, CompareOptions{}); !slices.Equal(regressions(c), []string{"checkout requests"}) || row(c, "checkout requests").Missing != "new" {
		t.Errorf("no requests: %v %+v", regressions(c), row(c, "checkout requests"))
	}
}

// Runs of different plans are refused unless forced; old files without a
// plan hash are told apart by their plan text.
func TestComparePlan(t *testing.T) {
	t.Parallel()
	fast := spread(2000, 1000, 10_000, 1)
	a, b := run(t, 2000, 0, fast), run(t, 2000, 0, fast)
	b.PlanHash = "def"
	if _, err := Compare([]*Results{a}, b, CompareOptions{}); !errors.Is(err, ErrDifferentPlan) {
		t.Errorf("different hashes: %v", err)
	}
	if c, err := Compare([]*Results{a}, b, CompareOptions{Force: true}); err != nil || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "--force") {
		t.Errorf("forced: %v %v", c, err)
	}
	a.PlanHash, b.PlanHash = "", ""
	a.PlanSource, b.PlanSource = "name: shop\nload: {vus: 10}\n", "name: shop\nload: {vus: 20}\n"
	if _, err := Compare([]*Results{a}, b, CompareOptions{}); !errors.Is(err, ErrDifferentPlan) || !strings.Contains(err.Error(), "plan text") {
		t.Errorf("different plan text: %v", err)
	}
	b.PlanSource = a.PlanSource
	if _, err := Compare([]*Results{a}, b, CompareOptions{}); err != nil {
		t.Errorf("same plan text: %v", err)
	}
}

// The JUnit of a comparison: a case per judged figure, failed when it
// regressed, skipped when it was not judged.
func TestCompareJUnit(t *testing.T) {
	t.Parallel()
	base := run(t, 5000, 0, spread(5000, 1000, 10_000, 1))
	base.Endpoints = append(base.Endpoints, EndpointResult{Name: "logout", Requests: 100, HDR: hist(t, spread(100, 1000, 2000, 1)...)})
	next := run(t, 5000, 0, spread(5000, 1000, 10_000, 2))
	next.Endpoints = append(next.Endpoints, EndpointResult{Name: "logout", Requests: 100, HDR: hist(t, spread(100, 1000, 2000, 5)...)})
	c, err := Compare([]*Results{base}, next, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCompareJUnit(&buf, c); err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &suite); err != nil {
		t.Fatal(err)
	}
	failed, skipped := map[string]string{}, map[string]bool{}
	for _, tc := range suite.Cases {
		if tc.Failure != nil {
			failed[tc.Name] = tc.Failure.Message
		}
		if tc.Skipped != nil {
			skipped[tc.Name] = true
		}
	}
	if suite.Failures != 2 || !skipped["total p99"] || !strings.HasPrefix(failed["catalog p99"], "regression: catalog p99 9.91ms → 19.8ms") || !skipped["logout p99"] || suite.Tests != len(suite.Cases) {
		t.Errorf("junit: %d tests, failed %v, skipped %v\n%s", suite.Tests, failed, skipped, buf.String())
	}
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
			if _, ok := map[string]bool{"p50": true, "p90": true, "p95": true, "p99": true, "p99.9": true, "mean": true, "max": true, "errors": true, "rps": true, "requests": true, "iterations": true}[m]; !ok || v.Value < 0 {
				t.Fatalf("ParseTolerances(%q) = %v", s, tol)
			}
		}
	})
}
