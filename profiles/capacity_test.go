package profiles

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/server"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// Student's t quantiles against the published table (two-sided 95%).
func TestCapacityTQuantile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ df, want float64 }{
		{1, 12.7062}, {2, 4.3027}, {3, 3.1824}, {5, 2.5706}, {10, 2.2281}, {30, 2.0423}, {1000, 1.9623},
	} {
		if got := tQuantile(0.975, tc.df); math.Abs(got-tc.want) > 5e-4 {
			t.Errorf("t(0.975, %g df) = %.5f, want %.4f", tc.df, got, tc.want)
		}
	}
	if got := tQuantile(0.95, 4); math.Abs(got-2.1318) > 5e-4 {
		t.Errorf("t(0.95, 4) = %.5f, want 2.1318", got)
	}
}

// The heap fit: the slope, its interval from the residuals and t, and
// no fit without three points at two session counts.
func TestCapacityFitHeap(t *testing.T) {
	t.Parallel()
	// y = 10 MB + 0.05 MB × x with residuals +0.1, −0.1, −0.1, +0.1
	// (orthogonal to 1 and x, so the fit is exact): SSE = 0.04, Sxx =
	// 50000, se = √(0.04 / 2 / 50000) MB, t(0.975, 2) = 4.3027.
	f := fitHeap([][2]float64{{0, 10.1}, {100, 14.9}, {200, 19.9}, {300, 25.1}}, 0.95)
	if f == nil {
		t.Fatal("no fit")
	}
	half := 4.3027 * math.Sqrt(0.04/2/50000) * 1024
	if math.Abs(f.SlopeKB-51.2) > 1e-9 || math.Abs(f.InterceptMB-10) > 1e-9 ||
		math.Abs(f.LowKB-(51.2-half)) > 0.01 || math.Abs(f.HighKB-(51.2+half)) > 0.01 {
		t.Errorf("fit %+v; want slope 51.2 KB, intercept 10 MB, interval 51.2 ± %.3f KB", f, half)
	}
	if !strings.Contains(f.Formula, "4 points") || !strings.Contains(f.Formula, "2 df") {
		t.Errorf("formula %q: want the points and the degrees of freedom", f.Formula)
	}
	// A perfect line: a zero-width interval.
	if f := fitHeap([][2]float64{{0, 1}, {10, 2}, {20, 3}}, 0.95); f == nil || math.Abs(f.LowKB-f.HighKB) > 1e-9 || math.Abs(f.SlopeKB-102.4) > 1e-9 {
		t.Errorf("perfect line: %+v", f)
	}
	for _, pts := range [][][2]float64{nil, {{1, 1}, {2, 2}}, {{5, 1}, {5, 2}, {5, 3}}} {
		if f := fitHeap(pts, 0.95); f != nil {
			t.Errorf("points %v: fit %+v, want none", pts, f)
		}
	}
}

func figure(t *testing.T, fs []stats.Figure, name string) *stats.Figure {
	t.Helper()
	for i := range fs {
		if fs[i].Name == name {
			return &fs[i]
		}
	}
	return nil
}

