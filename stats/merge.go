package stats

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// MergedFrom describes one input of a merge.
type MergedFrom struct {
	Segment       string     `json:"segment,omitempty"`
	Started       time.Time  `json:"started"`
	StartOffsetMs float64    `json:"start_offset_ms,omitempty"`
	Requests      int64      `json:"requests"`
	Generator     *Generator `json:"generator,omitempty"`
	// Server is the segment's own server block (plan key server:).
	Server *ServerResult `json:"server,omitempty"`
}

// MergeOptions tune Merge.
type MergeOptions struct {
	// Partial accepts segments that do not make a whole test.
	Partial bool
	// LateAfter is how late after the agreed start (or the earliest
	// segment's start) a segment may start before the merge warns: its
	// share then ran in another window than the others'. Default 1s.
	LateAfter time.Duration
}

// defaultLateAfter is MergeOptions.LateAfter's default.
const defaultLateAfter = time.Second

// Merge adds the results of the segments of one test into the results of
// the whole: histograms exactly (HdrHistogram merge of the encoded
// histograms, so percentiles are those of all samples together), counters
// summed, timelines aligned by wall-clock interval. The segments must make
// the whole test, each once, unless o.Partial.
func Merge(rs []*Results, o MergeOptions) (*Results, error) {
	if len(rs) == 0 {
		return nil, errors.New("merge: no results")
	}
	if err := checkSegments(rs, o.Partial); err != nil {
		return nil, err
	}
	if err := checkRun(rs); err != nil {
		return nil, err
	}
	out := &Results{
		Schema:       SchemaV1,
		Plan:         rs[0].Plan,
		Started:      rs[0].Started,
		Ended:        rs[0].Ended,
		ErrorsByKind: map[string]int64{},
		PlanHash:     rs[0].PlanHash,
		RunID:        rs[0].RunID,
		StartAt:      rs[0].StartAt,
	}
	var lastServer time.Time
	for _, r := range rs {
		if r.Plan != out.Plan {
			return nil, fmt.Errorf("merge: results of different plans (%q and %q)", out.Plan, r.Plan)
		}
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		if r.Ended.After(out.Ended) {
			out.Ended = r.Ended
		}
		out.VUs.Max += r.VUs.Max // peaks of disjoint VU sets: an upper bound of the whole's peak
		for k, n := range r.VUs.Stopped {
			if out.VUs.Stopped == nil {
				out.VUs.Stopped = map[string]int64{}
			}
			out.VUs.Stopped[k] += n
		}
		out.Scenarios = mergeScenarios(out.Scenarios, r.Scenarios)
		out.Sessions.Add(r.Sessions)
		out.Interrupted = out.Interrupted || r.Interrupted
		out.Partial = out.Partial || r.Partial
		out.WarmupS = max(out.WarmupS, r.WarmupS)
		out.Iterations.Completed += r.Iterations.Completed
		out.Iterations.Dropped += r.Iterations.Dropped
		out.Iterations.Overran += r.Iterations.Overran
		out.Connections.Dials += r.Connections.Dials
		out.Connections.Reused += r.Connections.Reused
		for k, n := range r.ErrorsByKind {
			out.ErrorsByKind[k] += n
		}
		for _, w := range r.Warnings {
			out.Warnings = append(out.Warnings, segmentLabel(r)+w)
		}
		out.MergedFrom = append(out.MergedFrom, MergedFrom{
			Segment: r.Segment, Started: r.Started, StartOffsetMs: r.StartOffsetMs,
			Requests: r.Totals.Requests, Generator: r.Generator, Server: r.Server,
		})
		// The server's counters are its own, not a segment's: the block
		// of the segment that ended last saw the most of the run.
		if r.Server != nil && (out.Server == nil || !r.Ended.Before(lastServer)) {
			out.Server, lastServer = r.Server, r.Ended
		}
	}
	out.Generator = mergeGenerators(rs)
	out.Sessions.topLoginFailure(rs)
	// Rates are over the time some segment was measuring: the union of
	// their windows, so a wait or a gap between them dilutes nothing.
	out.DurationS = unionSeconds(rs)
	out.Warnings = append(out.Warnings, lateSegments(rs, cmp.Or(o.LateAfter, defaultLateAfter))...)
	// Endpoints and groups in the order they first appear.
	var err error
	if out.Endpoints, err = mergeAll(rs, func(r *Results) []EndpointResult { return r.Endpoints }, out.DurationS); err != nil {
		return nil, err
	}
	if out.Groups, err = mergeAll(rs, func(r *Results) []EndpointResult { return r.Groups }, out.DurationS); err != nil {
		return nil, err
	}
	fillScenarioCounts(out.Scenarios, out)
	totals := make([]*EndpointResult, len(rs))
	for i, r := range rs {
		totals[i] = &r.Totals
	}
	t, err := mergeEndpoint(TotalName, totals, out.DurationS)
	if err != nil {
		return nil, err
	}
	out.Totals = t
	if t.Requests > 0 {
		out.Connections.ReuseRatio = float64(out.Connections.Reused) / float64(t.Requests)
	}
	out.Timeline = mergeTimelines(rs, out.Started)
	return out, nil
}

