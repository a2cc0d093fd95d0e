package vuser

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/stats"
)

// Endpoint names of the built-in login presets' requests.
const (
	EndpointLoginPage = "login-page" // GET of the login form (spring-form, tomcat-form)
	EndpointLogin     = "login"      // the credentials POST
	EndpointLogout    = "logout"     // the logout POST at the end
)

// Env is what all VUs of one run share: the script, the transport, and
// where they record. It is read-only after NewEnv, so VUs use it without
// locks; the recorder and the session tracker are safe for concurrent use.
type Env struct {
	script  *Script
	session Session // Script.Session with its defaults filled in
	maxBody int     // Script.MaxBody, or its default
	sc      int     // the scenario's id with the recorder
	rt      http.RoundTripper
	gate    *pool.Gate // run-wide admission (nil: none); see VU.enter
	// hookDeadlines, if non-nil, tells the requests the transport bounds
	// by pool.Hooks.Deadline itself (see VU.reqContext).
	hookDeadlines pool.HookDeadliner
	rec           *stats.Recorder
	sessions      *stats.Sessions

	base      string   // target URL without a trailing slash; paths are appended
	targetURL *url.URL // for cookie jar look-ups
	loginURL  *url.URL // the page a lost session is redirected to

	protectedURL   *url.URL  // tomcat-form: the protected page
	securityCheck  string    // tomcat-form: j_security_check beside it
	tokenExtractor Extractor // json-token: where the token is

	stepStatic   map[*Step]stepStatic // what of a step is the same for every VU, built once (one look-up a request)
	prog         []instr              // the scenario's steps compiled (flow.go); nil for a Go scenario
	goEndpoints  sync.Map             // group + "\x00" + endpoint name → id, registered by Go code as it names them (VU.Do)
	goGroups     sync.Map             // "\x00\x00" + group path → id (VU.Group)
	loginStepIDs []int                // endpoint id per custom login step
	idLoginPage  int
	idLogin      int
	idLogout     int

	cookiePrefix string // Session.Cookie + "=", for spotting its Set-Cookie without allocating
	rewriteParam string // ";" + lower-case cookie name + "=": the URL-rewritten id's path parameter
	rejections   []rejection
	loginForm    []byte   // tomcat-form: what marks the login form in a page (a lost session shows it again)
	respHeaders  []string // the response headers VUs read (pool.Hooks.Headers)

	bufs sync.Pool // *[]byte response body buffers shared by the VUs
	seed uint64    // Script.Seed, or a random one

	staticHeaders http.Header // script headers that hold no templates
	lag           *stats.Lag  // parked thinks' late wake-ups (SetLag); nil: none
	tmplHeaders   []Header    // script headers that do

	debugVU int          // the VU whose exchanges are dumped (SetDebug)
	debug   *debugWriter // nil: no dump
}

// Transport is how a run's VUs send their requests: the round tripper and
// what the VUs must know of it, set by the caller rather than discovered
// from the round tripper, so that wrapping it (to log, to inject faults)
// keeps the admission bound.
type Transport struct {
	// RoundTripper sends every request; nil means http.DefaultTransport.
	RoundTripper http.RoundTripper
	// Gate, if set, is the run-wide admission a VU passes before it builds
	// a request (pool.Pool.Gate): VUs beyond it wait as parked
	// goroutines, not as requests queued in the transport.
	Gate *pool.Gate
	// Deadlines, if set, says which requests the transport bounds by
	// pool.Hooks.Deadline itself, so the VU arms no timer for them.
	Deadlines pool.HookDeadliner
}

// PoolTransport is p's transport for VUs, with its gate and deadlines;
// wrap, if set, wraps the round tripper (the gate still applies).
func PoolTransport(p *pool.Pool, wrap func(http.RoundTripper) http.RoundTripper) Transport {
	rt := p.Transport()
	if wrap != nil {
		rt = wrap(rt)
	}
	return Transport{RoundTripper: rt, Gate: p.Gate(), Deadlines: p}
}

