package stats

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Tolerance is how far one metric may move the wrong way before a
// comparison calls it a regression: Value percent of the base figure, or,
// with Points, Value percentage points (for error rates).
type Tolerance struct {
	Value  float64
	Points bool
}

// Tolerances maps comparison metrics (requests, iterations, rps, errors,
// p50, p90, p95, p99, p99.9, mean, max) to their tolerance. Metrics
// without one are shown but never regress.
type Tolerances map[string]Tolerance

// DefaultTolerances are always judged; a comparison's own tolerances are
// laid over them (they change a value or add a metric, never remove one):
// p50 and p99 up 10% (the median catches a slower service, the tail a
// stall), error rate up 0.1 percentage points, an endpoint's requests or
// the run's completed iterations down 10%.
func DefaultTolerances() Tolerances {
	return Tolerances{
		"p50":        {Value: 10},
		"p99":        {Value: 10},
		"errors":     {Value: 0.1, Points: true},
		"requests":   {Value: 10},
		"iterations": {Value: 10},
	}
}

// DefaultMinSamples is the fewest samples a latency figure needs in both
// runs to be judged; below it the figure is shown but not judged.
const DefaultMinSamples = 1000

// DefaultConfidence is the confidence level of the intervals compared.
const DefaultConfidence = 0.95

// DefaultMinChange is the least a latency must rise to regress, whatever
// its tolerance: sub-millisecond jitter of a very fast endpoint (timers,
// the scheduler) is not worth failing a build for.
const DefaultMinChange = time.Millisecond

// compareMetrics are the rows of a comparison, per endpoint, in order;
// iterations only on the totals.
var compareMetrics = []string{"requests", "iterations", "rps", "errors", "p50", "p90", "p95", "p99", "p99.9", "mean", "max"}

// latencyMetric reports whether m is a latency figure (ms).
func latencyMetric(m string) bool {
	return strings.HasPrefix(m, "p") || m == "mean" || m == "max"
}

// ParseTolerances parses "p99=10%,errors=0.1pp,rps=5%". Latencies, rps,
// requests and iterations take a percentage; errors a percentage
// (relative) or pp (points).
func ParseTolerances(s string) (Tolerances, error) {
	t := Tolerances{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "p999" {
			name = "p99.9"
		}
		if !ok || !slices.Contains(compareMetrics, name) {
			return nil, fmt.Errorf("max-regress %q: expected METRIC=N%% with METRIC one of p50, p90, p95, p99, p99.9, mean, max, errors, rps, requests, iterations", part)
		}
		val = strings.TrimSpace(val)
		var tol Tolerance
		num, isPct := strings.CutSuffix(val, "%")
		if !isPct {
			if num, tol.Points = strings.CutSuffix(val, "pp"); !tol.Points {
				return nil, fmt.Errorf("max-regress %q: expected a percentage (10%%) or, for errors, percentage points (0.1pp)", part)
			}
			if name != "errors" {
				return nil, fmt.Errorf("max-regress %q: percentage points (pp) only apply to errors", part)
			}
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("max-regress %q: %q is not a non-negative number", part, num)
		}
		tol.Value = f
		t[name] = tol
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("max-regress %q: no tolerance given", s)
	}
	return t, nil
}

// CompareOptions configures Compare; zero values take the defaults.
type CompareOptions struct {
	// Tolerances are laid over DefaultTolerances.
	Tolerances Tolerances
	// MinSamples is the fewest samples a latency figure needs in both
	// runs to be judged (default DefaultMinSamples).
	MinSamples int64
	// Confidence is the level of the intervals (default DefaultConfidence).
	Confidence float64
	// MinChange is the least a latency must rise to regress (default
	// DefaultMinChange).
	MinChange time.Duration
	// Force compares runs of different plans.
	Force bool
}

// ErrDifferentPlan is returned (wrapped) by Compare for runs of different
// plans or load shapes.
var ErrDifferentPlan = errors.New("runs of a different plan")

// Estimate is a figure of one run with its confidence interval [Lo, Hi]
// and the number of samples N behind it. Counts have Lo == Hi == Value.
type Estimate struct {
	Value, Lo, Hi float64
	N             int64
}

