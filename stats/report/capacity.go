package report

import (
	"fmt"
	"html"
	"io"
	"slices"
	"strings"

	"github.com/sessionload/load/stats"
)

// WriteCapacityHTML writes the report of a sessions capacity search (load
// sessions --report): a self-contained page with charts of the steps
// (latency, the server's threads and connections, heap after GC with the
// fitted line), the per-step table with verdicts and signals, the knee,
// the binding limit and the recommendation with its formulas.
func WriteCapacityHTML(w io.Writer, name string, c *stats.Capacity) error {
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Capacity: %s</title><style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #111827; background: #f9fafb; }
table { border-collapse: collapse; background: #fff; font-size: 12px; } td, th { border: 1px solid #e5e7eb; padding: 3px 6px; text-align: right; }
th { background: #f3f4f6; } td.l, th.l { text-align: left; } tr.broke td { background: #fef2f2; }
.charts { display: grid; gap: 16px; margin: 16px 0; }
figure.chart-box { margin: 0; border: 1px solid #e5e7eb; border-radius: 6px; background: #fff; padding: 8px 10px 4px; }
figure.chart-box .title { font-size: 13px; font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 16px; margin: 4px 0 2px; font-size: 12px; }
.legend-item { display: inline-flex; align-items: center; gap: 6px; } .legend-item .swatch { display: inline-block; width: 18px; height: 0; }
svg.chart { display: block; width: 100%%; height: auto; }
svg .tick { font-size: 11px; fill: #6b7280; } svg .label { font-size: 12px; fill: #374151; }
svg .grid { stroke: #f3f4f6; } svg .axis { stroke: #9ca3af; }
code { font-size: 12px; }
</style></head><body><h1>Capacity search: %s</h1>
`, esc(name), esc(name))
	binding := c.Binding
	if binding == "" {
		binding = "none reached"
	}
	fmt.Fprintf(&b, "<p><b>Knee: %d sessions</b> (%s). <b>Binding limit: %s</b>.</p><ul>", c.Knee, esc(c.KneeWhy), esc(binding))
	for _, s := range c.BindingWhy {
		fmt.Fprintf(&b, "<li>%s</li>", esc(s))
	}
	for _, s := range c.NonMonotonic {
		fmt.Fprintf(&b, "<li>non-monotonic: %s</li>", esc(s))
	}
	for _, s := range c.Notes {
		fmt.Fprintf(&b, "<li>note: %s</li>", esc(s))
	}
	b.WriteString("</ul><div class=\"charts\">")
	for _, ch := range capacityCharts(c) {
		b.WriteString(ch.svg())
	}
	b.WriteString("</div><h2>Steps</h2><table><tr><th>sessions</th><th class=l>phase</th><th>hold s</th><th>held client/server</th><th>created client/server</th>" +
		"<th>refused client/server</th><th>p95 ms</th><th>p99 ms</th><th>errors %</th><th>threads busy/max</th><th>connections</th><th>heap after GC MB</th><th>CPU %</th><th>GC ms</th><th class=l>verdict</th><th class=l>signal and why</th></tr>")
	rows := c.Steps
	if c.Warmup != nil {
		rows = append([]stats.CapacityStep{*c.Warmup}, rows...)
	}
	for _, s := range rows {
		cls, verdict := "", "ok"
		if !s.OK {
			cls, verdict = ` class="broke"`, "BROKE"
		}
		if s.Phase == "warmup" {
			cls, verdict = "", "-"
		}
		fmt.Fprintf(&b, "<tr%s><td>%d</td><td class=l>%s</td><td>%.1f</td><td>%d/%d</td><td>%d/%d</td><td>%d/%d</td><td>%s</td><td>%s</td><td>%.2f</td><td>%d/%d</td><td>%d/%d</td><td>%s/%s</td><td>%s</td><td>%s</td><td class=l>%s</td><td class=l>%s</td></tr>",
			cls, s.Sessions, esc(s.Phase), s.HoldS, s.Held, s.ServerActive, s.ClientCreated, s.ServerCreated, s.ClientRefused, s.ServerRefused,
			sig(s.P95), sig(s.P99), s.ErrorPct, s.BusyThreads, s.MaxThreads, s.Connections, s.MaxConnections, sig(s.HeapAfterGCMB), sig(s.HeapMaxMB),
			sig(100*s.CPU), sig(s.GCPauseMs), verdict, esc(strings.TrimSpace(s.Signal+" "+s.Why+" "+strings.Join(s.Problems, " "))))
	}
	b.WriteString("</table>")
	if f := c.HeapPerSession; f != nil {
		fmt.Fprintf(&b, "<h2>Heap per session</h2><p>%s KB per session, %.0f%% interval [%s, %s] KB</p><p><code>%s</code></p>",
			sig(f.SlopeKB), 100*f.Confidence, sig(f.LowKB), sig(f.HighKB), esc(f.Formula))
	}
	b.WriteString("<h2>Recommendation</h2><table><tr><th class=l>setting</th><th>value</th><th class=l>formula</th></tr>")
	for _, f := range c.Recommendation {
		fmt.Fprintf(&b, "<tr><td class=l>%s</td><td>%s %s</td><td class=l><code>%s</code></td></tr>", esc(f.Name), sig(f.Value), esc(f.Unit), esc(f.Formula))
	}
	b.WriteString("</table></body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// capacityCharts draw the steps over sessions: latency; busy threads and
// connections; heap after GC with the fitted line. Each series takes the
// last run of each step count, in order of sessions.
func capacityCharts(c *stats.Capacity) []*chart {
	last := map[int]stats.CapacityStep{}
	for _, s := range c.Steps {
		last[s.Sessions] = s
	}
	var ns []int
	for n := range last {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	lat := &chart{endpoint: -1, id: "capacity-latency", title: "Latency by step", xLabel: "sessions", yLabel: "ms"}
	p95 := series{name: "p95", color: "#2563eb"}
	p99 := series{name: "p99", color: "#dc2626"}
	res := &chart{endpoint: -1, id: "capacity-server", title: "Server by step: peak busy threads, maxThreads, peak connections, sessions refused", xLabel: "sessions", yLabel: "count"}
	busy := series{name: "busy threads", color: "#ca8a04"}
	maxT := series{name: "maxThreads", color: "#4b5563", dashed: true}
	conns := series{name: "connections", color: "#0891b2"}
	ref := series{name: "refused (client)", color: "#dc2626"}
	heap := &chart{endpoint: -1, id: "capacity-heap", title: "Heap of the sessions: heap after GC with a step's sessions held − the server at rest before it, and the least-squares fit", xLabel: "sessions held − at rest", yLabel: "MB"}
	hs := series{name: "heap after GC, held − at rest", color: "#16a34a"}
	for _, n := range ns {
		s, x := last[n], float64(n)
		p95.pts = append(p95.pts, point{x, s.P95})
		p99.pts = append(p99.pts, point{x, s.P99})
		if s.MaxThreads > 0 {
			busy.pts = append(busy.pts, point{x, float64(s.BusyThreads)})
			maxT.pts = append(maxT.pts, point{x, float64(s.MaxThreads)})
		}
		if s.Connections >= 0 {
			conns.pts = append(conns.pts, point{x, float64(s.Connections)})
		}
		ref.pts = append(ref.pts, point{x, float64(s.ClientRefused)})
	}
	lat.series = []series{p95, p99}
	out := []*chart{lat}
	for _, s := range []series{busy, maxT, conns, ref} {
		if len(s.pts) > 0 {
			res.series = append(res.series, s)
		}
	}
	out = append(out, res)
	if f := c.HeapPerSession; f != nil {
		pts := slices.Clone(f.Points)
		slices.SortFunc(pts, func(a, b [2]float64) int { return int(a[0] - b[0]) })
		fit := series{name: fmt.Sprintf("fit: %.4g MB + %.4g KB × sessions", f.InterceptMB, f.SlopeKB), color: "#9333ea", dashed: true}
		for _, p := range pts {
			hs.pts = append(hs.pts, point{p[0], p[1]})
		}
		if len(pts) > 0 {
			for _, x := range []float64{pts[0][0], pts[len(pts)-1][0]} {
				fit.pts = append(fit.pts, point{x, f.InterceptMB + f.SlopeKB/1024*x})
			}
		}
		heap.series = []series{hs, fit}
		out = append(out, heap)
	}
	return out
}
