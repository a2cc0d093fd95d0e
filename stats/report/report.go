// Package report renders a run's results as one self-contained HTML file:
// summary tables, threshold verdicts, charts drawn as inline SVG, and the
// plan that ran. It needs no network: no script library, font or image is
// fetched, so the file opens offline and can be archived with the run.
package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessionload/load/stats"
)

//go:embed report.html.tmpl
var pageText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":  func(v float64) string { return sig(v) },
	"pct": func(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" },
	"errpct": func(e stats.EndpointResult) string {
		if e.Requests == 0 {
			return "-"
		}
		return strconv.FormatFloat(100*float64(e.Errors)/float64(e.Requests), 'f', 2, 64) + "%"
	},
	"headline": func(e stats.EndpointResult) stats.Percentiles {
		// OK responses, as the summary's headline (older results: all).
		if e.Corrected != nil && e.HasIntended() {
			if e.OKCorrected != nil {
				return *e.OKCorrected
			}
			return *e.Corrected
		}
		if e.OKLatency != nil {
			return *e.OKLatency
		}
		return e.Latency
	},
	"observed": func(t stats.ThresholdResult) string { return t.FormatObserved() },
	"time":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") },
	"sig":      sig,
	"inc":      func(i int) int { return i + 1 },
}).Parse(pageText))

// sig formats v with 3 significant digits.
func sig(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	prec := 2 - int(math.Floor(math.Log10(math.Abs(v))))
	return strconv.FormatFloat(v, 'f', max(prec, 0), 64)
}

// view is what the template shows.
type view struct {
	R          *stats.Results
	Rows       []stats.EndpointResult // endpoints, then the totals
	Failed     int                    // thresholds judged here that failed
	Judged     int                    // thresholds judged here (not deferred)
	Deferred   int                    // thresholds a segment left to the merged whole
	Corrected  bool
	Phases     bool
	Errors     []kv
	Charts     []template.HTML // charts of the whole run
	Sections   []section       // endpoints and groups by scenario, with their charts
	ChartCount int
}

// section is the endpoints and groups of one scenario ("" when the
// results have no scenario names), its subtotal when there are several
// scenarios, and its endpoints' charts.
type section struct {
	Scenario string
	Rows     []stats.EndpointResult
	Subtotal *stats.EndpointResult
	Groups   []stats.EndpointResult
	Charts   []template.HTML
}

type kv struct {
	K string
	V int64
}

