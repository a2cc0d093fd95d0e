package vuser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/stats"
)

// VU is one virtual user: its own cookie jar, identity and variables, and
// the session it holds across iterations.
//
// A VU is not safe for concurrent use: one goroutine at a time calls its
// methods (Go hands it from one goroutine to the next; see park.go), but
// for Wake, which any goroutine may call.
type VU struct {
	env   *Env
	id    int
	ident Identity
	jar   *jar
	rt    http.RoundTripper // env.rt, or the debug transport
	data  Data
	rng   *rand.Rand
	timer *time.Timer
	sig   Signals

	token        string   // json-token bearer
	basicAuth    string   // precomputed "Basic ..." header
	basicAuthHdr []string // and as a header value
	session      uint64   // hash of the session cookie (or token) at the last login
	sessionVal   string   // the session cookie's value (or URL-rewritten id) the VU holds now
	rewriteID    string   // the URL-rewritten session id (Session.URLRewriting)
	loggedIn     bool
	refused      bool // the server refused this VU a session at least once

	// The login back-off (see backoff). proven: the session of the last
	// login served a request without being lost; pending: a basic
	// login not yet counted established (until a request proves it).
	fails    int         // failed logins and refused new sessions in a row
	proven   bool        //
	pending  bool        //
	started  bool        // the VU's first login was attempted
	relogins []time.Time // when the last ReloginsPerMinute logins after the first began (a ring)
	nextRing int         // the ring's oldest entry once full

	hop0Status int    // the first response of the last exchange (before redirects)
	hop0Loc    string // and its Location, if a redirect
	noFollow   bool   // the current request must not follow redirects
	admitted   bool   // the VU holds a slot of env.gate (see enter)

	body    []byte  // the last response's body (up to MaxBody); from env.bufs, given back by release
	bodyBuf *[]byte // what body came from: pooled as a pointer, so putting it back allocates nothing
	trace   httptrace.ClientTrace
	tr      stats.PhaseTrace // where each request's time went (DNS, connect, TLS, TTFB, body)
	reuse   bool             // set by trace.GotConn for the request in flight

	// Per-request state kept across requests (see exchange.go). rctx is
	// parent plus the trace, cancelled by deadline after Script.Timeout;
	// hdr is the request header map, reused while writing is false.
	rctx     context.Context
	parent   context.Context
	cancel   context.CancelCauseFunc
	deadline *time.Timer
	armed    bool // deadline is running for the request in flight
	hdr      http.Header
	writing  atomic.Bool // the transport may still be writing the last request (GotConn to WroteRequest)
	hooks    pool.Hooks  // on rctx: the deadline and phases for the fasthttp engine

	debug *debugTransport // non-nil for the one VU --debug follows

	run runner // where a VU started with Go stands (park.go), and its iteration

	last       lastSample                // the last step's sample, for the groups it is in
	lastStatus int                       // the status of the last step's response (0: none), for If
	missing    bool                      // an extraction of the last response found nothing (not optional)
	endpoints  map[string]map[string]int // ids Go code named (Do, Group) by scope and name, cached from the Env's
	groups     []goGroup                 // the Go groups (VU.Group) the VU is in, innermost last
	gframes    []frame                   // and their frames
}

// lastSample is what a group needs of a request's sample.
type lastSample struct {
	intended, start, end time.Time
	kind                 stats.Kind
}

// Signals tell a running VU to stop. Either may be nil (never).
type Signals struct {
	// Stop: start no new iteration and no new login attempt; an iteration
	// in progress finishes (think times included).
	Stop <-chan struct{}
	// Abort: stop waiting at once (think times too); the request in
	// flight still completes unless its context is cancelled.
	Abort <-chan struct{}
}