// NewEnv checks the script and registers its endpoints with rec.
func NewEnv(s *Script, t Transport, rec *stats.Recorder, sessions *stats.Sessions) (*Env, error) {
	if s == nil || s.Target == nil {
		return nil, errors.New("script has no target")
	}
	rt := t.RoundTripper
	if rt == nil {
		rt = http.DefaultTransport
	}
	// The effective settings live on the Env: the caller's Script is
	// never written (it may be reused for another run).
	sess := s.Session
	if sess.Cookie == "" {
		sess.Cookie = "JSESSIONID"
	}
	maxBody := s.MaxBody
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	if sess.ReloginsPerMinute <= 0 {
		sess.ReloginsPerMinute = 6
	}
	if sess.RetryLoginMax <= 0 {
		sess.RetryLoginMax = max(time.Minute, sess.RetryLogin)
	}
	e := &Env{script: s, session: sess, maxBody: maxBody, rt: rt, rec: rec, sessions: sessions, seed: s.Seed}
	e.cookiePrefix = sess.Cookie + "="
	e.rewriteParam = ";" + strings.ToLower(sess.Cookie) + "="
	e.gate, e.hookDeadlines = t.Gate, t.Deadlines
	if e.seed == 0 {
		e.seed = rand.Uint64()
	}
	e.base = strings.TrimSuffix(s.Target.String(), "/")
	e.targetURL = s.Target
	switch s.Login.Kind {
	case LoginSpringForm, LoginJSONToken:
		if s.Login.Path == "" {
			return nil, fmt.Errorf("login %s needs a login path", s.Login.Kind)
		}
	case LoginTomcatForm:
		if s.Login.ProtectedPath == "" {
			return nil, errors.New("login tomcat-form needs a protected path")
		}
		u, err := url.Parse(e.base + s.Login.ProtectedPath)
		if err != nil {
			return nil, fmt.Errorf("protected path %q: %w", s.Login.ProtectedPath, err)
		}
		e.protectedURL = u
		e.securityCheck = u.ResolveReference(&url.URL{Path: "j_security_check"}).String()
	case LoginSteps:
		if len(s.Login.Steps) == 0 {
			return nil, errors.New("login steps: no steps")
		}
	case LoginBasic, LoginNone, "":
	default:
		return nil, fmt.Errorf("unknown login kind %q", s.Login.Kind)
	}
	if s.Login.Kind == LoginJSONToken {
		ex, err := NewExtractor("token", ExtractJSON, orDefault(s.Login.TokenPath, "token"))
		if err != nil {
			return nil, fmt.Errorf("login token path: %w", err)
		}
		e.tokenExtractor = ex
	}
	if s.Login.Path != "" && s.Login.Kind == LoginSpringForm {
		u, err := url.Parse(e.base + s.Login.Path)
		if err != nil {
			return nil, fmt.Errorf("login path %q: %w", s.Login.Path, err)
		}
		e.loginURL = u
	}
	// Endpoints in the order a VU meets them: login, scenario, logout.
	e.sc = rec.Scenario(s.Name)
	switch s.Login.Kind {
	case LoginSpringForm, LoginTomcatForm:
		e.idLoginPage = rec.EndpointIn(e.sc, "", EndpointLoginPage)
		e.idLogin = rec.EndpointIn(e.sc, "", EndpointLogin)
	case LoginJSONToken:
		e.idLogin = rec.EndpointIn(e.sc, "", EndpointLogin)
	}
	e.stepStatic = map[*Step]stepStatic{}
	for i := range s.Login.Steps {
		st := &s.Login.Steps[i]
		if st.control() {
			return nil, fmt.Errorf("login step %d (%s): flow control is not allowed in a login", i+1, st.Name)
		}
		e.loginStepIDs = append(e.loginStepIDs, rec.EndpointIn(e.sc, "", st.Name))
		e.addStatic(st)
	}
	if s.Func == nil {
		prog, err := e.compile(s)
		if err != nil {
			return nil, err
		}
		e.prog = prog
	}
	if sess.End == EndLogout && s.Login.Kind != LoginNone && s.Login.Kind != "" &&
		s.Login.Kind != LoginBasic && s.Login.Kind != LoginJSONToken {
		if sess.LogoutPath == "" {
			e.session.LogoutPath = "/logout"
		}
		e.idLogout = rec.EndpointIn(e.sc, "", EndpointLogout)
	}
	rej, err := e.resolveRejections(s)
	if err != nil {
		return nil, err
	}
	e.rejections = rej
	if s.Login.Kind == LoginTomcatForm {
		e.loginForm = []byte("j_security_check")
	}
	if s.Func == nil {
		e.respHeaders = responseHeaders(s)
	} // else nil: Go code may read any header
	e.staticHeaders = http.Header{}
	for name, vals := range s.Headers {
		for _, v := range vals {
			t, err := ParseTemplate(v)
			if err != nil {
				return nil, fmt.Errorf("header %s: %w", name, err)
			}
			if t.Static() {
				e.staticHeaders.Add(name, v)
			} else {
				e.tmplHeaders = append(e.tmplHeaders, Header{Name: name, Value: t})
			}
		}
	}
	return e, nil
}

// addStatic notes what of request step st is the same for every VU.
func (e *Env) addStatic(st *Step) {
	var ss stepStatic
	if p := st.Path; p != nil && p.Static() {
		if u, err := url.Parse(string(p.Append([]byte(e.base), nil))); err == nil {
			ss.url = u
		}
	}
	ss.header = staticHeader(st)
	if ss.url != nil || ss.header != nil {
		e.stepStatic[st] = ss
	}
}

// stepStatic is what of a step is the same for every VU; nil fields are
// rendered per request.
type stepStatic struct {
	url    *url.URL    // the step's path holds no template: parsed once
	header http.Header // no body and no template in the headers: only read
}

