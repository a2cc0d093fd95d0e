package target

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// testClock replaces the target's clock so expiry tests never sleep.
func testClock(tg *Target) *atomic.Int64 {
	var c atomic.Int64
	tg.now = c.Load
	return &c
}

func newTarget(t *testing.T, c Config) (*Target, string) {
	t.Helper()
	return serve(t, New(c))
}

func serve(t *testing.T, tg *Target) (*Target, string) {
	t.Helper()
	srv := httptest.NewServer(tg)
	t.Cleanup(srv.Close)
	return tg, srv.URL
}

// newClient is one browser: its own cookie jar and connections; it does
// not follow redirects so tests see each 302.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Jar:           jar,
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type reply struct {
	status int
	header http.Header
	body   string
}

// do sends one request; hdr is name, value pairs.
func do(t *testing.T, c *http.Client, method, u, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

var csrfRE = regexp.MustCompile(`<input name="_csrf" type="hidden" value="([^"]+)"/>`)

// loginPage GETs /login and returns the CSRF token of the form.
func loginPage(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	r := do(t, c, "GET", base+"/login", "", "Accept", "text/html")
	if r.status != 200 {
		t.Fatalf("GET /login: %d %q", r.status, r.body)
	}
	m := csrfRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no _csrf input in %q", r.body)
	}
	return m[1]
}

func postLogin(t *testing.T, c *http.Client, base, user, pass, csrf string) reply {
	t.Helper()
	form := url.Values{"username": {user}, "password": {pass}, "_csrf": {csrf}}.Encode()
	return do(t, c, "POST", base+"/login", form, "Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html")
}

// sessionID is the JSESSIONID the client's jar holds for base.
func sessionID(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == CookieName {
			return k.Value
		}
	}
	return ""
}

// loggedIn returns a client logged in as user.
func loggedIn(t *testing.T, base, user string) *http.Client {
	t.Helper()
	c := newClient(t)
	if r := postLogin(t, c, base, user, Password, loginPage(t, c, base)); r.status != 302 || r.header.Get("Location") != "/" {
		t.Fatalf("login %s: %d %v", user, r.status, r.header)
	}
	return c
}

func withCookie(id string) []string { return []string{"Cookie", CookieName + "=" + id} }

var sidRE = regexp.MustCompile(`^[0-9A-F]{32}$`)

