package profiles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// SearchOptions drive a sessions capacity search.
type SearchOptions struct {
	// Start, Step and Max are the concurrent sessions of the first step,
	// the increase per step, and the last step tried.
	Start, Step, Max int
	// Hold is how long each step holds its sessions (after ramping up).
	Hold time.Duration
	// Ramp is how long each step takes to log its VUs in. Default Hold/4.
	Ramp time.Duration
	// Refine bisects between the knee and the step that broke the limits
	// until they are at most Refine sessions apart. Default Step/10; -1: off.
	Refine int
	// HeapLimit stops the search when the server's heap use passes this
	// share of its max heap (0.85 by default; needs server:).
	HeapLimit float64
	// ArrivalRate (users per second), ActiveTime and AbandonShare describe
	// the production traffic the recommendation is for.
	ArrivalRate  float64
	ActiveTime   time.Duration
	AbandonShare float64
	// Timeout is the session timeout in production (for the
	// recommendation). Default 30m.
	Timeout time.Duration
	// OnStep is told each step's result as it ends.
	OnStep func(SearchStep)
	// Run options for each step's run (progress display etc.).
	Run RunOptions
}

// SearchStep is what one step of the search measured.
type SearchStep struct {
	Sessions    int     `json:"sessions"`    // VUs, each holding one session
	Held        int64   `json:"held"`        // sessions the client held at the end of the hold
	ServerPeak  int64   `json:"server_peak"` // the server's peak activeSessions
	P50         float64 `json:"p50_ms"`      // headline latency (corrected where it exists)
	P95         float64 `json:"p95_ms"`
	P99         float64 `json:"p99_ms"`
	ErrorPct    float64 `json:"error_pct"`    // failed requests, %
	Rejected    int64   `json:"rejected"`     // VUs refused a session
	HeapMB      float64 `json:"heap_mb"`      // the server's peak heap use in the step
	HeapMaxMB   float64 `json:"heap_max_mb"`  // the server's max heap
	BusyThreads int64   `json:"busy_threads"` // peak busy connector threads
	MaxThreads  int64   `json:"max_threads"`
	OK          bool    `json:"ok"`
	Why         string  `json:"why,omitempty"` // why the step broke the limits
}

// SearchResult is the outcome of a capacity search.
type SearchResult struct {
	Steps []SearchStep `json:"steps"`
	// Knee is the last step within the limits: the sessions the server
	// holds before it breaks them (0: even the first step broke them).
	Knee int `json:"knee"`
	// Broke says why the search stopped ("" if it reached Max).
	Broke string `json:"broke,omitempty"`
	// HeapPerSessionKB is the heap each session costs on the server
	// (slope of heap over sessions across the steps), -1 if unknown.
	HeapPerSessionKB float64 `json:"heap_per_session_kb"`
	// Recommendation, with its arithmetic.
	Recommendation []string `json:"recommendation"`
}

