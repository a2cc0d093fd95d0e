package vuser

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/publicsuffix"
)

// The jar keeps what a browser keeps, counts what it refuses, and never
// changes the caller's slice.
func TestJarLimits(t *testing.T) {
	t.Parallel()
	u := mustURL("http://127.0.0.1:8080/app")
	tests := []struct {
		name     string
		cookies  []*http.Cookie
		kept     int // cookies the jar then sends to u
		rejected int
	}{
		// Well under every limit.
		{"plain", []*http.Cookie{{Name: "JSESSIONID", Value: "abc"}}, 1, 0},
		// 4,096 bytes of name and value is the most a browser keeps.
		{"at the size cap", []*http.Cookie{{Name: "a", Value: strings.Repeat("v", maxCookieBytes-1)}}, 1, 0},
		{"over the size cap", []*http.Cookie{{Name: "a", Value: strings.Repeat("v", maxCookieBytes)}, {Name: "b", Value: "1"}}, 1, 1},
		// An IP host may not set a cookie for a domain.
		{"other domain", []*http.Cookie{{Name: "f", Value: "1", Domain: "example.com"}, {Name: "g", Value: "1"}}, 1, 1},
		// Its own address as Domain is the host itself.
		{"own domain", []*http.Cookie{{Name: "f", Value: "1", Domain: "127.0.0.1"}}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := newJar()
			in := append([]*http.Cookie(nil), tt.cookies...)
			j.SetCookies(u, in)
			for i := range in {
				if in[i] != tt.cookies[i] {
					t.Fatal("SetCookies changed the caller's slice")
				}
			}
			if got := len(j.Cookies(u)); got != tt.kept || j.rejected != tt.rejected {
				t.Errorf("kept %d, rejected %d; want %d, %d", got, j.rejected, tt.kept, tt.rejected)
			}
		})
	}
}

func TestJarCount(t *testing.T) {
	t.Parallel()
	u := mustURL("http://shop.test/")
	j := newJar()
	cs := make([]*http.Cookie, 2*maxCookies)
	for i := range cs {
		cs[i] = &http.Cookie{Name: "c" + strconv.Itoa(i), Value: "1"}
	}
	j.SetCookies(u, cs)
	j.SetCookies(u, cs[:1]) // an update of a kept cookie is no new one
	if got := len(j.Cookies(u)); got != maxCookies || j.rejected != maxCookies {
		t.Errorf("kept %d, rejected %d; want %d each", got, j.rejected, maxCookies)
	}
}

func TestDroppedSetCookie(t *testing.T) {
	t.Parallel()
	if droppedSetCookie([]string{"a=1; Path=/", "b=2"}) {
		t.Error("well-formed lines reported dropped")
	}
	if !droppedSetCookie([]string{"a=1", "=novalue"}) {
		t.Error("a line without a name not reported")
	}
	if !droppedSetCookie(make([]string, maxSetCookies+1)) {
		t.Error("more lines than net/http keeps not reported")
	}
}

// refJar is net/http/cookiejar with the public suffix list, given only
// the cookies the VU's jar does not refuse for its limits: what the
// VU's jar must keep and send, cookie for cookie.
type refJar struct{ *cookiejar.Jar }

func newRefJar() refJar {
	j, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	return refJar{j}
}

func (r refJar) SetCookies(u *url.URL, cs []*http.Cookie) {
	var kept []*http.Cookie
	for _, c := range cs {
		if len(c.Name)+len(c.Value) <= maxCookieBytes && domainMatch(u.Hostname(), c.Domain) {
			kept = append(kept, c)
		}
	}
	r.Jar.SetCookies(u, kept)
}

// sentHeader is the Cookie header http.Client sends with cookies cs.
func sentHeader(cs []*http.Cookie) string {
	req := &http.Request{Header: http.Header{}}
	for _, c := range cs {
		req.AddCookie(c)
	}
	return req.Header.Get("Cookie")
}

// setCookies parses Set-Cookie lines as net/http's client does.
func setCookies(lines ...string) []*http.Cookie {
	return (&http.Response{Header: http.Header{"Set-Cookie": lines}}).Cookies()
}

