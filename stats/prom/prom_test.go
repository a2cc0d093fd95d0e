package prom

import (
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
		l := `{endpoint="` + e.Name + `"}`
		if got := value("load_requests_total" + l); got != float64(e.Requests) {
			t.Errorf("%s requests %v, results %d", e.Name, got, e.Requests)
		}
		if got := value("load_latency_seconds_count" + l); got != float64(e.Requests) {
			t.Errorf("%s histogram count %v, results %d", e.Name, got, e.Requests)
		}
		if got := value(`load_latency_seconds_bucket{endpoint="` + e.Name + `",le="+Inf"}`); got != float64(e.Requests) {
			t.Errorf("%s +Inf bucket %v", e.Name, got)
		}
		if n := e.ErrorsByKind["http_5xx"]; n == 0 {
			continue // a counter appears with its first error
		}
		if got := value(`load_errors_total{endpoint="` + e.Name + `",kind="http_5xx"}`); got != float64(e.ErrorsByKind["http_5xx"]) {
			t.Errorf("%s errors %v, results %v", e.Name, got, e.ErrorsByKind)
		}
	}
	// login takes 200 + 40·i µs for odd i < 400: i <= 245 is under 10 ms,
	// 123 requests an interval, three intervals.
	if got := value(`load_latency_seconds_bucket{endpoint="login",le="0.01"}`); got != 369 {
		t.Errorf("login le=0.01 bucket %v", got)
	}
	if got := value(`load_corrected_latency_seconds_count{endpoint="catalog"}`); got != float64(res.Endpoints[1].CorrectedRequests) {
		t.Errorf("corrected count %v", got)
	}
	if strings.Contains(text, `load_corrected_latency_seconds_count{endpoint="login"}`) {
		t.Error("login has no intended times but a corrected histogram")
	}
	if value("load_vus") != 7 || value(`load_sessions_total{event="relogins"}`) != 2 || value("load_iterations_total") != 3 {
		t.Errorf("gauges: vus %v relogins %v iterations %v", value("load_vus"), value(`load_sessions_total{event="relogins"}`), value("load_iterations_total"))
	}
}
