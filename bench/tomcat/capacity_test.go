package tomcat_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/bench/tomcat"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/server"
	"github.com/sessionload/load/stats"
)

// The capacity tests each start their own Tomcat, cold, and run one at a
// time (never t.Parallel: the search measures the server's CPU, threads
// and heap, which another test's load would disturb).

// capacityPlan is a plan for the capacity search against in (its target
// the server's URL + base), with the server block reading context ctx
// through the JMX proxy (credentials by environment).
func capacityPlan(t *testing.T, in *tomcat.Instance, ctx, base, body string) *profiles.Plan {
	t.Helper()
	t.Setenv("LOAD_TEST_JMX_USER", in.JMXUser)
	t.Setenv("LOAD_TEST_JMX_PASSWORD", in.JMXPassword)
	text := fmt.Sprintf("name: %s\ntarget: %s\n%s\nserver: {kind: tomcat, url: %s/manager, context: %s, username_env: LOAD_TEST_JMX_USER, password_env: LOAD_TEST_JMX_PASSWORD, interval: 1s}\n",
		t.Name(), in.URL+base, strings.TrimSpace(body), in.URL, ctx)
	return inline(t, text)
}

// search runs a capacity search bounded by limit and logs its output.
func search(t *testing.T, p *profiles.Plan, o profiles.SearchOptions, limit time.Duration) *profiles.SearchResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	res, err := profiles.SearchSessions(ctx, p, o)
	if res != nil {
		var out strings.Builder
		if err := profiles.WriteSearch(&out, res); err != nil {
			t.Fatal(err)
		}
		t.Logf("search took %s:\n%s", time.Since(start).Round(time.Second), out.String())
	}
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the search did not end within %s", limit)
	}
	return res
}

func reco(res *profiles.SearchResult, name string) *stats.Figure {
	for i := range res.Recommendation {
		if res.Recommendation[i].Name == name {
			return &res.Recommendation[i]
		}
	}
	return nil
}

// checkSteps: for every step the server counted what the client did, by
// Tomcat's own counters (sessionCounter, rejectedSessions).
func checkSteps(t *testing.T, res *profiles.SearchResult) {
	t.Helper()
	for _, s := range res.Steps {
		if !s.Consistent {
			t.Errorf("step %d (%s): client and server disagree: %q", s.Sessions, s.Phase, s.Problems)
		}
		if s.ServerCreated < 0 || s.HeapAfterGCMB <= 0 || s.MaxThreads <= 0 {
			t.Errorf("step %d (%s): server figures missing: created %d, heap after GC %.1f MB, maxThreads %d", s.Sessions, s.Phase, s.ServerCreated, s.HeapAfterGCMB, s.MaxThreads)
		}
	}
}

