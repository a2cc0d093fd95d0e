package profiles

import (
	"fmt"
	"math/bits"
	"time"
)

// HoldTarget as a Stage's Target holds the previous stage's target, as a
// stage written without a target does. The plan loader resolves such
// stages to the held value, so a loaded Plan has no HoldTarget; a Go
// program building a Load may use it.
const HoldTarget = -1

// Total is the whole planned duration: the sum of the stages, or Duration
// when there are none. Graceful stop is not part of it.
func (l Load) Total() time.Duration {
	if l.Open != nil {
		return l.Open.Rate.Total()
	}
	if len(l.Stages) == 0 {
		return l.Duration
	}
	var t time.Duration
	for _, s := range l.Stages {
		t += s.Duration
	}
	return t
}

// VUsAt is the target VU count at offset t from the start.
//
// Each stage ramps linearly from the previous stage's target (0 before the
// first stage) to its own; a stage with Target < 0 holds the previous one.
// Like k6, the change is rounded toward the previous target: a VU starts
// (or stops) only once its whole share of the ramp has elapsed.
//
//	target
//	  10 |        ________
//	     |      /         \
//	     |    /             \
//	   0 |__/_________________\___ t
//	      0   10s     20s     30s
//	      [0,10s) ramps up, [10s,20s) holds, [20s,30s) ramps down
//
// Intervals are half-open: at a stage's end the count is its target, and
// at Total() and after it is 0. Without stages it is VUs in [0, Duration).
func (l Load) VUsAt(t time.Duration) int {
	if t < 0 {
		return 0
	}
	if len(l.Stages) == 0 {
		if t < l.Duration {
			return l.VUs
		}
		return 0
	}
	from, start := 0, time.Duration(0)
	for _, s := range l.Stages {
		to := s.Target
		if to < 0 {
			to = from
		}
		end := start + s.Duration
		if t < end {
			return ramp(from, to, t-start, s.Duration)
		}
		from, start = to, end
	}
	return 0
}

// ramp is from + (to-from)*elapsed/d, the product in 128 bits so long
// stages of many VUs cannot overflow, truncated toward from.
// It needs 0 <= elapsed < d.
func ramp(from, to int, elapsed, d time.Duration) int {
	diff := to - from
	neg := diff < 0
	if neg {
		diff = -diff
	}
	hi, lo := bits.Mul64(uint64(diff), uint64(elapsed))
	q, _ := bits.Div64(hi, lo, uint64(d)) // hi < d since elapsed < d
	if neg {
		return from - int(q)
	}
	return from + int(q)
}

// MaxVUs is the largest VU count the load reaches: the VUs a run must be
// able to start (and the rows a users CSV must have).
//
// In the open model it is the VU cap; for session arrivals without a cap,
// the arrivals of the whole schedule (each a new user).
func (l Load) MaxVUs() int {
	if o := l.Open; o != nil {
		switch {
		case o.MaxVUs > 0:
			return max(o.MaxVUs, o.PreallocatedVUs)
		case o.Sessions:
			return int(min(o.Rate.Count(), 1<<30))
		default:
			return o.PreallocatedVUs
		}
	}
	if len(l.Stages) == 0 {
		return max(l.VUs, 0)
	}
	peak, cur := 0, 0
	for _, s := range l.Stages {
		if s.Target >= 0 {
			cur = s.Target
		}
		peak = max(peak, cur)
	}
	return peak
}

// scaled returns the stages stretched or shrunk to last total in all,
// keeping their proportions; the last stage takes the rounding.
func scaled(stages []Stage, total time.Duration) []Stage {
	return scaledStages(stages, total, func(s *Stage) *time.Duration { return &s.Duration })
}

// scaledRates is scaled for stages of arrival rates.
func scaledRates(stages []RateStage, total time.Duration) []RateStage {
	return scaledStages(stages, total, func(s *RateStage) *time.Duration { return &s.Duration })
}

// scaledStages returns a copy of stages whose durations, reached through
// dur, are stretched or shrunk to sum to total, keeping their proportions;
// the last stage takes the rounding.
func scaledStages[S any](stages []S, total time.Duration, dur func(*S) *time.Duration) []S {
	out := make([]S, len(stages))
	copy(out, stages)
	var was time.Duration
	for i := range out {
		was += *dur(&out[i])
	}
	if was <= 0 || len(out) == 0 {
		return out
	}
	var sum time.Duration
	for i := range out[:len(out)-1] {
		d := dur(&out[i])
		hi, lo := bits.Mul64(uint64(*d), uint64(total))
		q, _ := bits.Div64(hi, lo, uint64(was)) // stage <= was, so q <= total
		*d = time.Duration(q)
		sum += *d
	}
	*dur(&out[len(out)-1]) = total - sum
	return out
}

// checkWarmup checks that a warm-up leaves some of the load to measure.
func (l Load) checkWarmup(w time.Duration) error {
	switch {
	case w < 0:
		return fmt.Errorf("warm-up %s: expected a positive duration", w)
	case w > 0 && w >= l.Total():
		return fmt.Errorf("warm-up %s: expected less than the load's %s (the warm-up is the first part of the schedule)", w, l.Total())
	}
	return nil
}

// SetWarmup sets the plan's warm-up (--warmup), which must be shorter than
// its load; on error the plan is unchanged.
func (p *Plan) SetWarmup(w time.Duration) error {
	if err := p.Load.checkWarmup(w); err != nil {
		return fmt.Errorf("--warmup: %w", err)
	}
	p.Warmup = w
	return nil
}
