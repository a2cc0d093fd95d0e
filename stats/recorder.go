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
	// ~136 KiB histogram per endpoint (two with intended times). More
	// shards than GOMAXPROCS only help when recorders collide, and a
	// recorder holds its shard for ~30 ns per request of many µs.
	Shards int
	// Now is the clock for interval boundaries; default time.Now.
	Now func() time.Time
	// OnInterval, if set, is called by Snapshot for every endpoint with the
	// interval's histograms (microseconds; corrected is nil when no sample
	// had an intended time), e.g. to write an .hlog. They are borrowed: valid
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

// counters are the plain counts of one endpoint.
type counters struct {
	requests     int64
	errors       int64
	corrected    int64 // samples with an intended time
	bytesIn      int64
	bytesOut     int64
	reused       int64
	overflow     int64 // latencies clamped into the histogram's range
	corrOverflow int64 // corrected latencies clamped
	kinds        [NumKinds]int64
	status       [statusSlots]int64
}

func (c *counters) add(o *counters) {
	c.requests += o.requests
	c.errors += o.errors
	c.corrected += o.corrected
	c.bytesIn += o.bytesIn
	c.bytesOut += o.bytesOut
	c.reused += o.reused
	c.overflow += o.overflow
	c.corrOverflow += o.corrOverflow
	for i, n := range o.kinds {
		c.kinds[i] += n
	}
	for i, n := range o.status {
		c.status[i] += n
	}
}

// data is one endpoint's histograms and counters: for one shard in the
// current interval, for a whole interval, or for the whole run.
type data struct {
	lat  *hdrhistogram.Histogram
	corr *hdrhistogram.Histogram // nil until a sample has an intended time
	ph   *phaseSet               // nil until a sample has phases
	c    counters
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
	if o.ph != nil && !o.ph.empty() {
		if d.ph == nil {
			d.ph = newPhaseSet()
		}
		d.ph.merge(o.ph)
	}
	d.c.add(&o.c)
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
	if d.ph != nil {
		d.ph.reset()
	}
	d.c = counters{}
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
	dropped    int64
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
	d := &data{lat: newHistogram()}
	sh.eps[e] = d
	return d
}

