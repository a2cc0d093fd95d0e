package stats

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry: microseconds, 1 µs .. 60 s, 3 significant digits.
// Every histogram of a run has it, so merging is exact.
const (
	lowestMicros  = 1
	highestMicros = 60_000_000
	sigFigs       = 3
)

// statusSlots bounds the status array: net/http only accepts three-digit
// codes, so 0..999 covers every status; index 0 means "no response".
const statusSlots = 1000

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(lowestMicros, highestMicros, sigFigs)
}

// Sample is one request's outcome. It is passed by pointer and not kept:
// the Recorder folds it into histograms and counters.
type Sample struct {
	Endpoint   int       // id from Recorder.Endpoint
	Intended   time.Time // when the request was scheduled; zero when it had no schedule
	Start, End time.Time // when it was sent and when it completed (or failed)
	Status     int       // HTTP status; 0 (or out of range) when there was no response
	Kind       Kind      // OK or the error kind
	BytesIn    int64     // response bytes read
	BytesOut   int64     // request bytes written
	Reused     bool      // the connection was reused (httptrace GotConnInfo.Reused)
	Phases     Phases    // where the time went, when measured
	// Service is, for a group's sample, the sum of its requests' service
	// times (End−Start is the group's duration, think times included).
	Service time.Duration
}

// Options configures a Recorder. The zero value is ready to use.
type Options struct {
	// Shards is the number of recording shards; default GOMAXPROCS. It is
	// rounded up to a power of two so picking a shard is a mask, not a
	// division. Memory and Snapshot's work grow with it: per shard, one
	// ~136 KiB histograms per endpoint (latency and corrected). More
	// shards than GOMAXPROCS only help when recorders collide, and a
	// recorder holds its shard for ~30 ns per request of many µs.
	Shards int
	// Now is the clock for interval boundaries; default time.Now.
	Now func() time.Time
	// OnInterval, if set, is called by Snapshot for every endpoint with the
	// interval's histograms (microseconds; corrected holds every sample,
	// End−Start where it had no intended time), e.g. to write an .hlog. They are borrowed: valid
	// only during the call, and reset after it.
	OnInterval func(endpoint int, name string, latency, corrected *hdrhistogram.Histogram)
	// Gauges, if set, is called by Snapshot for the live state the recorder
	// cannot see (active VUs, sessions); the timeline and sinks carry it.
	Gauges func() Gauges
	// Sinks get every interval as Snapshot ends it (.hlog, Prometheus).
	Sinks []Sink
	// AwaitBegin holds the measured window until Begin: what is recorded
	// before is the run's setup (Results.Setup), reaching no sink, timeline
	// or run figure.
	AwaitBegin bool
}

// data is one endpoint's histograms and counters: for one shard in the
// current interval, for a whole interval, or for the whole run.
type data struct {
	lat  *hdrhistogram.Histogram
	corr *hdrhistogram.Histogram // every sample: End−Intended, or End−Start without an intended time
	svc  *hdrhistogram.Histogram // nil until a sample has a Service time (groups)
	// flat and fcorr are the failed samples' latency and corrected
	// latency, nil until one fails: the OK ones are lat and corr less
	// them, so a run without errors keeps two histograms, not four.
	flat, fcorr *hdrhistogram.Histogram
	ph          *phaseSet // nil until a sample has phases
	c           Counts
}

// merge adds o into d exactly, through m.
func (d *data) merge(o *data, m *merger) {
	if d.lat == nil {
		d.lat = newHistogram()
	}
	m.add(d.lat, o.lat)
	if o.corr != nil && o.corr.TotalCount() > 0 {
		if d.corr == nil {
			d.corr = newHistogram()
		}
		m.add(d.corr, o.corr)
	}
	for _, p := range []struct{ dst, src **hdrhistogram.Histogram }{{&d.svc, &o.svc}, {&d.flat, &o.flat}, {&d.fcorr, &o.fcorr}} {
		if *p.src != nil && (*p.src).TotalCount() > 0 {
			if *p.dst == nil {
				*p.dst = newHistogram()
			}
			m.add(*p.dst, *p.src)
		}
	}
	if o.ph != nil && !o.ph.empty() {
		if d.ph == nil {
			d.ph = newPhaseSet()
		}
		d.ph.merge(o.ph)
	}
	d.c.Add(&o.c)
}