// CompareRow is one metric of one endpoint in a comparison.
type CompareRow struct {
	Endpoint string
	Metric   string
	// Corrected says the latencies are End−Intended in both runs; other
	// latency rows are service time (End−Start) in both.
	Corrected bool
	Base, New Estimate
	// Missing is "base" or "new" when the endpoint is only in the other run.
	Missing string
	// Judged says the metric's tolerance was applied; Note says why not,
	// or why a change beyond the tolerance is not a regression.
	Judged bool
	Note   string
	// Regressed is set when the change is beyond the metric's tolerance
	// (and, for latencies and error rates, the runs' intervals do not
	// overlap); Limit then says which tolerance.
	Regressed bool
	Limit     string
	// mix says the row is of several endpoints' figures (the totals, a
	// scenario's): its latencies are not judged.
	mix bool
}

// Name is the row's figure as regression lines and JUnit name it:
// "catalog p99", "catalog corrected p99", "total errors".
func (r CompareRow) Name() string {
	if r.Corrected {
		return r.Endpoint + " corrected " + r.Metric
	}
	return r.Endpoint + " " + r.Metric
}

// Change is the relative change in percent (NaN when the base is 0).
func (r CompareRow) Change() float64 {
	if r.Base.Value == 0 {
		if r.New.Value == 0 {
			return 0
		}
		return math.NaN()
	}
	return 100 * (r.New.Value - r.Base.Value) / r.Base.Value
}

// Comparison is a run compared with a base run (or the median of several),
// endpoint by endpoint.
type Comparison struct {
	Base, New string // the runs' plan names
	// Baselines is how many runs the base is the median of.
	Baselines   int
	Confidence  float64
	MinSamples  int64
	MinChange   time.Duration
	Rows        []CompareRow
	Regressions int
	// Notes say what could not be compared, and why.
	Notes []string
}

// Compare compares next against bases (one run, or several whose median
// is the base): every endpoint of either and the totals, metric by metric.
// Errors, requests and iterations are always judged. A latency regresses
// only when it moved beyond its tolerance and the two runs' confidence
// intervals for it do not overlap, and only with at least MinSamples in
// both; corrected latency is compared with corrected, service time with
// service time. It refuses runs of different plans (ErrDifferentPlan)
// unless opt.Force.
func Compare(bases []*Results, next *Results, opt CompareOptions) (*Comparison, error) {
	if len(bases) == 0 {
		return nil, errors.New("compare: no base run")
	}
	if opt.MinSamples <= 0 {
		opt.MinSamples = DefaultMinSamples
	}
	if opt.Confidence <= 0 || opt.Confidence >= 1 {
		opt.Confidence = DefaultConfidence
	}
	if opt.MinChange <= 0 {
		opt.MinChange = DefaultMinChange
	}
	tol := DefaultTolerances()
	for m, t := range opt.Tolerances {
		tol[m] = t
	}
	c := &Comparison{Base: bases[0].Plan, New: next.Plan, Baselines: len(bases), Confidence: opt.Confidence, MinSamples: opt.MinSamples, MinChange: opt.MinChange}
	for i, b := range bases {
		same, note := samePlan(b, next)
		switch {
		case !same && !opt.Force:
			return nil, fmt.Errorf("%w: %s (--force compares them anyway)", ErrDifferentPlan, note)
		case !same:
			c.Notes = append(c.Notes, "compared although "+note+" (--force)")
		case note != "" && i == 0:
			c.Notes = append(c.Notes, note)
		}
	}
	for i, r := range append(slices.Clone(bases), next) {
		if r.Generator == nil {
			continue
		}
		who := "new"
		if i < len(bases) {
			who = "base"
		}
		for _, w := range r.Generator.Warnings {
			// Its latencies may be the generator's own delays.
			c.Notes = append(c.Notes, who+" run's generator: "+w)
		}
	}
	z := math.Sqrt2 * math.Erfinv(opt.Confidence)
	for _, sub := range compareSubjects(append(slices.Clone(bases), next)) {
		figures := func(r *Results) (*runFigures, error) {
			e, iters, err := sub.get(r)
			if err != nil {
				return nil, err
			}
			f, err := figuresOf(e, sub.mix, z)
			if err != nil {
				return nil, err
			}
			f.iterations = iters
			f.widen(lagOf(r))
			return f, nil
		}
		runs := make([]*runFigures, len(bases))
		for i, b := range bases {
			f, err := figures(b)
			if err != nil {
				return nil, fmt.Errorf("base %d: %w", i+1, err)
			}
			runs[i] = f
		}
		fn, err := figures(next)
		if err != nil {
			return nil, fmt.Errorf("new: %w", err)
		}
		c.compareEndpoint(sub, median(runs), fn, tol)
	}
	for _, r := range c.Rows {
		if r.Regressed {
			c.Regressions++
		}
	}
	return c, nil
}

