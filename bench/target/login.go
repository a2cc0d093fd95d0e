package target

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// loginPage renders Spring Security's login form. Like Spring on Tomcat it
// creates a session when the request has none, since the CSRF token must be
// kept somewhere; that creation is what the session cap refuses.
func (t *Target) loginPage(w http.ResponseWriter, r *http.Request) {
	s, _ := t.cookieSession(r)
	if s == nil {
		var k sid
		if s, k = t.createSession(); s == nil {
			t.reject(w)
			return
		}
		t.setCookie(w, k)
	}
	q := r.URL.Query()
	var b strings.Builder
	b.Grow(1500)
	b.WriteString(`<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1, shrink-to-fit=no">
    <meta name="_csrf_header" content="X-CSRF-TOKEN"/>
    <meta name="_csrf" content="`)
	b.WriteString(maskCSRF(&s.csrf)) // a second, separately masked token, as Thymeleaf layouts publish
	b.WriteString(`"/>
    <title>Please sign in</title>
  </head>
  <body>
    <div class="content">
      <form class="login-form" method="post" action="/login">
        <h2 class="form-login-heading">Please sign in</h2>
`)
	if q.Has("error") {
		msg := "Bad credentials"
		if s.maxed.Load() {
			msg = "Maximum sessions of " + strconv.Itoa(t.cfg.MaxSessionsPerUser) + " for this principal exceeded"
		}
		b.WriteString(`        <div class="alert alert-danger" role="alert">` + msg + `</div>
`)
	}
	if q.Has("logout") {
		b.WriteString(`        <div class="alert alert-success" role="alert">You have been signed out</div>
`)
	}
	// The hidden _locale input has its attributes in another order and
	// comes first, so "the first value= on the page" is not the token.
	b.WriteString(`        <input type="hidden" value="en" name="_locale"/>
        <p>
          <label for="username" class="screenreader">Username</label>
          <input type="text" id="username" name="username" placeholder="Username" required autofocus>
        </p>
        <p>
          <label for="password" class="screenreader">Password</label>
          <input type="password" id="password" name="password" placeholder="Password" required>
        </p>
        <input name="_csrf" type="hidden" value="`)
	b.WriteString(maskCSRF(&s.csrf))
	b.WriteString(`"/>
        <button type="submit" class="primary">Sign in</button>
      </form>
    </div>
  </body>
</html>
`)
	t.htmlHeaders(w)
	t.write(w, http.StatusOK, t.hHTML, []byte(b.String()))
}

// createSession takes a slot and publishes a new pre-login session, or
// returns nil when the cap is reached.
func (t *Target) createSession() (*session, sid) {
	if !t.sessions.reserve() {
		return nil, sid{}
	}
	s := &session{}
	rand.Read(s.csrf[:])
	s.last.Store(t.now())
	k := t.sessions.attach(s)
	t.sessions.created.Add(1)
	return s, k
}

// reject answers like Tomcat's TooManyActiveSessionsException: a 500 after
// which Tomcat closes the connection.
func (t *Target) reject(w http.ResponseWriter) {
	if n := t.sessions.rejected.Load(); n&(n-1) == 0 { // log at 1, 2, 4, 8, ... not per request
		t.logf("target: createSession: Too many active sessions (%d rejected)", n)
	}
	w.Header()["Connection"] = t.hClose
	t.write(w, http.StatusInternalServerError, t.hText, []byte("createSession: Too many active sessions"))
}

// login handles the form POST like Spring Security's
// UsernamePasswordAuthenticationFilter behind its CsrfFilter.
func (t *Target) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "400 bad request", http.StatusBadRequest)
		return
	}
	s, k := t.cookieSession(r)
	tok := r.Form.Get("_csrf")
	if tok == "" {
		tok = r.Header.Get("X-CSRF-TOKEN")
	}
	// Without a session there is no expected token: Spring answers 403 too.
	if s == nil || !validCSRF(&s.csrf, tok) {
		t.forbidden(w)
		return
	}
	u := t.userNumber(r.Form.Get("username"), r.Form.Get("password"))
	if u == 0 {
		t.loginFailures.Add(1)
		t.redirect(w, "/login?error")
		return
	}
	if !t.admitUser(u, s) {
		// Spring's ConcurrentSessionControlAuthenticationStrategy: the
		// failure handler redirects, the page shows why.
		s.maxed.Store(true)
		t.userSessionRejected.Add(1)
		t.redirect(w, "/login?error")
		return
	}
	s.maxed.Store(false)
	// changeSessionId: same session object and slot, new id; the old id
	// stops working. See store's invariants for why detach comes first.
	if !t.sessions.detach(k, s) {
		t.forbidden(w) // a concurrent logout, expiry or login took the session
		return
	}
	prev := s.user.Swap(u)
	if prev == 0 {
		t.sessions.authenticated.Add(1)
		t.createdByLogin.Add(1)
	}
	if prev != u {
		t.userSessions[u].Add(1)
	}
	s.last.Store(t.now())
	nk := t.sessions.attach(s)
	t.recordUser(u, nk, s)
	t.setCookie(w, nk)
	t.logins.Add(1)
	t.redirect(w, "/")
}