// merger adds histograms of the run's geometry exactly. Histogram.Merge
// walks every bucket up to the largest value through the general iterator
// and re-records each; scanning the dense counts into a reused sparse
// histogram and adding index to index is several times faster, and a
// snapshot merges every shard's histograms every second.
type merger struct {
	p *hdrhistogram.PackedHistogram
}

func newMerger() *merger {
	return &merger{p: hdrhistogram.NewPacked(lowestMicros, highestMicros, sigFigs)}
}

// add adds src into dst.
func (m *merger) add(dst, src *hdrhistogram.Histogram) {
	if src == nil || src.TotalCount() == 0 {
		return
	}
	m.p.Reset()
	m.p.MergeFrom(src)
	m.p.MergeInto(dst)
}

// reset empties d and keeps its histograms for reuse.
func (d *data) reset() {
	if d.lat != nil && d.lat.TotalCount() > 0 {
		d.lat.Reset()
	}
	if d.corr != nil && d.corr.TotalCount() > 0 {
		d.corr.Reset()
	}
	for _, h := range []*hdrhistogram.Histogram{d.svc, d.flat, d.fcorr} {
		if h != nil && h.TotalCount() > 0 {
			h.Reset()
		}
	}
	if d.ph != nil {
		d.ph.reset()
	}
	d.c = Counts{}
}

// shardState is what one shard records into.
//
// Concurrency: mu guards every field, and the data that eps points to.
// Any goroutine may record, holding mu for one sample. The snapshotter
// (holding Recorder.snapMu) swaps an eps entry for an empty one under mu;
// after that no recorder can reach the swapped-out data (recorders only
// reach it through eps, under mu), so the snapshotter reads and resets it
// without a lock.
type shardState struct {
	mu         sync.Mutex
	eps        []*data // by endpoint id; entries created on first use
	iterations int64
	scIters    []int64 // iterations by scenario id; grown on first use
	dropped    int64
	overran    int64
}

// shard pads shardState to its own cache lines, so recorders on different
// shards do not contend on a shared line.
type shard struct {
	shardState
	_ [128 - unsafe.Sizeof(shardState{})%128]byte
}

// slot returns the shard's data for endpoint e. Caller holds mu.
func (sh *shard) slot(e int) *data {
	if e < len(sh.eps) {
		if d := sh.eps[e]; d != nil {
			return d
		}
	}
	return sh.newSlot(e)
}

// newSlot is slot's cold path: once per shard and endpoint.
func (sh *shard) newSlot(e int) *data {
	if e >= len(sh.eps) {
		eps := make([]*data, max(e+1, 2*len(sh.eps)))
		copy(eps, sh.eps)
		sh.eps = eps
	}
	d := &data{lat: newHistogram(), corr: newHistogram()}
	sh.eps[e] = d
	return d
}

// Recorder aggregates Samples into per-endpoint HDR histograms and counters,
// by interval and for the whole run. Record, Iteration, Dropped and Endpoint
// are safe for concurrent use; Snapshot and Result may be called from any
// goroutine and serialize with each other.
//
// Memory: two dense histograms (~136 KiB each: latency and corrected) per
// shard and endpoint a shard has seen, plus per endpoint a few for
// the interval and the run. Never one per VU.
type Recorder struct {
	now        func() time.Time
	onInterval func(int, string, *hdrhistogram.Histogram, *hdrhistogram.Histogram)
	gauges     func() Gauges
	sinks      []Sink
	shards     []shard
	mask       uint

	// Concurrency: epMu guards ids, eps and scenarios. eps and scenarios
	// are append-only, so a copy of their headers stays valid. nEps is
	// len(eps), published after the append so that Record can bound-check
	// an id without the lock.
	epMu      sync.Mutex
	ids       map[endpointKey]int
	eps       []endpointKey // by endpoint id
	nEps      atomic.Int64
	scenarios []*scenarioMeta // by scenario id (Scenario)
	// stopped counts VUs stopped before the run's end, by reason.
	stopped [NumKinds]atomic.Int64

	// Concurrency: snapMu is held by the one goroutine taking a snapshot
	// (Snapshot or Result). It guards every field below; recorders never
	// touch them.
	snapMu     sync.Mutex
	start      time.Time                 // when the recorder was made
	last       time.Time                 // end of the previous interval
	interval   []data                    // by endpoint: the interval being merged; reset after each snapshot
	run        []data                    // by endpoint: the whole run
	ivTotal    data                      // all endpoints of the interval
	merger     *merger                   // scratch for merging histograms
	spares     []*data                   // empty shard data, swapped in for full ones
	spareHists []*hdrhistogram.Histogram // corrected or service histograms of spares that need none
	iterations int64
	scIters    []int64 // by scenario id: iterations of the measured window
	dropped    int64
	overran    int64
	timeline   []TimelinePoint
	hists      []IntervalHistograms // scratch for sinks
	awaiting   bool                 // before Begin (Options.AwaitBegin)
	from       time.Time            // the measured window's start (Begin)
	setup      []data               // by endpoint: what was recorded before Begin
	setupDur   time.Duration

	// dropBefore is from in Unix nanoseconds once Begin set it: samples
	// that started earlier count nowhere. Record reads it under its
	// shard's lock, so a sample either lands in a shard before Begin's
	// swap or sees the value.
	dropBefore atomic.Int64
}