// compareSubject is one thing a comparison compares: an endpoint, a
// group, a scenario's totals or the run's.
type compareSubject struct {
	label string
	// mix says the figures are of several endpoints: their latencies are
	// shown, not judged; iters that iterations are compared.
	mix, iters bool
	// get returns the subject's figures in r (nil: r does not have it)
	// and its iterations.
	get func(r *Results) (*EndpointResult, int64, error)
}

// compareSubjects are the subjects of rs, in order: every endpoint of any
// of them (by scenario, group and name), every group, each scenario's
// totals where a run has several scenarios, then the run's totals.
// Labels follow the threshold grammar: "catalog", "scenario browse
// catalog", "group checkout", "scenario buy group checkout", "scenario
// browse".
func compareSubjects(rs []*Results) []compareSubject {
	var out []compareSubject
	seen := map[string]bool{}
	add := func(s compareSubject) {
		if !seen[s.label] {
			seen[s.label] = true
			out = append(out, s)
		}
	}
	find := func(list func(*Results) []EndpointResult, k EndpointKey) func(*Results) (*EndpointResult, int64, error) {
		return func(r *Results) (*EndpointResult, int64, error) {
			es := list(r)
			for i := range es {
				if es[i].Key() == k {
					return &es[i], 0, nil
				}
			}
			return nil, 0, nil
		}
	}
	for _, l := range []func(*Results) []EndpointResult{
		func(r *Results) []EndpointResult { return r.Endpoints },
		func(r *Results) []EndpointResult { return r.Groups },
	} {
		for _, r := range rs {
			for _, e := range l(r) {
				add(compareSubject{label: compareLabel(&e), get: find(l, e.Key())})
			}
		}
	}
	for _, r := range rs {
		scs := summaryScenarios(r)
		if len(scs) < 2 {
			continue
		}
		for _, name := range scs {
			add(compareSubject{label: "scenario " + name, mix: true, iters: true, get: func(r *Results) (*EndpointResult, int64, error) {
				if !slices.Contains(summaryScenarios(r), name) {
					return nil, 0, nil
				}
				t, err := r.ScenarioTotals(name)
				var iters int64
				if sc := r.scenarioNamed(name); sc != nil {
					iters = sc.Iterations
				}
				return &t, iters, err
			}})
		}
	}
	add(compareSubject{label: TotalName, mix: true, iters: true, get: func(r *Results) (*EndpointResult, int64, error) {
		return &r.Totals, r.Iterations.Completed, nil
	}})
	return out
}

// compareLabel names an endpoint or group as a threshold would.
func compareLabel(e *EndpointResult) string {
	l := e.Name
	if e.Kind == KindGroup {
		l = "group " + l
	}
	if e.Group != "" {
		l += " (" + e.Group + ")"
	}
	if e.Scenario != "" {
		l = "scenario " + e.Scenario + " " + l
	}
	return l
}

// samePlan reports whether a and b are runs of one test, by PlanHash, or,
// where a file predates it, by a hash of the plan's text; note says what
// differs, or what could not be checked.
func samePlan(a, b *Results) (same bool, note string) {
	if a.PlanHash != "" && b.PlanHash != "" {
		if a.PlanHash != b.PlanHash {
			return false, fmt.Sprintf("plan hash %s vs %s (plan content or load shape differ)", a.PlanHash, b.PlanHash)
		}
		return true, ""
	}
	if a.PlanSource != "" && b.PlanSource != "" {
		ha, hb := sourceHash(a.PlanSource), sourceHash(b.PlanSource)
		if ha != hb {
			return false, fmt.Sprintf("plan text hash %s vs %s", ha, hb)
		}
		return true, ""
	}
	if a.Plan != b.Plan {
		return false, fmt.Sprintf("plan %q vs %q", a.Plan, b.Plan)
	}
	return true, "the results carry neither plan hash nor plan text: cannot tell whether the runs tested the same plan"
}