func TestLoginFlow(t *testing.T) {
	t.Parallel()
	tg, base := newTarget(t, Config{Users: 10})
	c := newClient(t)

	r := do(t, c, "GET", base+"/login", "", "Accept", "text/html")
	if r.status != 200 {
		t.Fatalf("GET /login = %d", r.status)
	}
	sc := r.header.Get("Set-Cookie")
	if !strings.HasSuffix(sc, "; Path=/; HttpOnly") || !strings.HasPrefix(sc, CookieName+"=") {
		t.Errorf("Set-Cookie = %q", sc)
	}
	pre := sessionID(t, c, base)
	if !sidRE.MatchString(pre) {
		t.Fatalf("session id %q is not 32 uppercase hex", pre)
	}
	csrf := csrfRE.FindStringSubmatch(r.body)[1]
	// A second GET keeps the session and sets no cookie.
	if r2 := do(t, c, "GET", base+"/login", ""); r2.header.Get("Set-Cookie") != "" || sessionID(t, c, base) != pre {
		t.Errorf("second GET /login changed the session")
	}

	r = postLogin(t, c, base, "user7", Password, csrf)
	if r.status != 302 || r.header.Get("Location") != "/" {
		t.Fatalf("POST /login = %d %v", r.status, r.header)
	}
	post := sessionID(t, c, base)
	if post == pre || !sidRE.MatchString(post) {
		t.Fatalf("session id after login %q (before %q): want a new id", post, pre)
	}

	anon := newClient(t)
	if r := do(t, anon, "GET", base+"/", "", withCookie(pre)...); r.status != 302 || r.header.Get("Location") != "/login" {
		t.Errorf("old id: GET / = %d %v, want 302 /login", r.status, r.header)
	}
	if r := do(t, anon, "GET", base+"/api/me", "", append(withCookie(pre), "Accept", "application/json")...); r.status != 401 {
		t.Errorf("old id: /api/me = %d", r.status)
	}
	if r := do(t, c, "GET", base+"/", ""); r.status != 200 || !strings.Contains(r.body, "Welcome user7") {
		t.Errorf("GET / = %d %q", r.status, r.body)
	}
	if r := do(t, c, "GET", base+"/api/me", ""); r.status != 200 || r.body != `{"user":"user7"}` {
		t.Errorf("/api/me = %d %q", r.status, r.body)
	}

	var cat struct {
		User  string
		Items []struct {
			ID   int
			Name string
		}
	}
	r = do(t, c, "GET", base+"/api/catalog", "")
	if err := json.Unmarshal([]byte(r.body), &cat); err != nil || cat.User != "user7" || len(cat.Items) < 3 || cat.Items[0].ID != 1 {
		t.Errorf("/api/catalog = %d %q (%v)", r.status, r.body, err)
	}
	for i, body := range []string{`{"item":3}`, `{"item":"4"}`} {
		r = do(t, c, "POST", base+"/api/cart", body, "Content-Type", "application/json")
		want := fmt.Sprintf(`{"user":"user7","id":"cart-%d","item":%d}`, i+1, i+3)
		if r.status != 200 || r.body != want {
			t.Errorf("POST /api/cart %s = %d %q, want %q", body, r.status, r.body, want)
		}
	}
	if r = do(t, c, "GET", base+"/api/cart/cart-1", ""); r.body != `{"user":"user7","id":"cart-1","item":3}` {
		t.Errorf("GET cart-1 = %d %q", r.status, r.body)
	}
	for _, id := range []string{"cart-3", "cart-0", "x"} {
		if r = do(t, c, "GET", base+"/api/cart/"+id, ""); r.status != 404 {
			t.Errorf("GET %s = %d", id, r.status)
		}
	}
	if r = do(t, c, "POST", base+"/api/cart", `{"item":"x"}`); r.status != 400 {
		t.Errorf("bad item = %d", r.status)
	}

	st := tg.Stats()
	if st.Created != 1 || st.CreatedByLogin != 1 || st.Active != 1 || st.Authenticated != 1 || st.Logins != 1 || st.MaxActive != 1 {
		t.Errorf("stats after login = %+v", st)
	}
	if got := tg.AuthenticatedUsers(); len(got) != 1 || got["user7"] != 1 {
		t.Errorf("AuthenticatedUsers = %v", got)
	}

	if r = do(t, c, "POST", base+"/logout", ""); r.status != 302 || r.header.Get("Location") != "/login?logout" {
		t.Errorf("logout = %d %v", r.status, r.header)
	}
	if r = do(t, c, "GET", base+"/api/me", ""); r.status != 302 || r.header.Get("Location") != "/login" {
		t.Errorf("/api/me after logout = %d", r.status)
	}
	st = tg.Stats()
	if st.Logouts != 1 || st.Active != 0 || st.Authenticated != 0 || st.Expired != 0 {
		t.Errorf("stats after logout = %+v", st)
	}
}

func TestLoginRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, user, pass string
		csrf             func(own, other string) string
		noSession        bool
		status           int
		location         string
	}{
		{name: "wrong password", user: "user1", pass: "nope", status: 302, location: "/login?error"},
		{name: "unknown user", user: "user11", pass: Password, status: 302, location: "/login?error"},
		{name: "user0", user: "user0", pass: Password, status: 302, location: "/login?error"},
		{name: "leading zero", user: "user01", pass: Password, status: 302, location: "/login?error"},
		{name: "bad csrf", user: "user1", pass: Password, csrf: func(string, string) string { return "garbage" }, status: 403},
		{name: "missing csrf", user: "user1", pass: Password, csrf: func(string, string) string { return "" }, status: 403},
		{name: "tampered csrf", user: "user1", pass: Password, csrf: func(own, _ string) string { return tamper(own) }, status: 403},
		{name: "other session's csrf", user: "user1", pass: Password, csrf: func(_, other string) string { return other }, status: 403},
		{name: "no session", user: "user1", pass: Password, noSession: true, status: 403},
		{name: "unpadded csrf ok", user: "user1", pass: Password, csrf: func(own, _ string) string { return strings.TrimRight(own, "=") }, status: 302, location: "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg, base := newTarget(t, Config{Users: 10})
			c, other := newClient(t), newClient(t)
			own, otherTok := loginPage(t, c, base), loginPage(t, other, base)
			tok := own
			if tc.csrf != nil {
				tok = tc.csrf(own, otherTok)
			}
			if tc.noSession {
				c = newClient(t)
			}
			before := sessionID(t, c, base)
			r := postLogin(t, c, base, tc.user, tc.pass, tok)
			if r.status != tc.status || r.header.Get("Location") != tc.location {
				t.Fatalf("POST /login = %d %q, want %d %q", r.status, r.header.Get("Location"), tc.status, tc.location)
			}
			st := tg.Stats()
			switch {
			case tc.status == 403:
				if st.CSRFFailures != 1 || st.Logins != 0 {
					t.Errorf("stats = %+v", st)
				}
			case tc.location == "/login?error":
				if st.LoginFailures != 1 || st.Logins != 0 || st.Authenticated != 0 || sessionID(t, c, base) != before {
					t.Errorf("stats = %+v", st)
				}
			default:
				if st.Logins != 1 {
					t.Errorf("stats = %+v", st)
				}
			}
		})
	}
}