// NewRecorder returns a Recorder whose run starts now.
func NewRecorder(o Options) *Recorder {
	if o.Now == nil {
		o.Now = time.Now
	}
	n := o.Shards
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	size := 1
	for size < n {
		size <<= 1
	}
	t := o.Now()
	return &Recorder{
		now:        o.Now,
		onInterval: o.OnInterval,
		gauges:     o.Gauges,
		sinks:      o.Sinks,
		shards:     make([]shard, size),
		mask:       uint(size - 1),
		ids:        make(map[endpointKey]int),
		merger:     newMerger(),
		start:      t,
		last:       t,
		awaiting:   o.AwaitBegin,
	}
}

// Begin starts the measured window at from (the schedule's start, or the
// end of its warm-up): what was recorded so far becomes the setup, over
// setup (the caller knows how long its setup took; the wait for a start
// instant is no part of it); samples that started before from, and
// intervals that end before it, count nowhere. Rates, the timeline and
// the sinks are from from on.
func (r *Recorder) Begin(from time.Time, setup time.Duration) {
	r.snapMu.Lock()
	defer r.snapMu.Unlock()
	r.dropBefore.Store(from.UnixNano())
	r.snapshot(false)
	r.awaiting = false
	r.setupDur = setup
	r.from, r.start = from, from
	if r.last.Before(from) {
		r.last = from
	}
}

// Shards returns the number of recording shards.
func (r *Recorder) Shards() int { return len(r.shards) }

// endpointKey identifies an endpoint, and is what its id stands for:
// steps of one name in one scenario and group share one.
type endpointKey struct {
	sc int // scenario id
	// group is the group a request endpoint is inside ("" for none).
	group string
	// isGroup says the endpoint is a group: its samples are the group's
	// durations, with their service times.
	isGroup bool
	name    string
}

// scenarioMeta is a registered scenario.
type scenarioMeta struct {
	name   string
	weight float64      // set by ScenarioWeight; guarded by epMu
	vusMax atomic.Int64 // the peak reported by ScenarioVUs
}

// Endpoint returns the id of the endpoint called name in scenario ""
// (a plan's only scenario), outside any group: EndpointIn(Scenario(""),
// "", name). Registration is for script compile time, not the hot path.
func (r *Recorder) Endpoint(name string) int {
	return r.EndpointIn(r.Scenario(""), "", name)
}

// Scenario returns the id of the scenario called name (for EndpointIn,
// Group and IterationIn), registering it the first time; "" is a plan's
// only scenario. Ids count from 0 in registration order, which is the
// order of Results.Scenarios: register a plan's scenarios in plan order
// before the run.
func (r *Recorder) Scenario(name string) int {
	r.epMu.Lock()
	defer r.epMu.Unlock()
	return r.scenarioLocked(name)
}

// ScenarioWeight sets scenario sc's weight, its share of the plan's load
// (0, the default, for a scenario on a load shape of its own), for
// Results.Scenarios.
func (r *Recorder) ScenarioWeight(sc int, weight float64) {
	r.epMu.Lock()
	defer r.epMu.Unlock()
	if sc >= 0 && sc < len(r.scenarios) {
		r.scenarios[sc].weight = weight
	}
}

