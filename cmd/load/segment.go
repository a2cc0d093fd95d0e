package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionload/load/profiles"
)

// splitFlags split one test across processes (Kubernetes Indexed Job
// pods): each runs its segment; load merge adds their results.
type splitFlags struct {
	segment  string
	segments int
	startAt  string
	startIn  time.Duration
}

func (f *splitFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.segment, "segment", "", "run segment i/n of the test (env LOAD_SEGMENT, or JOB_COMPLETION_INDEX with --segments)")
	c.Flags().IntVar(&f.segments, "segments", 0, "how many segments, with the index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)")
	c.Flags().StringVar(&f.startAt, "start-at", "", "start the schedule at this instant (RFC 3339), so all segments start together")
	c.Flags().DurationVar(&f.startIn, "start-in", 0, "start the schedule this long from now")
}

// options resolves the flags and the environment into the run's segment
// and start instant.
func (f *splitFlags) options() (profiles.Segment, time.Time, error) {
	var seg profiles.Segment
	var err error
	switch {
	case f.segment != "":
		seg, err = profiles.ParseSegment(f.segment)
	case os.Getenv("LOAD_SEGMENT") != "":
		seg, err = profiles.ParseSegment(os.Getenv("LOAD_SEGMENT"))
		if err != nil {
			err = fmt.Errorf("LOAD_SEGMENT: %w", err)
		}
	case f.segments > 0:
		idx := os.Getenv("JOB_COMPLETION_INDEX")
		i, perr := strconv.Atoi(idx)
		if perr != nil {
			return seg, time.Time{}, fmt.Errorf("--segments %d needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or --segment i/n; JOB_COMPLETION_INDEX=%q", f.segments, idx)
		}
		seg, err = profiles.ParseSegment(fmt.Sprintf("%d/%d", i, f.segments))
	}
	if err != nil {
		return seg, time.Time{}, err
	}
	var at time.Time
	switch {
	case f.startAt != "" && f.startIn != 0:
		return seg, at, fmt.Errorf("--start-at and --start-in: give one")
	case f.startAt != "":
		at, err = time.Parse(time.RFC3339Nano, f.startAt)
		if err != nil {
			return seg, at, fmt.Errorf("--start-at %q: expected RFC 3339, e.g. 2026-11-25T23:00:00Z", f.startAt)
		}
		if time.Until(at) < -time.Minute {
			return seg, at, fmt.Errorf("--start-at %s is more than a minute in the past", f.startAt)
		}
	case f.startIn > 0:
		at = time.Now().Add(f.startIn)
	}
	return seg, at, nil
}