func TestCSRFTokenChangesEveryRender(t *testing.T) {
	t.Parallel()
	tg, base := newTarget(t, Config{Users: 3})
	c := newClient(t)
	metaRE := regexp.MustCompile(`<meta name="_csrf" content="([^"]+)"/>`)
	seen := map[string]bool{}
	for range 5 {
		r := do(t, c, "GET", base+"/login", "")
		tok, meta := csrfRE.FindStringSubmatch(r.body)[1], metaRE.FindStringSubmatch(r.body)[1]
		if seen[tok] || seen[meta] || tok == meta {
			t.Fatalf("token repeated: %q", tok)
		}
		seen[tok], seen[meta] = true, true
	}
	// Every token rendered verifies: a wrong password with it is a login
	// failure (302 ?error), not a CSRF failure (403).
	for tok := range seen {
		if r := postLogin(t, c, base, "user1", "wrong", tok); r.status != 302 {
			t.Errorf("token %q: %d", tok, r.status)
		}
	}
	if st := tg.Stats(); st.CSRFFailures != 0 || st.LoginFailures != int64(len(seen)) || st.Created != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestLoginPageFoolsNaiveRegex(t *testing.T) {
	t.Parallel()
	_, base := newTarget(t, Config{})
	c := newClient(t)
	body := do(t, c, "GET", base+"/login?error", "").body
	first := regexp.MustCompile(`value="([^"]*)"`).FindStringSubmatch(body)[1]
	if first == csrfRE.FindStringSubmatch(body)[1] {
		t.Errorf("the first value= on the page is the token")
	}
	if !strings.Contains(body, "Bad credentials") || !strings.Contains(body, `<form class="login-form" method="post" action="/login">`) {
		t.Errorf("page: %s", body)
	}
}

func TestSessionCap(t *testing.T) {
	t.Parallel()
	tg, base := newTarget(t, Config{Users: 10, MaxSessions: 3})
	cs := []*http.Client{newClient(t), newClient(t), newClient(t)}
	toks := make([]string, 3)
	for i, c := range cs {
		toks[i] = loginPage(t, c, base)
	}
	fourth := newClient(t)
	req, _ := http.NewRequest("GET", base+"/login", nil)
	resp, err := fourth.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !resp.Close || string(body) != "createSession: Too many active sessions" {
		t.Errorf("4th GET /login = %d close=%v %q", resp.StatusCode, resp.Close, body)
	}
	if resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("rejected request got a cookie")
	}
	if st := tg.Stats(); st.Rejected != 1 || st.Active != 3 || st.Created != 3 {
		t.Errorf("stats = %+v", st)
	}
	// Holders of a session are never rejected, and a login keeps its slot.
	for i, c := range cs {
		if r := postLogin(t, c, base, fmt.Sprintf("user%d", i+1), Password, toks[i]); r.status != 302 || r.header.Get("Location") != "/" {
			t.Fatalf("login with a held session: %d", r.status)
		}
	}
	if st := tg.Stats(); st.Created != 3 || st.Active != 3 || st.Authenticated != 3 {
		t.Errorf("stats after logins = %+v", st)
	}
	// A freed slot is usable; so is a raised cap.
	do(t, cs[0], "POST", base+"/logout", "")
	loginPage(t, fourth, base)
	if r := do(t, newClient(t), "GET", base+"/login", ""); r.status != 500 {
		t.Errorf("over cap again: %d", r.status)
	}
	tg.SetMaxSessions(4)
	loginPage(t, newClient(t), base)
	if st := tg.Stats(); st.Rejected != 2 || st.MaxActive != 4 || st.MaxSessions != 4 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSessionTimeout(t *testing.T) {
	t.Parallel()
	tg := New(Config{Users: 5, SessionTimeout: time.Minute})
	clock := testClock(tg)
	_, base := serve(t, tg)
	c := loggedIn(t, base, "user2")
	idle := newClient(t)
	loginPage(t, idle, base) // a pre-login session that nobody touches again
	jsonAccept := []string{"Accept", "application/json"}

	// Each access refreshes the session: 40s + 40s apart stays alive.
	for range 2 {
		clock.Add(int64(40 * time.Second))
		if r := do(t, c, "GET", base+"/api/me", "", jsonAccept...); r.status != 200 {
			t.Fatalf("within timeout: %d", r.status)
		}
	}
	if st := tg.Stats(); st.Expired != 0 || st.Active != 2 {
		t.Errorf("stats = %+v", st)
	}
	// The idle one is found expired by the sweep.
	if n := tg.Sweep(); n != 1 {
		t.Errorf("Sweep = %d, want 1", n)
	}
	clock.Add(int64(time.Minute + time.Nanosecond))
	if r := do(t, c, "GET", base+"/api/me", "", jsonAccept...); r.status != 401 || r.body != `{"error":"unauthenticated"}` {
		t.Errorf("after timeout: %d %q", r.status, r.body)
	}
	if st := tg.Stats(); st.Expired != 2 || st.Active != 0 || st.Authenticated != 0 {
		t.Errorf("stats = %+v", st)
	}
	// Relogin works on a fresh session.
	if r := postLogin(t, c, base, "user2", Password, loginPage(t, c, base)); r.status != 302 || r.header.Get("Location") != "/" {
		t.Errorf("relogin: %d", r.status)
	}
	if st := tg.Stats(); st.CreatedByLogin != 2 || st.Created != 3 || st.Authenticated != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestExpireAll(t *testing.T) {
	t.Parallel()
	tg, base := newTarget(t, Config{Users: 5})
	var cs []*http.Client
	for i := 1; i <= 3; i++ {
		cs = append(cs, loggedIn(t, base, fmt.Sprintf("user%d", i)))
	}
	if n := tg.ExpireAll(); n != 3 {
		t.Errorf("ExpireAll = %d", n)
	}
	for _, c := range cs {
		if r := do(t, c, "GET", base+"/", ""); r.status != 302 {
			t.Errorf("after ExpireAll: %d", r.status)
		}
	}
	loggedIn(t, base, "user4")
	r := do(t, newClient(t), "POST", base+"/_expire", "")
	if r.status != 200 || r.body != `{"expired":1,"tokens_expired":0}` {
		t.Errorf("POST /_expire = %d %q", r.status, r.body)
	}
	var st Stats
	r = do(t, newClient(t), "GET", base+"/_stats", "")
	if err := json.Unmarshal([]byte(r.body), &st); err != nil || st.Expired != 4 || st.Active != 0 || st.Created != 4 {
		t.Errorf("/_stats = %q (%v)", r.body, err)
	}
	if !strings.Contains(r.body, `"created_by_login":4`) {
		t.Errorf("/_stats is not snake_case: %s", r.body)
	}
}

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	tg, base := newTarget(t, Config{Users: 5})
	pre := newClient(t)
	loginPage(t, pre, base) // holds a session that is not authenticated
	tests := []struct {
		method, path, accept string
		client               *http.Client
		json                 bool
	}{
		{"GET", "/api/me", "application/json", nil, true},
		{"GET", "/api/me", "application/json, text/plain, */*", nil, true},
		{"GET", "/api/me", "text/html", nil, false},
		{"GET", "/api/me", "", nil, false},
		{"GET", "/api/me", "*/*", pre, false},
		{"GET", "/api/me", "application/json", pre, true},
		{"GET", "/api/catalog", "application/json", nil, true},
		{"POST", "/api/cart", "application/json", nil, true},
		{"GET", "/api/cart/cart-1", "text/html", nil, false},
		{"GET", "/api/nothing", "text/html", nil, false},
		{"GET", "/", "application/json", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.method+tc.path+"/"+tc.accept, func(t *testing.T) {
			t.Parallel()
			c := tc.client
			if c == nil {
				c = newClient(t)
			}
			var hdr []string
			if tc.accept != "" {
				hdr = []string{"Accept", tc.accept}
			}
			r := do(t, c, tc.method, base+tc.path, "", hdr...)
			if tc.json {
				if r.status != 401 || r.body != `{"error":"unauthenticated"}` || r.header.Get("Content-Type") != "application/json" {
					t.Errorf("= %d %q, want 401 JSON", r.status, r.body)
				}
			} else if r.status != 302 || r.header.Get("Location") != "/login" {
				t.Errorf("= %d %v, want 302 /login", r.status, r.header)
			}
		})
	}
	t.Cleanup(func() {
		if st := tg.Stats(); st.Created != 1 {
			t.Errorf("unauthenticated requests created sessions: %+v", st)
		}
	})
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	tg, base := newTarget(t, Config{Users: 5})
	c := newClient(t)
	r := do(t, c, "POST", base+"/api/token", `{"username":"user3","password":"secret"}`, "Content-Type", "application/json")
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(r.body), &tok); r.status != 200 || err != nil || tok.Token == "" {
		t.Fatalf("POST /api/token = %d %q", r.status, r.body)
	}
	if r.header.Get("Set-Cookie") != "" || sessionID(t, c, base) != "" {
		t.Errorf("token login set a cookie")
	}
	bearer := []string{"Authorization", "Bearer " + tok.Token}
	if r = do(t, c, "GET", base+"/api/me", "", bearer...); r.status != 200 || r.body != `{"user":"user3"}` {
		t.Errorf("/api/me = %d %q", r.status, r.body)
	}
	if r = do(t, c, "POST", base+"/api/cart", `{"item":9}`, bearer...); r.body != `{"user":"user3","id":"cart-1","item":9}` {
		t.Errorf("cart = %d %q", r.status, r.body)
	}
	if r = do(t, c, "GET", base+"/api/cart/cart-1", "", bearer...); r.status != 200 {
		t.Errorf("get cart = %d %q", r.status, r.body)
	}
	for _, bad := range []string{"Bearer nope", "Bearer " + string(tok.Token[0]^1) + tok.Token[1:], "bearer "} {
		if r = do(t, c, "GET", base+"/api/me", "", "Authorization", bad); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%q: %d", bad, r.status)
		}
	}
	if r = do(t, c, "POST", base+"/api/token", `{"username":"user3","password":"x"}`); r.status != 401 {
		t.Errorf("wrong password: %d", r.status)
	}
	if r = do(t, c, "POST", base+"/api/token", `not json`); r.status != 400 {
		t.Errorf("bad body: %d", r.status)
	}
	st := tg.Stats()
	if st.Created != 0 || st.Active != 0 || st.Tokens != 1 || st.ActiveTokens != 1 || st.Logins != 1 || st.LoginFailures != 1 {
		t.Errorf("stats = %+v", st)
	}
	tg.ExpireAll()
	if r = do(t, c, "GET", base+"/api/me", "", bearer...); r.status != 401 {
		t.Errorf("after ExpireAll: %d", r.status)
	}
	if st := tg.Stats(); st.ActiveTokens != 0 || st.TokensExpired != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	_, base := newTarget(t, Config{})
	c := loggedIn(t, base, "user1")
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/nope", 404},
		{"GET", "/api/nothing", 404},
		{"DELETE", "/login", 405},
		{"GET", "/logout", 405},
		{"GET", "/_expire", 405},
		{"POST", "/api/me", 405},
		{"GET", "/api/cart", 405},
		{"GET", "/api/token", 405},
		{"HEAD", "/api/me", 200},
	}
	for _, tc := range tests {
		if r := do(t, c, tc.method, base+tc.path, ""); r.status != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, r.status, tc.status)
		}
	}
}

