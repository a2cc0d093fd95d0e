package profiles

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
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
	// Wrap, if set, wraps the shared transport every VU sends through
	// (to log, to inject faults); the pool's admission bound still holds.
	Wrap func(http.RoundTripper) http.RoundTripper
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
//
// The weighted scenarios share the plan's Load by an exact mix (see Mix):
// closed model, VU id i runs scenario At(i-1) for its whole life; open
// model, arrival i goes to scenario At(i) (each scenario with its own pool
// of logged-in VUs, split by the same mix). A scenario with a Load of its
// own runs concurrently on it, in the same run: one recorder, one session
// tracker, one transport, one measured window. Run never writes p, its
// scenarios, scripts or loads.
func Run(ctx context.Context, p *Plan, o RunOptions) (*stats.Results, error) {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Tick <= 0 {
		o.Tick = 50 * time.Millisecond
	}
	lay, err := newLayout(p, o)
	if err != nil {
		return nil, err
	}
	if err := lay.checkSegment(o.Segment); err != nil {
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
		lay:      lay,
		sessions: stats.NewSessions(),
		lag:      stats.NewLag(),
		opts:     o,
		launch:   launcher{max: maxLaunching},
	}
	so := o.Stats
	so.Gauges = func() stats.Gauges { return stats.Gauges{VUs: int(f.running.Load()), Sessions: f.sessions.Counts()} }
	so.AwaitBegin = true // the window is the schedule's: see fleet.begin
	f.rec = stats.NewRecorder(so)
	scripts := p.RunScripts(o.Segment) // the run's own data cursors (data.go)
	for i, sc := range lay.scens {
		sc.script.Data = scripts[i].Data
		// NewEnv fills the script's defaults into the run's own copy.
		env, err := vuser.NewEnv(&sc.script, vuser.PoolTransport(pl, o.Wrap), f.rec, f.sessions)
		if err != nil {
			if len(lay.scens) > 1 {
				err = fmt.Errorf("%s: %w", sc.label, err)
			}
			return nil, err
		}
		sc.env = env
		env.SetLag(f.lag) // late think wake-ups are the generator's lag too
		if o.Debug != nil {
			env.SetDebug(max(o.DebugVU, 1), o.Debug)
		}
	}
	var stopPoll func() *stats.ServerResult
	if p.Server != nil {
		stopPoll, err = f.pollServer(ctx, *p.Server)
		if err != nil {
			return nil, err
		}
	}
	probe := stats.StartProbe()
	f.run(ctx)
	ended := time.Now()

	gen := probe.Stop(f.lag, stats.GeneratorLimits{LagP99: o.LagLimit})
	gen.Seed = lay.scens[0].env.Seed()

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
	res.VUs.Max = int(f.maxVUs.Load())
	f.fillScenarios(res)
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
	if w := f.overrunWarning(); w != "" {
		// The recorder's count says as much without the lateness: say it once.
		res.Warnings = slices.DeleteFunc(res.Warnings, func(s string) bool { return s == stats.OverranWarning(res.Iterations.Overran) })
		res.Warnings = append(res.Warnings, w)
	}
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
		res.Warnings = append(res.Warnings, fmt.Sprintf("run aborted after %s of %s: %s", ran, lay.total, ab))
	case ctx.Err() != nil:
		res.Interrupted = true
		res.Warnings = append(res.Warnings, fmt.Sprintf("run interrupted after %s of %s", ran, lay.total))
	}
	return res, nil
}

