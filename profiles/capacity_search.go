package profiles

import (
	"context"
	"fmt"
	"slices"

	"github.com/sessionload/load/stats"
)

// stepRunner runs one step of the search at n sessions (phase says why:
// step, retry, bisect, confirm) and returns its judged figures.
type stepRunner func(ctx context.Context, n int, phase string) (stats.CapacityStep, error)

// searchPlan is what the search's decisions depend on.
type searchPlan struct {
	start, step, max, refine int
	// users is how many distinct users the plan has (0: unlimited).
	users int
	// capLimit is the session cap in force during the search (0: none or
	// unknown): a step refused sessions at the cap proves every step
	// above it breaks.
	capLimit int
}

// search runs the steps: up from start by step until a step breaks
// twice in a row (a step that breaks is retried once), bisects between
// the last pass and the first confirmed break down to refine sessions,
// and confirms the knee: the knee is the highest step that passed twice.
// A step that passed above one that broke is reported as non-monotonic.
func search(ctx context.Context, sp searchPlan, run stepRunner) (*stats.Capacity, error) {
	res := &stats.Capacity{ConfiguredCap: -1, SweepS: -1}
	passes := map[int]int{}
	verdict := map[int]bool{}                 // the final verdict of a step's latest attempt
	lastBreak := map[int]stats.CapacityStep{} // the latest failed run of each step
	one := func(n int, phase string) (stats.CapacityStep, error) {
		st, err := run(ctx, n, phase)
		if err != nil {
			return st, err
		}
		st.Sessions, st.Phase = n, phase
		res.Steps = append(res.Steps, st)
		if st.OK {
			passes[n]++
		} else {
			lastBreak[n] = st
		}
		return st, nil
	}
	// attempt runs n, and once more if it broke; it reports the verdict.
	attempt := func(n int, phase string) (bool, error) {
		st, err := one(n, phase)
		if err != nil {
			return false, err
		}
		if !st.OK && ctx.Err() == nil {
			again, err := one(n, "retry")
			if err != nil {
				return false, err
			}
			if again.OK {
				res.Notes = append(res.Notes, fmt.Sprintf("step %d broke (%s) and passed on its retry", n, st.Why))
			}
			st = again
		}
		verdict[n] = st.OK
		return st.OK, nil
	}
	lo, hi := 0, 0 // the highest pass and the lowest confirmed break
	usersOut := false
	for n := sp.start; n <= sp.max && ctx.Err() == nil; n += sp.step {
		if sp.users > 0 && n > sp.users {
			usersOut = true
			res.Notes = append(res.Notes, fmt.Sprintf("the plan's users run out at %d sessions: the search stops there", sp.users))
			break
		}
		ok, err := attempt(n, "step")
		if err != nil {
			return res, err
		}
		if !ok {
			hi = n
			break
		}
		lo = n
	}
	if hi > 0 {
		// A step refused sessions with the server holding its cap: every
		// step above the cap is refused too, so bisect below cap + 1 only.
		if b := lastBreak[hi]; b.Signal == SignalCap && sp.capLimit > 0 && b.ServerActive >= int64(sp.capLimit) && sp.capLimit >= lo && sp.capLimit+1 < hi {
			res.Notes = append(res.Notes, fmt.Sprintf("step %d was refused sessions at the cap of %d: every step above %d breaks, the search looks below %d only",
				hi, sp.capLimit, sp.capLimit, sp.capLimit+1))
			hi = sp.capLimit + 1
			verdict[hi] = false
		}
		for hi-lo > sp.refine && ctx.Err() == nil {
			mid := (lo + hi) / 2
			ok, err := attempt(mid, "bisect")
			if err != nil {
				return res, err
			}
			if ok {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	// The knee: the highest step that passed twice; a step that passed
	// once is run again to confirm it.
	var cands []int
	for n, k := range passes {
		if k > 0 {
			cands = append(cands, n)
		}
	}
	slices.Sort(cands)
	slices.Reverse(cands)
	for _, n := range cands {
		if ctx.Err() != nil {
			break
		}
		if passes[n] < 2 {
			st, err := one(n, "confirm")
			if err != nil {
				return res, err
			}
			if !st.OK {
				again, err := one(n, "retry")
				if err != nil {
					return res, err
				}
				if !again.OK {
					verdict[n] = false
					res.Notes = append(res.Notes, fmt.Sprintf("step %d passed once, then broke twice (%s): not the knee", n, again.Why))
					continue
				}
			}
		}
		res.Knee = n
		res.KneeWhy = fmt.Sprintf("the highest step that passed twice (%d passes)", passes[n])
		break
	}
	// Steps that passed above a step that broke.
	broken := map[int]bool{}
	for _, s := range res.Steps {
		if !s.OK {
			broken[s.Sessions] = true
		}
	}
	var bs []int
	for n := range broken {
		bs = append(bs, n)
	}
	slices.Sort(bs)
	for _, m := range bs {
		for _, s := range res.Steps {
			if s.OK && s.Sessions > m {
				res.NonMonotonic = append(res.NonMonotonic, fmt.Sprintf("step %d passed above step %d, which broke (%s): the results are not monotonic (a cold server, a GC, or noise)",
					s.Sessions, m, lastBreak[m].Why))
				break
			}
		}
	}
	// The binding limit: the lowest step above the knee that stayed broken.
	bind := 0
	for n, ok := range verdict {
		if !ok && n > res.Knee && (bind == 0 || n < bind) {
			if _, ran := lastBreak[n]; ran {
				bind = n
			}
		}
	}
	switch {
	case bind > 0:
		b := lastBreak[bind]
		res.Binding = b.Signal
		res.BindingWhy = append(res.BindingWhy, fmt.Sprintf("step %d broke: %s", bind, b.Why))
	case ctx.Err() != nil:
		res.Notes = append(res.Notes, "interrupted: the search did not finish")
	case usersOut:
		res.Binding = SignalUsers
		res.BindingWhy = append(res.BindingWhy, fmt.Sprintf("the plan has %d users: give more to search further", sp.users))
	}
	return res, nil
}

// stepAt is the latest run of step n that had verdict ok, or nil.
func stepAt(r *stats.Capacity, n int, ok bool) *stats.CapacityStep {
	for i := len(r.Steps) - 1; i >= 0; i-- {
		if s := &r.Steps[i]; s.Sessions == n && s.OK == ok {
			return s
		}
	}
	return nil
}
