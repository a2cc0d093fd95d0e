package main

import (
	"fmt"
	"io"
	"os"
	"strings"
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
	waiting  bool          // the terminal shows the start-wait countdown, not the bar
	every    time.Duration // plain lines: one per every
	nextLine time.Duration // when the next plain line is due, on a fixed grid
}

func newProgress(w io.Writer, quiet bool, p *profiles.Plan) *progress {
	pr := &progress{w: w, quiet: quiet}
	total := p.Total()
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
			// Snapshots come about once a second, some a little early: a
			// throttle of a whole second would drop every other one.
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false),
			// The count is the elapsed seconds of the schedule; the bar's
			// own clock would count the start wait too.
			progressbar.OptionSetElapsedTime(false),
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
		if p.Elapsed < 0 || strings.HasPrefix(p.Phase, "waiting") {
			// Before the start the bar would count from a negative
			// elapsed time: show the countdown alone, on the bar's line.
			fmt.Fprintf(pr.w, "\r\x1b[K%s", line)
			pr.waiting = true
			return
		}
		if pr.waiting {
			pr.waiting = false
			fmt.Fprint(pr.w, "\r\x1b[K")
		}
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
		if p.Elapsed < 0 || strings.HasPrefix(p.Phase, "waiting") {
			fmt.Fprintf(pr.w, "%s\n", line)
			return
		}
		fmt.Fprintf(pr.w, "[%5s/%s] %s\n", p.Elapsed.Round(time.Second), p.Total, line)
	}
}

// logf shows a message from the run (a warning) on its own line.
func (pr *progress) logf(format string, args ...any) {
	if pr.waiting {
		fmt.Fprint(pr.w, "\r\x1b[K")
	} else if pr.bar != nil {
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
// p99 of the last interval, after the phase in its own words: waiting
// (a countdown to --start-at or --start-in), logging in, running,
// stopping.
func statusLine(p profiles.Progress) string {
	if p.Elapsed < 0 || strings.HasPrefix(p.Phase, "waiting") {
		// Whole seconds left, rounded up: "starting in 1 s" until the start.
		left := max(0, (-p.Elapsed+time.Second-1)/time.Second)
		line := fmt.Sprintf("waiting: starting in %d s", left)
		if left == 0 {
			line = "waiting: starting now"
		}
		if n := p.Sessions.Held; n > 0 {
			line += fmt.Sprintf("  (%d sessions logged in)", n)
		}
		return line
	}
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
	switch p.Phase {
	case "":
		line = "running: " + line
	case "stopping":
		line = fmt.Sprintf("stopping: %d VUs finishing  ", p.VUs) + line[strings.Index(line, "sessions"):]
	default:
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
