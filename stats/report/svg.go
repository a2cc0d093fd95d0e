package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// point is one (x, y) of a series.
type point struct{ x, y float64 }

// series is one line of a chart.
type series struct {
	name   string
	color  string
	dashed bool
	pts    []point
}

// chart is a line chart rendered to inline SVG, so the report needs no
// script library and opens offline.
type chart struct {
	id, title      string
	xLabel, yLabel string
	// percentileX: x is a percentile (0 .. 100) drawn on the HdrHistogram
	// log scale, -log10(1 − q/100), with ticks at 0, 90, 99, 99.9, ...
	percentileX bool
	// pFrom, with percentileX, starts the axis at this percentile (50 for
	// a distribution) and ends it at 99.999; 0 fits the axis to the data.
	pFrom float64
	// endpoint is the index of the endpoint the chart is about, -1 for a
	// chart of the whole run.
	endpoint int
	// xFrom, xTo fix the x range when xTo > xFrom (time charts share the
	// run's span, so they line up).
	xFrom, xTo float64
	series     []series
}

const (
	// The viewBox is drawn at about its size on a 1400 px page, so text
	// keeps its size; narrower pages scale the chart down.
	chartW, chartH                       = 1200, 300
	padL, padR, padT, padB               = 64, 40, 12, 44
	plotW, plotH                         = chartW - padL - padR, chartH - padT - padB
	maxPercentileNines                   = 5 // the x axis ends at 99.999
	percentileCap          float64       = 100 - 1e-5
	palette                stringPalette = "#2563eb #dc2626 #16a34a #9333ea #ea580c #0891b2 #4b5563 #ca8a04"
)

// stringPalette is a space-separated list of colors.
type stringPalette string

func (p stringPalette) at(i int) string {
	cs := strings.Fields(string(p))
	return cs[i%len(cs)]
}

// nines maps a percentile to the HdrHistogram plot's x: 90 → 1, 99 → 2.
func nines(q float64) float64 {
	q = min(q, percentileCap)
	return -math.Log10(1 - q/100)
}

// niceStep picks a tick step of 1, 2 or 5 × 10^k giving about n ticks.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func fmtTick(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// svg renders the chart. A chart whose series have no points says so, and
// the report's self-check counts it as empty.
func (c *chart) svg() string {
	var b strings.Builder
	npts := 0
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range c.series {
		for _, p := range s.pts {
			x := p.x
			if c.percentileX {
				x = nines(x)
			}
			xmin, xmax, ymax = math.Min(xmin, x), math.Max(xmax, x), math.Max(ymax, p.y)
			npts++
		}
	}
	if c.percentileX {
		xmin, xmax = 0, math.Max(2, math.Min(maxPercentileNines, math.Ceil(xmax)))
		if c.pFrom > 0 {
			xmin, xmax = nines(c.pFrom), maxPercentileNines
		}
	}
	if c.xTo > c.xFrom {
		xmin, xmax = c.xFrom, c.xTo
	}
	if npts == 0 || xmax <= xmin {
		xmin, xmax = 0, math.Max(1, xmax)
	}
	if ymax <= 0 {
		ymax = 1
	}
	ystep := niceStep(ymax, 5)
	ytop := math.Ceil(ymax*1.05/ystep) * ystep
	sx := func(x float64) float64 { return padL + (x-xmin)/(xmax-xmin)*plotW }
	sy := func(y float64) float64 { return padT + plotH - y/ytop*plotH }

	// The title and legend are HTML above the plot: legend items flow and
	// wrap as the page allows, so they never overlap each other or a line.
	fmt.Fprintf(&b, `<figure class="chart-box"><figcaption class="title">%s</figcaption><div class="legend">`, html.EscapeString(c.title))
	for i, s := range c.series {
		border := "solid"
		if s.dashed {
			border = "dashed"
		}
		fmt.Fprintf(&b, `<span class="legend-item"><span class="swatch" style="border-top: 2px %s %s"></span>%s</span>`,
			border, c.color(i), html.EscapeString(s.name))
	}
	b.WriteString(`</div>`)
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %d %d" preserveAspectRatio="xMinYMin meet" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		c.id, chartW, chartH, html.EscapeString(c.title))
	// Grid and y ticks.
	for y := 0.0; y <= ytop+ystep/2; y += ystep {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="tick" text-anchor="end">%s</text>`,
			padL, padL+plotW, sy(y), sy(y), padL-6, sy(y)+4, fmtTick(y))
	}
	// x ticks.
	if c.percentileX {
		if c.pFrom > 0 {
			x := sx(xmin)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="grid"/><text x="%.1f" y="%d" class="tick" text-anchor="middle">%s%%</text>`,
				x, x, padT, padT+plotH, x, padT+plotH+16, fmtTick(c.pFrom))
		}
		for k := 0; float64(k) <= xmax; k++ {
			if float64(k) < xmin+0.3 && c.pFrom > 0 {
				continue // below the axis' start, or too close to its label
			}
			label := "0"
			if k > 0 {
				label = strings.TrimRight(strings.TrimRight(strconv.FormatFloat(100-100*math.Pow(10, -float64(k)), 'f', k, 64), "0"), ".")
			}
			x := sx(float64(k))
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="grid"/><text x="%.1f" y="%d" class="tick" text-anchor="middle">%s%%</text>`,
				x, x, padT, padT+plotH, x, padT+plotH+16, label)
		}
	} else {
		step := niceStep(xmax-xmin, 8)
		for x := math.Ceil(xmin/step) * step; x <= xmax+step/1e6; x += step {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, sx(x), padT+plotH+16, fmtTick(x))
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" class="axis"/>`, padL, padL+plotW, padT+plotH, padT+plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="label" text-anchor="middle">%s</text>`, padL+plotW/2, chartH-6, html.EscapeString(c.xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%d" class="label" text-anchor="middle" transform="rotate(-90 14 %d)">%s</text>`, padT+plotH/2, padT+plotH/2, html.EscapeString(c.yLabel))
	// Series.
	for i, s := range c.series {
		color := c.color(i)
		var pts strings.Builder
		for _, p := range s.pts {
			x := p.x
			if c.percentileX {
				x = nines(x)
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", sx(x), sy(p.y))
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<polyline class="series" data-points="%d" fill="none" stroke="%s" stroke-width="1.8"%s points="%s"><title>%s</title></polyline>`,
			len(s.pts), color, dash, strings.TrimSpace(pts.String()), html.EscapeString(s.name))
		if len(s.pts) < 3 {
			// A line needs two points: mark short series' points so a
			// burst that fits in one interval (logins) still shows.
			for _, p := range s.pts {
				x := p.x
				if c.percentileX {
					x = nines(x)
				}
				fmt.Fprintf(&b, `<circle class="series-point" cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: %s</title></circle>`,
					sx(x), sy(p.y), color, html.EscapeString(s.name), fmtTick(p.y))
			}
		}
	}
	if npts == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label" text-anchor="middle">no data</text>`, padL+plotW/2, padT+plotH/2)
	}
	b.WriteString(`</svg></figure>`)
	return b.String()
}

// color is series i's color: its own, or the palette's.
func (c *chart) color(i int) string {
	if c.series[i].color != "" {
		return c.series[i].color
	}
	return palette.at(i)
}
