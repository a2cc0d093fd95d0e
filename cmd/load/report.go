package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

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
				stats.CheckThresholds(res, p.Rules())
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
	var maxRegress string
	c := &cobra.Command{
		Use:   "compare BASE.json NEW.json",
		Short: "Compare a run with a base run; exit 99 on regression",
		Long: "compare shows every endpoint of two saved runs side by side (requests, rps, error rate,\n" +
			"p50..p99.9, mean, max) with the relative change, percentiles computed from the embedded\n" +
			"histograms. Changes beyond --max-regress are regressions: exit code 99.",
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			tol, err := stats.ParseTolerances(maxRegress)
			if err != nil {
				return badInput(err)
			}
			base, err := readResultsFile(args[0])
			if err != nil {
				return err
			}
			next, err := readResultsFile(args[1])
			if err != nil {
				return err
			}
			cmp, err := stats.Compare(base, next, tol)
			if err != nil {
				return badInput(err)
			}
			if err := cmp.Write(stdout); err != nil {
				return &exitError{code: exitRunError, err: err}
			}
			if cmp.Regressions > 0 {
				return &exitError{code: exitThresholds, err: fmt.Errorf("%d regressions against %s", cmp.Regressions, args[0])}
			}
			return nil
		},
	}
	c.Flags().StringVar(&maxRegress, "max-regress", "p99=10%,errors=0.1pp",
		"tolerances: METRIC=N% (p50, p90, p95, p99, p99.9, mean, max, rps, errors) or errors=Npp")
	return c
}
