package stats

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// sinkRun records a few intervals of two endpoints ("view cart" has a space
// and intended times) through sinks, with gauges, on a fake clock.
func sinkRun(t *testing.T, sinks ...Sink) *Results {
	t.Helper()
	clock := newFakeClock()
	vus := 0
	r := NewRecorder(Options{Shards: 2, Now: clock.Now, Sinks: sinks, Gauges: func() Gauges {
		return Gauges{VUs: vus, Sessions: SessionCounts{Established: int64(vus * 2)}}
	}})
	login, cart := r.Endpoint("login"), r.Endpoint("view cart")
	for iv := range 5 {
		vus = iv + 1
		for i := range 200 * (iv + 1) {
			s := sample(login, time.Duration(100+i*37%90_000)*time.Microsecond)
			if i%4 == 0 {
				s.Endpoint = cart
				s.Intended = s.Start.Add(-time.Duration(i%300) * time.Millisecond)
			}
			if i%50 == 0 {
				s.Kind, s.Status = HTTP5xx, 503
			}
			r.Record(i, s)
		}
		clock.Advance(time.Second)
		r.Snapshot()
	}
	clock.Advance(time.Second)
	res, err := r.Result(0)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The .hlog reads back with hdrhistogram-go's log reader: one tag per
// endpoint, and per tag the intervals add up to exactly the histogram and
// counts of results.json.
func TestHlogReadBack(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	hw := NewHlogWriter(&buf)
	res := sinkRun(t, hw)
	if err := hw.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "#[Histogram log format version 1.3]\n") {
		t.Fatalf("no 1.3 header:\n%.300s", buf.String())
	}
	rd := hdrhistogram.NewHistogramLogReader(&buf)
	sums := map[string]*hdrhistogram.Histogram{}
	lines := 0
	for {
		h, err := rd.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		lines++
		if sums[h.Tag()] == nil {
			sums[h.Tag()] = newHistogram()
		}
		sums[h.Tag()].Merge(h)
	}
	if lines != 20 {
		t.Errorf("%d interval lines, want 20 (5 intervals × login, login.corrected, view_cart, view_cart.corrected; none for the empty last one)", lines)
	}
	for _, e := range res.Endpoints {
		tag := HlogTag(e.Name)
		want, _ := DecodeHDR(e.HDR)
		got := sums[tag]
		if got == nil || got.TotalCount() != e.Requests {
			t.Fatalf("tag %s: %v, want %d requests", tag, got, e.Requests)
		}
		assertSameHistogram(t, tag, got, want)
		if e.CorrectedHDR != "" {
			wantC, _ := DecodeHDR(e.CorrectedHDR)
			gotC := sums[tag+".corrected"]
			// Every request is corrected (End−Start without an intended time).
			if gotC == nil || gotC.TotalCount() != e.Requests {
				t.Fatalf("tag %s.corrected: want %d", tag, e.Requests)
			}
			assertSameHistogram(t, tag+".corrected", gotC, wantC)
		}
	}
	if sums["view_cart"] == nil {
		t.Errorf("tags %v: want view_cart", keys(sums))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The timeline has one point per interval with the gauges, and adds up to
// the run's totals; the CSV carries the same rows.
func TestTimeline(t *testing.T) {
	t.Parallel()
	res := sinkRun(t)
	if len(res.Timeline) != 5 {
		t.Fatalf("%d timeline points, want 5 (the empty last interval is dropped)", len(res.Timeline))
	}
	var total, errs int64
	for i, p := range res.Timeline {
		if p.VUs != i+1 || p.Sessions != int64(2*(i+1)) || p.T != float64(i+1) || p.DurationS != 1 {
			t.Errorf("point %d: %+v", i, p)
		}
		if p.Total.Requests != int64(200*(i+1)) || len(p.Endpoints) != 2 {
			t.Errorf("point %d: %d requests, %d endpoints", i, p.Total.Requests, len(p.Endpoints))
		}
		if c := p.Endpoints[1]; c.Corrected == 0 || c.CorrectedP99 < c.CorrectedP50 || c.CorrectedP50 == 0 {
			t.Errorf("point %d: view cart corrected %+v", i, c)
		}
		total += p.Total.Requests
		errs += p.Total.Errors
	}
	if total != res.Totals.Requests || errs != res.Totals.Errors {
		t.Errorf("timeline adds up to %d requests, %d errors; totals %d, %d", total, errs, res.Totals.Requests, res.Totals.Errors)
	}
	var buf bytes.Buffer
	if err := WriteTimelineCSV(&buf, res); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(rows) != 1+5*3 || !strings.HasPrefix(rows[0], "t_s,duration_s,endpoint,requests") || !strings.HasSuffix(rows[0], ",sessions_held,scenario,group,kind") {
		t.Fatalf("csv: %d rows:\n%s", len(rows), buf.String())
	}
	if !strings.HasPrefix(rows[2], "1,1,view cart,50,") || !strings.HasPrefix(rows[1], "1,1,login,150,2,150,") {
		t.Errorf("csv rows:\n%s\n%s", rows[1], rows[2])
	}
}
