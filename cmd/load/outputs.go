package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/stats/prom"
	"github.com/sessionload/load/stats/report"
)

// outputFlags are the files a run (or a report) writes besides the
// summary and results.json.
type outputFlags struct {
	csv         string
	junit       string
	html        string
	hlog        string // live: written interval by interval
	prometheus  string // live: address to serve /metrics on
	promLinger  time.Duration
	summaryMode string // compact or full
	liveCSV     bool   // the csv is streamed during the run (openLive), not written after
}

func (o *outputFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&o.csv, "csv", "", "write the timeline as CSV here (one row per interval and endpoint)")
	c.Flags().StringVar(&o.hlog, "hlog", "", "write an HdrHistogram interval log (format 1.3, one tag per endpoint) here")
	c.Flags().StringVar(&o.prometheus, "prometheus", "", "serve live metrics on this address's /metrics (a bare port listens on 127.0.0.1)")
	c.Flags().DurationVar(&o.promLinger, "prom-linger", 0, "keep serving /metrics this long after the run, for a final scrape (e.g. 30s, two scrape intervals)")
	c.Flags().StringVar(&o.html, "html", "", "write a self-contained HTML report here (charts, tables, thresholds, plan)")
	c.Flags().StringVar(&o.junit, "junit", "", "write the thresholds as JUnit XML here, for CI")
	c.Flags().StringVar(&o.summaryMode, "summary", "compact", "compact, or full: add where the time went (DNS, connect, TLS, TTFB, body) per endpoint")
}

// planOutputs fills the outputs the flags left unset from the plan's
// outputs section; out is --out.
func (o *outputFlags) planOutputs(out *string, po profiles.Outputs) {
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{out, po.JSON}, {&o.csv, po.CSV}, {&o.hlog, po.HLog}, {&o.html, po.HTML}, {&o.junit, po.JUnit}, {&o.prometheus, po.Prometheus},
	} {
		if *f.dst == "" {
			*f.dst = f.v
		}
	}
}

// summary prints the end-of-run summary.
func (o *outputFlags) summary(w io.Writer, res *stats.Results) error {
	return stats.WriteSummaryWith(w, res, stats.SummaryOptions{Phases: o.summaryMode == "full"})
}

// files are the output paths with their flag names, in writing order.
func (o *outputFlags) files() []struct{ flag, path string } {
	return []struct{ flag, path string }{{"csv", o.csv}, {"junit", o.junit}, {"html", o.html}}
}

// check fails before the run, not after it, if an output cannot be written.
func (o *outputFlags) check() error {
	if o.summaryMode != "compact" && o.summaryMode != "full" {
		return fmt.Errorf("--summary: expected compact or full, got %q", o.summaryMode)
	}
	for _, f := range o.files() {
		if f.path == "" {
			continue
		}
		if err := checkWritable(f.path); err != nil {
			return fmt.Errorf("--%s: %w", f.flag, err)
		}
	}
	return nil
}

