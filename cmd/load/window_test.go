package main

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
)

// countingTarget is the demo target behind a handler that notes when
// each request to path arrived: what the server saw, to hold the
// results against.
type countingTarget struct {
	path string
	mu   sync.Mutex
	at   []time.Time
}

func startCountingTarget(t *testing.T, path string) (*countingTarget, string) {
	t.Helper()
	c := &countingTarget{path: path}
	tg := target.New(target.Config{Users: 100})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == c.path {
			c.mu.Lock()
			c.at = append(c.at, time.Now())
			c.mu.Unlock()
		}
		tg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

// mePlan writes a plan whose VUs log in to the demo target at url and
// GET /api/me; rest is the plan's other keys (load, think, ...).
func mePlan(t *testing.T, url, session, rest string) string {
	t.Helper()
	return writeFile(t, "plan.yaml", fmt.Sprintf(`
target: %s
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form%s}
scenario:
  - {name: me, get: /api/me, headers: {Accept: application/json}}
%s`, url, session, rest))
}

// count is how many requests arrived in [from, to).
func (c *countingTarget) count(from, to time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, a := range c.at {
		if !a.Before(from) && a.Before(to) {
			n++
		}
	}
	return n
}

// The measured window is the schedule's: --start-in 5s before a 10 s run
// at 100/s changes neither the duration nor the rate, and the wait and
// the preallocated VUs' logins are reported apart.
func TestWindowStartIn(t *testing.T) {
	t.Parallel()
	srv, url := startCountingTarget(t, "/api/me")
	plan := mePlan(t, url, ", end: abandon", "load: {rate: 100/s, duration: 10s, preallocated_vus: 10, max_vus: 50}\n")
	out := filepath.Join(t.TempDir(), "r.json")
	code, _, stderr := runCLI(t, "run", plan, "--start-in", "5s", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	res := readResults(t, out)
	me := findEndpoint(res, "me")
	served := srv.count(time.Time{}, time.Now())
	t.Logf("duration_s %.3f, me rps %.2f, %d requests; server %d; start_wait_s %.3f, setup_s %.3f", res.DurationS, me.RPS, me.Requests, served, res.StartWaitS, res.SetupS)
	if math.Abs(res.DurationS-10) > 0.2 {
		t.Errorf("duration_s %.3f, want 10 ± 0.2", res.DurationS)
	}
	if math.Abs(me.RPS-100) > 2 {
		t.Errorf("me rps %.2f, want 100 ± 2%%", me.RPS)
	}
	if int(me.Requests) != served {
		t.Errorf("results count %d requests to me, the server %d", me.Requests, served)
	}
	if math.Abs(res.StartWaitS+res.SetupS-5) > 0.3 || res.SetupS <= 0 {
		t.Errorf("start_wait_s %.3f + setup_s %.3f, want about 5 s with setup_s > 0", res.StartWaitS, res.SetupS)
	}
	if first := srv.count(time.Time{}, res.Started); first != 0 {
		t.Errorf("%d requests to me before started %s", first, res.Started)
	}
	// The 10 preallocated VUs logged in during the setup; only VUs added
	// during the schedule (when all were busy) log in inside the window.
	var setupLogins int64
	for _, e := range res.Setup {
		if e.Name == "login" {
			setupLogins = e.Requests
		}
	}
	if login := findEndpoint(res, "login"); setupLogins != 10 || login == nil || login.Requests != int64(res.VUs.Max-10) {
		t.Errorf("setup logins %d, want the 10 preallocated; window logins %+v for %d VUs", setupLogins, login, res.VUs.Max)
	}
}

// A warm-up runs the load but counts nowhere: the server sees its
// requests, the results do not, and they say how long it was.
func TestWarmup(t *testing.T) {
	t.Parallel()
	srv, url := startCountingTarget(t, "/api/me")
	plan := mePlan(t, url, "", `think: 20ms
warmup: 2s
load: {vus: 3, duration: 4s}
`)
	dir := t.TempDir()
	out, csvPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "t.csv")
	code, _, stderr := runCLI(t, "run", plan, "--quiet", "--out", out, "--csv", csvPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	res := readResults(t, out)
	me := findEndpoint(res, "me")
	during, after := srv.count(time.Time{}, res.Started), srv.count(res.Started, time.Now())
	t.Logf("warmup_s %.3f, duration_s %.3f; server: %d in the warm-up, %d after; results %d", res.WarmupS, res.DurationS, during, after, me.Requests)
	if res.WarmupS != 2 || math.Abs(res.DurationS-2) > 0.2 {
		t.Errorf("warmup_s %v, duration_s %v; want 2 and 2", res.WarmupS, res.DurationS)
	}
	if during < 50 {
		t.Errorf("the server saw %d requests in the warm-up: it ran no load", during)
	}
	// A request sent just before the window opened reaches the server just
	// after it: it began in the warm-up, so it counts nowhere. At most one
	// per VU can straddle the boundary.
	if d := int64(after) - me.Requests; d < 0 || d > 3 {
		t.Errorf("results count %d requests, the server %d after the warm-up (want equal, or up to 3 more on the server)", me.Requests, after)
	}
	var sum int64
	for _, p := range res.Timeline {
		if p.T > res.DurationS+0.5 {
			t.Errorf("timeline point at %.2f s past the window", p.T)
		}
		sum += p.Total.Requests
	}
	if sum != res.Totals.Requests {
		t.Errorf("timeline holds %d requests, totals %d", sum, res.Totals.Requests)
	}
	checkCSV(t, csvPath, res)
	// --warmup replaces the plan's; it must leave some of the load.
	if code, _, stderr := runCLI(t, "run", plan, "--warmup", "5s"); code != exitBadInput {
		t.Errorf("--warmup 5s of a 4 s load: exit %d, want %d: %s", code, exitBadInput, stderr)
	}
}
