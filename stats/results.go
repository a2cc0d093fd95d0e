package stats

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// SchemaV1 is the schema results.json declares.
const SchemaV1 = "load/results/v1"

// TotalName is the name of the totals row, in results and the summary.
const TotalName = "total"

// Results is a run's results.json. Recorder.Result fills the measured
// parts; the executor fills the plan, times, VUs, sessions and dials.
type Results struct {
	Schema    string    `json:"schema"`
	Plan      string    `json:"plan"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended"`
	DurationS float64   `json:"duration_s"`
	Segment   string    `json:"segment,omitempty"`
	// StartAt is the agreed start of a split test (--start-at), and
	// StartOffsetMs how late this process's schedule started after it
	// (its clock offset from the others, as far as it can know).
	StartAt       *time.Time `json:"start_at,omitempty"`
	StartOffsetMs float64    `json:"start_offset_ms,omitempty"`
	// Server is what the server's own session manager reported (plan
	// key server:), beside the client's figures.
	Server *ServerResult `json:"server,omitempty"`
	// MergedFrom lists the inputs of a merged result (load merge).
	MergedFrom []MergedFrom    `json:"merged_from,omitempty"`
	VUs        VUCounts        `json:"vus"`
	Sessions   SessionCounts   `json:"sessions"`
	Iterations IterationCounts `json:"iterations"`
	// Scenarios is each scenario's share of the run, in plan order (one
	// entry even for a plan's only scenario).
	Scenarios   []ScenarioResult `json:"scenarios,omitempty"`
	Connections ConnectionCounts `json:"connections"`
	// Endpoints are the request endpoints, each with its scenario and
	// group; one name may be in several scenarios.
	Endpoints []EndpointResult `json:"endpoints"`
	// Groups are the plan's groups (transactions), as EndpointResults of
	// kind "group"; see EndpointResult. They count in no total.
	Groups       []EndpointResult `json:"groups,omitempty"`
	Totals       EndpointResult   `json:"totals"`
	ErrorsByKind map[string]int64 `json:"errors_by_kind"`
	Warnings     []string         `json:"warnings,omitempty"`
	// Generator is the generator's own health (CPU, GC, schedule lag).
	Generator *Generator `json:"generator,omitempty"`
	// Thresholds are the plan's pass/fail verdicts; see CheckThresholds.
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
	// Timeline is the run interval by interval; see TimelinePoint.
	Timeline []TimelinePoint `json:"timeline,omitempty"`
	// PlanSource is the plan's text with secrets removed, for reports.
	PlanSource string `json:"plan_source,omitempty"`
	// PlanHash identifies what was tested: a short hex hash of the plan's
	// content and its effective load shape (after --vus, --duration and
	// --rate). Two results with different hashes are runs of different
	// tests; load compare and load merge check it.
	PlanHash string `json:"plan_hash,omitempty"`
	// RunID names one run of a test: the segments of a split test share
	// it (it is derived from PlanHash and --start-at), so load merge can
	// refuse results of another run.
	RunID string `json:"run_id,omitempty"`
	// StartWaitS is how long the run waited for --start-at/--start-in
	// after its setup, SetupS how long the preallocated VUs of the open
	// model took to log in before the schedule, and WarmupS how long the
	// schedule ran as a warm-up (plan key warmup, --warmup) before the
	// measured window. None of them is in DurationS or any rate: Started
	// is the start of the measured window.
	StartWaitS float64 `json:"start_wait_s,omitempty"`
	SetupS     float64 `json:"setup_s,omitempty"`
	WarmupS    float64 `json:"warmup_s,omitempty"`
	// Setup is what the setup's requests did (the preallocated VUs'
	// logins), per endpoint, over SetupS: kept out of Endpoints and Totals.
	Setup []EndpointResult `json:"setup,omitempty"`
	// Interrupted says the run was stopped before its end (Ctrl-C,
	// SIGTERM): the results cover the part that ran.
	Interrupted bool `json:"interrupted,omitempty"`
	// Partial says the results were rebuilt from the interval stream of a
	// run that did not finish (load report R.json.partial): the last
	// interval, the sessions' end and the thresholds may be missing.
	Partial bool `json:"partial,omitempty"`
}

// VUCounts is how many virtual users the run had.
type VUCounts struct {
	Max int `json:"max"`
	// Stopped counts VUs that stopped before the run's end, by reason
	// (data_exhausted: a data source had no row left for them).
	Stopped map[string]int64 `json:"stopped,omitempty"`
}

