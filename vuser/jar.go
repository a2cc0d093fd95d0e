package vuser

import (
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

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
type jar struct {
	inner    *cookiejar.Jar
	keys     map[string]struct{} // every cookie accepted, by name, domain and path
	rejected int                 // cookies refused so far
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
	}
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
