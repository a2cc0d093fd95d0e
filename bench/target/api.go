package target

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// api serves /api/…: POST /api/token is open; everything else needs an
// authenticated session or a bearer token, checked before routing as
// Spring's filter chain does (so an unknown path is 401/302 for strangers).
func (t *Target) api(w http.ResponseWriter, r *http.Request, rest string) {
	if rest == "token" {
		if r.Method != http.MethodPost {
			notAllowed(w, "POST")
			return
		}
		t.issueToken(w, r)
		return
	}
	s, bearer, badToken := t.apiSession(r)
	if s == nil {
		t.unauthenticated(w, r, badToken)
		return
	}
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case rest == "me" || rest == "catalog" || strings.HasPrefix(rest, "cart/"):
		if !get {
			notAllowed(w, "GET, HEAD")
			return
		}
	case rest == "cart":
		if r.Method != http.MethodPost {
			notAllowed(w, "POST")
			return
		}
	case strings.HasPrefix(rest, "echo/"):
	default:
		t.write(w, http.StatusNotFound, t.hJSON, []byte(`{"error":"not_found"}`))
		return
	}
	if t.paths != nil {
		t.paths.add(r.URL.Path, s.user.Load(), bearer)
	}
	if !t.serviceTime(r) {
		return // the client gave up; nobody reads an answer
	}
	u := s.user.Load()
	switch {
	case strings.HasPrefix(rest, "echo/"):
		t.echo(w, u, r.URL.Path)
	case rest == "me":
		t.userJSON(w, http.StatusOK, u, `"}`)
	case rest == "catalog":
		t.userJSON(w, http.StatusOK, u, t.catalogTail)
	case rest == "cart":
		t.addToCart(w, r, s, u)
	default:
		t.getCart(w, s, u, rest[len("cart/"):])
	}
}

// apiSession returns the caller's authenticated session or token state,
// and whether it came by bearer token. A Bearer Authorization header is
// used alone (stateless, no cookie); badToken reports one that names no
// live token. Other schemes are ignored, as Spring's bearer filter
// ignores them.
func (t *Target) apiSession(r *http.Request) (s *session, bearer, badToken bool) {
	if auth := r.Header["Authorization"]; len(auth) > 0 {
		if scheme, tok, _ := strings.Cut(auth[0], " "); strings.EqualFold(scheme, "Bearer") {
			if k, ok := t.parseToken(strings.TrimSpace(tok)); ok {
				if s := t.tokens.get(k, t.now()); s != nil {
					return s, true, false
				}
			}
			return nil, false, true
		}
	}
	s, _ = t.cookieSession(r)
	if s == nil || s.user.Load() == 0 {
		return nil, false, false
	}
	return s, false, false
}

// unauthenticated answers like Spring Security: 401 JSON to a client that
// accepts JSON (or sent a bad bearer token), else a redirect to the login
// page.
func (t *Target) unauthenticated(w http.ResponseWriter, r *http.Request, badToken bool) {
	if badToken {
		w.Header()["Www-Authenticate"] = []string{`Bearer error="invalid_token"`}
		t.write(w, http.StatusUnauthorized, t.hJSON, []byte(`{"error":"invalid_token"}`))
		return
	}
	for _, a := range r.Header["Accept"] {
		if strings.Contains(a, "application/json") {
			t.write(w, http.StatusUnauthorized, t.hJSON, []byte(`{"error":"unauthenticated"}`))
			return
		}
	}
	t.redirect(w, "/login")
}

// Stall makes /api/ endpoints answer nothing for d from now, as a server
// in a long GC pause or with a saturated pool does; requests that arrive
// meanwhile wait for its end. For coordinated-omission tests.
func (t *Target) Stall(d time.Duration) {
	t.stallUntil.Store(time.Now().Add(d).UnixNano())
}

