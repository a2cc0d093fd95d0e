package vuser

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/stats"
)

// The VU sends its requests on the pool's RoundTripper itself rather than
// through an http.Client: the client costs ~2 µs and ~16 allocations per
// request (a deadline context and timer, a jar look-up, header copies, the
// redirect loop), and the VU decides every redirect anyway. What the
// client did and the VU now does, the same way: cookies from the jar
// (cached per URL until the jar changes or a cookie expires) and
// Set-Cookie back into it on every hop; redirects as net/http follows
// them (method, body, headers, Referer, at most 10); the timeout over the
// whole exchange, body included.

// maxRedirects is net/http's default redirect limit.
const maxRedirects = 10

// timeoutError is a request that ran past Script.Timeout: a timeout for
// stats.Classify (not a cancellation, which is what the VU's context
// reports when its timer cancels it).
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// Is makes errors.Is(err, context.DeadlineExceeded) hold, as it does for
// http.Client's own timeout.
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// errTimedOut is the cause the VU's timer cancels its context with.
var errTimedOut = errors.New("request timeout")

// reqContext is the VU's request context under parent (compared by ==:
// contexts are pointers in practice), with the VU's trace and hooks on
// it, and its timer armed for Script.Timeout when arm is set. The context
// lives as long as the VU (a new one only when the parent changed or the
// timer fired), so a request costs a timer Reset, not a context, a timer
// and a trace context. arm is false for requests an engine bounds by the
// hooks' deadline itself (pool.HookDeadliner): they cost no timer at all.
// Call disarm when the exchange is over.
func (v *VU) reqContext(parent context.Context, now time.Time, arm bool) context.Context {
	t := v.env.script.Timeout
	if t > 0 {
		v.hooks.Deadline.Store(now.Add(t).UnixNano())
	}
	if v.rctx == nil || v.parent != parent || v.rctx.Err() != nil {
		v.dropContext()
		c, cancel := context.WithCancelCause(parent)
		v.rctx = pool.WithHooks(httptrace.WithClientTrace(c, &v.trace), &v.hooks)
		if v.debug == nil {
			v.hooks.Headers = v.env.respHeaders // the debug dump shows them all
		}
		v.parent, v.cancel = parent, cancel
	}
	if t > 0 && arm {
		v.arm(t)
	}
	return v.rctx
}

// arm starts the VU's timer to cancel the request context after d.
func (v *VU) arm(d time.Duration) {
	if v.deadline == nil {
		cancel := v.cancel // the timer cancels this context, never a later one
		v.deadline = time.AfterFunc(d, func() { cancel(errTimedOut) })
	} else {
		v.deadline.Reset(d)
	}
	v.armed = true
}

// armLeft arms the timer for what is left of the request's timeout, if it
// is not armed already: for a request whose engine bounds it by the
// hooks' deadline but that must first wait, cancellably, for something
// else (a gate slot, or a redirect to another engine).
func (v *VU) armLeft() {
	if v.armed || v.env.script.Timeout <= 0 {
		return
	}
	v.arm(max(time.Until(time.Unix(0, v.hooks.Deadline.Load())), 0))
}

// disarm stops the timer after an exchange; a timer that fired (or is
// firing) leaves the context to be replaced before the next request.
func (v *VU) disarm() {
	if !v.armed {
		return
	}
	v.armed = false
	if !v.deadline.Stop() {
		v.dropContext()
	}
}

// enterTimed is enter for a request: when no slot is free, the wait counts
// against the request's timeout, so the timer is armed for it.
func (v *VU) enterTimed(rctx context.Context) (bool, error) {
	if v.env.gate == nil || v.admitted {
		return false, nil
	}
	if v.env.gate.TryEnter() {
		v.admitted = true
		return true, nil
	}
	v.armLeft()
	return v.enter(rctx)
}

// dropContext cancels the VU's request context (unlinking it from its
// parent) and forgets it.
func (v *VU) dropContext() {
	if v.cancel != nil {
		v.cancel(context.Canceled)
	}
	if v.deadline != nil {
		v.deadline.Stop()
	}
	v.rctx, v.parent, v.cancel, v.deadline, v.armed = nil, nil, nil, nil, false
}

// timedOut turns err into a timeout error when the VU's timer cut the
// request short.
func (v *VU) timedOut(ctx context.Context, method string, u *url.URL, err error) error {
	if err == nil || context.Cause(ctx) != errTimedOut {
		return err
	}
	return &url.Error{Op: urlOp(method), URL: u.Redacted(), Err: &timeoutError{
		msg: fmt.Sprintf("%v (timeout %s exceeded)", err, v.env.script.Timeout)}}
}

