package main

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/stats"
)

// hdrOf encodes n latencies spread evenly over lo..hi as a results.json
// HDR field (µs).
func hdrOf(t *testing.T, n int, lo, hi time.Duration) string {
	t.Helper()
	h := hdrhistogram.New(1, 60_000_000, 3)
	for i := range n {
		v := lo + time.Duration(int64(hi-lo)*int64(i)/int64(max(n-1, 1)))
		if err := h.RecordValue(v.Microseconds()); err != nil {
			t.Fatal(err)
		}
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// endpointOf is an endpoint of n requests, errs of them failed, with
// service times over lo..hi.
func endpointOf(t *testing.T, name string, n, errs int, lo, hi time.Duration) stats.EndpointResult {
	t.Helper()
	return stats.EndpointResult{Name: name, Requests: int64(n), Errors: int64(errs), RPS: float64(n) / 10, HDR: hdrOf(t, n, lo, hi)}
}

// resultsOf is a 10 s run of the plan "shop" with these endpoints; the
// totals are their sum (the histogram is the first endpoint's: enough for
// the figures compare reads).
func resultsOf(t *testing.T, iterations int64, eps ...stats.EndpointResult) *stats.Results {
	t.Helper()
	r := &stats.Results{Schema: stats.SchemaV1, Plan: "shop", DurationS: 10, PlanSource: "name: shop\n", Endpoints: eps,
		Iterations: stats.IterationCounts{Completed: iterations}}
	r.Totals = stats.EndpointResult{Name: stats.TotalName, HDR: eps[0].HDR, CorrectedHDR: eps[0].CorrectedHDR}
	for _, e := range eps {
		r.Totals.Requests += e.Requests
		r.Totals.Errors += e.Errors
		r.Totals.RPS += e.RPS
	}
	return r
}

func saveResults(t *testing.T, dir, name string, r *stats.Results) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := writeResults(p, r); err != nil {
		t.Fatal(err)
	}
	return p
}

// The dead-vs-good pipeline: errors 0% → 100% and requests
// 11,817 → 300 regress whatever --max-regress says, and the lines name
// the endpoint and the figure.
func TestCompareDeadVsGood(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := saveResults(t, dir, "good.json", resultsOf(t, 5000,
		endpointOf(t, "login", 1000, 0, 2*time.Millisecond, 20*time.Millisecond),
		endpointOf(t, "catalog", 10817, 0, time.Millisecond, 10*time.Millisecond)))
	dead := saveResults(t, dir, "dead.json", resultsOf(t, 0,
		endpointOf(t, "login", 300, 300, 100*time.Microsecond, 3*time.Millisecond)))
	code, out, stderr := runCLI(t, "compare", good, dead, "--max-regress", "p99=10%")
	if code != exitThresholds {
		t.Fatalf("dead vs good: exit %d, want 99\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"regression: total errors", "regression: total requests", "regression: total iterations",
		"regression: login errors", "regression: catalog requests"} {
		if !strings.Contains(out, want) {
			t.Errorf("comparison lacks %q:\n%s", want, out)
		}
	}
	// The other way round nothing got worse.
	if code, out, _ := runCLI(t, "compare", dead, good); code != exitOK {
		t.Errorf("good vs dead base: exit %d\n%s", code, out)
	}
}

// An endpoint that vanished is a regression; so is one that lost more
// than the tolerated share of its requests.
func TestCompareVanishedEndpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	catalog := endpointOf(t, "catalog", 5000, 0, time.Millisecond, 10*time.Millisecond)
	base := saveResults(t, dir, "base.json", resultsOf(t, 5000, catalog,
		endpointOf(t, "checkout", 50, 0, time.Millisecond, 10*time.Millisecond)))
	gone := saveResults(t, dir, "gone.json", resultsOf(t, 5000, catalog))
	code, out, _ := runCLI(t, "compare", base, gone)
	if code != exitThresholds || !strings.Contains(out, "regression: checkout requests") || !strings.Contains(out, "gone") {
		t.Errorf("vanished endpoint: exit %d, want 99 naming checkout\n%s", code, out)
	}
	fewer := saveResults(t, dir, "fewer.json", resultsOf(t, 5000, catalog,
		endpointOf(t, "checkout", 40, 0, time.Millisecond, 10*time.Millisecond)))
	if code, out, _ := runCLI(t, "compare", base, fewer); code != exitThresholds || !strings.Contains(out, "regression: checkout requests") {
		t.Errorf("checkout lost 20%% of its requests: exit %d, want 99\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "compare", base, fewer, "--max-regress", "requests=25%"); code != exitOK {
		t.Errorf("requests=25%% tolerates a 20%% loss: exit %d\n%s", code, out)
	}
}

// Corrected latency is compared with corrected latency only: a base with
// none against a new run with a queue-inflated corrected figure but the
// same service time is no regression.
func TestCompareNeverAcrossCorrection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := resultsOf(t, 5000, endpointOf(t, "catalog", 5000, 0, time.Millisecond, 10*time.Millisecond))
	next := resultsOf(t, 5000, endpointOf(t, "catalog", 5000, 0, time.Millisecond, 10*time.Millisecond))
	next.Endpoints[0].CorrectedHDR = hdrOf(t, 5000, 50*time.Millisecond, 500*time.Millisecond)
	next.Totals.CorrectedHDR = next.Endpoints[0].CorrectedHDR
	next.Endpoints[0].CorrectedRequests, next.Totals.CorrectedRequests = 5000, 5000 // intended times
	b, n := saveResults(t, dir, "base.json", base), saveResults(t, dir, "new.json", next)
	code, out, _ := runCLI(t, "compare", b, n)
	if code != exitOK || !strings.Contains(out, "corrected latency only in new") {
		t.Errorf("service vs corrected: exit %d, want 0 and a note\n%s", code, out)
	}
	// Both corrected: the corrected figures are compared, and regress.
	base.Endpoints[0].CorrectedHDR = hdrOf(t, 5000, time.Millisecond, 10*time.Millisecond)
	base.Totals.CorrectedHDR = base.Endpoints[0].CorrectedHDR
	base.Endpoints[0].CorrectedRequests, base.Totals.CorrectedRequests = 5000, 5000
	b = saveResults(t, dir, "base2.json", base)
	if code, out, _ := runCLI(t, "compare", b, n); code != exitThresholds || !strings.Contains(out, "regression: catalog corrected p99") {
		t.Errorf("corrected vs corrected: exit %d, want 99\n%s", code, out)
	}
}

// Runs of different plans are not compared unless --force; --junit
// writes the verdicts for CI; --baseline compares with the median of
// several runs.
func TestCompareCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mk := func(name string, hi time.Duration, src string) string {
		r := resultsOf(t, 5000, endpointOf(t, "catalog", 5000, 0, time.Millisecond, hi))
		r.PlanSource = src
		return saveResults(t, dir, name, r)
	}
	a, other := mk("a.json", 10*time.Millisecond, "name: shop\n"), mk("other.json", 10*time.Millisecond, "name: shop\nload: {vus: 9}\n")
	if code, _, stderr := runCLI(t, "compare", a, other); code != exitBadInput || !strings.Contains(stderr, "different plan") {
		t.Errorf("different plans: exit %d, want 2: %s", code, stderr)
	}
	if code, out, stderr := runCLI(t, "compare", a, other, "--force"); code != exitOK {
		t.Errorf("--force: exit %d\n%s%s", code, out, stderr)
	}
	// Two fast baselines and one slow: the median is fast, so a fast run
	// passes and a slow one fails.
	b, slow := mk("b.json", 11*time.Millisecond, "name: shop\n"), mk("slow.json", 30*time.Millisecond, "name: shop\n")
	if code, out, _ := runCLI(t, "compare", "--baseline", a, b, slow, a); code != exitOK || !strings.Contains(out, "median of 3 runs") {
		t.Errorf("fast vs median of fast, fast, slow: exit %d\n%s", code, out)
	}
	junit := filepath.Join(dir, "cmp.xml")
	if code, out, _ := runCLI(t, "compare", "--baseline", a, b, a, slow, "--junit", junit); code != exitThresholds {
		t.Errorf("slow vs median: exit %d\n%s", code, out)
	}
	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(raw, &suite); err != nil {
		t.Fatal(err)
	}
	failed := map[string]bool{}
	for _, c := range suite.Cases {
		if c.Failure != nil {
			failed[c.Name] = true
		}
	}
	if suite.Failures != len(failed) || !failed["catalog p99"] || failed["total p99"] || failed["total errors"] {
		t.Errorf("junit: %d failures %v\n%s", suite.Failures, failed, raw)
	}
}

