package pool

import (
	"bufio"
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
	"syscall"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// Engines a pool can send plain http:// requests with.
const (
	EngineFastHTTP     = "fasthttp" // the default: github.com/valyala/fasthttp's HostClient connections
	EngineNetHTTP      = "nethttp"  // net/http's Transport
	EngineNetHTTPAlias = "net/http" // EngineNetHTTP's former spelling, still accepted
)

// Why a second engine: on 2 cores, net/http's connection machinery (a
// read and a write goroutine per connection, channel hand-offs, a
// context, a timer and ~45 allocations per request) costs ~15 µs of the
// ~24 µs a logged-in VU's request takes; this engine sends on the
// caller's goroutine with reused request and response objects, on
// fasthttp's connection pool. The VU's logic (cookies, redirects,
// sessions, checks) stays the same: this engine is an http.RoundTripper.
//
// It takes plain http:// requests without a proxy; https (TLS edge
// cases, HTTP/2), proxied requests and gzip (Options.Compression) go to
// net/http. What net/http does, it does the same way:
//   - a response body is streamed from the connection as the caller
//     reads it (the VU keeps MaxBody and counts the rest), never held
//     whole; a body closed before its end closes its connection;
//   - a request's context ending (a run's abort, the VU's timer) closes
//     the connection of the request in flight, so that its read or write
//     returns at once with the context's cause (see fastWatch). A dial in
//     progress or a wait for a free connection (MaxConnsPerHost) sees it
//     once it has its connection (they are bounded by DialTimeout and the
//     request's deadline);
//   - response headers up to MaxResponseHeaderBytes: a connection's read
//     buffer holds 64 KiB, a longer head is read again through a buffer
//     of the cap (that connection is then not reused), and one over the
//     cap fails with net/http's error (header_too_large);
//   - a connection idle for staleAfter is checked before it is used (the
//     server may have closed it, as net/http's pending read on every idle
//     connection notices), and a replayable request that failed on a
//     reused connection before any byte of the response came is sent
//     again on another one, as net/http does.
//
// A request is bounded by its context's deadline or Hooks.Deadline (or
// fastTimeout), and its head by ResponseHeaderTimeout too, through the
// connection's deadline.

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

	// watch is the cancellation watch of the context the requests came
	// with lately: one per context, not one per request (see watchFor).
	watch *fastWatch
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

// fastReadBuffer is a connection's read buffer: what a response head
// must fit in to be read without a second buffer.
const fastReadBuffer = 64 << 10

// fastWatch closes the connection of the request in flight under ctx
// when ctx is done: fasthttp has no cancellation, and a closed
// connection ends whatever read or write the request is blocked in. A
// VU's context lives for many requests, so its watch (kept in its Hooks)
// costs one context.AfterFunc per context, and a request two atomic
// swaps.
type fastWatch struct {
	ctx  context.Context
	stop func() bool
	conn atomic.Pointer[fastConn] // the request's connection while it is in flight
}

// fire closes the connection in flight, if any. Whoever swaps conn to
// nil first owns it: the request, to give it back; or fire, to close it.
func (w *fastWatch) fire() {
	if c := w.conn.Swap(nil); c != nil {
		c.Conn.Close()
	}
}

// watchFor is the watch of ctx (nil when ctx cannot end): the one in h
// if it watches ctx already, else a new one, kept in h. own is set when
// there is no h to keep it: the caller stops it after the request.
func watchFor(ctx context.Context, h *Hooks) (w *fastWatch, own bool) {
	if ctx.Done() == nil {
		return nil, false
	}
	if h != nil && h.watch != nil && h.watch.ctx == ctx {
		return h.watch, false
	}
	w = &fastWatch{ctx: ctx}
	w.stop = context.AfterFunc(ctx, w.fire)
	if h == nil {
		return w, true
	}
	if h.watch != nil {
		h.watch.stop() // its context is done with; no request is in flight under it
	}
	h.watch = w
	return w, false
}

// fastTransport is the fasthttp engine. It is safe for concurrent use.
type fastTransport struct {
	o Options
	p *Pool
	// idleCap is MaxIdleConnsPerHost when an origin can have more
	// connections than that, else 0: there can be no more idle ones, and
	// counting them costs a lock.
	idleCap int
	mu      sync.Mutex
	clients atomic.Pointer[map[string]*fastHost] // copy on write: read without a lock
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
	dialed [2]int64 // unix ns: connect start and done
	used   atomic.Bool
	armed  int64 // the socket's deadline, Unix ns (0: none)
	sent   bool  // a request went out and its response is not read yet
	slack  int64 // how far past a request's deadline armed may be, ns
}

// Deadlines: a request sets a write and a read deadline on its
// connection, ~0.35 µs of timer work each time. The connection keeps the
// socket's deadline a little later than asked (by at most deadlineSlack
// of the time left, and at most a second) and sets it again only when a
// request's deadline falls outside that window: a request with a 60 s
// timeout may run up to a second over it before it is cut, and a
// connection re-arms about once a second instead of twice per request.
// They are called from the goroutine that holds the connection, one at a
// time.

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

// Write sends a request (one per Flush); the read after it yields first.
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

func newFastTransport(o Options, p *Pool) *fastTransport {
	t := &fastTransport{o: o, p: p}
	if o.MaxConnsPerHost <= 0 || o.MaxConnsPerHost > o.MaxIdleConnsPerHost {
		t.idleCap = o.MaxIdleConnsPerHost
	}
	m := map[string]*fastHost{}
	t.clients.Store(&m)
	return t
}

// closeIdle closes every origin's idle connections.
func (t *fastTransport) closeIdle() {
	for _, h := range *t.clients.Load() {
		if h != nil {
			h.hc.CloseIdleConnections()
		}
	}
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
			return &fastConn{Conn: c, dialed: [2]int64{start, time.Now().UnixNano()}}, nil
		},
		MaxConns:                 maxConns,
		MaxConnWaitTimeout:       fastTimeout,
		MaxIdleConnDuration:      t.o.IdleConnTimeout,
		ReadBufferSize:           int(min(t.o.MaxResponseHeaderBytes, fastReadBuffer)),
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true,
	}
}

