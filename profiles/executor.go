package profiles

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/server"
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
	// Tick is how often the closed model adjusts the VU count. Default 50ms.
	Tick time.Duration
	// Seed repeats a run's think times; zero picks one (results.json has it).
	Seed uint64
	// LagLimit is the schedule-lag p99 past which the results warn that
	// the generator itself was late. Default 10ms.
	LagLimit time.Duration
	// Logf, if set, gets warnings as they happen (they are in the
	// results' warnings too).
	Logf func(format string, args ...any)
	// Stats configures the run's recorder (sinks: .hlog, Prometheus);
	// Run sets its Gauges.
	Stats stats.Options
	// Segment is this process's share of a test split across processes;
	// the zero Segment runs the whole test.
	Segment Segment
	// StartAt, if set, is the instant the schedule starts (VUs of the
	// open model log in before it), so segments start together.
	StartAt time.Time
	// Debug, if set, gets every exchange of VU DebugVU (global id, default
	// 1), login included, with secrets hashed; see vuser.Env.SetDebug.
	Debug   io.Writer
	DebugVU int
}

// Progress is the live state of a run, once per interval.
type Progress struct {
	Elapsed  time.Duration
	Total    time.Duration
	VUs      int // VUs running (logging in, iterating or stopping)
	Target   int // VUs the load shape asks for now (open model: the cap)
	Interval stats.Interval
	Sessions stats.SessionCounts
	// Phase is "" while the schedule runs, else what the run is doing
	// ("logging in", "stopping").
	Phase string
	// Server is the latest poll of the server's own figures (plan key
	// server:), or nil.
	Server *stats.ServerSample
}

