package vuser

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/stats"
)

// refusingServer answers 401 to every request and records when each came.
func refusingServer(t *testing.T) (*url.URL, func() []time.Time) {
	t.Helper()
	var mu sync.Mutex
	var at []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), at...)
	}
}

// basicVU is one VU started with Go, logging in with Basic auth to u as
// sess says, with think after its one step (parked when >= idleAfter).
func basicVU(t *testing.T, u *url.URL, sess Session, think time.Duration, sig Signals, ctx context.Context) (*stats.Sessions, <-chan struct{}) {
	t.Helper()
	pl := pool.New(pool.Options{MaxConnsPerHost: 2})
	t.Cleanup(pl.Close)
	s := stepsScript(u, 1, think)
	s.Login = Login{Kind: LoginBasic}
	sess.Relogin = true
	s.Session = sess
	sessions := stats.NewSessions()
	e, err := NewEnv(s, PoolTransport(pl, nil), stats.NewRecorder(stats.Options{}), sessions)
	if err != nil {
		t.Fatal(err)
	}
	v := e.NewVU(1, Identity{Username: "u", Password: "wrong"}, sig)
	done := make(chan struct{})
	stop := sig.Stop
	v.Go(ctx, func() (time.Time, bool) { return time.Time{}, !closed(stop) }, func() { close(done) })
	return sessions, done
}

// Refused again and again, a VU waits RetryLogin, then twice as long
// each time (plus up to half again as jitter), up to RetryLoginMax;
// whether it thinks on its goroutine or parked.
func TestBackoffDoubles(t *testing.T) {
	t.Parallel()
	for _, think := range []time.Duration{0, 2 * idleAfter} {
		u, times := refusingServer(t)
		base, cap := 40*time.Millisecond, 160*time.Millisecond
		stop := make(chan struct{})
		sessions, done := basicVU(t, u, Session{RetryLogin: base, RetryLoginMax: cap, ReloginsPerMinute: 100}, think, Signals{Stop: stop}, context.Background())
		if !waitFor(10*time.Second, func() bool { return len(times()) >= 7 }) {
			t.Fatalf("think %s: %d requests", think, len(times()))
		}
		close(stop)
		<-done
		at := times()
		for i := 1; i < 7; i++ {
			want := min(base<<(i-1), cap)
			gap := at[i].Sub(at[i-1])
			// Think comes after the step only when the step's retry was
			// refused too (even i: the iteration ends, thinks, then logs
			// in again), and it overlaps nothing: it adds.
			lo := want
			hi := min(want*3/2, cap) + think + 60*time.Millisecond
			if gap < lo || gap > hi {
				t.Errorf("think %s: gap %d = %s, want %s..%s", think, i, gap.Round(time.Millisecond), lo, hi)
			}
		}
		if c := sessions.Counts(); c.Established != 0 || c.LoginFailures < 7 {
			t.Errorf("think %s: sessions %+v, want none established, every refusal a login failure", think, c)
		}
	}
}

// At most ReloginsPerMinute logins after the first in any minute,
// however short the back-off.
func TestReloginsPerMinute(t *testing.T) {
	t.Parallel()
	u, times := refusingServer(t)
	stop := make(chan struct{})
	_, done := basicVU(t, u, Session{RetryLogin: time.Millisecond, ReloginsPerMinute: 3}, 0, Signals{Stop: stop}, context.Background())
	time.Sleep(time.Second)
	close(stop)
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the VU did not end on Stop while waiting for the re-login limit")
	}
	// The first login and 3 re-logins, one request each.
	if n := len(times()); n != 4 {
		t.Errorf("%d requests in 1 s, want 4 (1 login + 3 re-logins a minute)", n)
	}
}

// A VU waiting on its back-off ends at once when the run aborts, stops,
// or its context ends.
func TestBackoffEndsWithTheRun(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"abort", "stop", "context"} {
		u, times := refusingServer(t)
		stop, abort := make(chan struct{}), make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		_, done := basicVU(t, u, Session{RetryLogin: time.Minute}, 2*idleAfter, Signals{Stop: stop, Abort: abort}, ctx)
		if !waitFor(5*time.Second, func() bool { return len(times()) == 1 }) {
			t.Fatalf("%s: no request", how)
		}
		time.Sleep(50 * time.Millisecond) // in its back-off by now
		start := time.Now()
		switch how {
		case "abort":
			close(abort)
		case "stop":
			close(stop)
		case "context":
			cancel()
		}
		select {
		case <-done:
		case <-time.After(time.Second):
			t.Fatalf("%s: the VU still waits on its back-off after 1 s", how)
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			t.Errorf("%s: the VU ended %s after", how, took)
		}
		if n := len(times()); n != 1 {
			t.Errorf("%s: %d requests, want 1", how, n)
		}
		cancel()
	}
}
