package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// Engines a pool can send HTTP/1.1 requests with.
const (
	EngineNetHTTP  = "net/http" // the default: net/http's Transport
	EngineFastHTTP = "fasthttp" // github.com/valyala/fasthttp's HostClient, for plain http://
)

// Why a second engine: on 2 cores, net/http's connection machinery (a
// read and a write goroutine per connection, channel hand-offs, a
// context, a timer and ~45 allocations per request) costs ~15 µs of the
// ~24 µs a logged-in VU's request takes; fasthttp's HostClient sends on
// the caller's goroutine with reused request and response objects. The
// VU's logic (cookies, redirects, sessions, checks) stays the same: this
// engine is an http.RoundTripper.
//
// It takes plain http:// requests without a proxy; https (TLS edge
// cases, HTTP/2), proxied requests and gzip (Options.Compression) go to
// net/http. Limits of this engine: a request is bounded by its context's
// deadline or Options.FastTimeout, but a cancelled context does not cut
// it short (fasthttp has no cancellation), so a run's end waits for the
// requests in flight; response headers are capped at 64 KiB (a read
// buffer per connection); response bodies are read whole, up to 64 MiB
// (larger ones fail).

// Hooks carry, on a request's context, what the fasthttp engine cannot
// learn through the context or httptrace, and what it reports back
// without httptrace's callbacks: the request's deadline when the context
// has none (a VU cancels one long-lived context by a timer instead), the
// response headers the caller reads, where the phases go, and whether
// the connection was reused. See WithHooks. One goroutine uses a Hooks
// at a time (the one sending the request).
type Hooks struct {
	// Deadline is when the request must be over, in Unix ns (0: none);
	// the owner sets it before each request.
	Deadline atomic.Int64
	// Phases, if non-nil, is told the phases fasthttp lets us see, and
	// the engine then reports reuse in Reused instead of through the
	// context's httptrace (GotConn, WroteRequest).
	Phases PhaseSink
	// Headers, if non-nil, are the only response headers (canonical
	// names) the caller reads: the engine copies just those into
	// Response.Header (nil when none came). Copying every header into
	// net/http's map cost ~10% of a request.
	Headers []string
	// Served and Reused are set by the fasthttp engine for each request it
	// sends (with Phases): whether the connection had served a request
	// before. Served stays false for requests net/http sends.
	Served, Reused bool
}

// PhaseSink takes a request's phases as Unix ns timestamps.
// stats.PhaseTrace is one.
type PhaseSink interface {
	SetConnect(start, done int64)
	SetExchange(wrote, firstByte int64)
}

type hooksKey struct{}

// WithHooks returns ctx carrying h for the requests made with it.
func WithHooks(ctx context.Context, h *Hooks) context.Context {
	return context.WithValue(ctx, hooksKey{}, h)
}

// fastTimeout bounds a request that comes with no deadline.
const fastTimeout = 60 * time.Second

// fastMaxBody caps a response body: fasthttp reads bodies whole (its
// streaming mode costs four allocations a request), where net/http lets
// the VU keep MaxBody and count the rest.
const fastMaxBody = 64 << 20

// fastTransport is the fasthttp engine. It is safe for concurrent use.
type fastTransport struct {
	o       Options
	p       *Pool
	mu      sync.Mutex
	clients atomic.Pointer[map[string]*fastHost] // copy on write: read without a lock
	conns   sync.Map                             // local port -> *fastConn, while the connection is open
}

// fastHost is one origin's client, or nil when its requests go to
// net/http (a proxy applies).
type fastHost struct {
	hc *fasthttp.HostClient
}

// fastConn is what the engine knows of one connection: when it was
// dialled, and whether a request has used it yet.
type fastConn struct {
	net.Conn
	t        *fastTransport
	port     int
	dialed   [2]int64 // unix ns: connect start and done
	used     atomic.Bool
	closeOne sync.Once
	armed    int64 // the socket's deadline, Unix ns (0: none)
	sent     bool  // a request went out and its response is not read yet
	slack    int64 // how far past a request's deadline armed may be, ns
}

