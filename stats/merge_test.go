package stats

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// segmentResults is segment i of 3: a recorder on a fake clock, with
// requests whose service time and phases depend on i, snapshots at 1 s,
// 2 s and a short last interval ending at 2.4 s; each segment's held
// sessions, generator and server block its own.
func segmentResults(t *testing.T, i int, start time.Time, ttfb *[]time.Duration) *Results {
	t.Helper()
	clk := &fakeClock{t: start}
	r := NewRecorder(Options{Shards: 1, Now: clk.Now})
	ep := r.Endpoint("catalog")
	perInterval := []int{10 + i, 20 + i, 3 + i}
	ends := []time.Duration{time.Second, 2 * time.Second, 2400 * time.Millisecond}
	for k, n := range perInterval {
		for j := range n {
			d := time.Duration(1+i+j) * time.Millisecond
			s := Sample{Endpoint: ep, Start: clk.Now(), Kind: OK, Status: 200,
				Phases: Phases{TTFB: d / 2, Body: time.Duration(j+1) * 10 * time.Microsecond}}
			s.End = s.Start.Add(d)
			r.Record(0, &s)
			*ttfb = append(*ttfb, d/2)
		}
		clk.Advance(start.Add(ends[k]).Sub(clk.Now()))
		r.Snapshot()
	}
	res, err := r.Result(2400 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	res.Plan, res.Segment = "shop", []string{"0/3", "1/3", "2/3"}[i]
	res.Started, res.Ended = start, start.Add(2400*time.Millisecond)
	res.Sessions.Held = int64(5 + i)
	res.Generator = &Generator{CPUSeconds: float64(i + 1), Procs: 2, GCCount: uint32(i), GCPauseMaxMs: float64(i),
		ScheduleLag: &Percentiles{P50: float64(i), P99: float64(10 * i), Max: float64(20 * i)}, ScheduleLagP99Ms: float64(10 * i),
		ScheduledCount: int64(100 + i), Seed: uint64(1000 + i)}
	res.Server = &ServerResult{Kind: "tomcat", Polls: int64(i + 1)}
	return res
}

// Merging 3 segments keeps every figure: held sessions summed, each
// segment's generator and server block kept (the worst lag and the
// total CPU on top), phases merged exactly, and the timeline on fixed
// boundaries with the short last interval a point of its own.
func TestMergeKeepsEverything(t *testing.T) {
	t.Parallel()
	start := time.Unix(1_700_000_000, 0)
	var ttfb []time.Duration
	var rs []*Results
	for i := range 3 {
		// Segment 1 started 0.2 s late: its points are still on the
		// others' boundaries by their own start.
		off := time.Duration(0)
		if i == 1 {
			off = 200 * time.Millisecond
		}
		rs = append(rs, segmentResults(t, i, start.Add(off), &ttfb))
	}
	m, err := Merge(rs, MergeOptions{LateAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if m.Sessions.Held != 5+6+7 {
		t.Errorf("held %d, want 18", m.Sessions.Held)
	}
	g := m.Generator
	if g == nil || g.CPUSeconds != 1+2+3 || g.Procs != 6 || g.GCCount != 3 || g.GCPauseMaxMs != 2 || g.ScheduledCount != 303 ||
		g.ScheduleLagP99Ms != 20 || g.ScheduleLag == nil || g.ScheduleLag.Max != 40 || g.ScheduleLag.P99 != 20 {
		t.Errorf("merged generator %+v (lag %+v): want CPU 6 s, 6 procs, 3 GCs, max pause 2, 303 scheduled, worst lag p99 20 max 40", g, g.ScheduleLag)
	}
	if len(m.MergedFrom) != 3 {
		t.Fatalf("merged from %d", len(m.MergedFrom))
	}
	for i, f := range m.MergedFrom {
		if f.Generator == nil || f.Generator.Seed != uint64(1000+i) || f.Server == nil || f.Server.Polls != int64(i+1) {
			t.Errorf("segment %d: generator %+v server %+v: want its own", i, f.Generator, f.Server)
		}
	}
	if m.Server == nil || m.Server.Polls != 2 { // segment 1 started, and ended, 0.2 s late
		t.Errorf("server %+v: want the block of the segment that ended last", m.Server)
	}
	// Phases: the merged TTFB histogram is that of every request.
	want := newHistogram()
	for _, d := range ttfb {
		us, _ := micros(d)
		_ = want.RecordValue(us)
	}
	e := m.Endpoints[0]
	if e.Phases == nil || e.Phases.TTFB == nil || e.Phases.Body == nil {
		t.Fatalf("merged phases %+v", e.Phases)
	}
	got, err := DecodeHDR(e.Phases.TTFB.HDR)
	if err != nil {
		t.Fatal(err)
	}
	assertSameHistogram(t, "ttfb", got, want)
	if e.Phases.TTFB.Count != int64(len(ttfb)) || e.Phases.Body.Count != e.Requests {
		t.Errorf("phase counts ttfb %d body %d, want %d", e.Phases.TTFB.Count, e.Phases.Body.Count, len(ttfb))
	}
	// Timeline: buckets [0,1) [1,2) [2,3), the last 0.4 s long for the
	// on-time segments (segment 1's last one, 2.2..2.6 s, ends later).
	tl := m.Timeline
	if len(tl) != 3 {
		t.Fatalf("timeline %d points: %+v", len(tl), tl)
	}
	wantReq := []int64{10 + 11 + 12, 20 + 21 + 22, 3 + 4 + 5}
	wantT := []float64{1, 2, 2.6}
	for k, p := range tl {
		if p.Total.Requests != wantReq[k] || !near(p.T, wantT[k]) || !near(p.DurationS, wantT[k]-float64(k)) {
			t.Errorf("point %d: t %.2f duration %.2f requests %d, want t %.1f requests %d", k, p.T, p.DurationS, p.Total.Requests, wantT[k], wantReq[k])
		}
		if !near(p.Total.RPS, float64(p.Total.Requests)/p.DurationS) {
			t.Errorf("point %d: rps %.2f, want requests over its %.2f s", k, p.Total.RPS, p.DurationS)
		}
	}
}

// Overran iterations are counted across shards, warned about, shown in
// the summary and summed by merge.
func TestOverran(t *testing.T) {
	t.Parallel()
	r := NewRecorder(Options{Shards: 2})
	r.Endpoint("x")
	for i := range 5 {
		r.Overran(i)
	}
	r.Snapshot()
	r.Overran(1)
	res, err := r.Result(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Iterations.Overran != 6 || !strings.Contains(strings.Join(res.Warnings, "\n"), "6 paced iterations took longer than their pace") {
		t.Errorf("overran %d, warnings %q: want 6 and a warning", res.Iterations.Overran, res.Warnings)
	}
	for cond, want := range map[string]bool{"== 6": true, "== 0": false} {
		th, err := ParseThreshold("iterations.overran", cond)
		if err != nil {
			t.Fatal(err)
		}
		if v := th.Evaluate(res); v.OK != want || v.Observed != 6 {
			t.Errorf("iterations.overran %s: %+v, want ok %v", cond, v, want)
		}
	}
	if _, err := ParseThreshold("catalog iterations.overran", "== 0"); err == nil {
		t.Error("iterations.overran took an endpoint")
	}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "overran:      6 paced iterations took longer than their pace") {
		t.Errorf("summary:\n%s", buf.String())
	}
	res.Plan = "p"
	m, err := Merge([]*Results{res, res}, MergeOptions{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Iterations.Overran != 12 {
		t.Errorf("merged overran %d, want 12", m.Iterations.Overran)
	}
	// None: no line, no warning.
	r2 := NewRecorder(Options{})
	res2, _ := r2.Result(time.Second)
	buf.Reset()
	_ = WriteSummary(&buf, res2)
	if strings.Contains(buf.String(), "overran") || len(res2.Warnings) != 0 {
		t.Errorf("overran shown without one: %q\n%s", res2.Warnings, buf.String())
	}
}
