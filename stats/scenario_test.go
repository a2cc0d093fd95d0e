package stats

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// mixFeed records a two-scenario run into r: browse (home, 10 ms, every
// 15th an HTTP 500) and buy (home, 20 ms; pay, 5 ms, inside the group
// checkout; the group itself, 1024 ms long with 5 ms of service and an
// intended start 1 s before its start), each sample i of n in [from, to).
// Iterations: one per browse home and one per checkout; two VUs of buy
// stop for lack of data.
func mixFeed(r *Recorder, from, to int) {
	t0 := time.Unix(1_700_000_000, 0)
	browse, buy := r.Scenario("browse"), r.Scenario("buy")
	r.ScenarioWeight(browse, 3)
	r.ScenarioWeight(buy, 1)
	r.ScenarioVUs(browse, 3)
	r.ScenarioVUs(browse, 2) // a peak is kept
	r.ScenarioVUs(buy, 1)
	bh, yh := r.EndpointIn(browse, "", "home"), r.EndpointIn(buy, "", "home")
	pay := r.EndpointIn(buy, "checkout", "pay")
	checkout := r.Group(buy, "checkout")
	for i := from; i < to; i++ {
		start := t0.Add(time.Duration(i) * time.Second)
		s := &Sample{Endpoint: bh, Start: start, End: start.Add(10 * time.Millisecond), Status: 200}
		if i%15 == 0 {
			s.Status, s.Kind = 500, HTTP5xx
		}
		r.Record(i, s)
		r.IterationIn(i, browse)
		if i%3 != 0 {
			continue
		}
		r.Record(i, &Sample{Endpoint: yh, Start: start, End: start.Add(20 * time.Millisecond), Status: 200})
		r.Record(i, &Sample{Endpoint: pay, Start: start.Add(time.Second), End: start.Add(time.Second + 5*time.Millisecond), Status: 200})
		r.Record(i, &Sample{Endpoint: checkout, Intended: start.Add(-time.Second), Start: start,
			End: start.Add(1024 * time.Millisecond), Status: 200, Service: 25 * time.Millisecond})
		r.IterationIn(i, buy)
		if i == 3 || i == 6 {
			r.VUStopped(i, DataExhausted)
		}
	}
}