// fastExchange is the engine's per-request state, pooled.
type fastExchange struct {
	req  fasthttp.Request
	resp fasthttp.Response
	hc   *fasthttp.HostClient
	ctx  context.Context
	w    *fastWatch // nil: the context cannot end
	own  bool       // w is this request's own, to stop after it
	cc   any        // fasthttp's *clientConn (an unexported type) for conn
	conn *fastConn
	br   *bufio.Reader // conn's pooled reader
	big  *bufio.Reader // the reader of a head over br's size; the connection is not reused after
	eof  bool          // the body was read to its end
	n    int64         // bytes of the body read
	// timed asks attempt for when the request was written and its head
	// read (Unix ns), for Hooks.Phases.
	timed       bool
	wrote, head int64
	idleCap     int // the idle connections kept, 0: no need to count (see fastTransport.idleCap)
}

var fastExchanges = sync.Pool{New: func() any { return new(fastExchange) }}

// connOps are fasthttp's HostClient methods on its unexported
// *clientConn, typed through inference (C is that type).
func releaseConn[C any](f func(*fasthttp.HostClient, C), hc *fasthttp.HostClient, cc any) {
	f(hc, cc.(C))
}

// fastResponse is a response and its body handle, allocated together.
type fastResponse struct {
	http.Response
	body fastBody
	te   [1]string // TransferEncoding's, when chunked
}

// fastBody is a response body streamed from its connection; the
// connection goes back (or is closed, if the body was not read to its
// end) and the exchange to the pool on the first Close. Like any
// response body, one goroutine reads and closes it.
type fastBody struct{ x *fastExchange }

var errClosedBody = errors.New("http: read on closed response body")

