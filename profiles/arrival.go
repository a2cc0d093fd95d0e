package profiles

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// arrival drives the open model of one shape: arrival i (an iteration,
// or a new user with Sessions) is due at t0 + Rate.At(i) whatever the
// server does, on one reused timer against the absolute schedule, so it
// never drifts; it belongs to scenario mix.At(i) of the shape.
//
// Arrival rate: each scenario has its own pool of logged-in VUs, the
// shape's VU k belonging to scenario mix.At(k) (so preallocated and max
// VUs split by the same exact mix). A due iteration goes through its
// scenario's work channel to an idle VU of that scenario. With none idle
// it waits in the channel's buffer and runs when one frees up, its
// latency measured from the intended start (queue), or is dropped and
// counted (drop); either way one more VU of the scenario is started in
// the background, up to its share of MaxVUs.
//
// Sessions: each arrival is a new user on a goroutine of its own who logs
// in, iterates for Lifetime, then ends the session; each of its
// iterations is due as it asks for it.
type arrival struct {
	*fleet
	sh    *shape
	o     *Open
	pools []*vuPool // by mix index
	slots []*slot   // every VU started (sessions: those that may still run)
	wg    sync.WaitGroup
	// pruneAt is the length of slots at which session arrivals that have
	// left are forgotten, so a long run keeps only the users still in
	// (amortised: the next prune waits for as many again).
	pruneAt int
}

// vuPool is one scenario's VUs in the shape, in this segment.
type vuPool struct {
	sc *scen
	// ids are the shape-local indexes (from 0) of the segment's VUs of
	// the scenario, ascending; the first prealloc log in before the
	// schedule, the others start as needed (arrival rate).
	ids      []int64
	prealloc int
	started  int // of ids
	// cap is how many users of the scenario may be in at once (sessions;
	// 0: no cap).
	cap      int
	work     chan time.Time // intended starts, for idle VUs
	idle     atomic.Int64   // VUs waiting on work
	starting atomic.Int64   // VUs started and still logging in
	warned   bool           // the MaxVUs warning was given
	// loginWarned: the warning that iterations waited for (queue) or
	// were dropped for (drop) VUs still logging in was given.
	loginWarned bool
}

// warnLogins warns, once per pool, that a due iteration found no idle VU
// while the pool was below its max_vus with VUs logging in: what means
// says became of it.
func (x *arrival) warnLogins(p *vuPool, means string) {
	if p.loginWarned || p.starting.Load() == 0 || p.started >= len(p.ids) {
		return
	}
	p.loginWarned = true
	whose := ""
	if len(x.pools) > 1 || len(x.lay.scens) > 1 {
		whose = " of " + p.sc.label
	}
	x.warnf("iterations%s found no idle VU at %s, %d of %d VUs (max_vus) started and some still logging in: they were %s; raise preallocated_vus so VUs are logged in before they are due",
		whose, time.Since(x.t0).Round(time.Millisecond), p.started, len(p.ids), means)
}

// queueCap bounds the iterations waiting for a VU (queue mode), so a dead
// server cannot grow memory without limit; past it iterations are dropped.
const queueCap = 1 << 16

// newArrival lays out the pools of an open shape for this segment (see
// layout.checkSegment, which has checked them).
func newArrival(f *fleet, sh *shape) *arrival {
	x := &arrival{fleet: f, sh: sh, o: sh.load.Open}
	seg := f.opts.Segment
	for _, sc := range sh.scens {
		p := &vuPool{sc: sc}
		if !x.o.Sessions {
			if x.o.Drop {
				p.work = make(chan time.Time)
			} else {
				p.work = make(chan time.Time, queueCap)
			}
		}
		x.pools = append(x.pools, p)
	}
	if x.o.Sessions {
		if x.o.MaxVUs > 0 {
			for k := int64(seg.Index); k < int64(x.o.MaxVUs); k += int64(max(seg.Count, 1)) {
				x.pools[sh.mix.At(k)].cap++
			}
			for _, p := range x.pools {
				p.cap = max(p.cap, 1) // a scenario with arrivals here has room for one
			}
		}
		sh.target.Store(seg.Share(int64(x.o.MaxVUs)))
		return x
	}
	n := int64(max(x.o.MaxVUs, x.o.PreallocatedVUs))
	for k := int64(seg.Index); k < n; k += int64(max(seg.Count, 1)) {
		p := x.pools[sh.mix.At(k)]
		p.ids = append(p.ids, k)
		if k < int64(x.o.PreallocatedVUs) {
			p.prealloc++
		}
	}
	total := 0
	for _, p := range x.pools {
		total += len(p.ids)
	}
	sh.target.Store(int64(total))
	return x
}

