package stats

import (
	"math"
	"strings"
	"testing"
	"time"
)

// Which rules a segment of a split test can judge on its own share.
func TestThresholdScaleFree(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		metric, cond string
		free         bool
	}{
		{"me p99", "< 300ms", true},           // a latency is the same on any share
		{"max", "< 1s", true},                 // so is the worst one
		{"errors", "< 1%", true},              // a share of requests
		{"check_failed", "< 0.5%", true},      // the check rate
		{"errors", "== 0", false},             // a count grows with the load
		{"rps", "> 250", false},               // so does a rate
		{"requests", "> 1000", false},         // and a request count
		{"sessions.unique", "== 100", false},  // and sessions
		{"iterations", "> 10", false},         // and iterations
		{"me session_rejected", "< 3", false}, // an error kind as a count
	} {
		th, err := ParseThreshold(tc.metric, tc.cond)
		if err != nil {
			t.Fatal(err)
		}
		if th.ScaleFree() != tc.free {
			t.Errorf("%s %s: ScaleFree %v, want %v", tc.metric, tc.cond, th.ScaleFree(), tc.free)
		}
	}
}

// A segment defers count and rate rules to the merge; the whole judges
// them.
func TestSegmentDefersThresholds(t *testing.T) {
	t.Parallel()
	rps, _ := ParseThreshold("rps", "> 250")
	errs, _ := ParseThreshold("errors", "< 1%")
	r := &Results{Segment: "0/2", Totals: EndpointResult{Requests: 1000, RPS: 200}}
	if !CheckThresholds(r, []Threshold{rps, errs}) || !r.Thresholds[0].Deferred || r.Thresholds[1].Deferred || r.Thresholds[0].Observed != 200 {
		t.Errorf("segment verdicts %+v", r.Thresholds)
	}
	r.Segment = ""
	if CheckThresholds(r, []Threshold{rps, errs}) || r.Thresholds[0].Deferred {
		t.Errorf("whole verdicts %+v", r.Thresholds)
	}
}

// Merged rates are over the union of the segments' windows, and a
// segment that started late is warned of.
func TestMergeWindow(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)
	seg := func(s string, from, to float64, reqs int64, offMs float64) *Results {
		at := t0
		return &Results{Schema: SchemaV1, Segment: s, Started: t0.Add(time.Duration(from * float64(time.Second))),
			Ended: t0.Add(time.Duration(to * float64(time.Second))), StartAt: &at, StartOffsetMs: offMs,
			Totals: EndpointResult{Name: TotalName, Requests: reqs}, PlanHash: "p", RunID: "r"}
	}
	for _, tc := range []struct {
		name     string
		rs       []*Results
		secs     float64
		warnings int
	}{
		// Together: the window is each one's.
		{"together", []*Results{seg("0/2", 0, 10, 500, 3), seg("1/2", 0.01, 10.01, 500, 13)}, 10.01, 0},
		// Apart: the gap between them is no one's window.
		{"apart", []*Results{seg("0/2", 0, 10, 500, 3), seg("1/2", 20, 30, 500, 20000)}, 20, 1},
	} {
		m, err := Merge(tc.rs, MergeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m.DurationS-tc.secs) > 1e-6 || math.Abs(m.Totals.RPS-1000/tc.secs) > 1e-6 || len(m.Warnings) != tc.warnings {
			t.Errorf("%s: duration_s %v, rps %v, warnings %q; want %v s", tc.name, m.DurationS, m.Totals.RPS, m.Warnings, tc.secs)
		}
	}
	other := seg("1/2", 0, 10, 500, 3)
	other.RunID = "x"
	if _, err := Merge([]*Results{seg("0/2", 0, 10, 500, 3), other}, MergeOptions{}); err == nil || !strings.Contains(err.Error(), "another run") {
		t.Errorf("merge of another run's segment: %v", err)
	}
}

// Why a run did not test, in the order a pipeline needs them.
func TestUntested(t *testing.T) {
	t.Parallel()
	ok := EndpointResult{Requests: 10, Status: map[string]int64{"500": 10}}
	for _, tc := range []struct {
		name string
		r    Results
		want string
	}{
		{"all 500s", Results{Totals: ok}, ""},
		{"dead", Results{Totals: EndpointResult{Requests: 5}, ErrorsByKind: map[string]int64{"connect_refused": 5}}, "no request got an HTTP response (5 requests: connect_refused 5)"},
		{"no login", Results{Totals: ok, Sessions: SessionCounts{LoginFailures: 3}}, "no VU logged in (3 login failures)"},
		{"interrupted", Results{Totals: ok, Interrupted: true}, "interrupted"},
	} {
		if got := tc.r.Untested(); !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
