package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sessionload/load"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
)

func newMergeCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		out        string
		partial    bool
		thresholds string
	)
	c := &cobra.Command{
		Use:   "merge A.json B.json ... -o TOTAL.json",
		Short: "Add the results of the segments of one split test into the whole, exactly",
		Long: "merge adds the results.json of the segments of one test (load run --segment i/n):\n" +
			"histograms exactly (HdrHistogram merge: the whole's percentiles are those of all\n" +
			"samples), counters summed, timelines aligned by wall-clock interval. Every segment\n" +
			"must be there, once, unless --partial, and all of one run (one plan_hash and run_id:\n" +
			"the same plan and --start-at). Rates are over the union of the segments' windows; a\n" +
			"segment that started more than a second late is warned of. --thresholds plan.yaml judges\n" +
			"the plan's thresholds on the whole: the count and rate rules the segments left to it.\n\n" + exitCodesHelp,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if out == "" {
				return badInput(fmt.Errorf("-o: where to write the merged results"))
			}
			var rs []*stats.Results
			for _, a := range args {
				r, err := readResultsFile(a)
				if err != nil {
					return badInput(err)
				}
				rs = append(rs, r)
			}
			m, err := stats.Merge(rs, stats.MergeOptions{Partial: partial})
			if err != nil {
				return badInput(err)
			}
			if thresholds != "" {
				p, err := profiles.LoadFile(thresholds)
				if err != nil {
					return badInput(err)
				}
				if _, err := load.FromPlan(p).Judge(m); err != nil {
					return badInput(err)
				}
			}
			if err := writeResults(out, m); err != nil {
				return &exitError{code: exitRunError, err: err}
			}
			if err := stats.WriteSummary(stdout, m); err != nil {
				return &exitError{code: exitRunError, err: err}
			}
			fmt.Fprintf(stderr, "merged %d results into %s\n", len(rs), out)
			if why := m.Untested(); why != "" {
				return &exitError{code: exitRunError, err: errors.New("could not test: " + why)}
			}
			if !m.ThresholdsOK() {
				return thresholdError(m)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "merged results.json")
	c.Flags().BoolVar(&partial, "partial", false, "merge even if segments are missing")
	c.Flags().StringVar(&thresholds, "thresholds", "", "judge the merged whole by this plan's thresholds (exit 99 if one fails)")
	return c
}