// The recommendation: Little's law with the sweep delay, the cap below
// the knee by the headroom, the timeout rounded down to whole minutes,
// no circular advice from a configured cap, maxThreads when threads bind.
func TestCapacityRecommend(t *testing.T) {
	t.Parallel()
	traffic := func(a advice) advice {
		a.arrivalRate, a.activeTime, a.abandonShare, a.timeout, a.headroom = 1, 2*time.Minute, 0.5, 30*time.Minute, 0.2
		a.sweep, a.sweepKnown, a.sweepFrom = 60*time.Second, true, "backgroundProcessorDelay 10 s (engine) × processExpiresFrequency 6"
		return a
	}
	kneeStep := &stats.CapacityStep{Sessions: 1000, P95: 12, BusyThreads: 20, MaxThreads: 200, HeapAfterGCMB: 180, HeapMaxMB: 256, CPU: 0.4}
	type want struct {
		name  string
		value float64
		says  []string
	}
	for _, tc := range []struct {
		name string
		in   advice
		want []want
		not  []string // figures that must not be there
	}{
		{"heap binds: shorten the timeout, rounded down", traffic(advice{knee: 1000, binding: SignalHeap, kneeStep: kneeStep}), []want{
			{"expiry sweep delay", 60, []string{"backgroundProcessorDelay 10 s", "× processExpiresFrequency 6"}},
			{"maxActiveSessions", 800, []string{"⌊1000 × (1 − 0.20)⌋ = 800"}},
			// ⌈1 × (120 + 0.5 × (1800 + 60))⌉ = 1050 > 800
			{"sessions held", 1050, []string{"(120 s + 0.50 × (1800 s + 60 s))", "= 1050"}},
			// (800 / 1 − 120) / 0.5 − 60 = 1300 s → 21 min
			{"session timeout", 1260, []string{"(800 / 1 − 120) / 0.50 − 60 = 1300 s", "⌊1300 s / 60⌋ = 21 min"}},
		}, nil},
		{"the configured cap binds: no timeout from it", traffic(advice{knee: 300, binding: SignalCap, configuredCap: 300, kneeStep: kneeStep}), []want{
			{"capacity", 300, []string{"configured cap (maxActiveSessions = 300) is the binding limit", "--raise-cap", "heap after GC 180/256 MB"}},
			{"maxActiveSessions", 300, []string{"keep the configured 300"}},
			{"sessions short", 1050 - 300, []string{"raise maxActiveSessions"}},
		}, []string{"session timeout"}},
		{"fits", traffic(advice{knee: 5000, binding: SignalResponse, kneeStep: kneeStep}), []want{
			{"maxActiveSessions", 4000, nil},
			{"headroom left", 4000 - 1050, []string{"4000 − 1050"}},
			{"session timeout", 1800, []string{"keep 30m0s"}},
		}, nil},
		{"no timeout fits: servers", advice{knee: 100, binding: SignalCPU, arrivalRate: 10, activeTime: time.Minute, abandonShare: 0.5, timeout: 30 * time.Minute, headroom: 0.2}, []want{
			// the sweep is not known: Tomcat's 60 s is assumed and said so
			{"expiry sweep delay", 60, []string{"Tomcat's defaults; not read from the server"}},
			// ⌈10 × (60 + 0.5 × 1860)⌉ = 9900; ⌈9900 / 80⌉ = 124
			{"servers", 124, []string{"⌈9900 / 80⌉ = 124"}},
		}, nil},
		{"no traffic given", advice{knee: 300, binding: SignalResponse, headroom: 0.2, timeout: 30 * time.Minute}, []want{
			{"maxActiveSessions", 240, nil},
			{"session timeout", 1800, []string{"give --arrival-rate"}},
		}, []string{"sessions held"}},
		{"threads bind: maxThreads", advice{knee: 50, binding: SignalThreads, headroom: 0.2, target: 200, timeout: 30 * time.Minute,
			kneeStep:  &stats.CapacityStep{Sessions: 50, RPS: 100, CPU: 0.3},
			brokeStep: &stats.CapacityStep{Sessions: 100, RPS: 160, MaxThreads: 8, AcceptCount: 100, MaxConnections: 8192}}, []want{
			// 8 threads / 160 req/s = 50 ms; ⌈2 req/s × 200 × 0.05 s × 1.2⌉ = 24
			{"service time", 50, []string{"8 / 160 req/s"}},
			{"maxThreads", 24, []string{"--max 200", "now 8", "CPU at the knee 30%"}},
			{"acceptCount", 100, []string{"max(100, 24)"}},
		}, nil},
		{"no knee", advice{}, []want{{"capacity", 0, []string{"start lower"}}}, []string{"maxActiveSessions"}},
	} {
		got := recommend(tc.in)
		var dump strings.Builder
		for _, f := range got {
			fmt.Fprintf(&dump, "  %s = %g %s: %s\n", f.Name, f.Value, f.Unit, f.Formula)
		}
		for _, w := range tc.want {
			f := figure(t, got, w.name)
			if f == nil {
				t.Errorf("%s: no %q figure:\n%s", tc.name, w.name, dump.String())
				continue
			}
			if math.Abs(f.Value-w.value) > 1e-9 {
				t.Errorf("%s: %s = %g, want %g:\n%s", tc.name, w.name, f.Value, w.value, dump.String())
			}
			for _, s := range w.says {
				if !strings.Contains(f.Formula, s) {
					t.Errorf("%s: %s formula %q does not say %q", tc.name, w.name, f.Formula, s)
				}
			}
		}
		for _, n := range tc.not {
			if figure(t, got, n) != nil {
				t.Errorf("%s: unexpected %q figure:\n%s", tc.name, n, dump.String())
			}
		}
	}
}

