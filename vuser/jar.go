package vuser

import (
	"cmp"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
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
	maxCookies     = 180  // cookies a VU holds at once
)

// jar is a VU's cookies: RFC 6265 as net/http/cookiejar implements it
// (domain and path matching, host-only cookies, the public suffix list,
// Expires and Max-Age, deletion, Secure but on loopback), within a
// browser's limits, counting the cookies it refuses so a response that
// set one can be classified cookie_rejected.
//
// It is a sorted slice rather than cookiejar's maps: with 100,000 VUs
// holding one session cookie each, cookiejar's maps, key strings and
// entries cost ~1.2 KB a VU, this ~0.3 KB. Only the VU's goroutine uses
// it, so it takes no lock.
//
// The jar also keeps the Cookie header it last built, so a request does
// not rebuild it while the cookies it would carry are the same.
type jar struct {
	// cookies in the order RFC 6265 §5.4 sends them: longest path first
	// (paths that match one URL are prefixes of each other, so reverse
	// string order), then oldest first; any subset sent is in order.
	cookies  []cookie
	seq      uint64    // creation order of the next new cookie
	next     time.Time // the earliest expiry among cookies; zero: none
	rejected int       // cookies refused so far

	gen    uint64   // bumped by every change to cookies
	hdrGen uint64   // the generation hdr was built at (0: none)
	hdrSet uint64   // which cookies (bit i: cookies[i]) hdr holds
	hdr    []string // the last Cookie header built; shared read-only with requests
}

// cookie is one stored cookie, as cookiejar's entry less what is never
// sent back (HttpOnly, SameSite, access times).
type cookie struct {
	name, value string
	domain      string    // canonical host (host-only) or Domain attribute
	path        string    // the Path attribute, or the URL's default path
	expires     time.Time // zero: a session cookie, kept while the VU lives
	seq         uint64    // creation order; kept when the cookie is replaced
	hostOnly    bool
	secure      bool
	quoted      bool
}

var _ http.CookieJar = (*jar)(nil)

func newJar() *jar { return &jar{} }

// SetCookies stores the cookies a browser would: under 4 KiB, for this
// host (and not for a public suffix), up to 180 at once; a cookie that
// has expired or Max-Age < 0 deletes its namesake.
func (j *jar) SetCookies(u *url.URL, cs []*http.Cookie) {
	if len(cs) == 0 || u.Scheme != "http" && u.Scheme != "https" {
		return
	}
	host, ok := canonicalHost(u.Host)
	if !ok {
		return
	}
	now := time.Now()
	defPath := defaultPath(u.Path)
	for _, c := range cs {
		if len(c.Name)+len(c.Value) > maxCookieBytes || !domainMatch(u.Hostname(), c.Domain) {
			j.rejected++
			continue
		}
		j.set(c, host, defPath, now)
	}
}

// set stores c as received from host (canonical) with default path
// defPath, or deletes its namesake; what cookiejar drops (a malformed or
// foreign Domain) it drops silently.
func (j *jar) set(c *http.Cookie, host, defPath string, now time.Time) {
	e := cookie{name: c.Name, value: c.Value, secure: c.Secure, quoted: c.Quoted, path: c.Path}
	if e.path == "" || e.path[0] != '/' {
		e.path = defPath
	}
	var ok bool
	if e.domain, e.hostOnly, ok = domainAndType(host, c.Domain); !ok {
		return
	}
	remove := false
	switch {
	case c.MaxAge < 0: // Max-Age takes precedence over Expires
		remove = true
	case c.MaxAge > 0:
		e.expires = now.Add(time.Duration(c.MaxAge) * time.Second)
	case !c.Expires.IsZero():
		e.expires = c.Expires
		remove = !e.expires.After(now)
	}
	i := slices.IndexFunc(j.cookies, func(o cookie) bool { return o.name == e.name && o.domain == e.domain && o.path == e.path })
	switch {
	case remove && i < 0:
		return
	case remove:
		j.cookies = slices.Delete(j.cookies, i, i+1)
	case i >= 0:
		e.seq = j.cookies[i].seq // a replaced cookie keeps its place
		j.cookies[i] = e
	default:
		if len(j.cookies) >= maxCookies {
			j.expire(now)
		}
		if len(j.cookies) >= maxCookies {
			j.rejected++
			return
		}
		e.seq = j.seq
		j.seq++
		at, _ := slices.BinarySearchFunc(j.cookies, e, func(a, b cookie) int {
			if a.path != b.path {
				return strings.Compare(b.path, a.path) // longer (greater) paths first
			}
			return cmp.Compare(a.seq, b.seq)
		})
		j.cookies = slices.Insert(j.cookies, at, e)
	}
	if !e.expires.IsZero() && (j.next.IsZero() || e.expires.Before(j.next)) {
		j.next = e.expires
	}
	j.gen++
}