// SearchSessions raises the number of concurrent sessions step by step:
// each step logs in that many VUs (each its own user and session), holds
// them, and logs them out. It stops at the first step that breaks the
// plan's thresholds, gets a session refused, or drives the server's heap
// past the limit, and recommends maxActiveSessions and a session timeout
// for the given arrival rate by Little's law.
func SearchSessions(ctx context.Context, p *Plan, o SearchOptions) (*SearchResult, error) {
	if o.Start <= 0 || o.Step <= 0 || o.Max < o.Start || o.Hold <= 0 {
		return nil, errors.New("sessions search: need start > 0, step > 0, max >= start and a hold > 0")
	}
	if o.Ramp <= 0 {
		o.Ramp = max(o.Hold/4, time.Second)
	}
	if o.HeapLimit <= 0 {
		o.HeapLimit = 0.85
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Minute
	}
	for _, sc := range p.Scenarios {
		if sc.Script.Login.Kind == vuser.LoginNone {
			return nil, errors.New("sessions search: the plan has no login (session.login), so its VUs hold no sessions")
		}
	}
	// Every step ends its sessions, so the next one starts from the same
	// state; on copies, so the caller's plan stays as it was.
	own := *p
	own.Scenarios = make([]*Scenario, len(p.Scenarios))
	for i, sc := range p.Scenarios {
		c, s := *sc, *sc.Script
		s.Session.End = vuser.EndLogout
		c.Script = &s
		own.Scenarios[i] = &c
	}
	p = &own
	if o.Refine == 0 {
		o.Refine = max(o.Step/10, 1)
	}
	res := &SearchResult{HeapPerSessionKB: -1}
	var heapPts [][2]float64 // (sessions held on the server, heap MB)
	try := func(n int) (SearchStep, error) {
		step := *p
		step.Load = Load{Stages: []Stage{{Duration: o.Ramp, Target: n}, {Duration: o.Hold, Target: n}}, GracefulStop: p.Load.GracefulStop}
		r, err := Run(ctx, &step, o.Run)
		if err != nil {
			return SearchStep{}, err
		}
		st := measureStep(n, r, p, o.HeapLimit)
		res.Steps = append(res.Steps, st)
		if o.OnStep != nil {
			o.OnStep(st)
		}
		if st.ServerPeak > 0 && st.HeapMB > 0 {
			heapPts = append(heapPts, [2]float64{float64(st.ServerPeak), st.HeapMB})
		}
		return st, nil
	}
	broken := 0
	for n := o.Start; n <= o.Max; n += o.Step {
		if ctx.Err() != nil {
			res.Broke = "interrupted"
			break
		}
		if u := p.Scenarios[0].Users.Len(); u > 0 && n > u {
			res.Broke = fmt.Sprintf("the plan's users run out at %d sessions", u)
			break
		}
		st, err := try(n)
		if err != nil {
			return nil, err
		}
		if !st.OK {
			res.Broke, broken = st.Why, n
			break
		}
		res.Knee = n
	}
	// Bisect between the knee and the step that broke: steps are coarse,
	// the limit is somewhere between.
	for broken > 0 && o.Refine > 0 && broken-res.Knee > o.Refine && ctx.Err() == nil {
		mid := (res.Knee + broken) / 2
		st, err := try(mid)
		if err != nil {
			return nil, err
		}
		if st.OK {
			res.Knee = mid
		} else {
			res.Broke, broken = st.Why, mid
		}
	}
	slices.SortStableFunc(res.Steps, func(a, b SearchStep) int { return a.Sessions - b.Sessions })
	res.HeapPerSessionKB = heapSlopeKB(heapPts)
	res.Recommendation = recommend(res, o)
	return res, nil
}

// measureStep reads one step's run: the client's figures, the server's,
// and whether they stayed within the limits.
func measureStep(n int, r *stats.Results, p *Plan, heapLimit float64) SearchStep {
	st := SearchStep{Sessions: n, Held: r.Sessions.Established - r.Sessions.Expired, Rejected: r.Sessions.Rejected, HeapMB: -1, HeapMaxMB: -1, BusyThreads: -1, MaxThreads: -1, OK: true}
	lat := r.Totals.Latency
	if r.Totals.Corrected != nil {
		lat = *r.Totals.Corrected
	}
	st.P50, st.P95, st.P99 = lat.P50, lat.P95, lat.P99
	if r.Totals.Requests > 0 {
		st.ErrorPct = 100 * float64(r.Totals.Errors) / float64(r.Totals.Requests)
	}
	if s := r.Server; s != nil {
		st.ServerPeak = s.PeakActive
		for _, x := range s.Timeline {
			st.HeapMB = max(st.HeapMB, x.HeapUsedMB)
			st.HeapMaxMB = max(st.HeapMaxMB, x.HeapMaxMB)
			st.BusyThreads = max(st.BusyThreads, x.BusyThreads)
			st.MaxThreads = max(st.MaxThreads, x.MaxThreads)
		}
	}
	var why []string
	if r.Sessions.Rejected > 0 || r.ErrorsByKind[stats.SessionRejected.String()] > 0 {
		why = append(why, fmt.Sprintf("the server refused sessions to %d VUs", r.Sessions.Rejected))
	}
	if rules := p.Rules(); len(rules) > 0 && !stats.CheckThresholds(r, rules) {
		for _, t := range r.Thresholds {
			if !t.OK {
				why = append(why, fmt.Sprintf("threshold %s failed (observed %.4g%s)", t.Expr, t.Observed, t.Unit))
			}
		}
	}
	if st.HeapMaxMB > 0 && st.HeapMB > heapLimit*st.HeapMaxMB {
		why = append(why, fmt.Sprintf("server heap %.0f MB is over %.0f%% of its max %.0f MB", st.HeapMB, 100*heapLimit, st.HeapMaxMB))
	}
	if r.Sessions.LoginFailures > 0 {
		why = append(why, fmt.Sprintf("%d logins failed", r.Sessions.LoginFailures))
	}
	if len(why) > 0 {
		st.OK, st.Why = false, strings.Join(why, "; ")
	}
	return st
}

