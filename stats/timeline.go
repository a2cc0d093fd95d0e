package stats

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Gauges is the live state of a run that only the executor knows; the
// recorder asks for it once per interval through Options.Gauges.
type Gauges struct {
	VUs      int           // VUs running
	Sessions SessionCounts // session counts so far
}

// Sink receives every interval as Snapshot ends it. It runs on the
// snapshotting goroutine, under the recorder's snapshot lock, so it must
// return quickly and keep its own errors (reported when it is closed).
// hists is by endpoint id; its histograms (microseconds; Latency nil when
// the endpoint had no sample yet) are borrowed: valid only during the call.
type Sink interface {
	Interval(iv *Interval, hists []IntervalHistograms)
}

// IntervalHistograms are one endpoint's histograms of one interval;
// Service (a group's service times) is nil where no sample had one,
// Failed and FailedCorrected (the failed samples' latency and corrected
// latency) where none failed.
type IntervalHistograms struct {
	Latency, Corrected, Service *hdrhistogram.Histogram
	Failed, FailedCorrected     *hdrhistogram.Histogram
}

// TimelinePoint is one interval of results.json's timeline.
type TimelinePoint struct {
	// T is the end of the interval, seconds since the run started.
	T float64 `json:"t_s"`
	// DurationS is the interval's length.
	DurationS float64 `json:"duration_s"`
	// VUs is how many VUs ran at the end of the interval.
	VUs int `json:"vus"`
	// Sessions is the sessions established so far; Relogins likewise.
	Sessions int64 `json:"sessions"`
	Relogins int64 `json:"relogins"`
	// Held is the sessions the VUs held at the end of the interval.
	Held       int64              `json:"sessions_held"`
	Iterations int64              `json:"iterations"` // completed in the interval
	Dropped    int64              `json:"dropped"`    // dropped in the interval
	Endpoints  []TimelineEndpoint `json:"endpoints"`  // every request endpoint known by then, in Results.Endpoints' order
	// Groups are the groups known by then (latencies: their durations).
	Groups []TimelineEndpoint `json:"groups,omitempty"`
	Total  TimelineEndpoint   `json:"total"`
}

// TimelineEndpoint is one endpoint's (or the total's) figures for one
// interval. Latencies in ms; corrected ones only where samples had
// intended times.
type TimelineEndpoint struct {
	Name string `json:"name"`
	// Scenario and Group are as in EndpointResult.
	Scenario     string  `json:"scenario,omitempty"`
	Group        string  `json:"group,omitempty"`
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	RPS          float64 `json:"rps"`
	P50          float64 `json:"p50_ms"`
	P95          float64 `json:"p95_ms"`
	P99          float64 `json:"p99_ms"`
	Corrected    int64   `json:"corrected_requests,omitempty"`
	CorrectedP50 float64 `json:"corrected_p50_ms,omitempty"`
	CorrectedP95 float64 `json:"corrected_p95_ms,omitempty"`
	CorrectedP99 float64 `json:"corrected_p99_ms,omitempty"`
}

func timelineEndpoint(s *IntervalStats) TimelineEndpoint {
	return TimelineEndpoint{
		Name: s.Name, Scenario: s.Scenario, Group: s.Group, Requests: s.Requests, Errors: s.Errors, RPS: s.RPS,
		P50: s.P50, P95: s.P95, P99: s.P99,
		Corrected: s.Corrected, CorrectedP50: s.CorrectedP50, CorrectedP95: s.CorrectedP95, CorrectedP99: s.CorrectedP99,
	}
}

func timelinePoint(iv *Interval) TimelinePoint {
	p := TimelinePoint{
		T:          iv.End.Sub(iv.RunStart).Seconds(),
		DurationS:  iv.End.Sub(iv.Start).Seconds(),
		VUs:        iv.Gauges.VUs,
		Sessions:   iv.Gauges.Sessions.Established,
		Relogins:   iv.Gauges.Sessions.Relogins,
		Held:       iv.Gauges.Sessions.Held,
		Iterations: iv.Iterations,
		Dropped:    iv.Dropped,
		Endpoints:  make([]TimelineEndpoint, 0, len(iv.Endpoints)),
		Total:      timelineEndpoint(&iv.Total),
	}
	for i := range iv.Endpoints {
		s := &iv.Endpoints[i]
		if s.IsGroup {
			p.Groups = append(p.Groups, timelineEndpoint(s))
		} else {
			p.Endpoints = append(p.Endpoints, timelineEndpoint(s))
		}
	}
	return p
}

// csvHeader is the timeline CSV's header; WriteTimelineCSV writes one row
// per interval and endpoint, then one per group, then one for the total.
var csvHeader = []string{"t_s", "duration_s", "endpoint", "requests", "errors", "rps",
	"p50_ms", "p95_ms", "p99_ms", "corrected_p50_ms", "corrected_p95_ms", "corrected_p99_ms",
	"vus", "sessions", "relogins", "iterations", "dropped", "sessions_held", "scenario", "group", "kind"}

// WriteTimelineCSV writes r's timeline as CSV with a header: one row per
// interval and endpoint, one per group (kind "group", its latencies its
// durations, "requests" the times it ran), and a row named "total" per
// interval (kind "total"). Corrected columns are empty where the endpoint
// had no intended times. The scenario column names the row's scenario
// ("" in a plan of one), the group column the group an endpoint is inside.
func WriteTimelineCSV(w io.Writer, r *Results) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader) // errors surface through cw.Error
	for i := range r.Timeline {
		csvRows(cw, &r.Timeline[i])
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write timeline csv: %w", err)
	}
	return nil
}

// csvRows writes one interval's rows.
func csvRows(cw *csv.Writer, p *TimelinePoint) {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	row := func(e *TimelineEndpoint, kind string) {
		c50, c95, c99 := "", "", ""
		if e.Corrected > 0 {
			c50, c95, c99 = f(e.CorrectedP50), f(e.CorrectedP95), f(e.CorrectedP99)
		}
		_ = cw.Write([]string{f(p.T), f(p.DurationS), e.Name, i(e.Requests), i(e.Errors), f(e.RPS),
			f(e.P50), f(e.P95), f(e.P99), c50, c95, c99,
			strconv.Itoa(p.VUs), i(p.Sessions), i(p.Relogins), i(p.Iterations), i(p.Dropped), i(p.Held),
			e.Scenario, e.Group, kind})
	}
	for k := range p.Endpoints {
		row(&p.Endpoints[k], "endpoint")
	}
	for k := range p.Groups {
		row(&p.Groups[k], KindGroup)
	}
	row(&p.Total, TotalName)
}

// CSVWriter is a Sink that streams the timeline CSV (WriteTimelineCSV's
// rows) interval by interval, flushed after each, so a killed run keeps
// every interval written so far.
//
// Concurrency: Interval runs on the recorder's snapshotting goroutine;
// Close must not be called while a snapshot can still happen.
type CSVWriter struct {
	cw *csv.Writer
}

var _ Sink = (*CSVWriter)(nil)

// NewCSVWriter writes the header to w and returns the sink.
func NewCSVWriter(w io.Writer) *CSVWriter {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	cw.Flush()
	return &CSVWriter{cw: cw}
}

// Interval writes the interval's rows and flushes them.
func (c *CSVWriter) Interval(iv *Interval, _ []IntervalHistograms) {
	if c.cw.Error() != nil {
		return
	}
	p := timelinePoint(iv)
	csvRows(c.cw, &p)
	c.cw.Flush()
}

// Close returns the first error met while writing.
func (c *CSVWriter) Close() error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return fmt.Errorf("write timeline csv: %w", err)
	}
	return nil
}