// staticHeader is st's header when st has headers, no body and no
// template in them: the same for every VU, so built once and only read
// (VUs copy it into their own request header).
func staticHeader(st *Step) http.Header {
	if len(st.Headers) == 0 || len(st.Form) > 0 || st.JSON != nil || st.Body != nil {
		return nil
	}
	h := http.Header{}
	for _, sh := range st.Headers {
		if sh.Value == nil || !sh.Value.Static() {
			return nil
		}
		h.Set(sh.Name, sh.Value.Render(nil))
	}
	return h
}

// responseHeaders are the response headers a VU of s ever reads: cookies,
// redirects, and what header extractors name. An engine that would
// otherwise convert every header may copy only these (the debug VU still
// sees all of them).
func responseHeaders(s *Script) []string {
	names := []string{"Set-Cookie", "Location"}
	add := func(name string) {
		if name = http.CanonicalHeaderKey(name); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	var walk func(steps []Step)
	walk = func(steps []Step) {
		for i := range steps {
			st := &steps[i]
			for _, ex := range st.Extract {
				if ex.Kind == ExtractHeader {
					add(ex.Expr)
				}
			}
			for _, hc := range st.Check.Headers {
				add(hc.Name)
			}
			for _, sub := range st.children() {
				walk(sub)
			}
		}
	}
	walk(s.Login.Steps)
	walk(s.Steps)
	return names
}

func (e *Env) getBuf() *[]byte {
	if b, ok := e.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 4096)
	return &b
}

func (e *Env) putBuf(b *[]byte) {
	if cap(*b) > 64<<10 {
		return // keep big ones out: a few huge bodies must not pin memory
	}
	e.bufs.Put(b)
}

// Seed is the seed the VUs' think times, random branches and picks are
// drawn with: give it back as Script.Seed to repeat a run's choices.
func (e *Env) Seed() uint64 { return e.seed }

// Script is the script the VUs run.
func (e *Env) Script() *Script { return e.script }

// rejection is a Rejection resolved against the target.
type rejection struct {
	status   int
	body     []byte
	redirect *url.URL // nil: a status and body rejection
}

// resolveRejections resolves the script's rejections (the presets when
// it has none) against the target.
func (e *Env) resolveRejections(s *Script) ([]rejection, error) {
	rs := s.Session.Rejected
	if rs == nil {
		rs = []Rejection{RejectTomcat, RejectSpring}
	}
	out := make([]rejection, 0, len(rs))
	for _, r := range rs {
		rj := rejection{status: r.Status, body: []byte(r.BodyContains)}
		red := r.Redirect
		if red == "" && r.spring && s.Login.Kind == LoginSpringForm {
			red = s.Login.Path + "?error"
		}
		if red != "" {
			u, err := url.Parse(e.base + red)
			if err != nil {
				return nil, fmt.Errorf("session rejected redirect %q: %w", red, err)
			}
			rj.redirect = u
		}
		out = append(out, rj)
	}
	return out, nil
}

// sessionRejected reports whether a response is a server refusing to
// create a session, as a status and body rejection says (by default
// Tomcat's TooManyActiveSessionsException, a 500 "Too many active
// sessions", or a Spring error page saying "Maximum sessions of").
func (e *Env) sessionRejected(status int, body []byte) bool {
	if status < 400 {
		return false
	}
	for i := range e.rejections {
		r := &e.rejections[i]
		// No string(body): that would copy up to MaxBody on every error.
		if (r.status == 0 || r.status == status) && (r.redirect == nil || r.status != 0) && bytes.Contains(body, r.body) {
			return true
		}
	}
	return false
}

// loginRejected reports whether a login redirected to loc (resolved) and
// ending at a page with body is a refusal by a redirect rejection; the
// body is checked only if followed (the page was fetched).
func (e *Env) loginRejected(loc *url.URL, body []byte, followed bool) bool {
	for i := range e.rejections {
		r := &e.rejections[i]
		if r.redirect == nil || loc.Path != r.redirect.Path || !strings.HasPrefix(loc.RawQuery, r.redirect.RawQuery) {
			continue
		}
		if len(r.body) == 0 || followed && bytes.Contains(body, r.body) {
			return true
		}
	}
	return false
}

// idleAfter is the pause from which a VU lets go of its request state.
const idleAfter = 100 * time.Millisecond

// sleep waits d, or until the VU is aborted or stop (if non-nil) is
// closed; it reports whether it slept the whole time.
func (v *VU) sleep(d time.Duration, stop <-chan struct{}) bool {
	return v.sleepOr(d, stop, nil)
}

// sleepOr is sleep that also ends when done (if non-nil) is closed.
func (v *VU) sleepOr(d time.Duration, stop, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	if d >= idleAfter {
		// A VU that thinks holds nothing per request meanwhile: with
		// 100,000 VUs idle, that is ~100 MB. A busy VU keeps it all.
		v.dropContext()
		v.hdr = nil
	}
	if v.timer == nil {
		v.timer = time.NewTimer(d)
	} else {
		v.timer.Reset(d)
	}
	select {
	case <-v.timer.C:
		return true
	case <-v.sig.Abort:
	case <-stop:
	case <-done:
	}
	// Since Go 1.23 Stop guarantees no stale tick is left in the channel.
	v.timer.Stop()
	return false
}