func TestServiceTime(t *testing.T) {
	t.Parallel()
	const d = 50 * time.Millisecond
	tg, base := newTarget(t, Config{Users: 2, ServiceTime: d})
	c := loggedIn(t, base, "user1")
	start := time.Now()
	if r := do(t, c, "GET", base+"/api/me", ""); r.status != 200 || time.Since(start) < d {
		t.Errorf("status %d after %v", r.status, time.Since(start))
	}
	// A cancelled request returns at once rather than after the sleep.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/api/me", nil).WithContext(ctx)
	req.Header.Set("Cookie", CookieName+"="+sessionID(t, c, base))
	w := httptest.NewRecorder()
	start = time.Now()
	tg.ServeHTTP(w, req)
	if el := time.Since(start); el >= d || w.Body.Len() != 0 {
		t.Errorf("cancelled request took %v and wrote %q", el, w.Body)
	}
}

func TestConcurrentLogins(t *testing.T) {
	t.Parallel()
	const n = 200
	tg, base := newTarget(t, Config{Users: n})
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	ids := make([]string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second}
			user := fmt.Sprintf("user%d", i+1)
			errs <- func() error {
				resp, err := c.Get(base + "/login")
				if err != nil {
					return err
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				m := csrfRE.FindSubmatch(b)
				if m == nil {
					return fmt.Errorf("%s: no token", user)
				}
				// Follows the redirect to / with the new cookie.
				resp, err = c.PostForm(base+"/login", url.Values{"username": {user}, "password": {Password}, "_csrf": {string(m[1])}})
				if err != nil {
					return err
				}
				b, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.Contains(string(b), "Welcome "+user+"<") {
					return fmt.Errorf("%s: %d %q", user, resp.StatusCode, b)
				}
				req, _ := http.NewRequest("GET", base+"/api/me", nil)
				req.Header.Set("Accept", "application/json")
				resp, err = c.Do(req)
				if err != nil {
					return err
				}
				b, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := `{"user":"` + user + `"}`; string(b) != want {
					return fmt.Errorf("%s: /api/me = %q", user, b)
				}
				u, _ := url.Parse(base)
				ids[i] = jar.Cookies(u)[0].Value
				return nil
			}()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	distinct := map[string]bool{}
	for _, id := range ids {
		distinct[id] = true
	}
	if len(distinct) != n {
		t.Errorf("%d distinct sessions, want %d", len(distinct), n)
	}
	st := tg.Stats()
	if st.Created != n || st.CreatedByLogin != n || st.Authenticated != n || st.Active != n || st.Logins != n {
		t.Errorf("stats = %+v", st)
	}
	users := tg.AuthenticatedUsers()
	for i := 1; i <= n; i++ {
		if users[fmt.Sprintf("user%d", i)] != 1 {
			t.Errorf("user%d authenticated %d sessions", i, users[fmt.Sprintf("user%d", i)])
		}
	}
}

func TestStartSweeps(t *testing.T) {
	t.Parallel()
	tg := New(Config{Users: 3, SessionTimeout: time.Minute, SweepEvery: 5 * time.Millisecond})
	clock := testClock(tg)
	srv, err := tg.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") || srv.URL() != "http://"+srv.Addr() {
		t.Errorf("URL %q Addr %q", srv.URL(), srv.Addr())
	}
	loggedIn(t, srv.URL(), "user1")
	clock.Add(int64(2 * time.Minute))
	deadline := time.Now().Add(5 * time.Second)
	for tg.Stats().Active != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sweeper did not expire the session: %+v", tg.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := tg.Stats(); st.Expired != 1 || st.Authenticated != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestServerCloseNoLeak is not parallel: parallel tests are paused while it
// runs, so the goroutine count is stable apart from what it starts.
func TestServerCloseNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 3 {
		tg := New(Config{Users: 2, SweepEvery: time.Millisecond})
		srv, err := tg.Start("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c := newClient(t)
		postLogin(t, c, srv.URL(), "user1", Password, loginPage(t, c, srv.URL()))
		c.Transport.(*http.Transport).CloseIdleConnections()
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		if err := srv.Wait(); err != nil {
			t.Errorf("Wait = %v", err)
		}
		// Shutdown after Close is harmless.
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown after Close = %v", err)
		}
	}
	// Close has already waited for the sweeper and Serve; connection
	// goroutines on both sides wind down just after their sockets close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		ours := strings.Contains(stacks, "target.(*Target).sweepLoop") || strings.Contains(stacks, "target.(*Target).Start")
		if n := runtime.NumGoroutine(); n <= before && !ours {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before; ours left: %v\n%s", n, before, ours, stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	srv, err := New(Config{}).Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	loginPage(t, newClient(t), srv.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if _, err := http.Get(srv.URL() + "/login"); err == nil {
		t.Errorf("server still answers after Shutdown")
	}
}