// fillScenarios gives each scenario of the results (the recorder's, with
// its counts, or a new one) its name, weight and peak VUs. A plan's only
// unnamed scenario is the plan itself and is not listed.
func (f *fleet) fillScenarios(res *stats.Results) {
	for _, sc := range f.lay.scens {
		i := slices.IndexFunc(res.Scenarios, func(r stats.ScenarioResult) bool { return r.Name == sc.name })
		if i < 0 {
			if sc.name == "" {
				continue
			}
			res.Scenarios = append(res.Scenarios, stats.ScenarioResult{Name: sc.name})
			i = len(res.Scenarios) - 1
		}
		r := &res.Scenarios[i]
		r.Weight, r.VUsMax = sc.weight, int(sc.peak.Load()) // weight 0: a load of its own
	}
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

// fleet is the VUs of a run and what they share; one model per load
// shape drives its own VUs on it.
//
// The run goroutine prepares the models, starts the schedule (begin) and
// then only reports progress; each model runs on a goroutine of its own
// and alone touches its slots. A VU goroutine touches only its own VU. A
// slot's channels are closed by its model's goroutine and read by its
// VU's goroutine. A VU that thinks has no goroutine (vuser.VU.Go) and
// waits on no channel: its model wakes it when it aborts it.
type fleet struct {
	plan     *Plan // the caller's: read, never written
	lay      *layout
	rec      *stats.Recorder
	sessions *stats.Sessions
	lag      *stats.Lag
	opts     RunOptions

	running atomic.Int64
	maxVUs  atomic.Int64

	// Paced iterations that started after their due time because the
	// iteration before overran the pace: how many, their lateness in
	// all and the worst (ns).
	overran, overrunNs, overrunMax atomic.Int64

	mu       sync.Mutex // guards warnings
	warnings []string

	// Set by the run goroutine before the models' goroutines start, then
	// only read.
	t0       time.Time     // schedule start
	measured time.Time     // the measured window's start: t0 + the plan's warm-up (zero until begin)
	setup    time.Duration // the preallocated VUs' logins, before begin
	waited   time.Duration // the wait for StartAt, in begin

	// The run goroutine's only.
	next    time.Time // next progress report
	poller  *server.Poller
	abort   context.CancelCauseFunc
	aborted bool

	launch launcher // VUs in their first login, and those waiting to be
}

// model drives the VUs of one load shape.
type model interface {
	// run runs the schedule from f.t0 to its end (or ctx's), then stops
	// the shape's VUs and waits for them.
	run(ctx, hard context.Context)
	// finish stops the shape's VUs (started before the schedule) and
	// waits for them, when the schedule never started.
	finish()
}

// run drives every shape of the run at once along one clock.
func (f *fleet) run(ctx context.Context) {
	hard, cancelAll := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAll()
	f.t0 = time.Now()
	f.next = f.t0.Add(f.opts.Interval)
	models := make([]model, len(f.lay.shapes))
	var open []*arrival
	for i, sh := range f.lay.shapes {
		if sh.load.Open == nil {
			models[i] = &closedModel{fleet: f, sh: sh}
			continue
		}
		a := newArrival(f, sh)
		models[i] = a
		if !sh.sessions() {
			open = append(open, a)
		}
	}
	f.prealloc(ctx, hard, open)
	if !f.begin(ctx) {
		for _, m := range models {
			m.finish()
		}
		return
	}
	done := make(chan struct{}, len(models))
	for _, m := range models {
		go func() {
			m.run(ctx, hard)
			done <- struct{}{}
		}()
	}
	tick := time.NewTicker(f.opts.Interval)
	defer tick.Stop()
	for left := len(models); left > 0; {
		select {
		case <-done:
			left--
		case <-tick.C:
			phase := "stopping"
			for _, sh := range f.lay.shapes {
				if !sh.ended.Load() {
					phase = ""
				}
			}
			f.report(time.Now(), f.target(), phase, true)
		}
	}
	f.report(time.Now(), 0, "stopping", true)
}

// target is the VUs the shapes ask for now.
func (f *fleet) target() int {
	n := int64(0)
	for _, sh := range f.lay.shapes {
		n += sh.target.Load()
	}
	return int(n)
}

// prealloc starts the preallocated VUs of the arrival rates and waits (up
// to a minute) until they are logged in, so the schedule does not start
// on a cold pool.
func (f *fleet) prealloc(ctx, hard context.Context, open []*arrival) {
	n := 0
	for _, a := range open {
		n += a.prealloc(hard)
	}
	if n == 0 {
		return
	}
	from := time.Now()
	defer func() { f.setup = time.Since(from) }()
	starting := func() int64 {
		s := int64(0)
		for _, a := range open {
			s += a.startingVUs()
		}
		return s
	}
	limit := time.Now().Add(time.Minute)
	tick := time.NewTicker(f.opts.Tick)
	defer tick.Stop()
	for starting() > 0 && ctx.Err() == nil && time.Now().Before(limit) {
		select {
		case <-tick.C:
			f.report(time.Now(), n, "logging in", false)
		case <-ctx.Done():
		}
	}
	if s := starting(); s > 0 && ctx.Err() == nil {
		f.warnf("%d of %d preallocated VUs were not logged in after a minute; the schedule started anyway", s, n)
	}
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
	sc       *scen          // the scenario the id runs, for its life
	ident    vuser.Identity // who it logs in as
	grace    time.Duration  // its shape's graceful stop
	wg       *sync.WaitGroup
	live     atomic.Bool   // a goroutine runs this id (until it returns)
	retired  atomic.Bool   // its VU stopped for want of data rows: never started again (set before live goes false)
	stopping bool          // told to stop (its model's goroutine only)
	stop     chan struct{} // closed: finish the current iteration, then end
	done     chan struct{} // closed: stop waiting (think times too)
	cancel   context.CancelFunc
	deadline time.Time // when a stopping VU is cancelled
	vu       *vuser.VU // the VU that runs this id now (or last did)
}

// newSlot is the slot of the shape's VU k (from 0), with its VU id,
// scenario and identity; wg counts its VU goroutines.
func (sh *shape) newSlot(k int64, wg *sync.WaitGroup) *slot {
	sc, local := sh.member(k)
	id := sh.offset + int(k) + 1
	return &slot{id: id, sc: sc, ident: sc.identity(id, local), grace: sh.load.GracefulStop, wg: wg}
}

// start runs the slot's VU (vuser.VU.Go), now or once the launcher lets
// it; next feeds it iterations (it is called on the VU's goroutine, with
// the slot's stop channel).
func (f *fleet) start(hard context.Context, s *slot, next func(stop <-chan struct{}) (time.Time, bool)) {
	ctx, cancel := context.WithCancel(hard)
	s.cancel, s.stopping = cancel, false
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.live.Store(true)
	raise(&f.maxVUs, f.running.Add(1))
	raise(&s.sc.peak, s.sc.running.Add(1))
	s.wg.Add(1)
	vu := s.sc.env.NewVU(s.id, s.ident, vuser.Signals{Stop: s.stop, Abort: s.done})
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
			s.sc.running.Add(-1)
			f.running.Add(-1)
			s.wg.Done()
		})
	})
}