// NewVU makes VU id (global, from 1) with its own cookie jar.
func (e *Env) NewVU(id int, ident Identity, sig Signals) *VU {
	jar := newJar()
	v := &VU{
		env:   e,
		id:    id,
		ident: ident,
		jar:   jar,
		data:  Data{VU: id, User: ident.Username, Password: ident.Password},
		rng:   rand.New(rand.NewPCG(e.seed, uint64(id))),
		sig:   sig,
	}
	v.data.Rand, v.data.Row = v.rng, ident.Row // the VU's seeded draws and its users CSV row, for templates (data.go)
	v.rt = e.rt
	v.tr.Install(&v.trace)
	v.hooks.Phases = &v.tr
	// GotConn runs on the VU's goroutine; WroteRequest on the
	// transport's writer, hence the atomic.
	v.trace.GotConn = func(i httptrace.GotConnInfo) { v.reuse = i.Reused; v.writing.Store(true) }
	wrote := v.trace.WroteRequest
	v.trace.WroteRequest = func(i httptrace.WroteRequestInfo) { wrote(i); v.writing.Store(false) }
	if e.debug != nil && id == e.debugVU {
		v.debug = &debugTransport{rt: e.rt, out: e.debug, vu: v}
		v.debug.remember(ident.Password)
		v.rt = v.debug
	}
	if e.script.Login.Kind == LoginBasic {
		v.basicAuth = "Basic " + basicAuth(ident.Username, ident.Password)
		v.basicAuthHdr = []string{v.basicAuth}
	}
	return v
}

// ID is the VU's global id.
func (v *VU) ID() int { return v.id }

// LoggedIn reports whether the VU holds a session.
func (v *VU) LoggedIn() bool { return v.loggedIn }

// Vars are the VU's variables (extracted values).
func (v *VU) Vars() map[string]string { return v.data.Vars }

// enter takes a slot of the run's gate unless the VU holds one already;
// it reports whether it took one (the caller then calls leave). The VU
// passes the gate before it builds a request, so VUs beyond the gate's
// size wait as parked goroutines, not as requests queued in the
// transport; a login holds its slot from the form to the POST, so logins
// once begun finish ahead of new ones.
func (v *VU) enter(ctx context.Context) (bool, error) {
	if v.env.gate == nil || v.admitted {
		return false, nil
	}
	if err := v.env.gate.Enter(ctx); err != nil {
		return false, err
	}
	v.admitted = true
	return true, nil
}

func (v *VU) leave() {
	v.admitted = false
	v.env.gate.Leave()
}

// result is one exchange as the VU saw it, not yet recorded.
type result struct {
	id         int // endpoint
	intended   time.Time
	start, end time.Time
	in, out    int64
	reused     bool
	status     int
	header     http.Header
	url        *url.URL // final URL
	first      int      // the first response's status (before redirects)
	firstLoc   string   // its Location, if it was a redirect
	kind       stats.Kind
	err        error
	setsCookie bool // a Set-Cookie for the session cookie came back
	phases     stats.Phases
}

// commit records r.
func (v *VU) commit(r *result) {
	s := stats.Sample{
		Endpoint: r.id,
		Intended: r.intended,
		Start:    r.start,
		End:      r.end,
		Status:   r.status,
		Kind:     r.kind,
		BytesIn:  r.in,
		BytesOut: r.out,
		Reused:   r.reused,
		Phases:   r.phases,
	}
	v.env.rec.Record(v.id, &s)
}