func (b *fastBody) Read(p []byte) (int, error) {
	x := b.x
	if x == nil {
		return 0, errClosedBody
	}
	if x.eof {
		return 0, io.EOF
	}
	s := x.resp.BodyStream()
	if s == nil { // a response without a body (HEAD, 204, 304)
		x.eof = true
		return 0, io.EOF
	}
	n, err := s.Read(p)
	x.n += int64(n)
	switch {
	case err == io.EOF:
		x.eof = true
	case err != nil:
		err = ctxError(x.ctx, bodyError(err))
	}
	return n, err
}

func (b *fastBody) Close() error {
	if b.x == nil {
		return nil
	}
	x := b.x
	b.x = nil
	if s := x.resp.BodyStream(); !x.eof && s != nil {
		// What is left of a known-length body, if it has come already,
		// is read from the buffer (no wait, no syscall): the connection
		// can then be reused.
		r := x.br
		if x.big != nil {
			r = x.big
		}
		if cl := int64(x.resp.Header.ContentLength()); cl >= 0 && cl-x.n <= int64(r.Buffered()) {
			if _, err := io.Copy(io.Discard, s); err == nil {
				x.eof = true
			}
		}
	}
	x.finish(x.eof && !x.resp.ConnectionClose() && !x.req.ConnectionClose())
	return nil
}

// bodyError is a body read's error as net/http's: a fasthttp
// timeout is a net.Error that says so.
func bodyError(err error) error {
	if errors.Is(err, fasthttp.ErrTimeout) {
		return &fastTimeoutError{err}
	}
	return err
}