// raise makes m at least v.
func raise(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

// stopSlot tells a VU to finish its iteration and end its session.
func stopSlot(s *slot, now time.Time) {
	if s.live.Load() && !s.stopping {
		s.stopping = true
		close(s.stop)
		s.deadline = now.Add(s.grace)
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
func reap(slots []*slot, now time.Time) {
	for _, s := range slots {
		if s.stopping && s.live.Load() && now.After(s.deadline) {
			s.abort(true)
		}
	}
}

// stopAll stops the VUs of slots and waits for those counted by wg: at
// once when interrupted, else within the graceful-stop limit.
func (f *fleet) stopAll(slots []*slot, wg *sync.WaitGroup, interrupted bool) {
	now := time.Now()
	for _, s := range slots {
		if !s.live.Load() {
			continue
		}
		stopSlot(s, now)
		if interrupted {
			s.abort(false)
		}
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	tick := time.NewTicker(f.opts.Tick)
	defer tick.Stop()
	for {
		select {
		case <-allDone:
			return
		case <-tick.C:
			reap(slots, time.Now())
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
		Total:    f.lay.total,
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

// overrun counts a paced iteration (of the VU hinted by shard) that starts late by late: the one
// before it overran its pace.
func (f *fleet) overrun(shard int, late time.Duration) {
	f.rec.Overran(shard) // results.json iterations.overran
	f.overran.Add(1)
	f.overrunNs.Add(int64(late))
	for m := f.overrunMax.Load(); int64(late) > m && !f.overrunMax.CompareAndSwap(m, int64(late)); m = f.overrunMax.Load() {
	}
}

// overrunWarning is the results' warning about paced iterations that
// started late, "" if none did.
func (f *fleet) overrunWarning() string {
	n := f.overran.Load()
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d paced iterations started late because the one before overran its pacing (late by %s in all, %s at worst): that lateness is in their first requests' corrected latency; raise pacing, or shorten the think times and responses of an iteration",
		n, time.Duration(f.overrunNs.Load()).Round(time.Millisecond), time.Duration(f.overrunMax.Load()).Round(time.Millisecond))
}

// warnf records a warning for the results (and Logf); any goroutine.
func (f *fleet) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.mu.Lock()
	f.warnings = append(f.warnings, msg)
	f.mu.Unlock()
	if f.opts.Logf != nil {
		f.opts.Logf("warning: %s", msg)
	}
}

// closedModel drives the VUs of one shape along its stages. VU k of the
// shape runs scenario mix.At(k) for its life.
type closedModel struct {
	*fleet
	sh    *shape
	slots []*slot // index = the segment's local VU - 1
	wg    sync.WaitGroup
}

func (x *closedModel) run(ctx, hard context.Context) {
	total := x.sh.load.Total()
	tick := time.NewTicker(x.opts.Tick)
	defer tick.Stop()
	for {
		now := time.Now()
		elapsed := now.Sub(x.t0)
		if ctx.Err() != nil || elapsed >= total {
			break
		}
		target := int(x.opts.Segment.Share(int64(x.sh.load.VUsAt(elapsed))))
		x.sh.target.Store(int64(target))
		x.adjust(hard, target, now)
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	x.sh.target.Store(0)
	x.sh.ended.Store(true)
	x.stopAll(x.slots, &x.wg, ctx.Err() != nil)
}

func (x *closedModel) finish() { x.sh.ended.Store(true) } // no VU starts before the schedule

// adjust starts or stops VUs to reach target. New VUs take the lowest
// free id; ramping down stops the highest ids first (last in, first out),
// so the VUs running are ids 1..n and each scenario's count is within 1
// of its share of n (Mix).
func (x *closedModel) adjust(hard context.Context, target int, now time.Time) {
	reap(x.slots, now)
	active := 0
	for _, s := range x.slots {
		if s.live.Load() && !s.stopping || s.retired.Load() {
			active++ // a retired VU keeps its place: another would find no rows either
		}
	}
	for i := len(x.slots) - 1; i >= 0 && active > target; i-- {
		if s := x.slots[i]; s.live.Load() && !s.stopping {
			stopSlot(s, now)
			active--
		}
	}
	for i := 0; active < target; i++ {
		if i == len(x.slots) {
			k := int64(x.opts.Segment.GlobalVU(i+1) - 1)
			x.slots = append(x.slots, x.sh.newSlot(k, &x.wg))
		}
		if s := x.slots[i]; !s.live.Load() && !s.retired.Load() {
			x.start(hard, s, x.pacer(s.id, s.sc.pacing))
			active++
		}
	}
}

// pacer feeds one VU its iterations: back to back, or one every pacing
// from the VU's start, each with its intended time.
func (x *closedModel) pacer(vu int, pacing time.Duration) func(stop <-chan struct{}) (time.Time, bool) {
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
		if late := now.Sub(due); late > 0 {
			// The last iteration overran the pace: start now; the
			// first request's corrected latency counts from due.
			x.overrun(vu, late)
		}
		return due, true
	}
}
