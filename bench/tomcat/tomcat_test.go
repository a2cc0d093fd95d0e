package tomcat_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/bench/tomcat"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// One Tomcat serves every test of the package (it takes ~6-9 s to start):
// each test has its own context, whose counters only it moves.
var sharedConfig = tomcat.Config{
	Users: 1000,
	Apps: []tomcat.App{
		{Name: "capped", Settings: tomcat.Settings{MaxActiveSessions: 300}},
		{Name: "short", Settings: tomcat.Settings{SessionTimeout: time.Minute, ProcessExpiresFrequency: 1}},
		{Name: "logout"},
		{Name: "abandon"},
	},
	ExamplesApps: []tomcat.App{
		// A 10-second login phase, swept every background run (10 s).
		{Name: "formauth", Settings: tomcat.Settings{AuthenticationSessionTimeout: 10 * time.Second, ProcessExpiresFrequency: 1}},
		{Name: "cookieless", Settings: tomcat.Settings{Cookieless: true}},
	},
}

var shared struct {
	once sync.Once
	in   *tomcat.Instance
	err  error
}

// instance returns the package's Tomcat, starting it on first use.
func instance(t *testing.T) *tomcat.Instance {
	t.Helper()
	shared.once.Do(func() { shared.in, shared.err = tomcat.Launch(sharedConfig) })
	if shared.err != nil {
		tomcat.Fatal(t, shared.err)
	}
	return shared.in
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.in != nil {
		if err := shared.in.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop Tomcat:", err)
			code = max(code, 1)
		}
	}
	os.Exit(code)
}

// examplePlan reads profiles/examples/NAME with its target replaced by
// base (and, if csv is not empty, its users CSV by csv), and parses it
// relative to the examples directory.
func examplePlan(t *testing.T, name, base, csv string) *profiles.Plan {
	t.Helper()
	file := filepath.Join("..", "..", "profiles", "examples", name)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := replaceKey(t, string(b), "target:", base)
	if csv != "" {
		text = replaceKey(t, text, "csv:", csv)
	}
	p, err := profiles.Parse(file, []byte(text), filepath.Dir(file))
	if err != nil {
		t.Fatalf("plan %s: %v", name, err)
	}
	return p
}

// replaceKey sets the value of the one line whose first token is key.
func replaceKey(t *testing.T, text, key, val string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	n := 0
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		if strings.HasPrefix(trimmed, key+" ") {
			lines[i] = l[:len(l)-len(trimmed)] + key + " " + val
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d lines start with %q, want 1", n, key)
	}
	return strings.Join(lines, "\n")
}

