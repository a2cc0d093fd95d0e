package profiles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessionload/load/server"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// SearchOptions drive a sessions capacity search.
type SearchOptions struct {
	// Start, Step and Max are the concurrent sessions of the first step,
	// the increase per step, and the last step tried.
	Start, Step, Max int
	// Hold is the shortest hold of a step (after its ramp); the hold
	// goes on until the step's figures are stable, at most MaxHold
	// (default 3 × Hold, at least Hold + 5 s).
	Hold, MaxHold time.Duration
	// Ramp is how long each step takes to log its VUs in. Default: 10 ms
	// per session, at least 2 s.
	Ramp time.Duration
	// Warmup is a phase at WarmupSessions (default Start/10, at least 1)
	// before the first step, not judged: a cold JVM compiles its JSPs
	// and classes there. 0: none (load sessions defaults to 30 s).
	Warmup         time.Duration
	WarmupSessions int
	// Refine bisects between the knee and the step that broke the limits
	// until they are at most Refine sessions apart. Default Step/10; -1: off.
	Refine int
	// SLO is the p95 a step must stay under when the plan has no latency
	// threshold (0: none).
	SLO time.Duration
	// HeapLimit breaks a step whose heap after GC passes this share of
	// the max heap (default 0.85). ThreadLimit is the share of maxThreads
	// counted as saturated (default 0.95) and ThreadHold the share of the
	// hold it must last (default 0.5); ConnLimit the share of
	// maxConnections (default 0.95); CPULimit the process CPU share of
	// all cores (default 0.9). They need the plan's server: block.
	HeapLimit, ThreadLimit, ThreadHold, ConnLimit, CPULimit float64
	// NoGC turns off the GC the search invokes at each step's end (JMX
	// java.lang:type=Memory gc) to read the heap after GC.
	NoGC bool
	// RaiseCap raises the context's maxActiveSessions over JMX for the
	// search (to RaiseTo, default -1: none) and restores it afterwards.
	RaiseCap bool
	RaiseTo  int64
	// ArrivalRate (users per second), ActiveTime and AbandonShare describe
	// the production traffic the recommendation is for; Timeout is its
	// session timeout (default 30m), Headroom the share kept free below
	// the knee (default 0.2; negative: none).
	ArrivalRate  float64
	ActiveTime   time.Duration
	AbandonShare float64
	Timeout      time.Duration
	Headroom     float64
	// Confidence of the heap-per-session interval. Default 0.95.
	Confidence float64
	// SampleInterval is how often the server is read during a hold.
	// Default 1s.
	SampleInterval time.Duration
	// OnStep is told each step's result as it ends.
	OnStep func(SearchStep)
	// OnResults, if set, gets each step's full results.
	OnResults func(SearchStep, *stats.Results)
	// Run options for each step's run (progress display etc.).
	Run RunOptions
}

// SearchStep is what one step of the search measured.
type SearchStep = stats.CapacityStep

// SearchResult is the outcome of a capacity search.
type SearchResult = stats.Capacity

