package stats

import (
	"crypto/tls"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// PhaseTrace times the phases of one request at a time through
// httptrace: Install it into a VU's ClientTrace once, Reset it before each
// request, and read Phases when the body has been read.
//
// Concurrency: the transport may call the hooks from its own goroutines,
// and a dial it started for a request can finish after that request got
// another connection; so every timestamp is an atomic. A late dial can at
// worst lend its times to the next request of the same VU. With redirects,
// the last round trip's phases are kept.
type PhaseTrace struct {
	dnsStart, dnsDone, connStart, connDone, tlsStart, tlsDone, wrote, firstByte atomic.Int64 // unix ns; 0 = not seen
}

// Install sets the phase hooks of t; other hooks (GotConn) are left alone.
func (p *PhaseTrace) Install(t *httptrace.ClientTrace) {
	now := func(a *atomic.Int64) { a.Store(time.Now().UnixNano()) }
	t.DNSStart = func(httptrace.DNSStartInfo) { now(&p.dnsStart) }
	t.DNSDone = func(httptrace.DNSDoneInfo) { now(&p.dnsDone) }
	t.ConnectStart = func(string, string) { now(&p.connStart) }
	t.ConnectDone = func(string, string, error) { now(&p.connDone) }
	t.TLSHandshakeStart = func() { now(&p.tlsStart) }
	t.TLSHandshakeDone = func(tls.ConnectionState, error) { now(&p.tlsDone) }
	t.WroteRequest = func(httptrace.WroteRequestInfo) { now(&p.wrote) }
	t.GotFirstResponseByte = func() { now(&p.firstByte) }
}

// SetConnect sets the connect phase (Unix ns), for engines without
// httptrace hooks.
func (p *PhaseTrace) SetConnect(start, done int64) {
	p.connStart.Store(start)
	p.connDone.Store(done)
}

// SetExchange sets when the request was written and the first response
// byte came (Unix ns), for engines without httptrace hooks; firstByte 0
// means when the exchange ended (an engine that reads head and body in
// one call).
func (p *PhaseTrace) SetExchange(wrote, firstByte int64) {
	if firstByte == 0 {
		firstByte = atEnd
	}
	p.wrote.Store(wrote)
	p.firstByte.Store(firstByte)
}

// atEnd is a firstByte that Phases takes as the end of the exchange.
const atEnd = -1

// Reset forgets the previous request's times.
func (p *PhaseTrace) Reset() {
	for _, a := range []*atomic.Int64{&p.dnsStart, &p.dnsDone, &p.connStart, &p.connDone, &p.tlsStart, &p.tlsDone, &p.wrote, &p.firstByte} {
		a.Store(0)
	}
}

// Phases returns the phases of the request that ended at end (after its
// body was read, or when it failed).
func (p *PhaseTrace) Phases(end time.Time) Phases {
	span := func(a, b int64) time.Duration {
		if a == 0 || b < a {
			return 0
		}
		return time.Duration(b - a)
	}
	fb := p.firstByte.Load()
	if fb == atEnd {
		fb = end.UnixNano()
	}
	ph := Phases{
		DNS:     span(p.dnsStart.Load(), p.dnsDone.Load()),
		Connect: span(p.connStart.Load(), p.connDone.Load()),
		TLS:     span(p.tlsStart.Load(), p.tlsDone.Load()),
		TTFB:    span(p.wrote.Load(), fb),
	}
	if fb != 0 {
		ph.Body = span(fb, end.UnixNano())
	}
	return ph
}