// The jar keeps and sends what net/http/cookiejar (RFC 6265, public
// suffix list) does: domain and host-only cookies, paths and their
// order, Secure, deletion by Max-Age and by a past Expires, replacement.
func TestJarAgreesWithCookiejar(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	type set struct {
		url   string
		lines []string
	}
	tests := []struct {
		name string
		sets []set
		urls []string // each gets the same Cookie header from both jars
	}{
		{"host-only stays on its host",
			[]set{{"http://www.shop.test/", []string{"a=1"}}},
			[]string{"http://www.shop.test/", "http://shop.test/", "http://x.www.shop.test/", "http://WWW.Shop.Test./x"}},
		{"a domain cookie goes to subdomains",
			[]set{{"http://www.example.com/", []string{"d=1; Domain=example.com", "e=2; Domain=.EXAMPLE.com"}}},
			[]string{"http://example.com/", "http://a.b.example.com/", "http://notexample.com/", "http://example.org/"}},
		{"a public suffix is no domain",
			[]set{{"http://www.bbc.co.uk/", []string{"a=1; Domain=co.uk", "b=2; Domain=uk", "c=3; Domain=bbc.co.uk"}}},
			[]string{"http://www.bbc.co.uk/", "http://news.bbc.co.uk/", "http://other.co.uk/"}},
		{"a public suffix host names itself",
			[]set{{"http://co.uk/", []string{"a=1; Domain=co.uk"}}},
			[]string{"http://co.uk/", "http://www.co.uk/"}},
		{"malformed domains",
			[]set{{"http://www.example.com/", []string{"a=1; Domain=.", "b=1; Domain=..example.com", "c=1; Domain=example.com.", "d=1; Domain=ex\u00e4mple.com"}}},
			[]string{"http://www.example.com/"}},
		{"an IP names only itself",
			[]set{{"http://127.0.0.1:8080/", []string{"a=1; Domain=127.0.0.1", "b=1; Domain=.127.0.0.1", "c=1; Domain=0.0.1"}}},
			[]string{"http://127.0.0.1/", "http://127.0.0.1:9/x"}},
		{"IPv6",
			[]set{{"http://[::1]:8080/", []string{"a=1"}}},
			[]string{"http://[::1]/", "http://[::2]/"}},
		{"default path and path matching",
			[]set{{"http://h.test/app/login/form", []string{"def=1", "app=1; Path=/app", "slash=1; Path=/app/", "rel=1; Path=relative"}}},
			[]string{"http://h.test/app/login/form", "http://h.test/app/login", "http://h.test/app/x", "http://h.test/application", "http://h.test/app", "http://h.test/", "http://h.test"}},
		{"longest path first, then oldest",
			[]set{
				{"http://h.test/", []string{"z=1; Path=/", "y=1; Path=/a/b", "x=1; Path=/a"}},
				{"http://h.test/", []string{"w=1; Path=/a", "z=2; Path=/"}}, // z replaced: keeps its place
			},
			[]string{"http://h.test/a/b/c", "http://h.test/a"}},
		{"Secure over https, and over plain http to loopback",
			[]set{
				{"https://h.test/", []string{"s=1; Secure", "p=1"}},
				{"http://localhost:8080/", []string{"s=1; Secure"}},
				{"http://127.0.0.1:8080/", []string{"s=1; Secure"}},
			},
			[]string{"http://h.test/", "https://h.test/", "http://localhost/", "http://127.0.0.1/"}},
		{"deletion",
			[]set{
				{"http://h.test/", []string{"a=1", "b=1", "c=1; Max-Age=60", "d=1; Expires=" + future, "e=1"}},
				{"http://h.test/", []string{"a=; Max-Age=0", "b=x; Max-Age=-1", "c=; Expires=" + past, "e=1; Path=/other; Max-Age=-1", "never=1; Expires=" + past}},
			},
			[]string{"http://h.test/"}},
		{"quoted and odd values",
			[]set{{"http://h.test/", []string{`q="a b"`, "sp=a b", "c=a,b", "e="}}},
			[]string{"http://h.test/"}},
		{"other schemes",
			[]set{{"ftp://h.test/", []string{"a=1"}}, {"http://h.test/", []string{"b=1"}}},
			[]string{"ftp://h.test/", "ws://h.test/", "http://h.test/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j, ref := newJar(), newRefJar()
			for _, s := range tt.sets {
				u := mustURL(s.url)
				j.SetCookies(u, setCookies(s.lines...))
				ref.SetCookies(u, setCookies(s.lines...))
			}
			for _, raw := range tt.urls {
				u := mustURL(raw)
				want := sentHeader(ref.Cookies(u))
				if got := sentHeader(j.Cookies(u)); got != want {
					t.Errorf("%s: Cookies %q, cookiejar %q", raw, got, want)
				}
				if got := strings.Join(j.header(u, time.Now()), ""); got != want {
					t.Errorf("%s: header %q, cookiejar %q", raw, got, want)
				}
			}
		})
	}
}

