package profiles_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/profiles"
)

// stormPlan logs in with Basic auth to a server that refuses it.
const stormPlan = `
target: TARGET
users: {template: {username: "user{{.VU}}", password: wrong}}
session: {login: basic, retry_login: 1s}
scenario: [{name: me, get: /api/me}]
think: %s
load: {vus: 5, duration: 6s}
`

// A server answering 401 to every Basic request gets at most a few
// requests per VU (the back-off of retry_login: 1s doubles), not a storm;
// every one is an error, no VU counts as logged in, and the run ends on
// time though VUs wait on their back-off (think 500ms parks the VUs
// between steps; 0s keeps them on their goroutines).
func TestBasicRefusedNoStorm(t *testing.T) {
	for _, think := range []string{"500ms", "0s"} {
		t.Run(think, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				w.Header().Set("WWW-Authenticate", `Basic realm="app"`)
				w.WriteHeader(http.StatusUnauthorized)
			}))
			t.Cleanup(srv.Close)
			u, _ := url.Parse(srv.URL)
			p := plan(t, u, fmt.Sprintf(stormPlan, think))
			start := time.Now()
			res := run(t, p)
			took := time.Since(start)
			n := requests.Load()
			t.Logf("server counted %d requests in %s; totals %d requests, %d errors %v; sessions %+v",
				n, took.Round(time.Millisecond), res.Totals.Requests, res.Totals.Errors, res.Totals.ErrorsByKind, res.Sessions)
			if n == 0 || n > 5*(6+2) {
				t.Errorf("server counted %d requests, want 1..%d", n, 5*(6+2))
			}
			if res.Totals.Requests != n || res.Totals.Errors != n {
				t.Errorf("results: %d requests, %d errors; want %d and an error rate of 100%%", res.Totals.Requests, res.Totals.Errors, n)
			}
			if got := res.Totals.ErrorsByKind["unauthorized"]; got != n {
				t.Errorf("unauthorized errors = %d, want %d", got, n)
			}
			if s := res.Sessions; s.Established != 0 || s.LoginFailures == 0 {
				t.Errorf("sessions %+v: want none established, login failures counted", s)
			}
			if took > 9*time.Second {
				t.Errorf("the run took %s: VUs waiting on back-off must stop with it", took)
			}
		})
	}
}

// cookieApp is a form-login app (Spring style: GET the form with a CSRF
// field, POST it, a redirect to the app's home) under prefix, whose
// session cookie is scoped to Path=prefix+"/", and that on every API
// answer either sends the same cookie again (resend) or gives the
// session a new id (rotate), counting what it did and every request it
// refused.
type cookieApp struct {
	prefix string
	rotate bool
	drop   int // every drop-th API answer ends the session and deletes its cookie (0: never)

	mu       sync.Mutex
	sessions map[string]bool // id -> authenticated
	next     int
	rotated  atomic.Int64
	dropped  atomic.Int64
	api      int
	refused  atomic.Int64
	logins   atomic.Int64
}

func (a *cookieApp) newID() string {
	a.next++
	return fmt.Sprintf("S%08d", a.next)
}

func (a *cookieApp) setCookie(w http.ResponseWriter, id string) {
	w.Header().Add("Set-Cookie", "JSESSIONID="+id+"; Path="+a.prefix+"/; HttpOnly")
}

func (a *cookieApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Cookie("JSESSIONID")
	a.mu.Lock()
	defer a.mu.Unlock()
	id, auth := "", false
	if c != nil {
		if v, ok := a.sessions[c.Value]; ok {
			id, auth = c.Value, v
		}
	}
	switch p := strings.TrimPrefix(r.URL.Path, a.prefix); {
	case p == "/login" && r.Method == http.MethodGet:
		if id == "" {
			id = a.newID()
			a.sessions[id] = false
			a.setCookie(w, id)
		}
		fmt.Fprint(w, `<form method="post"><input name="_csrf" type="hidden" value="tok"/></form>`)
	case p == "/login" && r.Method == http.MethodPost:
		if id == "" || r.FormValue("password") != "secret" {
			http.Redirect(w, r, a.prefix+"/login?error", http.StatusFound)
			return
		}
		delete(a.sessions, id)
		id = a.newID()
		a.sessions[id] = true
		a.setCookie(w, id)
		a.logins.Add(1)
		http.Redirect(w, r, a.prefix+"/", http.StatusFound)
	case !auth:
		a.refused.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
	case p == "/":
		fmt.Fprint(w, "home")
	default:
		a.api++
		if a.drop > 0 && a.api%a.drop == 0 {
			delete(a.sessions, id)
			a.dropped.Add(1)
			w.Header().Add("Set-Cookie", "JSESSIONID=; Path="+a.prefix+"/; Max-Age=0")
			fmt.Fprint(w, `{"ok":true}`)
			return
		}
		if a.rotate {
			delete(a.sessions, id)
			id = a.newID()
			a.sessions[id] = true
			a.rotated.Add(1)
		}
		a.setCookie(w, id)
		fmt.Fprint(w, `{"ok":true}`)
	}
}