// sourceHash is a short hash of a plan's text.
func sourceHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// runFigures are one endpoint's comparable figures in one run (or the
// median of several); latencies in ms.
type runFigures struct {
	present            bool
	requests           Estimate
	iterations         int64
	rps                float64
	errors             Estimate // percent of requests
	service, corrected map[string]Estimate
}

// figuresOf computes e's figures (nil e, or no requests unless a mix:
// absent) with intervals of z standard deviations. Percentiles come from
// the embedded histograms, not the rounded JSON figures.
func figuresOf(e *EndpointResult, mix bool, z float64) (*runFigures, error) {
	f := &runFigures{}
	if e == nil || (e.Requests == 0 && !mix) {
		// An endpoint without requests (the run registers every step
		// whether or not a VU got to it) is as absent as a missing one.
		return f, nil
	}
	f.present = true
	n := float64(e.Requests)
	f.requests = Estimate{Value: n, Lo: n, Hi: n, N: e.Requests}
	f.rps = e.RPS
	f.errors = wilson(e.Errors, e.Requests, z)
	var err error
	if f.service, err = latencyFigures(e.HDR, z); err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", e.Name, err)
	}
	// Without intended times the corrected histogram is the service time.
	if e.HasIntended() {
		if f.corrected, err = latencyFigures(e.CorrectedHDR, z); err != nil {
			return nil, fmt.Errorf("endpoint %q corrected: %w", e.Name, err)
		}
	}
	return f, nil
}

// lagOf is r's schedule lag (how late the generator itself started its
// iterations) by latency metric, in ms; nil when r does not have it.
func lagOf(r *Results) map[string]float64 {
	if r.Generator == nil || r.Generator.ScheduleLag == nil {
		return nil
	}
	l := r.Generator.ScheduleLag
	return map[string]float64{"p50": l.P50, "p90": l.P90, "p95": l.P95, "p99": l.P99, "p99.9": l.P999, "mean": l.Mean}
}

// widen widens f's latency intervals by the generator's own schedule lag
// at the same quantile: a generator that was late to start iterations by
// that much was as late to see responses, so that much of any latency it
// measured may be its own, not the server's. On a quiet machine the lag
// is a fraction of a millisecond; on a busy one it is what moves a fast
// endpoint's tail from run to run.
func (f *runFigures) widen(lag map[string]float64) {
	for _, m := range []map[string]Estimate{f.service, f.corrected} {
		for k, e := range m {
			if d := lag[k]; d > 0 {
				e.Lo, e.Hi = max(e.Lo-d, 0), e.Hi+d
				m[k] = e
			}
		}
	}
}

// wilson is the error rate errs/n in percent with its Wilson score
// interval, which stays sensible at 0% and 100% and for few requests.
func wilson(errs, n int64, z float64) Estimate {
	if n <= 0 {
		return Estimate{Hi: 100}
	}
	p, nf := float64(errs)/float64(n), float64(n)
	d := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / d
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / d
	return Estimate{Value: 100 * p, Lo: 100 * max(mid-half, 0), Hi: 100 * min(mid+half, 1), N: n}
}