// Deadlines: fasthttp sets a write and a read deadline on the connection
// for every request, ~0.35 µs of timer work each time. The connection
// keeps the socket's deadline a little later than asked (by at most
// deadlineSlack of the time left, and at most a second) and sets it again
// only when a request's deadline falls outside that window: a request
// with a 60 s timeout may run up to a second over it before it is cut,
// and a connection re-arms about once a second instead of twice per
// request. fasthttp calls these from the goroutine that holds the
// connection, one at a time.

// deadlineSlack is the share of a request's time left that its deadline
// may be overshot by.
const deadlineSlack = 16

func (c *fastConn) SetDeadline(t time.Time) error      { return c.setDeadline(t) }
func (c *fastConn) SetReadDeadline(t time.Time) error  { return c.setDeadline(t) }
func (c *fastConn) SetWriteDeadline(t time.Time) error { return c.setDeadline(t) }

func (c *fastConn) setDeadline(t time.Time) error {
	if t.IsZero() {
		if c.armed == 0 {
			return nil
		}
		c.armed, c.slack = 0, 0
		return c.Conn.SetDeadline(t)
	}
	ns := t.UnixNano()
	if c.armed != 0 && ns <= c.armed && ns >= c.armed-c.slack {
		return nil
	}
	c.slack = min(time.Until(t)/deadlineSlack, time.Second).Nanoseconds()
	c.slack = max(c.slack, 0)
	c.armed = ns + c.slack
	return c.Conn.SetDeadline(time.Unix(0, c.armed))
}

// Write sends a request (fasthttp writes one per Flush); the read after
// it yields first.
func (c *fastConn) Write(p []byte) (int, error) {
	c.sent = true
	return c.Conn.Write(p)
}

// Read reads the response. Its first read after a request yields to the
// other runnable goroutines (VUs) first: a read before the answer came
// fails (EAGAIN) and parks the goroutine on the netpoller, a syscall and
// a wake-up more than a read that finds the answer there; when other VUs
// are runnable, the answer usually is by the time they have run.
func (c *fastConn) Read(p []byte) (int, error) {
	if c.sent {
		c.sent = false
		runtime.Gosched()
	}
	return c.Conn.Read(p)
}

func (c *fastConn) Close() error {
	c.closeOne.Do(func() { c.t.conns.Delete(c.port) })
	return c.Conn.Close()
}

func newFastTransport(o Options, p *Pool) *fastTransport {
	t := &fastTransport{o: o, p: p}
	m := map[string]*fastHost{}
	t.clients.Store(&m)
	return t
}

