package pool

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// Both engines hand the caller the same response: status, headers
// (repeated ones in order) and body; and the same request reaches the
// server.
func TestEnginesAgree(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := w.Header()
		h.Add("Set-Cookie", "a=1; Path=/")
		h.Add("Set-Cookie", "b=2; Path=/app; HttpOnly")
		h.Add("X-Many", "one")
		h.Add("X-Many", "two")
		h.Set("Location", "/next")
		h.Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusCreated)
		// What the server saw, for the comparison.
		io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Cookie")+" "+r.Header.Get("User-Agent")+
			" "+r.Header.Get("Content-Type")+" "+string(body))
	}))
	t.Cleanup(srv.Close)
	got := map[string]*http.Response{}
	bodies := map[string]string{}
	for _, engine := range []string{EngineNetHTTP, EngineFastHTTP} {
		p := New(Options{Engine: engine})
		t.Cleanup(p.Close)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/app/x?q=1%202", strings.NewReader("k=v"))
		req.Header.Set("Cookie", "s=1; t=2")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := p.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body.Close() // a second Close is harmless
		resp.Header.Del("Date")
		got[engine], bodies[engine] = resp, string(b)
	}
	n, f := got[EngineNetHTTP], got[EngineFastHTTP]
	if n.StatusCode != f.StatusCode || n.Status != f.Status {
		t.Errorf("status: net/http %q, fasthttp %q", n.Status, f.Status)
	}
	if !reflect.DeepEqual(n.Header, f.Header) {
		t.Errorf("headers:\nnet/http %v\nfasthttp %v", n.Header, f.Header)
	}
	if bodies[EngineNetHTTP] != bodies[EngineFastHTTP] {
		t.Errorf("body:\nnet/http %q\nfasthttp %q", bodies[EngineNetHTTP], bodies[EngineFastHTTP])
	}
	if f.Request == nil || f.ContentLength != n.ContentLength {
		t.Errorf("fasthttp: Request %v, ContentLength %d (net/http %d)", f.Request, f.ContentLength, n.ContentLength)
	}
}