// The stock examples app (JSPs, compiled on first use) on a Tomcat just
// started, capped at 300 sessions: the first search finds the knee at
// the cap (300 ± 3%), names the configured cap as the binding limit with
// what the resources allowed up to it, and gives no timeout advice from
// the user's own cap. Tomcat counts every refusal the client saw.
func TestCapacityColdCap(t *testing.T) {
	const capacity = 300
	in := tomcat.Start(t, tomcat.Config{Users: 450, Examples: tomcat.Settings{MaxActiveSessions: capacity}})
	p := capacityPlan(t, in, "/examples", "", `
users: {template: {username: "user{{.VU}}", password: secret}}
session:
  login: tomcat-form
  protected_path: /examples/jsp/security/protected/index.jsp
  end: logout
  logout_path: /examples/jsp/security/protected/index.jsp?logoff=true
  retry_login: 1s
scenario:
  - {name: protected, get: /examples/jsp/security/protected/index.jsp, check: {status: 200, body_contains: "You are logged in as remote user"}}
  - {name: session-example, get: /examples/servlets/servlet/SessionExample, check: {status: 200, body_contains: "Session ID:"}}
think: {min: 300ms, max: 600ms}
timeout: 20s
http: {max_conns_per_host: 200}
load: {vus: 1, duration: 1s, graceful_stop: 10s}
thresholds:
  "p99": "< 1s"
`)
	res := search(t, p, profiles.SearchOptions{
		Start: 100, Step: 100, Max: 400, Refine: capacity * 3 / 100, Hold: 3 * time.Second, MaxHold: 8 * time.Second, Ramp: 3 * time.Second,
		Warmup: 5 * time.Second, WarmupSessions: 10,
		ArrivalRate: 1, ActiveTime: 2 * time.Minute, AbandonShare: 0.5, Timeout: 30 * time.Minute,
	}, 5*time.Minute)
	c := counters(t, in, "/examples")
	t.Logf("Tomcat /examples after the search: %+v", c)
	if res.Knee < capacity*97/100 || res.Knee > capacity*103/100 {
		t.Errorf("knee %d, want %d ± 3%%", res.Knee, capacity)
	}
	if res.Binding != profiles.SignalCap || res.ConfiguredCap != capacity {
		t.Errorf("binding %q, configured cap %d; want the session cap, %d", res.Binding, res.ConfiguredCap, capacity)
	}
	if w := strings.Join(res.BindingWhy, "\n"); !strings.Contains(w, "the configured cap is the binding limit: maxActiveSessions = 300") || !strings.Contains(w, "heap after GC") {
		t.Errorf("binding why %q: want the configured cap named, and the resources up to it", w)
	}
	if f := reco(res, "maxActiveSessions"); f == nil || f.Value != capacity || !strings.Contains(f.Formula, "keep the configured 300") {
		t.Errorf("maxActiveSessions advice %+v: want the configured 300 kept", f)
	}
	if f := reco(res, "session timeout"); f != nil {
		t.Errorf("session timeout advice %+v from the configured cap: circular", f)
	}
	// Tomcat's own figures: its high-water mark is the cap, every
	// session was given back, and it refused what the client saw refused.
	if c.MaxActive != capacity || c.ActiveSessions != 0 {
		t.Errorf("Tomcat maxActive %d, activeSessions %d; want %d and 0 (every step logs out)", c.MaxActive, c.ActiveSessions, capacity)
	}
	var refused int64
	for _, s := range res.Steps {
		refused += s.ServerRefused
		if s.Sessions <= capacity && !s.OK {
			t.Logf("step %d (%s) broke at or below the cap: %s", s.Sessions, s.Phase, s.Why)
		}
	}
	if refused == 0 || refused > c.RejectedSessions {
		t.Errorf("the steps count %d server refusals, Tomcat rejectedSessions = %d", refused, c.RejectedSessions)
	}
	checkSteps(t, res)
}

// heldPlan: each VU keeps KB of state in its session (sessionapp
// /api/hold) and reads it back.
const heldPlan = `
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, end: logout, retry_login: 1s}
scenario:
  - {name: hold, get: "/api/hold?kb=%d", headers: {Accept: application/json}, check: {status: 200, body_contains: '"held_kb":%d'}}
think: {min: 500ms, max: 1s}
timeout: 20s
http: {max_conns_per_host: 200}
load: {vus: 1, duration: 1s, graceful_stop: 10s}
`

