// Package target is the built-in demo target of load: an HTTP app that
// behaves like a Spring Security form-login app on Tomcat. Sessions are
// JSESSIONID cookies (32 uppercase hex characters) that change on login,
// the login form carries a masked CSRF token, the session cap answers like
// Tomcat's maxActiveSessions, a per-user cap like Spring Security's
// maximumSessions with maxSessionsPreventsLogin (Config.MaxSessionsPerUser),
// and idle sessions expire. It is fast and
// keeps per-session memory small, so it can hold 100,000 sessions.
//
// Endpoints: GET/POST /login, GET /, POST /logout, GET /api/me,
// GET /api/catalog, POST /api/cart, GET /api/cart/{id}, POST /api/token,
// any method on /api/echo/{anything} (the user and the path), and the test
// hooks GET /_stats and POST /_expire. Every API answer names the user.
package target

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Password is the password of every user (user1..userN).
const Password = "secret"

// CookieName is the session cookie's name, as Tomcat names it.
const CookieName = "JSESSIONID"

// Config configures a Target. Zero values take the defaults noted.
type Config struct {
	// Users is the number of users, user1..userN, all with password
	// Password. Default 1000.
	Users int
	// MaxSessions caps active sessions like Tomcat's maxActiveSessions;
	// 0 means unlimited.
	MaxSessions int
	// SessionTimeout is how long a session (or bearer token) may be idle
	// before it expires. Default 30m.
	SessionTimeout time.Duration
	// SweepEvery is how often a started Server's sweeper expires idle
	// sessions (they also expire lazily when accessed). Default 1s.
	SweepEvery time.Duration
	// ServiceTime is latency added to /api/ endpoints. Default 0.
	ServiceTime time.Duration
	// H2C lets a started Server speak HTTP/2 without TLS (prior knowledge)
	// besides HTTP/1.1. Off by default, like Tomcat.
	H2C bool
	// Logf, if set, receives the server's occasional messages.
	Logf func(format string, args ...any)
	// Password, if set, replaces Password for every user: tests use a
	// distinctive one to scan outputs for it.
	Password string
	// MaxSessionsPerUser is Spring Security's
	// sessionManagement().maximumSessions(n).maxSessionsPreventsLogin(true):
	// a login of a user who holds n live sessions already is refused with
	// a redirect to /login?error, whose page then says "Maximum sessions
	// of n for this principal exceeded". 0 means no limit.
	MaxSessionsPerUser int
	// CountPaths counts the authenticated /api/ requests per path and per
	// user, by cookie or bearer token (PathUsers). Off by default: it
	// takes a lock per request.
	CountPaths bool
	// Issued, if set, is called with every session id and bearer token
	// the target hands out, so a test can check none leaks into a
	// generator's output. It must be safe for concurrent use.
	Issued func(secret string)
}

// Stats are the target's counters, like Tomcat's Manager MBean. A snapshot
// is read counter by counter, so under load its fields may be a few
// requests apart.
type Stats struct {
	// Active is the number of live sessions.
	Active int64 `json:"active"`
	// Created counts sessions created.
	Created int64 `json:"created"`
	// CreatedByLogin counts sessions that became authenticated.
	CreatedByLogin int64 `json:"created_by_login"`
	// Authenticated is the number of live authenticated sessions.
	Authenticated int64 `json:"authenticated"`
	// Rejected counts session creations refused by the cap.
	Rejected int64 `json:"rejected"`
	// Expired counts sessions ended by idle timeout or ExpireAll (not by
	// logout).
	Expired int64 `json:"expired"`
	// MaxActive is the high-water mark of Active.
	MaxActive int64 `json:"max_active"`
	// Logins counts successful logins, form and token.
	Logins int64 `json:"logins"`
	// LoginFailures counts wrong credentials, form and token.
	LoginFailures int64 `json:"login_failures"`
	// Logouts counts sessions ended by POST /logout.
	Logouts int64 `json:"logouts"`
	// CSRFFailures counts form logins refused with 403 (missing or invalid
	// CSRF token, or no session).
	CSRFFailures int64 `json:"csrf_failures"`
	// Tokens counts bearer tokens issued.
	Tokens int64 `json:"tokens"`
	// ActiveTokens is the number of live bearer tokens.
	ActiveTokens int64 `json:"active_tokens"`
	// TokensExpired counts bearer tokens ended by idle timeout or ExpireAll.
	TokensExpired int64 `json:"tokens_expired"`
	// MaxSessions is the current cap (0 = unlimited).
	MaxSessions int64 `json:"max_sessions"`
	// UserSessionRejected counts logins refused because the user held
	// MaxSessionsPerUser live sessions already (right credentials).
	UserSessionRejected int64 `json:"user_session_rejected"`
}

