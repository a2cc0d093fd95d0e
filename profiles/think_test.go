package profiles_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/profiles"
)

// VUs in a long think hold no goroutine, yet the run still ends them:
// at the end of the graceful stop (a stop lets an iteration finish,
// think included, then they are aborted), and at once when the run is
// interrupted.
func TestThinkingVUsEnd(t *testing.T) {
	t.Parallel()
	const vus = 200
	_, u := startTarget(t, target.Config{Users: vus})
	const text = `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, end: abandon}
scenario: [{name: me, get: /api/me, headers: {Accept: application/json}, check: {status: 200}}]
think: 10m
load: {vus: 200, duration: %s, graceful_stop: %s}
`
	t.Run("graceful stop runs out", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		res := run(t, plan(t, u, fmt.Sprintf(text, "3s", "1s")))
		took := time.Since(start)
		if took > 15*time.Second {
			t.Errorf("the run took %s: thinking VUs outlived the graceful stop", took)
		}
		if e := endpoint(t, res, "me"); e.Requests != vus || e.Errors != 0 || res.Sessions.Established != vus || res.Iterations.Completed != 0 {
			t.Errorf("me %d requests, %d errors; %d sessions, %d iterations: want %d, 0, %d, 0", e.Requests, e.Errors, res.Sessions.Established, res.Iterations.Completed, vus, vus)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var cancelled time.Time
		o := profiles.RunOptions{OnInterval: func(p profiles.Progress) {
			if p.Sessions.Established == vus && cancelled.IsZero() {
				time.Sleep(500 * time.Millisecond) // let them reach their think
				cancelled = time.Now()
				cancel()
			}
		}}
		res, err := profiles.Run(ctx, plan(t, u, fmt.Sprintf(text, "60s", "60s")), o)
		if err != nil {
			t.Fatal(err)
		}
		if cancelled.IsZero() {
			t.Fatal("the VUs never all logged in")
		}
		if took := time.Since(cancelled); took > 5*time.Second {
			t.Errorf("the run ended %s after it was interrupted: thinking VUs were not woken", took)
		}
		if res.Sessions.Established != vus {
			t.Errorf("%d sessions, want %d", res.Sessions.Established, vus)
		}
	})
}
