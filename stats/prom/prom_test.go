package prom

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/stats"
)

func TestListenAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"9464", "127.0.0.1:9464"},       // a bare port: loopback
		{":9464", "127.0.0.1:9464"},      // no host: loopback, not every interface
		{"0.0.0.0:9464", "0.0.0.0:9464"}, // asked for explicitly
		{"[::1]:9464", "[::1]:9464"},     // IPv6 loopback
		{"localhost:0", "localhost:0"},   // a name
	} {
		if got := ListenAddr(tc.in); got != tc.want {
			t.Errorf("ListenAddr(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The endpoint serves counters and histograms that add up to the results.
func TestExporterServes(t *testing.T) {
	t.Parallel()
	x := New()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := stats.NewRecorder(stats.Options{
		Now:   func() time.Time { return now },
		Sinks: []stats.Sink{x},
		Gauges: func() stats.Gauges {
			return stats.Gauges{VUs: 7, Sessions: stats.SessionCounts{Established: 9, Relogins: 2}}
		},
	})
	login, cat := r.Endpoint("login"), r.Endpoint("catalog")
	for sec := range 3 {
		for i := range 400 {
			start := now
			s := &stats.Sample{Endpoint: login, Start: start, End: start.Add(time.Duration(200+i*40) * time.Microsecond), Status: 200}
			if i%2 == 0 {
				s.Endpoint, s.Intended = cat, start.Add(-3*time.Millisecond)
			}
			if i%100 == 0 || i%100 == 51 {
				s.Kind, s.Status = stats.HTTP5xx, 500
			}
			r.Record(i, s)
		}
		r.Iteration(sec)
		now = now.Add(time.Second)
		r.Snapshot()
	}
	res, err := r.Result(0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Serve(x, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, err := http.Get("http://" + srv.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	value := func(series string) float64 {
		t.Helper()
		m := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no %s in:\n%s", series, text)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	for _, e := range res.Endpoints {
		l := `{endpoint="` + e.Name + `",group="",scenario=""}`
		if got := value("load_requests_total" + l); got != float64(e.Requests) {
			t.Errorf("%s requests %v, results %d", e.Name, got, e.Requests)
		}
		if got := value("load_latency_seconds_count" + l); got != float64(e.Requests) {
			t.Errorf("%s histogram count %v, results %d", e.Name, got, e.Requests)
		}
		if got := value(`load_latency_seconds_bucket{endpoint="` + e.Name + `",group="",scenario="",le="+Inf"}`); got != float64(e.Requests) {
			t.Errorf("%s +Inf bucket %v", e.Name, got)
		}
		if got := value(`load_errors_total{endpoint="` + e.Name + `",group="",kind="http_5xx",scenario=""}`); got != float64(e.ErrorsByKind["http_5xx"]) {
			t.Errorf("%s errors %v, results %v", e.Name, got, e.ErrorsByKind)
		}
	}
	// login takes 200 + 40·i µs for odd i < 400: i <= 245 is under 10 ms,
	// 123 requests an interval, three intervals.
	if got := value(`load_latency_seconds_bucket{endpoint="login",group="",scenario="",le="0.01"}`); got != 369 {
		t.Errorf("login le=0.01 bucket %v", got)
	}
	if got := value(`load_corrected_latency_seconds_count{endpoint="catalog",group="",scenario=""}`); got != float64(res.Endpoints[1].CorrectedRequests) {
		t.Errorf("corrected count %v", got)
	}
	// login has no intended times: every request is in the corrected
	// histogram all the same, corrected by nothing.
	if got := value(`load_corrected_latency_seconds_count{endpoint="login",group="",scenario=""}`); got != float64(res.Endpoints[0].Requests) {
		t.Errorf("login corrected count %v, want its %d requests", got, res.Endpoints[0].Requests)
	}
	if value("load_vus") != 7 || value(`load_sessions_total{event="relogins"}`) != 2 || value("load_iterations_total") != 3 {
		t.Errorf("gauges: vus %v relogins %v iterations %v", value("load_vus"), value(`load_sessions_total{event="relogins"}`), value("load_iterations_total"))
	}
}

// serveNew serves a new exporter until the test ends.
func serveNew(t *testing.T) (*Exporter, *Server) {
	t.Helper()
	x := New()
	srv, err := Serve(x, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return x, srv
}

// scrape returns srv's /metrics text.
func scrape(t *testing.T, srv *Server) string {
	t.Helper()
	resp, err := http.Get("http://" + srv.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// has reports whether text has the series with exactly this value.
func has(text, series, value string) bool {
	return regexp.MustCompile("(?m)^" + regexp.QuoteMeta(series) + " " + regexp.QuoteMeta(value) + "$").MatchString(text)
}

// Series that alerting rules divide or rate exist at 0 from the first
// scrape (sessions) or from the endpoint's first interval (errors of
// every kind), not from their first event: rate() of a series that
// appears at its first error misses that error.
func TestExporterZeroSeries(t *testing.T) {
	t.Parallel()
	x, srv := serveNew(t)
	first := scrape(t, srv)
	for _, s := range []string{`load_sessions_total{event="established"}`, `load_sessions_total{event="login_failures"}`,
		`load_sessions_total{event="rejected"}`, "load_iterations_total", "load_vus"} {
		if !has(first, s, "0") {
			t.Errorf("first scrape: no %s 0", s)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := stats.NewRecorder(stats.Options{Now: func() time.Time { return now }, Sinks: []stats.Sink{x}})
	cat := r.Endpoint("catalog")
	r.Record(0, &stats.Sample{Endpoint: cat, Start: now, End: now.Add(time.Millisecond), Status: 200})
	now = now.Add(time.Second)
	r.Snapshot()
	text := scrape(t, srv)
	for k := stats.OK + 1; k < stats.NumKinds; k++ {
		s := `load_errors_total{endpoint="catalog",group="",kind="` + k.String() + `",scenario=""}`
		if want := k.IsError(); has(text, s, "0") != want {
			t.Errorf("after an interval without errors: %s at 0: %v, want %v", s, !want, want)
		}
	}
}

// The latency buckets start at 100 µs: a loopback or cached endpoint's
// sub-millisecond answers are told apart.
func TestBucketsFrom100us(t *testing.T) {
	t.Parallel()
	if Buckets[0] != 0.0001 {
		t.Fatalf("first bucket %g s, want 100 µs", Buckets[0])
	}
	x := New()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := stats.NewRecorder(stats.Options{Now: func() time.Time { return now }, Sinks: []stats.Sink{x}})
	cat := r.Endpoint("catalog")
	for _, us := range []int{80, 150, 150, 400, 900} {
		r.Record(0, &stats.Sample{Endpoint: cat, Start: now, End: now.Add(time.Duration(us) * time.Microsecond), Status: 200})
	}
	now = now.Add(time.Second)
	r.Snapshot()
	srv, err := Serve(x, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	text := scrape(t, srv)
	for le, n := range map[string]string{"0.0001": "1", "0.0002": "3", "0.0005": "4", "0.001": "5"} {
		if s := `load_latency_seconds_bucket{endpoint="catalog",group="",scenario="",le="` + le + `"}`; !has(text, s, n) {
			t.Errorf("want %s %s in:\n%s", s, n, text)
		}
	}
}

// The server's own figures (Tomcat's Manager, ThreadPool and heap) are
// exported beside the client's; figures the source does not give (-1)
// are left out.
func TestServerFigures(t *testing.T) {
	t.Parallel()
	x, srv := serveNew(t)
	if strings.Contains(scrape(t, srv), "load_server_") {
		t.Error("server figures before any poll")
	}
	x.Server(&stats.ServerSample{ActiveSessions: 120, MaxActive: 130, MaxActiveSessions: 500, RejectedSessions: 3, SessionCounter: 900,
		ExpiredSessions: 40, BusyThreads: 17, ConnectionCount: 60, MaxThreads: 200, HeapUsedMB: 256, HeapMaxMB: -1})
	text := scrape(t, srv)
	for s, v := range map[string]string{
		"load_server_active_sessions": "120", "load_server_max_active": "130", "load_server_max_active_sessions": "500",
		"load_server_rejected_sessions_total": "3", "load_server_sessions_created_total": "900", "load_server_expired_sessions_total": "40",
		"load_server_busy_threads": "17", "load_server_connections": "60", "load_server_max_threads": "200", "load_server_heap_used_bytes": "2.68435456e+08",
	} {
		if !has(text, s, v) {
			t.Errorf("want %s %s in:\n%s", s, v, text)
		}
	}
	if strings.Contains(text, "load_server_heap_max_bytes") {
		t.Error("heap max exported although the server did not give it")
	}
}

// CloseAfter keeps serving for the linger, so a scrape after the run
// still gets the final figures, and ends early when its context does.
func TestCloseAfter(t *testing.T) {
	t.Parallel()
	srv, err := Serve(New(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- srv.CloseAfter(ctx, time.Minute) }()
	if text := scrape(t, srv); !strings.Contains(text, "load_iterations_total") {
		t.Errorf("scrape while lingering:\n%s", text)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CloseAfter did not end with its context")
	}
	if time.Since(start) > 30*time.Second {
		t.Error("lingered on after the context ended")
	}
	if _, err := http.Get("http://" + srv.Addr().String() + "/metrics"); err == nil {
		t.Error("still serving after CloseAfter")
	}
}

// Endpoints carry their scenario and group as labels, so one name in two
// scenarios is two series; groups have series of their own, and
// iterations are counted by scenario.
func TestExporterScenarioLabels(t *testing.T) {
	t.Parallel()
	x, srv := serveNew(t)
	now := time.Unix(1_700_000_000, 0)
	r := stats.NewRecorder(stats.Options{Sinks: []stats.Sink{x}, Now: func() time.Time { return now }})
	browse, buy := r.Scenario("browse"), r.Scenario("buy")
	bh, yh := r.EndpointIn(browse, "", "home"), r.EndpointIn(buy, "", "home")
	pay, checkout := r.EndpointIn(buy, "checkout", "pay"), r.Group(buy, "checkout")
	for i := range 30 {
		start := now.Add(time.Duration(i) * time.Millisecond)
		r.Record(i, &stats.Sample{Endpoint: bh, Start: start, End: start.Add(3 * time.Millisecond), Status: 200})
		r.IterationIn(i, browse)
		if i%3 == 0 {
			r.Record(i, &stats.Sample{Endpoint: yh, Start: start, End: start.Add(time.Millisecond), Status: 200})
			s := &stats.Sample{Endpoint: pay, Start: start, End: start.Add(time.Millisecond), Status: 503, Kind: stats.HTTP5xx}
			r.Record(i, s)
			r.Record(i, &stats.Sample{Endpoint: checkout, Start: start, End: start.Add(1500 * time.Millisecond), Status: 503, Kind: stats.HTTP5xx, Service: time.Millisecond})
			r.IterationIn(i, buy)
		}
	}
	now = now.Add(time.Second)
	r.Snapshot()
	text := scrape(t, srv)
	for _, c := range []struct{ series, value string }{
		{`load_requests_total{endpoint="home",group="",scenario="browse"}`, "30"},
		{`load_requests_total{endpoint="home",group="",scenario="buy"}`, "10"},
		{`load_requests_total{endpoint="pay",group="checkout",scenario="buy"}`, "10"},
		{`load_errors_total{endpoint="pay",group="checkout",kind="http_5xx",scenario="buy"}`, "10"},
		{`load_errors_total{endpoint="home",group="",kind="http_5xx",scenario="browse"}`, "0"}, // zero series kept
		{`load_group_runs_total{group="checkout",scenario="buy"}`, "10"},
		{`load_group_errors_total{group="checkout",kind="http_5xx",scenario="buy"}`, "10"},
		{`load_group_duration_seconds_bucket{group="checkout",scenario="buy",le="1"}`, "0"},
		{`load_group_duration_seconds_bucket{group="checkout",scenario="buy",le="2"}`, "10"},
		{`load_group_service_seconds_bucket{group="checkout",scenario="buy",le="0.001"}`, "10"},
		{`load_scenario_iterations_total{scenario="browse"}`, "30"},
		{`load_scenario_iterations_total{scenario="buy"}`, "10"},
		{"load_iterations_total", "40"},
	} {
		if !has(text, c.series, c.value) {
			t.Errorf("no %s %s in:\n%s", c.series, c.value, text)
		}
	}
	if strings.Contains(text, `load_requests_total{endpoint="checkout"`) {
		t.Error("a group is exported as an endpoint")
	}
}