// ScenarioVUs reports how many VUs scenario sc runs now; the recorder
// keeps the peak (Results.Scenarios' vus_max). Call it when the count
// changes; it takes the registry's lock, so not per request.
func (r *Recorder) ScenarioVUs(sc, running int) {
	r.epMu.Lock()
	var m *scenarioMeta
	if sc >= 0 && sc < len(r.scenarios) {
		m = r.scenarios[sc]
	}
	r.epMu.Unlock()
	if m == nil {
		return
	}
	for {
		cur := m.vusMax.Load()
		if int64(running) <= cur || m.vusMax.CompareAndSwap(cur, int64(running)) {
			return
		}
	}
}

// EndpointIn returns the id of endpoint name of scenario sc, inside group
// ("" for none), registering it the first time. Steps of one name in one
// scenario and group share an endpoint; the results name it as written,
// with its scenario and group apart (EndpointResult.Scenario, .Group).
func (r *Recorder) EndpointIn(sc int, group, name string) int {
	return r.register(endpointKey{sc: sc, group: group, name: name})
}

// Group returns the id of group name of scenario sc: an endpoint whose
// samples are the group's durations, End−Start from its first request's
// start to its last's end, think times inside included (End−Intended when
// Intended is set), with Sample.Service the sum of its requests' service
// times; registering it the first time. Groups are reported apart from
// endpoints (Results.Groups) and count in no total.
func (r *Recorder) Group(sc int, name string) int {
	return r.register(endpointKey{sc: sc, isGroup: true, name: name})
}

// register returns k's id, registering it the first time. An unknown
// scenario id is taken as scenario "".
func (r *Recorder) register(k endpointKey) int {
	r.epMu.Lock()
	defer r.epMu.Unlock()
	if k.sc < 0 || k.sc >= len(r.scenarios) {
		k.sc = r.scenarioLocked("")
	}
	if id, ok := r.ids[k]; ok {
		return id
	}
	id := len(r.eps)
	r.ids[k] = id
	r.eps = append(r.eps, k)
	r.nEps.Store(int64(len(r.eps)))
	return id
}

// scenarioLocked is Scenario; the caller holds epMu.
func (r *Recorder) scenarioLocked(name string) int {
	for i, sc := range r.scenarios {
		if sc.name == name {
			return i
		}
	}
	r.scenarios = append(r.scenarios, &scenarioMeta{name: name})
	return len(r.scenarios) - 1
}

// IterationIn counts one completed iteration of scenario sc on the shard
// picked by the hint.
func (r *Recorder) IterationIn(shard, sc int) {
	sh := &r.shards[uint(shard)&r.mask]
	sh.mu.Lock()
	sh.iterations++
	if sc >= 0 {
		if sc >= len(sh.scIters) {
			sh.scIters = append(sh.scIters, make([]int64, sc+1-len(sh.scIters))...)
		}
		sh.scIters[sc]++
	}
	sh.mu.Unlock()
}

// VUStopped counts a VU that stopped before the run's end for reason k
// (DataExhausted, say) into Results.VUs.Stopped; the shard hint is
// unused (a stop is rare).
func (r *Recorder) VUStopped(_ int, k Kind) {
	if k >= NumKinds {
		k = Other
	}
	r.stopped[k].Add(1)
}

// registry returns the registered endpoints, indexed by id, and the
// scenarios' names, indexed by id.
func (r *Recorder) registry() ([]endpointKey, []string) {
	r.epMu.Lock()
	defer r.epMu.Unlock()
	names := make([]string, len(r.scenarios))
	for i, sc := range r.scenarios {
		names[i] = sc.name
	}
	return r.eps[:len(r.eps):len(r.eps)], names
}