// ScenarioResult is one scenario's share of a run. The recorder fills
// it (Recorder.Scenario, ScenarioWeight, ScenarioVUs, IterationIn);
// Requests and Errors are its endpoints' (groups not counted).
type ScenarioResult struct {
	Name string `json:"name"`
	// Weight is the scenario's share of the plan's load; 0 when it ran
	// on a load shape of its own.
	Weight     float64 `json:"weight,omitempty"`
	VUsMax     int     `json:"vus_max"`
	Iterations int64   `json:"iterations"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	// RPS is Requests over the run's duration.
	RPS float64 `json:"rps"`
}

// KindGroup is EndpointResult.Kind of a group.
const KindGroup = "group"

// IterationCounts counts scenario iterations.
type IterationCounts struct {
	Completed int64 `json:"completed"`
	Dropped   int64 `json:"dropped"` // scheduled but no VU was free
	// Overran counts paced iterations that took longer than their pace,
	// so the next one started late (its lateness is in the corrected
	// latency of its first request).
	Overran int64 `json:"overran"`
}

// ConnectionCounts is connection accounting. Dials comes from the pool;
// Reused and ReuseRatio from the samples.
type ConnectionCounts struct {
	Dials      int64   `json:"dials"`
	Reused     int64   `json:"reused"`      // requests sent on a reused connection
	ReuseRatio float64 `json:"reuse_ratio"` // Reused / requests
}

// EndpointResult is one endpoint's (or a group's, or the totals')
// whole-run figures.
//
// A group (Kind "group", in Results.Groups) is a transaction: Requests
// counts the times it ran, Errors those in which a request failed,
// Latency (latency_ms, hdr) is its duration from its first request's
// start to its last's end with the think times inside, Corrected that
// from its intended start, and Service (service_ms, service_hdr) the sum
// of its requests' service times.
type EndpointResult struct {
	Name string `json:"name"`
	// Scenario names the scenario the endpoint belongs to; "" in a plan
	// of one scenario.
	Scenario string `json:"scenario,omitempty"`
	// Group is the group a request endpoint is inside ("" for none).
	Group string `json:"group,omitempty"`
	// Kind is "group" for a group, "" for a request endpoint or the totals.
	Kind     string  `json:"kind,omitempty"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	RPS      float64 `json:"rps"`
	// Status counts responses by status code; requests that got no
	// response are only in ErrorsByKind.
	Status       map[string]int64 `json:"status"`
	ErrorsByKind map[string]int64 `json:"errors_by_kind"`
	BytesIn      int64            `json:"bytes_in"`
	BytesOut     int64            `json:"bytes_out"`
	// Overflow counts latencies outside 0..60 s, clamped into the histogram.
	Overflow int64 `json:"overflow"`
	// CorrectedOverflow counts corrected latencies clamped likewise.
	CorrectedOverflow int64       `json:"corrected_overflow,omitempty"`
	Latency           Percentiles `json:"latency_ms"`
	// Corrected is every request's corrected latency: End−Intended, or
	// End−Start (its service time) where it had no intended time; set
	// wherever there were requests.
	Corrected *Percentiles `json:"corrected_latency_ms,omitempty"`
	// CorrectedRequests is how many samples had an intended time (0: the
	// corrected figures are the service times; see HasIntended).
	CorrectedRequests int64 `json:"corrected_requests,omitempty"`
	// HDR is the whole-run latency histogram in microseconds, HdrHistogram
	// V2 compressed and base64 ("HISTF..."); see DecodeHDR.
	HDR          string `json:"hdr"`
	CorrectedHDR string `json:"corrected_hdr,omitempty"`
	// OKLatency (ok_latency_ms) is the latency of the successful requests
	// (Kind ok), FailedLatency that of the failed ones (Errors), as
	// Gatling splits them: fast failures do not pull OK latency down.
	// OKCorrected is the OK requests' corrected latency. OKHDR,
	// FailedHDR and OKCorrectedHDR are their histograms, so that merge
	// and compare stay exact; an absent one is empty.
	OKLatency      *Percentiles `json:"ok_latency_ms,omitempty"`
	FailedLatency  *Percentiles `json:"failed_latency_ms,omitempty"`
	OKCorrected    *Percentiles `json:"ok_corrected_latency_ms,omitempty"`
	OKHDR          string       `json:"ok_hdr,omitempty"`
	FailedHDR      string       `json:"failed_hdr,omitempty"`
	OKCorrectedHDR string       `json:"ok_corrected_hdr,omitempty"`
	// ReuseRatio is the share of requests sent on a reused connection,
	// Reused their count.
	ReuseRatio float64 `json:"reuse_ratio"`
	Reused     int64   `json:"reused,omitempty"`
	// Service is a group's service time (the sum of its requests'),
	// ServiceHDR its histogram; nil and "" for request endpoints.
	Service    *Percentiles `json:"service_ms,omitempty"`
	ServiceHDR string       `json:"service_hdr,omitempty"`
	// Phases is where the time went (httptrace), when it was measured.
	Phases *PhaseResults `json:"phases_ms,omitempty"`
}