// Whatever the inputs, the recommended timeout never rounds up: the
// sessions it lets the traffic hold, sweep delay included, stay within
// the recommended cap; and it is a whole number of minutes.
func TestCapacityTimeoutNeverRoundsUp(t *testing.T) {
	t.Parallel()
	checked := 0
	for _, knee := range []int{150, 299, 300, 301, 375, 1000, 4321} {
		for _, rate := range []float64{0.1, 0.5, 1, 3.7} {
			for _, act := range []time.Duration{time.Second, 30 * time.Second, 2 * time.Minute} {
				for _, ab := range []float64{0.1, 0.5, 1} {
					for _, sweep := range []time.Duration{time.Second, 10 * time.Second, 60 * time.Second} {
						in := advice{knee: knee, binding: SignalHeap, arrivalRate: rate, activeTime: act, abandonShare: ab,
							timeout: 8 * time.Hour, headroom: 0.2, sweep: sweep, sweepKnown: true, sweepFrom: "x"}
						fs := recommend(in)
						to, capf := figure(t, fs, "session timeout"), figure(t, fs, "maxActiveSessions")
						if to == nil || figure(t, fs, "servers") != nil || figure(t, fs, "headroom left") != nil {
							continue // no timeout fits, or the traffic fits as it is
						}
						checked++
						held := rate * (act.Seconds() + ab*(to.Value+sweep.Seconds()))
						if held > capf.Value+1e-9 || math.Mod(to.Value, 60) != 0 {
							t.Errorf("%+v: timeout %g s lets %.2f sessions be held, over the cap %g (or not whole minutes)", in, to.Value, held, capf.Value)
						}
						// And it is the largest such minute: one more would not fit.
						if more := rate * (act.Seconds() + ab*(to.Value+60+sweep.Seconds())); more <= capf.Value {
							t.Errorf("%+v: timeout %g s, but %g s would fit too (%.2f <= %g)", in, to.Value, to.Value+60, more, capf.Value)
						}
						if !strings.Contains(to.Formula, fmt.Sprintf("− %.0f =", sweep.Seconds())) {
							t.Errorf("formula %q: the sweep delay is not in the arithmetic", to.Formula)
						}
					}
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d cases had a timeout", checked)
	}
}

// fakeSteps is a server whose steps pass up to limit sessions (broken by
// signal above), except the outcomes scripted per step and attempt.
type fakeSteps struct {
	limit  int
	signal string
	script map[int][]bool // step → outcomes of its runs in order, then the limit decides
	runs   []string       // "n/phase" in order
}

func (f *fakeSteps) run(_ context.Context, n int, phase string) (stats.CapacityStep, error) {
	k := 0
	for _, r := range f.runs {
		if strings.HasPrefix(r, fmt.Sprint(n)+"/") {
			k++
		}
	}
	f.runs = append(f.runs, fmt.Sprintf("%d/%s", n, phase))
	ok := n <= f.limit
	if s := f.script[n]; k < len(s) {
		ok = s[k]
	}
	st := stats.CapacityStep{Sessions: n, OK: ok, ServerActive: int64(min(n, f.limit))}
	if !ok {
		st.Signal, st.Why = f.signal, fmt.Sprintf("%s broke at %d", f.signal, n)
	}
	return st, nil
}

// The search's decisions over a fake server: retry once, bisect, the
// cap's proof, confirmation of the knee, non-monotonic steps, the
// binding limit.
func TestCapacitySearchDecisions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		sp      searchPlan
		f       fakeSteps
		knee    int
		binding string
		runs    string
		nonMono int
		note    string
	}{
		{"cap 300: proof by refusals, no bisection", searchPlan{start: 100, step: 100, max: 1000, refine: 9, capLimit: 300},
			fakeSteps{limit: 300, signal: SignalCap}, 300, SignalCap,
			"100/step 200/step 300/step 400/step 400/retry 300/confirm", 0, "refused sessions at the cap of 300"},
		{"refusals below the cap prove nothing", searchPlan{start: 100, step: 100, max: 1000, refine: 60, capLimit: 300},
			fakeSteps{limit: 250, signal: SignalCap}, 250, SignalCap,
			"100/step 200/step 300/step 300/retry 250/bisect 250/confirm", 0, ""},
		{"bisect to the limit", searchPlan{start: 100, step: 100, max: 1000, refine: 10},
			fakeSteps{limit: 250, signal: SignalResponse}, 250, SignalResponse,
			"100/step 200/step 300/step 300/retry 250/bisect 275/bisect 275/retry 262/bisect 262/retry 256/bisect 256/retry 250/confirm", 0, ""},
		{"a cold first step passes on its retry", searchPlan{start: 100, step: 100, max: 300, refine: 10},
			fakeSteps{limit: 1000, signal: SignalResponse, script: map[int][]bool{100: {false}}}, 300, "",
			"100/step 100/retry 200/step 300/step 300/confirm", 1, "step 100 broke (response time broke at 100) and passed on its retry"},
		{"the knee must pass twice", searchPlan{start: 100, step: 100, max: 1000, refine: 100},
			fakeSteps{limit: 200, signal: SignalHeap, script: map[int][]bool{300: {true, false, false}}}, 200, SignalHeap,
			"100/step 200/step 300/step 400/step 400/retry 300/confirm 300/retry 200/confirm", 0, "step 300 passed once, then broke twice"},
		{"the first step breaks twice: the search goes below it", searchPlan{start: 100, step: 100, max: 1000, refine: 10},
			fakeSteps{limit: 60, signal: SignalThreads}, 56, SignalThreads,
			"100/step 100/retry 50/bisect 75/bisect 75/retry 62/bisect 62/retry 56/bisect 56/confirm", 0, ""},
		{"the largest step passes", searchPlan{start: 100, step: 100, max: 200, refine: 10},
			fakeSteps{limit: 1000}, 200, "", "100/step 200/step 200/confirm", 0, ""},
		{"the users run out", searchPlan{start: 100, step: 100, max: 1000, refine: 10, users: 250},
			fakeSteps{limit: 1000}, 200, SignalUsers, "100/step 200/step 200/confirm", 0, "users run out at 250"},
	} {
		f := tc.f
		res, err := search(context.Background(), tc.sp, f.run)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := strings.Join(f.runs, " "); got != tc.runs {
			t.Errorf("%s: runs\n  %s\nwant\n  %s", tc.name, got, tc.runs)
		}
		if res.Knee != tc.knee || res.Binding != tc.binding || len(res.NonMonotonic) != tc.nonMono {
			t.Errorf("%s: knee %d binding %q non-monotonic %q; want %d, %q, %d", tc.name, res.Knee, res.Binding, res.NonMonotonic, tc.knee, tc.binding, tc.nonMono)
		}
		if len(res.Steps) != len(f.runs) {
			t.Errorf("%s: %d steps recorded, %d run", tc.name, len(res.Steps), len(f.runs))
		}
		if tc.note != "" && !strings.Contains(strings.Join(res.Notes, "\n"), tc.note) {
			t.Errorf("%s: notes %q, want %q", tc.name, res.Notes, tc.note)
		}
	}
}

// An interrupted search stops at once and says so.
func TestCapacitySearchInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res, err := search(ctx, searchPlan{start: 100, step: 100, max: 10000, refine: 10}, func(_ context.Context, s int, _ string) (stats.CapacityStep, error) {
		if n++; n == 2 {
			cancel()
		}
		return stats.CapacityStep{Sessions: s, OK: true}, nil
	})
	if err != nil || n > 3 || !strings.Contains(strings.Join(res.Notes, " "), "interrupted") {
		t.Errorf("%d steps, err %v, notes %q; want a stop after the cancel, noted", n, err, res.Notes)
	}
}