var quantiles = []struct {
	name string
	q    float64
}{{"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}, {"p99.9", 0.999}}

// latencyFigures decodes an HDR field ("" has none: nil) into p50..p99.9,
// mean and max with their intervals.
//
// A quantile's interval is distribution-free: the number of samples at or
// below the true q-quantile is Binomial(n, q), so the order statistics of
// ranks nq ∓ z·√(nq(1−q)) bracket it at the chosen confidence. Each rank's
// value is read from the histogram, the lower one at its bucket's lowest
// equivalent value and the upper one at its highest, so the histogram's
// own precision widens the interval rather than narrowing it.
func latencyFigures(enc string, z float64) (map[string]Estimate, error) {
	if enc == "" {
		return nil, nil
	}
	h, err := DecodeHDR(enc)
	if err != nil {
		return nil, err
	}
	n := h.TotalCount()
	out := map[string]Estimate{}
	if n == 0 {
		for _, q := range quantiles {
			out[q.name] = Estimate{}
		}
		out["mean"], out["max"] = Estimate{}, Estimate{}
		return out, nil
	}
	bars := h.Distribution()
	nf := float64(n)
	for _, q := range quantiles {
		half := z * math.Sqrt(nf*q.q*(1-q.q))
		lo := int64(math.Floor(nf*q.q - half))
		hi := int64(math.Ceil(nf*q.q+half)) + 1
		out[q.name] = Estimate{
			Value: ms(h.ValueAtQuantile(100 * q.q)),
			Lo:    ms(atRank(bars, max(lo, 1), false)),
			Hi:    ms(atRank(bars, min(hi, n), true)),
			N:     n,
		}
	}
	mean, se := h.Mean()/1000, h.StdDev()/1000/math.Sqrt(nf)
	out["mean"] = Estimate{Value: mean, Lo: mean - z*se, Hi: mean + z*se, N: n}
	m := ms(h.Max())
	out["max"] = Estimate{Value: m, Lo: m, Hi: m, N: n}
	return out, nil
}

// atRank is the value of the rank-th smallest sample (1-based): its
// bucket's lowest or, with high, highest equivalent value.
func atRank(bars []hdrhistogram.Bar, rank int64, high bool) int64 {
	var acc int64
	for _, b := range bars {
		acc += b.Count
		if acc >= rank && b.Count > 0 {
			if high {
				return b.To
			}
			return b.From
		}
	}
	if len(bars) == 0 {
		return 0
	}
	return bars[len(bars)-1].To
}

// median combines the figures of several runs of one endpoint: each
// figure (value and interval ends) is the median of the runs' figures,
// and the endpoint is present when it is in more than half of them.
func median(runs []*runFigures) *runFigures {
	if len(runs) == 1 {
		return runs[0]
	}
	out := &runFigures{}
	var present int
	var reqs, iters, rps, errs []Estimate
	for _, r := range runs {
		if r.present {
			present++
		}
		reqs = append(reqs, r.requests)
		iters = append(iters, Estimate{Value: float64(r.iterations)})
		rps = append(rps, Estimate{Value: r.rps})
		if r.present {
			errs = append(errs, r.errors)
		}
	}
	out.present = 2*present > len(runs)
	out.requests = medianEstimate(reqs)
	out.iterations = int64(medianEstimate(iters).Value)
	out.rps = medianEstimate(rps).Value
	out.errors = medianEstimate(errs)
	out.service = medianLatencies(runs, func(r *runFigures) map[string]Estimate { return r.service })
	out.corrected = medianLatencies(runs, func(r *runFigures) map[string]Estimate { return r.corrected })
	return out
}

// medianLatencies is the median of the runs' latency figures of one kind,
// nil unless more than half of the runs have them.
func medianLatencies(runs []*runFigures, of func(*runFigures) map[string]Estimate) map[string]Estimate {
	var have []map[string]Estimate
	for _, r := range runs {
		if m := of(r); m != nil {
			have = append(have, m)
		}
	}
	if 2*len(have) <= len(runs) {
		return nil
	}
	out := map[string]Estimate{}
	for m := range have[0] {
		var es []Estimate
		for _, h := range have {
			es = append(es, h[m])
		}
		out[m] = medianEstimate(es)
	}
	return out
}

// medianEstimate takes the median of each part of es on its own.
func medianEstimate(es []Estimate) Estimate {
	if len(es) == 0 {
		return Estimate{}
	}
	part := func(get func(Estimate) float64) float64 {
		v := make([]float64, len(es))
		for i, e := range es {
			v[i] = get(e)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Estimate{
		Value: part(func(e Estimate) float64 { return e.Value }),
		Lo:    part(func(e Estimate) float64 { return e.Lo }),
		Hi:    part(func(e Estimate) float64 { return e.Hi }),
		N:     int64(part(func(e Estimate) float64 { return float64(e.N) })),
	}
}

// compareEndpoint adds the rows of one subject.
func (c *Comparison) compareEndpoint(sub compareSubject, fb, fn *runFigures, tol Tolerances) {
	name := sub.label
	count := func(v float64) Estimate { return Estimate{Value: v, Lo: v, Hi: v} }
	switch {
	case !fb.present && !fn.present:
		return
	case !fb.present || !fn.present:
		// Only the requests: the endpoint's other figures have nothing to
		// be compared with.
		row := CompareRow{Endpoint: name, Metric: "requests", Base: fb.requests, New: fn.requests, Missing: "base"}
		if !fn.present {
			row.Missing, row.Judged, row.Regressed, row.Limit = "new", true, true, "gone"
		}
		c.Rows = append(c.Rows, row)
		return
	}
	add := func(row CompareRow) {
		row.Endpoint, row.mix = name, sub.mix
		c.judge(&row, tol)
		c.Rows = append(c.Rows, row)
	}
	add(CompareRow{Metric: "requests", Base: fb.requests, New: fn.requests})
	if sub.iters {
		add(CompareRow{Metric: "iterations", Base: count(float64(fb.iterations)), New: count(float64(fn.iterations))})
	}
	add(CompareRow{Metric: "rps", Base: count(fb.rps), New: count(fn.rps)})
	add(CompareRow{Metric: "errors", Base: fb.errors, New: fn.errors})
	latency := func(b, n map[string]Estimate, corrected bool) {
		for _, m := range compareMetrics {
			if latencyMetric(m) {
				add(CompareRow{Metric: m, Corrected: corrected, Base: b[m], New: n[m]})
			}
		}
	}
	if fb.service != nil && fn.service != nil {
		latency(fb.service, fn.service, false)
	}
	switch {
	case fb.corrected != nil && fn.corrected != nil:
		latency(fb.corrected, fn.corrected, true)
	case fb.corrected != nil && name == TotalName:
		c.Notes = append(c.Notes, "corrected latency only in base: service time compared, corrected not")
	case fn.corrected != nil && name == TotalName:
		c.Notes = append(c.Notes, "corrected latency only in new: service time compared, corrected not")
	}
}

// judge applies row's tolerance: counts regress when they fell by more
// than it; error rates and latencies when they rose by more than it and
// the intervals of the two runs do not overlap.
func (c *Comparison) judge(row *CompareRow, tol Tolerances) {
	t, ok := tol[row.Metric]
	if !ok {
		return
	}
	b, n := row.Base, row.New
	switch row.Metric {
	case "requests", "iterations", "rps":
		if b.Value <= 0 {
			return
		}
		row.Judged, row.Limit = true, fmt.Sprintf("< -%g%%", t.Value)
		row.Regressed = n.Value < b.Value*(1-t.Value/100)
		return
	case "errors":
		row.Judged = true
		var beyond bool
		if t.Points {
			row.Limit = fmt.Sprintf("> +%gpp", t.Value)
			beyond = n.Value-b.Value > t.Value+1e-9
		} else {
			row.Limit = fmt.Sprintf("> +%g%%", t.Value)
			beyond = n.Value > b.Value*(1+t.Value/100) && n.Value > b.Value
		}
		c.overlap(row, beyond)
		return
	}
	if row.mix {
		// More logins or a slow small endpoint move the totals' tail
		// without any endpoint getting slower.
		row.Note = "not judged: a mix of endpoints, each judged on its own"
		return
	}
	if b.N < c.MinSamples || n.N < c.MinSamples {
		row.Note = fmt.Sprintf("not judged: %d and %d samples, fewer than %d", b.N, n.N, c.MinSamples)
		return
	}
	row.Judged, row.Limit = true, fmt.Sprintf("> +%g%%", t.Value)
	beyond := n.Value > b.Value*(1+t.Value/100) && n.Value > b.Value
	if up := n.Value - b.Value; beyond && up < ms(c.MinChange.Microseconds()) {
		row.Note = fmt.Sprintf("within noise: up %s, less than %s", sig3(up)+"ms", c.MinChange)
		return
	}
	if row.Metric == "max" {
		// One sample: no interval to speak of.
		row.Regressed = beyond
		return
	}
	c.overlap(row, beyond)
}

// overlap marks row regressed when it moved beyond its tolerance and the
// intervals do not overlap, and notes when they do.
func (c *Comparison) overlap(row *CompareRow, beyond bool) {
	if !beyond {
		return
	}
	if row.New.Lo > row.Base.Hi {
		row.Regressed = true
		return
	}
	row.Note = fmt.Sprintf("within noise: the %g%% intervals overlap", 100*c.Confidence)
}

// unit is how a metric's figures are written.
func unit(m string) string {
	switch {
	case m == "errors":
		return "%"
	case m == "rps":
		return "/s"
	case latencyMetric(m):
		return "ms"
	}
	return ""
}

// format writes one figure of a row.
func (r CompareRow) format(v float64) string {
	if r.Metric == "requests" || r.Metric == "iterations" {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	if r.Metric == "errors" {
		return strconv.FormatFloat(v, 'f', 2, 64) + "%"
	}
	return sig3(v) + unit(r.Metric)
}

// interval writes an estimate's interval, or "" for counts.
func (r CompareRow) interval(e Estimate) string {
	if e.Lo == e.Hi {
		return ""
	}
	return fmt.Sprintf(" [%s..%s]", r.format(e.Lo), r.format(e.Hi))
}

// Write prints the comparison as a table, one line per endpoint and
// metric, regressions marked ✗ with the tolerance they broke; then one
// line per regression naming the endpoint and figure, and a verdict.
func (c *Comparison) Write(out io.Writer) error {
	w := &errWriter{w: out}
	if c.Baselines > 1 {
		fmt.Fprintf(w, "base: the median of %d runs of %s\n", c.Baselines, c.Base)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "endpoint\tmetric\tbase\tnew\tchange\t")
	last := ""
	for _, r := range c.Rows {
		name := ""
		if r.Endpoint != last {
			name, last = r.Endpoint, r.Endpoint
		}
		metric := r.Metric
		if r.Corrected {
			metric = "corrected " + metric
		}
		b, n, ch := r.format(r.Base.Value), r.format(r.New.Value), changeText(r)
		switch r.Missing {
		case "base":
			b, ch = "-", "new endpoint"
		case "new":
			n, ch = "-", "gone"
		}
		mark := r.Note
		if r.Regressed {
			mark = "✗ regression (" + r.Limit + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, metric, b, n, ch, mark)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "latencies from the embedded histograms: service time (response end − send) with service time, corrected (from the intended send) with corrected;\n"+
		"a latency is judged per endpoint with at least %d samples in both runs,\nand regresses only beyond its tolerance, by at least %s, and when its %g%% intervals do not overlap\n", c.MinSamples, c.MinChange, 100*c.Confidence)
	for _, n := range c.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	for _, r := range c.Rows {
		if r.Regressed {
			fmt.Fprintln(w, r.RegressionLine())
		}
	}
	if c.Regressions == 0 {
		fmt.Fprintln(w, "no regression")
	} else {
		fmt.Fprintf(w, "%d regressions\n", c.Regressions)
	}
	return w.err
}

// RegressionLine says what regressed: "regression: catalog p99 9.98ms →
// 30.0ms (+200.4%, limit > +10%; 95% intervals ...)".
func (r CompareRow) RegressionLine() string {
	if r.Missing == "new" {
		return fmt.Sprintf("regression: %s %s → gone (the endpoint vanished)", r.Name(), r.format(r.Base.Value))
	}
	s := fmt.Sprintf("regression: %s %s → %s (%s, limit %s", r.Name(), r.format(r.Base.Value), r.format(r.New.Value), changeText(r), r.Limit)
	if bi, ni := r.interval(r.Base), r.interval(r.New); bi != "" || ni != "" {
		s += "; intervals" + bi + " and" + ni
	}
	return s + ")"
}

func changeText(r CompareRow) string {
	if r.Metric == "errors" {
		return fmt.Sprintf("%+.2fpp", r.New.Value-r.Base.Value)
	}
	ch := r.Change()
	if math.IsNaN(ch) {
		return "new"
	}
	return fmt.Sprintf("%+.1f%%", ch)
}
