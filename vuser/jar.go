package vuser

import (
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// A VU's jar keeps cookies within a browser's limits (RFC 6265 §6.1 asks
// for at least these; browsers cap at about these), so a server that sets
// thousands of cookies or huge ones cannot grow a VU's memory, nor the
// Cookie header it sends back, without bound.
const (
	maxCookieBytes = 4096 // name and value of one cookie
	maxCookies     = 180  // distinct (name, domain, path) a VU ever accepts
)

// jar is cookiejar.Jar behind a browser's limits, counting the cookies it
// refuses so a response that set one can be classified cookie_rejected.
// net/http calls SetCookies on the goroutine that called Client.Do, the
// VU's own, so jar needs no lock.
//
// The jar also keeps the Cookie header it last built for a few URLs, so a
// request does not ask the inner jar (a lock, a sort, a slice of
// cookies) while nothing changed: the header holds until the next
// SetCookies or the earliest expiry of a cookie the jar was given.
type jar struct {
	inner    *cookiejar.Jar
	keys     map[string]struct{} // every cookie accepted, by name, domain and path
	rejected int                 // cookies refused so far

	gen     uint64               // bumped by every SetCookies that stored a cookie
	expires map[string]time.Time // the expiry of each cookie that has one (by name, host or domain, path)
	next    time.Time            // the earliest of expires after the last look; zero: none
	cache   [4]cachedHeader      // used round robin
	last    int
}

// cachedHeader is the Cookie header for one URL, as of jar generation gen.
type cachedHeader struct {
	gen        uint64
	https      bool
	host, path string
	value      []string // nil: no cookies; shared read-only with requests
	inUse      bool
}

var _ http.CookieJar = (*jar)(nil)

func newJar() *jar {
	// cookiejar.New only fails on options it does not have.
	j, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	return &jar{inner: j}
}

// SetCookies keeps the cookies a browser would: those under 4 KiB, for
// this host, up to 180 per VU.
func (j *jar) SetCookies(u *url.URL, cs []*http.Cookie) {
	var kept []*http.Cookie // nil until the first refusal: cs is the caller's
	for i, c := range cs {
		if !j.accept(u, c) {
			if kept == nil {
				kept = append(make([]*http.Cookie, 0, len(cs)), cs[:i]...)
			}
			continue
		}
		if kept != nil {
			kept = append(kept, c)
		}
	}
	if kept == nil {
		kept = cs
	}
	if len(kept) > 0 {
		j.inner.SetCookies(u, kept)
		j.gen++
		now := time.Now()
		for _, c := range kept {
			j.noteExpiry(u, c, now)
		}
	}
}

// noteExpiry keeps when c expires, so a cached header is rebuilt then.
// The key is cookiejar's identity of a cookie (name, domain or host,
// path or the URL's default path), so a later Set-Cookie of the same
// cookie replaces its expiry.
func (j *jar) noteExpiry(u *url.URL, c *http.Cookie, now time.Time) {
	var exp time.Time
	switch {
	case c.MaxAge > 0:
		exp = now.Add(time.Duration(c.MaxAge) * time.Second)
	case c.MaxAge == 0 && !c.Expires.IsZero():
		exp = c.Expires
	}
	path := c.Path
	if path == "" || path[0] != '/' {
		path = u.Path // a superset of the default path: the key only needs to tell cookies apart
	}
	domain := c.Domain
	if domain == "" {
		domain = u.Host
	}
	key := c.Name + "\x00" + strings.ToLower(domain) + "\x00" + path
	if exp.IsZero() || !exp.After(now) {
		delete(j.expires, key)
		return
	}
	if j.expires == nil {
		j.expires = map[string]time.Time{}
	}
	if _, ok := j.expires[key]; !ok && len(j.expires) >= maxCookies {
		// Bounded like the cookies: past it, expire every cached header now.
		j.next = now
		return
	}
	j.expires[key] = exp
	if j.next.IsZero() || exp.Before(j.next) {
		j.next = exp
	}
}

// header is the Cookie header value to send to u at now, nil for none: the
// inner jar's cookies for u joined as http.Request.AddCookie would.
func (j *jar) header(u *url.URL, now time.Time) []string {
	if !j.next.IsZero() && !now.Before(j.next) {
		// A cookie may have expired: forget every header, find the next expiry.
		j.next = time.Time{}
		for k, exp := range j.expires {
			if !exp.After(now) {
				delete(j.expires, k)
			} else if j.next.IsZero() || exp.Before(j.next) {
				j.next = exp
			}
		}
		j.gen++
	}
	https := u.Scheme == "https"
	for i := range j.cache {
		c := &j.cache[i]
		if c.inUse && c.gen == j.gen && c.https == https && c.host == u.Host && c.path == u.Path {
			return c.value
		}
	}
	var b strings.Builder
	for i, c := range j.inner.Cookies(u) {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.String())
	}
	var value []string
	if b.Len() > 0 {
		value = []string{b.String()}
	}
	j.last = (j.last + 1) % len(j.cache)
	j.cache[j.last] = cachedHeader{gen: j.gen, https: https, host: u.Host, path: u.Path, value: value, inUse: true}
	return value
}

// accept reports whether c fits the limits, counting it when it does not.
func (j *jar) accept(u *url.URL, c *http.Cookie) bool {
	ok := len(c.Name)+len(c.Value) <= maxCookieBytes && domainMatch(u.Hostname(), c.Domain)
	if ok {
		key := c.Name + "\x00" + strings.ToLower(c.Domain) + "\x00" + c.Path
		if _, seen := j.keys[key]; !seen {
			if len(j.keys) >= maxCookies {
				ok = false
			} else {
				if j.keys == nil {
					j.keys = map[string]struct{}{}
				}
				j.keys[key] = struct{}{}
			}
		}
	}
	if !ok {
		j.rejected++
	}
	return ok
}

// Cookies returns the cookies to send to u.
func (j *jar) Cookies(u *url.URL) []*http.Cookie { return j.inner.Cookies(u) }

// domainMatch reports whether a cookie's Domain attribute lets host set
// it: no attribute (a host-only cookie), the host itself, or, for a name,
// a parent domain of it (RFC 6265 §5.1.3). The public-suffix check is the
// inner jar's.
func domainMatch(host, domain string) bool {
	d := strings.ToLower(strings.TrimPrefix(domain, "."))
	if d == "" {
		return true
	}
	h := strings.ToLower(host)
	return h == d || net.ParseIP(h) == nil && strings.HasSuffix(h, "."+d)
}

// maxSetCookies is net/http's cap on Set-Cookie headers in one response
// (GODEBUG httpcookiemaxnum): past it, the client drops them all.
const maxSetCookies = 3000

// droppedSetCookie reports whether net/http left out some of a response's
// Set-Cookie lines before the jar saw them: malformed ones, or all of them
// past maxSetCookies.
func droppedSetCookie(lines []string) bool {
	if len(lines) > maxSetCookies {
		return true
	}
	for _, l := range lines {
		if _, err := http.ParseSetCookie(l); err != nil {
			return true
		}
	}
	return false
}