// A step's verdict names the signal that decided it, causes before the
// symptoms they explain, and every limit it broke.
func TestCapacityJudge(t *testing.T) {
	t.Parallel()
	base := func() stepData {
		at := time.Now()
		hold := make([]server.Resources, 4)
		for i := range hold {
			hold[i] = server.Resources{At: at.Add(time.Duration(i) * time.Second), ActiveSessions: 100, BusyThreads: 10, MaxThreads: 200,
				ConnectionCount: 100, MaxConnections: 8192, AcceptCount: 100, HeapUsedMB: 150, HeapMaxMB: 256, ProcessCPU: 0.3, GCTimeMs: 100 + int64(i)*10}
		}
		j := hold[3]
		j.At = at.Add(4 * time.Second)
		j.GCTimeMs = 140
		return stepData{n: 100, heapAfterGC: 60, gcSessions: 100, held: 100, holdS: 4,
			res: &stats.Results{
				Sessions:     stats.SessionCounts{Established: 100},
				ErrorsByKind: map[string]int64{},
				Totals:       stats.EndpointResult{Requests: 1000, Latency: stats.Percentiles{P50: 1, P95: 20, P99: 30}},
			},
			hold:    hold,
			atJudge: &j,
			before:  &server.Resources{SessionCounter: 1000, RejectedSessions: 7},
			after:   &server.Resources{SessionCounter: 1100, RejectedSessions: 7},
		}
	}
	l := limits{slo: 500, heap: 0.85, threads: 0.95, threadHold: 0.5, conns: 0.95, cpu: 0.9}
	for _, tc := range []struct {
		name   string
		change func(*stepData)
		signal string
		why    []string
	}{
		{"within the limits", func(*stepData) {}, "", nil},
		{"refused: the cap, before the errors it causes", func(d *stepData) {
			d.res.Sessions.Rejected, d.res.ErrorsByKind["session_rejected"], d.res.Totals.Errors = 12, 12, 12
			d.after.RejectedSessions = 19
			d.atJudge.MaxActiveSessions = 300
		}, SignalCap, []string{"refused sessions to 12 VUs", "rejectedSessions +12", "maxActiveSessions = 300"}},
		{"heap after GC", func(d *stepData) { d.heapAfterGC = 230 }, SignalHeap, []string{"heap after GC 230 MB is over 85% of the max 256 MB"}},
		{"heap without a GC: the lowest sample", func(d *stepData) {
			d.heapAfterGC = -1
			for i := range d.hold {
				d.hold[i].HeapUsedMB = 240 - float64(i)
			}
		}, SignalHeap, []string{"lowest during the hold (no GC invoked)"}},
		{"threads saturated most of the hold, before the response time", func(d *stepData) {
			for i := range d.hold[1:] {
				d.hold[i+1].BusyThreads = 200
			}
			d.res.Totals.Latency.P95 = 900
		}, SignalThreads, []string{"75% of the hold", "response time: p95 900 ms is over the SLO 500 ms"}},
		{"threads saturated in under half the hold", func(d *stepData) { d.hold[3].BusyThreads = 200 }, "", nil},
		{"GC thrash", func(d *stepData) { d.atJudge.GCTimeMs = 1300 }, SignalHeap, []string{"GC took 30% of the hold (1200 ms)"}},
		{"connections", func(d *stepData) { d.hold[2].ConnectionCount = 8000 }, SignalConnections, []string{"connections 8000"}},
		{"CPU", func(d *stepData) {
			for i := range d.hold {
				d.hold[i].ProcessCPU = 0.95
			}
		}, SignalCPU, []string{"process CPU 95%"}},
		{"response time", func(d *stepData) { d.res.Totals.Latency.P95 = 501 }, SignalResponse, []string{"p95 501 ms is over the SLO"}},
		{"login failures", func(d *stepData) { d.res.Sessions.LoginFailures = 3 }, SignalErrors, []string{"3 logins failed"}},
	} {
		d := base()
		tc.change(&d)
		st := judge(d, l)
		if st.OK != (tc.signal == "") || st.Signal != tc.signal {
			t.Errorf("%s: ok %v signal %q (%s); want %q", tc.name, st.OK, st.Signal, st.Why, tc.signal)
		}
		for _, w := range tc.why {
			if !strings.Contains(st.Why, w) {
				t.Errorf("%s: why %q does not say %q", tc.name, st.Why, w)
			}
		}
		if (st.GCPauseMs != 40 && tc.name != "GC thrash") || st.HeapMaxMB != 256 || st.ServerActive != 100 {
			t.Errorf("%s: step %+v", tc.name, st)
		}
	}
	// Client vs server: the server made 100 sessions for 100 logins.
	d := base()
	if st := judge(d, l); !st.Consistent || st.ClientCreated != 100 || st.ServerCreated != 100 {
		t.Errorf("consistency %+v", st)
	}
	d.after.SessionCounter = 1140
	if st := judge(d, l); st.Consistent || !strings.Contains(strings.Join(st.Problems, " "), "40 more came from elsewhere") {
		t.Errorf("consistency with 40 sessions from elsewhere: %v %q", st.Consistent, st.Problems)
	}
}