// With --raise-cap on a 256 MB JVM whose sessions hold 200 KB each, the
// search lifts the configured cap of 300 over JMX, goes past it, stops
// on the heap (--heap-limit 60) or on response time and says which, and
// puts the cap back (read back over JMX afterwards).
func TestCapacityRaiseCapHeap(t *testing.T) {
	const capacity = 300
	in := tomcat.Start(t, tomcat.Config{Users: 1400, JavaOpts: "-Xmx256m", Apps: []tomcat.App{{Name: "heavy", Settings: tomcat.Settings{MaxActiveSessions: capacity}}}})
	p := capacityPlan(t, in, "/heavy", "/heavy", fmt.Sprintf(heldPlan, 200, 200))
	// The heap limit at 60% of the max: 200 KB × ~650 sessions, well
	// before the JVM would run out of memory.
	res := search(t, p, profiles.SearchOptions{
		Start: 200, Step: 200, Max: 1400, Refine: 100, Hold: 3 * time.Second, MaxHold: 6 * time.Second, Ramp: 4 * time.Second,
		SLO: time.Second, HeapLimit: 0.6, RaiseCap: true,
	}, 4*time.Minute)
	c := counters(t, in, "/heavy")
	t.Logf("Tomcat /heavy after the search: %+v", c)
	if res.Knee <= capacity {
		t.Errorf("knee %d: want past the configured cap %d", res.Knee, capacity)
	}
	if res.Binding != profiles.SignalHeap && res.Binding != profiles.SignalResponse {
		t.Errorf("binding %q (%q): want heap after GC or response time", res.Binding, res.BindingWhy)
	}
	if !strings.Contains(strings.Join(res.BindingWhy, " "), res.Binding) {
		t.Errorf("binding why %q does not name %q", res.BindingWhy, res.Binding)
	}
	if res.RaisedCap != -1 || res.CapRestored == nil || !*res.CapRestored {
		t.Errorf("raised %d, restored %v; want raised to -1 and restored", res.RaisedCap, res.CapRestored)
	}
	if c.MaxActiveSessions != capacity {
		t.Errorf("Tomcat maxActiveSessions = %d after the search, want the original %d", c.MaxActiveSessions, capacity)
	}
	if c.MaxActive <= capacity || c.RejectedSessions != 0 {
		t.Errorf("Tomcat maxActive %d, rejected %d: want past %d with no refusals (the cap was lifted)", c.MaxActive, c.RejectedSessions, capacity)
	}
	if f := reco(res, "maxActiveSessions"); f == nil || f.Value >= float64(res.Knee) || f.Value <= capacity*0.7 {
		t.Errorf("maxActiveSessions advice %+v: want under the knee %d, from the resources", f, res.Knee)
	}
	checkSteps(t, res)

	// Interrupted during its first step (Ctrl-C), the search still puts
	// the cap back.
	ctx, cancel := context.WithCancel(context.Background())
	raised := make(chan struct{})
	o := profiles.SearchOptions{Start: 400, Step: 200, Max: 1400, Hold: 3 * time.Second, Ramp: 2 * time.Second, RaiseCap: true,
		OnResults: func(profiles.SearchStep, *stats.Results) {}}
	o.Run.OnInterval = func(pr profiles.Progress) {
		if pr.Sessions.Held > capacity {
			select {
			case <-raised:
			default:
				close(raised) // past the configured cap: it is raised
				cancel()
			}
		}
	}
	res, err := profiles.SearchSessions(ctx, p, o)
	cancel()
	select {
	case <-raised:
	default:
		t.Fatalf("the interrupted search never held more than %d sessions (err %v)", capacity, err)
	}
	after := counters(t, in, "/heavy")
	t.Logf("interrupted search: err %v, notes %q, restored %v; Tomcat %+v", err, res.Notes, res.CapRestored != nil && *res.CapRestored, after)
	if err != nil || res.CapRestored == nil || !*res.CapRestored || after.MaxActiveSessions != capacity {
		t.Errorf("after an interrupt: restored %v, Tomcat maxActiveSessions %d; want %d", res.CapRestored, after.MaxActiveSessions, capacity)
	}
}

// A connector of 8 threads and requests that each hold one for 50 ms:
// the thread pool is the binding limit, and the advice sizes maxThreads
// from the service time it measured.
func TestCapacityThreadPool(t *testing.T) {
	in := tomcat.Start(t, tomcat.Config{Users: 100, MaxThreads: 8, Apps: []tomcat.App{{Name: "slow"}}})
	p := capacityPlan(t, in, "/slow", "/slow", `
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, end: logout, retry_login: 1s}
scenario:
  - {name: work, get: "/api/work?ms=50", headers: {Accept: application/json}, check: {status: 200}}
think: 200ms
timeout: 20s
load: {vus: 1, duration: 1s, graceful_stop: 10s}
`)
	res := search(t, p, profiles.SearchOptions{
		Start: 20, Step: 20, Max: 100, Refine: 10, Hold: 3 * time.Second, MaxHold: 6 * time.Second, Ramp: 2 * time.Second,
		SampleInterval: 500 * time.Millisecond, SLO: 5 * time.Second,
	}, 4*time.Minute)
	if res.Binding != profiles.SignalThreads {
		t.Fatalf("binding %q (%q), want the thread pool", res.Binding, res.BindingWhy)
	}
	if res.Knee < 20 || res.Knee >= 60 {
		t.Errorf("knee %d; 8 threads / 50 ms = 160 req/s, 4 req/s per VU: saturated from about 40", res.Knee)
	}
	svc, threads := reco(res, "service time"), reco(res, "maxThreads")
	if svc == nil || svc.Value < 45 || svc.Value > 100 {
		t.Errorf("service time %+v: want about the 50 ms each request holds a thread", svc)
	}
	if threads == nil || threads.Value <= 8 || !strings.Contains(threads.Formula, "now 8") || reco(res, "acceptCount") == nil {
		t.Errorf("maxThreads advice %+v: want more than the 8 threads, with acceptCount", threads)
	}
	checkSteps(t, res)
}

