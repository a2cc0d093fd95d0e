// Package pool is the one HTTP transport all virtual users share: tuned for
// load, with its dials and connection reuses counted.
package pool

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"
)

// Options tunes the shared transport. Zero values take the defaults below.
type Options struct {
	// MaxIdleConnsPerHost is sized to the expected concurrency (VUs), so a
	// returning connection is kept rather than closed. Default 1024.
	MaxIdleConnsPerHost int
	// MaxConnsPerHost caps connections per host; 0 means no cap.
	MaxConnsPerHost int
	// MaxWaiting caps the VUs that hold a request at once (sending it or
	// waiting for a connection), run-wide; the others wait in Gate.Enter
	// before building their request. Default 2 × MaxConnsPerHost, or
	// defaultMaxWaiting when connections are not capped.
	MaxWaiting int
	// DialTimeout bounds a TCP connect. Default 5s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds a TLS handshake. Default 5s.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request is written; 0 leaves it to the request timeout.
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes idle connections. Default 90s.
	IdleConnTimeout time.Duration
	// KeepAlive is the TCP keep-alive period. Default 30s.
	KeepAlive time.Duration
	// HTTP2 allows HTTP/2 (over TLS); off by default, as most session
	// load tests model browsers' HTTP/1.1 connections to Tomcat.
	HTTP2 bool
	// Compression asks for gzip and decompresses; off by default so byte
	// counts are what went over the wire.
	Compression bool
	// Engine sends plain http:// requests: EngineFastHTTP (see fast.go)
	// or EngineNetHTTP (EngineNetHTTPAlias too). "" is the value of the
	// environment variable LOAD_ENGINE when set, else EngineFastHTTP.
	// https, proxied and compressed requests always go to net/http,
	// whatever the engine.
	Engine string
	// InsecureSkipVerify turns TLS verification off. The run says so.
	InsecureSkipVerify bool
	// MaxResponseHeaderBytes caps a response's headers; a response over it
	// fails as header_too_large. Default 1 MiB: net/http's own 10 MiB
	// would let a hostile server hold 10 MiB per VU in flight, and no
	// real application sends more than a few KiB (Tomcat's own request
	// limit is 8 KiB).
	MaxResponseHeaderBytes int64
}

func (o Options) withDefaults() Options {
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 1024
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.TLSHandshakeTimeout <= 0 {
		o.TLSHandshakeTimeout = 5 * time.Second
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = 90 * time.Second
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.MaxResponseHeaderBytes <= 0 {
		o.MaxResponseHeaderBytes = 1 << 20
	}
	if o.MaxWaiting <= 0 {
		o.MaxWaiting = defaultMaxWaiting
		if o.MaxConnsPerHost > 0 {
			o.MaxWaiting = 2 * o.MaxConnsPerHost
		}
	}
	return o
}

// defaultMaxWaiting bounds the requests in hand when connections are not
// capped: far more than a 2-core generator keeps busy, and under the
// usual 20,000 open files, so 100,000 VUs started at once do not all
// dial (and fail with EMFILE) or all queue a request.
const defaultMaxWaiting = 8192

// Pool is the shared transport, its admission gate and its connection
// accounting. It is safe for concurrent use by all VUs.
type Pool struct {
	transport *http.Transport
	fast      *fastTransport // nil when the engine is net/http
	engine    string         // EngineFastHTTP or EngineNetHTTP
	gate      *Gate
	dials     atomic.Int64
	dialFails atomic.Int64
}

// EngineEnv is the environment variable that chooses the engine when
// Options.Engine is "": one of the Engine constants.
const EngineEnv = "LOAD_ENGINE"

// ResolveEngine is the engine a pool with o sends plain http:// requests
// with: EngineFastHTTP or EngineNetHTTP. An unknown Options.Engine or
// LOAD_ENGINE is an error naming it; New then uses net/http, which sends
// any request.
func (o Options) ResolveEngine() (string, error) {
	e, from := o.Engine, "engine"
	if e == "" {
		e, from = os.Getenv(EngineEnv), EngineEnv
	}
	switch e {
	case "", EngineFastHTTP:
		return EngineFastHTTP, nil
	case EngineNetHTTP, EngineNetHTTPAlias:
		return EngineNetHTTP, nil
	}
	return EngineNetHTTP, fmt.Errorf("%s: expected %s or %s, got %q", from, EngineFastHTTP, EngineNetHTTP, e)
}

// New returns a pool tuned by o.
func New(o Options) *Pool {
	o = o.withDefaults()
	engine, _ := o.ResolveEngine() // an unknown one is net/http: see ResolveEngine
	p := &Pool{gate: NewGate(o.MaxWaiting), engine: engine}
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: o.KeepAlive}
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				p.dialFails.Add(1)
				return nil, err
			}
			p.dials.Add(1)
			return c, nil
		},
		MaxIdleConns:           0, // no global cap: per-host is what matters
		MaxIdleConnsPerHost:    o.MaxIdleConnsPerHost,
		MaxConnsPerHost:        o.MaxConnsPerHost,
		IdleConnTimeout:        o.IdleConnTimeout,
		TLSHandshakeTimeout:    o.TLSHandshakeTimeout,
		ResponseHeaderTimeout:  o.ResponseHeaderTimeout,
		MaxResponseHeaderBytes: o.MaxResponseHeaderBytes,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     !o.Compression,
		ForceAttemptHTTP2:      o.HTTP2,
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // only when the plan asks, and the summary says so
			ClientSessionCache: tls.NewLRUClientSessionCache(1024),
		},
	}
	if !o.HTTP2 {
		// A non-nil empty map disables the transport's HTTP/2 upgrade.
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	p.transport = t
	if engine == EngineFastHTTP {
		p.fast = newFastTransport(o, p)
	}
	return p
}