func (o *SearchOptions) defaults() error {
	if o.Start <= 0 || o.Step <= 0 || o.Max < o.Start || o.Hold <= 0 {
		return errors.New("sessions search: need start > 0, step > 0, max >= start and a hold > 0")
	}
	if o.MaxHold <= 0 {
		o.MaxHold = max(3*o.Hold, o.Hold+5*time.Second)
	}
	if o.MaxHold < o.Hold {
		return fmt.Errorf("sessions search: the max hold %s is shorter than the hold %s", o.MaxHold, o.Hold)
	}
	if o.WarmupSessions <= 0 {
		o.WarmupSessions = max(o.Start/10, 1)
	}
	if o.Refine == 0 {
		o.Refine = max(o.Step/10, 1)
	}
	if o.Refine < 0 {
		o.Refine = math.MaxInt
	}
	for _, d := range []struct {
		v   *float64
		def float64
	}{{&o.HeapLimit, 0.85}, {&o.ThreadLimit, 0.95}, {&o.ThreadHold, 0.5}, {&o.ConnLimit, 0.95}, {&o.CPULimit, 0.9}, {&o.Confidence, 0.95}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	switch {
	case o.Headroom == 0:
		o.Headroom = 0.2
	case o.Headroom < 0:
		o.Headroom = 0
	case o.Headroom >= 1:
		return fmt.Errorf("sessions search: headroom %.2f must be under 1", o.Headroom)
	}
	if o.AbandonShare < 0 || o.AbandonShare > 1 {
		return fmt.Errorf("sessions search: abandon share %.2f must be between 0 and 1", o.AbandonShare)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Minute
	}
	if o.SampleInterval <= 0 {
		o.SampleInterval = time.Second
	}
	if o.RaiseTo == 0 {
		o.RaiseTo = -1
	}
	return nil
}

// SearchSessions finds how many concurrent sessions the server holds. It
// warms the server up, then raises the sessions step by step: each step
// logs in that many VUs (each its own user and session), holds them until
// the figures are stable, runs the server's GC and reads the heap after
// it, and logs them out. A step that breaks a limit is retried once; the
// search bisects below the first step that broke twice, confirms the knee
// (the highest step that passed twice), names the limit that bound it,
// fits the heap per session, and recommends maxActiveSessions, a session
// timeout and, when threads bound it, maxThreads, every number with its
// formula. The caller's plan is not changed.
func SearchSessions(ctx context.Context, p *Plan, o SearchOptions) (res *SearchResult, err error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if len(p.Scenarios) == 0 {
		return nil, errors.New("sessions search: the plan has no scenario")
	}
	for _, sc := range p.Scenarios {
		if sc.Script == nil || sc.Script.Login.Kind == vuser.LoginNone {
			return nil, errors.New("sessions search: the plan has no login (session.login), so its VUs hold no sessions")
		}
	}
	s := &searcher{o: o, base: searchPlanCopy(p)}
	if p.Server != nil {
		switch p.Server.Kind {
		case server.KindTomcat, "":
			if s.tomcat, err = server.NewTomcat(*p.Server); err != nil {
				return nil, err
			}
		default:
			s.notes = append(s.notes, fmt.Sprintf("server kind %s: the search reads no thread pool, heap after GC or CPU (they need kind: tomcat)", p.Server.Kind))
		}
	}
	if o.RaiseCap && s.tomcat == nil {
		return nil, errors.New("sessions search: --raise-cap needs the plan's server: block with kind: tomcat (the JMX proxy)")
	}
	configured := int64(-1)
	var sweep server.Sweep
	var sweepErr error
	if s.tomcat != nil {
		if configured, err = s.tomcat.MaxActiveSessions(ctx); err != nil {
			return nil, fmt.Errorf("sessions search: read maxActiveSessions: %w", err)
		}
		sweep, sweepErr = s.tomcat.Sweep(ctx)
		if sweepErr != nil {
			s.notes = append(s.notes, "expiry sweep: "+sweepErr.Error())
		}
	}
	var raised int64
	if o.RaiseCap {
		if err := s.tomcat.SetMaxActiveSessions(ctx, o.RaiseTo); err != nil {
			return nil, fmt.Errorf("sessions search: raise maxActiveSessions: %w", err)
		}
		raised = o.RaiseTo
		// Restore the cap whatever happens next: an error, an interrupt.
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			ok := false
			rerr := s.tomcat.SetMaxActiveSessions(rctx, configured)
			if rerr == nil {
				var back int64
				if back, rerr = s.tomcat.MaxActiveSessions(rctx); rerr == nil {
					ok = back == configured
					if !ok {
						rerr = fmt.Errorf("maxActiveSessions reads %d after restoring %d", back, configured)
					}
				}
			}
			if res != nil {
				res.CapRestored = &ok
				if rerr != nil {
					res.Notes = append(res.Notes, "could not restore maxActiveSessions: "+rerr.Error())
				}
			}
			if rerr != nil && err == nil {
				err = fmt.Errorf("sessions search: restore maxActiveSessions to %d: %w", configured, rerr)
			}
		}()
	}

	var warm *stats.CapacityStep
	if o.Warmup > 0 {
		st, err := s.step(ctx, o.WarmupSessions, "warmup")
		if err != nil {
			return nil, err
		}
		warm = &st
	}
	sp := searchPlan{start: o.Start, step: o.Step, max: o.Max, refine: o.Refine, users: p.Scenarios[0].Users.Len()}
	if !o.RaiseCap && configured > 0 {
		sp.capLimit = int(configured)
	}
	res, err = search(ctx, sp, s.step)
	if err != nil {
		return res, err
	}
	res.Warmup = warm
	res.ConfiguredCap, res.RaisedCap = configured, raised
	res.Notes = append(s.notes, res.Notes...)
	if s.pollFailures > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d server reads failed (last: %s)", s.pollFailures, s.lastPollErr))
	}
	if sweepErr == nil && s.tomcat != nil {
		res.SweepS = sweep.Every().Seconds()
	}
	res.HeapPerSession = fitHeap(s.points, o.Confidence)
	if f := res.HeapPerSession; f != nil && f.LowKB <= 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("heap per session: the interval [%.1f, %.1f] KB holds 0: over these steps a session costs less than the heap-after-GC figures resolve (try larger steps)", f.LowKB, f.HighKB))
	}
	if res.HeapPerSession == nil && s.tomcat != nil && !o.NoGC {
		res.Notes = append(res.Notes, fmt.Sprintf("heap per session: %d paired heap-after-GC points, need 3 at two session counts", len(s.points)))
	}
	kneeStep := stepAt(res, res.Knee, true)
	var brokeStep *stats.CapacityStep
	if res.Binding != "" && res.Binding != SignalUsers {
		for _, st := range res.Steps {
			if !st.OK && st.Sessions > res.Knee && (brokeStep == nil || st.Sessions < brokeStep.Sessions) {
				brokeStep = stepAt(res, st.Sessions, false)
			}
		}
		if brokeStep != nil {
			res.Broke = brokeStep.Why
		}
	}
	if res.Binding == SignalCap && !o.RaiseCap && configured > 0 {
		res.BindingWhy = append(res.BindingWhy, fmt.Sprintf("the configured cap is the binding limit: maxActiveSessions = %d; up to it the resources allowed: %s",
			configured, resourceLine(kneeStep)))
	}
	res.Recommendation = recommend(advice{
		knee: res.Knee, binding: res.Binding, configuredCap: configured, raised: o.RaiseCap,
		kneeStep: kneeStep, brokeStep: brokeStep,
		sweep: sweep.Every(), sweepKnown: sweepErr == nil && s.tomcat != nil,
		sweepFrom: fmt.Sprintf("backgroundProcessorDelay %.0f s (%s) × processExpiresFrequency %d", sweep.Delay.Seconds(), sweep.From, sweep.Frequency),
		target:    o.Max, arrivalRate: o.ArrivalRate, activeTime: o.ActiveTime, abandonShare: o.AbandonShare,
		timeout: o.Timeout, headroom: o.Headroom,
	})
	return res, nil
}

