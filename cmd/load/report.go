package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sessionload/load"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
)

func readResultsFile(path string) (*stats.Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, badInput(err)
	}
	defer f.Close()
	r, err := stats.ReadResultsOrStream(f)
	if err != nil {
		return nil, badInput(fmt.Errorf("%s: %w", path, err))
	}
	return r, nil
}

func newReportCmd(stdout, stderr io.Writer) *cobra.Command {
	var o outputFlags
	var thresholds, out string
	c := &cobra.Command{
		Use:   "report RESULTS.json | R.json.partial",
		Short: "Print a saved run's summary again, and write its other outputs",
		Long: "report reads a results.json written by run --out and prints its summary, with the\n" +
			"threshold verdicts it was judged by (or, with --thresholds plan.yaml, by that plan's\n" +
			"thresholds, e.g. on the merged whole of a split test); --csv, --junit and --html write\n" +
			"the same outputs a run writes; --out writes the results again. Given the interval stream\n" +
			"R.json.partial of a run that did not finish (killed, or quit with a second Ctrl-C), it\n" +
			"rebuilds the results from every complete interval, marked partial.\n\n" + exitCodesHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			res, err := readResultsFile(args[0])
			if err != nil {
				return err
			}
			if err := o.check(); err != nil {
				return badInput(err)
			}
			if thresholds != "" {
				// Judge the (e.g. merged) results by a plan's thresholds.
				p, err := profiles.LoadFile(thresholds)
				if err != nil {
					return badInput(err)
				}
				if _, err := load.FromPlan(p).Judge(res); err != nil {
					return badInput(err)
				}
			}
			if err := o.summary(stdout, res); err != nil {
				return &exitError{code: exitRunError, err: err}
			}
			if out != "" {
				if err := writeResults(out, res); err != nil {
					return &exitError{code: exitRunError, err: err}
				}
				fmt.Fprintf(stderr, "results written to %s\n", out)
			}
			if err := o.write(res, stderr); err != nil {
				return &exitError{code: exitRunError, err: err}
			}
			if why := res.Untested(); why != "" {
				return &exitError{code: exitRunError, err: errors.New("could not test: " + why)}
			}
			if !res.ThresholdsOK() {
				return thresholdError(res)
			}
			return nil
		},
	}
	o.register(c)
	c.Flags().StringVar(&out, "out", "", "write the results (rebuilt from a stream, or judged by --thresholds) here")
	c.Flags().StringVar(&thresholds, "thresholds", "", "judge the results by this plan's thresholds (e.g. a merged result of a split test)")
	return c
}

func newCompareCmd(stdout, _ io.Writer) *cobra.Command {
	var (
		maxRegress string
		baselines  []string
		opt        stats.CompareOptions
		junit      string
	)
	c := &cobra.Command{
		Use:   "compare BASE.json NEW.json | compare --baseline A.json B.json C.json... NEW.json",
		Short: "Compare a run with a base run (or the median of several); exit 99 on regression",
		Long: "compare shows every endpoint of two saved runs side by side (requests, rps, error rate,\n" +
			"p50..p99.9, mean, max) with the relative change, percentiles computed from the embedded\n" +
			"histograms: service time with service time, corrected latency with corrected.\n" +
			"Always judged: the error rate (up 0.1pp), each endpoint's requests and the run's\n" +
			"iterations (down 10%; a vanished endpoint regresses), p50 and p99 (up 10%);\n" +
			"--max-regress changes these or adds metrics. Latencies are judged per endpoint (the\n" +
			"totals' mix is only shown), with at least --min-samples in both runs, and regress only\n" +
			"when they rose by --min-change or more and their confidence intervals in the two runs\n" +
			"(each widened by its run's own schedule lag) do not overlap; an error rate regresses\n" +
			"only when its intervals do not overlap. With --baseline, every file but the last is a\n" +
			"base run and the base is their median. Runs of different plans are refused (exit 2)\n" +
			"unless --force. Exit code 99 on a regression.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			paths := append(slices.Clone(baselines), args...)
			if len(baselines) == 0 && len(args) != 2 {
				return badInput(fmt.Errorf("compare: expected BASE.json NEW.json (or --baseline A.json B.json... NEW.json), got %d files", len(args)))
			}
			if maxRegress != "" {
				tol, err := stats.ParseTolerances(maxRegress)
				if err != nil {
					return badInput(err)
				}
				opt.Tolerances = tol
			}
			if opt.MinSamples < 1 {
				return badInput(fmt.Errorf("--min-samples %d: expected a positive count", opt.MinSamples))
			}
			if opt.MinChange <= 0 {
				return badInput(fmt.Errorf("--min-change %s: expected a positive duration", opt.MinChange))
			}
			if opt.Confidence <= 0 || opt.Confidence >= 1 {
				return badInput(fmt.Errorf("--confidence %g: expected a level between 0 and 1, e.g. 0.95", opt.Confidence))
			}
			runs := make([]*stats.Results, len(paths))
			for i, p := range paths {
				r, err := readResultsFile(p)
				if err != nil {
					return err
				}
				runs[i] = r
			}
			cmp, err := stats.Compare(runs[:len(runs)-1], runs[len(runs)-1], opt)
			if err != nil {
				return badInput(err)
			}
			if err := cmp.Write(stdout); err != nil {
				return &exitError{code: exitRunError, err: err}
			}
			if junit != "" {
				if err := writeFileAtomic(junit, func(w io.Writer) error { return stats.WriteCompareJUnit(w, cmp) }); err != nil {
					return &exitError{code: exitRunError, err: err}
				}
			}
			if cmp.Regressions > 0 {
				return &exitError{code: exitThresholds, err: fmt.Errorf("%d regressions against %s", cmp.Regressions, strings.Join(paths[:len(paths)-1], ", "))}
			}
			return nil
		},
	}
	c.Flags().StringVar(&maxRegress, "max-regress", "",
		"tolerances laid over the defaults p50=10%,p99=10%,errors=0.1pp,requests=10%,iterations=10%: METRIC=N% (p50, p90, p95, p99, p99.9, mean, max, rps, requests, iterations, errors) or errors=Npp")
	c.Flags().StringArrayVar(&baselines, "baseline", nil, "base runs: compare the last file with the median of this one and every other file before it")
	c.Flags().Int64Var(&opt.MinSamples, "min-samples", stats.DefaultMinSamples, "fewest samples a latency needs in both runs to be judged")
	c.Flags().Float64Var(&opt.Confidence, "confidence", stats.DefaultConfidence, "confidence level of the intervals compared")
	c.Flags().DurationVar(&opt.MinChange, "min-change", stats.DefaultMinChange, "least a latency must rise to regress, whatever its tolerance")
	c.Flags().BoolVar(&opt.Force, "force", false, "compare runs of different plans or load shapes")
	c.Flags().StringVar(&junit, "junit", "", "write the verdicts as JUnit XML here, for CI")
	return c
}
