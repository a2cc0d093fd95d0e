package stats

import (
	"strings"
	"testing"
	"time"
)

// Lag past the limit is flagged, with the figure; under it, nothing is.
func TestGeneratorLagWarning(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		lags []time.Duration
		warn bool
	}{
		{"on time", []time.Duration{100 * time.Microsecond, 2 * time.Millisecond}, false},            // p99 2 ms < 10 ms
		{"late", []time.Duration{100 * time.Microsecond, 40 * time.Millisecond}, true},               // p99 40 ms
		{"early counts as on time", []time.Duration{-5 * time.Millisecond, time.Millisecond}, false}, // negative lag is 0
	} {
		lag := NewLag()
		for _, d := range tc.lags {
			lag.Record(d)
		}
		g := StartProbe().Stop(lag, GeneratorLimits{CPUUtil: 100}) // CPU warning off
		got := strings.Join(g.Warnings, "\n")
		if tc.warn != strings.Contains(got, "schedule lag p99") {
			t.Errorf("%s: warnings %q, want a lag warning: %v", tc.name, got, tc.warn)
		}
		if g.ScheduledCount != int64(len(tc.lags)) || g.ScheduleLag == nil {
			t.Errorf("%s: scheduled %d, lag %v", tc.name, g.ScheduledCount, g.ScheduleLag)
		}
	}
}

// A saturated CPU is flagged.
func TestGeneratorCPUWarning(t *testing.T) {
	t.Parallel()
	p := StartProbe()
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) { // busy: this goroutine uses a core
	}
	g := p.Stop(nil, GeneratorLimits{CPUUtil: 0.01})
	if g.CPUSeconds <= 0 || !strings.Contains(strings.Join(g.Warnings, " "), "generator CPU") {
		t.Errorf("cpu %.3f s, warnings %q: want a CPU warning", g.CPUSeconds, g.Warnings)
	}
}