// A hold is stable when sessions, refusals and p95 settle, and the
// server's sessions too.
func TestCapacityStable(t *testing.T) {
	t.Parallel()
	snap := func(held, rej int64, p95 float64) Progress {
		p := Progress{Sessions: stats.SessionCounts{Held: held, Established: held, Rejected: rej}}
		p.Interval.Total = stats.IntervalStats{Counts: stats.Counts{Requests: 10}, P95: p95}
		return p
	}
	srv := func(a ...int64) []server.Resources {
		var out []server.Resources
		for _, n := range a {
			out = append(out, server.Resources{ActiveSessions: n})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		snaps []Progress
		srv   []server.Resources
		want  bool
	}{
		{"settled", []Progress{snap(90, 0, 50), snap(100, 0, 10), snap(100, 0, 12), snap(100, 0, 11)}, srv(100, 100, 100), true},
		{"too few", []Progress{snap(100, 0, 10), snap(100, 0, 10)}, nil, false},
		{"still logging in", []Progress{snap(98, 0, 10), snap(99, 0, 10), snap(100, 0, 10)}, nil, false},
		{"refusals go on", []Progress{snap(100, 1, 10), snap(100, 2, 10), snap(100, 3, 10)}, nil, false},
		{"p95 swings", []Progress{snap(100, 0, 10), snap(100, 0, 40), snap(100, 0, 12)}, nil, false},
		{"small p95 swing in ms", []Progress{snap(100, 0, 1), snap(100, 0, 3), snap(100, 0, 2)}, nil, true},
		{"server sessions move", []Progress{snap(100, 0, 10), snap(100, 0, 10), snap(100, 0, 10)}, srv(80, 90, 100), false},
	} {
		if got := stable(tc.snaps, tc.srv, 3); got != tc.want {
			t.Errorf("%s: stable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The search works on copies: the caller's plan keeps its end, server
// block, load and scenarios.
func TestCapacityPlanCopies(t *testing.T) {
	t.Parallel()
	srv := &server.Config{Kind: "tomcat", URL: "http://127.0.0.1:1/manager", Context: "/x"}
	script := &vuser.Script{Session: vuser.Session{End: vuser.EndAbandon}, Login: vuser.Login{Kind: vuser.LoginSpringForm}}
	sc := &Scenario{Name: "a", Weight: 1, Script: script, Users: NoUsers()}
	p := &Plan{Scenarios: []*Scenario{sc}, Server: srv, Load: Load{VUs: 7, Duration: time.Minute}}
	s := &searcher{base: searchPlanCopy(p)}
	step := s.stepPlan(300, time.Second, 5*time.Second)
	step.Scenarios[0].Script.Seed = 42
	if p.Server != srv || p.Scenarios[0] != sc || sc.Script != script || script.Session.End != vuser.EndAbandon || script.Seed != 0 || p.Load.VUs != 7 {
		t.Errorf("the caller's plan changed: %+v, script %+v", p, script)
	}
	if step.Server != nil || step.Scenarios[0].Script.Session.End != vuser.EndLogout || step.Load.MaxVUs() != 300 {
		t.Errorf("step plan: server %v, end %s, %d VUs", step.Server, step.Scenarios[0].Script.Session.End, step.Load.MaxVUs())
	}
}
