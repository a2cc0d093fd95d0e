package stats

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Phases go into sparse histograms per endpoint, come out in results.json
// with exact counts and a decodable HDR, and in the full summary.
func TestPhases(t *testing.T) {
	t.Parallel()
	r := NewRecorder(Options{Shards: 4})
	cat, plain := r.Endpoint("catalog"), r.Endpoint("plain")
	ttfb := newHistogram()
	for i := range 1000 {
		s := sample(cat, 10*time.Millisecond)
		s.Reused = i%10 != 0
		s.Phases = Phases{TTFB: time.Duration(1000+i) * time.Microsecond, Body: 50 * time.Microsecond}
		if !s.Reused { // a new connection: DNS and connect, no TLS
			s.Phases.DNS, s.Phases.Connect = 200*time.Microsecond, 300*time.Microsecond
		}
		_ = ttfb.RecordValue(int64(1000 + i))
		r.Record(i, s)
		r.Record(i, sample(plain, time.Millisecond)) // no phases measured
		if i%300 == 0 {
			r.Snapshot()
		}
	}
	res, err := r.Result(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res.Connections.Dials = 100
	e := res.Endpoints[0]
	if e.Phases == nil || res.Endpoints[1].Phases != nil {
		t.Fatalf("phases: catalog %+v, plain %+v", e.Phases, res.Endpoints[1].Phases)
	}
	ph := e.Phases
	if ph.DNS.Count != 100 || ph.Connect.Count != 100 || ph.TLS != nil || ph.TTFB.Count != 1000 || ph.Body.Count != 1000 {
		t.Errorf("phase counts: dns %d connect %d tls %v ttfb %d body %d", ph.DNS.Count, ph.Connect.Count, ph.TLS, ph.TTFB.Count, ph.Body.Count)
	}
	h, err := DecodeHDR(ph.TTFB.HDR)
	if err != nil {
		t.Fatal(err)
	}
	assertSameHistogram(t, "ttfb", h, ttfb)
	if !near(ph.TTFB.P99, ms(ttfb.ValueAtQuantile(99))) || !near(ph.Connect.P50, 0.3) {
		t.Errorf("ttfb p99 %v connect p50 %v", ph.TTFB.P99, ph.Connect.P50)
	}
	if e.ReuseRatio != 0.9 {
		t.Errorf("catalog reuse ratio %v, want 0.9", e.ReuseRatio)
	}
	var full, compact bytes.Buffer
	if err := WriteSummaryWith(&full, res, SummaryOptions{Phases: true}); err != nil {
		t.Fatal(err)
	}
	_ = WriteSummary(&compact, res)
	if strings.Contains(compact.String(), "where the time went") {
		t.Error("the compact summary has the phase table")
	}
	out := full.String()
	for _, w := range [][]string{
		{"endpoint", "dns", "connect", "tls", "ttfb", "body", "reused"},
		{"catalog", "0.200", "/", "0.200", "0.300", "/", "0.300", "-", "1.50", "/", "1.99", "0.0500", "/", "0.0500", "90.0%"},
		{"plain", "-", "-", "-", "-", "-", "0.0%"},
	} {
		if !containsFields(strings.Split(out, "\n"), w) {
			t.Errorf("full summary lacks row %q:\n%s", w, out)
		}
	}
	if !strings.Contains(out, "100 new dials/s") {
		t.Errorf("no dials/s:\n%s", out)
	}
}