// ctxError is err, or the cause of ctx's end when ctx is done: the
// request failed because its connection was closed for that.
func ctxError(ctx context.Context, err error) error {
	if ctx != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
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

// finish ends the exchange: its connection goes back to the pool when
// keep and the watch did not close it, else it is closed; the exchange
// goes back to its pool.
func (x *fastExchange) finish(keep bool) {
	x.resp.CloseBodyStream() // before its reader goes back
	if x.cc != nil {
		if x.br != nil {
			x.hc.ReleaseReader(x.br)
		}
		if x.w != nil && x.w.conn.Swap(nil) == nil {
			keep = false // the watch closed it: the context ended
		}
		x.giveBack(keep && x.big == nil)
	}
	if x.own {
		x.w.stop()
	}
	x.req.Reset()
	x.resp.Reset()
	x.hc, x.ctx, x.w, x.own, x.cc, x.conn, x.br, x.big, x.eof = nil, nil, nil, false, nil, nil, nil, nil, false
	x.timed, x.wrote, x.head, x.n, x.idleCap = false, 0, 0, 0, 0
	fastExchanges.Put(x)
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
	if ctx.Err() != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, true, context.Cause(ctx)
	}
	x := fastExchanges.Get().(*fastExchange)
	x.hc, x.ctx, x.idleCap = h.hc, ctx, t.idleCap
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
	if req.Close {
		fr.SetConnectionClose()
	}
	if len(req.Header["User-Agent"]) == 0 {
		fr.Header.SetUserAgent("Go-http-client/1.1") // what net/http sends: servers see the same client
	}
	if req.Body != nil {
		_, err := io.Copy(fr.BodyWriter(), req.Body)
		req.Body.Close()
		if err != nil {
			x.finish(false)
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
	if deadline.IsZero() {
		deadline = time.Now().Add(fastTimeout)
	}
	x.w, x.own = watchFor(ctx, hooks)
	x.timed = hooks != nil && hooks.Phases != nil
	reused, err := t.do(x, deadline)
	if err != nil {
		x.finish(false)
		return nil, true, err
	}
	var keep []string
	if hooks != nil {
		keep = hooks.Headers
	}
	if x.timed {
		hooks.Served, hooks.Reused = true, reused
		if !reused {
			hooks.Phases.SetConnect(x.conn.dialed[0], x.conn.dialed[1])
		}
		// The first byte: when the head was read, the body streaming after.
		hooks.Phases.SetExchange(x.wrote, x.head)
	} else if trace := httptrace.ContextClientTrace(ctx); trace != nil {
		if trace.GotConn != nil {
			trace.GotConn(httptrace.GotConnInfo{Reused: reused})
		}
		if trace.WroteRequest != nil {
			trace.WroteRequest(httptrace.WroteRequestInfo{})
		}
	}
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
		Close:         x.resp.ConnectionClose(),
		Request:       req,
	}
	if !x.resp.Header.IsHTTP11() {
		fr2.Proto, fr2.ProtoMinor = "HTTP/1.0", 0
	}
	switch {
	case x.resp.BodyStream() == nil && req.Method != http.MethodHead:
		fr2.ContentLength = 0 // a status without a body (204, 304), as net/http says
	case fr2.ContentLength == -1:
		fr2.te[0] = "chunked"
		fr2.TransferEncoding = fr2.te[:]
	case fr2.ContentLength < 0:
		fr2.ContentLength = -1 // until the connection closes
	}
	return &fr2.Response, true, nil
}

// do sends x's request and reads its response's head by deadline,
// trying a second connection when a reused one turned out closed; reused
// tells whether the connection that answered had served a request
// before.
func (t *fastTransport) do(x *fastExchange, deadline time.Time) (reused bool, err error) {
	for attempt := 1; ; attempt++ {
		var retry bool
		reused, retry, err = t.attempt(x, deadline)
		if err == nil {
			return reused, nil
		}
		// Each retry closed a reused connection: a new one ends the
		// loop, maxAttempts bounds it anyway.
		if !retry || attempt >= maxAttempts || x.ctx.Err() != nil {
			return reused, ctxError(x.ctx, fastError(err))
		}
	}
}

// maxAttempts bounds the tries of a request on connections the server
// turned out to have closed.
const maxAttempts = 8

// staleAfter is how long a connection sits idle before a request checks
// that the server has not closed it (one syscall): servers' keep-alive
// timeouts are seconds; a connection closed sooner fails its request,
// and a GET is sent again.
const staleAfter = time.Second

// attempt is one try of do on one connection. retry is set when the
// failure allows another try: the connection was reused, and it failed
// on the write or before the first byte of the response, for a request
// net/http would replay.
func (t *fastTransport) attempt(x *fastExchange, deadline time.Time) (reused, retry bool, err error) {
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return false, false, fasthttp.ErrTimeout
	}
	hc, fr, resp := x.hc, &x.req, &x.resp
	cc, err := hc.AcquireConn(timeout, fr.ConnectionClose())
	if err != nil {
		return false, false, err
	}
	c := cc.Conn().(*fastConn) // hc dials only with Dial above
	// A connection idle a while may have been closed by the server (its
	// keep-alive timeout): then take the next one, or a new one.
	for c.used.Load() && time.Since(cc.LastUseTime()) >= staleAfter && c.peerClosed() {
		releaseConn((*fasthttp.HostClient).CloseConn, hc, cc)
		if timeout = time.Until(deadline); timeout <= 0 {
			return false, false, fasthttp.ErrTimeout
		}
		if cc, err = hc.AcquireConn(timeout, fr.ConnectionClose()); err != nil {
			return false, false, err
		}
		c = cc.Conn().(*fastConn)
	}
	x.cc, x.conn, x.br, x.big = cc, c, nil, nil
	reused = c.used.Swap(true)
	if x.w != nil {
		x.w.conn.Store(c)
		if x.ctx.Err() != nil { // ended before the watch could see this connection
			x.drop(true) // nothing went out: kept, unless the watch closed it
			return reused, false, context.Cause(x.ctx)
		}
	}
	if err := c.SetWriteDeadline(deadline); err != nil {
		x.drop(false)
		return reused, false, err
	}
	bw := hc.AcquireWriter(c)
	err = fr.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err != nil {
		x.drop(false)
		return reused, reused && !isTimeout(err), err
	}
	if x.timed {
		x.wrote = time.Now().UnixNano()
	}
	headBy := deadline
	if rht := t.o.ResponseHeaderTimeout; rht > 0 {
		if by := time.Now().Add(rht); by.Before(deadline) {
			headBy = by
		}
	}
	if err := c.SetReadDeadline(headBy); err != nil {
		x.drop(false)
		return reused, false, err
	}
	resp.Reset()
	resp.StreamBody = true
	resp.SkipBody = fr.Header.IsHead()
	resp.Header.SetNoDefaultContentType(true) // no Content-Type the server did not send
	x.br = hc.AcquireReader(c)
	err = resp.ReadLimitBody(x.br, 0)
	if err != nil && smallBuffer(err) && int64(x.br.Size()) < t.o.MaxResponseHeaderBytes {
		// A head longer than the read buffer: read it again, from what
		// the buffer holds on, through a buffer of the cap.
		x.big = bufio.NewReaderSize(x.br, int(t.o.MaxResponseHeaderBytes))
		resp.Reset()
		resp.StreamBody = true
		resp.SkipBody = fr.Header.IsHead()
		resp.Header.SetNoDefaultContentType(true)
		err = resp.ReadLimitBody(x.big, 0)
	}
	if err != nil {
		if smallBuffer(err) {
			err = fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", t.o.MaxResponseHeaderBytes)
		}
		x.drop(false)
		// Closed while idle: nothing of the response came.
		closed := errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
		return reused, reused && closed && replayable(fr), err
	}
	if !headBy.Equal(deadline) {
		if err := c.SetReadDeadline(deadline); err != nil { // the body's
			x.drop(false)
			return reused, false, err
		}
	}
	if x.timed {
		x.head = time.Now().UnixNano()
	}
	return reused, false, nil
}