// WriteHTML writes the report of r to w.
func WriteHTML(w io.Writer, r *stats.Results) error {
	v := view{R: r, Rows: append(slices.Clip(r.Endpoints), r.Totals)}
	for _, t := range r.Thresholds {
		switch {
		case t.Deferred:
			v.Deferred++
		case !t.OK:
			v.Failed++
			v.Judged++
		default:
			v.Judged++
		}
	}
	for _, e := range v.Rows {
		v.Corrected = v.Corrected || (e.Corrected != nil && e.HasIntended())
		v.Phases = v.Phases || e.Phases != nil
	}
	for k, n := range r.ErrorsByKind {
		if n > 0 {
			v.Errors = append(v.Errors, kv{k, n})
		}
	}
	slices.SortFunc(v.Errors, func(a, b kv) int { return strings.Compare(a.K, b.K) })
	charts, err := buildCharts(r)
	if err != nil {
		return err
	}
	// An endpoint's charts side by side: over time, then its distribution.
	slices.SortStableFunc(charts, func(a, b *chart) int { return a.endpoint - b.endpoint })
	index := map[string]int{} // scenario -> section, in order of first endpoint
	sectionOf := func(sc string) int {
		g, ok := index[sc]
		if !ok {
			g = len(v.Sections)
			index[sc] = g
			v.Sections = append(v.Sections, section{Scenario: sc})
		}
		return g
	}
	of := make([]int, len(r.Endpoints))
	for i, e := range r.Endpoints {
		of[i] = sectionOf(e.Scenario)
		v.Sections[of[i]].Rows = append(v.Sections[of[i]].Rows, e)
	}
	for _, g := range r.Groups {
		sec := &v.Sections[sectionOf(g.Scenario)]
		sec.Groups = append(sec.Groups, g)
	}
	if len(v.Sections) > 1 {
		for i := range v.Sections {
			t, err := r.ScenarioTotals(v.Sections[i].Scenario)
			if err != nil {
				return fmt.Errorf("write html report: %w", err)
			}
			v.Sections[i].Subtotal = &t
		}
	}
	for _, c := range charts {
		h := template.HTML(c.svg()) // built from escaped parts
		if c.endpoint < 0 {
			v.Charts = append(v.Charts, h)
			continue
		}
		sec := &v.Sections[of[c.endpoint]]
		sec.Charts = append(sec.Charts, h)
	}
	v.ChartCount = len(charts)
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// buildCharts makes the report's charts: per endpoint, latency over time;
// throughput and errors; VUs and sessions; and the latency-by-percentile
// curves. Charts without data are left out.
func buildCharts(r *stats.Results) ([]*chart, error) {
	var out []*chart
	tl := r.Timeline
	if len(tl) > 0 {
		span := tl[len(tl)-1].T
		rps := &chart{endpoint: -1, id: "throughput", title: "Throughput and errors (all endpoints)", xLabel: "seconds", yLabel: "per second", xTo: span}
		var req, errs series
		req.name, errs.name = "requests/s", "errors/s"
		errs.color = "#dc2626"
		gauges := &chart{endpoint: -1, id: "vus", title: "Active VUs and sessions (established so far, held now)", xLabel: "seconds", yLabel: "count", xTo: span}
		var vus, sess, held series
		vus.name, sess.name, held.name = "active VUs", "sessions established", "sessions held"
		held.color, held.dashed = "#9333ea", true
		for _, p := range tl {
			req.pts = append(req.pts, point{p.T, p.Total.RPS})
			e := 0.0
			if p.DurationS > 0 {
				e = float64(p.Total.Errors) / p.DurationS
			}
			errs.pts = append(errs.pts, point{p.T, e})
			vus.pts = append(vus.pts, point{p.T, float64(p.VUs)})
			sess.pts = append(sess.pts, point{p.T, float64(p.Sessions)})
			held.pts = append(held.pts, point{p.T, float64(p.Held)})
		}
		rps.series = []series{req, errs}
		gauges.series = []series{vus, sess, held}
		out = append(out, rps, gauges)
		out = append(out, serverCharts(r, span)...)

		for i, e := range r.Endpoints {
			c := &chart{endpoint: i, id: fmt.Sprintf("latency-%d", i), title: "Latency over time: " + e.Name, xLabel: "seconds", yLabel: "ms", xTo: span}
			ss := []series{{name: "p50", color: "#16a34a"}, {name: "p95", color: "#ea580c"}, {name: "p99", color: "#dc2626"}}
			cs := []series{{name: "corrected p50", color: "#16a34a", dashed: true}, {name: "corrected p95", color: "#ea580c", dashed: true}, {name: "corrected p99", color: "#dc2626", dashed: true}}
			for _, p := range tl {
				j := slices.IndexFunc(p.Endpoints, func(x stats.TimelineEndpoint) bool {
					return x.Name == e.Name && x.Scenario == e.Scenario && x.Group == e.Group
				})
				if j < 0 || p.Endpoints[j].Requests == 0 {
					continue
				}
				pe := p.Endpoints[j]
				ss[0].pts = append(ss[0].pts, point{p.T, pe.P50})
				ss[1].pts = append(ss[1].pts, point{p.T, pe.P95})
				ss[2].pts = append(ss[2].pts, point{p.T, pe.P99})
				if pe.Corrected > 0 {
					cs[0].pts = append(cs[0].pts, point{p.T, pe.CorrectedP50})
					cs[1].pts = append(cs[1].pts, point{p.T, pe.CorrectedP95})
					cs[2].pts = append(cs[2].pts, point{p.T, pe.CorrectedP99})
				}
			}
			if len(ss[0].pts) == 0 {
				continue
			}
			c.series = ss
			if len(cs[0].pts) > 0 {
				c.series = append(c.series, cs...)
			}
			out = append(out, c)
		}
	}

	pc := &chart{endpoint: -1, id: "percentiles", title: "Latency by percentile (HdrHistogram plot)", xLabel: "percentile", yLabel: "ms", percentileX: true}
	for _, e := range r.Endpoints {
		if e.Requests == 0 {
			continue
		}
		for _, h := range []struct {
			enc, suffix string
			dashed      bool
		}{{e.HDR, "", corrHDR(e) != ""}, {corrHDR(e), " (corrected)", false}} {
			if h.enc == "" {
				continue
			}
			hist, err := stats.DecodeHDR(h.enc)
			if err != nil {
				return nil, fmt.Errorf("endpoint %s: %w", e.Name, err)
			}
			s := series{name: e.Name + h.suffix, dashed: h.dashed, color: palette.at(len(pc.series) / 2)}
			if corrHDR(e) == "" {
				s.color = palette.at(len(pc.series))
			}
			// Ten points per nine, up to 99.999%.
			for k := 0; k <= 10*maxPercentileNines; k++ {
				q := 100 * (1 - math.Pow(10, -float64(k)/10))
				s.pts = append(s.pts, point{q, float64(hist.ValueAtQuantile(q)) / 1000})
			}
			pc.series = append(pc.series, s)
		}
	}
	if len(pc.series) > 0 {
		out = append(out, pc)
	}
	dists, err := distributions(r)
	if err != nil {
		return nil, err
	}
	return append(out, dists...), nil
}

// distributions are the latency distribution charts, one per endpoint:
// latency by percentile from 50 to 99.999 on HdrHistogram's log scale,
// from the intended start (corrected) and the actual start (service
// time) overlaid.
func distributions(r *stats.Results) ([]*chart, error) {
	var out []*chart
	for i, e := range r.Endpoints {
		if e.Requests == 0 || e.HDR == "" {
			continue
		}
		c := &chart{endpoint: i, id: fmt.Sprintf("distribution-%d", i), title: "Latency distribution: " + e.Name,
			xLabel: "percentile", yLabel: "ms", percentileX: true, pFrom: 50}
		for _, h := range []struct {
			enc, name, color string
		}{{corrHDR(e), "corrected", "#dc2626"}, {e.HDR, "service time", "#2563eb"}} {
			if h.enc == "" {
				continue
			}
			hist, err := stats.DecodeHDR(h.enc)
			if err != nil {
				return nil, fmt.Errorf("endpoint %s: %w", e.Name, err)
			}
			s := series{name: h.name, color: h.color, pts: []point{{50, float64(hist.ValueAtQuantile(50)) / 1000}}}
			// Ten points per nine above the median, up to 99.999%.
			for k := 4; k <= 10*maxPercentileNines; k++ {
				q := 100 * (1 - math.Pow(10, -float64(k)/10))
				s.pts = append(s.pts, point{q, float64(hist.ValueAtQuantile(q)) / 1000})
			}
			c.series = append(c.series, s)
		}
		out = append(out, c)
	}
	return out, nil
}

// serverCharts show the server's own figures (plan key server:) beside
// the client's: its active sessions with the VUs, rejections, busy
// threads, and heap.
func serverCharts(r *stats.Results, span float64) []*chart {
	sv := r.Server
	if sv == nil || len(sv.Timeline) == 0 {
		return nil
	}
	first := sv.Timeline[0]
	sess := &chart{endpoint: -1, id: "server-sessions", title: "Server (" + sv.Kind + "): active sessions, rejections, busy threads, with the client's VUs", xLabel: "seconds", yLabel: "count", xTo: span}
	act := series{name: "server active sessions", color: "#9333ea"}
	rej := series{name: "server rejected (since start)", color: "#dc2626"}
	busy := series{name: "busy connector threads", color: "#ca8a04"}
	heap := &chart{endpoint: -1, id: "server-heap", title: "Server heap used", xLabel: "seconds", yLabel: "MB", xTo: span}
	hs := series{name: "heap used", color: "#0891b2"}
	for _, x := range sv.Timeline {
		act.pts = append(act.pts, point{x.T, float64(x.ActiveSessions)})
		if x.RejectedSessions >= 0 && first.RejectedSessions >= 0 {
			rej.pts = append(rej.pts, point{x.T, float64(x.RejectedSessions - first.RejectedSessions)})
		}
		if x.BusyThreads >= 0 {
			busy.pts = append(busy.pts, point{x.T, float64(x.BusyThreads)})
		}
		if x.HeapUsedMB >= 0 {
			hs.pts = append(hs.pts, point{x.T, x.HeapUsedMB})
		}
	}
	vus := series{name: "client VUs", color: "#2563eb", dashed: true}
	for _, p := range r.Timeline {
		vus.pts = append(vus.pts, point{p.T, float64(p.VUs)})
	}
	for _, s := range []series{act, rej, busy, vus} {
		if len(s.pts) > 0 {
			sess.series = append(sess.series, s)
		}
	}
	out := []*chart{sess}
	if len(hs.pts) > 0 {
		heap.series = []series{hs}
		out = append(out, heap)
	}
	return out
}

// corrHDR is e's corrected histogram where it differs from its service
// time (some request had an intended time), else "".
func corrHDR(e stats.EndpointResult) string {
	if e.HasIntended() {
		return e.CorrectedHDR
	}
	return ""
}
