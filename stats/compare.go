package stats

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Tolerance is how far one metric may move the wrong way before a
// comparison calls it a regression: Value percent of the base figure, or,
// with Points, Value percentage points (for error rates).
type Tolerance struct {
	Value  float64
	Points bool
}

// Tolerances maps comparison metrics (p50, p90, p95, p99, p99.9, mean,
// max, errors, rps) to their tolerance. Metrics without one are shown but
// never regress.
type Tolerances map[string]Tolerance

// DefaultTolerances are used when none are given: p99 up 10%, error rate
// up 0.1 percentage points.
func DefaultTolerances() Tolerances {
	return Tolerances{"p99": {Value: 10}, "errors": {Value: 0.1, Points: true}}
}

// compareMetrics are the rows of a comparison, per endpoint, in order.
var compareMetrics = []string{"requests", "rps", "errors", "p50", "p90", "p95", "p99", "p99.9", "mean", "max"}

// ParseTolerances parses "p99=10%,errors=0.1pp,rps=5%". Latencies and rps
// take a percentage; errors a percentage (relative) or pp (points).
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
		if !ok || !slices.Contains(compareMetrics, name) || name == "requests" {
			return nil, fmt.Errorf("max-regress %q: expected METRIC=N%% with METRIC one of p50, p90, p95, p99, p99.9, mean, max, errors, rps", part)
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

// figures are one endpoint's comparable figures; latencies in ms.
type figures struct {
	present   bool
	corrected bool
	values    map[string]float64
}

// figuresOf computes e's figures. Percentiles come from the embedded
// histogram (corrected where there is one), not the rounded JSON figures.
func figuresOf(e *EndpointResult) (figures, error) {
	f := figures{present: true, values: map[string]float64{
		"requests": float64(e.Requests),
		"rps":      e.RPS,
	}}
	if e.Requests > 0 {
		f.values["errors"] = 100 * float64(e.Errors) / float64(e.Requests)
	} else {
		f.values["errors"] = 0
	}
	enc := e.HDR
	if e.CorrectedHDR != "" {
		enc, f.corrected = e.CorrectedHDR, true
	}
	if enc == "" {
		return f, fmt.Errorf("endpoint %q has no histogram", e.Name)
	}
	h, err := DecodeHDR(enc)
	if err != nil {
		return f, fmt.Errorf("endpoint %q: %w", e.Name, err)
	}
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p99.9", 99.9}} {
		f.values[q.name] = ms(h.ValueAtQuantile(q.q))
	}
	f.values["mean"] = h.Mean() / 1000
	f.values["max"] = ms(h.Max())
	return f, nil
}

// CompareRow is one metric of one endpoint in a comparison.
type CompareRow struct {
	Endpoint  string
	Metric    string
	Base, New float64
	// Corrected says the latencies are End−Intended.
	Corrected bool
	// Missing is "base" or "new" when the endpoint is only in the other run.
	Missing string
	// Regressed is set when the change is beyond the metric's tolerance;
	// Limit then says which tolerance.
	Regressed bool
	Limit     string
}

// Change is the relative change in percent (NaN when the base is 0).
func (r CompareRow) Change() float64 {
	if r.Base == 0 {
		if r.New == 0 {
			return 0
		}
		return math.NaN()
	}
	return 100 * (r.New - r.Base) / r.Base
}

// Comparison is a run compared with a base run, endpoint by endpoint.
type Comparison struct {
	Base, New   string // the runs' plan names
	Rows        []CompareRow
	Regressions int
}