// searchPlanCopy copies p for the search: every step ends its sessions
// (logout), so the next one starts from the same state, and the server
// block is left to the search, which reads the server itself.
func searchPlanCopy(p *Plan) *Plan {
	own := *p
	own.Server = nil
	own.Thresholds = append([]Threshold(nil), p.Thresholds...)
	own.Scenarios = make([]*Scenario, len(p.Scenarios))
	for i, sc := range p.Scenarios {
		c, s := *sc, *sc.Script
		s.Session.End = vuser.EndLogout
		c.Script = &s
		own.Scenarios[i] = &c
	}
	return &own
}

// rest is the heap after GC with no step running, and the sessions then.
type rest struct {
	mb       float64
	sessions int64
	ok       bool
}

// searcher runs the steps of one search.
type searcher struct {
	o      SearchOptions
	base   *Plan
	tomcat *server.Tomcat
	// points pair each step's heap after GC with its sessions held
	// against the server at rest before it: (sessions − at rest, MB −
	// at rest).
	points       [][2]float64
	rest         rest // the server at rest (no step running) after its last GC
	notes        []string
	pollFailures int
	lastPollErr  string
}

// stepPlan is a fresh copy of the base plan whose load ramps to n
// sessions and holds them past the max hold (the search ends it).
func (s *searcher) stepPlan(n int, ramp, hold time.Duration) *Plan {
	sp := *s.base
	sp.Scenarios = make([]*Scenario, len(s.base.Scenarios))
	for i, sc := range s.base.Scenarios {
		c, scr := *sc, *sc.Script
		c.Script = &scr
		c.Load = nil
		sp.Scenarios[i] = &c
	}
	sp.Warmup = 0
	sp.Load = Load{Stages: []Stage{{Duration: ramp, Target: n}, {Duration: hold + 10*time.Second, Target: n}}, GracefulStop: s.base.Load.GracefulStop, Pacing: s.base.Load.Pacing}
	return &sp
}