// Target is the demo app. It implements http.Handler; use Start to serve it
// with a session sweeper. All methods are safe for concurrent use.
type Target struct {
	// Concurrency invariants: everything set in New (cfg, logf, now, epoch,
	// catalogTail, tokenEnc, the header slices, the length of userSessions)
	// is read-only afterwards, so requests read it without locks; counters
	// are atomics; sessions and tokens follow store's invariants. A Stats
	// snapshot is exact per counter but not one instant across counters.

	cfg   Config
	logf  func(format string, args ...any)
	epoch time.Time
	// now is the clock in nanoseconds; a field so tests can drive expiry
	// (they replace it before the Target serves a request).
	now func() int64

	sessions store // JSESSIONID sessions
	tokens   store // bearer tokens: no cookie, no cap, not counted as sessions

	// userSessions[n] counts sessions ever authenticated as user<n>;
	// tokenUsers[n] bearer tokens issued to user<n>.
	userSessions []atomic.Int32
	tokenUsers   []atomic.Int32
	paths        *pathCounts // nil without Config.CountPaths

	createdByLogin, logins, loginFailures, logouts, csrfFailures atomic.Int64

	// perUser holds, with MaxSessionsPerUser, each user's authenticated
	// sessions (id and session) as of their login; perUserMu guards it.
	perUserMu           sync.Mutex
	perUser             map[int32][]userSession
	userSessionRejected atomic.Int64

	stallUntil atomic.Int64 // unix ns until which /api/ answers nothing (Stall)

	catalogTail string           // the constant ","items":[...]} tail of /api/catalog
	tokenEnc    *base64.Encoding // strict unpadded base64url for bearer tokens
	bufs        sync.Pool        // *[]byte response buffers, so the API path does not allocate them

	// Header values assigned directly (no canonicalisation, no allocation).
	// net/http never modifies them; len == cap, so an Add reallocates.
	hJSON, hHTML, hText, hClose, hNoStore, hZero []string
}

// New returns a Target for c, with defaults filled in. It starts no
// goroutine.
func New(c Config) *Target {
	if c.Users <= 0 {
		c.Users = 1000
	}
	c.Users = min(c.Users, 999_999_999) // user numbers are parsed into an int32
	if c.MaxSessions < 0 {
		c.MaxSessions = 0
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 30 * time.Minute
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = time.Second
	}
	if c.ServiceTime < 0 {
		c.ServiceTime = 0
	}
	if c.Password == "" {
		c.Password = Password
	}
	t := &Target{
		cfg:          c,
		logf:         c.Logf,
		epoch:        time.Now(),
		userSessions: make([]atomic.Int32, c.Users+1),
		tokenUsers:   make([]atomic.Int32, c.Users+1),
		hJSON:        []string{"application/json"},
		hHTML:        []string{"text/html;charset=UTF-8"},
		hText:        []string{"text/plain;charset=UTF-8"},
		hClose:       []string{"close"},
		hNoStore:     []string{"no-cache, no-store, max-age=0, must-revalidate"},
		hZero:        []string{"0"},
	}
	if t.logf == nil {
		t.logf = func(string, ...any) {}
	}
	t.now = func() int64 { return int64(time.Since(t.epoch)) }
	t.sessions.init(int64(c.SessionTimeout))
	t.tokens.init(int64(c.SessionTimeout))
	t.sessions.max.Store(int64(c.MaxSessions))
	t.tokenEnc = base64.RawURLEncoding.Strict()
	if c.MaxSessionsPerUser > 0 {
		t.perUser = map[int32][]userSession{}
	}
	if c.CountPaths {
		t.paths = new(pathCounts)
	}
	t.catalogTail = (`","items":[{"id":1,"name":"Espresso","price":2.5},{"id":2,"name":"Cappuccino","price":3.2},` +
		`{"id":3,"name":"Croissant","price":1.9},{"id":4,"name":"Bagel","price":2.1},{"id":5,"name":"Tea","price":1.5}]}`)
	t.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	return t
}

// Stats returns the counters.
func (t *Target) Stats() Stats {
	s, k := &t.sessions, &t.tokens
	return Stats{
		Active:         s.active.Load(),
		Created:        s.created.Load(),
		CreatedByLogin: t.createdByLogin.Load(),
		Authenticated:  s.authenticated.Load(),
		Rejected:       s.rejected.Load(),
		Expired:        s.expired.Load(),
		MaxActive:      s.maxActive.Load(),
		Logins:         t.logins.Load(),
		LoginFailures:  t.loginFailures.Load(),
		Logouts:        t.logouts.Load(),
		CSRFFailures:   t.csrfFailures.Load(),
		Tokens:         k.created.Load(),
		ActiveTokens:   k.active.Load(),
		TokensExpired:  k.expired.Load(),
		MaxSessions:    s.max.Load(),

		UserSessionRejected: t.userSessionRejected.Load(),
	}
}

// ExpireAll expires every session and bearer token now, like Tomcat's
// /manager/text/expire?idle=0, and returns how many sessions it expired.
func (t *Target) ExpireAll() int {
	n, _ := t.expireAll()
	return n
}

func (t *Target) expireAll() (sessions, tokens int) {
	now := t.now()
	sessions = t.sessions.sweep(now, true)
	tokens = t.tokens.sweep(now, true)
	t.logf("target: expired all: %d sessions, %d tokens", sessions, tokens)
	return sessions, tokens
}