// userSession is one authenticated session of a user (MaxSessionsPerUser).
type userSession struct {
	k sid
	s *session
}

// admitUser reports whether user u may authenticate session s under
// MaxSessionsPerUser: fewer live sessions of u than that, not counting s.
func (t *Target) admitUser(u int32, s *session) bool {
	if t.perUser == nil {
		return true
	}
	now := t.now()
	t.perUserMu.Lock()
	defer t.perUserMu.Unlock()
	live := t.perUser[u][:0]
	for _, us := range t.perUser[u] {
		if us.s != s && t.sessions.alive(us.k, us.s, now) && us.s.user.Load() == u {
			live = append(live, us)
		}
	}
	t.perUser[u] = live
	return len(live) < t.cfg.MaxSessionsPerUser
}

// recordUser remembers session s, now named k, as one of u's.
func (t *Target) recordUser(u int32, k sid, s *session) {
	if t.perUser == nil {
		return
	}
	t.perUserMu.Lock()
	t.perUser[u] = append(t.perUser[u], userSession{k, s})
	t.perUserMu.Unlock()
}

func (t *Target) forbidden(w http.ResponseWriter) {
	t.csrfFailures.Add(1)
	t.write(w, http.StatusForbidden, t.hText, []byte("403 Forbidden: Invalid CSRF Token"))
}

// home is the page a successful login redirects to.
func (t *Target) home(w http.ResponseWriter, r *http.Request) {
	s, _ := t.cookieSession(r)
	if s == nil {
		t.redirect(w, "/login")
		return
	}
	u := s.user.Load()
	if u == 0 {
		t.redirect(w, "/login")
		return
	}
	name := userName(u)
	t.htmlHeaders(w)
	t.write(w, http.StatusOK, t.hHTML, []byte(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Home</title></head>
<body><h1>Welcome `+name+`</h1>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>
</body></html>
`))
}

// logout invalidates the session. Spring redirects whether or not there
// was one; the stale cookie is left for the client, as Tomcat does.
func (t *Target) logout(w http.ResponseWriter, r *http.Request) {
	if s, k := t.cookieSession(r); s != nil && t.sessions.remove(k, s) {
		t.logouts.Add(1)
	}
	t.redirect(w, "/login?logout")
}

// htmlHeaders adds the cache and framing headers Spring Security puts on
// its pages.
func (t *Target) htmlHeaders(w http.ResponseWriter) {
	h := w.Header()
	h["Cache-Control"] = t.hNoStore
	h["Pragma"] = []string{"no-cache"}
	h["Expires"] = t.hZero
	h["X-Content-Type-Options"] = []string{"nosniff"}
	h["X-Frame-Options"] = []string{"DENY"}
}

// maskCSRF returns a fresh masked form of the session's CSRF secret, like
// Spring's XorCsrfTokenRequestAttributeHandler: base64url(r ‖ r XOR secret)
// for 16 new random bytes r, so every render differs yet each verifies.
func maskCSRF(secret *[16]byte) string {
	var b [32]byte
	rand.Read(b[:16])
	for i := range 16 {
		b[16+i] = b[i] ^ secret[i]
	}
	return base64.URLEncoding.EncodeToString(b[:])
}

// validCSRF reports whether tok is a masked form of secret. The padding
// may be missing (some clients strip it).
func validCSRF(secret *[16]byte, tok string) bool {
	tok = strings.TrimRight(tok, "=")
	if len(tok) != base64.RawURLEncoding.EncodedLen(32) {
		return false
	}
	var b [32]byte
	if n, err := base64.RawURLEncoding.Decode(b[:], []byte(tok)); err != nil || n != 32 {
		return false
	}
	var x [16]byte
	for i := range 16 {
		x[i] = b[i] ^ b[16+i]
	}
	return subtle.ConstantTimeCompare(x[:], secret[:]) == 1
}