// HasIntended says some of e's requests had an intended time: without,
// its corrected figures are its service times.
func (e EndpointResult) HasIntended() bool { return e.CorrectedRequests > 0 }

// Percentiles summarizes a latency histogram, in milliseconds.
type Percentiles struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// percentiles reads h, which holds microseconds.
func percentiles(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{
		Min:  ms(h.Min()),
		Mean: h.Mean() / 1000,
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P95:  ms(h.ValueAtQuantile(95)),
		P99:  ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)),
		Max:  ms(h.Max()),
	}
}

// encodeHDR encodes h (nil: an empty histogram) as V2 compressed base64.
func encodeHDR(h *hdrhistogram.Histogram) (string, error) {
	if h == nil {
		h = newHistogram()
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

// DecodeHDR decodes an HDR field of results.json into a histogram of
// microseconds.
func DecodeHDR(s string) (*hdrhistogram.Histogram, error) {
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode hdr: %w", err)
	}
	return h, nil
}

// Result takes a last snapshot (whose interval is not returned: stop the
// display's snapshots first, or take the last one yourself) and builds the
// measured parts of the results: endpoints, totals, errors by kind,
// iterations and connection reuse. Rates are over d; d <= 0 means the time
// since NewRecorder. The caller fills the plan, times, VUs, sessions and
// dials.
func (r *Recorder) Result(d time.Duration) (*Results, error) {
	r.snapMu.Lock()
	defer r.snapMu.Unlock()
	// The last interval is often a sliver after the executor's own final
	// snapshot: it is kept out of the timeline and sinks when it holds
	// nothing.
	r.snapshot(true)
	return r.build(d)
}

// SoFar builds results from what the snapshots so far have folded in,
// without taking a snapshot: for judging thresholds during a run (right
// after a Snapshot it is up to date). It has no timeline.
func (r *Recorder) SoFar() (*Results, error) {
	r.snapMu.Lock()
	defer r.snapMu.Unlock()
	res, err := r.build(r.last.Sub(r.start))
	if res != nil {
		res.Timeline = nil
	}
	return res, err
}

// build makes results of the run data so far; the caller holds snapMu.
func (r *Recorder) build(d time.Duration) (*Results, error) {
	if d <= 0 {
		d = r.last.Sub(r.start)
	}
	secs := d.Seconds()
	eps, scens := r.registry()
	res := &Results{
		Schema:     SchemaV1,
		DurationS:  secs,
		Iterations: IterationCounts{Completed: r.iterations, Dropped: r.dropped, Overran: r.overran},
		Endpoints:  make([]EndpointResult, 0, len(eps)),
		Timeline:   slices.Clone(r.timeline),
	}
	for k := range r.stopped {
		if n := r.stopped[k].Load(); n > 0 {
			if res.VUs.Stopped == nil {
				res.VUs.Stopped = map[string]int64{}
			}
			res.VUs.Stopped[Kind(k).String()] = n
		}
	}
	var total data
	for e, k := range eps {
		if err := res.addEndpoint(k, scens[k.sc], &r.run[e], &total, r.merger); err != nil {
			return nil, err
		}
	}
	if err := res.addTotals(&total); err != nil {
		return nil, err
	}
	res.Warnings = append(res.Warnings, KindHints(res.ErrorsByKind)...)
	if n := res.Iterations.Overran; n > 0 {
		res.Warnings = append(res.Warnings, OverranWarning(n))
	}
	if w := ClampWarning(&res.Totals); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	res.Scenarios = r.scenarioResults(res, scens)
	for e, m := range eps {
		if e >= len(r.setup) || r.setup[e].c.Requests == 0 || m.isGroup {
			continue
		}
		er, err := endpointResult(m.name, &r.setup[e], r.setupDur.Seconds())
		if err != nil {
			return nil, fmt.Errorf("setup %s: %w", m.name, err)
		}
		er.Scenario, er.Group = scens[m.sc], m.group
		res.Setup = append(res.Setup, er)
	}
	return res, nil
}

// addEndpoint adds the results of endpoint k's run data d, of scenario
// scenario, to res: to its groups, or to its endpoints and to total.
func (res *Results) addEndpoint(k endpointKey, scenario string, d, total *data, m *merger) error {
	er, err := endpointResult(k.name, d, res.DurationS)
	if err != nil {
		return fmt.Errorf("endpoint %s: %w", k.name, err)
	}
	er.Scenario, er.Group = scenario, k.group
	if k.isGroup {
		er.Kind = KindGroup
		res.Groups = append(res.Groups, er)
		return nil
	}
	res.Endpoints = append(res.Endpoints, er)
	total.merge(d, m)
	return nil
}

// addTotals sets res's totals, errors by kind and connection reuse from
// the endpoints' run data total.
func (res *Results) addTotals(total *data) error {
	tr, err := endpointResult(TotalName, total, res.DurationS)
	if err != nil {
		return fmt.Errorf("totals: %w", err)
	}
	res.Totals = tr
	res.ErrorsByKind = maps.Clone(tr.ErrorsByKind)
	res.Connections.Reused = total.c.Reused
	res.Connections.ReuseRatio = total.c.ReuseRatio()
	return nil
}

// scenarioResults are the scenarios' shares of res, in registration
// order. Scenario "" (Endpoint without a scenario) is left out beside
// named ones where it did nothing.
func (r *Recorder) scenarioResults(res *Results, names []string) []ScenarioResult {
	out := make([]ScenarioResult, len(names))
	r.epMu.Lock()
	for i, m := range r.scenarios[:len(names)] {
		out[i] = ScenarioResult{Name: m.name, Weight: m.weight, VUsMax: int(m.vusMax.Load())}
	}
	r.epMu.Unlock()
	for i := range out {
		if i < len(r.scIters) {
			out[i].Iterations = r.scIters[i]
		}
	}
	// Iterations counted without a scenario are the only scenario's.
	if len(out) == 1 {
		out[0].Iterations = res.Iterations.Completed
	}
	fillScenarioCounts(out, res)
	return slices.DeleteFunc(out, func(s ScenarioResult) bool {
		return s.Name == "" && len(out) > 1 && s.Requests == 0 && s.Iterations == 0
	})
}

// fillScenarioCounts sets each scenario's requests, errors and rate from
// res's endpoints.
func fillScenarioCounts(scs []ScenarioResult, res *Results) {
	for i := range scs {
		s := &scs[i]
		s.Requests, s.Errors, s.RPS = 0, 0, 0
		for _, e := range res.Endpoints {
			if e.Scenario == s.Name {
				s.Requests += e.Requests
				s.Errors += e.Errors
			}
		}
		if res.DurationS > 0 {
			s.RPS = float64(s.Requests) / res.DurationS
		}
	}
}

// ScenarioTotals are scenario name's totals: its endpoints merged
// (histograms exactly, counts summed, rates over the run), named name.
func (r *Results) ScenarioTotals(name string) (EndpointResult, error) {
	var es []*EndpointResult
	for i := range r.Endpoints {
		if r.Endpoints[i].Scenario == name {
			es = append(es, &r.Endpoints[i])
		}
	}
	t, err := mergeEndpoint(name, es, r.DurationS)
	t.Scenario = name
	return t, err
}

// endpointResult builds the results of one endpoint's run data.
func endpointResult(name string, d *data, secs float64) (EndpointResult, error) {
	er := EndpointResult{Name: name, Latency: percentiles(d.lat)}
	d.c.fill(&er)
	if secs > 0 {
		er.RPS = float64(d.c.Requests) / secs
	}
	if d.ph != nil {
		ph, err := d.ph.results()
		if err != nil {
			return er, err
		}
		er.Phases = ph
	}
	var err error
	if er.HDR, err = encodeHDR(d.lat); err != nil {
		return er, err
	}
	if d.corr != nil && d.corr.TotalCount() > 0 {
		p := percentiles(d.corr)
		er.Corrected = &p
	}
	// Written even when empty or no sample had an intended time, so that
	// merge and compare find every endpoint's corrected histogram.
	if er.CorrectedHDR, err = encodeHDR(d.corr); err != nil {
		return er, err
	}
	if err = er.setOK(d.lat, d.corr, d.flat, d.fcorr); err != nil {
		return er, err
	}
	if d.svc != nil && d.svc.TotalCount() > 0 {
		p := percentiles(d.svc)
		er.Service = &p
		if er.ServiceHDR, err = encodeHDR(d.svc); err != nil {
			return er, err
		}
	}
	return er, nil
}

// setOK sets e's OK and failed figures from all its latencies (lat,
// corr) and the failed ones' (flat, fcorr; nil: none failed).
func (e *EndpointResult) setOK(lat, corr, flat, fcorr *hdrhistogram.Histogram) error {
	ok, okc := subtractHist(lat, flat), subtractHist(corr, fcorr)
	var err error
	if ok.TotalCount() > 0 {
		p, pc := percentiles(ok), percentiles(okc)
		e.OKLatency, e.OKCorrected = &p, &pc
	}
	if e.Requests > 0 {
		if e.OKHDR, err = encodeHDR(ok); err != nil {
			return err
		}
		if e.OKCorrectedHDR, err = encodeHDR(okc); err != nil {
			return err
		}
	}
	if flat != nil && flat.TotalCount() > 0 {
		p := percentiles(flat)
		e.FailedLatency = &p
		if e.FailedHDR, err = encodeHDR(flat); err != nil {
			return err
		}
	}
	return nil
}

// subtractHist is a new histogram of all less part, bucket by bucket
// (part's values are among all's); nil all is empty, nil part nothing.
func subtractHist(all, part *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	if all == nil {
		return newHistogram()
	}
	a := all.Export()
	if part != nil && part.TotalCount() > 0 {
		p := part.Export()
		for i := range min(len(a.Counts), len(p.Counts)) {
			a.Counts[i] = max(a.Counts[i]-p.Counts[i], 0)
		}
	}
	return hdrhistogram.Import(a)
}

// OverranWarning is the warning for n paced iterations that overran
// their pace.
func OverranWarning(n int64) string {
	return fmt.Sprintf("%d paced iterations took longer than their pace: the next started late, and that lateness is in the corrected latency; lengthen pacing or shorten the think times", n)
}

// ClampWarning is the warning for e's latencies clamped into the
// histograms' 0..60 s, "" when none was.
func ClampWarning(e *EndpointResult) string {
	if e.Overflow == 0 && e.CorrectedOverflow == 0 {
		return ""
	}
	return fmt.Sprintf("%d latencies (%d corrected) were outside 0..60 s and recorded as 60 s: a percentile of 60000 ms is at least that, not a measurement", e.Overflow, e.CorrectedOverflow)
}

// kindMap names the non-zero error counts.
func kindMap(kinds *[NumKinds]int64) map[string]int64 {
	m := map[string]int64{}
	for k, n := range kinds {
		if Kind(k) != OK && n > 0 {
			m[Kind(k).String()] = n
		}
	}
	return m
}

// WriteJSON writes r as indented JSON.
func (r *Results) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// ReadResults reads a results.json written by WriteJSON. It rejects other
// schemas and any HDR field that does not decode.
func ReadResults(rd io.Reader) (*Results, error) {
	var r Results
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	if r.Schema != SchemaV1 {
		return nil, fmt.Errorf("read results: schema %q, want %q", r.Schema, SchemaV1)
	}
	check := func(e *EndpointResult) error {
		for _, s := range []string{e.HDR, e.CorrectedHDR, e.ServiceHDR, e.OKHDR, e.FailedHDR, e.OKCorrectedHDR} {
			if s == "" {
				continue
			}
			if _, err := DecodeHDR(s); err != nil {
				return fmt.Errorf("read results: endpoint %q: %w", e.Name, err)
			}
		}
		return nil
	}
	for _, es := range [][]EndpointResult{r.Endpoints, r.Groups} {
		for i := range es {
			if err := check(&es[i]); err != nil {
				return nil, err
			}
		}
	}
	if err := check(&r.Totals); err != nil {
		return nil, err
	}
	return &r, nil
}