// Record folds s into the shard picked by the hint (a VU id, say; any int,
// taken modulo the shard count). It does not keep s and does not allocate,
// except the first time a shard sees an endpoint, or a service time or a
// failure for it. Every sample enters the corrected histogram: End−Intended,
// or End−Start without an intended time. It panics on an endpoint id that Endpoint did not return.
func (r *Recorder) Record(shard int, s *Sample) {
	e := s.Endpoint
	if uint64(e) >= uint64(r.nEps.Load()) {
		badEndpoint(e)
	}
	lat, latOver := micros(s.End.Sub(s.Start))
	// Every sample is corrected: without an intended time, by nothing.
	corr, corrOver := lat, latOver
	hasCorr := !s.Intended.IsZero()
	if hasCorr {
		corr, corrOver = micros(s.End.Sub(s.Intended))
	}
	k := s.Kind
	if k >= NumKinds {
		k = Other
	}
	status := s.Status
	if uint(status) >= statusSlots {
		status = 0
	}

	sh := &r.shards[uint(shard)&r.mask]
	sh.mu.Lock()
	if before := r.dropBefore.Load(); before != 0 && s.Start.UnixNano() < before {
		sh.mu.Unlock() // it began outside the measured window
		return
	}
	d := sh.slot(e)
	// Values are clamped into range, so recording cannot fail.
	_ = d.lat.RecordValue(lat)
	c := &d.c
	c.Requests++
	if latOver {
		c.Overflow++
	}
	if d.corr == nil {
		d.corr = newHistogram()
	}
	_ = d.corr.RecordValue(corr)
	if hasCorr {
		c.Corrected++
	}
	if corrOver {
		c.CorrectedOverflow++
	}
	if s.Service > 0 {
		if d.svc == nil {
			d.svc = newHistogram()
		}
		svc, _ := micros(s.Service)
		_ = d.svc.RecordValue(svc)
	}
	if k.IsError() {
		c.Errors++
		if d.flat == nil {
			d.flat, d.fcorr = newHistogram(), newHistogram()
		}
		_ = d.flat.RecordValue(lat)
		_ = d.fcorr.RecordValue(corr)
	}
	c.Kinds[k]++
	c.Status[status]++
	c.BytesIn += s.BytesIn
	c.BytesOut += s.BytesOut
	if s.Reused {
		c.Reused++
	}
	if s.Phases.any() {
		if d.ph == nil {
			d.ph = newPhaseSet()
		}
		d.ph.record(&s.Phases)
	}
	sh.mu.Unlock()
}

func badEndpoint(e int) {
	panic(fmt.Sprintf("stats: Record: endpoint id %d was not returned by Recorder.Endpoint", e))
}

// micros converts d to whole microseconds clamped into the histogram's
// range, and reports whether it had to clamp.
func micros(d time.Duration) (int64, bool) {
	us := int64(d / time.Microsecond)
	switch {
	case us < 0:
		return 0, true
	case us > highestMicros:
		return highestMicros, true
	}
	return us, false
}

// Iteration counts one completed iteration on the shard picked by the
// hint, of no scenario in particular: with one scenario, its.
func (r *Recorder) Iteration(shard int) { r.IterationIn(shard, -1) }

// Dropped counts one iteration the schedule dropped (no VU was free).
func (r *Recorder) Dropped(shard int) {
	sh := &r.shards[uint(shard)&r.mask]
	sh.mu.Lock()
	sh.dropped++
	sh.mu.Unlock()
}

// Overran counts one paced iteration that took longer than its pace
// (the next one starts late), on the shard picked by the hint.
func (r *Recorder) Overran(shard int) {
	sh := &r.shards[uint(shard)&r.mask]
	sh.mu.Lock()
	sh.overran++
	sh.mu.Unlock()
}

// Interval is what the run did between two snapshots.
type Interval struct {
	Start, End time.Time
	// Endpoints are by endpoint id: request endpoints and groups
	// (IntervalStats.IsGroup) as registered.
	Endpoints []IntervalStats
	Total     IntervalStats // all request endpoints (no group)
	// Iterations were completed in the interval; ScenarioIterations are
	// those of them counted by scenario (IterationIn), by scenario id.
	Iterations         int64
	ScenarioIterations []int64
	Dropped            int64 // dropped in the interval
	Overran            int64 // paced iterations that overran their pace in the interval
	// Scenarios are the registered scenarios' names, by scenario id.
	Scenarios []string
	// Gauges is the live state at the end of the interval, from
	// Options.Gauges (zero without it).
	Gauges Gauges
	// RunStart is the run's time origin: when the recorder was made, or
	// the measured window's start once Begin set it.
	RunStart time.Time
}