func (s *searcher) readFailed(err error) {
	if err != nil {
		s.pollFailures++
		s.lastPollErr = err.Error()
	}
}

// step runs one step: ramp to n sessions, hold them until the figures
// are stable (or the max hold), read the server and run its GC with the
// sessions held, then end the run (the VUs log out) and judge it.
func (s *searcher) step(ctx context.Context, n int, phase string) (stats.CapacityStep, error) {
	o := s.o
	ramp := o.Ramp
	if ramp <= 0 {
		ramp = max(2*time.Second, time.Duration(n)*10*time.Millisecond)
	}
	minHold, maxHold := o.Hold, o.MaxHold
	if phase == "warmup" {
		minHold, maxHold = o.Warmup, o.Warmup
	}
	plan := s.stepPlan(n, ramp, maxHold)
	d := stepData{n: n, heapAfterGC: -1, gcSessions: -1, releasedHeap: -1}
	if s.tomcat != nil && !o.NoGC && !s.rest.ok && ctx.Err() == nil {
		// The server at rest before the step: the heap after GC its
		// sessions will be measured against.
		left := s.settledSessions(ctx)
		mb, err := s.tomcat.HeapAfterGC(ctx)
		s.readFailed(err)
		if r, rerr := s.tomcat.Sessions(ctx); err == nil && rerr == nil && left >= 0 && r.ActiveSessions == left {
			s.rest = rest{mb: mb, sessions: left, ok: true}
		}
	}
	before := s.rest
	if s.tomcat != nil {
		b, err := s.tomcat.Sessions(ctx)
		s.readFailed(err)
		if err == nil {
			d.before = &b
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	snaps := make(chan Progress, 256)
	ro := s.o.Run
	if ro.Interval <= 0 {
		ro.Interval = 500 * time.Millisecond
	}
	user := ro.OnInterval
	ro.OnInterval = func(p Progress) {
		if user != nil {
			user(p)
		}
		select {
		case snaps <- p:
		default:
		}
	}
	type outcome struct {
		r   *stats.Results
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		r, err := Run(sctx, plan, ro)
		done <- outcome{r, err}
	}()
	tick := time.NewTicker(o.SampleInterval)
	defer tick.Stop()
	var holdStart time.Time
	var out *outcome
	var last Progress
wait:
	for {
		select {
		case p := <-snaps:
			last = p
			if holdStart.IsZero() && p.Phase == "" && p.Elapsed >= ramp {
				holdStart = time.Now()
			}
			if !holdStart.IsZero() {
				d.snaps = append(d.snaps, p)
			}
		case <-tick.C:
			if holdStart.IsZero() {
				continue
			}
			if s.tomcat != nil {
				r, err := s.tomcat.Read(ctx)
				s.readFailed(err)
				if r.ActiveSessions >= 0 {
					d.hold = append(d.hold, r) // what was read (the rest is -1)
				}
			}
			held := time.Since(holdStart)
			if held >= maxHold {
				break wait
			}
			if held >= minHold && phase != "warmup" && stable(d.snaps, d.hold, 3) {
				d.stable = true
				break wait
			}
		case oc := <-done:
			out = &oc
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	if !holdStart.IsZero() {
		d.holdS = time.Since(holdStart).Seconds()
	}
	d.held = last.Sessions.Held
	if out == nil && ctx.Err() == nil && s.tomcat != nil {
		// With the sessions still held: the figures at the judgement,
		// then the heap after a full GC.
		r, err := s.tomcat.Read(ctx)
		s.readFailed(err)
		if r.ActiveSessions >= 0 {
			d.atJudge = &r
		}
		if !o.NoGC {
			mb, err := s.tomcat.HeapAfterGC(ctx)
			s.readFailed(err)
			if err == nil {
				d.heapAfterGC = mb
				if r, err := s.tomcat.Sessions(ctx); err == nil {
					d.gcSessions = r.ActiveSessions
				}
			}
		}
	}
	cancel()
	if out == nil {
		oc := <-done
		out = &oc
	}
	if out.err != nil {
		return stats.CapacityStep{}, fmt.Errorf("step %d: %w", n, out.err)
	}
	d.res = out.r
	if s.tomcat != nil {
		left := int64(-1)
		if d.heapAfterGC >= 0 && d.gcSessions >= 0 && ctx.Err() == nil {
			// The same GC with the sessions gone: the server at rest, which
			// the next step's heap is measured against, so what the server
			// keeps anyway (caches grown by earlier steps, by this one's
			// burst of logouts) cancels out. The last logouts may still be
			// on their way: wait until the server's count settles.
			left = s.settledSessions(ctx)
			mb, err := s.tomcat.HeapAfterGC(ctx)
			s.readFailed(err)
			if err == nil {
				d.releasedHeap = mb
			}
		}
		a, err := s.tomcat.Sessions(context.WithoutCancel(ctx))
		s.readFailed(err)
		if err == nil {
			d.after = &a
			if left >= 0 && a.ActiveSessions != left {
				d.releasedHeap = -1 // sessions ended during the GC: no clean pair
				s.notes = append(s.notes, fmt.Sprintf("step %d (%s): sessions went from %d to %d during the GC after the logouts: no heap point", n, phase, left, a.ActiveSessions))
			}
		}
	}
	st := judge(d, s.limits())
	st.Sessions, st.Phase = n, phase
	if d.heapAfterGC >= 0 && d.gcSessions >= 0 && before.ok {
		s.points = append(s.points, [2]float64{float64(d.gcSessions - before.sessions), d.heapAfterGC - before.mb})
	}
	// The server at rest after the step is the next step's reference.
	s.rest = rest{}
	if d.releasedHeap >= 0 && d.after != nil && d.after.ActiveSessions >= 0 {
		s.rest = rest{mb: d.releasedHeap, sessions: d.after.ActiveSessions, ok: true}
	}
	if o.OnStep != nil {
		o.OnStep(st)
	}
	if o.OnResults != nil {
		o.OnResults(st, out.r)
	}
	return st, nil
}

// settledSessions polls the server's active sessions until two reads
// agree (at most 5 s), and returns the last (-1 if it cannot read them).
func (s *searcher) settledSessions(ctx context.Context) int64 {
	last := int64(-2)
	for range 25 {
		r, err := s.tomcat.Sessions(ctx)
		if err != nil {
			s.readFailed(err)
			return -1
		}
		if r.ActiveSessions == last {
			return last
		}
		last = r.ActiveSessions
		select {
		case <-ctx.Done():
			return -1
		case <-time.After(200 * time.Millisecond):
		}
	}
	return last
}

// limits are the thresholds a step is judged by.
type limits struct {
	rules                                 []stats.Threshold
	slo                                   float64 // p95 ms, 0: none
	heap, threads, threadHold, conns, cpu float64
}

func (s *searcher) limits() limits {
	return limits{rules: s.base.Rules(), slo: float64(s.o.SLO) / float64(time.Millisecond),
		heap: s.o.HeapLimit, threads: s.o.ThreadLimit, threadHold: s.o.ThreadHold, conns: s.o.ConnLimit, cpu: s.o.CPULimit}
}

// stepData is what one step measured, for judge.
type stepData struct {
	n      int
	res    *stats.Results
	snaps  []Progress         // the client's snapshots during the hold
	hold   []server.Resources // the server's samples during the hold
	before *server.Resources  // the Manager's counters before the step
	// atJudge is the server's figures at the judgement (sessions held),
	// after the run's end.
	atJudge, after *server.Resources
	heapAfterGC    float64 // MB, -1: not read
	gcSessions     int64   // the server's sessions right after the GC
	releasedHeap   float64 // MB after a GC once the run ended (sessions logged out), -1: not read: the next step's rest
	held           int64   // sessions the client held at the judgement
	holdS          float64
	stable         bool
}

// stable reports whether the last w snapshots of the hold show the same
// sessions held and refused, p95s within a factor of 2 (or 20 ms) of each
// other, and the server's sessions within 1%.
func stable(snaps []Progress, srv []server.Resources, w int) bool {
	if len(snaps) < w {
		return false
	}
	tail := snaps[len(snaps)-w:]
	lo, hi := math.Inf(1), 0.0
	for _, p := range tail {
		if p.Sessions.Held != tail[0].Sessions.Held || p.Sessions.Rejected != tail[0].Sessions.Rejected ||
			p.Sessions.Established != tail[0].Sessions.Established {
			return false
		}
		if p.Interval.Total.Requests > 0 {
			lo, hi = min(lo, p.Interval.Total.P95), max(hi, p.Interval.Total.P95)
		}
	}
	if hi > 0 && hi > 2*lo && hi-lo > 20 {
		return false
	}
	if len(srv) >= w {
		st := srv[len(srv)-w:]
		a, b := st[0].ActiveSessions, st[0].ActiveSessions
		for _, r := range st {
			a, b = min(a, r.ActiveSessions), max(b, r.ActiveSessions)
		}
		if float64(b-a) > max(1, 0.01*float64(b)) {
			return false
		}
	}
	return true
}

// gcThrash is the share of a hold (%) spent collecting past which the
// heap counts as exhausted.
const gcThrash = 25.0

// judge turns a step's figures into its verdict and the signal that
// decided it. Signals are named in order of cause: the session cap,
// heap, thread pool, connections and CPU before response time and
// errors, which they explain.
func judge(d stepData, l limits) stats.CapacityStep {
	r := d.res
	st := stats.CapacityStep{Sessions: d.n, HoldS: d.holdS, Stable: d.stable, Held: d.held, ServerActive: -1,
		ServerCreated: -1, ServerRefused: -1, Consistent: true,
		BusyThreads: -1, MaxThreads: -1, Connections: -1, MaxConnections: -1, AcceptCount: -1,
		HeapAfterGCMB: d.heapAfterGC, HeapMaxMB: -1, CPU: -1, GCPauseMs: -1, GCPausePct: -1, OK: true}
	lat := r.Totals.Latency
	if r.Totals.Corrected != nil {
		lat = *r.Totals.Corrected
	}
	st.P50, st.P95, st.P99 = lat.P50, lat.P95, lat.P99
	if r.Totals.Requests > 0 {
		st.ErrorPct = 100 * float64(r.Totals.Errors) / float64(r.Totals.Requests)
	}
	st.RPS = r.Totals.RPS
	if len(d.snaps) > 0 {
		// Throughput during the hold, not over the ramp and logouts.
		var req, secs float64
		for _, p := range d.snaps {
			req += float64(p.Interval.Total.Requests)
			secs += p.Interval.End.Sub(p.Interval.Start).Seconds()
		}
		if secs > 0 {
			st.RPS = req / secs
		}
	}
	st.ClientCreated = r.Sessions.Established + r.Sessions.LoginFailures
	st.ClientRefused = r.ErrorsByKind[stats.SessionRejected.String()]
	if d.before != nil && d.after != nil {
		first := stats.ServerSample{SessionCounter: d.before.SessionCounter, RejectedSessions: d.before.RejectedSessions}
		last := stats.ServerSample{SessionCounter: d.after.SessionCounter, RejectedSessions: d.after.RejectedSessions}
		c := stats.CheckConsistency(r, &first, &last)
		st.ServerCreated, st.ServerRefused, st.Consistent, st.Problems = c.ServerCreated, c.ServerRejected, c.OK, c.Problems
	}
	// The server during the hold.
	var busyN, cpuN int
	var cpuSum float64
	minHeap := math.Inf(1)
	for _, x := range d.hold {
		st.BusyThreads, st.MaxThreads = max(st.BusyThreads, x.BusyThreads), max(st.MaxThreads, x.MaxThreads)
		st.Connections, st.MaxConnections, st.AcceptCount = max(st.Connections, x.ConnectionCount), max(st.MaxConnections, x.MaxConnections), max(st.AcceptCount, x.AcceptCount)
		st.HeapMaxMB = max(st.HeapMaxMB, x.HeapMaxMB)
		if x.HeapUsedMB >= 0 {
			minHeap = min(minHeap, x.HeapUsedMB)
		}
		if x.MaxThreads > 0 && float64(x.BusyThreads) >= l.threads*float64(x.MaxThreads) {
			busyN++
		}
		if x.ProcessCPU >= 0 {
			cpuSum += x.ProcessCPU
			cpuN++
		}
	}
	if len(d.hold) > 0 {
		st.BusyShare = float64(busyN) / float64(len(d.hold))
	}
	if cpuN > 0 {
		st.CPU = cpuSum / float64(cpuN)
	}
	if j := d.atJudge; j != nil {
		st.ServerActive = j.ActiveSessions
		st.HeapMaxMB = max(st.HeapMaxMB, j.HeapMaxMB)
		if len(d.hold) > 0 && d.hold[0].GCTimeMs >= 0 && j.GCTimeMs >= 0 {
			st.GCPauseMs = float64(j.GCTimeMs - d.hold[0].GCTimeMs)
			if span := j.At.Sub(d.hold[0].At).Seconds(); span > 0 {
				st.GCPausePct = 100 * st.GCPauseMs / 1000 / span
			}
		}
	} else if len(d.hold) > 0 {
		st.ServerActive = d.hold[len(d.hold)-1].ActiveSessions
	}

	type broke struct{ signal, why string }
	var bs []broke
	refused := max(r.Sessions.Rejected, st.ClientRefused)
	if refused > 0 || st.ServerRefused > 0 {
		why := fmt.Sprintf("the server refused sessions to %d VUs (client: %d refusals", r.Sessions.Rejected, st.ClientRefused)
		if st.ServerRefused >= 0 {
			why += fmt.Sprintf("; server: rejectedSessions +%d", st.ServerRefused)
		}
		why += ")"
		if d.atJudge != nil && d.atJudge.MaxActiveSessions > 0 {
			why += fmt.Sprintf(" at maxActiveSessions = %d", d.atJudge.MaxActiveSessions)
		}
		bs = append(bs, broke{SignalCap, why})
	}
	heap, heapHow := st.HeapAfterGCMB, "after GC"
	if heap < 0 && !math.IsInf(minHeap, 1) {
		heap, heapHow = minHeap, "lowest during the hold (no GC invoked)"
	}
	if heap >= 0 && st.HeapMaxMB > 0 && heap > l.heap*st.HeapMaxMB {
		bs = append(bs, broke{SignalHeap, fmt.Sprintf("heap %s %.0f MB is over %.0f%% of the max %.0f MB", heapHow, heap, 100*l.heap, st.HeapMaxMB)})
	} else if st.GCPausePct > gcThrash {
		// A heap near its max shows first as the collector running
		// most of the time, before a GC can be asked for.
		bs = append(bs, broke{SignalHeap, fmt.Sprintf("GC took %.0f%% of the hold (%.0f ms), over %.0f%%: the heap is near its max", st.GCPausePct, st.GCPauseMs, gcThrash)})
	}
	if len(d.hold) > 0 && st.BusyShare >= l.threadHold && st.MaxThreads > 0 {
		bs = append(bs, broke{SignalThreads, fmt.Sprintf("busy threads >= %.0f%% of maxThreads %d in %.0f%% of the hold's samples (peak %d)",
			100*l.threads, st.MaxThreads, 100*st.BusyShare, st.BusyThreads)})
	}
	if st.MaxConnections > 0 && float64(st.Connections) >= l.conns*float64(st.MaxConnections) {
		bs = append(bs, broke{SignalConnections, fmt.Sprintf("connections %d reached %.0f%% of maxConnections %d (more wait in the accept queue of %d)",
			st.Connections, 100*l.conns, st.MaxConnections, st.AcceptCount)})
	}
	if st.CPU >= 0 && st.CPU > l.cpu {
		bs = append(bs, broke{SignalCPU, fmt.Sprintf("process CPU %.0f%% of all cores over the hold, over %.0f%%", 100*st.CPU, 100*l.cpu)})
	}
	latencyRule := false
	if len(l.rules) > 0 {
		stats.CheckThresholds(r, l.rules)
		for _, t := range r.Thresholds {
			if t.Unit == "ms" {
				latencyRule = true
			}
			if !t.OK && !t.Deferred {
				sig := SignalErrors
				if t.Unit == "ms" {
					sig = SignalResponse
				}
				bs = append(bs, broke{sig, fmt.Sprintf("threshold %s failed (observed %.4g%s)", t.Expr, t.Observed, t.Unit)})
			}
		}
	}
	if !latencyRule && l.slo > 0 && st.P95 > l.slo {
		bs = append(bs, broke{SignalResponse, fmt.Sprintf("p95 %.4g ms is over the SLO %.4g ms", st.P95, l.slo)})
	}
	if n := r.Sessions.LoginFailures; n > 0 {
		bs = append(bs, broke{SignalErrors, fmt.Sprintf("%d logins failed", n)})
	}
	if other := r.Totals.Errors - st.ClientRefused; r.Totals.Requests > 0 && float64(other) > 0.01*float64(r.Totals.Requests) {
		bs = append(bs, broke{SignalErrors, fmt.Sprintf("%.2f%% of requests failed besides refusals", 100*float64(other)/float64(r.Totals.Requests))})
	}
	if len(bs) > 0 {
		order := []string{SignalCap, SignalHeap, SignalThreads, SignalConnections, SignalCPU, SignalResponse, SignalErrors}
		best := len(order)
		var whys []string
		for _, b := range bs {
			whys = append(whys, b.signal+": "+b.why)
			for i, o := range order {
				if o == b.signal && i < best {
					best = i
				}
			}
		}
		st.OK, st.Signal, st.Why = false, order[best], strings.Join(whys, "; ")
	}
	return st
}

// WriteSearch writes the search's table, the knee and its binding
// limit, the heap per session and the recommendation with its formulas.
func WriteSearch(w io.Writer, r *SearchResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "sessions\tphase\thold s\theld c/s\tcreated c/s\trefused c/s\tp95 ms\tp99 ms\terrors\tthreads\tconns\theap after GC\tCPU\tGC ms\tverdict\tsignal\t\n")
	rows := r.Steps
	if r.Warmup != nil {
		rows = append([]stats.CapacityStep{*r.Warmup}, rows...)
	}
	for _, s := range rows {
		verdict := "ok"
		if !s.OK {
			verdict = "BROKE"
		}
		if s.Phase == "warmup" {
			verdict = "-"
		}
		threads, conns, heap, cpu, gc := "-", "-", "-", "-", "-"
		if s.MaxThreads > 0 {
			threads = fmt.Sprintf("%d/%d (%.0f%%)", s.BusyThreads, s.MaxThreads, 100*s.BusyShare)
		}
		if s.MaxConnections > 0 {
			conns = fmt.Sprintf("%d/%d", s.Connections, s.MaxConnections)
		}
		if s.HeapAfterGCMB >= 0 {
			heap = fmt.Sprintf("%.1f/%.0f MB", s.HeapAfterGCMB, s.HeapMaxMB)
		}
		if s.CPU >= 0 {
			cpu = pct(s.CPU)
		}
		if s.GCPauseMs >= 0 {
			gc = fmt.Sprintf("%.0f", s.GCPauseMs)
		}
		fmt.Fprintf(tw, "%d\t%s\t%.1f\t%d/%s\t%d/%s\t%d/%s\t%.3g\t%.3g\t%.2f%%\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			s.Sessions, s.Phase, s.HoldS, s.Held, known(s.ServerActive), s.ClientCreated, known(s.ServerCreated), s.ClientRefused, known(s.ServerRefused),
			s.P95, s.P99, s.ErrorPct, threads, conns, heap, cpu, gc, verdict, s.Signal)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, s := range rows {
		if !s.OK {
			fmt.Fprintf(w, "step %d (%s) broke on %s: %s\n", s.Sessions, s.Phase, s.Signal, s.Why)
		}
		for _, p := range s.Problems {
			fmt.Fprintf(w, "step %d (%s): client and server disagree: %s\n", s.Sessions, s.Phase, p)
		}
	}
	for _, n := range r.NonMonotonic {
		fmt.Fprintf(w, "non-monotonic: %s\n", n)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "knee: %d sessions (%s)\n", r.Knee, r.KneeWhy)
	if r.Binding != "" {
		fmt.Fprintf(w, "binding limit: %s\n", r.Binding)
	} else {
		fmt.Fprintf(w, "binding limit: none reached\n")
	}
	for _, b := range r.BindingWhy {
		fmt.Fprintf(w, "  %s\n", b)
	}
	if r.RaisedCap != 0 {
		restored := "unknown"
		if r.CapRestored != nil {
			restored = fmt.Sprint(*r.CapRestored)
		}
		fmt.Fprintf(w, "maxActiveSessions raised from %d to %d for the search; restored: %s\n", r.ConfiguredCap, r.RaisedCap, restored)
	}
	if f := r.HeapPerSession; f != nil {
		fmt.Fprintf(w, "heap per session: %.1f KB, %.0f%% interval [%.1f, %.1f] KB\n  %s\n", f.SlopeKB, 100*f.Confidence, f.LowKB, f.HighKB, f.Formula)
	}
	fmt.Fprintln(w, "recommendation:")
	for _, f := range r.Recommendation {
		if _, err := fmt.Fprintf(w, "  %s = %s %s\n      %s\n", f.Name, fmtFigure(f.Value), f.Unit, f.Formula); err != nil {
			return err
		}
	}
	return nil
}

func known(n int64) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// fmtFigure writes a search figure: whole numbers as such, others to 4 digits.
func fmtFigure(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4g", v)
}
