package pool

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Both engines hand the caller the same response without a body or a
// Content-Type, that closes its connection: no Content-Type added, no
// Connection: close left in the headers (Close says it).
func TestEnginesAgreeNoContent(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	got := map[string]*http.Response{}
	for _, engine := range []string{EngineNetHTTP, EngineFastHTTP} {
		p := New(Options{Engine: engine})
		t.Cleanup(p.Close)
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := p.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		if b, err := io.ReadAll(resp.Body); len(b) != 0 || err != nil {
			t.Errorf("%s: body %q, %v", engine, b, err)
		}
		resp.Body.Close()
		resp.Header.Del("Date")
		got[engine] = resp
	}
	n, f := got[EngineNetHTTP], got[EngineFastHTTP]
	if !reflect.DeepEqual(n.Header, f.Header) || n.Close != f.Close || n.ContentLength != f.ContentLength || n.Status != f.Status {
		t.Errorf("net/http: %s %v close %v %d\nfasthttp: %s %v close %v %d", n.Status, n.Header, n.Close, n.ContentLength, f.Status, f.Header, f.Close, f.ContentLength)
	}
}

// Both engines hand the caller the same chunked response: headers
// (Transfer-Encoding taken out), TransferEncoding, ContentLength, body.
func TestEnginesAgreeChunked(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a")
		http.NewResponseController(w).Flush()
		io.WriteString(w, "b")
	}))
	t.Cleanup(srv.Close)
	got := map[string]*http.Response{}
	for _, engine := range []string{EngineNetHTTP, EngineFastHTTP} {
		p := New(Options{Engine: engine})
		t.Cleanup(p.Close)
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := p.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		if b, err := io.ReadAll(resp.Body); string(b) != "ab" || err != nil {
			t.Errorf("%s: body %q, %v", engine, b, err)
		}
		resp.Body.Close()
		resp.Header.Del("Date")
		got[engine] = resp
	}
	n, f := got[EngineNetHTTP], got[EngineFastHTTP]
	if !reflect.DeepEqual(n.Header, f.Header) || !reflect.DeepEqual(n.TransferEncoding, f.TransferEncoding) || n.ContentLength != f.ContentLength {
		t.Errorf("net/http: %v %v %d\nfasthttp: %v %v %d", n.Header, n.TransferEncoding, n.ContentLength, f.Header, f.TransferEncoding, f.ContentLength)
	}
}

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

// phaseLog is a PhaseSink that keeps what it was told.
type phaseLog struct{ connects, exchanges int }

func (p *phaseLog) SetConnect(start, done int64)       { p.connects++ }
func (p *phaseLog) SetExchange(wrote, firstByte int64) { p.exchanges++ }

// With Hooks naming the headers the caller reads, the fasthttp engine
// copies only those (repeated ones in order; no map when none came) and
// reports reuse and phases through the hooks.
func TestFastHooks(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cookies" {
			w.Header().Add("Set-Cookie", "a=1; Path=/")
			w.Header().Add("Set-Cookie", "b=2; Path=/")
			w.Header().Set("Location", "/next")
		}
		w.Header().Set("X-Other", "unread")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	p := New(Options{Engine: EngineFastHTTP})
	t.Cleanup(p.Close)
	var log phaseLog
	h := &Hooks{Phases: &log, Headers: []string{"Set-Cookie", "Location"}}
	ctx := WithHooks(context.Background(), h)
	for i, tc := range []struct {
		path   string
		want   http.Header
		reused bool
	}{
		{"/cookies", http.Header{"Set-Cookie": {"a=1; Path=/", "b=2; Path=/"}, "Location": {"/next"}}, false},
		{"/plain", nil, true},
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+tc.path, nil)
		h.Served = false
		resp, err := p.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) // read to its end: the connection is reused
		resp.Body.Close()
		if !reflect.DeepEqual(resp.Header, tc.want) {
			t.Errorf("%s: headers %#v, want %#v", tc.path, resp.Header, tc.want)
		}
		if !h.Served || h.Reused != tc.reused {
			t.Errorf("%s: served %v reused %v, want reused %v", tc.path, h.Served, h.Reused, tc.reused)
		}
		if log.exchanges != i+1 || log.connects != 1 {
			t.Errorf("%s: %d exchanges, %d connects reported, want %d and 1", tc.path, log.exchanges, log.connects, i+1)
		}
	}
	if !p.HookDeadlines(mustParse(t, srv.URL)) || p.HookDeadlines(mustParse(t, "https://127.0.0.1/")) {
		t.Error("HookDeadlines: want true for http on the fasthttp engine, false for https")
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// deadlineConn counts the deadlines set on the socket.
type deadlineConn struct {
	net.Conn
	sets []time.Time
}

func (c *deadlineConn) SetDeadline(t time.Time) error { c.sets = append(c.sets, t); return nil }

// The connection keeps its socket's deadline coarse: at most a sixteenth
// of the time left (and a second) later than asked, set again only when a
// request's deadline falls outside that window, cleared when asked.
func TestFastConnDeadline(t *testing.T) {
	t.Parallel()
	dc := &deadlineConn{}
	c := &fastConn{Conn: dc}
	now := time.Now()
	steps := []struct {
		at   time.Time
		sets int
	}{
		{now.Add(10 * time.Second), 1},                      // armed at +10 s + 625 ms
		{now.Add(10*time.Second + 100*time.Millisecond), 1}, // inside the window
		{now.Add(20 * time.Second), 2},                      // past it
		{now.Add(time.Second), 3},                           // far earlier: armed again
		{time.Time{}, 4},                                    // cleared
		{time.Time{}, 4},                                    // already clear
	}
	for i, s := range steps {
		c.SetReadDeadline(s.at)
		c.SetWriteDeadline(s.at)
		if len(dc.sets) != s.sets {
			t.Fatalf("step %d: %d socket deadlines set, want %d", i, len(dc.sets), s.sets)
		}
		last := dc.sets[len(dc.sets)-1]
		switch {
		case s.at.IsZero() && !last.IsZero():
			t.Fatalf("step %d: deadline %v, want none", i, last)
		case !s.at.IsZero() && (last.Before(s.at) || last.Sub(s.at) > time.Second):
			t.Fatalf("step %d: socket deadline %v for a request's %v", i, last, s.at)
		}
	}
}