// host is the client for u's origin, made on first use.
func (t *fastTransport) host(u *url.URL) *fastHost {
	if h, ok := (*t.clients.Load())[u.Host]; ok {
		return h
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.clients.Load()
	if h, ok := old[u.Host]; ok {
		return h
	}
	var h *fastHost
	if proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err == nil && proxy == nil {
		h = &fastHost{hc: t.newHostClient(u)}
	}
	m := make(map[string]*fastHost, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[u.Host] = h
	t.clients.Store(&m)
	return h
}

func (t *fastTransport) newHostClient(u *url.URL) *fasthttp.HostClient {
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	dialer := &net.Dialer{Timeout: t.o.DialTimeout, KeepAlive: t.o.KeepAlive}
	maxConns := t.o.MaxConnsPerHost
	if maxConns <= 0 {
		maxConns = 1 << 20 // uncapped, like net/http's 0
	}
	return &fasthttp.HostClient{
		Addr: addr,
		Dial: func(addr string) (net.Conn, error) {
			start := time.Now().UnixNano()
			c, err := dialer.Dial("tcp", addr)
			if err != nil {
				t.p.dialFails.Add(1)
				return nil, err
			}
			t.p.dials.Add(1)
			fc := &fastConn{Conn: c, t: t, dialed: [2]int64{start, time.Now().UnixNano()}}
			if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
				fc.port = la.Port
				t.conns.Store(fc.port, fc)
			}
			return fc, nil
		},
		MaxConns:                  maxConns,
		MaxConnWaitTimeout:        fastTimeout,
		MaxIdleConnDuration:       t.o.IdleConnTimeout,
		ReadBufferSize:            int(min(t.o.MaxResponseHeaderBytes, 64<<10)),
		MaxResponseBodySize:       fastMaxBody,
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true,
		MaxIdemponentCallAttempts: 2, // one retry of an idempotent request on a kept-alive connection the server closed, as net/http
	}
}

// fastExchange is the engine's per-request state, pooled.
type fastExchange struct {
	req  fasthttp.Request
	resp fasthttp.Response
	rd   bytes.Reader // over resp's body
}

var fastExchanges = sync.Pool{New: func() any { return new(fastExchange) }}

// fastResponse is a response and its body handle, allocated together.
type fastResponse struct {
	http.Response
	body fastBody
}

// fastBody is a response body; its exchange goes back to the pool on the
// first Close. Like any response body, one goroutine reads and closes it.
type fastBody struct{ x *fastExchange }

var errClosedBody = errors.New("http: read on closed response body")

func (b *fastBody) Read(p []byte) (int, error) {
	if b.x == nil {
		return 0, errClosedBody
	}
	return b.x.rd.Read(p)
}

func (b *fastBody) Close() error {
	if b.x == nil {
		return nil
	}
	x := b.x
	b.x = nil
	return x.release()
}

// statusLine is net/http's Response.Status for code.
func statusLine(code int) string {
	switch code {
	case 200:
		return "200 OK"
	case 302:
		return "302 Found"
	case 303:
		return "303 See Other"
	}
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// release gives the connection back and the exchange to the pool.
func (x *fastExchange) release() error {
	x.req.Reset()
	x.resp.Reset()
	x.rd.Reset(nil)
	fastExchanges.Put(x)
	return nil
}

// hostFor is the client for u's origin, or nil when requests to u are
// not this engine's (https, compression, a proxy).
func (t *fastTransport) hostFor(u *url.URL) *fastHost {
	if u.Scheme != "http" || t.o.Compression {
		return nil
	}
	return t.host(u)
}

// roundTrip sends req with fasthttp; ok is false when the request is not
// for this engine (see fastTransport).
func (t *fastTransport) roundTrip(req *http.Request) (resp *http.Response, ok bool, err error) {
	u := req.URL
	h := t.hostFor(u)
	if h == nil {
		return nil, false, nil
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, true, err
	}
	x := fastExchanges.Get().(*fastExchange)
	fr := &x.req
	fr.Header.SetNoDefaultContentType(true)
	fr.Header.SetMethod(req.Method)
	fr.Header.SetRequestURI(u.RequestURI())
	host := req.Host
	if host == "" {
		host = u.Host
	}
	fr.Header.SetHost(host)
	for k, vs := range req.Header {
		for _, v := range vs {
			fr.Header.Add(k, v)
		}
	}
	if len(req.Header["User-Agent"]) == 0 {
		fr.Header.SetUserAgent("Go-http-client/1.1") // what net/http sends: servers see the same client
	}
	if req.Body != nil {
		_, err := io.Copy(fr.BodyWriter(), req.Body)
		req.Body.Close()
		if err != nil {
			x.release()
			return nil, true, err
		}
	}
	hooks, _ := ctx.Value(hooksKey{}).(*Hooks)
	var deadline time.Time
	if hooks != nil {
		if ns := hooks.Deadline.Load(); ns != 0 {
			deadline = time.Unix(0, ns)
		}
	}
	if d, has := ctx.Deadline(); has && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	start := time.Now()
	timeout := fastTimeout
	if !deadline.IsZero() {
		timeout = deadline.Sub(start)
	}
	if timeout <= 0 {
		x.release()
		return nil, true, &fastTimeoutError{fasthttp.ErrTimeout}
	}
	// A timeout, not DoDeadline: that would read the clock once more.
	fr.SetTimeout(timeout)
	err = h.hc.Do(fr, &x.resp)
	if err != nil {
		x.release()
		return nil, true, fastError(err)
	}
	var keep []string
	if hooks != nil {
		keep = hooks.Headers
	}
	if hooks != nil && hooks.Phases != nil {
		t.reportPhases(hooks, start, x.resp.LocalAddr())
	} else {
		t.traceConn(httptrace.ContextClientTrace(ctx), x.resp.LocalAddr())
	}
	x.rd.Reset(x.resp.Body())
	// One allocation for the response and its body handle: the handle
	// forgets the pooled exchange on Close, so a second Close is harmless.
	fr2 := &fastResponse{}
	fr2.body.x = x
	var hdr http.Header
	if keep == nil {
		hdr = fastHeader(&x.resp.Header)
	} else {
		hdr = fastHeaderOnly(&x.resp.Header, keep)
	}
	fr2.Response = http.Response{
		Status:        statusLine(x.resp.StatusCode()),
		StatusCode:    x.resp.StatusCode(),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        hdr,
		Body:          &fr2.body,
		ContentLength: int64(x.resp.Header.ContentLength()),
		Request:       req,
	}
	if fr2.ContentLength < 0 {
		fr2.ContentLength = -1
	}
	return &fr2.Response, true, nil
}

// conn is the connection a response came on (by its local address),
// and whether it had served a request before; c is nil when unknown.
func (t *fastTransport) conn(la net.Addr) (c *fastConn, reused bool) {
	if a, ok := la.(*net.TCPAddr); ok {
		if v, ok := t.conns.Load(a.Port); ok {
			c = v.(*fastConn)
			return c, c.used.Swap(true)
		}
	}
	return nil, true
}

// reportPhases tells hooks what fasthttp lets us see: whether the
// connection was new (and its connect time) and the exchange, whose wait
// for the first byte includes the write (fasthttp writes and reads in
// one call).
func (t *fastTransport) reportPhases(hooks *Hooks, start time.Time, la net.Addr) {
	c, reused := t.conn(la)
	hooks.Served, hooks.Reused = true, reused
	wrote := start.UnixNano()
	if !reused && c != nil {
		hooks.Phases.SetConnect(c.dialed[0], c.dialed[1])
		wrote = max(wrote, c.dialed[1])
	}
	hooks.Phases.SetExchange(wrote, 0) // the first byte: when the exchange ends, as the body came with the head
}

// traceConn reports reuse through httptrace, for callers without Hooks.
func (t *fastTransport) traceConn(trace *httptrace.ClientTrace, la net.Addr) {
	if trace == nil {
		return
	}
	_, reused := t.conn(la)
	if trace.GotConn != nil {
		trace.GotConn(httptrace.GotConnInfo{Reused: reused})
	}
	if trace.WroteRequest != nil {
		trace.WroteRequest(httptrace.WroteRequestInfo{})
	}
}

// fastError maps fasthttp's errors onto what stats.Classify knows.
func fastError(err error) error {
	switch {
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return fmt.Errorf("%w (%w)", io.ErrUnexpectedEOF, err)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return fmt.Errorf("response body over the fasthttp engine's %d MiB (%w)", fastMaxBody>>20, err)
	case errors.Is(err, fasthttp.ErrNoFreeConns), errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
		return &fastTimeoutError{err}
	}
	var small *fasthttp.ErrSmallBuffer
	if errors.As(err, &small) {
		return fmt.Errorf("net/http: server response headers exceeded the engine's read buffer (%w)", err)
	}
	return err
}

// fastTimeoutError is one of fasthttp's timeouts as a net.Error, which
// is how stats.Classify knows net/http's.
type fastTimeoutError struct{ err error }

func (e *fastTimeoutError) Error() string   { return e.err.Error() }
func (e *fastTimeoutError) Unwrap() error   { return e.err }
func (e *fastTimeoutError) Timeout() bool   { return true }
func (e *fastTimeoutError) Temporary() bool { return true }

// fastHeader copies a fasthttp response header into an http.Header with
// few allocations: one string holds every value, one slice every value's
// []string.
func fastHeader(h *fasthttp.ResponseHeader) http.Header {
	var stack [24]headerLine
	pairs := stack[:0]
	size := 0
	for k, v := range h.All() {
		pairs = append(pairs, headerLine{k, v})
		size += len(v)
	}
	hdr := make(http.Header, len(pairs))
	if len(pairs) == 0 {
		return hdr
	}
	buf := make([]byte, 0, size)
	for _, p := range pairs {
		buf = append(buf, p.v...)
	}
	all := unsafeString(buf)
	vals := make([]string, len(pairs))
	off := 0
	for i, p := range pairs {
		vals[i] = all[off : off+len(p.v)]
		off += len(p.v)
		if !repeated(pairs[:i], p.k) {
			hdr[headerKey(p.k)] = vals[i : i+1 : i+1]
			continue
		}
		key := headerKey(p.k)
		hdr[key] = append(hdr[key], vals[i])
	}
	return hdr
}

// fastHeaderOnly is fastHeader for the headers named in keep
// (canonical names): nil when none of them came, so a response without
// Set-Cookie or Location costs no map.
func fastHeaderOnly(h *fasthttp.ResponseHeader, keep []string) http.Header {
	var hdr http.Header
	for k, v := range h.All() {
		for _, name := range keep {
			if len(k) == len(name) && equalFold(k, name) {
				if hdr == nil {
					hdr = make(http.Header, 2)
				}
				hdr[name] = append(hdr[name], string(v))
				break
			}
		}
	}
	return hdr
}

// equalFold is bytes.EqualFold for ASCII header names, without
// converting name.
func equalFold(k []byte, name string) bool {
	for i := range k {
		a, b := k[i], name[i]
		if a != b && a|0x20 != b|0x20 {
			return false
		}
	}
	return true
}

// headerLine is one response header line, in fasthttp's buffers.
type headerLine struct{ k, v []byte }

// repeated reports whether k is the key of one of pairs (a header line
// given more than once, as Set-Cookie): a scan of a few short keys costs
// less than a map look-up per header.
func repeated(pairs []headerLine, k []byte) bool {
	for _, p := range pairs {
		if bytes.Equal(p.k, k) {
			return true
		}
	}
	return false
}

// unsafeString is b as a string without a copy; b must never change after.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// headerKey is the canonical key for k; common names without allocating.
func headerKey(k []byte) string {
	switch string(k) {
	case "Content-Type":
		return "Content-Type"
	case "Content-Length":
		return "Content-Length"
	case "Set-Cookie":
		return "Set-Cookie"
	case "Location":
		return "Location"
	case "Date":
		return "Date"
	case "Server":
		return "Server"
	case "Connection":
		return "Connection"
	case "Cache-Control":
		return "Cache-Control"
	case "Last-Modified":
		return "Last-Modified"
	case "Etag", "ETag":
		return "Etag"
	case "Accept-Ranges":
		return "Accept-Ranges"
	case "Expires":
		return "Expires"
	case "Pragma":
		return "Pragma"
	case "Vary":
		return "Vary"
	case "Keep-Alive":
		return "Keep-Alive"
	case "Transfer-Encoding":
		return "Transfer-Encoding"
	}
	return http.CanonicalHeaderKey(string(k))
}