// Run runs the plan and returns its results. Cancelling ctx stops the run
// early: VUs stop waiting, finish the request in flight and end their
// sessions within the graceful-stop limit; the results of what ran are
// returned all the same.
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
	if n := p.Scenarios[0].Users.Len(); n > 0 && p.Load.MaxVUs() > n && (p.Load.Open == nil || !p.Load.Open.Sessions) {
		return nil, fmt.Errorf("load needs %d VUs but there are only %d users", p.Load.MaxVUs(), n)
	}
	if o.Seed != 0 {
		p.Scenarios[0].Script.Seed = o.Seed // TODO(#19): never write the caller's plan
	}
	if err := p.Load.checkWarmup(p.Warmup); err != nil {
		return nil, err
	}
	// The run's own context: a threshold with abort_on_fail ends it early.
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	pl := pool.New(p.Pool)
	defer pl.Close()
	f := &fleet{
		abort:    abort,
		plan:     p,
		sessions: stats.NewSessions(),
		lag:      stats.NewLag(),
		opts:     o,
		launch:   launcher{max: maxLaunching},
	}
	so := o.Stats
	so.Gauges = func() stats.Gauges { return stats.Gauges{VUs: int(f.running.Load()), Sessions: f.sessions.Counts()} }
	so.AwaitBegin = true // the window is the schedule's: see fleet.begin
	f.rec = stats.NewRecorder(so)
	env, err := vuser.NewEnv(p.RunScripts(o.Segment)[0], vuser.PoolTransport(pl, nil), f.rec, f.sessions) // the run's own data cursors (data.go)
	if err != nil {
		return nil, err
	}
	f.env = env
	if o.Debug != nil {
		env.SetDebug(max(o.DebugVU, 1), o.Debug)
	}
	var stopPoll func() *stats.ServerResult
	if p.Server != nil {
		stopPoll, err = f.pollServer(ctx, *p.Server)
		if err != nil {
			return nil, err
		}
	}
	probe := stats.StartProbe()
	if p.Load.Open != nil {
		(&arrival{fleet: f, o: p.Load.Open}).run(ctx)
	} else {
		(&closedModel{fleet: f}).run(ctx)
	}
	ended := time.Now()

	gen := probe.Stop(f.lag, stats.GeneratorLimits{LagP99: o.LagLimit})
	gen.Seed = env.Seed()

	// The measured window: from the schedule's start (after the setup,
	// the wait for StartAt and the warm-up) to the last VU's end.
	started := f.measured
	if started.IsZero() || ended.Before(started) {
		started = ended // stopped before the window began
	}
	res, err := f.rec.Result(max(ended.Sub(started), time.Nanosecond))
	if err != nil {
		return nil, err
	}
	res.Plan = p.Name
	res.Started, res.Ended = started, ended
	res.DurationS = ended.Sub(started).Seconds()
	res.StartWaitS, res.SetupS = f.waited.Seconds(), f.setup.Seconds()
	if !f.t0.IsZero() && p.Warmup > 0 {
		res.WarmupS = min(p.Warmup, ended.Sub(f.t0)).Seconds()
	}
	res.VUs.Max = f.maxVUs
	res.Sessions = f.sessions.Counts()
	res.Connections.Dials = pl.Stats().Dials
	if stopPoll != nil {
		res.Server = stopPoll()
		res.Server.Check = stats.CheckConsistency(res, res.Server.First, res.Server.Last)
		if c := res.Server.Check; c != nil && !c.OK {
			for _, pr := range c.Problems {
				res.Warnings = append(res.Warnings, "server and client disagree: "+pr)
			}
		}
		if n := res.Server.Failures; n > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%d of %d server polls failed (last: %s)", n, res.Server.Polls, res.Server.LastError))
		}
	}
	res.Generator = &gen
	res.Segment = o.Segment.String()
	res.PlanHash = p.Hash()
	// Without an agreed start, the run is its own: named by its start.
	res.RunID = RunID(res.PlanHash, cmp.Or(o.StartAt, f.t0, ended))
	if !o.StartAt.IsZero() {
		res.StartAt = &o.StartAt
		res.StartOffsetMs = float64(f.t0.Sub(o.StartAt).Microseconds()) / 1000
	}
	res.Warnings = append(res.Warnings, f.warnings...)
	res.Warnings = append(res.Warnings, p.DataWarnings()...) // users.pick: circular, short sequences (data.go)
	res.Warnings = append(res.Warnings, gen.Warnings...)
	if p.Pool.InsecureSkipVerify {
		res.Warnings = append(res.Warnings, "TLS certificate verification was off (http.insecure_skip_verify)")
	}
	var ran time.Duration // of the schedule, warm-up included
	if !f.measured.IsZero() {
		ran = ended.Sub(f.t0).Round(time.Second)
	}
	var ab *thresholdAbort
	switch {
	case errors.As(context.Cause(ctx), &ab):
		res.Warnings = append(res.Warnings, fmt.Sprintf("run aborted after %s of %s: %s", ran, p.Load.Total(), ab))
	case ctx.Err() != nil:
		res.Interrupted = true
		res.Warnings = append(res.Warnings, fmt.Sprintf("run interrupted after %s of %s", ran, p.Load.Total()))
	}
	return res, nil
}

// pollServer resets the server's sessions if the plan says so, takes a
// baseline sample, and polls during the run. The returned stop ends the
// polling, takes a last sample (after the VUs ended their sessions) and
// returns the server block.
func (f *fleet) pollServer(ctx context.Context, c server.Config) (func() *stats.ServerResult, error) {
	src, err := server.New(c)
	if err != nil {
		return nil, err
	}
	var reset *int64
	if c.Reset {
		n, err := server.Reset(ctx, c)
		if err != nil {
			return nil, err
		}
		reset = &n
	}
	poller := server.NewPoller(src, c)
	f.poller = poller
	poller.Poll(ctx) // the baseline, before any VU
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); poller.Run(pctx) }()
	return func() *stats.ServerResult {
		cancel()
		<-done
		poller.Poll(context.WithoutCancel(ctx))
		r := poller.Result()
		r.Reset = reset
		return r
	}, nil
}

