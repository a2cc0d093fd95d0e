package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionload/load"
	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
)

// runFlags are the overrides and outputs shared by run and demo.
type runFlags struct {
	vus      int
	duration time.Duration
	rate     string
	out      string
	quiet    bool
	seed     uint64
	outputs  outputFlags
	split    splitFlags
	debug    bool
	debugVU  int
	cpus     int
	warmup   time.Duration
}

func (f *runFlags) register(c *cobra.Command) {
	c.Flags().IntVar(&f.vus, "vus", 0, "run this many VUs flat, replacing the plan's load shape")
	c.Flags().DurationVar(&f.duration, "duration", 0, "run for this long, replacing the plan's duration")
	c.Flags().StringVar(&f.rate, "rate", "", "arrivals at this flat rate (50/s, 30/m), replacing an open load's rate")
	c.Flags().StringVar(&f.out, "out", "", "write results.json here")
	c.Flags().BoolVar(&f.quiet, "quiet", false, "no live progress")
	c.Flags().Var((*seedFlag)(&f.seed), "seed", "seed for think times, to repeat a run (results.json generator.seed, a decimal string, quoted or not); 0 picks one")
	c.Flags().DurationVar(&f.warmup, "warmup", 0, "run the first part of the schedule as a warm-up recorded nowhere, replacing the plan's warmup (results.json warmup_s)")
	f.outputs.register(c)
	f.split.register(c)
	c.Flags().BoolVar(&f.debug, "debug", false, "print every request and response of one VU to stderr, login included, secrets hashed, bodies cut at 2 KiB (why was it refused?)")
	c.Flags().IntVar(&f.debugVU, "debug-vu", 1, "the VU --debug follows (global id)")
	c.Flags().IntVar(&f.cpus, "cpus", 0, "run on at most this many CPUs at once (GOMAXPROCS; 0: all, or $GOMAXPROCS); see bench/README.md for when fewer cost less per request")
}

// overrides are the load flags, for profiles.
func (f *runFlags) overrides() profiles.Overrides {
	return profiles.Overrides{VUs: f.vus, Duration: f.duration, Rate: f.rate}
}

// debugOut is where --debug dumps go: stderr, or nowhere.
func (f *runFlags) debugOut(stderr io.Writer) io.Writer {
	if f.debug {
		return stderr
	}
	return nil
}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run PLAN.yaml",
		Short: "Run a plan",
		Long:  "run runs a plan: its VUs log in and work through the scenario along the load shape.\n\n" + exitCodesHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := profiles.LoadFileWith(args[0], f.overrides())
			if err != nil {
				return badInput(err)
			}
			return execute(cmd.Context(), p, &f, stdout, stderr)
		},
	}
	f.register(c)
	return c
}

func newDemoCmd(stdout, stderr io.Writer) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "demo",
		Short: "Start the built-in target on a free loopback port and run the demo plan against it",
		Long: "demo starts the built-in Spring-Security-like target in this process and runs the\n" +
			"bundled plan: 1,000 VUs each log in with their own session (form login with a CSRF\n" +
			"token), work through a small shop API, and log out. It takes about 40 seconds.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := profiles.Parse("demo.yaml", profiles.DemoPlan(), ".")
			if err != nil {
				return fmt.Errorf("the bundled demo plan: %w", err)
			}
			if err := p.OverrideWith(f.overrides()); err != nil {
				return badInput(err)
			}
			users := max(p.MaxVUs(), 1000)
			srv, err := target.New(target.Config{Users: users}).Start("127.0.0.1:0")
			if err != nil {
				return &exitError{code: exitRunError, err: fmt.Errorf("start the demo target: %w", err)}
			}
			defer srv.Close()
			u, err := url.Parse(srv.URL())
			if err != nil {
				return err
			}
			for _, sc := range p.Scenarios {
				sc.Script.Target = u
			}
			fmt.Fprintf(stderr, "demo target on %s (users user1..user%d, password %q)\n", u, users, target.Password)
			return execute(cmd.Context(), p, &f, stdout, stderr)
		},
	}
	f.register(c)
	return c
}