func mixResults(t *testing.T, from, to int) *Results {
	t.Helper()
	r := NewRecorder(Options{Shards: 2})
	mixFeed(r, from, to)
	res, err := r.Result(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// within reports whether got is want to the histograms' precision (3
// significant digits).
func within(got, want float64) bool { return math.Abs(got-want) <= want/1000 }

func TestRecorderScenariosAndGroups(t *testing.T) {
	t.Parallel()
	res := mixResults(t, 0, 30)
	// Endpoint names as written, apart by scenario and group.
	var keys []EndpointKey
	for i := range res.Endpoints {
		keys = append(keys, res.Endpoints[i].Key())
	}
	want := []EndpointKey{{"browse", "", "home"}, {"buy", "", "home"}, {"buy", "checkout", "pay"}}
	if !slices.Equal(keys, want) {
		t.Fatalf("endpoints %v, want %v", keys, want)
	}
	bh, yh, pay := res.Endpoints[0], res.Endpoints[1], res.Endpoints[2]
	if bh.Requests != 30 || bh.Errors != 2 || bh.Status["500"] != 2 || !within(bh.Latency.P99, 10) {
		t.Errorf("browse home: %d requests, %d errors, %v, p99 %v", bh.Requests, bh.Errors, bh.Status, bh.Latency.P99)
	}
	if yh.Requests != 10 || yh.Errors != 0 || !within(yh.Latency.P50, 20) || pay.Requests != 10 || !within(pay.Latency.Max, 5) {
		t.Errorf("buy home %d requests p50 %v; pay %d requests max %v", yh.Requests, yh.Latency.P50, pay.Requests, pay.Latency.Max)
	}
	// Groups are apart and count in no total.
	if res.Totals.Requests != 50 || res.Totals.Errors != 2 {
		t.Errorf("totals %d requests, %d errors; want 50, 2", res.Totals.Requests, res.Totals.Errors)
	}
	if len(res.Groups) != 1 {
		t.Fatalf("groups %+v, want checkout", res.Groups)
	}
	g := res.Groups[0]
	if g.Name != "checkout" || g.Scenario != "buy" || g.Kind != KindGroup || g.Requests != 10 {
		t.Errorf("group %s/%s kind %q: %d runs", g.Scenario, g.Name, g.Kind, g.Requests)
	}
	if !within(g.Latency.P50, 1024) || !within(g.Latency.Max, 1024) {
		t.Errorf("group duration p50 %v max %v, want 1024 ms", g.Latency.P50, g.Latency.Max)
	}
	if g.Corrected == nil || !within(g.Corrected.P50, 2024) {
		t.Errorf("group corrected duration %+v, want 2024 ms (from the intended start)", g.Corrected)
	}
	if g.Service == nil || !within(g.Service.P50, 25) || !within(g.Service.Max, 25) || g.ServiceHDR == "" {
		t.Errorf("group service %+v, want 25 ms", g.Service)
	}
	if h, err := DecodeHDR(g.ServiceHDR); err != nil || h.TotalCount() != 10 {
		t.Errorf("service histogram: %v, %v", h, err)
	}
	wantSc := []ScenarioResult{
		{Name: "browse", Weight: 3, VUsMax: 3, Iterations: 30, Requests: 30, Errors: 2, RPS: 1},
		{Name: "buy", Weight: 1, VUsMax: 1, Iterations: 10, Requests: 20, Errors: 0, RPS: 20.0 / 30},
	}
	if !slices.Equal(res.Scenarios, wantSc) {
		t.Errorf("scenarios\n%+v, want\n%+v", res.Scenarios, wantSc)
	}
	if res.Iterations.Completed != 40 || res.VUs.Stopped["data_exhausted"] != 2 || len(res.VUs.Stopped) != 1 {
		t.Errorf("iterations %d, stopped %v", res.Iterations.Completed, res.VUs.Stopped)
	}
	// The timeline has the groups apart too.
	var reqs, runs int64
	for _, p := range res.Timeline {
		for _, e := range p.Endpoints {
			reqs += e.Requests
		}
		for _, e := range p.Groups {
			runs += e.Requests
		}
	}
	if reqs != 50 || runs != 10 {
		t.Errorf("timeline: %d requests, %d group runs", reqs, runs)
	}
}

// Endpoint keeps working: scenario "", one scenario in the results with
// every iteration.
func TestRecorderOneScenario(t *testing.T) {
	t.Parallel()
	r := NewRecorder(Options{})
	ep := r.Endpoint("home")
	if r.EndpointIn(r.Scenario(""), "", "home") != ep {
		t.Error("Endpoint and EndpointIn of scenario \"\" differ")
	}
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 7 {
		r.Record(i, &Sample{Endpoint: ep, Start: t0, End: t0.Add(time.Millisecond), Status: 200})
		r.Iteration(i)
	}
	res, err := r.Result(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scenarios) != 1 || res.Scenarios[0] != (ScenarioResult{Iterations: 7, Requests: 7, RPS: 7}) || res.Endpoints[0].Scenario != "" {
		t.Errorf("scenarios %+v, endpoint scenario %q", res.Scenarios, res.Endpoints[0].Scenario)
	}
	if res.Groups != nil || res.VUs.Stopped != nil {
		t.Errorf("groups %v, stopped %v", res.Groups, res.VUs.Stopped)
	}
}

// The merge of two segments' results equals one recorder fed both:
// endpoints, groups (durations and service times), scenarios, stopped VUs.
func TestMergeScenariosAndGroups(t *testing.T) {
	t.Parallel()
	whole := mixResults(t, 0, 30)
	a, b := mixResults(t, 0, 13), mixResults(t, 13, 30)
	t0 := time.Unix(1_700_000_000, 0)
	a.Segment, b.Segment = "0/2", "1/2"
	for _, r := range []*Results{a, b, whole} {
		r.Started, r.Ended = t0, t0.Add(30*time.Second)
	}
	m, err := Merge([]*Results{a, b}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	same := func(what string, got, want []EndpointResult) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d, want %d", what, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			gc, _ := g.Counts()
			wc, _ := w.Counts()
			if g.Key() != w.Key() || g.Kind != w.Kind || gc != wc {
				t.Errorf("%s %v: %+v\nwant %+v", what, w.Key(), g, w)
			}
			for _, h := range [][2]string{{g.HDR, w.HDR}, {g.CorrectedHDR, w.CorrectedHDR}, {g.ServiceHDR, w.ServiceHDR}} {
				if h[0] == h[1] {
					continue
				}
				gh, err1 := DecodeHDR(h[0])
				wh, err2 := DecodeHDR(h[1])
				if err1 != nil || err2 != nil || !gh.Equals(wh) {
					t.Errorf("%s %v: histograms differ (%v, %v)", what, w.Key(), err1, err2)
				}
			}
			if g.Latency != w.Latency || (g.Service == nil) != (w.Service == nil) || g.Service != nil && *g.Service != *w.Service {
				t.Errorf("%s %v: latency %+v service %+v, want %+v %+v", what, w.Key(), g.Latency, g.Service, w.Latency, w.Service)
			}
		}
	}
	same("endpoint", m.Endpoints, whole.Endpoints)
	same("group", m.Groups, whole.Groups)
	// VU peaks of disjoint segments add (as VUs.Max does).
	wantSc := slices.Clone(whole.Scenarios)
	for i := range wantSc {
		wantSc[i].VUsMax *= 2
	}
	if !slices.Equal(m.Scenarios, wantSc) {
		t.Errorf("scenarios\n%+v, want\n%+v", m.Scenarios, wantSc)
	}
	if m.VUs.Stopped["data_exhausted"] != 2 || m.Totals.Requests != whole.Totals.Requests {
		t.Errorf("stopped %v, totals %d", m.VUs.Stopped, m.Totals.Requests)
	}
}

func TestThresholdsGroupsAndScenarios(t *testing.T) {
	t.Parallel()
	res := mixResults(t, 0, 30)
	for _, c := range []struct {
		metric, cond string
		ok           bool
		observed     float64 // NaN: not checked (a latency, checked with within)
		latency      float64
		err          string
	}{
		{"group checkout p95", "< 3s", true, math.NaN(), 2024, ""}, // corrected: from the intended start
		{"group checkout p95", "< 2s", false, math.NaN(), 2024, ""},
		{"scenario buy group checkout max", "< 3s", true, math.NaN(), 2024, ""},
		{"scenario browse error_rate", "< 5%", false, 100 * 2.0 / 30, 0, ""},
		{"scenario browse error_rate", "< 0.1", true, 100 * 2.0 / 30, 0, ""},
		{"scenario buy errors", "== 0", true, 0, 0, ""},
		{"scenario buy requests", "== 20", true, 20, 0, ""},
		{"scenario browse iterations", "== 30", true, 30, 0, ""},
		{"scenario buy p99", "< 15ms", false, math.NaN(), 20, ""},
		{"scenario buy home p50", "<= 20ms", false, math.NaN(), 20, ""}, // 20 to HDR precision: just above
		{"scenario browse home p50", "<= 11ms", true, math.NaN(), 10, ""},
		// home is in both scenarios: judged on both merged.
		{"home requests", "== 40", true, 40, 0, ""},
		{"home max", "> 15ms", true, math.NaN(), 20, ""},
		{"pay p99", "< 6ms", true, math.NaN(), 5, ""},
		{"requests", "== 50", true, 50, 0, ""},
		{"group nope p95", "< 1s", false, 0, 0, `no group "nope" in the results`},
		{"scenario nope p95", "< 1s", false, 0, 0, `no scenario "nope" in the results`},
		{"scenario browse pay p95", "< 1s", false, 0, 0, `no endpoint "pay" in scenario "browse" in the results`},
	} {
		th, err := ParseThreshold(c.metric, c.cond)
		if err != nil {
			t.Errorf("%s: %v", c.metric, err)
			continue
		}
		v := th.Evaluate(res)
		switch {
		case v.Error != c.err:
			t.Errorf("%s %s: error %q, want %q", c.metric, c.cond, v.Error, c.err)
		case c.err != "":
		case v.OK != c.ok:
			t.Errorf("%s %s: ok %v (observed %v)", c.metric, c.cond, v.OK, v.Observed)
		case math.IsNaN(c.observed) || c.latency > 0:
			if !within(v.Observed, c.latency) {
				t.Errorf("%s: observed %v, want %v", c.metric, v.Observed, c.latency)
			}
		case math.Abs(v.Observed-c.observed) > 1e-9:
			t.Errorf("%s: observed %v, want %v", c.metric, v.Observed, c.observed)
		}
	}
	for _, c := range []struct{ metric, group, scenario, endpoint string }{
		{"group checkout p95", "checkout", "", ""},
		{"scenario buy group check out p95", "check out", "buy", ""},
		{"scenario buy home p50", "", "buy", "home"},
		{"scenario buy p50", "", "buy", ""},
		{"view cart p50", "", "", "view cart"},
	} {
		th, err := ParseThreshold(c.metric, "< 1s")
		if err != nil || th.Group() != c.group || th.Scenario() != c.scenario || th.Endpoint() != c.endpoint {
			t.Errorf("%s: group %q scenario %q endpoint %q (%v)", c.metric, th.Group(), th.Scenario(), th.Endpoint(), err)
		}
	}
	for _, c := range []struct{ metric, cond, err string }{
		{"scenario buy sessions.unique", "> 0", "run-wide"},
		{"scenario buy dropped", "== 0", "run-wide"},
		{"error_rate", "< 2", "a fraction like 0.01"},
	} {
		if _, err := ParseThreshold(c.metric, c.cond); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s %s: %v, want %q", c.metric, c.cond, err, c.err)
		}
	}
}

