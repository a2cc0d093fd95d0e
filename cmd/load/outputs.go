package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/stats/report"
)

// outputFlags are the files a run (or a report) writes besides the
// summary and results.json.
type outputFlags struct {
	csv         string
	junit       string
	html        string
	summaryMode string // compact or full
}

func (o *outputFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&o.csv, "csv", "", "write the timeline as CSV here (one row per interval and endpoint)")
	c.Flags().StringVar(&o.html, "html", "", "write a self-contained HTML report here (charts, tables, thresholds, plan)")
	c.Flags().StringVar(&o.junit, "junit", "", "write the thresholds as JUnit XML here, for CI")
	c.Flags().StringVar(&o.summaryMode, "summary", "compact", "compact, or full: add where the time went (DNS, connect, TLS, TTFB, body) per endpoint")
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
		fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("--%s: %w", f.flag, err)
		}
		fh.Close()
	}
	return nil
}

// write writes every selected output of res.
func (o *outputFlags) write(res *stats.Results, stderr io.Writer) error {
	writers := map[string]func(io.Writer, *stats.Results) error{
		"csv":   stats.WriteTimelineCSV,
		"junit": stats.WriteJUnit,
		"html":  report.WriteHTML,
	}
	for _, f := range o.files() {
		if f.path == "" {
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