// IntervalStats is one endpoint's, group's or the total's figures for an
// interval. Latencies are in milliseconds; a group's are its durations.
type IntervalStats struct {
	Name string
	// Scenario is the endpoint's scenario; Group the group a request
	// endpoint is inside; IsGroup says the row is a group itself.
	Scenario string
	Group    string
	IsGroup  bool
	// Counts are the interval's counts (Corrected > 0: CorrectedP50..99
	// are set).
	Counts
	RPS          float64
	P50          float64
	P95          float64
	P99          float64
	CorrectedP50 float64 // p50 of End−Intended (End−Start without an intended time)
	CorrectedP95 float64 // p95 of End−Intended
	CorrectedP99 float64 // p99 of End−Intended
}

func (d *data) intervalStats(name string, secs float64) IntervalStats {
	s := IntervalStats{Name: name, Counts: d.c}
	if secs > 0 {
		s.RPS = float64(d.c.Requests) / secs
	}
	if d.lat != nil && d.lat.TotalCount() > 0 {
		s.P50 = ms(d.lat.ValueAtQuantile(50))
		s.P95 = ms(d.lat.ValueAtQuantile(95))
		s.P99 = ms(d.lat.ValueAtQuantile(99))
	}
	if d.corr != nil && d.corr.TotalCount() > 0 {
		s.CorrectedP50 = ms(d.corr.ValueAtQuantile(50))
		s.CorrectedP95 = ms(d.corr.ValueAtQuantile(95))
		s.CorrectedP99 = ms(d.corr.ValueAtQuantile(99))
	}
	return s
}

// ms converts microseconds to milliseconds.
func ms(us int64) float64 { return float64(us) / 1000 }

// Snapshot ends the current interval: it swaps out every shard's data,
// merges it, folds it into the run totals and returns the interval's
// figures. Meant for one goroutine about once a second (progress display,
// timeline), and once at the end.
func (r *Recorder) Snapshot() Interval {
	r.snapMu.Lock()
	defer r.snapMu.Unlock()
	return r.snapshot(false)
}

// snapshot is Snapshot; the caller holds snapMu. With final (Result's
// last snapshot), an interval that holds nothing after others (the sliver
// after the executor's own last snapshot) reaches no sink or timeline.
func (r *Recorder) snapshot(final bool) Interval {
	end := r.now()
	eps, scens := r.registry()
	n := len(eps)
	for len(r.run) < n {
		r.run = append(r.run, data{})
		r.interval = append(r.interval, data{})
	}
	iv := Interval{Start: r.last, End: end, Endpoints: make([]IntervalStats, n), RunStart: r.start,
		Scenarios: scens, ScenarioIterations: make([]int64, len(scens))}
	if r.gauges != nil {
		iv.Gauges = r.gauges()
	}
	for i := range r.shards {
		sh := &r.shards[i]
		for e := range n {
			r.swap(sh, e)
		}
		sh.mu.Lock()
		iv.Iterations += sh.iterations
		iv.Dropped += sh.dropped
		iv.Overran += sh.overran
		for sc, k := range sh.scIters {
			if sc < len(iv.ScenarioIterations) {
				iv.ScenarioIterations[sc] += k
			}
			sh.scIters[sc] = 0
		}
		sh.iterations, sh.dropped, sh.overran = 0, 0, 0
		sh.mu.Unlock()
	}

	// Before Begin (setup) or before the window's start (warm-up), the
	// interval is for the display only.
	outside := r.awaiting || !end.After(r.from)
	if !outside && r.last.Before(r.from) {
		iv.Start = r.from
		r.last = r.from
	}
	secs := end.Sub(r.last).Seconds()
	r.ivTotal.reset()
	for e, m := range eps {
		st := r.interval[e].intervalStats(m.name, secs)
		st.Scenario, st.Group, st.IsGroup = scens[m.sc], m.group, m.isGroup
		iv.Endpoints[e] = st
		if !m.isGroup {
			r.ivTotal.merge(&r.interval[e], r.merger)
		}
	}
	iv.Total = r.ivTotal.intervalStats(TotalName, secs)
	if outside {
		r.keepOutside(n)
		r.last = end
		return iv
	}
	empty := iv.Total.Requests == 0 && iv.Iterations == 0 && iv.Dropped == 0
	skip := final && empty && len(r.timeline) > 0
	if len(r.sinks) > 0 && !skip {
		r.hists = r.hists[:0]
		for e := range n {
			d := &r.interval[e]
			h := IntervalHistograms{Latency: d.lat}
			if d.corr != nil && d.corr.TotalCount() > 0 {
				h.Corrected = d.corr
			}
			if d.svc != nil && d.svc.TotalCount() > 0 {
				h.Service = d.svc
			}
			if d.flat != nil && d.flat.TotalCount() > 0 {
				h.Failed, h.FailedCorrected = d.flat, d.fcorr
			}
			r.hists = append(r.hists, h)
		}
		for _, s := range r.sinks {
			s.Interval(&iv, r.hists)
		}
	}
	for e := range n {
		d := &r.interval[e]
		if r.onInterval != nil {
			var corr *hdrhistogram.Histogram
			if d.corr != nil && d.corr.TotalCount() > 0 {
				corr = d.corr
			}
			if d.lat == nil {
				d.lat = newHistogram()
			}
			r.onInterval(e, eps[e].name, d.lat, corr)
		}
		r.run[e].merge(d, r.merger)
		d.reset()
	}
	r.iterations += iv.Iterations
	for len(r.scIters) < len(scens) {
		r.scIters = append(r.scIters, 0)
	}
	for sc, k := range iv.ScenarioIterations {
		r.scIters[sc] += k
	}
	r.dropped += iv.Dropped
	r.overran += iv.Overran
	r.last = end
	if !skip {
		r.timeline = append(r.timeline, timelinePoint(&iv))
	}
	return iv
}