// Two real runs of one plan against the demo target, the second while
// the app answers 500 to everything (logins included): compare names the
// error rate, the iterations and the endpoint that vanished, and the
// first run's requests are the ones the server counted.
func TestCompareRealRuns(t *testing.T) {
	t.Parallel()
	tg := target.New(target.Config{Users: 10})
	var down atomic.Bool
	var api atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			api.Add(1)
		}
		tg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	plan := writeFile(t, "plan.yaml", strings.Replace(runPlan, "TARGET", srv.URL, 1))
	dir := t.TempDir()
	good, dead := filepath.Join(dir, "good.json"), filepath.Join(dir, "dead.json")
	if code, _, stderr := runCLI(t, "run", plan, "--vus", "3", "--duration", "1s", "--quiet", "--out", good); code != exitOK {
		t.Fatalf("good run: exit %d: %s", code, stderr)
	}
	res := readResults(t, good)
	if me := endpointNamed(res, "me"); me == nil || me.Requests != api.Load() || me.Requests == 0 {
		t.Fatalf("good run: me %+v, server counted %d API requests", me, api.Load())
	}
	down.Store(true)
	runCLI(t, "run", plan, "--vus", "3", "--duration", "1s", "--quiet", "--out", dead)
	code, out, stderr := runCLI(t, "compare", good, dead, "--max-regress", "p99=10%")
	if code != exitThresholds {
		t.Fatalf("compare good dead: exit %d, want 99\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"regression: total errors", "regression: total iterations", "regression: me requests", "(the endpoint vanished)"} {
		if !strings.Contains(out, want) {
			t.Errorf("comparison lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := runCLI(t, "compare", good, good); code != exitOK {
		t.Errorf("a run against itself: exit %d\n%s", code, out)
	}
}

func endpointNamed(r *stats.Results, name string) *stats.EndpointResult {
	for i := range r.Endpoints {
		if r.Endpoints[i].Name == name {
			return &r.Endpoints[i]
		}
	}
	return nil
}
