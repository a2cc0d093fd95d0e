package stats

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// StreamSchema is the schema of the interval stream's first line.
const StreamSchema = "load/stream/v1"

// StreamHeader is the first line of an interval stream: what the run is.
type StreamHeader struct {
	Schema   string     `json:"schema"`
	Plan     string     `json:"plan"`
	PlanHash string     `json:"plan_hash,omitempty"`
	RunID    string     `json:"run_id,omitempty"`
	Segment  string     `json:"segment,omitempty"`
	StartAt  *time.Time `json:"start_at,omitempty"`
	// Started is the start of the measured window (the first interval's).
	Started time.Time `json:"started"`
}

// streamLine is one interval of the stream: its timeline point, the
// sessions so far, each endpoint's and group's counts and histograms (as
// results.json has them, over the interval), and the iterations by
// scenario.
type streamLine struct {
	Point     TimelinePoint    `json:"point"`
	Sessions  SessionCounts    `json:"sessions"`
	Endpoints []EndpointResult `json:"endpoints"`
	// ScenarioIterations are the interval's iterations by scenario name.
	ScenarioIterations map[string]int64 `json:"scenario_iterations,omitempty"`
}

// StreamWriter is a Sink that streams every interval to a file as one JSON
// line (after a StreamHeader line), each fsync'd, so a run killed at any
// moment (SIGKILL, an OOM kill, a second Ctrl-C) leaves all its intervals
// but at most the last: ReadStream rebuilds results from them.
//
// Concurrency: Interval encodes the line on the snapshotting goroutine
// (the histograms are borrowed) and hands it to the writer's own
// goroutine, which alone touches the file, so a slow disk never holds up
// the schedule. Close must not be called while a snapshot can happen.
type StreamWriter struct {
	f      *os.File
	header StreamHeader
	lines  chan []byte
	done   chan struct{}
	mu     sync.Mutex // guards err
	err    error
	begun  bool // the header was queued (snapshotting goroutine only)
}

var _ Sink = (*StreamWriter)(nil)

// NewStreamWriter streams to f, which it closes on Close; h is the header,
// whose Started the first interval fills.
func NewStreamWriter(f *os.File, h StreamHeader) *StreamWriter {
	h.Schema = StreamSchema
	s := &StreamWriter{f: f, header: h, lines: make(chan []byte, 64), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *StreamWriter) loop() {
	defer close(s.done)
	for b := range s.lines {
		if s.failed() {
			continue
		}
		_, err := s.f.Write(b)
		if err == nil {
			err = s.f.Sync()
		}
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		}
	}
}

func (s *StreamWriter) failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

// Interval queues one line for the interval (and the header before the
// first).
func (s *StreamWriter) Interval(iv *Interval, hists []IntervalHistograms) {
	if !s.begun {
		s.begun = true
		s.header.Started = iv.RunStart
		s.queue(s.header)
	}
	l := streamLine{Point: timelinePoint(iv), Sessions: iv.Gauges.Sessions, Endpoints: make([]EndpointResult, 0, len(iv.Endpoints))}
	for sc, n := range iv.ScenarioIterations {
		if n > 0 {
			if l.ScenarioIterations == nil {
				l.ScenarioIterations = map[string]int64{}
			}
			l.ScenarioIterations[iv.Scenarios[sc]] += n
		}
	}
	for e := range iv.Endpoints {
		st := &iv.Endpoints[e]
		se := EndpointResult{Name: st.Name, Scenario: st.Scenario, Group: st.Group}
		if st.IsGroup {
			se.Kind = KindGroup
		}
		st.Counts.fill(&se)
		if e < len(hists) {
			h := &hists[e]
			for _, x := range []struct {
				h   *hdrhistogram.Histogram
				dst *string
			}{{h.Latency, &se.HDR}, {h.Corrected, &se.CorrectedHDR}, {h.Service, &se.ServiceHDR}} {
				if x.h == nil || x.h.TotalCount() == 0 {
					continue
				}
				var err error
				if *x.dst, err = encodeHDR(x.h); err != nil {
					s.fail(err)
					return
				}
			}
			// Failed samples: their latencies, and the OK ones' corrected
			// latencies (the failed ones' are corrected less those).
			if h.Failed != nil && h.Failed.TotalCount() > 0 {
				var err error
				if se.FailedHDR, err = encodeHDR(h.Failed); err == nil {
					se.OKCorrectedHDR, err = encodeHDR(subtractHist(h.Corrected, h.FailedCorrected))
				}
				if err != nil {
					s.fail(err)
					return
				}
			}
		}
		l.Endpoints = append(l.Endpoints, se)
	}
	s.queue(l)
}

func (s *StreamWriter) fail(err error) {
	s.mu.Lock()
	s.err = firstErr(s.err, err)
	s.mu.Unlock()
}

// firstErr keeps the first error.
func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (s *StreamWriter) queue(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.fail(err)
		return
	}
	s.lines <- append(b, '\n')
}

// Close writes what is queued, closes the file and returns the first error.
func (s *StreamWriter) Close() error {
	close(s.lines)
	<-s.done
	err := errors.Join(s.err, s.f.Close())
	if err != nil {
		return fmt.Errorf("write %s: %w", s.f.Name(), err)
	}
	return nil
}

// ReadResultsOrStream reads a results.json (ReadResults), or an interval
// stream (ReadStream) when that is what rd holds.
func ReadResultsOrStream(rd io.Reader) (*Results, error) {
	br := bufio.NewReader(rd)
	head, _ := br.Peek(len(`{"schema":"`) + len(StreamSchema))
	if bytes.Equal(head, []byte(`{"schema":"`+StreamSchema)) {
		return ReadStream(br)
	}
	return ReadResults(br)
}