// Sweep expires the sessions and tokens idle past the timeout now and
// returns how many sessions it expired; a started Server calls it every
// SweepEvery.
func (t *Target) Sweep() int {
	now := t.now()
	t.tokens.sweep(now, false)
	return t.sessions.sweep(now, false)
}

// SetMaxSessions changes the session cap at run time, like Tomcat's
// writable maxActiveSessions; n <= 0 means unlimited. Lowering it ends no
// session: it only refuses new ones.
func (t *Target) SetMaxSessions(n int) {
	t.sessions.max.Store(int64(max(n, 0)))
}

// AuthenticatedUsers returns, for each user that ever logged in with the
// form, how many sessions were authenticated as that user.
func (t *Target) AuthenticatedUsers() map[string]int {
	m := make(map[string]int)
	for n := range t.userSessions {
		if c := t.userSessions[n].Load(); c > 0 {
			m[userName(int32(n))] = int(c)
		}
	}
	return m
}

// ServeHTTP routes a request.
func (t *Target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	post := r.Method == http.MethodPost
	switch {
	case strings.HasPrefix(p, "/api/"):
		t.api(w, r, p[len("/api/"):])
	case p == "/login" && get:
		t.loginPage(w, r)
	case p == "/login" && post:
		t.login(w, r)
	case p == "/" && get:
		t.home(w, r)
	case p == "/logout" && post:
		t.logout(w, r)
	case p == "/_stats" && get:
		b, _ := json.Marshal(t.Stats())
		t.write(w, http.StatusOK, t.hJSON, b)
	case p == "/_expire" && post:
		n, k := t.expireAll()
		b, _ := json.Marshal(map[string]int{"expired": n, "tokens_expired": k})
		t.write(w, http.StatusOK, t.hJSON, b)
	case p == "/login" || p == "/" || p == "/_stats":
		notAllowed(w, "GET, HEAD")
	case p == "/logout" || p == "/_expire":
		notAllowed(w, "POST")
	default:
		http.NotFound(w, r)
	}
}

// cookieSession returns the request's live session and its id. Like
// Tomcat, it tries every JSESSIONID cookie and takes the first live one;
// an unknown or expired id counts as no session.
func (t *Target) cookieSession(r *http.Request) (*session, sid) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || name != CookieName {
				continue
			}
			k, ok := parseSID(val)
			if !ok {
				continue
			}
			if s := t.sessions.get(k, t.now()); s != nil {
				return s, k
			}
		}
	}
	return nil, sid{}
}

// setCookie sets the session cookie the way Tomcat does.
func (t *Target) setCookie(w http.ResponseWriter, k sid) {
	var b [len(CookieName) + 1 + 32 + len("; Path=/; HttpOnly")]byte
	n := copy(b[:], CookieName+"=")
	n += encodeSID(b[n:], k)
	copy(b[n:], "; Path=/; HttpOnly")
	w.Header()["Set-Cookie"] = []string{string(b[:])}
	if t.cfg.Issued != nil {
		t.cfg.Issued(string(b[len(CookieName)+1 : n]))
	}
}

const hexUpper = "0123456789ABCDEF"

func encodeSID(dst []byte, k sid) int {
	for i, c := range k {
		dst[2*i], dst[2*i+1] = hexUpper[c>>4], hexUpper[c&15]
	}
	return 2 * len(k)
}

// parseSID decodes 32 uppercase hex characters; Tomcat's ids are
// case-sensitive, so lowercase is another (unknown) id.
func parseSID(s string) (sid, bool) {
	var k sid
	if len(s) != 2*len(k) {
		return k, false
	}
	for i := range k {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return k, false
		}
		k[i] = hi<<4 | lo
	}
	return k, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// userNumber returns n for a valid "user<n>" (1 <= n <= Users, no leading
// zero) and the right password, else 0.
func (t *Target) userNumber(name, password string) int32 {
	rest, ok := strings.CutPrefix(name, "user")
	if !ok || rest == "" || rest[0] == '0' || len(rest) > 9 {
		return 0
	}
	n := 0
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if n > t.cfg.Users || subtle.ConstantTimeCompare([]byte(password), []byte(t.cfg.Password)) != 1 {
		return 0
	}
	return int32(n)
}

func userName(n int32) string { return "user" + strconv.Itoa(int(n)) }

// write sends a complete response with the given Content-Type. net/http
// adds the Content-Length itself for a body written in one go.
func (t *Target) write(w http.ResponseWriter, status int, ctype []string, body []byte) {
	h := w.Header()
	h["Content-Type"] = ctype
	w.WriteHeader(status)
	w.Write(body)
}

// redirect sends a bodiless 302, as Spring does, to a relative location.
func (t *Target) redirect(w http.ResponseWriter, location string) {
	h := w.Header()
	h["Location"] = []string{location}
	h["Content-Length"] = t.hZero
	w.WriteHeader(http.StatusFound)
}

func notAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
}
