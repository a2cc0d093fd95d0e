package vuser

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionload/load/stats"
)

// Each request's intended start, computed from the iteration's schedule,
// the recorded ends and the think times drawn (no clock, no sleeping):
// corrected latency = end − intended.
func TestIntendedPerRequest(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type req struct {
		start, end    int           // ms after t0, as sent and answered
		think         time.Duration // drawn after it
		wantCorrected time.Duration // end − its intended start
	}
	for _, c := range []struct {
		name     string
		intended time.Time
		reqs     []req
	}{
		// On time: each request's corrected latency is its service time.
		{"on time", ms(0), []req{
			{0, 10, 100 * time.Millisecond, 10 * time.Millisecond},
			{110, 130, 200 * time.Millisecond, 20 * time.Millisecond},
			{330, 335, 0, 5 * time.Millisecond},
		}},
		// Started 500 ms late: the first request carries it, the
		// later ones (sent after their thinks) do not.
		{"late start", ms(0), []req{
			{500, 510, 100 * time.Millisecond, 510 * time.Millisecond},
			{610, 620, 100 * time.Millisecond, 10 * time.Millisecond},
			{720, 725, 0, 5 * time.Millisecond},
		}},
		// A stall in the middle (a think that woke 300 ms late, or a
		// wait for a slot): that request carries it, the one after not.
		{"mid-iteration stall", ms(0), []req{
			{0, 10, 100 * time.Millisecond, 10 * time.Millisecond},
			{410, 420, 100 * time.Millisecond, 310 * time.Millisecond},
			{520, 530, 0, 10 * time.Millisecond},
		}},
		// A paced iteration that the previous one overran by 2 s: its
		// first request is 2 s late, 45 s of thinking later the last
		// is not.
		{"pacing overrun", ms(-2000), []req{
			{0, 10, 45 * time.Second, 2010 * time.Millisecond},
			{45010, 45020, 0, 10 * time.Millisecond},
		}},
	} {
		it := iteration{}
		it.intended, it.next = c.intended, c.intended
		for i, r := range c.reqs {
			due := it.next
			if got := ms(r.end).Sub(due); got != r.wantCorrected {
				t.Errorf("%s: request %d corrected %s, want %s", c.name, i, got, r.wantCorrected)
			}
			it.sent(ms(r.end))
			it.thought(r.think)
		}
	}
	// Unscheduled: no intended time, ever.
	it := iteration{}
	it.sent(t0)
	it.thought(time.Second)
	if !it.next.IsZero() {
		t.Errorf("unscheduled iteration: next intended %s, want none", it.next)
	}
}

// End to end: an iteration started 300 ms late, with a 60 ms stall on
// its second request. Only the first request carries the lateness and
// only the second the stall; think times count nowhere.
func TestCorrectedLatencyPerRequest(t *testing.T) {
	t.Parallel()
	const late, stall, think = 300 * time.Millisecond, 60 * time.Millisecond, 100 * time.Millisecond
	ps := newPathServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/b" {
			time.Sleep(stall)
		}
	})
	s := &Script{Target: ps.url, Think: Think{Min: think, Max: think},
		Steps: []Step{get(t, "a", "/a"), get(t, "b", "/b"), get(t, "c", "/c")}}
	e, rec := flowEnv(t, s)
	v := e.NewVU(1, Identity{}, Signals{})
	if _, err := v.Get(context.Background(), "warm", "/warm"); err != nil { // a kept-alive connection
		t.Fatal(err)
	}
	v.Iterate(context.Background(), time.Now().Add(-late))
	v.Close()
	res := results(t, rec)
	if n := ps.count("/a") + ps.count("/b") + ps.count("/c"); n != 3 || res.Iterations.Completed != 1 {
		t.Fatalf("server saw %d requests, %d iterations; want 3, 1", n, res.Iterations.Completed)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	slack := 80.0 // scheduling noise on a loaded machine, under a think and the lateness
	for _, c := range []struct {
		name     string
		min, max float64 // corrected − service, ms
	}{
		{"a", ms(late), ms(late) + slack},
		{"b", 0, slack}, // the stall is service time here: the server took it
		{"c", 0, slack},
	} {
		ep := endpoint(t, res, c.name)
		if ep.Corrected == nil {
			t.Errorf("%s: no corrected latency", c.name)
			continue
		}
		extra := ep.Corrected.Max - ep.Latency.Max
		if extra < c.min-1 || extra > c.max {
			t.Errorf("%s: corrected %.1f ms, service %.1f ms: %.1f ms added, want %.0f–%.0f", c.name, ep.Corrected.Max, ep.Latency.Max, extra, c.min, c.max)
		}
	}
}