// Recorder aggregates Samples into per-endpoint HDR histograms and counters,
// by interval and for the whole run. Record, Iteration, Dropped and Endpoint
// are safe for concurrent use; Snapshot and Result may be called from any
// goroutine and serialize with each other.
//
// Memory: one dense histogram (~136 KiB) per shard and endpoint a shard has
// seen, two where samples carry intended times, plus per endpoint a few for
// the interval and the run. Never one per VU.
type Recorder struct {
	now        func() time.Time
	onInterval func(int, string, *hdrhistogram.Histogram, *hdrhistogram.Histogram)
	gauges     func() Gauges
	sinks      []Sink
	shards     []shard
	mask       uint

	// Concurrency: epMu guards ids and names. names is append-only, so a
	// copy of its header stays valid. nEps is len(names), published after
	// the append so that Record can bound-check an id without the lock.
	epMu      sync.Mutex
	ids       map[string]int
	names     []string
	nEps      atomic.Int64
	scenarios []string // by scenario id (Scenario)

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
	spareCorr  []*hdrhistogram.Histogram // corrected histograms of spares that need none
	iterations int64
	dropped    int64
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
		ids:        make(map[string]int),
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

// Endpoint returns the id of the endpoint called name, registering it the
// first time. Ids count from 0 in registration order. It is meant for
// script compile time, not the hot path.
func (r *Recorder) Endpoint(name string) int {
	r.epMu.Lock()
	defer r.epMu.Unlock()
	if id, ok := r.ids[name]; ok {
		return id
	}
	id := len(r.names)
	r.ids[name] = id
	r.names = append(r.names, name)
	r.nEps.Store(int64(len(r.names)))
	return id
}

// Scenario returns the id of the scenario called name (for EndpointIn,
// Group and IterationIn), registering it the first time; "" is a plan's
// only scenario. Ids count from 0 in registration order.
func (r *Recorder) Scenario(name string) int {
	r.epMu.Lock()
	defer r.epMu.Unlock()
	for i, n := range r.scenarios {
		if n == name {
			return i
		}
	}
	r.scenarios = append(r.scenarios, name)
	return len(r.scenarios) - 1
}

// EndpointIn returns the id of endpoint name of scenario sc, inside group
// ("" for none), registering it the first time. Steps of one name in one
// scenario and group share an endpoint.
func (r *Recorder) EndpointIn(sc int, group, name string) int {
	return r.Endpoint(r.scenarioKey(sc, "", group, name))
}

// Group returns the id of group name of scenario sc: an endpoint whose
// samples are the group's durations (Sample.Service the sum of its
// requests' service times), registering it the first time.
func (r *Recorder) Group(sc int, name string) int {
	return r.Endpoint(r.scenarioKey(sc, "group ", "", name))
}

// scenarioKey is the registration key of an endpoint of scenario sc.
// TODO(#13): the endpoint's scenario and group become fields of the
// endpoint, reported apart (EndpointResult.Scenario, .Group).
func (r *Recorder) scenarioKey(sc int, kind, group, name string) string {
	r.epMu.Lock()
	scen := ""
	if sc >= 0 && sc < len(r.scenarios) {
		scen = r.scenarios[sc]
	}
	r.epMu.Unlock()
	key := kind + name
	if group != "" {
		key = group + "/" + key
	}
	if scen != "" {
		key = scen + ": " + key
	}
	return key
}

// IterationIn counts one completed iteration of scenario sc on the shard
// picked by the hint.
func (r *Recorder) IterationIn(shard, sc int) {
	r.Iteration(shard) // TODO(#13): per-scenario counts
}

// VUStopped counts a VU that stopped before the run's end for reason k
// (DataExhausted), on the shard picked by the hint.
// TODO(#13): counted into Results.VUs.Stopped.
func (r *Recorder) VUStopped(shard int, k Kind) {}

// endpointNames returns the registered names, indexed by id.
func (r *Recorder) endpointNames() []string {
	r.epMu.Lock()
	defer r.epMu.Unlock()
	return r.names[:len(r.names):len(r.names)]
}

// Record folds s into the shard picked by the hint (a VU id, say; any int,
// taken modulo the shard count). It does not keep s and does not allocate,
// except the first time a shard sees an endpoint, or an intended time for
// it. It panics on an endpoint id that Endpoint did not return.
func (r *Recorder) Record(shard int, s *Sample) {
	e := s.Endpoint
	if uint64(e) >= uint64(r.nEps.Load()) {
		badEndpoint(e)
	}
	lat, latOver := micros(s.End.Sub(s.Start))
	var corr int64
	var corrOver bool
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
	c.requests++
	if latOver {
		c.overflow++
	}
	if hasCorr {
		if d.corr == nil {
			d.corr = newHistogram()
		}
		_ = d.corr.RecordValue(corr)
		c.corrected++
		if corrOver {
			c.corrOverflow++
		}
	}
	if k.IsError() {
		c.errors++
	}
	c.kinds[k]++
	c.status[status]++
	c.bytesIn += s.BytesIn
	c.bytesOut += s.BytesOut
	if s.Reused {
		c.reused++
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

// Iteration counts one completed iteration on the shard picked by the hint.
func (r *Recorder) Iteration(shard int) {
	sh := &r.shards[uint(shard)&r.mask]
	sh.mu.Lock()
	sh.iterations++
	sh.mu.Unlock()
}

// Dropped counts one iteration the schedule dropped (no VU was free).
func (r *Recorder) Dropped(shard int) {
	sh := &r.shards[uint(shard)&r.mask]
	sh.mu.Lock()
	sh.dropped++
	sh.mu.Unlock()
}

// Interval is what the run did between two snapshots.
type Interval struct {
	Start, End time.Time
	Endpoints  []IntervalStats // by endpoint id
	Total      IntervalStats   // all endpoints
	Iterations int64           // completed in the interval
	Dropped    int64           // dropped in the interval
	// Gauges is the live state at the end of the interval, from
	// Options.Gauges (zero without it).
	Gauges Gauges
	// RunStart is the run's time origin: when the recorder was made, or
	// the measured window's start once Begin set it.
	RunStart time.Time
}

// IntervalStats is one endpoint's (or the total's) figures for an interval.
// Latencies are in milliseconds.
type IntervalStats struct {
	Name         string
	Requests     int64
	Errors       int64
	RPS          float64
	P50          float64
	P95          float64
	P99          float64
	Corrected    int64   // samples with an intended time; CorrectedP50..99 are set when > 0
	CorrectedP50 float64 // p50 of End−Intended
	CorrectedP95 float64 // p95 of End−Intended
	CorrectedP99 float64 // p99 of End−Intended
	BytesIn      int64
	BytesOut     int64
	ErrorsByKind [NumKinds]int64
	// Status counts responses by status code (no response: not there);
	// Reused, Overflow and CorrectedOverflow are as in EndpointResult.
	Status            map[int]int64
	Reused            int64
	Overflow          int64
	CorrectedOverflow int64
}

func (d *data) intervalStats(name string, secs float64) IntervalStats {
	s := IntervalStats{
		Name:              name,
		Requests:          d.c.requests,
		Errors:            d.c.errors,
		Corrected:         d.c.corrected,
		BytesIn:           d.c.bytesIn,
		BytesOut:          d.c.bytesOut,
		ErrorsByKind:      d.c.kinds,
		Reused:            d.c.reused,
		Overflow:          d.c.overflow,
		CorrectedOverflow: d.c.corrOverflow,
	}
	s.ErrorsByKind[OK] = 0
	for code, n := range d.c.status {
		if code > 0 && n > 0 {
			if s.Status == nil {
				s.Status = map[int]int64{}
			}
			s.Status[code] = n
		}
	}
	if secs > 0 {
		s.RPS = float64(d.c.requests) / secs
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
	names := r.endpointNames()
	n := len(names)
	for len(r.run) < n {
		r.run = append(r.run, data{})
		r.interval = append(r.interval, data{})
	}
	iv := Interval{Start: r.last, End: end, Endpoints: make([]IntervalStats, n), RunStart: r.start}
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
		sh.iterations, sh.dropped = 0, 0
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
	for e := range n {
		iv.Endpoints[e] = r.interval[e].intervalStats(names[e], secs)
	}
	for e := range n {
		r.ivTotal.merge(&r.interval[e], r.merger)
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
			if d.c.corrected > 0 {
				h.Corrected = d.corr
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
			if d.c.corrected > 0 {
				corr = d.corr
			}
			if d.lat == nil {
				d.lat = newHistogram()
			}
			r.onInterval(e, names[e], d.lat, corr)
		}
		r.run[e].merge(d, r.merger)
		d.reset()
	}
	r.iterations += iv.Iterations
	r.dropped += iv.Dropped
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
	// Endpoints that have seen intended times get spares with a corrected
	// histogram, so the hot path does not allocate one every interval.
	sp := r.spare(r.run[e].corr != nil || r.interval[e].corr != nil)
	sh.mu.Lock()
	var old *data
	if e < len(sh.eps) && sh.eps[e] != nil && sh.eps[e].c.requests > 0 {
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

// spare returns empty shard data, with a corrected histogram if withCorr.
func (r *Recorder) spare(withCorr bool) *data {
	var d *data
	if k := len(r.spares); k > 0 {
		d = r.spares[k-1]
		r.spares = r.spares[:k-1]
	} else {
		d = &data{lat: newHistogram()}
	}
	switch {
	case withCorr && d.corr == nil:
		if k := len(r.spareCorr); k > 0 {
			d.corr = r.spareCorr[k-1]
			r.spareCorr = r.spareCorr[:k-1]
		} else {
			d.corr = newHistogram()
		}
	case !withCorr && d.corr != nil:
		r.spareCorr = append(r.spareCorr, d.corr)
		d.corr = nil
	}
	return d
}
