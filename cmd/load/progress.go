package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/sessionload/load/profiles"
)

// progress shows a run's live state on stderr: a progress bar on a
// terminal, plain status lines otherwise (progressbar itself does not
// detect terminals). It is only called from the executor's goroutine.
type progress struct {
	w        io.Writer
	quiet    bool
	bar      *progressbar.ProgressBar
	every    time.Duration // plain lines: one per every
	nextLine time.Duration // when the next plain line is due, on a fixed grid
}

func newProgress(w io.Writer, quiet bool, p *profiles.Plan) *progress {
	pr := &progress{w: w, quiet: quiet}
	total := p.Load.Total()
	// Plain lines: about 30 per run, at least one a second apart.
	pr.every = max(time.Second, (total / 30).Round(time.Second))
	tty := w
	if lw, ok := w.(*lockedWriter); ok {
		tty = lw.w
	}
	if f, ok := tty.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		pr.bar = progressbar.NewOptions64(int64(total/time.Second),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(time.Second),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionClearOnFinish(),
		)
	}
	return pr
}

func (pr *progress) update(p profiles.Progress) {
	if pr.quiet {
		return
	}
	line := statusLine(p)
	if pr.bar != nil {
		pr.bar.Describe(line)
		_ = pr.bar.Set64(int64(p.Elapsed / time.Second))
		return
	}
	// Snapshots come about once a second, a little early or late: a grid
	// with some slack keeps one line per period without skipping any.
	if p.Elapsed >= pr.nextLine-pr.every/4 || p.Elapsed >= p.Total {
		for pr.nextLine <= p.Elapsed+pr.every/4 {
			pr.nextLine += pr.every
		}
		fmt.Fprintf(pr.w, "[%5s/%s] %s\n", p.Elapsed.Round(time.Second), p.Total, line)
	}
}

// logf shows a message from the run (a warning) on its own line.
func (pr *progress) logf(format string, args ...any) {
	if pr.bar != nil {
		_ = pr.bar.Clear()
	}
	fmt.Fprintf(pr.w, "load: "+format+"\n", args...)
}

func (pr *progress) finish() {
	if pr.bar != nil {
		_ = pr.bar.Finish()
		fmt.Fprintln(pr.w)
	}
}

// statusLine is one line of live figures: VUs, sessions, rps, errors and
// p99 of the last interval.
func statusLine(p profiles.Progress) string {
	t := p.Interval.Total
	errPct := 0.0
	if t.Requests > 0 {
		errPct = 100 * float64(t.Errors) / float64(t.Requests)
	}
	line := fmt.Sprintf("VUs %d/%d  sessions %d  rps %.0f  errors %.1f%%  p99 %s",
		p.VUs, p.Target, p.Sessions.Held, t.RPS, errPct, fmtMS(t.P99))
	if t.Corrected > 0 {
		line += "  corrected p99 " + fmtMS(t.CorrectedP99)
	}
	if s := p.Server; s != nil {
		line += fmt.Sprintf("  server: %d active", s.ActiveSessions)
		if s.RejectedSessions > 0 {
			line += fmt.Sprintf(", %d rejected", s.RejectedSessions)
		}
		if s.BusyThreads >= 0 {
			line += fmt.Sprintf(", %d/%d threads busy", s.BusyThreads, s.MaxThreads)
		}
		if s.HeapUsedMB >= 0 {
			line += fmt.Sprintf(", heap %.0f MB", s.HeapUsedMB)
		}
	}
	if p.Phase != "" {
		line = p.Phase + ": " + line
	}
	return line
}

func fmtMS(ms float64) string {
	switch {
	case ms <= 0:
		return "-"
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.0fms", ms)
	default:
		return fmt.Sprintf("%.2fs", ms/1000)
	}
}

// lockedWriter serialises writes to stderr, which the progress display
// (the executor's goroutine) and the --debug dump (a VU's goroutine) share.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