// ReadStream rebuilds results from an interval stream (StreamWriter) of a
// run that did not finish: every complete interval, histograms merged
// exactly, counters summed, the sessions as of the last interval; a last
// line cut short is left out. The results are marked Partial and carry no
// thresholds (judge them with CheckThresholds).
func ReadStream(rd io.Reader) (*Results, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<30)
	if !sc.Scan() {
		return nil, fmt.Errorf("read stream: no header: %w", firstErr(sc.Err(), io.ErrUnexpectedEOF))
	}
	var h StreamHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Schema != StreamSchema {
		return nil, fmt.Errorf("read stream: the first line is not a %s header", StreamSchema)
	}
	res := &Results{Schema: SchemaV1, Plan: h.Plan, PlanHash: h.PlanHash, RunID: h.RunID, Segment: h.Segment,
		StartAt: h.StartAt, Started: h.Started, Partial: true}
	var (
		keys  []endpointKey
		eps   = map[endpointKey]*data{}
		scens []string // scenario names, in order of appearance
		m     = newMerger()
		lines []streamLine
		cut   bool
		iters = map[string]int64{}
	)
	for sc.Scan() {
		var l streamLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			cut = true // a line cut short by the kill: only ever the last
			continue
		}
		if cut {
			return nil, fmt.Errorf("read stream: line %d does not decode", len(lines)+2)
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read stream: %w", err)
	}
	scenarioID := func(name string) int {
		if i := slices.Index(scens, name); i >= 0 {
			return i
		}
		scens = append(scens, name)
		return len(scens) - 1
	}
	for _, l := range lines {
		for i := range l.Endpoints {
			se := &l.Endpoints[i]
			k := endpointKey{sc: scenarioID(se.Scenario), group: se.Group, isGroup: se.Kind == KindGroup, name: se.Name}
			d := eps[k]
			if d == nil {
				d = &data{lat: newHistogram()}
				eps[k] = d
				keys = append(keys, k)
			}
			if err := d.addStream(se, m); err != nil {
				return nil, fmt.Errorf("read stream: endpoint %s: %w", se.Name, err)
			}
		}
		for name, n := range l.ScenarioIterations {
			scenarioID(name)
			iters[name] += n
		}
		res.Iterations.Completed += l.Point.Iterations
		res.Iterations.Dropped += l.Point.Dropped
		res.VUs.Max = max(res.VUs.Max, l.Point.VUs)
		res.Sessions = l.Sessions
		res.DurationS = l.Point.T
		res.Timeline = append(res.Timeline, l.Point)
	}
	res.Ended = res.Started.Add(time.Duration(res.DurationS * float64(time.Second)))
	var total data
	for _, k := range keys {
		if err := res.addEndpoint(k, scens[k.sc], eps[k], &total, m); err != nil {
			return nil, fmt.Errorf("read stream: %w", err)
		}
	}
	if err := res.addTotals(&total); err != nil {
		return nil, fmt.Errorf("read stream: %w", err)
	}
	for _, name := range scens {
		res.Scenarios = append(res.Scenarios, ScenarioResult{Name: name, Iterations: iters[name]})
	}
	if len(res.Scenarios) == 1 {
		res.Scenarios[0].Iterations = res.Iterations.Completed
	}
	fillScenarioCounts(res.Scenarios, res)
	res.Warnings = append(res.Warnings, fmt.Sprintf("rebuilt from the interval stream of a run that did not finish: %d intervals, %.1f s", len(lines), res.DurationS))
	return res, nil
}

// addStream adds one interval of an endpoint from the stream into d.
func (d *data) addStream(se *EndpointResult, m *merger) error {
	c, err := se.Counts()
	if err != nil {
		return err
	}
	d.c.Add(&c)
	for _, x := range []struct {
		enc string
		dst **hdrhistogram.Histogram
	}{{se.HDR, &d.lat}, {se.CorrectedHDR, &d.corr}, {se.ServiceHDR, &d.svc}} {
		if x.enc == "" {
			continue
		}
		h, err := DecodeHDR(x.enc)
		if err != nil {
			return err
		}
		if h.LowestTrackableValue() != lowestMicros || h.HighestTrackableValue() != highestMicros || h.SignificantFigures() != sigFigs {
			return errors.New("a histogram of another geometry than the run's")
		}
		if *x.dst == nil {
			*x.dst = newHistogram()
		}
		m.add(*x.dst, h)
	}
	return d.addStreamFailed(se, m)
}

// addStreamFailed adds an interval's failed samples (FailedHDR; and
// OKCorrectedHDR, which the corrected less it is) into d.
func (d *data) addStreamFailed(se *EndpointResult, m *merger) error {
	if se.FailedHDR == "" {
		return nil
	}
	fl, err := DecodeHDR(se.FailedHDR)
	if err != nil {
		return err
	}
	corr, okc := newHistogram(), newHistogram()
	for _, x := range []struct {
		enc string
		dst *hdrhistogram.Histogram
	}{{se.CorrectedHDR, corr}, {se.OKCorrectedHDR, okc}} {
		if x.enc == "" {
			continue
		}
		h, err := DecodeHDR(x.enc)
		if err != nil {
			return err
		}
		m.add(x.dst, h)
	}
	if d.flat == nil {
		d.flat, d.fcorr = newHistogram(), newHistogram()
	}
	m.add(d.flat, fl)
	m.add(d.fcorr, subtractHist(corr, okc))
	return nil
}