const cookiePlan = `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, login_path: PREFIX/login, end: abandon}
scenario:
  - {name: a, get: PREFIX/api/a, check: {status: 200}}
  - {name: b, get: PREFIX/api/b, check: {status: 200}}
think: 5ms
load: {vus: 3, duration: 1s}
`

// A server that sends the session cookie again on every answer, or
// gives the session a new id on every answer, keeps the VUs' sessions:
// no relogin, no session_lost, and rotated_by_server is the server's own
// count of rotations. The cookie is scoped to Path=/app under a target
// at the server's root.
func TestCookiesKeptAsABrowser(t *testing.T) {
	for _, c := range []struct {
		name   string
		prefix string
		rotate bool
	}{
		{"resend", "", false},
		{"rotate", "", true},
		{"path-app-resend", "/app", false},
		{"path-app-rotate", "/app", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := &cookieApp{prefix: c.prefix, rotate: c.rotate, sessions: map[string]bool{}}
			srv := httptest.NewServer(app)
			t.Cleanup(srv.Close)
			u, _ := url.Parse(srv.URL)
			p := plan(t, u, strings.ReplaceAll(cookiePlan, "PREFIX", c.prefix))
			res := run(t, p)
			s := res.Sessions
			t.Logf("sessions %+v; errors %v; server: %d logins, %d rotations, %d refused", s, res.ErrorsByKind, app.logins.Load(), app.rotated.Load(), app.refused.Load())
			if s.Relogins != 0 || res.ErrorsByKind["session_lost"] != 0 || res.Totals.Errors != 0 || app.refused.Load() != 0 {
				t.Errorf("relogins %d, session_lost %d, errors %d, server refused %d: want all 0",
					s.Relogins, res.ErrorsByKind["session_lost"], res.Totals.Errors, app.refused.Load())
			}
			if s.Established != 3 || app.logins.Load() != 3 {
				t.Errorf("established %d, server logins %d: want 3", s.Established, app.logins.Load())
			}
			if s.RotatedByServer != app.rotated.Load() {
				t.Errorf("rotated_by_server = %d, server rotated %d times", s.RotatedByServer, app.rotated.Load())
			}
			if res.Totals.Requests < 30 {
				t.Errorf("%d requests: want the VUs working", res.Totals.Requests)
			}
		})
	}
}

// Spring's maximumSessions(1) with maxSessionsPreventsLogin on the demo
// target: of three VUs logging in as the same user, the first gets the
// session and the others are refused (sessions.rejected, errors
// session_rejected equal to the target's count), not login failures.
func TestSpringMaxSessionsPreventsLogin(t *testing.T) {
	t.Parallel()
	tg, u := startTarget(t, target.Config{Users: 5, MaxSessionsPerUser: 1})
	p := plan(t, u, `
target: TARGET
users: {template: {username: user1, password: secret}}
session: {login: spring-form, end: abandon, retry_login: 1s}
scenario: [{name: me, get: /api/me, headers: {Accept: application/json}, check: {status: 200}}]
think: 100ms
load: {vus: 3, duration: 2s}
`)
	res := run(t, p)
	st := tg.Stats()
	s := res.Sessions
	t.Logf("sessions %+v, errors %v, target %+v", s, res.ErrorsByKind, st)
	if s.Rejected != 2 || s.LoginFailures != 0 || s.Established != 1 {
		t.Errorf("sessions %+v: want 1 established, 2 rejected, 0 login failures", s)
	}
	if st.UserSessionRejected == 0 || res.ErrorsByKind["session_rejected"] != st.UserSessionRejected {
		t.Errorf("session_rejected errors %d, target refused %d logins: want equal, > 0", res.ErrorsByKind["session_rejected"], st.UserSessionRejected)
	}
	if st.LoginFailures != 0 || res.ErrorsByKind["login_failed"] != 0 {
		t.Errorf("target login failures %d, login_failed %d: want 0", st.LoginFailures, res.ErrorsByKind["login_failed"])
	}
}