// checkSegment checks that in segment seg every open shape has a VU for
// each scenario that has arrivals there: the VUs and the arrivals are
// both striped by global index, and a small max_vus split by weights and
// segments can leave a scenario none.
func (lay *layout) checkSegment(seg Segment) error {
	step := int64(max(seg.Count, 1))
	for _, sh := range lay.shapes {
		o := sh.load.Open
		if o == nil || o.Sessions {
			continue
		}
		n := int64(max(o.MaxVUs, o.PreallocatedVUs))
		arrivals := o.Rate.Count()
		has := make([]bool, len(sh.scens))
		for k := int64(seg.Index); k < n; k += step {
			has[sh.mix.At(k)] = true
		}
		// The stripe's scenarios repeat within one period of the mix.
		for j, i := int64(0), int64(seg.Index); j < sh.mix.Period() && i < arrivals; j, i = j+1, i+step {
			s := sh.mix.At(i)
			if has[s] {
				continue
			}
			need := int64(seg.Index)
			for sh.mix.At(need) != s {
				need += step
			}
			what := "the VUs"
			if len(sh.scens) > 1 {
				what = "the VUs split by the weights"
			}
			where := ""
			if !seg.Whole() {
				where = " of segment " + seg.String()
			}
			return fmt.Errorf("%s: %d VUs (max_vus): %s leave the arrivals of %s%s no VU; expected max_vus of at least %d",
				sh.what, n, what, sh.scens[s].label, where, need+1)
		}
	}
	return nil
}

func (x *arrival) run(ctx, hard context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	sched, seg := x.o.Rate, x.opts.Segment
	for j := int64(0); ctx.Err() == nil; j++ {
		i := seg.GlobalIteration(j) // this segment's stripe of the schedule
		at, ok := sched.At(i)
		if !ok {
			// Wait out the schedule's tail before stopping.
			at = sched.Total()
		}
		due := x.t0.Add(at)
		for wait := time.Until(due); wait > 0 && ctx.Err() == nil; wait = time.Until(due) {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
			}
		}
		if !ok || ctx.Err() != nil {
			break
		}
		x.lag.Record(time.Since(due))
		p := x.pools[x.sh.mix.At(i)]
		if x.o.Sessions {
			x.arrive(hard, p, i, due)
		} else {
			x.dispatch(hard, p, due)
		}
	}
	x.sh.target.Store(0)
	x.sh.ended.Store(true)
	x.stopAll(x.slots, &x.wg, ctx.Err() != nil)
	x.drain()
}

func (x *arrival) finish() {
	x.sh.ended.Store(true)
	x.stopAll(x.slots, &x.wg, true)
	x.drain()
}

// drain counts the iterations still queued once every VU is gone as
// dropped: they never started. (Draining before would race the VUs for
// them.) stopAll waited for every VU, so no one else receives from work.
func (x *arrival) drain() {
	for _, p := range x.pools {
		for len(p.work) > 0 {
			<-p.work
			x.rec.Dropped(0)
		}
	}
}

// keepLive keeps the slots whose VU may still run.
func keepLive(slots []*slot) []*slot {
	out := slots[:0]
	for _, s := range slots {
		if s.live.Load() {
			out = append(out, s)
		}
	}
	clear(slots[len(out):])
	return out
}

// prealloc starts the preallocated VUs and returns how many.
func (x *arrival) prealloc(hard context.Context) int {
	n := 0
	for _, p := range x.pools {
		for range p.prealloc {
			if x.grow(hard, p) {
				n++
			}
		}
	}
	return n
}