func TestH2C(t *testing.T) {
	t.Parallel()
	srv, err := New(Config{H2C: true}).Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(srv.URL() + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || resp.Header.Get("Set-Cookie") == "" {
		t.Errorf("%s %d", resp.Proto, resp.StatusCode)
	}
}

// BenchmarkAPI measures GET /api/me for logged-in sessions through
// ServeHTTP, without the network.
func BenchmarkAPI(b *testing.B) {
	tg := New(Config{Users: 1024})
	const sessions = 1024
	cookies := make([]string, sessions)
	for i := range sessions {
		w := httptest.NewRecorder()
		tg.ServeHTTP(w, httptest.NewRequest("GET", "/login", nil))
		cookie := strings.Split(w.Header().Get("Set-Cookie"), ";")[0]
		tok := csrfRE.FindStringSubmatch(w.Body.String())[1]
		form := url.Values{"username": {fmt.Sprintf("user%d", i+1)}, "password": {Password}, "_csrf": {tok}}
		req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", cookie)
		w = httptest.NewRecorder()
		tg.ServeHTTP(w, req)
		if w.Code != 302 {
			b.Fatalf("login: %d", w.Code)
		}
		cookies[i] = strings.Split(w.Header().Get("Set-Cookie"), ";")[0]
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/api/me", nil)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Cookie", cookies[next.Add(1)%sessions])
		for pb.Next() {
			w := httptest.NewRecorder()
			tg.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

// tamper changes tok's first character (to another one: a fixed
// replacement would leave a token that starts with it untouched).
func tamper(tok string) string {
	if tok[0] == 'A' {
		return "B" + tok[1:]
	}
	return "A" + tok[1:]
}

// A session is still 48 bytes with the maximumSessions flag.
func TestSessionSize(t *testing.T) {
	if n := unsafe.Sizeof(session{}); n != 48 {
		t.Errorf("session is %d bytes, want 48", n)
	}
}