// The heap per session, from heap after GC, over three searches on the
// same Tomcat: the three intervals overlap, and each slope is within
// ±30% of the figure from JMX heap-after-GC with 0 and N sessions held.
func TestCapacityHeapPerSession(t *testing.T) {
	const kb, n = 50, 300
	in := tomcat.Start(t, tomcat.Config{Users: n, Apps: []tomcat.App{{Name: "mem"}}})
	p := capacityPlan(t, in, "/mem", "/mem", fmt.Sprintf(heldPlan, kb, kb))
	jmx, err := server.NewTomcat(*p.Server)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The reference: heap after GC with n sessions held, then with none
	// (expired through the manager), on the same warm server.
	before, err := jmx.HeapAfterGC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hold := fmt.Sprintf(heldPlan, kb, kb)
	hold = strings.Replace(hold, "end: logout", "end: abandon", 1)
	hold = strings.Replace(hold, "load: {vus: 1, duration: 1s, graceful_stop: 10s}", fmt.Sprintf("load: {stages: [{duration: 3s, target: %d}, {duration: 3s}], graceful_stop: 10s}", n), 1)
	if r := run(t, inline(t, fmt.Sprintf("target: %s/mem\n%s", in.URL, hold)), time.Minute); r == nil {
		return
	}
	hn, err := jmx.HeapAfterGC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if held := counters(t, in, "/mem").ActiveSessions; held != n {
		t.Fatalf("Tomcat holds %d sessions, want %d", held, n)
	}
	if err := in.ExpireSessions("/mem"); err != nil {
		t.Fatal(err)
	}
	h0, err := jmx.HeapAfterGC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if left := counters(t, in, "/mem").ActiveSessions; left != 0 {
		t.Fatalf("Tomcat holds %d sessions after expiring them all", left)
	}
	ref := (hn - h0) * 1024 / n
	t.Logf("reference: heap after GC %.2f MB with %d sessions held, %.2f MB with none (%.2f MB before any): %.1f KB per session", hn, n, h0, before, ref)
	var fits []*stats.HeapFit
	for i := range 3 {
		// A short warm-up runs the login, the work and the logout once, so
		// first-use allocations (classes, caches) stay out of the steps.
		res := search(t, p, profiles.SearchOptions{Start: 100, Step: 100, Max: n, Hold: 2 * time.Second, MaxHold: 5 * time.Second, Ramp: 2 * time.Second,
			Warmup: 3 * time.Second, WarmupSessions: 10}, 3*time.Minute)
		f := res.HeapPerSession
		if f == nil {
			t.Fatalf("search %d: no heap per session (notes %q)", i+1, res.Notes)
		}
		t.Logf("search %d: %.1f KB per session, interval [%.1f, %.1f] KB over the points %.2f", i+1, f.SlopeKB, f.LowKB, f.HighKB, f.Points)
		if math.Abs(f.SlopeKB-ref) > 0.3*ref {
			t.Errorf("search %d: %.1f KB per session, the reference is %.1f KB: more than 30%% off", i+1, f.SlopeKB, ref)
		}
		fits = append(fits, f)
		checkSteps(t, res)
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	for _, f := range fits {
		lo, hi = max(lo, f.LowKB), min(hi, f.HighKB)
	}
	if lo > hi {
		t.Errorf("the three intervals do not overlap: the highest low %.1f KB is above the lowest high %.1f KB", lo, hi)
	}
}
