package stats

import (
	"bytes"
	"encoding/json"
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

// A seed above 2^53 survives results.json exactly, also for a reader
// that parses numbers as doubles (jq, JavaScript); older files that
// wrote it as a number still read exactly.
func TestGeneratorSeedRoundTrip(t *testing.T) {
	t.Parallel()
	const seed = uint64(18086963770815961001) // > 2^53, odd: a double cannot hold it
	res := &Results{Schema: SchemaV1, Generator: &Generator{Seed: seed, Procs: 2}}
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Generator map[string]any `json:"generator"`
	}
	if err := json.Unmarshal(buf.Bytes(), &generic); err != nil {
		t.Fatal(err)
	}
	str, ok := generic.Generator["seed"].(string)
	if !ok || str != "18086963770815961001" {
		t.Fatalf("generator.seed = %#v, want the string \"18086963770815961001\"", generic.Generator["seed"])
	}
	back, err := ReadResults(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Generator.Seed != seed || back.Generator.Procs != 2 {
		t.Fatalf("read back seed %d procs %d, want %d and 2", back.Generator.Seed, back.Generator.Procs, seed)
	}
	old := `{"schema":"` + SchemaV1 + `","generator":{"seed":18086963770815961001,"procs":3},"totals":{"name":"total","hdr":""}}`
	back, err = ReadResults(strings.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	if back.Generator.Seed != seed || back.Generator.Procs != 3 {
		t.Fatalf("old file: seed %d procs %d, want %d and 3", back.Generator.Seed, back.Generator.Procs, seed)
	}
	for _, bad := range []string{`"-1"`, `"x"`, `1.5`} {
		in := `{"schema":"` + SchemaV1 + `","generator":{"seed":` + bad + `}}`
		if _, err := ReadResults(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "seed") {
			t.Errorf("seed %s: err %v, want a seed error", bad, err)
		}
	}
}