// startingVUs is how many VUs are logging in for the first time.
func (x *arrival) startingVUs() int64 {
	n := int64(0)
	for _, p := range x.pools {
		n += p.starting.Load()
	}
	return n
}

// grow starts one more VU of p's scenario, if its share of the cap allows.
func (x *arrival) grow(hard context.Context, p *vuPool) bool {
	if p.started >= len(p.ids) {
		if !p.warned {
			p.warned = true
			what := "queued and run late (corrected latency counts from their intended start)"
			if x.o.Drop {
				what = "dropped (iterations.dropped)"
			}
			whose := fmt.Sprintf("all %d VUs (max_vus)", len(p.ids))
			if len(x.pools) > 1 || len(x.lay.scens) > 1 {
				whose = fmt.Sprintf("all %d VUs of %s (its share of max_vus)", len(p.ids), p.sc.label)
			}
			x.warnf("%s were busy at %s: iterations were %s", whose, time.Since(x.t0).Round(time.Millisecond), what)
		}
		return false
	}
	s := x.sh.newSlot(p.ids[p.started], &x.wg)
	p.started++
	x.slots = append(x.slots, s)
	p.starting.Add(1)
	first := true
	x.start(hard, s, func(stop <-chan struct{}) (time.Time, bool) {
		if first {
			first = false
			p.starting.Add(-1) // logged in: the VU asks for work
		}
		p.idle.Add(1)
		defer p.idle.Add(-1)
		select {
		case due := <-p.work:
			return due, true
		case <-stop:
			return time.Time{}, false
		}
	})
	return true
}

// dispatch hands one due iteration to an idle VU of p, or queues or drops
// it.
func (x *arrival) dispatch(hard context.Context, p *vuPool, due time.Time) {
	if x.o.Drop {
		select {
		case p.work <- due:
			return
		default:
		}
		x.rec.Dropped(0)
		x.warnLogins(p, "dropped below max_vus (iterations.dropped)")
		if p.starting.Load() == 0 {
			x.grow(hard, p)
		}
		return
	}
	select {
	case p.work <- due:
		if int64(len(p.work)) > p.idle.Load() {
			x.warnLogins(p, "queued behind the new VUs' logins (their corrected latency counts the wait)")
		}
	default:
		x.rec.Dropped(0) // the queue is full
	}
	// More waiting than VUs about to free up or log in: add one.
	if int64(len(p.work)) > p.idle.Load()+p.starting.Load() {
		x.grow(hard, p)
	}
}

// arrive starts user i (of p's scenario), who logs in, works for
// Lifetime, then ends.
func (x *arrival) arrive(hard context.Context, p *vuPool, i int64, due time.Time) {
	if p.cap > 0 && p.sc.running.Load() >= int64(p.cap) {
		x.rec.Dropped(0)
		if !p.warned {
			p.warned = true
			whose := fmt.Sprintf("%d users at once (max_vus)", p.cap)
			if len(x.pools) > 1 || len(x.lay.scens) > 1 {
				whose = fmt.Sprintf("%d users of %s at once (its share of max_vus)", p.cap, p.sc.label)
			}
			x.warnf("%s at %s: later arrivals were dropped (iterations.dropped)", whose, time.Since(x.t0).Round(time.Millisecond))
		}
		return
	}
	s := x.sh.newSlot(i, &x.wg)
	if len(x.slots) >= x.pruneAt {
		x.slots = keepLive(x.slots)
		x.pruneAt = 2*len(x.slots) + 1024
	}
	x.slots = append(x.slots, s)
	leave := due.Add(x.o.Lifetime)
	x.start(hard, s, func(stop <-chan struct{}) (time.Time, bool) {
		// Each iteration is due when the user is ready for it: logged
		// in, or done with the one before (the user's own late arrival
		// is the generator's lag, recorded at dispatch). Its requests
		// then each have an intended start (vuser), so a think that
		// wakes late counts in the next request's corrected latency.
		now := time.Now()
		return now, !isClosed(stop) && now.Before(leave)
	})
}
