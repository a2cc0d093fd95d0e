package stats

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// recordedRun records a small run of two endpoints and returns the
// recorder with reference histograms of the values it was given.
func recordedRun(t testing.TB) (r *Recorder, lat, corr map[string]*hdrhistogram.Histogram) {
	r = NewRecorder(Options{Shards: 4})
	lat = map[string]*hdrhistogram.Histogram{"login": newHistogram(), "catalog": newHistogram()}
	corr = map[string]*hdrhistogram.Histogram{"catalog": newHistogram()}
	login, catalog := r.Endpoint("login"), r.Endpoint("catalog")
	start := time.Unix(1_700_000_000, 0)
	for i := range 3000 {
		d := time.Duration(100+i*i%250_000) * time.Microsecond
		s := &Sample{Endpoint: login, Start: start, End: start.Add(d), Status: 200, BytesIn: 512, BytesOut: 128}
		if i%3 == 0 {
			s.Endpoint = catalog
			s.Intended = start.Add(-time.Duration(i%700) * time.Millisecond)
			s.Reused = true
			corr["catalog"].RecordValue(s.End.Sub(s.Intended).Microseconds())
		}
		if i%100 == 0 {
			s.Status, s.Kind = 500, HTTP5xx
		}
		lat[r.eps[s.Endpoint].name].RecordValue(d.Microseconds())
		r.Record(i, s)
		if i%500 == 0 {
			r.Snapshot() // the run spans several intervals
		}
	}
	return r, lat, corr
}

func TestResultsRoundTrip(t *testing.T) {
	t.Parallel()
	r, lat, corr := recordedRun(t)
	res, err := r.Result(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// What the executor fills in.
	res.Plan = "shop-capacity"
	res.Started = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	res.Ended = res.Started.Add(30 * time.Second)
	res.Segment = "1/2"
	res.VUs.Max = 50
	res.Sessions = SessionCounts{Established: 50, Unique: 50, RotatedOnLogin: 50, Relogins: 2, Expired: 2}
	res.Connections.Dials = 50
	res.Warnings = []string{"schedule lag p99 12ms"}

	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"schema": "load/results/v1"`, `"duration_s": 30`, `"latency_ms"`, `"corrected_latency_ms"`, `"hdr": "HISTF`, `"rotated_on_login": 50`, `"reuse_ratio"`, `"http_5xx": 30`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("results.json lacks %s", key)
		}
	}
	got, err := ReadResults(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, res) {
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(res)
		t.Fatalf("round trip differs:\n got %s\nwant %s", a, b)
	}

	// The HDR fields hold exactly what was recorded.
	total := newHistogram()
	for _, e := range got.Endpoints {
		h, err := DecodeHDR(e.HDR)
		if err != nil {
			t.Fatal(err)
		}
		assertSameHistogram(t, e.Name, h, lat[e.Name])
		if h.TotalCount() != e.Requests {
			t.Errorf("%s: HDR count %d, requests %d", e.Name, h.TotalCount(), e.Requests)
		}
		total.Merge(h)
		if want, ok := corr[e.Name]; ok {
			c, err := DecodeHDR(e.CorrectedHDR)
			if err != nil {
				t.Fatal(err)
			}
			assertSameHistogram(t, e.Name+" corrected", c, want)
		} else {
			// Without intended times, corrected is the service time.
			c, err := DecodeHDR(e.CorrectedHDR)
			if err != nil {
				t.Fatal(err)
			}
			assertSameHistogram(t, e.Name+" corrected", c, lat[e.Name])
		}
	}
	th, err := DecodeHDR(got.Totals.HDR)
	if err != nil {
		t.Fatal(err)
	}
	assertSameHistogram(t, "totals", th, total)
	if got.Totals.Requests != 3000 || got.Totals.Errors != 30 || got.ErrorsByKind["http_5xx"] != 30 {
		t.Errorf("totals %+v", got.Totals)
	}
	if got.Totals.Latency != percentiles(total) {
		t.Errorf("totals latency %+v, want %+v", got.Totals.Latency, percentiles(total))
	}
}