// The plan keys of the session life cycle: back-off, re-login rate, the
// login redirect, URL rewriting and what a refusal looks like.
func TestSessionKeys(t *testing.T) {
	t.Parallel()
	p, err := profiles.Parse("p.yaml", []byte(`
target: http://127.0.0.1:1/shop
users: {template: {username: u, password: p}}
load: {vus: 1, duration: 1s}
session:
  login: spring-form
  retry_login: 2s
  retry_login_max: 30s
  relogins_per_minute: 3
  follow_login_redirect: false
  url_rewriting: true
  rejected: [tomcat, {redirect: "/login?error=expired"}, {status: 503, body_contains: busy}]
scenario: [{name: a, get: /a}]
`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := p.Scenarios[0].Script.Session
	if s.RetryLogin != 2*time.Second || s.RetryLoginMax != 30*time.Second || s.ReloginsPerMinute != 3 ||
		!s.StopAtLoginRedirect || !s.URLRewriting || len(s.Rejected) != 3 ||
		s.Rejected[1].Redirect != "/login?error=expired" || s.Rejected[2].Status != 503 || s.Rejected[2].BodyContains != "busy" {
		t.Errorf("session = %+v", s)
	}
	for _, c := range []struct{ text, want string }{
		{"session: {login: tomcat-form, protected_path: /p/index.jsp, end: logout}", "p.yaml:3:66: session.end: end: logout with login: tomcat-form needs session.logout_path"},
		{"session: {login: tomcat-form, protected_path: /p/index.jsp}", "p.yaml:3:18: session: end: logout with login: tomcat-form needs session.logout_path"},
		{"session: {login: basic, relogins_per_minute: 0}", "p.yaml:3:46: session.relogins_per_minute: expected a whole number of at least 1"},
		{"session: {login: basic, retry_login: 2s, retry_login_max: 1s}", "p.yaml:3:59: session.retry_login_max: 1s is shorter than retry_login (2s)"},
		{"session: {login: basic, rejected: jetty}", "p.yaml:3:35: session.rejected: expected tomcat, spring, {status, body_contains} or {redirect, body_contains}, got \"jetty\""},
	} {
		_, err := profiles.Parse("p.yaml", []byte("target: http://127.0.0.1:1\nscenario: [{name: a, get: /a}]\n"+c.text+"\nusers: {template: {username: u, password: p}}\nload: {vus: 1, duration: 1s}\n"), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.text, err, c.want)
		}
	}
}

// A run whose server gauge (the Tomcat manager's JMX proxy) answers 401
// asks it once, never again, and says why in the results.
func TestServerGaugeRefusedOnce(t *testing.T) {
	t.Parallel()
	var polls atomic.Int64
	mgr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(mgr.Close)
	_, u := startTarget(t, target.Config{Users: 2})
	p := plan(t, u, strings.ReplaceAll(`
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, end: abandon}
scenario: [{name: me, get: /api/me, headers: {Accept: application/json}}]
think: 100ms
load: {vus: 2, duration: 3s}
server: {url: MANAGER/manager, context: /shop, interval: 100ms}
`, "MANAGER", mgr.URL))
	res := run(t, p)
	if n := polls.Load(); n != 1 {
		t.Errorf("the manager was asked %d times, want 1", n)
	}
	if res.Server == nil || !strings.Contains(res.Server.Stopped, "401") {
		t.Errorf("server result %+v: want it stopped at the 401, saying so", res.Server)
	}
}

// cookielessApp is Tomcat's FORM login with cookies="false": the session
// id travels only as ;jsessionid= in URLs (the form's action, the 303 to
// the saved request, the links of pages).
type cookielessApp struct {
	mu       sync.Mutex
	sessions map[string]bool // id -> authenticated
	next     int
	refused  atomic.Int64
}

func (a *cookielessApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	path, id, _ := strings.Cut(r.URL.Path, ";jsessionid=")
	auth, known := a.sessions[id]
	newSession := func() string {
		a.next++
		id := fmt.Sprintf("CL%06dXYZ", a.next)
		a.sessions[id] = false
		return id
	}
	switch {
	case path == "/app/j_security_check" && known && r.FormValue("j_password") == "secret":
		delete(a.sessions, id)
		nid := newSession()
		a.sessions[nid] = true
		w.Header().Set("Location", "/app/protected;jsessionid="+nid)
		w.WriteHeader(http.StatusSeeOther)
	case path == "/app/protected" && auth:
		fmt.Fprintf(w, `You are logged in. <a href="protected;jsessionid=%s?logoff=true">log off</a>`, id)
	default:
		if path != "/app/protected" {
			a.refused.Add(1)
		}
		fmt.Fprintf(w, `<form method="POST" action="j_security_check;jsessionid=%s"></form>`, newSession())
	}
}

// With url_rewriting a VU keeps a cookieless session: it takes the id
// from the login form and the 303, sends it on every request, counts its
// session as Tomcat made it, and the debug dump never shows the id.
func TestURLRewritingLogin(t *testing.T) {
	t.Parallel()
	app := &cookielessApp{sessions: map[string]bool{}}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	p := plan(t, u, `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: tomcat-form, protected_path: /app/protected, end: abandon, url_rewriting: true}
scenario: [{name: page, get: /app/protected, check: {status: 200, body_contains: "logged in"}}]
think: 20ms
load: {vus: 2, duration: 1s}
`)
	var dump strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := profiles.Run(ctx, p, profiles.RunOptions{Debug: &syncWriter{w: &dump}})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Sessions
	if !s.Known() || s.Established != 2 || s.Unique != 2 || s.RotatedOnLogin != 2 || s.Relogins != 0 || res.Totals.Errors != 0 {
		t.Errorf("sessions %+v, errors %v: want 2 established, unique, rotated on login; no relogins or errors", s, res.ErrorsByKind)
	}
	if e := endpoint(t, res, "page"); e.Requests < 10 {
		t.Errorf("page: %d requests", e.Requests)
	}
	if app.next != 4 || app.refused.Load() != 0 {
		t.Errorf("the app made %d sessions (want 4: one before and one after each login), refused %d requests", app.next, app.refused.Load())
	}
	if d := dump.String(); !strings.Contains(d, "jsessionid=<hash ") || strings.Contains(d, "XYZ") {
		t.Errorf("debug dump (%d bytes) shows a session id:\n%s", len(d), d)
	}
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// refusingLogin is a Spring-like login that refuses every session: with
// a redirect to /login?error=expired, or a 503 saying "busy".
func refusingLogin(redirect bool, refusals *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/login":
			http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "PRE" + strconv.Itoa(int(refusals.Load())), Path: "/"})
			fmt.Fprint(w, `<form method="post"><input name="_csrf" type="hidden" value="tok"/></form>`)
		case r.Method == http.MethodPost && r.URL.Path == "/login":
			refusals.Add(1)
			if redirect {
				http.Redirect(w, r, "/login?error=expired", http.StatusFound)
				return
			}
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
}

