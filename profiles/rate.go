package profiles

import (
	"math"
	"time"
)

// RateStage ramps the arrival rate linearly from the previous stage's
// target (or the schedule's start rate) to Target, per second.
type RateStage struct {
	Duration time.Duration
	Target   float64
}

// Schedule is an arrival-rate schedule as pure math: iteration i (from 0)
// is intended at offset At(i) from the start. With no stages the rate is
// Start for Duration; with stages it ramps along them.
//
// Iteration i is due when the number of arrivals so far, the integral of
// the rate, reaches i:
//
//	rate ^        ____
//	     |  ____/     \        arrivals by t = area under the rate
//	     | /           \___    iteration i at the t where area(t) = i
//	     +-------------------> t
//
// so every iteration has an exact, drift-free time whatever the timer does.
type Schedule struct {
	Start    float64 // iterations per second at t = 0
	Stages   []RateStage
	Duration time.Duration // used only without stages
}

// segment is one linear ramp of the rate.
type segment struct {
	d        time.Duration
	from, to float64
}

// segments lists the schedule as linear ramps.
func (s Schedule) segments() []segment {
	if len(s.Stages) == 0 {
		return []segment{{s.Duration, s.Start, s.Start}}
	}
	out := make([]segment, 0, len(s.Stages))
	from := s.Start
	for _, st := range s.Stages {
		out = append(out, segment{st.Duration, from, st.Target})
		from = st.Target
	}
	return out
}

// Total is the schedule's length.
func (s Schedule) Total() time.Duration {
	var t time.Duration
	for _, g := range s.segments() {
		t += g.d
	}
	return t
}

// Count is how many iterations the schedule holds: those due before its
// end.
func (s Schedule) Count() int64 {
	var area float64
	for _, g := range s.segments() {
		area += (g.from + g.to) / 2 * g.d.Seconds()
	}
	// Iterations 0..n-1 are due at areas 0..n-1 < total area; guard the
	// float sum against landing a hair above a whole number.
	n := int64(math.Ceil(area - 1e-9))
	return max(n, 0)
}

// At returns iteration i's intended offset from the start, and false when
// the schedule ends before it.
func (s Schedule) At(i int64) (time.Duration, bool) {
	if i < 0 {
		return 0, false
	}
	need := float64(i) // arrivals still to pass
	var t time.Duration
	for _, g := range s.segments() {
		d, from, to := g.d, g.from, g.to
		secs := d.Seconds()
		area := (from + to) / 2 * secs
		if need < area {
			// Solve from*x + (to-from)/(2*secs)*x^2 = need for x in the
			// segment, in the form that stays exact when the ramp is flat.
			a := (to - from) / (2 * secs)
			x := 0.0
			if need > 0 {
				x = 2 * need / (from + math.Sqrt(from*from+4*a*need))
			}
			if math.IsNaN(x) || x > secs {
				x = secs
			}
			return t + time.Duration(x*float64(time.Second)), true
		}
		need -= area
		t += d
	}
	return 0, false
}

// MaxRate is the highest rate the schedule reaches.
func (s Schedule) MaxRate() float64 {
	m := 0.0
	for _, g := range s.segments() {
		m = max(m, g.from, g.to)
	}
	return m
}