// mergeScenarios adds the scenarios of one segment into out, by name:
// iterations summed, the VU peaks summed (as VUs.Max), the weight kept.
// Requests and errors are the merged endpoints' (fillScenarioCounts).
func mergeScenarios(out, add []ScenarioResult) []ScenarioResult {
	for _, s := range add {
		i := slices.IndexFunc(out, func(o ScenarioResult) bool { return o.Name == s.Name })
		if i < 0 {
			out = append(out, ScenarioResult{Name: s.Name, Weight: s.Weight})
			i = len(out) - 1
		}
		out[i].Iterations += s.Iterations
		out[i].VUsMax += s.VUsMax
	}
	return out
}

// EndpointKey is what tells endpoints apart across results: one name may
// be in several scenarios, and in several groups of one.
type EndpointKey struct{ Scenario, Group, Name string }

// Key is e's EndpointKey.
func (e *EndpointResult) Key() EndpointKey { return EndpointKey{e.Scenario, e.Group, e.Name} }

// mergeAll merges the endpoints (or groups) that list picks from each
// result, by key, in the order they first appear.
func mergeAll(rs []*Results, list func(*Results) []EndpointResult, secs float64) ([]EndpointResult, error) {
	var keys []EndpointKey
	byKey := map[EndpointKey][]*EndpointResult{}
	for _, r := range rs {
		es := list(r)
		for i := range es {
			k := es[i].Key()
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], &es[i])
		}
	}
	var out []EndpointResult
	for _, k := range keys {
		e, err := mergeEndpoint(k.Name, byKey[k], secs)
		if err != nil {
			return nil, err
		}
		e.Scenario, e.Group, e.Kind = k.Scenario, k.Group, byKey[k][0].Kind
		out = append(out, e)
	}
	return out, nil
}

// checkRun checks that rs are of one test (plan hash) and one run (run
// id), where they say: results of another run would add up to nonsense.
func checkRun(rs []*Results) error {
	for _, r := range rs[1:] {
		a, b := rs[0], r
		switch {
		case a.PlanHash != "" && b.PlanHash != "" && a.PlanHash != b.PlanHash:
			return fmt.Errorf("merge: segment %s is of another test (plan_hash %s, not %s): other plan content or load shape", b.Segment, b.PlanHash, a.PlanHash)
		case a.RunID != "" && b.RunID != "" && a.RunID != b.RunID:
			return fmt.Errorf("merge: segment %s is of another run (run_id %s, not %s): the segments of one run share --start-at", b.Segment, b.RunID, a.RunID)
		}
	}
	return nil
}

