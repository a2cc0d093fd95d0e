package profiles

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// RunOptions are the knobs of one run that are not in the plan.
type RunOptions struct {
	// Interval is the period of the progress snapshots. Default 1s.
	Interval time.Duration
	// OnInterval gets each snapshot; it runs on the executor's goroutine
	// and must return quickly.
	OnInterval func(Progress)
	// Tick is how often the executor adjusts the VU count. Default 50ms.
	Tick time.Duration
}

// Progress is the live state of a run, once per interval.
type Progress struct {
	Elapsed  time.Duration
	Total    time.Duration
	VUs      int // VUs running (logging in, iterating or stopping)
	Target   int // VUs the load shape asks for now
	Interval stats.Interval
	Sessions stats.SessionCounts
}

// Run runs the plan's closed-model load and returns its results.
// Cancelling ctx stops the run early: VUs stop waiting, finish the
// request in flight and end their sessions within the graceful-stop
// limit; the results of what ran are returned all the same.
func Run(ctx context.Context, p *Plan, o RunOptions) (*stats.Results, error) {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Tick <= 0 {
		o.Tick = 50 * time.Millisecond
	}
	if p.Load.GracefulStop <= 0 {
		p.Load.GracefulStop = 30 * time.Second
	}
	if n := p.Users.Len(); n > 0 && p.Load.MaxVUs() > n {
		return nil, fmt.Errorf("load needs %d VUs but there are only %d users", p.Load.MaxVUs(), n)
	}
	pl := pool.New(p.Pool)
	defer pl.Close()
	rec := stats.NewRecorder(stats.Options{})
	sessions := stats.NewSessions()
	env, err := vuser.NewEnv(p.Script, pl.Transport(), rec, sessions)
	if err != nil {
		return nil, err
	}
	x := &closed{plan: p, env: env, rec: rec, sessions: sessions, opts: o}
	started := time.Now()
	x.run(ctx)
	ended := time.Now()

	res, err := rec.Result(ended.Sub(started))
	if err != nil {
		return nil, err
	}
	res.Plan = p.Name
	res.Started, res.Ended = started, ended
	res.DurationS = ended.Sub(started).Seconds()
	res.VUs.Max = x.maxVUs
	res.Sessions = sessions.Counts()
	res.Connections.Dials = pl.Stats().Dials
	if p.Pool.InsecureSkipVerify {
		res.Warnings = append(res.Warnings, "TLS certificate verification was off (http.insecure_skip_verify)")
	}
	if ctx.Err() != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("run interrupted after %s of %s", ended.Sub(started).Round(time.Second), p.Load.Total()))
	}
	return res, nil
}

// closed drives VUs along the plan's stages (closed model).
//
// Only the run goroutine touches slots and maxVUs; each VU goroutine
// touches only its own VU. A slot's flags are set by the run goroutine and
// read by its VU goroutine through atomics and channels.
type closed struct {
	plan     *Plan
	env      *vuser.Env
	rec      *stats.Recorder
	sessions *stats.Sessions
	opts     RunOptions

	slots   []*slot // index = VU id - 1
	running atomic.Int64
	maxVUs  int
	wg      sync.WaitGroup
}

// slot is one VU id's life: at most one goroutine per id at a time, so a
// user is never logged in twice.
type slot struct {
	id       int
	live     atomic.Bool   // a goroutine runs this id (until it returns)
	stopping bool          // told to stop (run goroutine only)
	stop     chan struct{} // closed: finish the current iteration, then end
	done     chan struct{} // closed: stop waiting (think times too)
	cancel   context.CancelFunc
	deadline time.Time // when a stopping VU is cancelled
}

