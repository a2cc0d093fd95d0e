package vuser

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/stats"
)

// countingServer answers 200 to every request and counts them.
func countingServer(t *testing.T) (*url.URL, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u, &n
}

// stepsScript is n GETs of / with think after each.
func stepsScript(u *url.URL, n int, think time.Duration) *Script {
	steps := make([]Step, n)
	for i := range steps {
		p, _ := ParseTemplate("/")
		steps[i] = Step{Name: "get", Method: http.MethodGet, Path: p}
	}
	return &Script{Target: u, Steps: steps, Think: Think{Min: think, Max: think}}
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// 500 VUs in a long think hold no goroutine; Stop leaves them thinking
// (their iteration finishes, think included); Abort and Wake end them at
// once, their iteration uncounted.
func TestThinkingVUsHoldNoGoroutine(t *testing.T) {
	const n = 500
	u, served := countingServer(t)
	pl := pool.New(pool.Options{MaxConnsPerHost: 4})
	t.Cleanup(pl.Close)
	rec := stats.NewRecorder(stats.Options{})
	e, err := NewEnv(stepsScript(u, 1, time.Minute), PoolTransport(pl, nil), rec, stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	stop, abort := make(chan struct{}), make(chan struct{})
	var ended atomic.Int64
	vus := make([]*VU, n)
	for i := range vus {
		vus[i] = e.NewVU(i+1, Identity{}, Signals{Stop: stop, Abort: abort})
		next := func() (time.Time, bool) { return time.Time{}, !closed(stop) }
		vus[i].Go(context.Background(), next, func() { ended.Add(1) })
	}
	if !waitFor(10*time.Second, func() bool { return served.Load() == n }) {
		t.Fatalf("%d of %d requests served", served.Load(), n)
	}
	// The pool's connections keep a few goroutines (client and server side).
	if !waitFor(5*time.Second, func() bool { return runtime.NumGoroutine() <= base+30 }) {
		t.Fatalf("%d goroutines with %d VUs thinking, %d before: a thinking VU holds one", runtime.NumGoroutine(), n, base)
	}
	close(stop)
	time.Sleep(200 * time.Millisecond)
	if k := ended.Load(); k != 0 {
		t.Fatalf("%d VUs ended on Stop in the middle of a think", k)
	}
	start := time.Now()
	close(abort)
	for _, v := range vus {
		v.Wake()
	}
	if !waitFor(5*time.Second, func() bool { return ended.Load() == n }) {
		t.Fatalf("%d of %d VUs ended after Abort", ended.Load(), n)
	}
	t.Logf("%d thinking VUs ended %s after Abort", n, time.Since(start).Round(time.Millisecond))
	if res, err := rec.Result(time.Second); err != nil || res.Iterations.Completed != 0 || served.Load() != n {
		t.Errorf("%d iterations completed (%v), %d requests: want 0 (the think was cut short), %d", res.Iterations.Completed, err, served.Load(), n)
	}
}

// A VU that parks between steps goes on where it stopped: every step of
// every iteration it was handed is sent once, every iteration counted,
// and Run returns once next says stop.
func TestParkedVUResumes(t *testing.T) {
	t.Parallel()
	u, served := countingServer(t)
	rec := stats.NewRecorder(stats.Options{})
	e, err := NewEnv(stepsScript(u, 3, idleAfter), Transport{}, rec, stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // next runs on whichever goroutine the VU is on
	iterations := 0
	next := func() (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		iterations++
		return time.Time{}, iterations <= 2
	}
	v := e.NewVU(1, Identity{}, Signals{})
	start := time.Now()
	v.Run(context.Background(), next)
	took := time.Since(start)
	res, err := rec.Result(took)
	if err != nil {
		t.Fatal(err)
	}
	if served.Load() != 6 || res.Iterations.Completed != 2 {
		t.Errorf("%d requests, %d iterations; want 6, 2", served.Load(), res.Iterations.Completed)
	}
	if took < 6*idleAfter {
		t.Errorf("took %s: six thinks of %s were not waited", took, idleAfter)
	}
}

// Run wakes its own VU when the VU's Abort closes during a think.
func TestRunAbortEndsThink(t *testing.T) {
	t.Parallel()
	u, served := countingServer(t)
	e, err := NewEnv(stepsScript(u, 1, time.Hour), Transport{}, stats.NewRecorder(stats.Options{}), stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	abort := make(chan struct{})
	v := e.NewVU(1, Identity{}, Signals{Abort: abort})
	done := make(chan struct{})
	go func() {
		v.Run(context.Background(), func() (time.Time, bool) { return time.Time{}, !closed(abort) })
		close(done)
	}()
	if !waitFor(5*time.Second, func() bool { return served.Load() == 1 }) {
		t.Fatal("no request")
	}
	close(abort)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run still thinking 5 s after Abort")
	}
}

// Every parked think's wake-up is recorded in the Env's lag (SetLag):
// three steps, each followed by a think of idleAfter, two iterations.
func TestParkedThinkLag(t *testing.T) {
	t.Parallel()
	u, served := countingServer(t)
	rec := stats.NewRecorder(stats.Options{})
	e, err := NewEnv(stepsScript(u, 3, idleAfter), Transport{}, rec, stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	lag := stats.NewLag()
	e.SetLag(lag)
	var mu sync.Mutex
	iterations := 0
	next := func() (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		iterations++
		return time.Now(), iterations <= 2
	}
	v := e.NewVU(1, Identity{}, Signals{})
	v.Run(context.Background(), next)
	if served.Load() != 6 || lag.Count() != 6 {
		t.Errorf("server saw %d requests, %d think wake-ups in the lag; want 6, 6", served.Load(), lag.Count())
	}
	if p := lag.Percentiles(); p.Max >= float64(idleAfter/time.Millisecond) {
		t.Errorf("lag max %.1f ms: the think itself counted, not only its lateness", p.Max)
	}
}