// A Go iteration whose code waits (a late wake-up) after Think: the wait
// counts in the next request's corrected latency, the think does not,
// and the lateness of the start is not copied onto it.
func TestCorrectedLatencyLateWakeGo(t *testing.T) {
	t.Parallel()
	const late, wake, think = 400 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond
	ps := newPathServer(t, nil)
	s := &Script{Target: ps.url, Think: Think{Min: think, Max: think}, Func: func(ctx context.Context, v *VU) error {
		if _, err := v.Get(ctx, "a", "/a"); err != nil {
			return err
		}
		if err := v.Think(ctx); err != nil {
			return err
		}
		time.Sleep(wake) // the user was due; the generator was not there
		_, err := v.Get(ctx, "b", "/b")
		return err
	}}
	e, rec := flowEnv(t, s)
	v := e.NewVU(1, Identity{}, Signals{})
	v.Iterate(context.Background(), time.Now().Add(-late))
	v.Close()
	res := results(t, rec)
	if ps.count("/a") != 1 || ps.count("/b") != 1 {
		t.Fatalf("server saw /a %d, /b %d; want 1, 1", ps.count("/a"), ps.count("/b"))
	}
	b := endpoint(t, res, "b")
	if b.Corrected == nil {
		t.Fatal("b: no corrected latency")
	}
	extra := b.Corrected.Max - b.Latency.Max
	// Counting the think would add 150 ms, copying the start's lateness 400.
	if extra < 49 || extra >= 140 {
		t.Errorf("b: %.1f ms added to its service time, want the 50 ms late wake-up only (and scheduling noise)", extra)
	}
}

// A relogin in the middle of a step: the lost request is session_lost
// with the iteration's lateness in it; the retry is measured from its
// own send, so the lateness is not counted twice.
func TestReloginRetryOwnIntended(t *testing.T) {
	t.Parallel()
	const late = 400 * time.Millisecond
	var logins, xs atomic.Int64
	ps := newPathServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			logins.Add(1)
			http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "s" + string(rune('0'+logins.Load())), Path: "/"})
		case "/x":
			if xs.Add(1) == 1 {
				w.WriteHeader(http.StatusUnauthorized)
			}
		}
	})
	login := Step{Name: "login", Method: http.MethodPost, Path: tpl(t, "/login")}
	s := &Script{Target: ps.url, Login: Login{Kind: LoginSteps, Steps: []Step{login}}, Session: Session{Relogin: true},
		Steps: []Step{get(t, "x", "/x")}}
	e, rec := flowEnv(t, s)
	v := e.NewVU(1, Identity{}, Signals{})
	if err := v.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	v.proven = true // a session that served requests before: its loss is an event
	v.Iterate(context.Background(), time.Now().Add(-late))
	v.Close()
	res := results(t, rec)
	if ps.count("/x") != 2 || logins.Load() != 2 {
		t.Fatalf("server saw /x %d times, %d logins; want 2, 2", ps.count("/x"), logins.Load())
	}
	x := endpoint(t, res, "x")
	if x.ErrorsByKind[stats.SessionLost.String()] != 1 || x.Corrected == nil || x.CorrectedRequests != 2 {
		t.Fatalf("x: %v, corrected %+v over %d; want one session_lost, both corrected", x.ErrorsByKind, x.Corrected, x.CorrectedRequests)
	}
	// Two samples: the lost one ≥ 400 ms, the retry near its service time.
	if x.Corrected.Max < 400 || x.Corrected.Min > 100 {
		t.Errorf("x corrected max %.1f, min %.1f ms; want the lost one ≥ 400, the retry far below", x.Corrected.Max, x.Corrected.Min)
	}
}
