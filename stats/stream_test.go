package stats

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The stream holds every interval: read back, it gives the results the
// recorder gives (counts, status codes, error kinds, histograms), and a
// last line cut short by a kill is left out.
func TestStreamRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "r.json.partial")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	sw := NewStreamWriter(f, StreamHeader{Plan: "p", PlanHash: "h", Segment: "0/2"})
	rec := NewRecorder(Options{Now: func() time.Time { return now }, Sinks: []Sink{sw}})
	me, login := rec.Endpoint("me"), rec.Endpoint("login")
	for i := range 5 {
		for j := range 100 {
			start := now.Add(time.Duration(j) * time.Millisecond)
			s := Sample{Endpoint: me, Intended: start.Add(-time.Millisecond), Start: start, End: start.Add(time.Duration(j+1) * time.Millisecond), Status: 200, BytesIn: 10}
			if j%10 == 0 {
				s.Status, s.Kind = 500, HTTP5xx
			}
			rec.Record(j, &s)
		}
		rec.Record(i, &Sample{Endpoint: login, Start: now, End: now.Add(time.Millisecond), Kind: ConnectRefused})
		rec.Iteration(i)
		now = now.Add(time.Second)
		rec.Snapshot()
	}
	want, err := rec.Result(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		data      []byte
		intervals int
	}{
		{"whole", b, 5},
		{"cut in the last line", b[:len(b)-20], 4},
	} {
		got, err := ReadResultsOrStream(bytes.NewReader(tc.data))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !got.Partial || got.Segment != "0/2" || got.PlanHash != "h" || len(got.Timeline) != tc.intervals || got.Iterations.Completed != int64(tc.intervals) {
			t.Errorf("%s: partial %v, segment %q, hash %q, %d intervals, %d iterations", tc.name, got.Partial, got.Segment, got.PlanHash, len(got.Timeline), got.Iterations.Completed)
		}
		if tc.intervals < 5 {
			continue
		}
		g, w := got.Endpoints[0], want.Endpoints[0]
		if g.Requests != w.Requests || g.Errors != w.Errors || g.Status["500"] != w.Status["500"] || g.Status["200"] != w.Status["200"] ||
			g.Latency != w.Latency || *g.Corrected != *w.Corrected || g.RPS != w.RPS || g.BytesIn != w.BytesIn {
			t.Errorf("%s: me rebuilt %+v\nwant %+v", tc.name, g, w)
		}
		// The OK/failed split survives the stream exactly.
		if g.OKLatency == nil || w.OKLatency == nil || *g.OKLatency != *w.OKLatency || *g.FailedLatency != *w.FailedLatency ||
			*g.OKCorrected != *w.OKCorrected || g.OKHDR != w.OKHDR || g.FailedHDR != w.FailedHDR || g.OKCorrectedHDR != w.OKCorrectedHDR {
			t.Errorf("%s: me rebuilt ok %+v failed %+v ok corrected %+v\nwant %+v %+v %+v", tc.name, g.OKLatency, g.FailedLatency, g.OKCorrected, w.OKLatency, w.FailedLatency, w.OKCorrected)
		}
		if got.ErrorsByKind["connect_refused"] != 5 || got.Totals.Requests != want.Totals.Requests {
			t.Errorf("%s: errors %v, totals %d; want %v, %d", tc.name, got.ErrorsByKind, got.Totals.Requests, want.ErrorsByKind, want.Totals.Requests)
		}
	}
}

// ReadStream never panics on what a killed run (or anything else) left.
func FuzzReadStream(f *testing.F) {
	f.Add([]byte(`{"schema":"load/stream/v1","plan":"p","started":"2026-12-02T20:00:00Z"}` + "\n" +
		`{"point":{"t_s":1,"duration_s":1,"total":{"name":"total","requests":1}},"endpoints":[{"name":"me","requests":1,"status":{"200":1}}]}` + "\n"))
	f.Add([]byte(`{"schema":"load/stream/v1"}` + "\n" + `{"point":{"t_s":1},"endpoints":[{"name":"me","status":{"x":1},"hdr":"HISTF"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ReadStream(bytes.NewReader(b))
	})
}