// urlOp is the Op of a *url.Error for method, as http.Client writes it
// ("Get", "Post").
func urlOp(method string) string {
	if method == "" {
		return "Get"
	}
	return method[:1] + strings.ToLower(method[1:])
}

// do is doURL for a URL string.
func (v *VU) do(ctx context.Context, r *result, id int, intended time.Time, method, rawURL string, hdr http.Header, body []byte) {
	u, err := url.Parse(rawURL)
	if err != nil {
		now := time.Now()
		*r = result{id: id, intended: intended, out: int64(len(body)), start: now, end: now, kind: stats.Other, err: err}
		return
	}
	v.doURL(ctx, r, id, intended, method, u, hdr, body)
}

// doURL sends one request for endpoint id to u (read only: it may be
// shared), follows redirects as the VU decides, and reads the body (up to
// MaxBody into v.body; the rest is counted and discarded). The caller
// records the result (written to r: a result is large, and a VU's
// goroutine stack must stay under 8 KiB) with commit once it has judged it.
func (v *VU) doURL(ctx context.Context, r *result, id int, intended time.Time, method string, u *url.URL, hdr http.Header, body []byte) {
	*r = result{id: id, intended: intended, out: int64(len(body))}
	// The timeout and the latency count the wait for a slot, as they
	// counted the wait for a connection inside the transport.
	r.start = time.Now()
	rctx := v.reqContext(ctx, r.start, !v.hookBound(u))
	defer v.disarm()
	if took, err := v.enterTimed(rctx); err != nil {
		r.end = time.Now()
		r.err = v.timedOut(rctx, method, u, err)
		r.kind = stats.Classify(r.err)
		return
	} else if took {
		defer v.leave()
	}
	v.reuse = false
	v.tr.Reset()
	rejected := v.jar.rejected
	rewriting := v.env.session.URLRewriting
	if rewriting {
		u = v.rewriteURL(u)
	}
	resp, err := v.roundTrips(rctx, r.start, method, u, v.firstHeader(hdr), body)
	if err != nil {
		r.end, r.kind, r.err, r.reused = time.Now(), stats.Classify(err), err, v.reuse
		r.phases = v.tr.Phases(r.end)
		return
	}
	n, rerr := v.readBody(resp.Body)
	resp.Body.Close()
	r.end, r.in, r.reused = time.Now(), n, v.reuse
	r.phases = v.tr.Phases(r.end)
	r.status, r.header, r.url = resp.StatusCode, resp.Header, resp.Request.URL
	r.first, r.firstLoc = v.hop0Status, v.hop0Loc
	if rewriting {
		v.findRewrittenID(r.url.Path)
		if i := bytes.Index(v.body, []byte(v.env.rewriteParam)); i >= 0 {
			v.findRewrittenID(string(v.body[i:min(len(v.body), i+len(v.env.rewriteParam)+128)]))
		}
	}
	sc := resp.Header["Set-Cookie"]
	for _, c := range sc {
		if strings.HasPrefix(c, v.env.cookiePrefix) {
			r.setsCookie = true
		}
	}
	if len(sc) > 0 && droppedSetCookie(sc) {
		rejected-- // net/http dropped some without a word; a browser would too
	}
	switch {
	case rerr != nil:
		rerr = v.timedOut(rctx, resp.Request.Method, r.url, rerr)
		r.kind, r.err = stats.Classify(rerr), rerr
	case v.env.sessionRejected(r.status, v.body):
		r.kind = stats.SessionRejected
	default:
		r.kind = stats.StatusKind(r.status)
	}
	if r.kind == stats.OK && v.jar.rejected != rejected {
		// The page came, but a cookie the app meant the user to keep did
		// not: the app would misbehave in a browser too.
		r.kind = stats.CookieRejected
	}
}

// hookBound reports whether the pool bounds requests to u by the hooks'
// deadline itself (the fasthttp engine), so that the VU's timer can stay
// unarmed for them.
func (v *VU) hookBound(u *url.URL) bool {
	return v.env.hookDeadlines != nil && v.env.hookDeadlines.HookDeadlines(u)
}

