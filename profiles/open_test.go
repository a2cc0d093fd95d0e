package profiles_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
)

// openPlan: logged-in VUs, one JSON request per iteration, no think time.
const openPlan = `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, end: abandon}
scenario:
  - name: me
    get: /api/me
    headers: {Accept: application/json}
    check: {status: 200, json: {"$.user": "{{.User}}"}}
timeout: 10s
load: {%s}
`

// A constant arrival rate runs exactly the scheduled iterations.
func TestArrivalRateAccuracy(t *testing.T) {
	const rate, secs = 2000, 10
	_, u := startTarget(t, target.Config{Users: 400})
	p := plan(t, u, fmt.Sprintf(openPlan, fmt.Sprintf("rate: %d/s, duration: %ds, preallocated_vus: 50, max_vus: 400", rate, secs)))
	res := run(t, p)
	want := int64(rate * secs)
	got := res.Iterations.Completed
	t.Logf("completed %d of %d iterations; dropped %d; schedule lag p99 %.3f ms; generator CPU %.0f%%",
		got, want, res.Iterations.Dropped, res.Generator.ScheduleLagP99Ms, 100*res.Generator.CPUUtil)
	if diff := float64(got-want) / float64(want); diff < -0.01 || diff > 0.01 {
		t.Errorf("completed %d iterations, want %d ±1%%", got, want)
	}
	if res.Generator.ScheduledCount != want {
		t.Errorf("schedule lag recorded for %d iterations, want %d", res.Generator.ScheduledCount, want)
	}
	if e := endpoint(t, res, "me"); e.Errors != 0 || e.Corrected == nil {
		t.Errorf("me: %d errors, corrected latency %v; want 0 errors and corrected figures", e.Errors, e.Corrected)
	}
}

// stallBound is the corrected p99 a 1 s stall must show at least: at a
// constant rate, the stall delays rate×1s iterations by 1s..0s (uniform),
// a tenth of a 10 s run; the worst 1% of all iterations are the worst
// tenth of those, delayed 0.9 s or more. The test allows 10% below that.
const stallBound = 0.9 * 900.0 // ms

// A server that stops answering for 1 s shows in the corrected latency,
// while the uncorrected latency of the few requests in flight hides it:
// coordinated omission, measured and corrected.
func TestStallOpenModel(t *testing.T) {
	stallTest(t, "open model", "rate: 500/s, duration: 10s, preallocated_vus: 10, max_vus: 10")
}

// The same in the closed model with pacing: 10 VUs, one iteration every
// 20 ms each, is 500/s with intended times.
func TestStallClosedModelPacing(t *testing.T) {
	stallTest(t, "closed model with pacing", "vus: 10, duration: 10s, pacing: 20ms")
}

// stallTest runs 500 iterations/s for 10 s with a 1 s stall at 4 s.
func stallTest(t *testing.T, model, load string) {
	tg, u := startTarget(t, target.Config{Users: 10})
	p := plan(t, u, fmt.Sprintf(openPlan, load))
	go func() {
		time.Sleep(4 * time.Second)
		tg.Stall(time.Second)
	}()
	res := run(t, p)
	e := endpoint(t, res, "me")
	if e.Corrected == nil {
		t.Fatalf("%s: no corrected latency", model)
	}
	t.Logf("%s, 1 s stall at 500/s: corrected p99 %.1f ms, uncorrected p99 %.1f ms (bound %.0f ms)", model, e.Corrected.P99, e.Latency.P99, stallBound)
	if e.Corrected.P99 < stallBound {
		t.Errorf("corrected p99 %.1f ms, want >= %.0f ms", e.Corrected.P99, stallBound)
	}
	if e.Latency.P99 > 100 {
		t.Errorf("uncorrected p99 %.1f ms: want it small (only the requests in flight saw the stall)", e.Latency.P99)
	}
}

// Users arriving at 20/s who stay 5 s hold 20 × 5 = 100 sessions on the
// server (Little's law), counted by the server itself.
func TestSessionArrivalLittle(t *testing.T) {
	tg, u := startTarget(t, target.Config{Users: 1000})
	p := plan(t, u, `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, end: logout}
scenario:
  - name: me
    get: /api/me
    headers: {Accept: application/json}
think: {min: 50ms, max: 150ms}
load: {sessions: {rate: 20/s, lifetime: 5s}, duration: 12s, graceful_stop: 5s}
`)
	type obs struct {
		at  time.Duration
		got int64
	}
	samples := make(chan []obs, 1)
	go func() {
		var out []obs
		t0 := time.Now()
		time.Sleep(6 * time.Second) // past the first lifetime: steady
		for time.Since(t0) < 11500*time.Millisecond {
			out = append(out, obs{time.Since(t0), tg.Stats().Authenticated})
			time.Sleep(250 * time.Millisecond)
		}
		samples <- out
	}()
	res := run(t, p)
	got := <-samples
	var sum int64
	for _, o := range got {
		sum += o.got
	}
	mean := float64(sum) / float64(len(got))
	t.Logf("server-side authenticated sessions in the steady part: mean %.1f over %d samples (Little: 100); %+v", mean, len(got), got)
	if mean < 85 || mean > 115 {
		t.Errorf("mean active sessions %.1f, want 100 ±15%%", mean)
	}
	if res.Sessions.Established < 230 || res.Sessions.Unique != res.Sessions.Established {
		t.Errorf("sessions %+v: want ~240 arrivals, each its own session", res.Sessions)
	}
}
