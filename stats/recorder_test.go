package stats

import (
	"bytes"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// fakeClock is a settable clock for interval boundaries.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sample returns a sample of endpoint ep that took lat.
func sample(ep int, lat time.Duration) *Sample {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return &Sample{Endpoint: ep, Start: start, End: start.Add(lat), Status: 200}
}

// near reports whether got is within HDR's 3-digit precision of want.
func near(got, want float64) bool {
	return math.Abs(got-want) <= want*0.001+1e-9
}

func TestRecorderPercentiles(t *testing.T) {
	t.Parallel()
	r := NewRecorder(Options{Shards: 3})
	ep := r.Endpoint("catalog")
	// 900 at 1 ms, 90 at 10 ms, 9 at 100 ms, 1 at 1 s, on every shard.
	for i := range 1000 {
		lat := time.Millisecond
		switch {
		case i == 999:
			lat = time.Second
		case i >= 990:
			lat = 100 * time.Millisecond
		case i >= 900:
			lat = 10 * time.Millisecond
		}
		r.Record(i, sample(ep, lat))
	}
	res, err := r.Result(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e := res.Endpoints[0]
	tests := []struct {
		name      string
		got, want float64
	}{
		{"min", e.Latency.Min, 1},     // the fastest
		{"p50", e.Latency.P50, 1},     // most requests
		{"p90", e.Latency.P90, 1},     // the 900th value is still 1 ms
		{"p95", e.Latency.P95, 10},    // in the 10 ms group
		{"p99", e.Latency.P99, 10},    // the 990th value is the last 10 ms
		{"p999", e.Latency.P999, 100}, // the 999th value
		{"max", e.Latency.Max, 1000},  // the one slow request
		{"mean", e.Latency.Mean, 3.7}, // (900*1 + 90*10 + 9*100 + 1000) / 1000
		{"rps", e.RPS, 100},           // 1000 over 10 s
	}
	for _, tt := range tests {
		if !near(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	// Without intended times, corrected latency is the service time.
	if e.Corrected == nil || *e.Corrected != e.Latency || e.CorrectedRequests != 0 {
		t.Errorf("corrected latency without intended times: %+v, want the latency %+v", e.Corrected, e.Latency)
	}
}

func TestRecorderCorrected(t *testing.T) {
	t.Parallel()
	r := NewRecorder(Options{Shards: 2})
	ep := r.Endpoint("checkout")
	other := r.Endpoint("closed-model")
	for i := range 100 {
		s := sample(ep, 2*time.Millisecond)
		// Each request started i ms after its intended time.
		s.Intended = s.Start.Add(-time.Duration(i) * time.Millisecond)
		r.Record(i, s)
		r.Record(i, sample(other, 2*time.Millisecond))
	}
	res, err := r.Result(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e := res.Endpoints[ep]
	if e.Corrected == nil || e.CorrectedHDR == "" || e.CorrectedRequests != 100 {
		t.Fatalf("no corrected latency: %+v", e)
	}
	if !near(e.Latency.P99, 2) || !near(e.Corrected.Min, 2) || !near(e.Corrected.Max, 101) || !near(e.Corrected.P50, 51) {
		t.Errorf("latency %+v, corrected %+v", e.Latency, *e.Corrected)
	}
	// An endpoint without intended times is corrected by nothing: its
	// corrected histogram is its service time, so the totals' corrected
	// histogram holds every request.
	o := res.Endpoints[other]
	if o.Corrected == nil || *o.Corrected != o.Latency || o.CorrectedHDR != o.HDR || o.HasIntended() {
		t.Errorf("endpoint without intended times: corrected %+v, want its latency %+v", o.Corrected, o.Latency)
	}
	var js bytes.Buffer // as results.json carries it
	if err := res.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults(&js)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := DecodeHDR(back.Totals.CorrectedHDR)
	if err != nil {
		t.Fatal(err)
	}
	if tc.TotalCount() != res.Totals.Requests || res.Totals.Requests != 200 || res.Totals.CorrectedRequests != 100 {
		t.Errorf("totals: corrected count %d, requests %d, with intended times %d; want 200, 200, 100", tc.TotalCount(), res.Totals.Requests, res.Totals.CorrectedRequests)
	}
	if !near(res.Totals.Corrected.Max, 101) || !near(res.Totals.Corrected.Min, 2) {
		t.Errorf("totals corrected %+v: want 2..101 ms", *res.Totals.Corrected)
	}
}

func TestRecorderCounters(t *testing.T) {
	t.Parallel()
	r := NewRecorder(Options{})
	ep := r.Endpoint("login")
	samples := []struct {
		s    Sample
		note string
	}{
		{Sample{Status: 200, BytesIn: 100, BytesOut: 10, Reused: true}, "plain success"},
		{Sample{Status: 200, BytesIn: 100, BytesOut: 10}, "success on a new connection"},
		{Sample{Status: 302, BytesIn: 5, BytesOut: 10, Reused: true}, "redirect after login"},
		{Sample{Status: 503, Kind: HTTP5xx, Reused: true}, "server overloaded"},
		{Sample{Status: 0, Kind: ConnectRefused}, "no response"},
		{Sample{Status: -1, Kind: CheckFailed}, "status out of range is not a status"},
		{Sample{Status: 1000, Kind: Kind(200)}, "kind out of range is Other"},
	}
	for i, tt := range samples {
		s := tt.s
		s.Endpoint = ep
		s.Start = time.Unix(100, 0)
		s.End = s.Start.Add(time.Millisecond)
		r.Record(i, &s)
	}
	// Out of range latencies are clamped and counted.
	r.Record(0, sample(ep, 2*time.Minute))
	r.Record(0, sample(ep, -time.Second))
	r.Iteration(1)
	r.Iteration(2)
	r.Dropped(3)

	res, err := r.Result(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e := res.Endpoints[0]
	if e.Requests != 9 || e.Errors != 4 || e.BytesIn != 205 || e.BytesOut != 30 || e.Overflow != 2 {
		t.Errorf("counts: %+v", e)
	}
	wantStatus := map[string]int64{"200": 4, "302": 1, "503": 1}
	if !mapsEqual(e.Status, wantStatus) {
		t.Errorf("status = %v, want %v", e.Status, wantStatus)
	}
	wantKinds := map[string]int64{"http_5xx": 1, "connect_refused": 1, "check_failed": 1, "other": 1}
	if !mapsEqual(e.ErrorsByKind, wantKinds) || !mapsEqual(res.ErrorsByKind, wantKinds) {
		t.Errorf("errors by kind = %v / %v, want %v", e.ErrorsByKind, res.ErrorsByKind, wantKinds)
	}
	if !near(e.Latency.Max, 60_000) || e.Latency.Min != 0 {
		t.Errorf("clamped latency min %v max %v", e.Latency.Min, e.Latency.Max)
	}
	if res.Iterations != (IterationCounts{Completed: 2, Dropped: 1}) {
		t.Errorf("iterations %+v", res.Iterations)
	}
	if res.Connections.Reused != 3 || !near(res.Connections.ReuseRatio, 3.0/9) {
		t.Errorf("connections %+v", res.Connections)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestSnapshotIntervals(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var seen []string
	r := NewRecorder(Options{Shards: 4, Now: clock.Now, OnInterval: func(_ int, name string, lat, corr *hdrhistogram.Histogram) {
		if lat.TotalCount() > 0 {
			seen = append(seen, name)
		}
	}})
	a, b := r.Endpoint("a"), r.Endpoint("b")
	start := clock.Now()

	for i := range 20 {
		r.Record(i, sample(a, 4*time.Millisecond))
	}
	r.Record(0, &Sample{Endpoint: b, Start: start, End: start.Add(time.Millisecond), Kind: Timeout})
	r.Iteration(0)
	clock.Advance(2 * time.Second)
	iv := r.Snapshot()

	if !iv.Start.Equal(start) || !iv.End.Equal(start.Add(2*time.Second)) {
		t.Errorf("interval %v .. %v", iv.Start, iv.End)
	}
	if len(iv.Endpoints) != 2 || iv.Endpoints[a].Name != "a" || iv.Endpoints[a].Requests != 20 || iv.Endpoints[a].RPS != 10 {
		t.Errorf("endpoint a: %+v", iv.Endpoints)
	}
	if !near(iv.Endpoints[a].P50, 4) || !near(iv.Endpoints[a].P99, 4) || iv.Endpoints[a].Corrected != 0 {
		t.Errorf("endpoint a latency: %+v", iv.Endpoints[a])
	}
	if e := iv.Endpoints[b]; e.Errors != 1 || e.Kinds[Timeout] != 1 {
		t.Errorf("endpoint b: %+v", e)
	}
	if iv.Total.Requests != 21 || iv.Total.Errors != 1 || iv.Total.Name != TotalName || iv.Iterations != 1 {
		t.Errorf("total: %+v", iv)
	}
	if !slices.Equal(seen, []string{"a", "b"}) {
		t.Errorf("OnInterval saw %v", seen)
	}

	// The next interval starts empty; the run keeps everything.
	clock.Advance(time.Second)
	iv = r.Snapshot()
	if iv.Total.Requests != 0 || iv.Total.P99 != 0 || iv.Iterations != 0 {
		t.Errorf("second interval not empty: %+v", iv)
	}
	s := sample(a, time.Millisecond)
	s.Intended = s.Start.Add(-9 * time.Millisecond)
	r.Record(5, s)
	clock.Advance(time.Second)
	iv = r.Snapshot()
	if e := iv.Endpoints[a]; e.Requests != 1 || e.Corrected != 1 || !near(e.CorrectedP99, 10) {
		t.Errorf("third interval: %+v", e)
	}
	res, err := r.Result(0)
	if err != nil {
		t.Fatal(err)
	}
	if res.DurationS != 4 || res.Totals.Requests != 22 || res.Iterations.Completed != 1 {
		t.Errorf("run: duration %v, totals %+v", res.DurationS, res.Totals)
	}
}

// TestRecorderConcurrent records from many goroutines while snapshots run,
// and checks that nothing is lost or counted twice.
func TestRecorderConcurrent(t *testing.T) {
	t.Parallel()
	const (
		workers = 32
		perWork = 2000
	)
	r := NewRecorder(Options{Shards: 8})
	eps := []int{r.Endpoint("a"), r.Endpoint("b"), r.Endpoint("c")}

	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		snapped  atomic.Int64 // requests seen by interval snapshots
		iterated atomic.Int64
		snaps    int
	)
	snapDone := make(chan struct{})
	go func() {
		defer close(snapDone)
		for {
			iv := r.Snapshot()
			snaps++
			snapped.Add(iv.Total.Requests)
			iterated.Add(iv.Iterations)
			select {
			case <-stop:
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	for w := range workers {
		wg.Go(func() {
			for i := range perWork {
				s := sample(eps[i%len(eps)], time.Duration(1+i%5000)*time.Microsecond)
				if i%2 == 0 {
					s.Intended = s.Start.Add(-time.Millisecond)
				}
				if i%10 == 0 {
					s.Kind, s.Status = HTTP5xx, 500
				}
				r.Record(w, s)
				if i%len(eps) == len(eps)-1 {
					r.Iteration(w)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-snapDone

	iv := r.Snapshot()
	snapped.Add(iv.Total.Requests)
	iterated.Add(iv.Iterations)
	res, err := r.Result(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const total = workers * perWork
	if got := snapped.Load(); got != total {
		t.Errorf("intervals saw %d requests, want %d", got, total)
	}
	if res.Totals.Requests != total || res.Totals.Errors != total/10 || res.Totals.Status["500"] != total/10 {
		t.Errorf("totals %d requests, %d errors, status %v", res.Totals.Requests, res.Totals.Errors, res.Totals.Status)
	}
	if res.Totals.CorrectedRequests != total/2 {
		t.Errorf("corrected %d, want %d", res.Totals.CorrectedRequests, total/2)
	}
	wantIter := int64(workers * (perWork / len(eps)))
	if res.Iterations.Completed != wantIter || iterated.Load() != wantIter {
		t.Errorf("iterations %d / %d, want %d", res.Iterations.Completed, iterated.Load(), wantIter)
	}
	var sum int64
	for _, e := range res.Endpoints {
		h, err := DecodeHDR(e.HDR)
		if err != nil {
			t.Fatal(err)
		}
		if h.TotalCount() != e.Requests {
			t.Errorf("%s: histogram holds %d, requests %d", e.Name, h.TotalCount(), e.Requests)
		}
		sum += e.Requests
	}
	if sum != total {
		t.Errorf("endpoints sum to %d, want %d", sum, total)
	}
	t.Logf("%d snapshots during the run", snaps)
}

func TestEndpointRegistration(t *testing.T) {
	t.Parallel()
	r := NewRecorder(Options{})
	var wg sync.WaitGroup
	ids := make([][3]int, 16)
	for i := range ids {
		wg.Go(func() {
			ids[i] = [3]int{r.Endpoint("login"), r.Endpoint("catalog"), r.Endpoint("login")}
		})
	}
	wg.Wait()
	for _, got := range ids {
		if got != ids[0] || got[0] != got[2] || got[0] == got[1] {
			t.Fatalf("ids %v", ids)
		}
	}
	if got := r.Endpoint("new"); got != 2 {
		t.Errorf("third endpoint id = %d", got)
	}
}

func TestRecordUnknownEndpointPanics(t *testing.T) {
	t.Parallel()
	r := NewRecorder(Options{})
	r.Endpoint("only")
	for _, ep := range []int{-1, 1, 1 << 40} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Record(endpoint %d) did not panic", ep)
				}
			}()
			r.Record(0, sample(ep, time.Millisecond))
		}()
	}
}

func TestShardCount(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want int }{
		{1, 1},   // one shard
		{3, 4},   // rounded up to a power of two
		{64, 64}, // already one
		{65, 128},
	}
	for _, tt := range tests {
		if got := NewRecorder(Options{Shards: tt.in}).Shards(); got != tt.want {
			t.Errorf("Shards: %d -> %d, want %d", tt.in, got, tt.want)
		}
	}
	if got, min := NewRecorder(Options{}).Shards(), runtime.GOMAXPROCS(0); got < min || got >= 2*min {
		t.Errorf("default shards %d for GOMAXPROCS %d", got, runtime.GOMAXPROCS(0))
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	r := NewRecorder(Options{Shards: 4})
	ep := r.Endpoint("x")
	s := sample(ep, 3*time.Millisecond)
	s.Intended = s.Start.Add(-time.Millisecond)
	for i := range 8 { // first use of each shard allocates its histograms
		r.Record(i, s)
	}
	r.Snapshot() // and a snapshot must not make the next interval allocate
	if n := testing.AllocsPerRun(1000, func() { r.Record(1, s) }); n != 0 {
		t.Errorf("Record allocates %v times", n)
	}
}

// benchSamples returns samples with latencies spread like a real endpoint.
func benchSamples(ep int, intended bool) []Sample {
	start := time.Now()
	out := make([]Sample, 64)
	for i := range out {
		lat := time.Duration(200+i*i*37) * time.Microsecond
		out[i] = Sample{Endpoint: ep, Start: start, End: start.Add(lat), Status: 200, BytesIn: 1500, BytesOut: 200, Reused: true}
		if intended {
			out[i].Intended = start.Add(-time.Duration(i) * time.Millisecond)
		}
	}
	return out
}

// BenchmarkRecordParallel records from GOMAXPROCS goroutines, each with its
// own shard hint as a VU would have, with corrected latency.
func BenchmarkRecordParallel(b *testing.B) {
	r := NewRecorder(Options{})
	ep := r.Endpoint("catalog")
	samples := benchSamples(ep, true)
	var ids atomic.Int64
	b.ReportAllocs()
	cpu := startCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		vu := int(ids.Add(1))
		i := 0
		for pb.Next() {
			r.Record(vu, &samples[i&63])
			i++
		}
	})
	cpu.report(b)
	b.ReportMetric(float64(newHistogram().ByteSize())/1024, "KiB/histogram")
}

// BenchmarkRecordParallelVUs is BenchmarkRecordParallel with the hint
// changing on every record, as if each record came from another of 1000
// VUs: goroutines meet on shards, and every record finds its shard's lines
// in the other core's cache. That is the worst case; a real VU keeps its
// hint and spends microseconds between records. It runs with GOMAXPROCS
// and 4*GOMAXPROCS shards.
func BenchmarkRecordParallelVUs(b *testing.B) {
	for _, mult := range []int{1, 4} {
		shards := mult * runtime.GOMAXPROCS(0)
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			r := NewRecorder(Options{Shards: shards})
			ep := r.Endpoint("catalog")
			samples := benchSamples(ep, true)
			var ids atomic.Int64
			b.ReportAllocs()
			cpu := startCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				vu := int(ids.Add(1)) * 7919
				i := 0
				for pb.Next() {
					r.Record((vu+i)%1000, &samples[i&63])
					i++
				}
			})
			cpu.report(b)
		})
	}
}

// cpuMeter measures the process's CPU time over a benchmark, a figure
// that, unlike ns/op, other processes sharing the machine do not inflate.
type cpuMeter struct{ start time.Duration }

func startCPU(b *testing.B) *cpuMeter {
	b.ResetTimer()
	return &cpuMeter{start: cpuTime()}
}

// report reports the CPU time per record, over all recording goroutines.
func (m *cpuMeter) report(b *testing.B) {
	if used := cpuTime() - m.start; used > 0 && m.start > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/record")
	}
}

// BenchmarkRecord is one goroutine recording, without lock contention.
func BenchmarkRecord(b *testing.B) {
	r := NewRecorder(Options{})
	samples := benchSamples(r.Endpoint("catalog"), true)
	b.ReportAllocs()
	cpu := startCPU(b)
	for i := 0; i < b.N; i++ {
		r.Record(1, &samples[i&63])
	}
	cpu.report(b)
}

// BenchmarkSnapshot is one interval of 10 endpoints on every shard.
func BenchmarkSnapshot(b *testing.B) {
	r := NewRecorder(Options{})
	var samples [][]Sample
	for e := range 10 {
		samples = append(samples, benchSamples(r.Endpoint(string(rune('a'+e))), true))
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for sh := range r.Shards() {
			for e := range samples {
				for i := range samples[e] {
					r.Record(sh, &samples[e][i])
				}
			}
		}
		b.StartTimer()
		r.Snapshot()
	}
	b.ReportMetric(float64(r.Shards()), "shards")
}