// fleet is the VUs of a run and what they share; the models drive it.
//
// Only the run goroutine touches slots, maxVUs and warnings; each VU
// goroutine touches only its own VU. A slot's channels are closed by the
// run goroutine and read by its VU's goroutine. A VU that thinks has no
// goroutine (vuser.VU.Go) and waits on no channel: the run goroutine
// wakes it when it aborts it.
type fleet struct {
	plan     *Plan
	env      *vuser.Env
	rec      *stats.Recorder
	sessions *stats.Sessions
	lag      *stats.Lag
	opts     RunOptions

	slots    []*slot // closed model: index = VU id - 1
	running  atomic.Int64
	maxVUs   int
	wg       sync.WaitGroup
	warnings []string
	t0       time.Time     // schedule start
	measured time.Time     // the measured window's start: t0 + the plan's warm-up (zero until begin)
	setup    time.Duration // the preallocated VUs' logins, before begin
	waited   time.Duration // the wait for StartAt, in begin
	next     time.Time     // next progress report
	poller   *server.Poller
	abort    context.CancelCauseFunc
	aborted  bool
	launch   launcher // VUs in their first login, and those waiting to be
}

// thresholdAbort is why a run stopped early: an abort_on_fail threshold
// failed on the figures so far.
type thresholdAbort struct {
	expr     string
	observed string
	at       time.Duration
}

func (a *thresholdAbort) Error() string {
	return fmt.Sprintf("threshold %s failed at %s (observed %s; abort_on_fail)", a.expr, a.at.Round(time.Second), a.observed)
}

// checkAborts judges the abort_on_fail thresholds whose grace has passed
// on the figures so far, and stops the run at the first that fails.
func (f *fleet) checkAborts(now time.Time) {
	if f.aborted || now.Before(f.measured) {
		return // nothing is judged on the warm-up
	}
	elapsed := now.Sub(f.measured)
	var due []Threshold
	for _, t := range f.plan.Thresholds {
		// A segment judges only the rules its share can break (ScaleFree).
		if t.AbortOnFail && elapsed >= t.Grace && (f.opts.Segment.Whole() || t.Rule.ScaleFree()) {
			due = append(due, t)
		}
	}
	if len(due) == 0 {
		return
	}
	res, err := f.rec.SoFar()
	if err != nil {
		return
	}
	res.Sessions = f.sessions.Counts()
	for _, t := range due {
		if v := t.Rule.Evaluate(res); !v.OK && v.Error == "" {
			f.aborted = true
			if f.opts.Logf != nil {
				f.opts.Logf("aborting: threshold %s failed at %s (observed %.4g%s)", v.Expr, elapsed.Round(time.Second), v.Observed, v.Unit)
			}
			f.abort(&thresholdAbort{expr: v.Expr, observed: fmt.Sprintf("%.4g%s", v.Observed, v.Unit), at: elapsed})
			return
		}
	}
}

// slot is one VU id's life: at most one goroutine per id at a time, so a
// user is never logged in twice.
type slot struct {
	id       int
	live     atomic.Bool   // a goroutine runs this id (until it returns)
	retired  atomic.Bool   // its VU stopped for want of data rows: never started again (set before live goes false)
	stopping bool          // told to stop (run goroutine only)
	stop     chan struct{} // closed: finish the current iteration, then end
	done     chan struct{} // closed: stop waiting (think times too)
	cancel   context.CancelFunc
	deadline time.Time // when a stopping VU is cancelled
	vu       *vuser.VU // the VU that runs this id now (or last did)
}