// expire drops the cookies whose time is up at now.
func (j *jar) expire(now time.Time) {
	if j.next.IsZero() || now.Before(j.next) {
		return
	}
	j.next = time.Time{}
	j.cookies = slices.DeleteFunc(j.cookies, func(c cookie) bool { return !c.expires.IsZero() && !c.expires.After(now) })
	for _, c := range j.cookies {
		if !c.expires.IsZero() && (j.next.IsZero() || c.expires.Before(j.next)) {
			j.next = c.expires
		}
	}
	j.gen++
}

// sendTo reports whether c goes with a request to host (canonical) and
// path over https or not (RFC 6265 §5.4).
func (c *cookie) sendTo(https bool, host, path string) bool {
	return (c.domain == host || !c.hostOnly && hasDotSuffix(host, c.domain)) &&
		pathMatch(c.path, path) && (!c.secure || https || secureOrigin(c.domain))
}

// match calls f with the index of each cookie to send to u at now, in
// order, after dropping the expired ones.
func (j *jar) match(u *url.URL, now time.Time, f func(i int)) {
	if u.Scheme != "http" && u.Scheme != "https" || len(j.cookies) == 0 {
		return
	}
	host, ok := canonicalHost(u.Host)
	if !ok {
		return
	}
	j.expire(now)
	https, path := u.Scheme == "https", u.Path
	if path == "" {
		path = "/"
	}
	for i := range j.cookies {
		if j.cookies[i].sendTo(https, host, path) {
			f(i)
		}
	}
}

// Cookies returns the cookies to send to u.
func (j *jar) Cookies(u *url.URL) []*http.Cookie {
	var cs []*http.Cookie
	j.match(u, time.Now(), func(i int) {
		c := &j.cookies[i]
		cs = append(cs, &http.Cookie{Name: c.name, Value: c.value, Quoted: c.quoted})
	})
	return cs
}

// header is the Cookie header value to send to u at now, nil for none:
// the cookies for u joined as http.Request.AddCookie would. It is built
// again only when the jar changed or u gets other cookies than the last
// URL asked for.
func (j *jar) header(u *url.URL, now time.Time) []string {
	var set uint64
	n := 0
	j.match(u, now, func(i int) {
		set |= 1 << (i & 63)
		n++
	})
	if n == 0 {
		return nil
	}
	if j.hdrGen == j.gen && j.hdrSet == set && len(j.cookies) <= 64 {
		return j.hdr
	}
	var b strings.Builder
	j.match(u, now, func(i int) {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		c := &j.cookies[i]
		b.WriteString((&http.Cookie{Name: c.name, Value: c.value, Quoted: c.quoted}).String())
	})
	j.gen++ // a generation of its own, so hdrGen is never 0 once built
	j.hdrGen, j.hdrSet, j.hdr = j.gen, set, []string{b.String()}
	return j.hdr
}

// domainMatch reports whether a cookie's Domain attribute lets host set
// it: no attribute (a host-only cookie), the host itself, or, for a name,
// a parent domain of it (RFC 6265 §5.1.3). Cookies it refuses are counted;
// a public suffix is refused too, but silently, as cookiejar does.
func domainMatch(host, domain string) bool {
	d := strings.ToLower(strings.TrimPrefix(domain, "."))
	if d == "" {
		return true
	}
	h := strings.ToLower(host)
	return h == d || net.ParseIP(h) == nil && strings.HasSuffix(h, "."+d)
}

// What follows is net/http/cookiejar's (BSD licence, as Go): the same
// rules, so the jar keeps and sends what cookiejar would.