// Compare compares next against base: every endpoint of either run and
// the totals, metric by metric, marking changes beyond tol as regressions.
// Higher latencies and error rates, and lower rps, are worse.
func Compare(base, next *Results, tol Tolerances) (*Comparison, error) {
	c := &Comparison{Base: base.Plan, New: next.Plan}
	var names []string
	for _, r := range []*Results{base, next} {
		for _, e := range r.Endpoints {
			if !slices.Contains(names, e.Name) {
				names = append(names, e.Name)
			}
		}
	}
	find := func(r *Results, name string) *EndpointResult {
		for i := range r.Endpoints {
			if r.Endpoints[i].Name == name {
				return &r.Endpoints[i]
			}
		}
		return nil
	}
	for _, name := range append(names, TotalName) {
		b, n := find(base, name), find(next, name)
		if name == TotalName {
			b, n = &base.Totals, &next.Totals
		}
		var fb, fn figures
		var err error
		if b != nil {
			if fb, err = figuresOf(b); err != nil {
				return nil, fmt.Errorf("base: %w", err)
			}
		}
		if n != nil {
			if fn, err = figuresOf(n); err != nil {
				return nil, fmt.Errorf("new: %w", err)
			}
		}
		for _, m := range compareMetrics {
			row := CompareRow{Endpoint: name, Metric: m, Base: fb.values[m], New: fn.values[m], Corrected: fb.corrected || fn.corrected}
			switch {
			case !fb.present:
				row.Missing = "base"
			case !fn.present:
				row.Missing = "new"
			default:
				row.Regressed, row.Limit = regressed(m, row.Base, row.New, tol)
			}
			if row.Regressed {
				c.Regressions++
			}
			c.Rows = append(c.Rows, row)
		}
	}
	return c, nil
}

// regressed applies metric m's tolerance to a base and a new figure.
func regressed(m string, base, next float64, tol Tolerances) (bool, string) {
	t, ok := tol[m]
	if !ok {
		return false, ""
	}
	if t.Points {
		return next-base > t.Value+1e-9, fmt.Sprintf("> +%gpp", t.Value)
	}
	if m == "rps" {
		return next < base*(1-t.Value/100), fmt.Sprintf("< -%g%%", t.Value)
	}
	if base == 0 {
		return next > 0 && m == "errors", fmt.Sprintf("> +%g%%", t.Value)
	}
	return next > base*(1+t.Value/100), fmt.Sprintf("> +%g%%", t.Value)
}

// Write prints the comparison as a table, one line per endpoint and
// metric, regressions marked ✗ with the tolerance they broke, and a
// verdict line.
func (c *Comparison) Write(out io.Writer) error {
	w := &errWriter{w: out}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "endpoint\tmetric\tbase\tnew\tchange\t")
	last := ""
	for _, r := range c.Rows {
		name := ""
		if r.Endpoint != last {
			name = r.Endpoint
			if r.Corrected {
				name += " *"
			}
			last = r.Endpoint
		}
		unit := map[string]string{"errors": "%", "rps": "/s"}[r.Metric]
		if strings.HasPrefix(r.Metric, "p") || r.Metric == "mean" || r.Metric == "max" {
			unit = "ms"
		}
		b, n, ch := sig3(r.Base)+unit, sig3(r.New)+unit, changeText(r)
		if r.Metric == "requests" {
			b, n = strconv.FormatFloat(r.Base, 'f', 0, 64), strconv.FormatFloat(r.New, 'f', 0, 64)
		}
		switch r.Missing {
		case "base":
			b, ch = "-", "new endpoint"
		case "new":
			n, ch = "-", "gone"
		}
		mark := ""
		if r.Regressed {
			mark = "✗ regression (" + r.Limit + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, r.Metric, b, n, ch, mark)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "latencies from the embedded histograms; * = corrected for coordinated omission")
	if c.Regressions == 0 {
		fmt.Fprintln(w, "no regression")
	} else {
		fmt.Fprintf(w, "%d regressions\n", c.Regressions)
	}
	return w.err
}

func changeText(r CompareRow) string {
	if r.Metric == "errors" {
		return fmt.Sprintf("%+.2fpp", r.New-r.Base)
	}
	ch := r.Change()
	if math.IsNaN(ch) {
		return "new"
	}
	return fmt.Sprintf("%+.1f%%", ch)
}