// smallBuffer reports whether err is a head that did not fit the read
// buffer. Only for errors: the target escapes.
func smallBuffer(err error) bool {
	var small *fasthttp.ErrSmallBuffer
	return errors.As(err, &small)
}

// drop gives back the connection of a failed attempt: kept if keep
// (nothing went out on it), else closed.
func (x *fastExchange) drop(keep bool) {
	if x.br != nil {
		x.resp.CloseBodyStream()
		x.hc.ReleaseReader(x.br)
	}
	if x.w != nil && x.w.conn.Swap(nil) == nil {
		keep = false
	}
	x.giveBack(keep)
	x.cc, x.conn, x.br, x.big = nil, nil, nil, nil
}

// giveBack returns the connection to its client's idle ones if keep and
// they are fewer than idleCap (Options.MaxIdleConnsPerHost, as net/http
// keeps), else closes it.
func (x *fastExchange) giveBack(keep bool) {
	if keep && x.idleCap > 0 && x.hc.IdleConnsCount() >= x.idleCap {
		keep = false
	}
	if keep {
		releaseConn((*fasthttp.HostClient).ReleaseConn, x.hc, x.cc)
	} else {
		releaseConn((*fasthttp.HostClient).CloseConn, x.hc, x.cc)
	}
}

// replayable reports whether net/http would send req again on a new
// connection: a method without side effects (the body, if any, is kept).
func replayable(req *fasthttp.Request) bool {
	h := &req.Header
	return h.IsGet() || h.IsHead() || h.IsOptions() || h.IsTrace() || len(h.Peek("Idempotency-Key")) > 0
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fastError maps fasthttp's errors onto what stats.Classify knows.
func fastError(err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w (%w)", io.ErrUnexpectedEOF, fasthttp.ErrConnectionClosed)
	case errors.Is(err, fasthttp.ErrNoFreeConns), errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
		return &fastTimeoutError{err}
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
		if hopHeader(k, v) {
			continue
		}
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
		if hopHeader(k, v) {
			continue
		}
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

// hopHeader reports whether the header line k: v is one net/http takes
// out of Response.Header: Transfer-Encoding (into TransferEncoding), and
// a Connection that says close (into Close).
func hopHeader(k, v []byte) bool {
	switch string(k) {
	case "Transfer-Encoding":
		return true
	case "Connection":
		for tok := range bytes.SplitSeq(v, []byte(",")) {
			if bytes.EqualFold(bytes.TrimSpace(tok), []byte("close")) {
				return true
			}
		}
	}
	return false
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
