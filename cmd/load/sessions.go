package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionload/load/profiles"
)

func newSessionsCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		o            profiles.SearchOptions
		rate, out    string
		quiet        bool
		heapLimitPct float64
	)
	c := &cobra.Command{
		Use:   "sessions PLAN.yaml",
		Short: "Find how many concurrent sessions the server holds, and recommend maxActiveSessions and a timeout",
		Long: "sessions raises the number of concurrent sessions step by step (--start, --step, --max):\n" +
			"each step logs in that many VUs, each its own user and session, holds them (--hold),\n" +
			"and logs them out. It records per step the latency, errors, refused sessions and,\n" +
			"with the plan's server: block, the server's heap and busy threads; it stops at the\n" +
			"first step that breaks the plan's thresholds, gets a session refused, or passes the\n" +
			"heap limit. Then it prints the table, the knee, the heap per session, and settings\n" +
			"for your traffic (--arrival-rate, --active-time, --abandon-share, --timeout) by\n" +
			"Little's law: sessions held = arrival rate × (active time + abandon share × timeout).",
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
			o.HeapLimit = heapLimitPct / 100
			var show *progress
			o.OnStep = func(s profiles.SearchStep) {
				verdict := "ok"
				if !s.OK {
					verdict = "broke: " + s.Why
				}
				fmt.Fprintf(stderr, "step %d sessions: p99 %.3g ms, %.2f%% errors, %d refused, server peak %d: %s\n",
					s.Sessions, s.P99, s.ErrorPct, s.Rejected, s.ServerPeak, verdict)
			}
			show = newProgress(stderr, quiet, p)
			o.Run = profiles.RunOptions{OnInterval: show.update, Logf: show.logf}
			res, err := profiles.SearchSessions(cmd.Context(), p, o)
			show.finish()
			if err != nil {
				return &exitError{code: exitRunError, err: err}
			}
			if err := profiles.WriteSearch(stdout, res); err != nil {
				return &exitError{code: exitRunError, err: err}
			}
			if out != "" {
				b, err := json.MarshalIndent(res, "", "  ")
				if err == nil {
					err = os.WriteFile(out, append(b, '\n'), 0o644)
				}
				if err != nil {
					return &exitError{code: exitRunError, err: err}
				}
			}
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&o.Start, "start", 100, "sessions in the first step")
	f.IntVar(&o.Step, "step", 100, "sessions added per step")
	f.IntVar(&o.Max, "max", 10000, "the largest step tried")
	f.DurationVar(&o.Hold, "hold", 30*time.Second, "how long each step holds its sessions")
	f.DurationVar(&o.Ramp, "ramp", 0, "how long each step takes to log in (default hold/4)")
	f.Float64Var(&heapLimitPct, "heap-limit", 85, "stop when the server's heap passes this % of its max (needs server:)")
	f.StringVar(&rate, "arrival-rate", "", "production user arrivals, e.g. 20/s, for the recommendation")
	f.DurationVar(&o.ActiveTime, "active-time", 0, "how long a production user stays active")
	f.Float64Var(&o.AbandonShare, "abandon-share", 0.5, "share of users who leave without logging out (their sessions wait for the timeout)")
	f.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "the session timeout the recommendation starts from")
	f.StringVar(&out, "out", "", "write the steps and the recommendation as JSON here")
	f.BoolVar(&quiet, "quiet", false, "no live progress")
	return c
}