// canonicalHost strips the port and a trailing dot from host, and makes it
// lower case. (cookiejar also turns international names into punycode;
// here they stay as they are, which only matters if a plan names its
// target both ways.)
func canonicalHost(host string) (string, bool) {
	if hasPort(host) {
		h, _, err := net.SplitHostPort(host)
		if err != nil {
			return "", false
		}
		host = h
	}
	return lower(strings.TrimSuffix(host, ".")), true
}

// hasPort reports whether host (a name, an IPv4 or an IPv6 address) has a port.
func hasPort(host string) bool {
	colons := strings.Count(host, ":")
	if colons == 0 {
		return false
	}
	if colons == 1 {
		return true
	}
	return host[0] == '[' && strings.Contains(host, "]:")
}

// isIP reports whether host is an IP address (anything with ':' or '%'
// counts, as no host name has them).
func isIP(host string) bool {
	return strings.ContainsAny(host, ":%") || net.ParseIP(host) != nil
}

// defaultPath is the directory of a URL's path (RFC 6265 §5.1.4).
func defaultPath(path string) string {
	if len(path) == 0 || path[0] != '/' {
		return "/"
	}
	i := strings.LastIndex(path, "/")
	if i == 0 {
		return "/"
	}
	return path[:i]
}

// pathMatch is RFC 6265 §5.1.4's path-match of a request path against a
// cookie's path.
func pathMatch(cookiePath, path string) bool {
	if path == cookiePath {
		return true
	}
	return strings.HasPrefix(path, cookiePath) &&
		(cookiePath[len(cookiePath)-1] == '/' || path[len(cookiePath)] == '/')
}

// secureOrigin reports whether a Secure cookie for domain goes over plain
// http too: localhost and loopback addresses count as secure, as in browsers.
func secureOrigin(domain string) bool {
	host := strings.TrimSuffix(domain, ".")
	if i := strings.LastIndex(host, "."); i >= 0 {
		host = host[i+1:]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(domain)
	return err == nil && ip.IsLoopback()
}

// hasDotSuffix reports whether s ends in "."+suffix.
func hasDotSuffix(s, suffix string) bool {
	return len(s) > len(suffix) && s[len(s)-len(suffix)-1] == '.' && s[len(s)-len(suffix):] == suffix
}

// domainAndType is the cookie's domain and whether it is host-only, for a
// Domain attribute received from host; false: the attribute is malformed
// or not the host's to set.
func domainAndType(host, domain string) (string, bool, bool) {
	if domain == "" {
		return host, true, true // no Domain: a host cookie
	}
	if isIP(host) {
		// An IP address can only name itself, and browsers keep such
		// cookies host-only.
		return host, true, host == domain
	}
	domain = strings.TrimPrefix(domain, ".")
	if len(domain) == 0 || domain[0] == '.' || !isASCII(domain) || domain[len(domain)-1] == '.' {
		return "", false, false // "Domain=.", "..x", non-ASCII, "x."
	}
	domain = lower(domain)
	if ps, _ := publicsuffix.PublicSuffix(domain); ps != "" && !hasDotSuffix(domain, ps) {
		// A public suffix: only the host itself may name it, as a host cookie.
		return host, true, host == domain
	}
	if host != domain && !hasDotSuffix(host, domain) {
		return "", false, false // www.a.com may not set cookies for b.com
	}
	return domain, false, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// lower is s in lower case, s itself (no copy) when it already is.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' || s[i] >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
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

// value is the value of the cookie named name the jar would send to u
// now (the first in send order), "" if none. It allocates nothing.
func (j *jar) value(u *url.URL, name string, now time.Time) string {
	val := ""
	j.match(u, now, func(i int) {
		if val == "" && j.cookies[i].name == name {
			val = j.cookies[i].value
		}
	})
	return val
}

// holds reports whether the jar still keeps a cookie named name with
// value val, for any URL (after dropping the expired ones).
func (j *jar) holds(name, val string, now time.Time) bool {
	j.expire(now)
	for i := range j.cookies {
		if j.cookies[i].name == name && j.cookies[i].value == val {
			return true
		}
	}
	return false
}

// expires reports whether any cookie of the jar has an expiry time.
func (j *jar) expires() bool { return !j.next.IsZero() }