// start runs VU s.id (vuser.VU.Go), now or once the launcher lets it;
// next feeds it iterations (it is called on the VU's goroutine, with the
// slot's stop channel).
func (f *fleet) start(hard context.Context, s *slot, next func(stop <-chan struct{}) (time.Time, bool)) {
	ctx, cancel := context.WithCancel(hard)
	s.cancel, s.stopping = cancel, false
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.live.Store(true)
	if n := int(f.running.Add(1)); n > f.maxVUs {
		f.maxVUs = n
	}
	f.wg.Add(1)
	ident := f.plan.Scenarios[0].Users.Identity(s.id)
	vu := f.env.NewVU(s.id, ident, vuser.Signals{Stop: s.stop, Abort: s.done})
	s.vu = vu
	stop := s.stop
	// The VU's first call of next (or its end) closes its first login.
	// Only the VU's own goroutines touch first, one at a time.
	first := true
	launched := func() {
		if first {
			first = false
			f.launch.launched()
		}
	}
	f.launch.launch(func() {
		vu.Go(ctx, func() (time.Time, bool) {
			launched()
			return next(stop)
		}, func() {
			launched()
			cancel()
			s.retired.Store(vu.DataExhausted())
			s.live.Store(false)
			f.running.Add(-1)
			f.wg.Done()
		})
	})
}

// stopSlot tells a VU to finish its iteration and end its session.
func (f *fleet) stopSlot(s *slot, now time.Time) {
	if s.live.Load() && !s.stopping {
		s.stopping = true
		close(s.stop)
		s.deadline = now.Add(f.plan.Load.GracefulStop)
	}
}

// abort makes a VU stop waiting (a think it is parked in too); with hard,
// it also cancels its request.
func (s *slot) abort(hard bool) {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	if hard {
		s.cancel()
	}
	s.vu.Wake()
}

// reap cancels the VUs whose graceful stop has run out.
func (f *fleet) reap(now time.Time) {
	for _, s := range f.slots {
		if s.stopping && s.live.Load() && now.After(s.deadline) {
			s.abort(true)
		}
	}
}

// finish stops every VU and waits for them: at once when interrupted,
// else within the graceful-stop limit. It keeps reporting meanwhile.
func (f *fleet) finish(interrupted bool, target int) {
	now := time.Now()
	for _, s := range f.slots {
		if !s.live.Load() {
			continue
		}
		f.stopSlot(s, now)
		if interrupted {
			s.abort(false)
		}
	}
	allDone := make(chan struct{})
	go func() { f.wg.Wait(); close(allDone) }()
	tick := time.NewTicker(f.opts.Tick)
	defer tick.Stop()
	for {
		select {
		case <-allDone:
			f.report(time.Now(), target, "stopping", true)
			return
		case <-tick.C:
			now := time.Now()
			f.reap(now)
			f.report(now, target, "stopping", false)
		}
	}
}

// begin waits for RunOptions.StartAt (if set), then starts the schedule's
// clock and the recorder's measured window (after the plan's warm-up). It
// reports false if ctx ended first.
func (f *fleet) begin(ctx context.Context) bool {
	waitFrom := time.Now()
	if at := f.opts.StartAt; !at.IsZero() {
		t := time.NewTimer(time.Until(at))
		defer t.Stop()
		tick := time.NewTicker(f.opts.Interval)
		defer tick.Stop()
		for time.Now().Before(at) {
			select {
			case <-t.C:
			case <-tick.C:
				f.t0 = at
				f.report(time.Now(), 0, "waiting for --start-at", true)
			case <-ctx.Done():
				return false
			}
		}
	}
	f.t0 = time.Now()
	if !f.opts.StartAt.IsZero() {
		f.waited = f.t0.Sub(waitFrom) // without a start instant there is no wait, only the calls above
	}
	f.measured = f.t0.Add(f.plan.Warmup)
	f.rec.Begin(f.measured, f.setup)
	f.next = f.t0.Add(f.opts.Interval)
	return true
}