// keepOutside ends an interval outside the measured window: before Begin
// its data is the setup's; after (a warm-up), nothing keeps it.
func (r *Recorder) keepOutside(n int) {
	for len(r.setup) < n {
		r.setup = append(r.setup, data{})
	}
	for e := range n {
		if r.awaiting {
			r.setup[e].merge(&r.interval[e], r.merger)
		}
		r.interval[e].reset()
	}
}

// swap exchanges shard sh's data for endpoint e, if it has any, for an empty
// one, and merges it into the interval. The shard is locked only for the
// exchange; the merge runs on the swapped-out data, which is then ours.
func (r *Recorder) swap(sh *shard, e int) {
	// Spares have a corrected histogram (every sample enters one), and a
	// service one where the endpoint has seen service times, so the hot
	// path does not allocate one every interval.
	sp := r.spare(true, r.run[e].svc != nil || r.interval[e].svc != nil)
	failed := r.run[e].flat != nil || r.interval[e].flat != nil
	r.fit(&sp.flat, failed)
	r.fit(&sp.fcorr, failed)
	sh.mu.Lock()
	var old *data
	if e < len(sh.eps) && sh.eps[e] != nil && sh.eps[e].c.Requests > 0 {
		old, sh.eps[e], sp = sh.eps[e], sp, nil
	}
	sh.mu.Unlock()
	if old == nil {
		r.spares = append(r.spares, sp)
		return
	}
	r.interval[e].merge(old, r.merger)
	old.reset()
	r.spares = append(r.spares, old)
}

// spare returns empty shard data, with a corrected histogram if withCorr
// and a service one if withSvc.
func (r *Recorder) spare(withCorr, withSvc bool) *data {
	var d *data
	if k := len(r.spares); k > 0 {
		d = r.spares[k-1]
		r.spares = r.spares[:k-1]
	} else {
		d = &data{lat: newHistogram()}
	}
	r.fit(&d.corr, withCorr)
	r.fit(&d.svc, withSvc)
	return d
}

// fit gives *h a histogram from the spare ones if want, or takes it back.
func (r *Recorder) fit(h **hdrhistogram.Histogram, want bool) {
	switch {
	case want && *h == nil:
		if k := len(r.spareHists); k > 0 {
			*h = r.spareHists[k-1]
			r.spareHists = r.spareHists[:k-1]
		} else {
			*h = newHistogram()
		}
	case !want && *h != nil:
		r.spareHists = append(r.spareHists, *h)
		*h = nil
	}
}