// execute runs p and writes the summary and results.
func execute(ctx context.Context, p *profiles.Plan, f *runFlags, stdout, stderr io.Writer) error {
	stderr = &lockedWriter{w: stderr}
	if f.cpus < 0 {
		return badInput(fmt.Errorf("--cpus %d: expected 0 (all) or a positive count", f.cpus))
	}
	if f.cpus > 0 {
		runtime.GOMAXPROCS(f.cpus)
	}
	f.outputs.planOutputs(&f.out, p.Outputs)
	if err := p.OverrideWith(f.overrides()); err != nil {
		return badInput(err)
	}
	if f.warmup != 0 {
		if err := p.SetWarmup(f.warmup); err != nil {
			return badInput(err)
		}
	}
	if f.out != "" {
		// Fail before the run, not after it, if the results cannot be written.
		if err := checkWritable(f.out); err != nil {
			return badInput(fmt.Errorf("--out: %w", err))
		}
	}
	if err := f.outputs.check(); err != nil {
		return badInput(err)
	}
	seg, startAt, err := f.split.options()
	if err != nil {
		return badInput(err)
	}
	h := stats.StreamHeader{Plan: p.Name, PlanHash: p.Hash(), Segment: seg.String()}
	if !startAt.IsZero() {
		h.StartAt, h.RunID = &startAt, profiles.RunID(h.PlanHash, startAt)
	}
	live, err := f.outputs.openLive(stderr, f.out, h)
	if err != nil {
		return err
	}
	defer live.lingerProm(ctx, stderr)
	show := newProgress(stderr, f.quiet, p)
	test := load.FromPlan(p)
	if f.seed != 0 {
		test.Seed = f.seed
	}
	test.Observe = load.Observe{Progress: live.onInterval(show.update), Logf: show.logf, Segment: seg, StartAt: startAt,
		Debug: f.debugOut(stderr), DebugVU: f.debugVU, Sinks: live.sinks}
	res, err := load.Run(ctx, test)
	show.finish()
	if err := errors.Join(err, live.close()); err != nil {
		var dead *profiles.UnreachableError
		var invalid *load.InvalidError
		if (errors.As(err, &dead) || errors.As(err, &invalid)) && live.streamPath != "" {
			os.Remove(live.streamPath) // nothing ran: no intervals to keep
		}
		if invalid != nil {
			return badInput(err)
		}
		return &exitError{code: exitRunError, err: err}
	}
	passed := res.ThresholdsOK()
	if err := f.outputs.summary(stdout, res); err != nil {
		return &exitError{code: exitRunError, err: err}
	}
	if f.out != "" {
		if err := writeResults(f.out, res); err != nil {
			return &exitError{code: exitRunError, err: fmt.Errorf("%w (the intervals are in %s: load report %s --out %s)", err, live.streamPath, live.streamPath, f.out)}
		}
		if err := os.Remove(live.streamPath); err != nil {
			return &exitError{code: exitRunError, err: err}
		}
		fmt.Fprintf(stderr, "results written to %s\n", f.out)
	}
	if err := f.outputs.write(res, stderr); err != nil {
		return &exitError{code: exitRunError, err: err}
	}
	if why := res.Untested(); why != "" {
		// A pipeline must not take a dead app or a cut-short run for a pass.
		return &exitError{code: exitRunError, err: errors.New("could not test: " + why)}
	}
	if !passed {
		return thresholdError(res)
	}
	return nil
}

func writeResults(path string, res *stats.Results) error {
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := errors.Join(res.WriteJSON(fh), fh.Close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// seedFlag is --seed: a uint64 given as results.json writes it, a
// decimal string, with or without its quotes.
type seedFlag uint64

func (s *seedFlag) String() string { return strconv.FormatUint(uint64(*s), 10) }

// Set parses v as stats.ParseSeed does.
func (s *seedFlag) Set(v string) error {
	n, err := stats.ParseSeed(v)
	if err != nil {
		return err
	}
	*s = seedFlag(n)
	return nil
}

// Type names the flag's value in help.
func (s *seedFlag) Type() string { return "seed" }