// firstHeader fills the VU's reused header map for a request: the
// script's headers, then the step's (hdr), then the credentials.
//
// The map is reused only once the transport is known to be done with it:
// the last request either got no connection (nothing was written) or its
// write finished (WroteRequest). A server that answers before reading
// the request can leave the transport writing it after the response came
// (Go issue 7569); the VU then starts a new map.
func (v *VU) firstHeader(hdr http.Header) http.Header {
	if v.hdr == nil || v.writing.Load() {
		v.hdr = make(http.Header, len(v.env.staticHeaders)+len(v.env.tmplHeaders)+len(hdr)+2)
	} else {
		clear(v.hdr)
	}
	h := v.hdr
	for k, vals := range v.env.staticHeaders {
		h[k] = vals
	}
	for _, th := range v.env.tmplHeaders {
		h.Set(th.Name, th.Value.Render(&v.data))
	}
	for k, vals := range hdr {
		h[k] = vals
	}
	switch {
	case v.token != "":
		h.Set("Authorization", "Bearer "+v.token)
	case v.basicAuth != "":
		h["Authorization"] = v.basicAuthHdr
	}
	return h
}

// roundTrips sends the request and its redirects; the response returned
// is the last one, its body unread. now is the time the exchange began
// (for cookie expiry).
func (v *VU) roundTrips(ctx context.Context, now time.Time, method string, u *url.URL, h http.Header, body []byte) (*http.Response, error) {
	first, h0 := u, h
	userCookie := h.Get("Cookie") // a Cookie header the step set itself
	var prev *url.URL
	strip := false // once credentials are dropped on a redirect, they stay dropped (as http.Client)
	for hops := 0; ; hops++ {
		if hops > 0 {
			strip = strip || first.Host != u.Host && !isDomainOrSubdomain(u.Hostname(), first.Hostname())
			if strip {
				userCookie = ""
			}
			h = redirectHeader(prev, u, h0, strip, body == nil)
		}
		if hops > 0 && !v.hookBound(u) {
			v.armLeft() // this hop goes to an engine that needs the timer
		}
		v.addCookies(h, u, userCookie, now)
		if u.User != nil && h.Get("Authorization") == "" {
			pw, _ := u.User.Password()
			h["Authorization"] = []string{"Basic " + basicAuth(u.User.Username(), pw)}
		}
		req := newRequest(ctx, method, u, h, body)
		if v.writing.Load() { // a load, not a store: the store is a locked instruction on every request
			v.writing.Store(false)
		}
		v.hooks.Served = false
		resp, err := v.rt.RoundTrip(req)
		if v.hooks.Served {
			v.reuse = v.hooks.Reused // the fasthttp engine reports it here, not through v.trace
		}
		if err != nil {
			return nil, v.timedOut(ctx, method, u, err)
		}
		if sc := resp.Header["Set-Cookie"]; len(sc) > 0 {
			if cs := resp.Cookies(); len(cs) > 0 {
				v.jar.SetCookies(u, cs)
			}
		}
		if hops == 0 {
			v.hop0Status, v.hop0Loc = resp.StatusCode, ""
			if resp.StatusCode >= 300 && resp.StatusCode < 400 {
				v.hop0Loc = resp.Header.Get("Location")
			}
		}
		if v.env.session.URLRewriting {
			v.findRewrittenID(resp.Header.Get("Location"))
		}
		next, nextMethod, keepBody, err := v.redirect(resp, method, hops, body != nil)
		if err != nil || next == nil {
			if err != nil {
				resp.Body.Close()
				return nil, &url.Error{Op: urlOp(method), URL: u.Redacted(), Err: err}
			}
			return resp, nil
		}
		// Read a little so a short body lets the connection be reused,
		// as http.Client does.
		if resp.ContentLength == -1 || resp.ContentLength <= 2<<10 {
			io.CopyN(io.Discard, resp.Body, 2<<10)
		}
		resp.Body.Close()
		if !keepBody {
			body = nil
		}
		prev, u, method = u, next, nextMethod
	}
}

// newRequest is an outgoing request. Not inlined, so that the Request
// it builds on its stack before WithContext copies it to the heap (one
// allocation, not two) is not on the VU's stack during the round trip.
//
//go:noinline
func newRequest(ctx context.Context, method string, u *url.URL, h http.Header, body []byte) *http.Request {
	req := http.Request{Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Host: u.Host}
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		// GetBody lets the transport resend the body on a fresh
		// connection when a kept-alive one was closed before any of it
		// went out, and lets the debug dump show it.
		req.GetBody = bodyGetter(body)
	}
	return req.WithContext(ctx)
}

// bodyGetter is a request's GetBody for body. A function of its own so
// that only requests with a body pay for the closure.
func bodyGetter(body []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
}

