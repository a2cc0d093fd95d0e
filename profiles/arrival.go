package profiles

import (
	"context"
	"sync/atomic"
	"time"
)

// arrival drives the open model: iteration i (or user i, with Sessions)
// is due at t0 + Rate.At(i) whatever the server does, on one reused timer
// against the absolute schedule, so it never drifts.
//
// Arrival rate: due iterations go through work to idle, logged-in VUs.
// With none idle the iteration waits in work's buffer and runs when a VU
// frees up, its latency measured from the intended start (queue), or is
// dropped and counted (drop); either way one more VU is started in the
// background, up to MaxVUs.
//
// Sessions: each arrival is a new user on a goroutine of its own who logs
// in, iterates for Lifetime, then ends the session.
type arrival struct {
	*fleet
	o        *Open
	work     chan time.Time // intended starts, for idle VUs
	idle     atomic.Int64   // VUs waiting on work
	starting atomic.Int64   // VUs started and still logging in
	warned   bool           // the MaxVUs warning was given
}

// queueCap bounds the iterations waiting for a VU (queue mode), so a dead
// server cannot grow memory without limit; past it iterations are dropped.
const queueCap = 1 << 16

func (x *arrival) run(ctx context.Context) {
	hard, cancelAll := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAll()
	x.t0 = time.Now()
	x.next = x.t0.Add(x.opts.Interval)
	if !x.o.Sessions {
		if x.o.Drop {
			x.work = make(chan time.Time)
		} else {
			x.work = make(chan time.Time, queueCap)
		}
		x.prealloc(ctx, hard)
	}
	if !x.begin(ctx) {
		x.finish(true, 0)
		return
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	tick := time.NewTicker(x.opts.Interval)
	defer tick.Stop()
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
			case <-tick.C:
				timer.Stop()
				x.reap(time.Now())
				x.report(time.Now(), x.o.MaxVUs, "", false)
			case <-ctx.Done():
				timer.Stop()
			}
		}
		if !ok || ctx.Err() != nil {
			break
		}
		x.lag.Record(time.Since(due))
		if x.o.Sessions {
			x.arrive(hard, i, due)
		} else {
			x.dispatch(hard, due)
		}
		x.report(time.Now(), x.o.MaxVUs, "", false)
	}
	x.finish(ctx.Err() != nil, 0)
	// Iterations still queued once every VU is gone never started: they
	// count as dropped. (Draining before would race the VUs for them.)
	// finish waited for every VU, so no one else receives from work now.
	for len(x.work) > 0 {
		<-x.work
		x.rec.Dropped(0)
	}
}

// prealloc starts the preallocated VUs and waits (up to a minute) until
// they are logged in, so the schedule does not start on a cold pool.
func (x *arrival) prealloc(ctx context.Context, hard context.Context) {
	from := time.Now()
	defer func() { x.setup = time.Since(from) }()
	n := x.share(x.o.PreallocatedVUs)
	for range n {
		x.grow(hard)
	}
	limit := time.Now().Add(time.Minute)
	tick := time.NewTicker(x.opts.Tick)
	defer tick.Stop()
	for x.starting.Load() > 0 && ctx.Err() == nil && time.Now().Before(limit) {
		select {
		case <-tick.C:
			x.report(time.Now(), n, "logging in", false)
		case <-ctx.Done():
		}
	}
	if s := x.starting.Load(); s > 0 && ctx.Err() == nil {
		x.warnf("%d of %d preallocated VUs were not logged in after a minute; the schedule started anyway", s, n)
	}
}

// grow starts one more VU for the arrival rate, if the cap allows.
func (x *arrival) grow(hard context.Context) bool {
	if len(x.slots) >= x.share(x.o.MaxVUs) {
		if !x.warned {
			x.warned = true
			what := "queued and run late (corrected latency counts from their intended start)"
			if x.o.Drop {
				what = "dropped (iterations.dropped)"
			}
			x.warnf("all %d VUs (max_vus) were busy at %s: iterations were %s", x.share(x.o.MaxVUs), time.Since(x.t0).Round(time.Millisecond), what)
		}
		return false
	}
	s := &slot{id: x.opts.Segment.GlobalVU(len(x.slots) + 1)}
	x.slots = append(x.slots, s)
	x.starting.Add(1)
	first := true
	x.start(hard, s, func(stop <-chan struct{}) (time.Time, bool) {
		if first {
			first = false
			x.starting.Add(-1) // logged in: the VU asks for work
		}
		x.idle.Add(1)
		defer x.idle.Add(-1)
		select {
		case due := <-x.work:
			return due, true
		case <-stop:
			return time.Time{}, false
		}
	})
	return true
}

// dispatch hands one due iteration to an idle VU, or queues or drops it.
func (x *arrival) dispatch(hard context.Context, due time.Time) {
	if x.o.Drop {
		select {
		case x.work <- due:
			return
		default:
		}
		x.rec.Dropped(0)
		if x.starting.Load() == 0 {
			x.grow(hard)
		}
		return
	}
	select {
	case x.work <- due:
	default:
		x.rec.Dropped(0) // the queue is full
	}
	// More waiting than VUs about to free up or log in: add one.
	if int64(len(x.work)) > x.idle.Load()+x.starting.Load() {
		x.grow(hard)
	}
}

// arrive starts user i, who logs in, works for Lifetime, then ends.
func (x *arrival) arrive(hard context.Context, i int64, due time.Time) {
	if x.o.MaxVUs > 0 && int(x.running.Load()) >= x.share(x.o.MaxVUs) {
		x.rec.Dropped(0)
		if !x.warned {
			x.warned = true
			x.warnf("%d users at once (max_vus) at %s: later arrivals were dropped (iterations.dropped)", x.share(x.o.MaxVUs), time.Since(x.t0).Round(time.Millisecond))
		}
		return
	}
	id := int(i) + 1
	if n := x.plan.Scenarios[0].Users.Len(); n > 0 {
		id = int(i%int64(n)) + 1 // users come back once the list is used up
	}
	s := &slot{id: id}
	x.slots = append(x.slots, s)
	leave := due.Add(x.o.Lifetime)
	x.start(hard, s, func(stop <-chan struct{}) (time.Time, bool) {
		return time.Time{}, !isClosed(stop) && time.Now().Before(leave)
	})
}

// share is this segment's part of a VU count: its fair split, but at
// least one VU when the whole has any, since the segment has iterations.
func (x *arrival) share(n int) int {
	if n <= 0 {
		return 0
	}
	return max(int(x.opts.Segment.Share(int64(n))), 1)
}