// The summary of a two-scenario run with a group, against its golden
// file (go test ./stats -run SummaryScenarios -update rewrites it).
func TestSummaryScenariosGolden(t *testing.T) {
	t.Parallel()
	res := mixResults(t, 0, 30)
	var buf bytes.Buffer
	if err := WriteSummary(&buf, res); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "summary_scenarios.golden")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}
}

// compareRun records 1,200 samples of home in browse (10 ms) and in buy
// (buyMs), and 1,200 runs of buy's group checkout (groupMs).
func compareRun(t *testing.T, buyMs, groupMs int) *Results {
	t.Helper()
	r := NewRecorder(Options{Shards: 1})
	browse, buy := r.Scenario("browse"), r.Scenario("buy")
	bh, yh, g := r.EndpointIn(browse, "", "home"), r.EndpointIn(buy, "", "home"), r.Group(buy, "checkout")
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 1200 {
		start := t0.Add(time.Duration(i) * time.Millisecond)
		jitter := time.Duration(i%10) * time.Microsecond
		r.Record(0, &Sample{Endpoint: bh, Start: start, End: start.Add(10*time.Millisecond + jitter), Status: 200})
		r.Record(0, &Sample{Endpoint: yh, Start: start, End: start.Add(time.Duration(buyMs)*time.Millisecond + jitter), Status: 200})
		r.Record(0, &Sample{Endpoint: g, Start: start, End: start.Add(time.Duration(groupMs)*time.Millisecond + jitter), Status: 200, Service: time.Millisecond})
		r.IterationIn(0, browse)
		r.IterationIn(0, buy)
	}
	res, err := r.Result(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res.Plan = "mix"
	return res
}

// Compare keeps a name of two scenarios apart, and compares groups and
// scenario totals like endpoints.
func TestCompareScenariosAndGroups(t *testing.T) {
	t.Parallel()
	c, err := Compare([]*Results{compareRun(t, 20, 100)}, compareRun(t, 40, 300), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	row := func(name string) *CompareRow {
		for i := range c.Rows {
			if c.Rows[i].Name() == name {
				return &c.Rows[i]
			}
		}
		t.Fatalf("no row %q in %d rows", name, len(c.Rows))
		return nil
	}
	for _, w := range []struct {
		name      string
		regressed bool
		judged    bool
	}{
		{"scenario browse home p50", false, true},
		{"scenario buy home p50", true, true},
		{"scenario buy group checkout p50", true, true},
		{"scenario buy p50", false, false}, // a mix: shown, not judged
		{"scenario buy iterations", false, true},
		{"scenario browse requests", false, true},
	} {
		r := row(w.name)
		if r.Regressed != w.regressed || r.Judged != w.judged {
			t.Errorf("%s: regressed %v judged %v (%v -> %v), want %v %v", w.name, r.Regressed, r.Judged, r.Base.Value, r.New.Value, w.regressed, w.judged)
		}
	}
	if c.Regressions != 4 { // buy home p50, p99 and checkout p50, p99
		t.Errorf("%d regressions, want 4", c.Regressions)
	}
}

// The timeline CSV carries each row's scenario, group and kind.
func TestTimelineCSVScenarios(t *testing.T) {
	t.Parallel()
	res := mixResults(t, 0, 30)
	var buf bytes.Buffer
	if err := WriteTimelineCSV(&buf, res); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(rows) != 1+5 {
		t.Fatalf("%d rows, want a header and 5 (3 endpoints, a group, the total):\n%s", len(rows), buf.String())
	}
	for i, w := range []struct{ prefix, suffix string }{
		{",home,30,2,", ",browse,,endpoint"},
		{",home,10,0,", ",buy,,endpoint"},
		{",pay,10,0,", ",buy,checkout,endpoint"},
		{",checkout,10,0,", ",buy,,group"},
		{",total,50,2,", ",,,total"},
	} {
		r := rows[1+i]
		if !strings.Contains(r, w.prefix) || !strings.HasSuffix(r, w.suffix) {
			t.Errorf("row %d = %s, want %s ... %s", i+1, r, w.prefix, w.suffix)
		}
	}
}

// The interval stream keeps scenarios and groups: read back, it gives
// the recorder's endpoints, groups and scenario iterations.
func TestStreamScenariosAndGroups(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	path := filepath.Join(t.TempDir(), "r.json.partial")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	sw := NewStreamWriter(f, StreamHeader{Plan: "mix"})
	r := NewRecorder(Options{Shards: 2, Now: func() time.Time { return now }, Sinks: []Sink{sw}})
	for k := range 3 {
		mixFeed(r, 10*k, 10*k+10)
		now = now.Add(time.Second)
		r.Snapshot()
	}
	want, err := r.Result(3 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadStream(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2][]EndpointResult{{got.Endpoints, want.Endpoints}, {got.Groups, want.Groups}} {
		if len(l[0]) != len(l[1]) {
			t.Fatalf("%d, want %d", len(l[0]), len(l[1]))
		}
		for i := range l[1] {
			g, w := l[0][i], l[1][i]
			gc, _ := g.Counts()
			wc, _ := w.Counts()
			if g.Key() != w.Key() || g.Kind != w.Kind || gc != wc || g.HDR != w.HDR || g.ServiceHDR != w.ServiceHDR || g.CorrectedHDR != w.CorrectedHDR {
				t.Errorf("%v: %+v\nwant %+v", w.Key(), g, w)
			}
		}
	}
	for i, sc := range want.Scenarios {
		if g := got.Scenarios[i]; g.Name != sc.Name || g.Iterations != sc.Iterations || g.Requests != sc.Requests || g.Errors != sc.Errors {
			t.Errorf("scenario %+v, want %+v", g, sc)
		}
	}
}

// Registering, recording and counting by scenario from many goroutines
// while snapshots run loses nothing (run with -race).
func TestRecorderScenariosConcurrent(t *testing.T) {
	t.Parallel()
	r := NewRecorder(Options{Shards: 4})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			r.Snapshot()
		}
	}()
	var wg sync.WaitGroup
	t0 := time.Unix(1_700_000_000, 0)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := r.Scenario([]string{"a", "b"}[g%2])
			ep, grp := r.EndpointIn(sc, "", "home"), r.Group(sc, "tx")
			for i := range 1000 {
				r.Record(g, &Sample{Endpoint: ep, Start: t0, End: t0.Add(time.Millisecond), Status: 200})
				if i%10 == 0 {
					r.Record(g, &Sample{Endpoint: grp, Start: t0, End: t0.Add(time.Second), Status: 200, Service: time.Millisecond})
					r.IterationIn(g, sc)
					r.ScenarioVUs(sc, i/10)
				}
			}
		}()
	}
	wg.Wait()
	<-done
	res, err := r.Result(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scenarios) != 2 || len(res.Endpoints) != 2 || len(res.Groups) != 2 {
		t.Fatalf("scenarios %+v, %d endpoints, %d groups", res.Scenarios, len(res.Endpoints), len(res.Groups))
	}
	for _, sc := range res.Scenarios {
		if sc.Requests != 2000 || sc.Iterations != 200 || sc.VUsMax != 99 {
			t.Errorf("scenario %+v, want 2000 requests, 200 iterations, 99 VUs max", sc)
		}
	}
	for _, g := range res.Groups {
		if g.Requests != 200 || g.Service == nil {
			t.Errorf("group %s/%s: %d runs, service %v", g.Scenario, g.Name, g.Requests, g.Service)
		}
	}
}
