package vuser

import (
	"net/http"
	"regexp"
	"testing"
	"unicode/utf8"
)

func FuzzExtractRegex(f *testing.F) {
	f.Add([]byte(`<a href="/cart/42">`), `/cart/(\d+)`, "42")
	f.Add([]byte(`token=abc; other`), `token=([^;]*)`, "abc")
	f.Add([]byte("no match here"), `x(y)?z`, "")
	f.Add([]byte("\xff\xfe binary"), `(?s).{0,3}`, "\x00")
	f.Add([]byte(""), `^$`, "é")
	f.Add([]byte("aaaa"), `(a*)*`, "a")
	f.Fuzz(func(t *testing.T, body []byte, expr, value string) {
		if e, err := NewExtractor("v", ExtractRegex, expr); err == nil {
			if got, ok := e.Extract(&Response{Body: body}); ok && len(got) > len(body) { // never panics
				t.Fatalf("extracted %d bytes from a %d-byte body", len(got), len(body))
			}
		}
		// A value between fixed markers comes back whole.
		if !utf8.ValidString(value) {
			return
		}
		e, err := NewExtractor("v", ExtractRegex, `(?s)<v>(.*?)</v>`)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`</v>`).MatchString(value) {
			return
		}
		got, ok := e.Extract(&Response{Body: []byte("x<v>" + value + "</v>y")})
		if !ok || got != value {
			t.Fatalf("regex extract = %q, %v; want %q", got, ok, value)
		}
	})
}

func FuzzExtractHeader(f *testing.F) {
	f.Add("X-Token", "abc", "X-Token")
	f.Add("Location", "/login?error", "location")
	f.Add("x-a", "", "X-A")
	f.Add("Set-Cookie", "a=b; Path=/", "Set-Cookie")
	f.Add("bad name", "v", "bad name")
	f.Fuzz(func(t *testing.T, name, value, expr string) {
		h := http.Header{}
		h.Add(name, value)
		e, err := NewExtractor("v", ExtractHeader, expr)
		if err != nil {
			return
		}
		got, ok := e.Extract(&Response{Header: h}) // never panics
		// A header is found by its canonical name, whatever the case.
		if http.CanonicalHeaderKey(name) == http.CanonicalHeaderKey(expr) && isToken(name) {
			if !ok || got != value {
				t.Fatalf("header %q from %q: %q = %q, %v; want %q", expr, name, value, got, ok, value)
			}
		}
	})
}

func FuzzExtractCookie(f *testing.F) {
	f.Add("JSESSIONID=ABC123; Path=/; HttpOnly", "JSESSIONID")
	f.Add("SESSION=; Max-Age=0", "SESSION")
	f.Add("a=\"quoted\"; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "a")
	f.Add("=novalue", "x")
	f.Add("x=1; Domain=example.com", "x")
	f.Fuzz(func(t *testing.T, line, name string) {
		e, err := NewExtractor("v", ExtractCookie, name)
		if err != nil {
			return
		}
		h := http.Header{"Set-Cookie": {line}}
		// Without a jar: from the Set-Cookie lines; never panics.
		e.Extract(&Response{Header: h})
		// With a VU's jar, as the client fills it.
		u := mustURL("http://127.0.0.1/app/")
		j := newJar()
		resp := &http.Response{Header: h}
		j.SetCookies(u, resp.Cookies())
		got, ok := e.Extract(&Response{Header: h, URL: u, Jar: j})
		if ok && len(got) > len(line) {
			t.Fatalf("cookie %q from %q = %q: longer than the line", name, line, got)
		}
	})
}