// FuzzJar: any Set-Cookie lines from any of a few URLs leave the jar
// sending what cookiejar sends, and never more than maxCookies.
func FuzzJar(f *testing.F) {
	f.Add("a=1; Path=/x; Domain=example.com", "b=2; Max-Age=-1", uint8(0), uint8(3))
	f.Add("a=1; Secure", "a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", uint8(5), uint8(1))
	f.Add(`q="x y"; Domain=.co.uk`, "p=1; Path=", uint8(2), uint8(4))
	urls := []string{"http://www.example.com/x/y", "http://example.com/", "https://www.example.com/x",
		"http://a.co.uk/", "http://127.0.0.1:8080/p/q", "http://localhost/x", "http://Example.COM./x/"}
	f.Fuzz(func(t *testing.T, line1, line2 string, from, to uint8) {
		src, dst := mustURL(urls[int(from)%len(urls)]), mustURL(urls[int(to)%len(urls)])
		j, ref := newJar(), newRefJar()
		for _, u := range []*url.URL{src, dst} {
			j.SetCookies(u, setCookies(line1, line2))
			ref.SetCookies(u, setCookies(line1, line2))
		}
		for _, u := range []*url.URL{src, dst} {
			want := sentHeader(ref.Cookies(u))
			if got := strings.Join(j.header(u, time.Now()), ""); got != want {
				t.Errorf("%s after %q, %q: %q, cookiejar %q", u, line1, line2, got, want)
			}
		}
		if len(j.cookies) > maxCookies {
			t.Errorf("%d cookies kept", len(j.cookies))
		}
	})
}

// A deleted cookie frees its place: the cap is on cookies held at once.
func TestJarCapFreesOnDelete(t *testing.T) {
	t.Parallel()
	u := mustURL("http://shop.test/")
	j := newJar()
	cs := make([]*http.Cookie, maxCookies)
	for i := range cs {
		cs[i] = &http.Cookie{Name: "c" + strconv.Itoa(i), Value: "1"}
	}
	j.SetCookies(u, cs)
	j.SetCookies(u, []*http.Cookie{{Name: "c0", MaxAge: -1}, {Name: "new", Value: "1"}})
	if got := len(j.Cookies(u)); got != maxCookies || j.rejected != 0 {
		t.Errorf("kept %d, rejected %d; want %d, 0", got, j.rejected, maxCookies)
	}
}

// One session cookie costs a VU's jar a few hundred bytes (cookiejar:
// ~1.2 KB), and a request whose cookies did not change builds no header.
func TestJarMemory(t *testing.T) {
	u := mustURL("http://127.0.0.1:8080/login")
	set := setCookies("JSESSIONID=0123456789ABCDEF0123456789ABCDEF; Path=/; HttpOnly")
	const n = 1000
	jars := make([]*jar, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range jars {
		jars[i] = newJar()
		jars[i].SetCookies(u, set)
		jars[i].header(u, time.Now())
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	runtime.KeepAlive(jars)
	t.Logf("%.0f bytes per jar with one cookie and its header", per)
	if per > 400 {
		t.Errorf("%.0f bytes per jar, want <= 400", per)
	}
	now := time.Now()
	if a := testing.AllocsPerRun(100, func() { jars[0].header(u, now) }); a != 0 {
		t.Errorf("%.0f allocations per cached header, want 0", a)
	}
}