// serviceTime sleeps Config.ServiceTime, or less if the request is
// cancelled, which it reports as false.
func (t *Target) serviceTime(r *http.Request) bool {
	d := t.cfg.ServiceTime
	if until := t.stallUntil.Load(); until != 0 {
		// A stall: answer nothing until it ends (then the service time).
		d += max(time.Duration(until-time.Now().UnixNano()), 0)
	}
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// userJSON writes {"user":"user<u>" followed by tail, which closes the
// object. The buffer comes from a pool so the hot path allocates little.
func (t *Target) userJSON(w http.ResponseWriter, status int, u int32, tail string) {
	bp := t.bufs.Get().(*[]byte)
	b := append((*bp)[:0], `{"user":"user`...)
	b = strconv.AppendInt(b, int64(u), 10)
	b = append(b, tail...)
	t.write(w, status, t.hJSON, b) // net/http copies b before returning
	*bp = b
	t.bufs.Put(bp)
}

// addToCart handles POST /api/cart {"item":N}. Like Jackson, it takes the
// number as a JSON number or a numeric string (template-filled plans send
// "3").
func (t *Target) addToCart(w http.ResponseWriter, r *http.Request, s *session, u int32) {
	var req struct {
		Item json.RawMessage `json:"item"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		t.write(w, http.StatusBadRequest, t.hJSON, []byte(`{"error":"bad_request"}`))
		return
	}
	item, err := strconv.ParseInt(string(bytes.Trim(req.Item, `"`)), 10, 64)
	if err != nil {
		t.write(w, http.StatusBadRequest, t.hJSON, []byte(`{"error":"item must be an integer"}`))
		return
	}
	s.mu.Lock()
	if s.cart == nil {
		s.cart = new(cart)
	}
	s.cart.n++
	n := s.cart.n
	s.cart.items[(n-1)%cartKeep] = item
	s.mu.Unlock()
	t.userJSON(w, http.StatusOK, u, cartTail(n, item))
}

// getCart handles GET /api/cart/cart-<n>: the entry, if it is one of the
// session's last cartKeep, else 404.
func (t *Target) getCart(w http.ResponseWriter, s *session, u int32, id string) {
	num, ok := strings.CutPrefix(id, "cart-")
	n, err := strconv.ParseInt(num, 10, 64)
	if ok && err == nil && n > 0 {
		s.mu.Lock()
		var item int64
		found := s.cart != nil && n <= s.cart.n && n > s.cart.n-cartKeep
		if found {
			item = s.cart.items[(n-1)%cartKeep]
		}
		s.mu.Unlock()
		if found {
			t.userJSON(w, http.StatusOK, u, cartTail(n, item))
			return
		}
	}
	t.write(w, http.StatusNotFound, t.hJSON, []byte(`{"error":"not_found"}`))
}

func cartTail(n, item int64) string {
	return `","id":"cart-` + strconv.FormatInt(n, 10) + `","item":` + strconv.FormatInt(item, 10) + "}"
}

// issueToken handles POST /api/token {"username":…,"password":…}: a bearer
// token for API calls, {"token":"…","user":"user3"}. No session is
// created; the token's state lives in its own store, idles out like a
// session and is ended by ExpireAll.
func (t *Target) issueToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		t.write(w, http.StatusBadRequest, t.hJSON, []byte(`{"error":"bad_request"}`))
		return
	}
	if !t.serviceTime(r) {
		return
	}
	u := t.userNumber(req.Username, req.Password)
	if u == 0 {
		t.loginFailures.Add(1)
		w.Header()["Www-Authenticate"] = []string{`Bearer`}
		t.write(w, http.StatusUnauthorized, t.hJSON, []byte(`{"error":"invalid_credentials"}`))
		return
	}
	s := &session{}
	s.user.Store(u)
	s.last.Store(t.now())
	t.tokens.reserve() // uncapped, so it only counts
	t.tokens.authenticated.Add(1)
	t.tokens.created.Add(1)
	k := t.tokens.attach(s)
	t.logins.Add(1)
	t.tokenUsers[u].Add(1)
	var b [64]byte
	n := copy(b[:], `{"token":"`)
	base64.RawURLEncoding.Encode(b[n:], k[:])
	n += base64.RawURLEncoding.EncodedLen(len(k))
	if t.cfg.Issued != nil {
		t.cfg.Issued(string(b[len(`{"token":"`):n]))
	}
	n += copy(b[n:], `","user":"user`)
	n += len(strconv.AppendInt(b[n:n], int64(u), 10))
	n += copy(b[n:], `"}`)
	t.write(w, http.StatusOK, t.hJSON, b[:n])
}

// parseToken decodes a bearer token: 16 bytes, unpadded base64url, with
// canonical trailing bits so each token has exactly one spelling.
func (t *Target) parseToken(tok string) (sid, bool) {
	var k sid
	if len(tok) != base64.RawURLEncoding.EncodedLen(len(k)) {
		return k, false
	}
	n, err := t.tokenEnc.Decode(k[:], []byte(tok))
	return k, err == nil && n == len(k)
}