// unionSeconds is the length of the union of the results' windows
// [Started, Ended].
func unionSeconds(rs []*Results) float64 {
	ws := make([][2]time.Time, 0, len(rs))
	for _, r := range rs {
		if r.Ended.After(r.Started) {
			ws = append(ws, [2]time.Time{r.Started, r.Ended})
		}
	}
	slices.SortFunc(ws, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
	var total time.Duration
	var cur [2]time.Time
	for i, w := range ws {
		switch {
		case i == 0:
			cur = w
		case !w[0].After(cur[1]):
			if w[1].After(cur[1]) {
				cur[1] = w[1]
			}
		default:
			total += cur[1].Sub(cur[0])
			cur = w
		}
	}
	if len(ws) > 0 {
		total += cur[1].Sub(cur[0])
	}
	return total.Seconds()
}

// lateSegments warns of each segment whose schedule started more than
// late after the agreed start (start_offset_ms) or, without one, after
// the earliest segment.
func lateSegments(rs []*Results, late time.Duration) []string {
	first := rs[0].Started
	for _, r := range rs {
		if r.Started.Before(first) {
			first = r.Started
		}
	}
	var out []string
	for _, r := range rs {
		off := time.Duration(r.StartOffsetMs * float64(time.Millisecond))
		if r.StartAt == nil {
			off = r.Started.Sub(first)
		}
		if off > late {
			out = append(out, fmt.Sprintf("segment %s started %s late (more than %s): its share of the load ran apart from the others', so the whole's rates and percentiles mix two windows",
				r.Segment, off.Round(time.Millisecond), late))
		}
	}
	return out
}

func segmentLabel(r *Results) string {
	if r.Segment == "" {
		return ""
	}
	return "segment " + r.Segment + ": "
}

// checkSegments checks that rs are the segments 0..n-1 of n, each once.
func checkSegments(rs []*Results, partial bool) error {
	n := -1
	seen := map[int]bool{}
	for _, r := range rs {
		if r.Segment == "" {
			if len(rs) > 1 && !partial {
				return errors.New("merge: a result without a segment is a whole test; merge only the segments of one split test (or use --partial)")
			}
			continue
		}
		i, k, err := parseSegment(r.Segment)
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		if n >= 0 && k != n {
			return fmt.Errorf("merge: segments of different splits (/%d and /%d)", n, k)
		}
		n = k
		if seen[i] {
			return fmt.Errorf("merge: segment %d/%d given twice", i, k)
		}
		seen[i] = true
	}
	if n > 0 && len(seen) != n && !partial {
		var missing []string
		for i := range n {
			if !seen[i] {
				missing = append(missing, fmt.Sprintf("%d/%d", i, n))
			}
		}
		return fmt.Errorf("merge: missing segment(s) %s (use --partial to merge what there is)", strings.Join(missing, ", "))
	}
	return nil
}

func parseSegment(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("bad segment %q (expected i/n)", s)
	}
	return i, n, nil
}

// mergeEndpoint adds the results of one endpoint from several segments
// (or of several endpoints into one figure): counts summed, histograms
// merged exactly.
func mergeEndpoint(name string, es []*EndpointResult, secs float64) (EndpointResult, error) {
	out := EndpointResult{Name: name}
	var c Counts
	var lat, corr, svc, ok, okc, failed *hdrhistogram.Histogram
	var phases [numPhases]*hdrhistogram.Histogram
	for _, e := range es {
		if err := addPhases(&phases, e.Phases); err != nil {
			return out, fmt.Errorf("merge %s phases: %w", name, err)
		}
		ec, err := e.Counts()
		if err != nil {
			return out, fmt.Errorf("merge %s: %w", name, err)
		}
		c.Add(&ec)
		for _, h := range []struct {
			enc  string
			dst  **hdrhistogram.Histogram
			what string
		}{{e.HDR, &lat, ""}, {e.CorrectedHDR, &corr, " corrected"}, {e.ServiceHDR, &svc, " service"},
			{okHDR(e.OKHDR, e.HDR, e.Errors), &ok, " ok"}, {okHDR(e.OKCorrectedHDR, e.CorrectedHDR, e.Errors), &okc, " ok corrected"}, {e.FailedHDR, &failed, " failed"}} {
			if *h.dst, err = addHDR(*h.dst, h.enc); err != nil {
				return out, fmt.Errorf("merge %s%s: %w", name, h.what, err)
			}
		}
	}
	c.fill(&out)
	if secs > 0 {
		out.RPS = float64(out.Requests) / secs
	}
	if lat == nil {
		lat = newHistogram()
	}
	out.Latency = percentiles(lat)
	var err error
	if out.HDR, err = encodeHDR(lat); err != nil {
		return out, err
	}
	for _, h := range []struct {
		hist *hdrhistogram.Histogram
		p    **Percentiles
		enc  *string
	}{{corr, &out.Corrected, &out.CorrectedHDR}, {svc, &out.Service, &out.ServiceHDR}} {
		if h.hist == nil || h.hist.TotalCount() == 0 {
			continue
		}
		p := percentiles(h.hist)
		*h.p = &p
		if *h.enc, err = encodeHDR(h.hist); err != nil {
			return out, err
		}
	}
	if err := out.setMergedOK(ok, okc, failed); err != nil {
		return out, err
	}
	if out.Phases, err = phaseResults(&phases); err != nil {
		return out, err
	}
	return out, nil
}

