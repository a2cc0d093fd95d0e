package stats

import (
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Phases is where one request's time went, from net/http/httptrace. A zero
// field was not measured or did not happen: DNS, Connect and TLS only
// happen on a new connection.
type Phases struct {
	DNS     time.Duration // DNSStart .. DNSDone
	Connect time.Duration // ConnectStart .. ConnectDone
	TLS     time.Duration // TLSHandshakeStart .. TLSHandshakeDone
	TTFB    time.Duration // WroteRequest .. GotFirstResponseByte: the server's think time plus one round trip
	Body    time.Duration // GotFirstResponseByte .. body read to the end
}

// numPhases is the number of fields of Phases.
const numPhases = 5

// phaseNames are the phases as results.json and the summary name them.
var phaseNames = [numPhases]string{"dns", "connect", "tls", "ttfb", "body"}

func (p *Phases) at(i int) time.Duration {
	switch i {
	case 0:
		return p.DNS
	case 1:
		return p.Connect
	case 2:
		return p.TLS
	case 3:
		return p.TTFB
	}
	return p.Body
}

// any reports whether any phase was measured.
func (p *Phases) any() bool {
	return p.DNS > 0 || p.Connect > 0 || p.TLS > 0 || p.TTFB > 0 || p.Body > 0
}

// phaseSet holds one endpoint's phase histograms. They are sparse (packed):
// a breakdown needs far fewer buckets than a latency, and five dense
// histograms per shard and endpoint would cost ~680 KiB each time.
type phaseSet [numPhases]*hdrhistogram.PackedHistogram

func newPhaseSet() *phaseSet {
	var ps phaseSet
	for i := range ps {
		ps[i] = hdrhistogram.NewPacked(lowestMicros, highestMicros, sigFigs)
	}
	return &ps
}

// record adds the measured phases of p. Caller holds the shard's lock.
func (ps *phaseSet) record(p *Phases) {
	for i := range numPhases {
		if d := p.at(i); d > 0 {
			us, _ := micros(d)
			_ = ps[i].RecordValue(us) // clamped into range: cannot fail
		}
	}
}

// empty reports whether no phase has a sample.
func (ps *phaseSet) empty() bool {
	for _, h := range ps {
		if h.TotalCount() > 0 {
			return false
		}
	}
	return true
}

func (ps *phaseSet) merge(o *phaseSet) {
	for i := range ps {
		if o[i].TotalCount() > 0 {
			ps[i].Merge(o[i])
		}
	}
}

func (ps *phaseSet) reset() {
	for _, h := range ps {
		if h.TotalCount() > 0 {
			h.Reset()
		}
	}
}

// PhaseStats summarizes one phase of an endpoint's requests, in ms.
type PhaseStats struct {
	Count int64   `json:"count"` // requests where the phase happened
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	// HDR is the phase's histogram in microseconds, like EndpointResult.HDR.
	HDR string `json:"hdr"`
}

// PhaseResults is an endpoint's time by phase (results.json "phases_ms").
// A phase that never happened (TLS over plain HTTP) is omitted.
type PhaseResults struct {
	DNS     *PhaseStats `json:"dns,omitempty"`
	Connect *PhaseStats `json:"connect,omitempty"`
	TLS     *PhaseStats `json:"tls,omitempty"`
	TTFB    *PhaseStats `json:"ttfb,omitempty"`
	Body    *PhaseStats `json:"body,omitempty"`
}

// List returns the phases in order with their names; absent ones are nil.
func (p *PhaseResults) List() [numPhases]struct {
	Name  string
	Stats *PhaseStats
} {
	var out [numPhases]struct {
		Name  string
		Stats *PhaseStats
	}
	for i, s := range []*PhaseStats{p.DNS, p.Connect, p.TLS, p.TTFB, p.Body} {
		out[i].Name, out[i].Stats = phaseNames[i], s
	}
	return out
}

// results summarizes the phases; nil when none was measured.
func (ps *phaseSet) results() (*PhaseResults, error) {
	if ps.empty() {
		return nil, nil
	}
	var out [numPhases]*PhaseStats
	for i, h := range ps {
		if h.TotalCount() == 0 {
			continue
		}
		b, err := h.Encode()
		if err != nil {
			return nil, fmt.Errorf("encode %s histogram: %w", phaseNames[i], err)
		}
		out[i] = &PhaseStats{
			Count: h.TotalCount(),
			Mean:  h.Mean() / 1000,
			P50:   ms(h.ValueAtPercentile(50)),
			P95:   ms(h.ValueAtPercentile(95)),
			P99:   ms(h.ValueAtPercentile(99)),
			Max:   ms(h.Max()),
			HDR:   string(b), // base64, as the dense encoder's
		}
	}
	return &PhaseResults{DNS: out[0], Connect: out[1], TLS: out[2], TTFB: out[3], Body: out[4]}, nil
}
