package stats

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A latency over 60 s is clamped into the histogram: the results count
// it and warn, and the summary marks the percentiles that reached the
// clamp instead of printing 60000 as if it were measured.
func TestClampedLatencyShown(t *testing.T) {
	t.Parallel()
	r := NewRecorder(Options{Shards: 1})
	ep := r.Endpoint("slow")
	t0 := time.Unix(1_700_000_000, 0)
	for i, d := range []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 70 * time.Second} {
		s := Sample{Endpoint: ep, Start: t0.Add(time.Duration(i) * time.Second), Kind: OK, Status: 200}
		s.End = s.Start.Add(d)
		s.Intended = s.Start.Add(-time.Millisecond)
		r.Record(0, &s)
	}
	res, err := r.Result(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if res.Totals.Overflow != 1 || res.Totals.CorrectedOverflow != 1 || res.Endpoints[0].Overflow != 1 {
		t.Fatalf("overflow %d corrected %d, want 1 and 1", res.Totals.Overflow, res.Totals.CorrectedOverflow)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "1 latencies (1 corrected) were outside 0..60 s") {
		t.Errorf("warnings %q: want the clamp", res.Warnings)
	}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "clamped:      1 latencies (1 corrected) outside 0..60 s") {
		t.Errorf("summary lacks the clamp line:\n%s", out)
	}
	// p50 2 ms (corrected 3 ms) is measured; p99 and max reached the clamp.
	if !containsFields(strings.Split(out, "\n"), []string{"slow", "*", "4", "0.0667", "0.00%", "3.00", ">=60000", ">=60000", ">=60000", ">=60000", ">=60000"}) {
		t.Errorf("summary row does not mark the clamped percentiles:\n%s", out)
	}
	// Without a clamp, neither.
	r2 := NewRecorder(Options{Shards: 1})
	s := Sample{Endpoint: r2.Endpoint("fast"), Start: t0, End: t0.Add(time.Millisecond)}
	r2.Record(0, &s)
	res2, _ := r2.Result(time.Second)
	buf.Reset()
	_ = WriteSummary(&buf, res2)
	if strings.Contains(buf.String(), "clamped") || strings.Contains(buf.String(), ">=60000") || len(res2.Warnings) != 0 {
		t.Errorf("clamp shown without one: %q\n%s", res2.Warnings, buf.String())
	}
}
