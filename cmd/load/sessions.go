package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/stats/report"
)

func newSessionsCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		o                       profiles.SearchOptions
		rate, out, html         string
		quiet                   bool
		heapLimitPct, headPct   float64
		threadPct, cpuPct, conn float64
	)
	c := &cobra.Command{
		Use:   "sessions PLAN.yaml",
		Short: "Find how many concurrent sessions the server holds, name the limit, and recommend Tomcat settings",
		Long: "sessions warms the server up (--warmup), then raises the concurrent sessions step by step\n" +
			"(--start, --step, --max): each step logs in that many VUs, each its own user and session,\n" +
			"holds them until the figures are stable (--hold at least, --max-hold at most), runs the\n" +
			"server's GC over JMX and reads the heap after it (--no-gc: off), and logs them out.\n" +
			"A step that breaks a limit is retried once; the search bisects below the first step that\n" +
			"broke twice and confirms the knee, the highest step that passed twice. The limits, with the\n" +
			"plan's server: block (kind tomcat): the session cap (refusals), response time (the plan's\n" +
			"latency thresholds, else --slo on p95), the thread pool (busy >= --thread-limit % of\n" +
			"maxThreads for most of the hold), connections (near maxConnections), heap after GC\n" +
			"(--heap-limit % of the max) and process CPU (--cpu-limit). --raise-cap lifts\n" +
			"maxActiveSessions over JMX for the search and restores it afterwards, to find the resource\n" +
			"knee beyond the configured cap. The output is the per-step table with each verdict and its\n" +
			"signal, client vs server sessions per step, the binding limit, the heap per session with\n" +
			"its confidence interval, and settings for your traffic (--arrival-rate, --active-time,\n" +
			"--abandon-share, --timeout, --headroom) by Little's law, every number with its formula.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := profiles.LoadFile(args[0])
			if err != nil {
				return badInput(err)
			}
			if rate != "" {
				if o.ArrivalRate, err = profiles.ParseRate(rate); err != nil {
					return badInput(fmt.Errorf("--arrival-rate: %w", err))
				}
			}
			if o.AbandonShare < 0 || o.AbandonShare > 1 {
				return badInput(fmt.Errorf("--abandon-share %.2f: expected a share between 0 and 1", o.AbandonShare))
			}
			if headPct < 0 || headPct >= 100 {
				return badInput(fmt.Errorf("--headroom %.0f: expected a percentage from 0 to under 100", headPct))
			}
			o.HeapLimit, o.ThreadLimit, o.CPULimit, o.ConnLimit = heapLimitPct/100, threadPct/100, cpuPct/100, conn/100
			o.Headroom = headPct / 100
			if headPct == 0 {
				o.Headroom = -1 // none
			}
			show := newProgress(stderr, quiet, p)
			o.OnStep = func(s profiles.SearchStep) {
				verdict := "ok"
				if !s.OK {
					verdict = "broke on " + s.Signal + ": " + s.Why
				}
				if s.Phase == "warmup" {
					verdict = "warm-up done"
				}
				server := ""
				if s.ServerActive >= 0 {
					server = fmt.Sprintf(" (server: %d held, %d refused)", s.ServerActive, s.ServerRefused)
				}
				show.logf("%s %d sessions: p95 %.3g ms, held %d, refused %d%s: %s",
					s.Phase, s.Sessions, s.P95, s.Held, s.ClientRefused, server, verdict)
			}
			// results.json holds the run of the knee (else the last step).
			var kneeRes, lastRes *stats.Results
			results := map[int]*stats.Results{}
			o.OnResults = func(s profiles.SearchStep, r *stats.Results) {
				if s.OK {
					results[s.Sessions] = r
				}
				lastRes = r
			}
			o.Run = profiles.RunOptions{OnInterval: show.update, Logf: show.logf}
			res, err := profiles.SearchSessions(cmd.Context(), p, o)
			show.finish()
			if res != nil {
				if werr := profiles.WriteSearch(stdout, res); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				return &exitError{code: exitRunError, err: err}
			}
			if kneeRes = results[res.Knee]; kneeRes == nil {
				kneeRes = lastRes
			}
			if out != "" {
				var b bytes.Buffer
				enc := json.NewEncoder(&b)
				enc.SetIndent("", "  ")
				err := enc.Encode(stats.CapacityResults{Results: kneeRes, Capacity: res})
				if err == nil {
					err = os.WriteFile(out, b.Bytes(), 0o644)
				}
				if err != nil {
					return &exitError{code: exitRunError, err: err}
				}
			}
			if html != "" {
				var b bytes.Buffer
				err := report.WriteCapacityHTML(&b, p.Name, res)
				if err == nil {
					err = os.WriteFile(html, b.Bytes(), 0o644)
				}
				if err != nil {
					return &exitError{code: exitRunError, err: err}
				}
			}
			if cmd.Context().Err() != nil {
				return &exitError{code: exitRunError, err: fmt.Errorf("interrupted")}
			}
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&o.Start, "start", 100, "sessions in the first step")
	f.IntVar(&o.Step, "step", 100, "sessions added per step")
	f.IntVar(&o.Max, "max", 10000, "the largest step tried")
	f.IntVar(&o.Refine, "refine", 0, "bisect until the knee and the break are this close (default step/10; -1: no bisection)")
	f.DurationVar(&o.Hold, "hold", 10*time.Second, "the shortest hold of a step, after its ramp")
	f.DurationVar(&o.MaxHold, "max-hold", 60*time.Second, "the longest hold: a step holds until its figures are stable or this long")
	f.DurationVar(&o.Ramp, "ramp", 0, "how long each step takes to log in (default 10 ms per session, at least 2s)")
	f.DurationVar(&o.Warmup, "warmup", 30*time.Second, "low load before the first step, not judged (0: none)")
	f.IntVar(&o.WarmupSessions, "warmup-sessions", 0, "sessions during the warm-up (default start/10)")
	f.DurationVar(&o.SLO, "slo", 0, "p95 limit of a step when the plan has no latency threshold, e.g. 500ms (0: none)")
	f.Float64Var(&heapLimitPct, "heap-limit", 85, "a step breaks when the heap after GC passes this % of the max heap")
	f.Float64Var(&threadPct, "thread-limit", 95, "busy threads at this % of maxThreads for most of the hold break a step")
	f.Float64Var(&conn, "conn-limit", 95, "connections at this % of maxConnections break a step")
	f.Float64Var(&cpuPct, "cpu-limit", 90, "the server process's CPU over this % of all cores breaks a step")
	f.BoolVar(&o.NoGC, "no-gc", false, "do not invoke the server's GC at each step's end (no heap after GC, no heap per session)")
	f.BoolVar(&o.RaiseCap, "raise-cap", false, "lift maxActiveSessions over JMX during the search (restored afterwards) to find the resource knee")
	f.StringVar(&rate, "arrival-rate", "", "production user arrivals, e.g. 20/s, for the recommendation")
	f.DurationVar(&o.ActiveTime, "active-time", 0, "how long a production user stays active")
	f.Float64Var(&o.AbandonShare, "abandon-share", 0.5, "share of users who leave without logging out (their sessions wait for the timeout)")
	f.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "the session timeout in production")
	f.Float64Var(&headPct, "headroom", 20, "% of the knee kept free by the recommended maxActiveSessions")
	f.StringVar(&out, "out", "", "write results.json (the knee's run with the capacity block) here")
	f.StringVar(&html, "report", "", "write the HTML capacity report (a chart of the steps) here")
	f.BoolVar(&quiet, "quiet", false, "no live progress")
	return c
}