// heapSlopeKB is the least-squares slope of heap (MB) over sessions, in
// KB per session; -1 without two distinct points.
func heapSlopeKB(pts [][2]float64) float64 {
	if len(pts) < 2 {
		return -1
	}
	var sx, sy, sxx, sxy float64
	for _, p := range pts {
		sx, sy, sxx, sxy = sx+p[0], sy+p[1], sxx+p[0]*p[0], sxy+p[0]*p[1]
	}
	n := float64(len(pts))
	den := n*sxx - sx*sx
	if den == 0 {
		return -1
	}
	return (n*sxy - sx*sy) / den * 1024
}

// recommend turns the knee into settings for the given traffic, showing
// the arithmetic: sessions held = arrival rate × (active time + abandon
// share × timeout) (Little's law), with 20% headroom.
func recommend(r *SearchResult, o SearchOptions) []string {
	var out []string
	if r.Knee == 0 {
		return append(out, "even the first step broke the limits: start lower (--start) to find the capacity")
	}
	capacity := float64(r.Knee)
	out = append(out, fmt.Sprintf("capacity: the server held %d sessions within the limits%s", r.Knee, brokeAt(r)))
	if r.HeapPerSessionKB > 0 {
		out = append(out, fmt.Sprintf("heap per session: %.1f KB (slope of the server's heap over its sessions across the steps)", r.HeapPerSessionKB))
	}
	if o.ArrivalRate <= 0 || o.ActiveTime <= 0 {
		return append(out, fmt.Sprintf("maxActiveSessions: %d (the capacity; give --arrival-rate and --active-time for a recommendation from your traffic)", r.Knee))
	}
	lambda, act, a, timeout := o.ArrivalRate, o.ActiveTime.Seconds(), o.AbandonShare, o.Timeout.Seconds()
	held := lambda * (act + a*timeout)
	out = append(out, fmt.Sprintf("sessions held = arrival rate × (active time + abandon share × timeout) = %.4g/s × (%.0f s + %.2f × %.0f s) = %.0f",
		lambda, act, a, timeout, held))
	want := math.Ceil(held * 1.2)
	if want <= capacity {
		out = append(out, fmt.Sprintf("maxActiveSessions = %.0f × 1.2 headroom = %.0f (the server holds %d: fits)", held, want, r.Knee))
		out = append(out, fmt.Sprintf("session timeout: %s is fine", o.Timeout))
		return out
	}
	out = append(out, fmt.Sprintf("maxActiveSessions = %.0f × 1.2 headroom = %.0f exceeds the capacity %d: cap at %d (beyond it users get refused)", held, want, r.Knee, r.Knee))
	if a > 0 {
		// Solve λ × (act + a × t) × 1.2 = capacity for t.
		t := (capacity/1.2/lambda - act) / a
		if t > 0 {
			out = append(out, fmt.Sprintf("session timeout = (capacity / 1.2 / arrival rate − active time) / abandon share = (%d / 1.2 / %.4g − %.0f) / %.2f = %.0f s ≈ %s: shorten it to fit",
				r.Knee, lambda, act, a, t, (time.Duration(t)*time.Second).Round(time.Minute)))
			return out
		}
	}
	return append(out, "even with no timeout the active users alone exceed the capacity: add servers or memory")
}

func brokeAt(r *SearchResult) string {
	if r.Broke == "" {
		return " (the largest step tried; the real limit may be higher)"
	}
	return fmt.Sprintf(" (the next step broke them: %s)", r.Broke)
}

// WriteSearch writes the search's table and recommendation.
func WriteSearch(w io.Writer, r *SearchResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "sessions\theld\tserver\tp50 ms\tp95 ms\tp99 ms\terrors\trefused\theap MB\tbusy threads\tverdict\t\n")
	for _, s := range r.Steps {
		verdict := "ok"
		if !s.OK {
			verdict = "BROKE"
		}
		heap, threads := "-", "-"
		if s.HeapMB >= 0 {
			heap = fmt.Sprintf("%.0f/%.0f", s.HeapMB, s.HeapMaxMB)
		}
		if s.BusyThreads >= 0 {
			threads = fmt.Sprintf("%d/%d", s.BusyThreads, s.MaxThreads)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.3g\t%.3g\t%.3g\t%.2f%%\t%d\t%s\t%s\t%s\t\n",
			s.Sessions, s.Held, s.ServerPeak, s.P50, s.P95, s.P99, s.ErrorPct, s.Rejected, heap, threads, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if r.Broke != "" {
		fmt.Fprintf(w, "stopped: %s\n", r.Broke)
	}
	fmt.Fprintf(w, "knee: %d sessions\n", r.Knee)
	for _, l := range r.Recommendation {
		if _, err := fmt.Fprintf(w, "  %s\n", l); err != nil {
			return err
		}
	}
	return nil
}
