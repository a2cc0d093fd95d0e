package vuser

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// Hot-path benchmarks of one VU (run with -benchmem; figures in
// bench/README.md): extractors, the jar's Cookie header, and a whole
// iteration against an in-process server on each engine.

// BenchmarkExtract is each extractor kind on a typical response.
func BenchmarkExtract(b *testing.B) {
	u, _ := url.Parse("http://h.test/app")
	j := newJar()
	j.SetCookies(u, []*http.Cookie{{Name: "JSESSIONID", Value: "0123456789ABCDEF0123456789ABCDEF", Path: "/"}})
	resp := &Response{
		Status: 200,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"abc-123"}},
		Body: []byte(`{"user":"user1","cart":{"id":42,"items":[{"sku":"a"},{"sku":"b"}]},"total":12.5}` +
			`<form><input type="hidden" name="_csrf" value="token-123"></form>`),
		URL: u,
		Jar: j,
	}
	for _, tc := range []struct {
		kind ExtractKind
		expr string
		want string
	}{
		{ExtractJSON, "$.cart.id", "42"},
		{ExtractRegex, `"sku":"(\w+)"`, "a"},
		{ExtractForm, "_csrf", "token-123"},
		{ExtractHeader, "X-Request-Id", "abc-123"},
		{ExtractCookie, "JSESSIONID", "0123456789ABCDEF0123456789ABCDEF"},
	} {
		b.Run(string(tc.kind), func(b *testing.B) {
			ex, err := NewExtractor("v", tc.kind, tc.expr)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if v, ok := ex.Extract(resp); !ok || v != tc.want {
					b.Fatalf("got %q %v, want %q", v, ok, tc.want)
				}
			}
		})
	}
}

// BenchmarkJarHeader is the Cookie header of a VU's request: a jar
// holding a session cookie and two others, asked again and again for the
// same URL (the cached header) as between Set-Cookies.
func BenchmarkJarHeader(b *testing.B) {
	u, _ := url.Parse("http://h.test/app/api/me")
	j := newJar()
	j.SetCookies(u, []*http.Cookie{
		{Name: "JSESSIONID", Value: "0123456789ABCDEF0123456789ABCDEF", Path: "/"},
		{Name: "lang", Value: "en", Path: "/"},
		{Name: "XSRF-TOKEN", Value: "6f1c2a", Path: "/app"},
	})
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if h := j.header(u, now); len(h) != 1 {
			b.Fatalf("Cookie header %q", h)
		}
	}
}

// BenchmarkIteration is one VU iteration (a GET with its own session
// cookie, a status and a JSON check, the sample recorded) against an
// in-process server, per engine. The server's work is in the figure too.
func BenchmarkIteration(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		c, err := r.Cookie("JSESSIONID")
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"user":"`+c.Value+`"}`)
	}))
	b.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	for _, engine := range engines {
		b.Run(engine, func(b *testing.B) {
			path, _ := ParseTemplate("/api/me")
			want, _ := ParseTemplate("s1")
			s := &Script{Target: target, Steps: []Step{{
				Name: "me", Method: http.MethodGet, Path: path,
				Check: Check{Status: []int{200}, JSON: []JSONCheck{{Path: "user", Equals: "s1", Want: want}}},
			}}}
			v := testVU(b, s, engine)
			v.jar.SetCookies(target, []*http.Cookie{{Name: "JSESSIONID", Value: "s1", Path: "/"}})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				v.Iterate(ctx, time.Time{})
			}
			snap := v.env.rec.Snapshot()
			if snap.Total.Errors != 0 || snap.Total.Requests == 0 {
				b.Fatalf("%d requests, %d errors", snap.Total.Requests, snap.Total.Errors)
			}
		})
	}
}

// BenchmarkIterationFlow is BenchmarkIteration's request three times in
// a repeat inside a group, per iteration: what the flow costs beyond the
// requests (one group sample, the frames), on net/http.
func BenchmarkIterationFlow(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"user":"s1"}`)
	}))
	b.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	path, _ := ParseTemplate("/api/me")
	three, _ := ParseTemplate("3")
	s := &Script{Target: target, Steps: []Step{{Name: "g", Group: &Group{Steps: []Step{{Repeat: &Repeat{Times: three, Steps: []Step{{
		Name: "me", Method: http.MethodGet, Path: path,
		Check: Check{Status: []int{200}, JSON: []JSONCheck{{Path: "user", Equals: "s1"}}},
	}}}}}}}}}
	v := testVU(b, s, engines[0])
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v.Iterate(ctx, time.Time{})
	}
	snap := v.env.rec.Snapshot()
	if snap.Total.Errors != 0 || snap.Total.Requests == 0 {
		b.Fatalf("%d requests, %d errors", snap.Total.Requests, snap.Total.Errors)
	}
}
