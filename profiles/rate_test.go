package profiles

import (
	"testing"
	"time"
)

func TestScheduleAt(t *testing.T) {
	t.Parallel()
	const s = time.Second
	constant := Schedule{Start: 500, Duration: 10 * s}
	// 0 -> 10/s over 10 s: area(t) = t^2/2, so iteration i at sqrt(2i).
	rampUp := Schedule{Stages: []RateStage{{10 * s, 10}}}
	// 10/s -> 0 over 10 s, then 4/s for 5 s.
	rampDown := Schedule{Start: 10, Stages: []RateStage{{10 * s, 0}, {0, 4}, {5 * s, 4}}}
	for _, tc := range []struct {
		name string
		s    Schedule
		i    int64
		want time.Duration
		ok   bool
	}{
		{"constant first", constant, 0, 0, true},                         // the first iteration is due at once
		{"constant second", constant, 1, 2 * time.Millisecond, true},     // 500/s: every 2 ms
		{"constant last", constant, 4999, 9998 * time.Millisecond, true}, // 5,000 iterations in 10 s
		{"constant past end", constant, 5000, 0, false},                  // the 5,001st would be due at 10 s: not in the schedule
		{"negative", constant, -1, 0, false},                             // no such iteration
		{"ramp from zero", rampUp, 2, 2 * s, true},                       // sqrt(2*2) = 2 s
		{"ramp from zero, 8", rampUp, 8, 4 * s, true},                    // sqrt(16) = 4 s
		{"ramp from zero, 49", rampUp, 49, 9899494936, true},             // sqrt(98) s
		{"ramp end", rampUp, 50, 0, false},                               // area is 50: iterations 0..49
		{"ramp down, 1", rampDown, 1, 100505063, true},                   // 10x - x^2/2 = 1: x = 10 - sqrt(98)
		{"ramp down, last of ramp", rampDown, 49, 8585786437, true},      // 10 - sqrt(2)
		{"hold after ramp down", rampDown, 50, 10 * s, true},             // ramp area is exactly 50: next is at the hold's start
		{"hold after ramp down, 4/s", rampDown, 51, 10*s + 250*time.Millisecond, true},
		{"hold end", rampDown, 70, 0, false}, // 50 + 4*5 = 70 iterations
	} {
		got, ok := tc.s.At(tc.i)
		if ok != tc.ok || (ok && absDur(got-tc.want) > time.Microsecond) {
			t.Errorf("%s: At(%d) = %v, %v; want %v, %v", tc.name, tc.i, got, ok, tc.want, tc.ok)
		}
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestScheduleCount(t *testing.T) {
	t.Parallel()
	const s = time.Second
	for _, tc := range []struct {
		name string
		s    Schedule
		want int64
	}{
		{"constant", Schedule{Start: 2000, Duration: 10 * s}, 20000},             // rate x duration
		{"fractional", Schedule{Start: 3, Duration: 1500 * time.Millisecond}, 5}, // 4.5 -> due at 0, 1/3, 2/3, 1, 4/3
		{"ramp", Schedule{Stages: []RateStage{{10 * s, 10}}}, 50},                // triangle area
		{"stages", Schedule{Start: 100, Stages: []RateStage{{30 * s, 500}, {60 * s, 500}, {30 * s, 0}}}, // 9000 + 30000 + 7500
			46500},
		{"zero", Schedule{Start: 0, Duration: 10 * s}, 0}, // nothing due
	} {
		if got := tc.s.Count(); got != tc.want {
			t.Errorf("%s: Count = %d, want %d", tc.name, got, tc.want)
		}
		// Every counted iteration has a time, in order, inside the schedule;
		// the next one does not.
		prev := time.Duration(-1)
		for i := range tc.s.Count() {
			at, ok := tc.s.At(i)
			if !ok || at < prev || at >= tc.s.Total() {
				t.Fatalf("%s: At(%d) = %v, %v (previous %v, total %v)", tc.name, i, at, ok, prev, tc.s.Total())
			}
			prev = at
		}
		if _, ok := tc.s.At(tc.s.Count()); ok {
			t.Errorf("%s: At(Count()) is in the schedule", tc.name)
		}
	}
}