// addPhases adds p's phase histograms into hs (allocating them the
// first time).
func addPhases(hs *[numPhases]*hdrhistogram.Histogram, p *PhaseResults) error {
	if p == nil {
		return nil
	}
	for i, ph := range p.List() {
		if ph.Stats == nil || ph.Stats.HDR == "" {
			continue
		}
		var err error
		if hs[i], err = addHDR(hs[i], ph.Stats.HDR); err != nil {
			return fmt.Errorf("%s: %w", ph.Name, err)
		}
	}
	return nil
}

// phaseResults summarizes merged phase histograms; nil when none has a
// sample.
func phaseResults(hs *[numPhases]*hdrhistogram.Histogram) (*PhaseResults, error) {
	var out [numPhases]*PhaseStats
	found := false
	for i, h := range hs {
		if h == nil || h.TotalCount() == 0 {
			continue
		}
		enc, err := encodeHDR(h)
		if err != nil {
			return nil, err
		}
		out[i] = &PhaseStats{Count: h.TotalCount(), Mean: h.Mean() / 1000, P50: ms(h.ValueAtQuantile(50)),
			P95: ms(h.ValueAtQuantile(95)), P99: ms(h.ValueAtQuantile(99)), Max: ms(h.Max()), HDR: enc}
		found = true
	}
	if !found {
		return nil, nil
	}
	return &PhaseResults{DNS: out[0], Connect: out[1], TLS: out[2], TTFB: out[3], Body: out[4]}, nil
}

// mergeGenerators is the segments' generators as one (each is kept in
// MergedFrom): CPU time, CPUs, GCs and scheduled starts summed; the
// worst lag, GC pause, CPU utilization and RSS; warnings by segment.
// Its seed is 0: each segment drew from its own (MergedFrom).
func mergeGenerators(rs []*Results) *Generator {
	var out *Generator
	for _, r := range rs {
		g := r.Generator
		if g == nil {
			continue
		}
		if out == nil {
			out = &Generator{}
		}
		out.CPUSeconds += g.CPUSeconds
		out.CPUUtil = max(out.CPUUtil, g.CPUUtil)
		out.Procs += g.Procs
		out.MaxRSSMB = max(out.MaxRSSMB, g.MaxRSSMB)
		out.GCCount += g.GCCount
		out.GCPauseTotalMs += g.GCPauseTotalMs
		out.GCPauseMaxMs = max(out.GCPauseMaxMs, g.GCPauseMaxMs)
		out.ScheduleLagP99Ms = max(out.ScheduleLagP99Ms, g.ScheduleLagP99Ms)
		out.ScheduledCount += g.ScheduledCount
		if l := g.ScheduleLag; l != nil {
			if out.ScheduleLag == nil {
				out.ScheduleLag = &Percentiles{Min: l.Min}
			}
			m := out.ScheduleLag
			m.Min = min(m.Min, l.Min)
			m.Mean, m.P50, m.P90 = max(m.Mean, l.Mean), max(m.P50, l.P50), max(m.P90, l.P90)
			m.P95, m.P99, m.P999, m.Max = max(m.P95, l.P95), max(m.P99, l.P99), max(m.P999, l.P999), max(m.Max, l.Max)
		}
		for _, w := range g.Warnings {
			out.Warnings = append(out.Warnings, segmentLabel(r)+w)
		}
	}
	return out
}

// okHDR is an input's OK histogram: ok, or in a results.json older than
// ok_hdr, all its latencies where none failed.
func okHDR(ok, all string, errors int64) string {
	if ok == "" && errors == 0 {
		return all
	}
	return ok
}

// setMergedOK sets e's OK and failed figures from merged histograms.
func (e *EndpointResult) setMergedOK(ok, okc, failed *hdrhistogram.Histogram) error {
	var err error
	if ok != nil && ok.TotalCount() > 0 {
		p := percentiles(ok)
		e.OKLatency = &p
		if e.OKHDR, err = encodeHDR(ok); err != nil {
			return err
		}
	}
	if okc != nil && okc.TotalCount() > 0 {
		p := percentiles(okc)
		e.OKCorrected = &p
		if e.OKCorrectedHDR, err = encodeHDR(okc); err != nil {
			return err
		}
	}
	if failed != nil && failed.TotalCount() > 0 {
		p := percentiles(failed)
		e.FailedLatency = &p
		if e.FailedHDR, err = encodeHDR(failed); err != nil {
			return err
		}
	}
	return nil
}