func inline(t *testing.T, text string) *profiles.Plan {
	t.Helper()
	p, err := profiles.Parse(t.Name()+".yaml", []byte(text), t.TempDir())
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

// run runs p, bounded by limit. On failure it marks t failed and returns
// nil (it may run on another goroutine than the test's).
func run(t *testing.T, p *profiles.Plan, limit time.Duration) *stats.Results {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	res, err := profiles.Run(ctx, p, profiles.RunOptions{})
	if err != nil {
		t.Errorf("run %s: %v", p.Name, err)
		return nil
	}
	if ctx.Err() != nil {
		t.Errorf("run %s did not end by itself within %s", p.Name, limit)
		return nil
	}
	return res
}

func endpoint(t *testing.T, res *stats.Results, name string) stats.EndpointResult {
	t.Helper()
	for _, e := range res.Endpoints {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no endpoint %q in results", name)
	return stats.EndpointResult{}
}

// counters reads a context's counters; on failure it marks t failed (it
// may run on another goroutine than the test's).
func counters(t *testing.T, in *tomcat.Instance, ctx string) tomcat.Counters {
	t.Helper()
	c, err := in.Counters(ctx)
	if err != nil {
		t.Errorf("Tomcat counters: %v", err)
	}
	return c
}

// noErrors fails t for every endpoint with a failed request.
func noErrors(t *testing.T, res *stats.Results) {
	t.Helper()
	for _, e := range res.Endpoints {
		if e.Errors != 0 {
			t.Errorf("%s: %d errors %v, want none", e.Name, e.Errors, e.ErrorsByKind)
		}
	}
}

// The three example plans validate as shipped.
func TestExamplePlansValidate(t *testing.T) {
	for _, name := range []string{"tomcat-examples.yaml", "sessionapp.yaml", "json-token.yaml"} {
		p, err := profiles.LoadFile(filepath.Join("..", "..", "profiles", "examples", name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if p.Load.MaxVUs() == 0 {
			t.Errorf("%s: no VUs", name)
		}
	}
}

// 1,000 VUs log in to the stock examples app with Tomcat's own FORM login:
// Tomcat counts 1,000 new sessions, each VU got its 303 (followed to the
// protected page) and a new JSESSIONID, and the protected page is served
// with each session.
func TestExamplesThousandVUs(t *testing.T) {
	t.Parallel()
	const n = 1000
	in := instance(t)
	csv := filepath.Join(t.TempDir(), "users.csv")
	if err := tomcat.WriteUsersCSV(csv, 1, n, in.Password); err != nil {
		t.Fatal(err)
	}
	p := examplePlan(t, "tomcat-examples.yaml", in.URL, csv)
	// The plan's shape (ramp to 1,000, hold), compressed to 20 s.
	if err := p.Override(0, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := p.Load.MaxVUs(); got != n {
		t.Fatalf("plan ramps to %d VUs, want %d", got, n)
	}
	before := counters(t, in, "/examples")
	res := run(t, p, 2*time.Minute)
	if res == nil {
		return
	}
	after := counters(t, in, "/examples")
	t.Logf("Tomcat /examples before %+v after %+v", before, after)
	t.Logf("results sessions %+v, iterations %+v", res.Sessions, res.Iterations)

	if d := after.SessionCounter - before.SessionCounter; d != n {
		t.Errorf("Tomcat sessionCounter grew by %d, want %d", d, n)
	}
	if d := after.ActiveSessions - before.ActiveSessions; d != n {
		t.Errorf("Tomcat activeSessions grew by %d, want %d (end: abandon)", d, n)
	}
	if after.RejectedSessions != before.RejectedSessions || after.ExpiredSessions != before.ExpiredSessions {
		t.Errorf("Tomcat rejected or expired sessions: before %+v after %+v", before, after)
	}
	s := res.Sessions
	if s.Established != n || s.Unique != n || s.RotatedOnLogin != n {
		t.Errorf("sessions %+v, want established = unique = rotated_on_login = %d", s, n)
	}
	if s.Relogins != 0 || s.LoginFailures != 0 || s.Rejected != 0 {
		t.Errorf("sessions %+v, want no relogins, login failures or rejections", s)
	}
	if e := endpoint(t, res, "login-page"); e.Requests != n || e.Status["200"] != n {
		t.Errorf("login-page: %d requests, status %v; want %d × 200", e.Requests, e.Status, n)
	}
	// The login follows j_security_check's 303 to the saved request: one
	// sample, ending at the protected page.
	if e := endpoint(t, res, "login"); e.Requests != n || e.Status["200"] != n {
		t.Errorf("login (j_security_check, then the protected page): %d requests, status %v; want %d × 200", e.Requests, e.Status, n)
	}
	prot := endpoint(t, res, "protected")
	if prot.Requests < n || prot.Status["200"] != prot.Requests {
		t.Errorf("protected: %d requests, status %v; want >= %d, all 200", prot.Requests, prot.Status, n)
	}
	if res.Iterations.Completed < n {
		t.Errorf("%d iterations, want >= %d", res.Iterations.Completed, n)
	}
	noErrors(t, res)
}

// capPlan: spring-form against the sessionapp; VUs ramp up so the cap is
// reached by sessions made one at a time (Tomcat checks the cap and adds
// the session without a lock, so a burst may overshoot it).
const capPlan = `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, login_path: /login, relogin: true, end: abandon, retry_login: 1s}
scenario:
  - name: me
    get: /api/me
    headers: {Accept: application/json}
    check: {status: 200, json: {"$.user": "{{.User}}"}}
  - name: cart
    post: /api/cart
    headers: {Accept: application/json}
    json: {item: 7}
    check: {status: 200, json: {"$.user": "{{.User}}"}}
think: {min: 200ms, max: 400ms}
timeout: 20s
http: {max_conns_per_host: 200}
load:
  stages: [{duration: 8s, target: 500}, {duration: 5s}]
  graceful_stop: 5s
`

// With maxActiveSessions=300, 200 of 500 VUs are refused a session; each
// refusal Tomcat counts is one session_rejected sample, never a generic
// 500, and the 300 admitted VUs work on through the connections Tomcat
// closes after each refusal.
func TestSessionCap(t *testing.T) {
	t.Parallel()
	const vus, capacity = 500, 300
	in := instance(t)
	p := inline(t, strings.ReplaceAll(capPlan, "TARGET", in.URL+"/capped"))
	before := counters(t, in, "/capped")
	if before.MaxActiveSessions != capacity {
		t.Fatalf("Tomcat /capped maxActiveSessions = %d, want %d", before.MaxActiveSessions, capacity)
	}
	res := run(t, p, 2*time.Minute)
	if res == nil {
		return
	}
	after := counters(t, in, "/capped")
	t.Logf("Tomcat /capped before %+v after %+v", before, after)
	t.Logf("results sessions %+v, errors %v, dials %d", res.Sessions, res.ErrorsByKind, res.Connections.Dials)

	if res.Sessions.Rejected != vus-capacity {
		t.Errorf("sessions.rejected = %d, want %d", res.Sessions.Rejected, vus-capacity)
	}
	rejected := after.RejectedSessions - before.RejectedSessions
	// Tomcat counts refusals with a plain ++ on a shared field (ManagerBase
	// rejectedSessions), so concurrent refusals can lose an increment: its
	// count may fall short of ours by a hair, never exceed it.
	got := res.ErrorsByKind["session_rejected"]
	if short := got - rejected; short < 0 || short > max(2, got/200) || got < vus-capacity {
		t.Errorf("errors_by_kind.session_rejected = %d, Tomcat rejectedSessions grew by %d; want equal (Tomcat may lose up to 0.5%%) and >= %d", got, rejected, vus-capacity)
	}
	for kind, k := range res.ErrorsByKind {
		if kind != "session_rejected" {
			t.Errorf("errors_by_kind.%s = %d, want only session_rejected", kind, k)
		}
	}
	if after.MaxActive != capacity || after.ActiveSessions != capacity {
		t.Errorf("Tomcat maxActive = %d, activeSessions = %d; want %d", after.MaxActive, after.ActiveSessions, capacity)
	}
	if res.Sessions.Established != capacity || res.Sessions.Unique != capacity {
		t.Errorf("sessions %+v, want %d established and unique", res.Sessions, capacity)
	}
	lp := endpoint(t, res, "login-page")
	if lp.Status["500"] != got || lp.ErrorsByKind["session_rejected"] != got {
		t.Errorf("login-page: status %v, errors %v; want every 500 (%d) classified session_rejected", lp.Status, lp.ErrorsByKind, got)
	}
	for _, name := range []string{"me", "cart"} {
		if e := endpoint(t, res, name); e.Errors != 0 || e.Requests < capacity {
			t.Errorf("%s: %d requests, %d errors %v; the admitted VUs should work normally", name, e.Requests, e.Errors, e.ErrorsByKind)
		}
	}
	if res.Iterations.Completed < capacity {
		t.Errorf("%d iterations, want >= %d", res.Iterations.Completed, capacity)
	}
}

// timeoutPlan: each VU sends one request, thinks longer than the
// 1-minute session timeout, and sends it again: the session is gone.
const timeoutPlan = `
target: TARGET
users: USERS
session: {login: spring-form, login_path: /login, relogin: true, end: abandon, retry_login: 1s}
scenario:
  - name: STEP
    get: PATH
    headers: {Accept: ACCEPT}
    check: {status: 200, BODY}
think: 64s
timeout: 20s
load: {vus: 50, duration: 70s, graceful_stop: 1s}
`

// With a 1-minute timeout and processExpiresFrequency=1, VUs that think
// 64 s find their session gone: an API call gets 401, a page a redirect
// to /login. They log in again and the retried step succeeds; Tomcat's
// expiredSessions matches the relogins.
func TestSessionTimeout(t *testing.T) {
	t.Parallel()
	const vus = 50
	in := instance(t)
	csv := filepath.Join(t.TempDir(), "users.csv")
	if err := tomcat.WriteUsersCSV(csv, vus+1, vus, in.Password); err != nil {
		t.Fatal(err)
	}
	plan := func(users, step, path, accept, body string) *profiles.Plan {
		r := strings.NewReplacer("TARGET", in.URL+"/short", "USERS", users, "STEP", step,
			"PATH", path, "ACCEPT", accept, "BODY", body)
		return inline(t, r.Replace(timeoutPlan))
	}
	plans := map[string]*profiles.Plan{
		// user1..user50
		"page": plan(`{template: {username: "user{{.VU}}", password: secret}}`, "home", "/", "text/html",
			"body_contains: Welcome"),
		// user51..user100
		"api": plan(`{csv: `+csv+`}`, "me", "/api/me", "application/json",
			`json: {"$.user": "{{.User}}"}`),
	}
	before := counters(t, in, "/short")
	results := map[string]*stats.Results{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, p := range plans {
		wg.Go(func() {
			res := run(t, p, 2*time.Minute)
			mu.Lock()
			results[name] = res
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	after := counters(t, in, "/short")
	t.Logf("Tomcat /short before %+v after %+v", before, after)

	var relogins int64
	for name, step := range map[string]string{"page": "home", "api": "me"} {
		res := results[name]
		t.Logf("%s: sessions %+v, iterations %+v", name, res.Sessions, res.Iterations)
		s := res.Sessions
		relogins += s.Relogins
		if s.Relogins < vus*9/10 || s.Relogins > vus || s.Expired != s.Relogins {
			t.Errorf("%s: relogins = %d, expired = %d; want equal, about %d (every VU once)", name, s.Relogins, s.Expired, vus)
		}
		if s.Established != vus+s.Relogins {
			t.Errorf("%s: established = %d, want VUs + relogins = %d", name, s.Established, vus+s.Relogins)
		}
		e := endpoint(t, res, step)
		lost := e.ErrorsByKind["session_lost"]
		if lost != s.Relogins {
			t.Errorf("%s: %d session_lost samples, %d relogins; want equal", step, lost, s.Relogins)
		}
		// Each lost session was seen the way Spring signals it.
		sign := map[string]string{"home": "302", "me": "401"}[step]
		if e.Status[sign] != lost {
			t.Errorf("%s: status %v; want %d × %s (the lost sessions)", step, e.Status, lost, sign)
		}
		// Every VU's first request, and its retry after the relogin, passed.
		if e.Status["200"] != vus+lost {
			t.Errorf("%s: %d × 200, want %d (first requests and retries after relogin)", step, e.Status["200"], vus+lost)
		}
		if res.Iterations.Completed < vus {
			t.Errorf("%s: %d iterations completed, want >= %d", name, res.Iterations.Completed, vus)
		}
		noErrors(t, res)
	}
	// Tomcat expires a session when the sweep finds it idle or when a
	// request finds it so, whichever comes first, and counts it once
	// either way. The sweep may also end the session of a VU that had not
	// come back before the run ended (its relogin is not counted): that is
	// the slack, at most one session per VU.
	expired := after.ExpiredSessions - before.ExpiredSessions
	if relogins == 0 || expired < relogins || expired > 2*vus {
		t.Errorf("Tomcat expiredSessions grew by %d, relogins = %d; want relogins > 0 and relogins <= expired <= %d", expired, relogins, 2*vus)
	}
	if after.RejectedSessions != before.RejectedSessions {
		t.Errorf("Tomcat rejected sessions: %+v", after)
	}
}

// end: logout gives every session back (Tomcat's activeSessions returns
// to its baseline); end: abandon leaves them all to the timeout. Both
// runs use the shipped sessionapp plan, each in its own context.
func TestLogoutVsAbandon(t *testing.T) {
	t.Parallel()
	const vus = 200
	in := instance(t)
	type outcome struct {
		before, after, later tomcat.Counters
		res                  *stats.Results
	}
	out := map[vuser.End]*outcome{}
	var wg sync.WaitGroup
	for _, end := range []vuser.End{vuser.EndLogout, vuser.EndAbandon} {
		o := &outcome{}
		out[end] = o
		ctx := "/" + string(end)
		p := examplePlan(t, "sessionapp.yaml", in.URL+ctx, "")
		p.Scenarios[0].Script.Session.End = end
		if err := p.Override(vus, 6*time.Second); err != nil {
			t.Fatal(err)
		}
		o.before = counters(t, in, ctx)
		wg.Go(func() {
			o.res = run(t, p, 2*time.Minute)
			o.after = counters(t, in, ctx)
			time.Sleep(3 * time.Second)
			o.later = counters(t, in, ctx)
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for end, o := range out {
		t.Logf("%s: Tomcat before %+v after %+v 3 s later %+v", end, o.before, o.after, o.later)
		t.Logf("%s: sessions %+v", end, o.res.Sessions)
		s := o.res.Sessions
		if s.Established != vus || s.Unique != vus || s.RotatedOnLogin != vus {
			t.Errorf("%s: sessions %+v, want established = unique = rotated_on_login = %d", end, s, vus)
		}
		if d := o.after.SessionCounter - o.before.SessionCounter; d != vus {
			t.Errorf("%s: Tomcat sessionCounter grew by %d, want %d", end, d, vus)
		}
		noErrors(t, o.res)
	}
	lo, ab := out[vuser.EndLogout], out[vuser.EndAbandon]
	if lo.after.ActiveSessions != lo.before.ActiveSessions || lo.later.ActiveSessions != lo.before.ActiveSessions {
		t.Errorf("logout: Tomcat activeSessions %d -> %d (3 s later %d), want back to the baseline", lo.before.ActiveSessions, lo.after.ActiveSessions, lo.later.ActiveSessions)
	}
	// Tomcat counts an invalidated session as expired.
	if d := lo.after.ExpiredSessions - lo.before.ExpiredSessions; d != vus {
		t.Errorf("logout: Tomcat expiredSessions grew by %d, want %d (one invalidation per VU)", d, vus)
	}
	if e := endpoint(t, lo.res, "logout"); e.Requests != vus || e.Status["302"] != vus {
		t.Errorf("logout: %d requests, status %v; want %d × 302", e.Requests, e.Status, vus)
	}
	if d := ab.later.ActiveSessions - ab.before.ActiveSessions; ab.after.ActiveSessions-ab.before.ActiveSessions != vus || d != vus {
		t.Errorf("abandon: Tomcat activeSessions %d -> %d (3 s later %d), want +%d, held until the timeout", ab.before.ActiveSessions, ab.after.ActiveSessions, ab.later.ActiveSessions, vus)
	}
	if ab.later.ExpiredSessions != ab.before.ExpiredSessions {
		t.Errorf("abandon: Tomcat expired %d sessions, want none", ab.later.ExpiredSessions-ab.before.ExpiredSessions)
	}
}

// The json-token plan runs against the demo target's POST /api/token:
// one token per VU, no server session, every answer names the VU's user.
func TestJSONTokenPlan(t *testing.T) {
	t.Parallel()
	const vus = 200
	tg := target.New(target.Config{Users: vus})
	srv, err := tg.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p := examplePlan(t, "json-token.yaml", srv.URL(), "")
	if err := p.Override(0, 5*time.Second); err != nil { // the plan's shape, compressed
		t.Fatal(err)
	}
	res := run(t, p, time.Minute)
	if res == nil {
		return
	}
	st := tg.Stats()
	t.Logf("target %+v; sessions %+v", st, res.Sessions)
	if st.Tokens != vus || st.Logins != vus || st.Created != 0 {
		t.Errorf("target: %d tokens, %d logins, %d sessions; want %d, %d, 0", st.Tokens, st.Logins, st.Created, vus, vus)
	}
	if s := res.Sessions; s.Established != vus || s.Unique != vus || s.Relogins != 0 {
		t.Errorf("sessions %+v, want %d established and unique, no relogins", s, vus)
	}
	if e := endpoint(t, res, "me"); e.Requests < vus {
		t.Errorf("me: %d requests, want >= %d", e.Requests, vus)
	}
	noErrors(t, res)
}

// The helper starts an instance with the examples app's settings, reads
// its counters, expires sessions through the text API, and stops Tomcat
// by PID when the test ends.
func TestStartStop(t *testing.T) {
	t.Parallel()
	var in *tomcat.Instance
	t.Run("start", func(t *testing.T) {
		in = tomcat.Start(t, tomcat.Config{Users: 3, Examples: tomcat.Settings{MaxActiveSessions: 2}})
		page := in.URL + "/examples/jsp/security/protected/index.jsp"
		get := func() (int, string) {
			jar, _ := cookiejar.New(nil)
			cl := &http.Client{Jar: jar, Timeout: 20 * time.Second}
			resp, err := cl.Get(page)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		for range 2 {
			if code, _ := get(); code != 200 {
				t.Fatalf("GET protected page: %d, want 200 (the login form)", code)
			}
		}
		if code, body := get(); code != 500 || !strings.Contains(body, "Too many active sessions") {
			t.Errorf("third session: %d, want 500 Too many active sessions", code)
		}
		c := counters(t, in, "/examples")
		if c.MaxActiveSessions != 2 || c.ActiveSessions != 2 || c.RejectedSessions != 1 || c.SessionCounter != 2 {
			t.Errorf("counters %+v, want cap 2, 2 active, 1 rejected, 2 created", c)
		}
		if err := in.ExpireSessions("/examples"); err != nil {
			t.Fatal(err)
		}
		if c := counters(t, in, "/examples"); c.ActiveSessions != 0 || c.ExpiredSessions != 2 {
			t.Errorf("after expire: %+v, want 0 active, 2 expired", c)
		}
	})
	if in == nil {
		t.SkipNow() // skipped or failed before the start
	}
	if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", in.PID)); strings.Contains(string(b), "catalina.base="+in.Dir) {
		t.Errorf("Tomcat (PID %d) still runs after its test ended", in.PID)
	}
}

// formAuthPlan: tomcat-form on a copy of the examples app, then only an
// unprotected page, which never touches the session.
const formAuthPlan = `
target: TARGET
users: {template: {username: "user{{.VU}}", password: PASSWORD}}
session: {login: tomcat-form, protected_path: /formauth/jsp/security/protected/index.jsp, end: abandon}
scenario:
  - {name: hello, get: /formauth/index.html, check: {status: 200}}
think: 200ms
load: {vus: 20, duration: 3s}
`

// With authenticationSessionTimeout="10" and processExpiresFrequency="1",
// a session left in the FORM login phase dies within ~20 s; the login
// follows the 303 to the saved request, so the session has the app's
// 30-minute timeout: 30 s after the run Tomcat still holds all 20.
func TestFormLoginLeavesAuthPhase(t *testing.T) {
	t.Parallel()
	const n = 20
	in := instance(t)
	text := strings.NewReplacer("TARGET", in.URL, "PASSWORD", in.Password).Replace(formAuthPlan)
	before := counters(t, in, "/formauth")
	res := run(t, inline(t, text), time.Minute)
	if res == nil {
		return
	}
	if s := res.Sessions; s.Established != n || s.LoginFailures != 0 || s.Relogins != 0 {
		t.Errorf("sessions %+v, want %d established, no failures or relogins", s, n)
	}
	if e := endpoint(t, res, "login"); e.Requests != n || e.Status["200"] != n {
		t.Errorf("login: %d requests, status %v; want %d, each ending at the protected page (200)", e.Requests, e.Status, n)
	}
	noErrors(t, res)
	time.Sleep(30 * time.Second)
	after := counters(t, in, "/formauth")
	t.Logf("Tomcat /formauth before %+v, 30 s after the run %+v", before, after)
	if d := after.ActiveSessions - before.ActiveSessions; d != n {
		t.Errorf("Tomcat holds %d more sessions 30 s after the run, want %d (end: abandon, 30-minute timeout)", d, n)
	}
}

// On a context with cookies="false" Tomcat tracks sessions by URL
// rewriting only (;jsessionid=): with url_rewriting the VUs keep their
// sessions, and unique equals the sessions Tomcat created.
func TestURLRewritingSessions(t *testing.T) {
	t.Parallel()
	const n = 20
	in := instance(t)
	text := strings.NewReplacer("TARGET", in.URL, "PASSWORD", in.Password).Replace(`
target: TARGET
users: {template: {username: "user{{.VU}}", password: PASSWORD}}
session:
  login: tomcat-form
  protected_path: /cookieless/jsp/security/protected/index.jsp
  end: abandon
  url_rewriting: true
scenario:
  - {name: protected, get: /cookieless/jsp/security/protected/index.jsp, check: {status: 200, body_contains: "You are logged in as remote user"}}
  - {name: session-example, get: /cookieless/servlets/servlet/SessionExample, check: {status: 200, body_contains: "Session ID:"}}
think: 100ms
load: {vus: 20, duration: 3s}
`)
	before := counters(t, in, "/cookieless")
	res := run(t, inline(t, text), time.Minute)
	if res == nil {
		return
	}
	after := counters(t, in, "/cookieless")
	t.Logf("Tomcat /cookieless before %+v after %+v; sessions %+v", before, after, res.Sessions)
	s := res.Sessions
	created := after.SessionCounter - before.SessionCounter
	if !s.Known() || s.Unique != created || s.Unique != n || s.Established != n || s.RotatedOnLogin != n {
		t.Errorf("sessions %+v, Tomcat created %d: want unique = sessionCounter = established = rotated_on_login = %d", s, created, n)
	}
	if s.Relogins != 0 || res.ErrorsByKind["session_lost"] != 0 {
		t.Errorf("relogins %d, session_lost %d: want none", s.Relogins, res.ErrorsByKind["session_lost"])
	}
	if e := endpoint(t, res, "protected"); e.Requests < n {
		t.Errorf("protected: %d requests, want >= %d", e.Requests, n)
	}
	noErrors(t, res)
}