// Engine is the engine plain http:// requests go to: EngineFastHTTP or
// EngineNetHTTP (see Options.ResolveEngine).
func (p *Pool) Engine() string { return p.engine }

// Transport is the shared round tripper; it is p, whose Gate the VUs
// pass before each request (see Gated).
func (p *Pool) Transport() http.RoundTripper { return p }

// RoundTrip sends req on the shared transport.
func (p *Pool) RoundTrip(req *http.Request) (*http.Response, error) {
	if p.fast != nil {
		if resp, ok, err := p.fast.roundTrip(req); ok {
			return resp, err
		}
	}
	return p.transport.RoundTrip(req)
}

// HookDeadlines reports whether requests to u go to an engine that
// bounds them by Hooks.Deadline itself (the fasthttp engine): the caller
// needs no timer of its own to time them out (its context ending still
// cuts them short).
func (p *Pool) HookDeadlines(u *url.URL) bool {
	return p.fast != nil && p.fast.hostFor(u) != nil
}

// HookDeadliner is a round tripper that can tell which requests it
// bounds by Hooks.Deadline alone (see Pool.HookDeadlines).
type HookDeadliner interface {
	HookDeadlines(u *url.URL) bool
}

var _ HookDeadliner = (*Pool)(nil)

// Gate is the run-wide admission gate of the pool's VUs.
func (p *Pool) Gate() *Gate { return p.gate }

// Gated is a round tripper with an admission gate that its callers pass
// before they build a request.
type Gated interface {
	http.RoundTripper
	Gate() *Gate
}

var _ Gated = (*Pool)(nil)

// Gate admits a bounded number of callers at a time. Its point is memory:
// a caller that waits in Enter is a parked goroutine, while a request
// queued inside net/http's transport for a connection also holds the
// request, its contexts, a timer and a grown stack (36 KB per VU with
// 100,000 VUs on 256 connections, against 13 KB ramped). Waiters are
// admitted in about the order they came (a channel's send queue is FIFO).
type Gate struct{ slots chan struct{} }

// NewGate admits up to n callers at once (at least 1).
func NewGate(n int) *Gate { return &Gate{slots: make(chan struct{}, max(n, 1))} }

// Enter waits for a slot, or until ctx is done (then it returns its error).
func (g *Gate) Enter(ctx context.Context) error {
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryEnter takes a slot if one is free, without waiting.
func (g *Gate) TryEnter() bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Leave gives back the slot Enter or TryEnter took.
func (g *Gate) Leave() { <-g.slots }

// Stats is the pool's connection accounting.
type Stats struct {
	Dials     int64 `json:"dials"`      // new connections opened
	DialFails int64 `json:"dial_fails"` // connects that failed
}

// Stats returns the counts so far.
func (p *Pool) Stats() Stats {
	return Stats{Dials: p.dials.Load(), DialFails: p.dialFails.Load()}
}

// Close closes idle connections.
func (p *Pool) Close() {
	p.transport.CloseIdleConnections()
	if p.fast != nil {
		p.fast.closeIdle()
	}
}