func (x *closed) run(ctx context.Context) {
	hard, cancelAll := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAll()
	t0 := time.Now()
	total := x.plan.Load.Total()
	tick := time.NewTicker(x.opts.Tick)
	defer tick.Stop()
	nextReport := t0.Add(x.opts.Interval)
	for {
		now := time.Now()
		elapsed := now.Sub(t0)
		if ctx.Err() != nil || elapsed >= total {
			break
		}
		target := x.plan.Load.VUsAt(elapsed)
		x.adjust(hard, target, now)
		if !now.Before(nextReport) {
			x.report(elapsed, total, target)
			nextReport = nextReport.Add(x.opts.Interval)
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	// Stop everyone. Interrupted: stop waiting at once. Otherwise let each
	// VU finish its iteration within the graceful-stop limit.
	interrupted := ctx.Err() != nil
	deadline := time.Now().Add(x.plan.Load.GracefulStop)
	for _, s := range x.slots {
		if s.live.Load() && !s.stopping {
			s.stopping = true
			close(s.stop)
			s.deadline = deadline
		}
		if interrupted {
			s.abort(false)
		}
	}
	allDone := make(chan struct{})
	go func() { x.wg.Wait(); close(allDone) }()
	for {
		select {
		case <-allDone:
			x.report(time.Since(t0), total, 0)
			return
		case <-tick.C:
			now := time.Now()
			x.reap(now)
			if !now.Before(nextReport) {
				x.report(now.Sub(t0), total, 0)
				nextReport = nextReport.Add(x.opts.Interval)
			}
		}
	}
}

// abort makes a VU stop waiting; with hard, it also cancels its request.
func (s *slot) abort(hard bool) {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	if hard {
		s.cancel()
	}
}

// reap cancels the VUs whose graceful stop has run out.
func (x *closed) reap(now time.Time) {
	for _, s := range x.slots {
		if s.stopping && s.live.Load() && now.After(s.deadline) {
			s.abort(true)
		}
	}
}

// adjust starts or stops VUs to reach target. New VUs take the lowest
// free id; ramping down stops the highest ids first (last in, first out).
func (x *closed) adjust(hard context.Context, target int, now time.Time) {
	x.reap(now)
	active := 0
	for _, s := range x.slots {
		if s.live.Load() && !s.stopping {
			active++
		}
	}
	for i := len(x.slots) - 1; i >= 0 && active > target; i-- {
		s := x.slots[i]
		if s.live.Load() && !s.stopping {
			s.stopping = true
			close(s.stop)
			s.deadline = now.Add(x.plan.Load.GracefulStop)
			active--
		}
	}
	for i := 0; active < target; i++ {
		if i == len(x.slots) {
			x.slots = append(x.slots, &slot{id: i + 1})
		}
		s := x.slots[i]
		if s.live.Load() {
			continue
		}
		x.start(hard, s)
		active++
	}
	if n := int(x.running.Load()); n > x.maxVUs {
		x.maxVUs = n
	}
}

func (x *closed) start(hard context.Context, s *slot) {
	ctx, cancel := context.WithCancel(hard)
	s.cancel, s.stopping = cancel, false
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.live.Store(true)
	x.running.Add(1)
	x.wg.Add(1)
	var ident vuser.Identity
	if x.plan.Users != nil {
		ident = x.plan.Users.Identity(s.id)
	}
	vu := x.env.NewVU(s.id, ident, vuser.Signals{Stop: s.stop, Abort: s.done})
	go func() {
		defer x.wg.Done()
		defer x.running.Add(-1)
		defer s.live.Store(false)
		defer cancel()
		vu.Run(ctx, func() (time.Time, bool) { return time.Time{}, true })
	}()
}

func (x *closed) report(elapsed, total time.Duration, target int) {
	iv := x.rec.Snapshot()
	if x.opts.OnInterval == nil {
		return
	}
	x.opts.OnInterval(Progress{
		Elapsed:  elapsed,
		Total:    total,
		VUs:      int(x.running.Load()),
		Target:   target,
		Interval: iv,
		Sessions: x.sessions.Counts(),
	})
}
