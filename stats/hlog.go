package stats

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// HlogWriter is a Sink that writes every interval's histograms as an
// HdrHistogram interval log (format 1.3), readable by HdrHistogram's
// HistogramLogProcessor and hdrhistogram-go's HistogramLogReader. Each
// endpoint is one tag (its name, with spaces and commas made "_");
// corrected latencies, where there are any, go under the tag
// "NAME.corrected". An endpoint of a named scenario is tagged
// "SCENARIO/NAME", one inside a group "SCENARIO/GROUP/NAME"; a group is
// "group:NAME" (its durations; ".service" its service times), so names
// that recur across scenarios stay apart. Values are microseconds, so HistogramLogProcessor
// wants -outputValueUnitRatio 1000 for milliseconds; the Interval_Max
// column is in milliseconds. Timestamps are seconds since the run started
// (the log's BaseTime and StartTime).
//
// Concurrency: Interval runs on the recorder's snapshotting goroutine;
// Close must not be called while a snapshot can still happen.
type HlogWriter struct {
	w       io.Writer
	err     error
	started bool
	base    time.Time
}

var _ Sink = (*HlogWriter)(nil)

// NewHlogWriter returns a writer to w; the header goes out with the first
// interval.
func NewHlogWriter(w io.Writer) *HlogWriter { return &HlogWriter{w: w} }

// HlogTag is the tag an endpoint's histograms carry in the log.
func HlogTag(name string) string {
	return strings.Map(func(r rune) rune {
		if r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return '_'
		}
		return r
	}, name)
}

// Interval writes one line per endpoint (and its corrected latencies)
// that had samples in the interval.
func (h *HlogWriter) Interval(iv *Interval, hists []IntervalHistograms) {
	if h.err != nil {
		return
	}
	if !h.started {
		h.started = true
		h.base = iv.RunStart
		ms := h.base.UnixMilli()
		lw := hdrhistogram.NewHistogramLogWriter(h.w)
		for _, err := range []error{
			lw.OutputLogFormatVersion(),
			lw.OutputComment(fmt.Sprintf("[load: latencies in microseconds, one tag per endpoint; %q holds End-Intended]", "NAME.corrected")),
			lw.OutputStartTime(ms),
			lw.OutputBaseTime(ms),
			lw.OutputLegend(),
		} {
			if err != nil {
				h.err = err
				return
			}
		}
	}
	start := iv.Start.Sub(h.base).Seconds()
	length := iv.End.Sub(iv.Start).Seconds()
	for e, hs := range hists {
		if e >= len(iv.Endpoints) {
			break
		}
		tag := hlogTagOf(&iv.Endpoints[e])
		h.line(tag, start, length, hs.Latency)
		if hs.Corrected != nil {
			h.line(tag+".corrected", start, length, hs.Corrected)
		}
		if hs.Service != nil {
			h.line(tag+".service", start, length, hs.Service)
		}
	}
}

// hlogTagOf is an interval row's tag (see HlogWriter).
func hlogTagOf(s *IntervalStats) string {
	name := s.Name
	if s.IsGroup {
		name = KindGroup + ":" + name
	}
	if s.Group != "" {
		name = s.Group + "/" + name
	}
	if s.Scenario != "" {
		name = s.Scenario + "/" + name
	}
	return HlogTag(name)
}

func (h *HlogWriter) line(tag string, start, length float64, hist *hdrhistogram.Histogram) {
	if hist == nil || hist.TotalCount() == 0 || h.err != nil {
		return // an idle endpoint adds nothing to the log
	}
	b, err := hist.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		h.err = err
		return
	}
	_, h.err = fmt.Fprintf(h.w, "Tag=%s,%.3f,%.3f,%.3f,%s\n", tag, start, length, float64(hist.Max())/1000, b)
}

// Close returns the first error met while writing.
func (h *HlogWriter) Close() error {
	if h.err != nil {
		return fmt.Errorf("write hlog: %w", h.err)
	}
	return nil
}