// redirect decides whether to follow resp, as http.Client with the VU's
// rules: not while noFollow, not to the login page once logged in (the
// caller sees the 302 and logs in again instead of fetching the form for
// nothing), at most maxRedirects. next is nil to stop at resp.
func (v *VU) redirect(resp *http.Response, method string, hops int, hasBody bool) (next *url.URL, nextMethod string, keepBody bool, err error) {
	switch resp.StatusCode {
	case 301, 302, 303:
		nextMethod = method
		if method != http.MethodGet && method != http.MethodHead {
			nextMethod = http.MethodGet
		}
	case 307, 308:
		nextMethod, keepBody = method, hasBody
	default:
		return nil, "", false, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, "", false, nil
	}
	next, err = resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, "", false, fmt.Errorf("failed to parse Location header %q: %v", loc, err)
	}
	if v.noFollow {
		return nil, "", false, nil
	}
	if lu := v.env.loginURL; lu != nil && v.loggedIn && next.Host == lu.Host && next.Path == lu.Path {
		return nil, "", false, nil
	}
	if hops+1 >= maxRedirects {
		return nil, "", false, errors.New("stopped after 10 redirects")
	}
	return next, nextMethod, keepBody, nil
}

// redirectHeader is the header of a redirect from prev to u: the first
// request's (h), less the credentials when strip (the redirects left the first
// request's domain), less the body's when the body was dropped, with the
// Referer http.Client would add.
func redirectHeader(prev, u *url.URL, h http.Header, strip, noBody bool) http.Header {
	nh := make(http.Header, len(h)+1)
	for k, vals := range h {
		switch k {
		case "Cookie":
			continue // from the jar again, for the new URL
		case "Authorization", "Www-Authenticate", "Cookie2", "Proxy-Authorization", "Proxy-Authenticate":
			if strip {
				continue
			}
		case "Content-Encoding", "Content-Language", "Content-Location", "Content-Type":
			if noBody {
				continue
			}
		}
		nh[k] = vals
	}
	if !(prev.Scheme == "https" && u.Scheme == "http") && nh.Get("Referer") == "" {
		ref := *prev
		ref.User = nil
		nh.Set("Referer", ref.String())
	}
	return nh
}

// isDomainOrSubdomain reports whether sub is parent or a subdomain of it.
func isDomainOrSubdomain(sub, parent string) bool {
	if sub == parent {
		return true
	}
	if strings.ContainsAny(sub, ":%") || net.ParseIP(parent) != nil {
		return false
	}
	return strings.HasSuffix(sub, "."+parent)
}

// addCookies sets h's Cookie header: the step's own Cookie header, if any,
// then the jar's cookies for u, as http.Client's AddCookie would.
func (v *VU) addCookies(h http.Header, u *url.URL, userCookie string, now time.Time) {
	jc := v.jar.header(u, now)
	switch {
	case jc == nil && userCookie == "":
		delete(h, "Cookie")
	case jc == nil:
		h["Cookie"] = []string{userCookie}
	case userCookie == "":
		h["Cookie"] = jc
	default:
		h["Cookie"] = []string{userCookie + "; " + jc[0]}
	}
}

// rewriteURL is u with the VU's URL-rewritten session id as a path
// parameter (u itself if it has one already, or the VU has none).
func (v *VU) rewriteURL(u *url.URL) *url.URL {
	if v.rewriteID == "" || strings.Contains(u.Path, ";") {
		return u
	}
	nu := *u
	nu.Path += v.env.rewriteParam[:len(v.env.rewriteParam)-1] + "=" + v.rewriteID
	nu.RawPath = ""
	return &nu
}

// findRewrittenID takes the session id of the first ";jsessionid=" in s
// (a Location, a path, a page's links and forms) as the VU's.
func (v *VU) findRewrittenID(s string) {
	i := strings.Index(s, v.env.rewriteParam)
	if i < 0 {
		return
	}
	s = s[i+len(v.env.rewriteParam):]
	n := 0
	for n < len(s) && isIDByte(s[n]) {
		n++
	}
	if n > 0 && s[:n] != v.rewriteID {
		v.rewriteID = s[:n]
		if v.debug != nil {
			v.debug.remember(v.rewriteID)
		}
	}
}

// isIDByte reports whether c may be part of a session id in a URL
// (Tomcat's are hex with an optional .jvmRoute).
func isIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
}

// basicAuth is the credentials of an Authorization: Basic header.
func basicAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}