// session.rejected declares what a refusal looks like: so declared, the
// server's answers count as rejected sessions, not login failures;
// undeclared, the same answers are login failures.
func TestDeclaredRejections(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		redirect bool
		rejected string // the session.rejected value, "" for none
	}{
		{"redirect", true, `{redirect: "/login?error=expired"}`},
		{"status", false, `{status: 503, body_contains: busy}`},
		{"redirect-undeclared", true, ""},
		{"status-undeclared", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var refusals atomic.Int64
			srv := httptest.NewServer(refusingLogin(c.redirect, &refusals))
			t.Cleanup(srv.Close)
			u, _ := url.Parse(srv.URL)
			sess := "{login: spring-form, end: abandon, retry_login: 200ms}"
			if c.rejected != "" {
				sess = "{login: spring-form, end: abandon, retry_login: 200ms, rejected: " + c.rejected + "}"
			}
			p := plan(t, u, `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: `+sess+`
scenario: [{name: me, get: /api/me}]
load: {vus: 2, duration: 1s}
`)
			res := run(t, p)
			s, n := res.Sessions, refusals.Load()
			t.Logf("sessions %+v, errors %v, server refused %d", s, res.ErrorsByKind, n)
			if n == 0 {
				t.Fatal("no login reached the server")
			}
			if c.rejected != "" && (s.Rejected != 2 || s.LoginFailures != 0 || res.ErrorsByKind["session_rejected"] != n) {
				t.Errorf("declared: sessions %+v, session_rejected %d; want 2 VUs rejected, %d refused logins, no login failures", s, res.ErrorsByKind["session_rejected"], n)
			}
			if c.rejected == "" && (s.Rejected != 0 || s.LoginFailures != n) {
				t.Errorf("undeclared: sessions %+v; want %d login failures, none rejected", s, n)
			}
		})
	}
}

// A server that deletes the session cookie (Max-Age=0) has ended the
// session: each deletion is a lost session, and the VU logs in again.
func TestDeletedCookieIsALoss(t *testing.T) {
	t.Parallel()
	app := &cookieApp{prefix: "/app", drop: 7, sessions: map[string]bool{}}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	res := run(t, plan(t, u, strings.ReplaceAll(cookiePlan, "PREFIX", "/app")))
	s, dropped := res.Sessions, app.dropped.Load()
	t.Logf("sessions %+v, errors %v, server dropped %d sessions", s, res.ErrorsByKind, dropped)
	// The server drops every 7th request of any VU: now and then that is
	// the retry after a re-login, which then fails as unauthorized (lost
	// again) instead of counting a second session_lost.
	lost := res.ErrorsByKind["session_lost"] + res.ErrorsByKind["unauthorized"]
	if dropped == 0 || s.Relogins != dropped || lost != dropped || s.Expired != dropped {
		t.Errorf("server dropped %d sessions; relogins %d, session_lost + unauthorized %d, expired %d: want all equal", dropped, s.Relogins, lost, s.Expired)
	}
	if app.refused.Load() != 0 {
		t.Errorf("the server refused %d requests: the VU went on with a deleted session", app.refused.Load())
	}
}
