package stats

import (
	"fmt"
	"strconv"
)

// Counts are the plain counts of one endpoint, group or total: what the
// recorder counts per sample, an interval holds, results.json and the
// interval stream carry, and merge and the stream reader add up. It is the
// one set of counts of the package: every sum of counts is Add.
type Counts struct {
	Requests          int64
	Errors            int64
	Corrected         int64 // samples with an intended time
	BytesIn           int64
	BytesOut          int64
	Reused            int64 // requests sent on a reused connection
	Overflow          int64 // latencies clamped into the histogram's range
	CorrectedOverflow int64 // corrected latencies clamped
	// Kinds counts samples by Kind (Kinds[OK] the successful ones).
	Kinds [NumKinds]int64
	// Status counts responses by status code; Status[0] counts samples
	// without a response.
	Status [statusSlots]int64
}

// Add adds o into c.
func (c *Counts) Add(o *Counts) {
	c.Requests += o.Requests
	c.Errors += o.Errors
	c.Corrected += o.Corrected
	c.BytesIn += o.BytesIn
	c.BytesOut += o.BytesOut
	c.Reused += o.Reused
	c.Overflow += o.Overflow
	c.CorrectedOverflow += o.CorrectedOverflow
	for i, n := range o.Kinds {
		c.Kinds[i] += n
	}
	for i, n := range o.Status {
		c.Status[i] += n
	}
}

// StatusMap returns the non-zero response counts by code (no response
// left out), as results.json has them.
func (c *Counts) StatusMap() map[string]int64 {
	m := map[string]int64{}
	for code, n := range c.Status {
		if code > 0 && n > 0 {
			m[strconv.Itoa(code)] = n
		}
	}
	return m
}

// KindMap returns the non-zero error counts by kind name.
func (c *Counts) KindMap() map[string]int64 { return kindMap(&c.Kinds) }

// ReuseRatio is the share of requests sent on a reused connection.
func (c *Counts) ReuseRatio() float64 {
	if c.Requests == 0 {
		return 0
	}
	return float64(c.Reused) / float64(c.Requests)
}

// fill writes c into e's count fields.
func (c *Counts) fill(e *EndpointResult) {
	e.Requests, e.Errors = c.Requests, c.Errors
	e.Status, e.ErrorsByKind = c.StatusMap(), c.KindMap()
	e.BytesIn, e.BytesOut = c.BytesIn, c.BytesOut
	e.Overflow, e.CorrectedOverflow = c.Overflow, c.CorrectedOverflow
	e.CorrectedRequests = c.Corrected
	e.Reused, e.ReuseRatio = c.Reused, c.ReuseRatio()
}

// Counts reads e's count fields back. Results written before the reused
// count was (only reuse_ratio) get it from the ratio, rounded. Error kinds
// this version does not know count as Other; a status that is not a code
// is an error.
func (e *EndpointResult) Counts() (Counts, error) {
	c := Counts{
		Requests: e.Requests, Errors: e.Errors, Corrected: e.CorrectedRequests,
		BytesIn: e.BytesIn, BytesOut: e.BytesOut, Reused: e.Reused,
		Overflow: e.Overflow, CorrectedOverflow: e.CorrectedOverflow,
	}
	if c.Reused == 0 && e.ReuseRatio > 0 {
		c.Reused = int64(e.ReuseRatio*float64(e.Requests) + 0.5)
	}
	var errs int64
	for name, n := range e.ErrorsByKind {
		k, ok := ParseKind(name)
		if !ok {
			k = Other
		}
		c.Kinds[k] += n
		errs += n
	}
	c.Kinds[OK] = max(c.Requests-errs, 0)
	for code, n := range e.Status {
		i, err := strconv.Atoi(code)
		if err != nil || i <= 0 || i >= statusSlots {
			return c, fmt.Errorf("endpoint %q: bad status %q", e.Name, code)
		}
		c.Status[i] += n
	}
	return c, nil
}
