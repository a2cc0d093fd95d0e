package profiles_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
)

// startTarget runs the demo target on a free loopback port for one test.
func startTarget(t *testing.T, c target.Config) (*target.Target, *url.URL) {
	t.Helper()
	tg := target.New(c)
	srv, err := tg.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return tg, u
}

// plan parses a plan text aimed at u.
func plan(t *testing.T, u *url.URL, text string) *profiles.Plan {
	t.Helper()
	text = strings.ReplaceAll(text, "TARGET", u.String())
	p, err := profiles.Parse(t.Name()+".yaml", []byte(text), t.TempDir())
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

// engines runs f once per HTTP engine, as a subtest named after it: the
// session semantics must not depend on the engine.
func engines(t *testing.T, f func(t *testing.T, engine string)) {
	for _, e := range []string{pool.EngineNetHTTP, pool.EngineFastHTTP} {
		t.Run(e, func(t *testing.T) { f(t, e) })
	}
}

func run(t *testing.T, p *profiles.Plan) *stats.Results {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := profiles.Run(ctx, p, profiles.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the run did not end by itself")
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

// springPlan logs in with the spring-form preset and checks that every
// API answer names the VU's own user.
const springPlan = `
name: sessions
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, login_path: /login, relogin: true, end: %s, retry_login: %s}
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
    extract: {cart: {json: "$.id"}}
  - name: view-cart
    get: "/api/cart/{{.Var.cart}}"
    headers: {Accept: application/json}
    check: {status: 200, json: {"$.item": "7"}}
think: {min: %s, max: %s}
timeout: 20s
http: {max_conns_per_host: 200}
load: {vus: %d, duration: %s, graceful_stop: 20s}
`

// Every one of 2,000 VUs gets its own session, counted by the server.
func TestTwoThousandSessions(t *testing.T) { engines(t, testTwoThousandSessions) }

func testTwoThousandSessions(t *testing.T, engine string) {
	const n = 2000
	tg, u := startTarget(t, target.Config{Users: n})
	p := plan(t, u, fmt.Sprintf(springPlan, "abandon", "5s", "200ms", "400ms", n, "8s")) // room for 2,000 logins under -race on a busy machine
	p.Pool.Engine = engine
	res := run(t, p)

	st := tg.Stats()
	if st.CreatedByLogin != n {
		t.Errorf("target: %d sessions created by login, want %d", st.CreatedByLogin, n)
	}
	users := tg.AuthenticatedUsers()
	if len(users) != n {
		t.Errorf("target: %d distinct authenticated users, want %d", len(users), n)
	}
	for name, k := range users {
		if k != 1 {
			t.Errorf("target: user %s authenticated %d times, want 1", name, k)
		}
	}
	if st.Authenticated != n {
		t.Errorf("target: %d authenticated sessions active at the end (abandon), want %d", st.Authenticated, n)
	}
	s := res.Sessions
	if s.Established != n || s.Unique != n || s.RotatedOnLogin != n {
		t.Errorf("results sessions = %+v, want established = unique = rotated_on_login = %d", s, n)
	}
	for _, name := range []string{"me", "cart", "view-cart"} {
		e := endpoint(t, res, name)
		if e.Requests < n || e.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors (%v); want >= %d and 0", name, e.Requests, e.Errors, e.ErrorsByKind, n)
		}
	}
	if res.Iterations.Completed < n {
		t.Errorf("%d iterations, want >= %d", res.Iterations.Completed, n)
	}
}

// reloginPlan has no step that depends on server state made earlier in
// the iteration: after a re-login the step is retried once in the new
// session, where a cart made in the old one does not exist.
const reloginPlan = `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, relogin: true, end: logout}
scenario:
  - name: me
    get: /api/me
    headers: {Accept: application/json}
    check: {status: 200, json: {"$.user": "{{.User}}"}}
  - name: home
    get: /
    check: {status: 200, body_contains: Welcome}
  - name: cart
    post: /api/cart
    json: {item: 7}
    check: {status: 200, json: {"$.user": "{{.User}}"}}
think: {min: 50ms, max: 100ms}
load: {vus: %d, duration: 3s}
`

// When the server drops every session mid-run, VUs log in again and no
// step fails because of it. Both ways Spring signals a lost session are
// exercised: 401 for Accept: application/json, a redirect to /login else.
func TestRelogin(t *testing.T) { engines(t, testRelogin) }

func testRelogin(t *testing.T, engine string) {
	const n = 50
	tg, u := startTarget(t, target.Config{Users: n})
	p := plan(t, u, fmt.Sprintf(reloginPlan, n))
	p.Pool.Engine = engine
	go func() {
		time.Sleep(1200 * time.Millisecond)
		tg.ExpireAll()
	}()
	res := run(t, p)

	if res.Sessions.Relogins < n {
		t.Errorf("relogins = %d, want >= %d (every VU lost its session once)", res.Sessions.Relogins, n)
	}
	if res.Sessions.Expired != res.Sessions.Relogins {
		t.Errorf("expired = %d, relogins = %d: every lost session should be re-established", res.Sessions.Expired, res.Sessions.Relogins)
	}
	if got, want := res.Sessions.Established, int64(n)+res.Sessions.Relogins; got != want {
		t.Errorf("established = %d, want VUs + relogins = %d", got, want)
	}
	lost := int64(0)
	for _, name := range []string{"me", "home", "cart", "login", "login-page", "logout"} {
		e := endpoint(t, res, name)
		lost += e.ErrorsByKind["session_lost"]
		if e.Errors != 0 {
			t.Errorf("%s: %d errors %v, want none", name, e.Errors, e.ErrorsByKind)
		}
	}
	// Each VU's first request after the expiry is any of the three steps;
	// that none of 50 met a 401 (me) or a redirect (home) is ~1e-9 likely.
	if endpoint(t, res, "me").ErrorsByKind["session_lost"] == 0 || endpoint(t, res, "home").ErrorsByKind["session_lost"] == 0 {
		t.Errorf("want lost sessions seen both as 401 (me) and as a redirect to /login (home)")
	}
	if lost != res.Sessions.Expired {
		t.Errorf("session_lost samples = %d, sessions.expired = %d; want equal", lost, res.Sessions.Expired)
	}
	if st := tg.Stats(); st.Authenticated != 0 || st.Logouts < n {
		t.Errorf("target after logout: %d authenticated, %d logouts; want 0 and >= %d", st.Authenticated, st.Logouts, n)
	}
}

// With a cap of 300 sessions, 200 of 500 VUs are refused; each refusal is
// counted once per VU in sessions.rejected and every refused request in
// errors_by_kind.session_rejected, equal to the server's own counter.
func TestSessionCap(t *testing.T) { engines(t, testSessionCap) }

func testSessionCap(t *testing.T, engine string) {
	const vus, capacity = 500, 300
	tg, u := startTarget(t, target.Config{Users: vus, MaxSessions: capacity})
	p := plan(t, u, fmt.Sprintf(springPlan, "abandon", "1s", "100ms", "200ms", vus, "3500ms"))
	p.Pool.Engine = engine
	res := run(t, p)

	st := tg.Stats()
	if res.Sessions.Rejected != vus-capacity {
		t.Errorf("sessions.rejected = %d, want %d", res.Sessions.Rejected, vus-capacity)
	}
	if got := res.ErrorsByKind["session_rejected"]; got != st.Rejected {
		t.Errorf("errors_by_kind.session_rejected = %d, target rejected = %d; want equal", got, st.Rejected)
	}
	// Refused VUs back off 1s between attempts for 3.5s: at most 4-5
	// attempts each, not a hammering loop; and they did retry.
	if st.Rejected < 2*(vus-capacity) || st.Rejected > 5*(vus-capacity) {
		t.Errorf("target rejected %d requests; want between %d and %d (retry with backoff)", st.Rejected, 2*(vus-capacity), 5*(vus-capacity))
	}
	if res.Sessions.Established != capacity || res.Sessions.Unique != capacity {
		t.Errorf("sessions = %+v, want %d established and unique", res.Sessions, capacity)
	}
	if st.CreatedByLogin != capacity {
		t.Errorf("target: %d logins, want %d", st.CreatedByLogin, capacity)
	}
	if e := endpoint(t, res, "me"); e.Errors != 0 || e.Requests < capacity {
		t.Errorf("me: %d requests, %d errors; the admitted VUs should run normally", e.Requests, e.Errors)
	}
}

// The capacity search stops at the first step the server refuses
// sessions in, then bisects down to the cap: the knee is the cap.
func TestSearchSessionsCap(t *testing.T) {
	tg, u := startTarget(t, target.Config{Users: 1000, MaxSessions: 250})
	p := plan(t, u, fmt.Sprintf(springPlan, "logout", "1s", "50ms", "100ms", 1, "1s"))
	res, err := profiles.SearchSessions(context.Background(), p, profiles.SearchOptions{Start: 100, Step: 100, Max: 1000, Hold: time.Second, Ramp: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := profiles.WriteSearch(&out, res); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	// Steps 100, 200 hold; 300 breaks; bisection: 250 holds (the cap),
	// 275, 262, 256 break: within 10 (step/10) of the cap.
	if res.Knee != 250 || !strings.Contains(res.Broke, "refused sessions to") {
		t.Errorf("knee %d after %d steps (%s); want 250, the cap, broken by refusals", res.Knee, len(res.Steps), res.Broke)
	}
	if st := tg.Stats(); st.Authenticated != 0 {
		t.Errorf("%d sessions left on the target: every step must log out", st.Authenticated)
	}
}

// A threshold with abort_on_fail stops the run once its grace has passed
// and it fails on the figures so far; one without keeps its verdict for
// the end.
func TestAbortOnFail(t *testing.T) {
	t.Parallel()
	_, u := startTarget(t, target.Config{Users: 10, ServiceTime: 5 * time.Millisecond})
	p := plan(t, u, `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form}
scenario: [{name: me, get: /api/me, headers: {Accept: application/json}}]
think: 10ms
load: {vus: 5, duration: 60s}
thresholds:
  "me p99": {condition: "< 1ms", abort_on_fail: true, grace: 2s}
  "errors": "< 1%"
`)
	start := time.Now()
	res := run(t, p)
	took := time.Since(start)
	w := strings.Join(res.Warnings, "\n")
	t.Logf("stopped after %s: %s", took.Round(time.Millisecond), w)
	if took > 15*time.Second || !strings.Contains(w, `run aborted after`) || !strings.Contains(w, "me p99") {
		t.Errorf("run took %s with warnings %q: want an abort soon after the 2 s grace", took, w)
	}
	if e := endpoint(t, res, "me"); e.Requests == 0 {
		t.Error("no requests before the abort")
	}
}

// A custom login (login: steps) that gets no session cookie (a bearer
// token kept in a variable) shows no session token: its sessions are
// established, but unique and rotated_on_login are unknown (null, with a
// note), never made up.
func TestCookielessLoginSteps(t *testing.T) {
	t.Parallel()
	_, u := startTarget(t, target.Config{Users: 5})
	p := plan(t, u, `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session:
  login: steps
  login_steps:
    - name: token
      post: /api/token
      json: {username: "{{.User}}", password: "{{.Password}}"}
      check: {status: 200}
      extract: {tok: {json: "$.token"}}
scenario:
  - name: me
    get: /api/me
    headers: {Authorization: "Bearer {{.Var.tok}}", Accept: application/json}
    check: {status: 200, json: {"$.user": "{{.User}}"}}
load: {vus: 5, duration: 1s}
`)
	res := run(t, p)
	if s := res.Sessions; s.Established != 5 || s.Unseen != 5 || s.Known() || s.Unique != 0 {
		t.Errorf("sessions %+v: want 5 established, all unseen, unique unknown", s)
	}
	b, err := json.Marshal(res.Sessions)
	if err != nil || !strings.Contains(string(b), `"unique":null`) || !strings.Contains(string(b), `"note":`) {
		t.Errorf("sessions json %s (%v): want unique null with a note", b, err)
	}
	if e := endpoint(t, res, "me"); e.Errors != 0 || e.Requests == 0 {
		t.Errorf("me: %d requests, %d errors %v", e.Requests, e.Errors, e.ErrorsByKind)
	}
}