// addHDR adds the encoded histogram s into h (allocating h the first time).
func addHDR(h *hdrhistogram.Histogram, s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return h, nil
	}
	x, err := DecodeHDR(s)
	if err != nil {
		return h, err
	}
	if h == nil {
		h = newHistogram()
	}
	if dropped := h.Merge(x); dropped != 0 {
		return h, fmt.Errorf("%d values out of range", dropped)
	}
	return h, nil
}

// mergeTimelines buckets the segments' timelines on fixed wall-clock
// intervals from start: [k·step, (k+1)·step), each point by its own
// start (its segment's start + t − duration), so a short last interval
// has a bucket of its own rather than landing on the one before. Counts
// add exactly and rates are the bucket's requests over its length; an
// interval's percentiles are the worst segment's (the timeline keeps no
// histograms), which the whole's can only be at or below.
func mergeTimelines(rs []*Results, start time.Time) []TimelinePoint {
	step := 0.0
	for _, r := range rs {
		if len(r.Timeline) > 0 && r.Timeline[0].DurationS > 0 {
			step = r.Timeline[0].DurationS
			break
		}
	}
	if step <= 0 {
		return nil
	}
	byBucket := map[int64]*TimelinePoint{}
	for _, r := range rs {
		off := r.Started.Sub(start).Seconds()
		for _, p := range r.Timeline {
			from, end := off+p.T-p.DurationS, off+p.T
			// A start a hair before a boundary (float noise) is on it.
			b := int64(math.Floor(from/step + 1e-6))
			m := byBucket[b]
			if m == nil {
				m = &TimelinePoint{T: float64(b) * step, Total: TimelineEndpoint{Name: TotalName}}
				byBucket[b] = m
			}
			// The bucket ends at its boundary, or earlier where every
			// point in it did (a short last interval).
			m.T = min(max(m.T, end), float64(b+1)*step)
			m.DurationS = m.T - float64(b)*step
			m.VUs += p.VUs
			m.Sessions += p.Sessions
			m.Relogins += p.Relogins
			m.Held += p.Held
			m.Iterations += p.Iterations
			m.Dropped += p.Dropped
			addTimelineEndpoint(&m.Total, &p.Total)
			m.Endpoints = addTimelineEndpoints(m.Endpoints, p.Endpoints)
			m.Groups = addTimelineEndpoints(m.Groups, p.Groups)
		}
	}
	keys := slices.Sorted(maps.Keys(byBucket))
	out := make([]TimelinePoint, 0, len(keys))
	for _, k := range keys {
		p := byBucket[k]
		rate := func(e *TimelineEndpoint) {
			if p.DurationS > 0 {
				e.RPS = float64(e.Requests) / p.DurationS
			}
		}
		rate(&p.Total)
		for i := range p.Endpoints {
			rate(&p.Endpoints[i])
		}
		for i := range p.Groups {
			rate(&p.Groups[i])
		}
		out = append(out, *p)
	}
	return out
}

// addTimelineEndpoints adds es into ms by scenario, group and name.
func addTimelineEndpoints(ms, es []TimelineEndpoint) []TimelineEndpoint {
	for i := range es {
		e := &es[i]
		j := slices.IndexFunc(ms, func(x TimelineEndpoint) bool {
			return x.Name == e.Name && x.Scenario == e.Scenario && x.Group == e.Group
		})
		if j < 0 {
			ms = append(ms, TimelineEndpoint{Name: e.Name, Scenario: e.Scenario, Group: e.Group})
			j = len(ms) - 1
		}
		addTimelineEndpoint(&ms[j], e)
	}
	return ms
}

func addTimelineEndpoint(m, e *TimelineEndpoint) {
	m.Requests += e.Requests
	m.Errors += e.Errors
	m.RPS += e.RPS
	m.P50, m.P95, m.P99 = max(m.P50, e.P50), max(m.P95, e.P95), max(m.P99, e.P99)
	m.Corrected += e.Corrected
	m.CorrectedP50 = max(m.CorrectedP50, e.CorrectedP50)
	m.CorrectedP95 = max(m.CorrectedP95, e.CorrectedP95)
	m.CorrectedP99 = max(m.CorrectedP99, e.CorrectedP99)
}
