package profiles_test

import (
	"testing"
	"time"

	"github.com/sessionload/load/profiles"
)

func TestLoadVUsAt(t *testing.T) {
	t.Parallel()
	s := time.Second
	// 0 -> 10 over 10s, hold 10s, 10 -> 0 over 10s.
	upHoldDown := profiles.Load{Stages: []profiles.Stage{{Duration: 10 * s, Target: 10}, {Duration: 10 * s, Target: profiles.HoldTarget}, {Duration: 10 * s, Target: 0}}}
	// 4 -> 7 with no first stage from 0: 0 -> 4 over 4s, then 4 -> 7 over 3s.
	steps := profiles.Load{Stages: []profiles.Stage{{Duration: 4 * s, Target: 4}, {Duration: 3 * s, Target: 7}}}
	// A first stage without a target holds 0.
	holdZero := profiles.Load{Stages: []profiles.Stage{{Duration: 5 * s, Target: profiles.HoldTarget}, {Duration: 5 * s, Target: 5}}}
	// A zero-length stage jumps.
	jump := profiles.Load{Stages: []profiles.Stage{{Duration: 0, Target: 8}, {Duration: 2 * s, Target: 8}}}
	flat := profiles.Load{VUs: 50, Duration: time.Minute}
	// Many VUs over a long stage: the product overflows 64 bits.
	huge := profiles.Load{Stages: []profiles.Stage{{Duration: 1000 * time.Hour, Target: 10_000_000}}}

	tests := []struct {
		load profiles.Load
		t    time.Duration
		want int
	}{
		{upHoldDown, -s, 0},                           // before the start
		{upHoldDown, 0, 0},                            // the ramp starts from 0
		{upHoldDown, 999 * time.Millisecond, 0},       // the first VU has not had its whole share yet
		{upHoldDown, s, 1},                            // exactly one share: one VU
		{upHoldDown, 5500 * time.Millisecond, 5},      // rounded down while ramping up
		{upHoldDown, 10*s - 1, 9},                     // just before the end of the ramp
		{upHoldDown, 10 * s, 10},                      // the boundary: the stage's target
		{upHoldDown, 15 * s, 10},                      // a stage without target holds
		{upHoldDown, 20 * s, 10},                      // the ramp down starts from the held target
		{upHoldDown, 20*s + 999*time.Millisecond, 10}, // a VU stops once its whole share has elapsed
		{upHoldDown, 21 * s, 9},                       // one share down
		{upHoldDown, 25500 * time.Millisecond, 5},     // rounded toward the previous target (up) while ramping down
		{upHoldDown, 30*s - 1, 1},                     // the last VU runs to the end
		{upHoldDown, 30 * s, 0},                       // at the end
		{upHoldDown, time.Hour, 0},                    // past the end
		{steps, 3 * s, 3},                             // first stage, from 0
		{steps, 4 * s, 4},                             // second stage starts at the first's target
		{steps, 5 * s, 5},                             // 4 + 3*(1s/3s) = 5
		{steps, 7*s - 1, 6},                           // not yet 7
		{steps, 7 * s, 0},                             // the end
		{holdZero, 4 * s, 0},                          // holding 0
		{holdZero, 7 * s, 2},                          // then 0 -> 5 over 5s
		{jump, 0, 8},                                  // a zero-length stage takes effect at once
		{jump, 2*s - 1, 8},                            // and holds
		{flat, 0, 50},                                 // a flat load starts at full count
		{flat, 59 * s, 50},                            // and holds
		{flat, time.Minute, 0},                        // until its duration, exclusive
		{profiles.Load{}, 0, 0},                       // no load at all
		{huge, 500 * time.Hour, 5_000_000},            // half way, without overflow
	}
	for _, tc := range tests {
		if got := tc.load.VUsAt(tc.t); got != tc.want {
			t.Errorf("%+v.VUsAt(%s) = %d, want %d", tc.load, tc.t, got, tc.want)
		}
	}
}

func TestLoadTotalAndMaxVUs(t *testing.T) {
	t.Parallel()
	s := time.Second
	tests := []struct {
		load  profiles.Load
		total time.Duration
		max   int
	}{
		{profiles.Load{VUs: 50, Duration: time.Minute}, time.Minute, 50},                                                                                            // flat
		{profiles.Load{Stages: []profiles.Stage{{Duration: 10 * s, Target: 100}, {Duration: 20 * s, Target: profiles.HoldTarget}, {Duration: 5 * s}}}, 35 * s, 100}, // up, hold, down
		{profiles.Load{Stages: []profiles.Stage{{Duration: s, Target: 3}, {Duration: s, Target: 9}, {Duration: s, Target: 4}}}, 3 * s, 9},                           // peak in the middle
		{profiles.Load{VUs: 5, Duration: time.Minute, Stages: []profiles.Stage{{Duration: s, Target: 2}}}, s, 2},                                                    // stages win over VUs
		{profiles.Load{Stages: []profiles.Stage{{Duration: s, Target: profiles.HoldTarget}}}, s, 0},                                                                 // holding nothing
		{profiles.Load{GracefulStop: time.Hour}, 0, 0},                                                                                                              // graceful stop is not planned time
	}
	for _, tc := range tests {
		if got := tc.load.Total(); got != tc.total {
			t.Errorf("%+v.Total() = %s, want %s", tc.load, got, tc.total)
		}
		if got := tc.load.MaxVUs(); got != tc.max {
			t.Errorf("%+v.MaxVUs() = %d, want %d", tc.load, got, tc.max)
		}
	}
}

// TestLoadVUsAtNeverExceedsMax walks a shape in small steps: the count
// never goes past MaxVUs and moves by at most one VU per share.
func TestLoadVUsAtNeverExceedsMax(t *testing.T) {
	t.Parallel()
	l := profiles.Load{Stages: []profiles.Stage{{Duration: 3 * time.Second, Target: 7}, {Duration: 2 * time.Second, Target: 2}, {Duration: time.Second, Target: 9}}}
	prev := 0
	for at := time.Duration(0); at <= l.Total(); at += time.Millisecond {
		n := l.VUsAt(at)
		if n < 0 || n > l.MaxVUs() {
			t.Fatalf("VUsAt(%s) = %d, outside [0, %d]", at, n, l.MaxVUs())
		}
		if d := n - prev; at < l.Total() && (d > 1 || d < -1) {
			t.Fatalf("VUsAt(%s) = %d jumps from %d", at, n, prev)
		}
		prev = n
	}
}