// assertSameHistogram checks that got holds exactly want's counts.
func assertSameHistogram(t *testing.T, name string, got, want *hdrhistogram.Histogram) {
	t.Helper()
	if !got.Equals(want) {
		t.Errorf("%s: histograms differ: count %d vs %d", name, got.TotalCount(), want.TotalCount())
	}
	for _, q := range []float64{0, 50, 90, 95, 99, 99.9, 100} {
		if a, b := got.ValueAtQuantile(q), want.ValueAtQuantile(q); a != b {
			t.Errorf("%s: p%v = %d, want %d", name, q, a, b)
		}
	}
}

func TestReadResultsErrors(t *testing.T) {
	t.Parallel()
	valid := `{"schema":"load/results/v1","endpoints":[{"name":"a","hdr":""}],"totals":{}}`
	tests := []struct {
		name, in, want string
	}{
		{"not JSON", `schema: v1`, "read results"},
		{"no schema", `{}`, `schema ""`},
		{"another schema", `{"schema":"load/results/v2"}`, `schema "load/results/v2"`},
		{"hdr not base64", strings.Replace(valid, `"hdr":""`, `"hdr":"HISTF!!"`, 1), `endpoint "a"`},
		{"hdr truncated", strings.Replace(valid, `"hdr":""`, `"hdr":"HISTFAAAA"`, 1), `decode hdr`},
		{"totals hdr broken", strings.Replace(valid, `"totals":{}`, `"totals":{"name":"total","hdr":"x"}`, 1), `endpoint "total"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadResults(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadResults(%s) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
	if _, err := ReadResults(strings.NewReader(valid)); err != nil {
		t.Errorf("valid input: %v", err)
	}
}

func TestResultEmptyRun(t *testing.T) {
	t.Parallel()
	r := NewRecorder(Options{})
	r.Endpoint("never-ran")
	res, err := r.Result(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Endpoints) != 1 || res.Endpoints[0].Requests != 0 || res.Totals.Requests != 0 || res.Connections.ReuseRatio != 0 {
		t.Errorf("empty run: %+v", res)
	}
	h, err := DecodeHDR(res.Endpoints[0].HDR)
	if err != nil || h.TotalCount() != 0 {
		t.Errorf("empty HDR: %v, %v", h, err)
	}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, res); err != nil {
		t.Fatal(err)
	}
}

func FuzzReadResults(f *testing.F) {
	r, _, _ := recordedRun(f)
	res, err := r.Result(time.Second)
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	res.WriteJSON(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"schema":"load/results/v1","endpoints":null,"totals":{"hdr":"HISTFAAAACR4nJNpmSzMwMDAxAABzFAaxmey"}}`))
	f.Add([]byte(`{"schema":"load/results/v1","errors_by_kind":{"timeout":-1}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := ReadResults(bytes.NewReader(in))
		if err != nil {
			return
		}
		// Whatever reads must write, read back the same, and summarize.
		var out bytes.Buffer
		if err := res.WriteJSON(&out); err != nil {
			t.Fatal(err)
		}
		again, err := ReadResults(&out)
		if err != nil {
			t.Fatalf("re-reading written results: %v", err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(res)) {
			t.Errorf("results changed on a second round trip")
		}
		if err := WriteSummary(&bytes.Buffer{}, res); err != nil {
			t.Fatal(err)
		}
	})
}

// normalize makes results comparable after JSON: nil and empty maps and
// slices encode alike.
func normalize(r *Results) []byte {
	b, _ := json.Marshal(r)
	return b
}

func FuzzDecodeHDR(f *testing.F) {
	h := newHistogram()
	for _, v := range []int64{0, 1, 999, 123_456, highestMicros} {
		h.RecordValue(v)
	}
	enc, _ := encodeHDR(h)
	f.Add(enc)
	empty, _ := encodeHDR(nil)
	f.Add(empty)
	f.Add("HISTF")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := DecodeHDR(s)
		if err != nil {
			return
		}
		// A histogram that decodes answers queries and encodes again.
		_ = percentiles(h)
		if _, err := encodeHDR(h); err != nil {
			t.Errorf("re-encoding a decoded histogram: %v", err)
		}
	})
}
