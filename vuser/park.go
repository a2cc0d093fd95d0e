package vuser

import (
	"context"
	"sync"
	"time"

	"github.com/sessionload/load/stats"
)

// A VU that thinks holds no goroutine. A goroutine that has logged in
// keeps a 4–8 KiB stack, the most an idle VU would cost (100,000 VUs in
// think time: ~800 MB). So a VU started with Go ends its goroutine when it
// thinks idleAfter or more, and a timer goes on from the next step on a
// new one (time.AfterFunc), as Gatling's VUs are messages on a timer, not
// threads. Short thinks sleep on the goroutine: parking would cost more.
//
// Ownership: exactly one goroutine at a time runs a VU: the one Go
// starts, then, after each park, the one its timer (or Wake) starts.
// runner.mu hands the VU over: a goroutine parks under mu and touches
// the VU no more; the next one takes mu before it touches the VU.

// runner is where a VU started with Go stands, kept across the goroutines
// it runs on.
type runner struct {
	ctx     context.Context
	next    func() (time.Time, bool)
	done    func()
	started bool      // the first login was tried
	it      iteration // the iteration in progress; it.pc < 0: none

	mu     sync.Mutex
	timer  *time.Timer // the think timer (AfterFunc: v.thought), armed while parked
	parked bool
	wakeAt time.Time // when the think parked in ends, for the lag
}

// SetLag makes the VUs of e record in l how late each think they park in
// (one of idleAfter or more) wakes: the generator's own lag, which the
// next request's corrected latency counts. Call it before the first
// NewVU; nil records none.
func (e *Env) SetLag(l *stats.Lag) { e.lag = l }

// beginIteration starts it, due at intended (zero if none), and reports
// whether the VU may run it. Every iteration starts here (Iterate and
// nextIteration). Its first request is due at intended; each later one
// at the end of the request before plus the think drawn (see iteration).
func (v *VU) beginIteration(it *iteration, intended time.Time) bool {
	it.intended, it.next, it.pc, it.frames = intended, intended, 0, it.frames[:0]
	v.lastStatus = 0
	// Test data rows for the iteration are taken here: a source with no
	// row left for the VU ends it (data_exhausted).
	return v.takeData()
}

// Go runs the VU as Run does (log in, iterate while next says so, end the
// session) and returns at once; done is called, on the VU's last
// goroutine, once it has ended. While the VU thinks it holds no goroutine
// (see above), so it waits on no channel: a caller that closes the VU's
// Abort signal then calls Wake to end a think in progress. The Stop
// signal needs no Wake: an iteration finishes, think times included.
func (v *VU) Go(ctx context.Context, next func() (time.Time, bool), done func()) {
	r := &v.run
	r.mu.Lock() // Wake may already be looking
	r.ctx, r.next, r.done, r.started = ctx, next, done, false
	r.it.pc = -1
	r.mu.Unlock()
	go v.proceed(true)
}

// Wake ends at once the think the VU is parked in, if its Abort signal is
// closed; else it does nothing. Any goroutine may call it, any number of
// times.
func (v *VU) Wake() {
	r := &v.run
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.parked || !closed(v.sig.Abort) || !r.timer.Stop() {
		// Not parked, not aborted, or the timer fired: its goroutine goes on.
		return
	}
	r.parked = false
	go v.proceed(false)
}

// thought is the think timer's end: the VU goes on, on this goroutine.
func (v *VU) thought() {
	r := &v.run
	r.mu.Lock()
	parked, wakeAt := r.parked, r.wakeAt
	r.parked = false
	r.mu.Unlock()
	if parked {
		if v.env.lag != nil {
			v.env.lag.Record(time.Since(wakeAt))
		}
		v.proceed(true)
	}
}

// park ends the VU's goroutine for a think of d; the think timer goes on
// after it. It reports false, without parking, if the VU is aborted.
// The caller returns at once when it parked: the VU is no longer its own.
func (v *VU) park(d time.Duration) bool {
	// What sleep lets go of for a long pause.
	v.dropContext()
	v.hdr = nil
	r := &v.run
	r.mu.Lock()
	defer r.mu.Unlock()
	if closed(v.sig.Abort) {
		return false
	}
	if v.env.lag != nil {
		r.wakeAt = time.Now().Add(d)
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(d, v.thought)
	} else {
		r.timer.Reset(d)
	}
	r.parked = true
	return true
}

// proceed runs a VU started with Go from where it stands until it parks or
// ends; thought is false when Wake cut its think short.
func (v *VU) proceed(thought bool) {
	r := &v.run
	if !thought {
		v.endIteration(&r.it) // an aborted think ends the iteration, uncounted (as in Iterate)
	}
	for {
		if r.it.pc < 0 && !v.nextIteration(r) {
			break
		}
		if v.iterate(r.ctx, &r.it, true) {
			return // parked: the VU is the timer's now
		}
	}
	v.End(r.ctx)
	v.Close()
	r.done()
}

// nextIteration logs in (first, or again after a lost session) and takes
// the next iteration; false means the VU is done.
func (v *VU) nextIteration(r *runner) bool {
	if !r.started {
		r.started = true
		if !v.dataLeft() {
			return false // no row could come: no login either (data_exhausted)
		}
		if !v.LoginRetry(r.ctx) {
			return false
		}
	}
	// next owns the stop decision: an iteration it handed out is run,
	// never silently lost.
	intended, ok := r.next()
	if !ok || r.ctx.Err() != nil {
		return false
	}
	if !v.loggedIn && !v.LoginRetry(r.ctx) {
		return false
	}
	return v.beginIteration(&r.it, intended)
}

// closed reports whether c is closed (a nil c never is).
func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