// report sends a progress snapshot when the interval has passed (or now,
// with force).
func (f *fleet) report(now time.Time, target int, phase string, force bool) {
	if !force && now.Before(f.next) {
		return
	}
	for !f.next.After(now) {
		f.next = f.next.Add(f.opts.Interval)
	}
	iv := f.rec.Snapshot()
	if phase == "" {
		f.checkAborts(now)
		if now.Before(f.measured) {
			phase = "warming up"
		}
	}
	if f.opts.OnInterval == nil {
		return
	}
	var srv *stats.ServerSample
	if f.poller != nil {
		if s, ok := f.poller.Latest(); ok {
			srv = &s
		}
	}
	f.opts.OnInterval(Progress{
		Server:   srv,
		Elapsed:  now.Sub(f.t0),
		Total:    f.plan.Load.Total(),
		VUs:      int(f.running.Load()),
		Target:   target,
		Interval: iv,
		Sessions: f.sessions.Counts(),
		Phase:    phase,
	})
}

// isClosed reports whether c is closed.
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (f *fleet) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.warnings = append(f.warnings, msg)
	if f.opts.Logf != nil {
		f.opts.Logf("warning: %s", msg)
	}
}

// closedModel drives VUs along the plan's stages.
type closedModel struct{ *fleet }

func (x *closedModel) run(ctx context.Context) {
	hard, cancelAll := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAll()
	x.t0 = time.Now()
	x.next = x.t0.Add(x.opts.Interval)
	if !x.begin(ctx) {
		return
	}
	total := x.plan.Load.Total()
	tick := time.NewTicker(x.opts.Tick)
	defer tick.Stop()
	for {
		now := time.Now()
		elapsed := now.Sub(x.t0)
		if ctx.Err() != nil || elapsed >= total {
			break
		}
		target := int(x.opts.Segment.Share(int64(x.plan.Load.VUsAt(elapsed))))
		x.adjust(hard, target, now)
		x.report(now, target, "", false)
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	x.finish(ctx.Err() != nil, 0)
}

// adjust starts or stops VUs to reach target. New VUs take the lowest
// free id; ramping down stops the highest ids first (last in, first out).
func (x *closedModel) adjust(hard context.Context, target int, now time.Time) {
	x.reap(now)
	active := 0
	for _, s := range x.slots {
		if s.live.Load() && !s.stopping || s.retired.Load() {
			active++ // a retired VU keeps its place: another would find no rows either
		}
	}
	for i := len(x.slots) - 1; i >= 0 && active > target; i-- {
		if s := x.slots[i]; s.live.Load() && !s.stopping {
			x.stopSlot(s, now)
			active--
		}
	}
	for i := 0; active < target; i++ {
		if i == len(x.slots) {
			x.slots = append(x.slots, &slot{id: x.opts.Segment.GlobalVU(i + 1)})
		}
		if s := x.slots[i]; !s.live.Load() && !s.retired.Load() {
			x.start(hard, s, x.pacer())
			active++
		}
	}
}

// pacer feeds one VU its iterations: back to back, or with Load.Pacing
// one every Pacing from the VU's start, each with its intended time.
func (x *closedModel) pacer() func(stop <-chan struct{}) (time.Time, bool) {
	pacing := x.plan.Load.Pacing
	if pacing <= 0 {
		return func(stop <-chan struct{}) (time.Time, bool) { return time.Time{}, !isClosed(stop) }
	}
	var due time.Time
	var timer *time.Timer
	return func(stop <-chan struct{}) (time.Time, bool) {
		if isClosed(stop) {
			return time.Time{}, false
		}
		now := time.Now()
		if due.IsZero() {
			due = now // the first iteration is due once logged in
		} else {
			due = due.Add(pacing)
		}
		if wait := due.Sub(now); wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
				// The generator's own lateness: how late the timer woke.
				x.lag.Record(time.Since(due))
			case <-stop:
				timer.Stop()
				return time.Time{}, false
			}
		}
		// Late (the last iteration overran the pace): start now; the
		// corrected latency counts from due.
		return due, true
	}
}