// readBody keeps up to MaxBody bytes in v.body and discards the rest.
func (v *VU) readBody(b io.Reader) (int64, error) {
	max := v.env.maxBody
	if v.bodyBuf == nil {
		v.bodyBuf = v.env.getBuf()
		v.body = *v.bodyBuf
	}
	v.body = v.body[:0]
	var n int64
	for {
		if len(v.body) == cap(v.body) && len(v.body) < max {
			grow := min(2*cap(v.body), max)
			nb := make([]byte, len(v.body), grow)
			copy(nb, v.body)
			v.body = nb
		}
		if len(v.body) == max {
			m, err := io.Copy(io.Discard, b)
			return n + m, err
		}
		k, err := b.Read(v.body[len(v.body):cap(v.body)])
		v.body = v.body[:len(v.body)+k]
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// release gives the body buffer back to the run's pool, so an idle VU
// holds none (buffers are most of what a VU would otherwise keep).
func (v *VU) release() {
	if v.bodyBuf != nil {
		*v.bodyBuf = v.body[:0]
		v.env.putBuf(v.bodyBuf)
		v.bodyBuf, v.body = nil, nil
	}
}

// response wraps the last exchange for checks and extraction.
func (v *VU) response(r *result) *Response {
	return &Response{Status: r.status, Header: r.header, Body: v.body, URL: r.url, Jar: v.jar}
}

// sessionCookie is the session cookie's value as the jar holds it for u
// or, with URL rewriting and no such cookie, the URL-rewritten id.
func (v *VU) sessionCookie(u *url.URL) string {
	c := v.jar.value(u, v.env.session.Cookie, time.Now())
	if c == "" && v.env.session.URLRewriting {
		return v.rewriteID
	}
	return c
}

// Run logs in, runs iterations until told to stop, then ends the session.
// next is called before each iteration and returns its intended start
// (zero when unscheduled) and false to stop.
//
// The VU logs in before it asks for its first iteration, so an open-model
// executor hands iterations only to VUs that hold a session.
//
// Run is Go, waited for: it wakes a thinking VU itself when its Abort
// signal closes.
func (v *VU) Run(ctx context.Context, next func() (time.Time, bool)) {
	done := make(chan struct{})
	v.Go(ctx, next, func() { close(done) })
	select {
	case <-done:
		return
	case <-v.sig.Abort:
	}
	v.Wake()
	<-done
}

// Close lets go of what the VU holds between requests (its request
// context, linked to the run's, its timer and header map), as a VU in
// think time does. Run calls it at the end;
// a caller that drives a VU by Login, Iterate and End calls it when done
// with the VU. The VU may still be used after (it makes a new context).
func (v *VU) Close() {
	v.dropContext()
	v.release()
	v.hdr = nil
}

// LoginRetry logs in until it succeeds or the VU is told to stop; it
// reports success. Every attempt but the VU's first goes through the
// back-off (see backoff), so a refused credential is never tried again
// sooner than Session.RetryLogin.
func (v *VU) LoginRetry(ctx context.Context) bool {
	for {
		if !v.backoff(ctx) {
			return false
		}
		err := v.Login(ctx)
		if err == nil {
			return true
		}
		v.fails++
		if v.debug != nil {
			v.debug.note("login failed: %v", err)
		}
		if ctx.Err() != nil {
			return false
		}
	}
}

// backoff waits before a login attempt as the script's back-off says:
// nothing before the VU's first login; then, after n failures in a row
// (failed logins, or new sessions the server refused at once),
// RetryLogin·2ⁿ⁻¹ plus up to half as much jitter, capped at
// RetryLoginMax but never under RetryLogin; and as long as it takes to
// stay within ReloginsPerMinute logins after the first in any minute.
// It reports false, at once, when the run stops or aborts meanwhile.
func (v *VU) backoff(ctx context.Context) bool {
	if !v.started {
		return true // Login marks it
	}
	sess := &v.env.session
	var d time.Duration
	if v.fails > 0 {
		d = sess.RetryLogin << min(v.fails-1, 30)
		if d < 0 || d > sess.RetryLoginMax {
			d = sess.RetryLoginMax
		}
		if d > 1 {
			d += time.Duration(v.rng.Int64N(int64(d)/2 + 1))
		}
		d = max(min(d, sess.RetryLoginMax), sess.RetryLogin)
	}
	now := time.Now()
	if n := sess.ReloginsPerMinute; len(v.relogins) == n {
		d = max(d, v.relogins[v.nextRing].Add(time.Minute).Sub(now))
	}
	if d > 0 {
		if closed(v.sig.Stop) || !v.wait(ctx, d) {
			return false
		}
		now = time.Now()
	}
	if len(v.relogins) < sess.ReloginsPerMinute {
		v.relogins = append(v.relogins, now)
	} else {
		v.relogins[v.nextRing] = now
		v.nextRing = (v.nextRing + 1) % len(v.relogins)
	}
	return true
}

// wait is sleep that also ends when ctx does or the VU is told to stop.
func (v *VU) wait(ctx context.Context, d time.Duration) bool {
	return v.sleepOr(d, v.sig.Stop, ctx.Done()) && ctx.Err() == nil
}

// Iterate runs the scenario once. intended is the iteration's scheduled
// start (zero if none). Each request has its own intended start, as in
// wrk2: the first one's is intended, each later one's the end of the
// request before plus the think time drawn, so a late start counts once
// (in the first request), a late think wake-up or a wait for a slot in
// the request after it, and think times never count.
// When a data source has no row left for the VU, Iterate does nothing
// and DataExhausted reports true from then on.
func (v *VU) Iterate(ctx context.Context, intended time.Time) {
	it := &v.run.it
	if !v.beginIteration(it, intended) {
		return
	}
	v.iterate(ctx, it, false)
}

// iterStep runs request instruction in of it, logging in again if the
// session was lost (as the script allows); false ends the iteration.
func (v *VU) iterStep(ctx context.Context, in *instr, it *iteration) bool {
	if ctx.Err() != nil {
		return false
	}
	due := it.next
	lost := v.step(ctx, in.ep, in.st, due, false)
	if len(it.frames) > 0 {
		v.grouped(it.frames)
	}
	if lost {
		v.sessionLost()
		if !v.env.session.Relogin {
			return false
		}
		v.env.sessions.Relogin()
		if !v.LoginRetry(ctx) {
			return false
		}
		// Retry the step once with the new session, measured from its
		// own send: the lost request's wait is in its own sample, and
		// the login's time in the login's. Lost again, it is an error
		// (unauthorized).
		if !due.IsZero() {
			due = time.Now()
		}
		lost = v.step(ctx, in.ep, in.st, due, true)
		if len(it.frames) > 0 {
			v.grouped(it.frames)
		}
		if lost {
			v.sessionLost()
			return false
		}
	}
	it.sent(v.last.end)
	// No request goes out with a variable an extraction did not find.
	return !v.missing
}

// sessionLost books the loss of the VU's session: expired if it was
// established; for a basic login never proven, a login failure (the
// server refused the credentials). A session lost before it served any
// request counts as a failure for the back-off.
func (v *VU) sessionLost() {
	if v.pending {
		v.pending = false
		v.env.sessions.LoginFailed()
	} else {
		v.env.sessions.Expired()
	}
	if !v.proven {
		v.fails++
	}
	v.loggedIn = false
}

// prove marks the VU's session as working: it served a request. The
// back-off starts again from RetryLogin; a basic login is established.
func (v *VU) prove() {
	v.proven, v.fails = true, 0
	if v.pending {
		v.pending = false
		v.env.sessions.Established(v.session, false)
	}
}

// thinkTime draws a pause as t says.
func (v *VU) thinkTime(t *Think) time.Duration {
	d := t.Min
	switch {
	case t.Mean > 0:
		d = time.Duration(v.rng.ExpFloat64() * float64(t.Mean))
		if t.Max > 0 {
			d = min(d, t.Max)
		}
	case t.Max > t.Min:
		d += time.Duration(v.rng.Int64N(int64(t.Max - t.Min)))
	}
	return d
}

// lost reports whether r shows that the server dropped the VU's session:
// a 401, a redirect to the login page (or, for tomcat-form, the login
// form shown again), or the session cookie deleted or expired. A new
// session cookie on a normal response is the server rotating the id: the
// session goes on under it (counted as rotated_by_server); the same value
// sent again is nothing.
func (v *VU) lost(r *result) bool {
	if !v.loggedIn || r.err != nil || v.env.script.Login.Kind == LoginNone || v.env.script.Login.Kind == "" {
		return false // no login, no session to lose
	}
	switch {
	case r.status == http.StatusUnauthorized:
		return true
	case r.status >= 300 && r.status < 400 && v.env.loginURL != nil:
		if loc, err := r.url.Parse(r.header.Get("Location")); err == nil && loc.Path == v.env.loginURL.Path {
			return true
		}
	case v.env.loginForm != nil && r.status == http.StatusOK && bytes.Contains(v.body, v.env.loginForm):
		return true
	}
	if v.token != "" || v.sessionVal == "" {
		return false
	}
	if !r.setsCookie && !v.env.session.URLRewriting {
		// Only an expiry can have taken the cookie; most responses set
		// none, so this path reads no clock.
		return v.jar.expires() && !v.jar.holds(v.env.session.Cookie, v.sessionVal, time.Now())
	}
	now := time.Now()
	if v.env.session.URLRewriting && v.jar.value(r.url, v.env.session.Cookie, now) == "" {
		if v.rewriteID != v.sessionVal && v.rewriteID != "" {
			v.rotated(v.rewriteID)
		}
		return false
	}
	if !r.setsCookie {
		return v.jar.expires() && !v.jar.holds(v.env.session.Cookie, v.sessionVal, now)
	}
	// The cookie as it applies to the URL that got the response (Tomcat
	// scopes it to the context path, which need not be the target's).
	switch c := v.jar.value(r.url, v.env.session.Cookie, now); {
	case c == v.sessionVal:
		return false
	case c != "":
		v.rotated(c)
		return false
	default:
		// Deleted, unless it was set for another path than this URL's.
		return !v.jar.holds(v.env.session.Cookie, v.sessionVal, now)
	}
}

// rotated takes id as the VU's session id from now on: the server gave
// the session a new one on a normal response.
func (v *VU) rotated(id string) {
	v.sessionVal, v.session = id, stats.HashID(id)
	v.env.sessions.RotatedByServer()
}

// step renders and sends one step, checks and extracts, and records it. It
// reports whether the response shows the session was lost (the sample is
// then recorded as session_lost, and no check or extraction runs). A
// loss is an error (unauthorized) rather than an event when the step is
// the retry after a re-login, or the session never served a request.
func (v *VU) step(ctx context.Context, id int, st *Step, intended time.Time, retry bool) (lost bool) {
	r, _ := v.stepResult(ctx, id, st, intended)
	v.release()
	lost = r.kind == stats.SessionLost
	if lost && (retry || !v.proven) {
		r.kind = stats.Unauthorized
	}
	v.commit(&r)
	v.noteLast(&r, nil)
	return lost
}

// stepResult is step without recording; ok is false when the step failed.
func (v *VU) stepResult(ctx context.Context, id int, st *Step, intended time.Time) (result, bool) {
	ss := v.env.stepStatic[st]
	hdr := ss.header
	var body []byte
	if hdr == nil && (len(st.Headers) > 0 || len(st.Form) > 0 || st.JSON != nil || st.Body != nil) {
		hdr = http.Header{}
		for _, h := range st.Headers {
			hdr.Set(h.Name, h.Value.Render(&v.data))
		}
	}
	switch {
	case len(st.Form) > 0:
		f := url.Values{}
		for _, fl := range st.Form {
			f.Add(fl.Name, fl.Value.Render(&v.data))
		}
		body = []byte(f.Encode())
		if hdr.Get("Content-Type") == "" {
			hdr.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	case st.JSON != nil:
		body = st.JSON.Append(nil, &v.data)
		if hdr.Get("Content-Type") == "" {
			hdr.Set("Content-Type", "application/json")
		}
	case st.Body != nil:
		body = st.Body.Append(nil, &v.data)
	}
	var r result
	if ss.url != nil {
		v.doURL(ctx, &r, id, intended, st.Method, ss.url, hdr, body)
	} else {
		v.do(ctx, &r, id, intended, st.Method, string(st.Path.Append([]byte(v.env.base), &v.data)), hdr, body)
	}
	err := v.judgeResponse(&r, &st.Check, st.Extract, st.Name)
	return r, err == nil && r.kind == stats.OK
}

// errStepFailed is a response that failed before any check: a transport
// error, a refused or lost session (r.kind says which).
var errStepFailed = errors.New("request failed")

// judgeResponse judges the response of an exchange for step name: a
// refused or lost session (r.kind set, no check or extraction), then the
// check (CheckFailed) and the extractions into the VU's variables
// (ExtractFailed when one finds nothing, not optional); a nil check
// checks nothing. It returns nil,
// errStepFailed, the *CheckError or the *ExtractError.
func (v *VU) judgeResponse(r *result, check *Check, extract []Extractor, name string) error {
	v.missing = false
	if r.err != nil || r.kind == stats.SessionRejected {
		return errStepFailed
	}
	if v.lost(r) {
		r.kind = stats.SessionLost
		return errStepFailed
	}
	if v.loggedIn && !v.proven {
		v.prove()
	}
	resp := v.response(r)
	var failed error
	if check == nil {
		// A Go request without a check: judged by its status alone.
	} else if err := check.EvalWith(resp, &v.data); err != nil {
		failed = err
		if v.debug != nil {
			v.debug.note("step %s: check failed: %v", name, err)
		}
		if r.kind == stats.OK {
			r.kind = stats.CheckFailed
		}
	}
	for i := range extract {
		if err := v.extractInto(&extract[i], resp); err != nil {
			if v.debug != nil {
				v.debug.note("step %s: %v", name, err)
			}
			if failed == nil {
				failed = err
			}
			if r.kind == stats.OK {
				r.kind = stats.ExtractFailed
			}
			v.missing = true
		}
	}
	return failed
}

// End ends the session as the script says: logout or abandon.
func (v *VU) End(ctx context.Context) {
	if !v.loggedIn {
		return
	}
	v.loggedIn = false
	if v.env.session.End == EndLogout && v.env.idLogout != 0 {
		v.env.sessions.Ended()
	}
	if v.env.idLogout == 0 || v.env.session.End != EndLogout {
		return
	}
	v.noFollow = true
	var r result
	v.do(ctx, &r, v.env.idLogout, time.Time{}, http.MethodPost, v.env.base+v.env.session.LogoutPath, nil, nil)
	v.noFollow = false
	v.release()
	v.commit(&r)
}

// Login gets the VU a session as the script's login preset says, and
// books it with the session tracker.
func (v *VU) Login(ctx context.Context) error {
	defer v.release()
	s := v.env.script
	var before string
	var err error
	switch s.Login.Kind {
	case LoginSpringForm, LoginTomcatForm, LoginJSONToken, LoginSteps:
		took, err := v.enter(ctx)
		if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		if took {
			defer v.leave()
		}
	}
	v.started, v.proven, v.pending, v.sessionVal = true, false, false, ""
	if v.env.session.URLRewriting {
		v.rewriteID = "" // a new login starts a new session
	}
	at := v.sessionURL()
	switch s.Login.Kind {
	case LoginNone, "":
		v.loggedIn, v.proven = true, true
		return nil
	case LoginBasic:
		// Established once a request proves the credentials (prove);
		// until then nothing says the server takes them.
		v.loggedIn, v.pending = true, true
		v.session = stats.HashID(v.basicAuth)
		return nil
	case LoginSpringForm:
		before, err = v.loginSpring(ctx)
	case LoginTomcatForm:
		before, err = v.loginTomcat(ctx)
	case LoginJSONToken:
		err = v.loginToken(ctx)
	case LoginSteps:
		before = v.sessionCookie(v.env.targetURL)
		at, err = v.loginSteps(ctx)
	}
	if err != nil {
		if !errors.Is(err, errRejected) {
			// The reason, with the page's error text, for the summary.
			v.env.sessions.LoginFailedBecause(stats.LoginFailureReason(err.Error(), v.body, v.ident.Username, v.ident.Password))
		}
		return err
	}
	v.loggedIn = true
	if v.token != "" {
		v.session = stats.HashID(v.token)
		v.env.sessions.Established(v.session, false)
		return nil
	}
	after := v.sessionCookie(at)
	v.session, v.sessionVal = 0, after
	if after != "" {
		v.session = stats.HashID(after)
	}
	// No session token seen: v.session 0, counted as unseen, never as a
	// made-up unique session.
	v.env.sessions.Established(v.session, before != "" && after != "" && before != after)
	return nil
}

// sessionURL is where the session cookie applies: the protected page for
// tomcat-form (Tomcat scopes it to the context path), the login page for
// spring-form, else the target.
func (v *VU) sessionURL() *url.URL {
	switch {
	case v.env.protectedURL != nil:
		return v.env.protectedURL
	case v.env.loginURL != nil:
		return v.env.loginURL
	}
	return v.env.targetURL
}

// errRejected is a login the server refused a session for.
var errRejected = errors.New("server refused to create a session")

// judge classifies a login exchange and records it. It returns nil when
// the exchange may go on; else the login's error.
func (v *VU) judge(r *result, what string, okStatus func(int) bool) error {
	switch {
	case r.kind == stats.SessionRejected:
		return v.reject(r)
	case r.err != nil:
		v.commit(r)
		return fmt.Errorf("%s: %w", what, r.err)
	case !okStatus(r.status):
		return v.failLogin(r, "%s answered %d", what, r.status)
	}
	return nil
}

// reject records r as a refused session and returns errRejected.
func (v *VU) reject(r *result) error {
	r.kind = stats.SessionRejected
	v.commit(r)
	if !v.refused {
		// Counted once per VU: sessions.rejected is VUs refused; every
		// refused request is in errors_by_kind.session_rejected.
		v.refused = true
		v.env.sessions.Rejected()
	}
	return errRejected
}

// failLogin records r as a failed login and returns the error.
func (v *VU) failLogin(r *result, format string, args ...any) error {
	if r.kind == stats.OK || r.kind == stats.CheckFailed {
		r.kind = stats.LoginFailed
	}
	v.commit(r)
	return fmt.Errorf("login: "+format, args...)
}

func is200(s int) bool      { return s == http.StatusOK }
func isRedirect(s int) bool { return s >= 300 && s < 400 }

var htmlAccept = []string{"text/html,application/xhtml+xml"}

// loginSpring is Spring Security's form login: GET the form with
// Accept: text/html, read the hidden CSRF token from the HTML, POST the
// credentials with it; success is a redirect not to ?error with a session
// cookie that changed. It returns the pre-login session cookie.
func (v *VU) loginSpring(ctx context.Context) (string, error) {
	s := v.env.script
	page := v.env.base + s.Login.Path
	var r result
	v.do(ctx, &r, v.env.idLoginPage, time.Time{}, http.MethodGet, page, http.Header{"Accept": htmlAccept}, nil)
	if err := v.judge(&r, "login page", is200); err != nil {
		return "", err
	}
	field := orDefault(s.Login.CSRFField, "_csrf")
	csrf, ok := FormValue(v.body, field)
	if !ok {
		return "", v.failLogin(&r, "no %s field in the login page", field)
	}
	v.commit(&r)
	at := v.env.loginURL
	before := v.sessionCookie(at)
	form := url.Values{}
	form.Set(orDefault(s.Login.UsernameField, "username"), v.ident.Username)
	form.Set(orDefault(s.Login.PasswordField, "password"), v.ident.Password)
	form.Set(field, csrf)
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": htmlAccept}
	follow := !v.env.session.StopAtLoginRedirect
	v.noFollow = !follow
	v.do(ctx, &r, v.env.idLogin, time.Time{}, http.MethodPost, page, hdr, []byte(form.Encode()))
	v.noFollow = false
	if err := v.judge(&r, "login", func(int) bool { return isRedirect(r.first) }); err != nil {
		return "", err
	}
	if loc, err := page0(page).Parse(r.firstLoc); err == nil && v.env.loginRejected(loc, v.body, follow) {
		return "", v.reject(&r)
	}
	if strings.Contains(r.firstLoc, "error") {
		return "", v.failLogin(&r, "redirected to %s (bad credentials or CSRF token?)", r.firstLoc)
	}
	if after := v.sessionCookie(at); after == "" || after == before {
		return "", v.failLogin(&r, "the session cookie %s did not change on login", v.env.session.Cookie)
	}
	if follow {
		if err := v.landed(&r); err != nil {
			return "", err
		}
	}
	v.commit(&r)
	return before, nil
}

// page0 parses a URL the VU built itself (it parses).
func page0(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

// landed checks the page a followed login redirect led to: answered,
// and not the login form again.
func (v *VU) landed(r *result) error {
	switch {
	case r.status >= 400:
		return v.failLogin(r, "the page after login (%s) answered %d", r.url.Redacted(), r.status)
	case isRedirect(r.status):
		return nil // a redirect the VU does not follow (to the login page): judged by the cookie
	case v.env.loginURL != nil && r.url.Path == v.env.loginURL.Path,
		v.env.loginForm != nil && bytes.Contains(v.body, v.env.loginForm):
		return v.failLogin(r, "the page after login (%s) is the login form", r.url.Redacted())
	}
	return nil
}

// loginTomcat is Tomcat's FORM login: GET a protected page (which makes
// the pre-login session and shows the form), POST j_security_check beside
// it; success is a 303 (or 302) and a new session cookie.
func (v *VU) loginTomcat(ctx context.Context) (string, error) {
	s := v.env.script
	page := v.env.protectedURL
	v.noFollow = true
	var r result
	v.do(ctx, &r, v.env.idLoginPage, time.Time{}, http.MethodGet, page.String(), http.Header{"Accept": htmlAccept}, nil)
	v.noFollow = false
	if err := v.judge(&r, "protected page", is200); err != nil {
		return "", err
	}
	v.commit(&r)
	before := v.sessionCookie(page)
	form := url.Values{}
	form.Set(orDefault(s.Login.UsernameField, "j_username"), v.ident.Username)
	form.Set(orDefault(s.Login.PasswordField, "j_password"), v.ident.Password)
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": htmlAccept}
	// Followed, the 303 fetches the saved request (the protected page):
	// only then does Tomcat end the session's authentication phase and
	// give it the app's session timeout.
	follow := !v.env.session.StopAtLoginRedirect
	v.noFollow = !follow
	v.do(ctx, &r, v.env.idLogin, time.Time{}, http.MethodPost, v.env.securityCheck, hdr, []byte(form.Encode()))
	v.noFollow = false
	if err := v.judge(&r, "j_security_check", func(int) bool { return r.first == http.StatusSeeOther || r.first == http.StatusFound }); err != nil {
		return "", err
	}
	if after := v.sessionCookie(page); after == "" || after == before {
		return "", v.failLogin(&r, "the session cookie %s did not change on login", v.env.session.Cookie)
	}
	if follow {
		if err := v.landed(&r); err != nil {
			return "", err
		}
	}
	v.commit(&r)
	return before, nil
}

// loginToken posts JSON credentials and keeps the token from the answer
// for an Authorization: Bearer header on every later request.
func (v *VU) loginToken(ctx context.Context) error {
	s := v.env.script
	v.token = ""
	creds, err := json.Marshal(map[string]string{
		orDefault(s.Login.UsernameField, "username"): v.ident.Username,
		orDefault(s.Login.PasswordField, "password"): v.ident.Password,
	})
	if err != nil {
		return err
	}
	hdr := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	var r result
	v.do(ctx, &r, v.env.idLogin, time.Time{}, http.MethodPost, v.env.base+s.Login.Path, hdr, creds)
	if err := v.judge(&r, "token endpoint", func(s int) bool { return s == http.StatusOK || s == http.StatusCreated }); err != nil {
		return err
	}
	tok, ok := v.env.tokenExtractor.Extract(v.response(&r))
	if !ok || tok == "" {
		return v.failLogin(&r, "no token at %s in the answer", v.env.tokenExtractor.Expr)
	}
	v.commit(&r)
	v.token = tok
	return nil
}

// loginSteps runs a custom login written as ordinary steps; it fails if
// any step fails its check. It returns the URL that answered the last
// step, where the session cookie is looked up.
func (v *VU) loginSteps(ctx context.Context) (*url.URL, error) {
	at := v.env.targetURL
	for i := range v.env.script.Login.Steps {
		st := &v.env.script.Login.Steps[i]
		r, ok := v.stepResult(ctx, v.env.loginStepIDs[i], st, time.Time{})
		if err := v.judge(&r, "login step "+st.Name, func(int) bool { return true }); err != nil {
			return at, err
		}
		if !ok {
			return at, v.failLogin(&r, "step %s failed (%s)", st.Name, r.kind)
		}
		if r.url != nil {
			at = r.url
		}
		v.commit(&r)
	}
	return at, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