// checkWritable fails if path cannot be written, and leaves no empty file
// behind: a run killed before its end must not leave outputs that look
// written.
func checkWritable(path string) error {
	if _, err := os.Stat(path); err == nil {
		fh, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return fh.Close()
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	return errors.Join(fh.Close(), os.Remove(path))
}

// write writes every selected output of res.
func (o *outputFlags) write(res *stats.Results, stderr io.Writer) error {
	writers := map[string]func(io.Writer, *stats.Results) error{
		"csv":   stats.WriteTimelineCSV,
		"junit": stats.WriteJUnit,
		"html":  report.WriteHTML,
	}
	for _, f := range o.files() {
		if f.path == "" || f.flag == "csv" && o.liveCSV {
			continue
		}
		if err := writeFileAtomic(f.path, func(w io.Writer) error { return writers[f.flag](w, res) }); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s written to %s\n", f.flag, f.path)
	}
	return nil
}

// writeFileAtomic writes path through a temporary file, so a reader never
// sees half a file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := errors.Join(write(fh), fh.Close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// liveOutputs are the outputs written while the run goes: stats sinks.
type liveOutputs struct {
	sinks  []stats.Sink
	hlog   *os.File
	hw     *stats.HlogWriter
	prom   *prom.Server
	csv    *os.File
	cw     *stats.CSVWriter
	stream *stats.StreamWriter
	// streamPath is the --out stream, R.json.partial; removed once R.json
	// is written.
	streamPath string
	x          *prom.Exporter
	// linger is how long prom stays up after the run (lingerProm).
	linger time.Duration
}

// openLive opens the live outputs a run asked for: with out (--out), the
// interval stream out.partial, whose first line is h; the CSV, streamed.
func (o *outputFlags) openLive(stderr io.Writer, out string, h stats.StreamHeader) (*liveOutputs, error) {
	l := &liveOutputs{}
	if out != "" {
		l.streamPath = out + ".partial"
		f, err := os.Create(l.streamPath)
		if err != nil {
			return nil, badInput(fmt.Errorf("--out: the interval stream: %w", err))
		}
		l.stream = stats.NewStreamWriter(f, h)
		l.sinks = append(l.sinks, l.stream)
	}
	if o.csv != "" {
		f, err := os.Create(o.csv)
		if err != nil {
			l.close()
			return nil, badInput(fmt.Errorf("--csv: %w", err))
		}
		l.csv, l.cw, o.liveCSV = f, stats.NewCSVWriter(f), true
		l.sinks = append(l.sinks, l.cw)
	}
	if o.hlog != "" {
		f, err := os.Create(o.hlog)
		if err != nil {
			l.close()
			return nil, badInput(fmt.Errorf("--hlog: %w", err))
		}
		l.hlog, l.hw = f, stats.NewHlogWriter(f)
		l.sinks = append(l.sinks, l.hw)
	}
	if o.prometheus != "" {
		x := prom.New()
		srv, err := prom.Serve(x, o.prometheus)
		if err != nil {
			l.close()
			return nil, badInput(fmt.Errorf("--prometheus: %w", err))
		}
		l.prom, l.x, l.linger = srv, x, o.promLinger
		l.sinks = append(l.sinks, x)
		fmt.Fprintf(stderr, "metrics on http://%s/metrics\n", srv.Addr())
	}
	return l, nil
}

// close finishes the live outputs; call it after the run returned.
func (l *liveOutputs) close() error {
	var errs []error
	if l.stream != nil {
		errs = append(errs, l.stream.Close())
		l.stream = nil
	}
	if l.cw != nil {
		errs = append(errs, l.cw.Close(), l.csv.Close())
		l.cw = nil
	}
	if l.hw != nil {
		errs = append(errs, l.hw.Close(), l.hlog.Close())
		l.hw = nil
	}
	if l.prom != nil && l.linger <= 0 {
		errs = append(errs, l.prom.Close())
		l.prom = nil
	}
	return errors.Join(errs...)
}

// onInterval passes each interval's server figures to the Prometheus
// exporter, then calls next.
func (l *liveOutputs) onInterval(next func(profiles.Progress)) func(profiles.Progress) {
	if l.x == nil {
		return next
	}
	return func(pr profiles.Progress) {
		l.x.Server(pr.Server)
		next(pr)
	}
}

// lingerProm keeps /metrics up for --prom-linger after the run, so
// Prometheus scrapes its final figures, then closes it; an interrupt ends
// the wait. Call it last.
func (l *liveOutputs) lingerProm(ctx context.Context, stderr io.Writer) error {
	if l.prom == nil || l.linger <= 0 {
		return nil
	}
	fmt.Fprintf(stderr, "metrics stay on http://%s/metrics for %s (--prom-linger)\n", l.prom.Addr(), l.linger)
	return l.prom.CloseAfter(ctx, l.linger)
}

// thresholdError is the exit-99 error for failed thresholds.
func thresholdError(res *stats.Results) error {
	failed := 0
	for _, t := range res.Thresholds {
		if !t.OK {
			failed++
		}
	}
	return &exitError{code: exitThresholds, err: fmt.Errorf("%d of %d thresholds failed", failed, len(res.Thresholds))}
}
