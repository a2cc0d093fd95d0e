package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeManager serves the jmxproxy and text API answers recorded from a
// real Tomcat 10.1 (testdata), behind Basic auth, counting requests in
// flight so a test can check the poller sends one at a time.
func fakeManager(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	read := func(f string) string {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	answers := map[string]string{
		"Catalina:type=Manager,context=/shop,host=localhost": read("manager.txt"),
		"Catalina:type=ThreadPool,name=*":                    read("threadpool.txt"),
		"java.lang:type=Memory":                              read("memory.txt"),
	}
	var inFlight, maxInFlight atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		if n > maxInFlight.Load() {
			maxInFlight.Store(n)
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "jmx" || p != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/manager/jmxproxy":
			a, ok := answers[r.URL.Query().Get("qry")]
			if !ok {
				w.Write([]byte("OK - Number of results: 0\n\n"))
				return
			}
			w.Write([]byte(a))
		case "/manager/text/expire":
			if r.URL.Query().Get("path") != "/shop" || r.URL.Query().Get("idle") != "0" {
				w.Write([]byte("FAIL - bad request\n"))
				return
			}
			w.Write([]byte(read("expire.txt")))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &maxInFlight
}

func TestTomcatPoll(t *testing.T) {
	t.Parallel()
	srv, _ := fakeManager(t)
	src, err := New(Config{Kind: KindTomcat, URL: srv.URL + "/manager", Context: "/shop", Username: "jmx", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := src.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"activeSessions", s.ActiveSessions, 7},
		{"maxActive", s.MaxActive, 9},
		{"maxActiveSessions", s.MaxActiveSessions, 50},
		{"rejectedSessions", s.RejectedSessions, 2},
		{"sessionCounter", s.SessionCounter, 12},
		{"expiredSessions", s.ExpiredSessions, 3},
		{"currentThreadsBusy", s.BusyThreads, 1},
		{"connectionCount", s.ConnectionCount, 2},
		{"maxThreads", s.MaxThreads, 200},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if s.HeapUsedMB < 26.2 || s.HeapUsedMB > 26.3 || s.HeapMaxMB < 6028 || s.HeapMaxMB > 6029 {
		t.Errorf("heap used %.2f MB, max %.1f MB; want 26.23 and 6028.0", s.HeapUsedMB, s.HeapMaxMB)
	}
	// A wrong password or an unknown context is an error, not zeros.
	bad, _ := New(Config{URL: srv.URL + "/manager", Context: "/shop", Username: "jmx", Password: "no"})
	if _, err := bad.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong password: %v, want a 401 error", err)
	}
	other, _ := New(Config{URL: srv.URL + "/manager", Context: "/nope", Username: "jmx", Password: "pw"})
	if _, err := other.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "no Manager for context /nope") {
		t.Errorf("unknown context: %v", err)
	}
}

// MBeanDumper folds values longer than 78 columns onto lines that start
// with a space.
func TestParseJMXFolded(t *testing.T) {
	t.Parallel()
	in := "OK - Number of results: 1\n\nName: java.lang:type=Memory\nHeapMemoryUsage: {committed=100663296, init=398458880, max=6320816128, use\n d=27508264}\nVerbose: false\n"
	b := parseJMX(in)
	if len(b) != 1 || compositeMB(b[0].attr("HeapMemoryUsage"), "used") < 26 {
		t.Errorf("folded value not joined: %q", b)
	}
}

func TestReset(t *testing.T) {
	t.Parallel()
	srv, _ := fakeManager(t)
	n, err := Reset(context.Background(), Config{URL: srv.URL + "/manager", Context: "/shop", Username: "jmx", Password: "pw"})
	if err != nil || n != 7 {
		t.Errorf("Reset = %d, %v; want 7 expired", n, err)
	}
}

// The poller takes a baseline at once, polls one request at a time, and
// counts failures without stopping.
func TestPoller(t *testing.T) {
	t.Parallel()
	srv, maxInFlight := fakeManager(t)
	src, _ := New(Config{URL: srv.URL + "/manager", Context: "/shop", Username: "jmx", Password: "pw"})
	p := NewPoller(src, Config{URL: srv.URL + "/manager", Interval: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	p.Run(ctx)
	r := p.Result()
	if r.Polls < 3 || r.Failures != 0 || r.First == nil || r.Last.ActiveSessions != 7 || r.PeakActive != 7 {
		t.Errorf("result %+v", r)
	}
	if m := maxInFlight.Load(); m != 1 {
		t.Errorf("%d requests in flight at once, want 1", m)
	}
	failing, _ := New(Config{URL: "http://127.0.0.1:1/manager", Context: "/shop"})
	fp := NewPoller(failing, Config{URL: "http://127.0.0.1:1/manager", Interval: 20 * time.Millisecond})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	fp.Run(ctx2)
	if f, last := fp.Failures(); f < 2 || !strings.Contains(last, "refused") {
		t.Errorf("failures %d (%s): want counted, with the reason", f, last)
	}
}

// Spring Boot Actuator: tomcat.sessions.* and friends, one metric per
// request; a metric the app does not expose (404) is -1, not a failure.
func TestActuatorPoll(t *testing.T) {
	t.Parallel()
	metrics := map[string]float64{
		"tomcat.sessions.active.current": 42, "tomcat.sessions.active.max": 50, "tomcat.sessions.created": 97,
		"tomcat.sessions.expired": 40, "tomcat.sessions.rejected": 5, "tomcat.threads.busy": 3,
		"jvm.memory.used": 64 << 20, "jvm.memory.max": 512 << 20,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/actuator/metrics/")
		v, ok := metrics[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasPrefix(name, "jvm.") && r.URL.Query().Get("tag") != "area:heap" {
			v = 1 // not the heap
		}
		fmt.Fprintf(w, `{"name":%q,"measurements":[{"statistic":"VALUE","value":%g}],"availableTags":[]}`, name, v)
	}))
	defer srv.Close()
	src, err := New(Config{Kind: KindActuator, URL: srv.URL + "/actuator"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := src.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.ActiveSessions != 42 || s.MaxActive != 50 || s.SessionCounter != 97 || s.ExpiredSessions != 40 || s.RejectedSessions != 5 ||
		s.BusyThreads != 3 || s.MaxThreads != -1 || s.HeapUsedMB != 64 || s.HeapMaxMB != 512 {
		t.Errorf("sample %+v", s)
	}
}

// A manager that refuses the credentials (401, or 403 for a user without
// the role) is asked once: the poller stops at once and says why, so it
// never locks the account (Tomcat's LockOutRealm) by retrying it.
func TestPollerStopsOnRefusedCredentials(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		var polls atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			polls.Add(1)
			w.WriteHeader(status)
		}))
		t.Cleanup(srv.Close)
		for _, kind := range []string{KindTomcat, KindActuator} {
			polls.Store(0)
			c := Config{Kind: kind, URL: srv.URL + "/manager", Context: "/shop", Username: "jmx", Password: "wrong", Interval: 20 * time.Millisecond}
			src, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			p := NewPoller(src, c)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			p.Run(ctx)
			cancel()
			r := p.Result()
			if n := polls.Load(); n != 1 {
				t.Errorf("%s, %d: the server was asked %d times, want 1", kind, status, n)
			}
			if !strings.Contains(r.LastError, "stopped polling") || !strings.Contains(r.LastError, fmt.Sprint(status)) || r.Stopped == "" {
				t.Errorf("%s, %d: result %+v: want it stopped, saying why", kind, status, r)
			}
		}
	}
}
