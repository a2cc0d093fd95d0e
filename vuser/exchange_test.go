package vuser

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/stats"
)

// The cached Cookie header follows the jar: scope (path, secure), a new
// Set-Cookie, and a cookie's expiry.
func TestJarHeader(t *testing.T) {
	t.Parallel()
	j := newJar()
	app := mustURL("http://h.test/app/page")
	j.SetCookies(app, []*http.Cookie{
		{Name: "s", Value: "1", Path: "/app"},
		{Name: "sec", Value: "x", Path: "/", Secure: true},
		{Name: "short", Value: "y", Path: "/", MaxAge: 1},
	})
	now := time.Now()
	for _, tc := range []struct {
		url, want string
	}{
		{"http://h.test/app/page", "s=1; short=y"},         // Secure is not sent over http
		{"https://h.test/app/page", "s=1; sec=x; short=y"}, // but is over https
		{"http://h.test/other", "short=y"},                 // /app cookies stay under /app
		{"http://other.test/app", ""},                      // host-only cookies stay on their host
		{"http://h.test/app/page", "s=1; short=y"},         // from the cache
	} {
		if got := strings.Join(j.header(mustURL(tc.url), now), ""); got != tc.want {
			t.Errorf("%s: Cookie %q, want %q", tc.url, got, tc.want)
		}
	}
	// A new value is sent at once.
	j.SetCookies(app, []*http.Cookie{{Name: "s", Value: "2", Path: "/app"}})
	if got := strings.Join(j.header(app, now), ""); got != "s=2; short=y" {
		t.Errorf("after Set-Cookie: %q", got)
	}
	// Once a cookie's time is up it is no longer sent (the inner jar
	// expires it on its own clock, hence the real wait).
	time.Sleep(1100 * time.Millisecond)
	if got := strings.Join(j.header(app, time.Now()), ""); got != "s=2" {
		t.Errorf("after expiry: %q", got)
	}
}

// engines are the pool's engines; VU tests run against each.
var engines = []string{pool.EngineNetHTTP, pool.EngineFastHTTP}

// testVU is one VU on a fresh Env for s, sending with engine.
func testVU(t testing.TB, s *Script, engine string) *VU {
	t.Helper()
	pl := pool.New(pool.Options{Engine: engine})
	t.Cleanup(pl.Close)
	e, err := NewEnv(s, PoolTransport(pl, nil), stats.NewRecorder(stats.Options{}), stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	return e.NewVU(1, Identity{Username: "u", Password: "p"}, Signals{})
}

// onEngines serves h and runs f on each engine, in parallel subtests.
func onEngines(t *testing.T, h http.HandlerFunc, f func(t *testing.T, srv *httptest.Server, target *url.URL, engine string)) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f(t, srv, target, engine)
		})
	}
}

// Redirects are followed as http.Client follows them: 302 turns a POST
// into a GET without its body; 307 keeps both; cookies set on the way are
// sent on; past 10 hops the request fails as too many redirects.
func TestRedirects(t *testing.T) {
	t.Parallel()
	onEngines(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == "/302":
			http.SetCookie(w, &http.Cookie{Name: "hop", Value: "1"})
			http.Redirect(w, r, "/end", http.StatusFound)
		case r.URL.Path == "/chain":
			http.Redirect(w, r, "/302", http.StatusSeeOther)
		case r.URL.Path == "/307":
			http.Redirect(w, r, "/end", http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/loop/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/loop/"))
			http.Redirect(w, r, "/loop/"+strconv.Itoa(n+1), http.StatusFound)
		default:
			c, _ := r.Cookie("hop")
			var hop string
			if c != nil {
				hop = c.Value
			}
			io.WriteString(w, r.Method+" "+string(body)+" hop="+hop+" ct="+r.Header.Get("Content-Type")+" ref="+r.Referer())
		}
	}, func(t *testing.T, srv *httptest.Server, target *url.URL, engine string) {
		testRedirects(t, srv.URL, testVU(t, &Script{Target: target}, engine))
	})
}

func testRedirects(t *testing.T, base string, v *VU) {
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for _, tc := range []struct {
		path, want string
		kind       stats.Kind
	}{
		{"/302", "GET  hop=1 ct= ref=" + base + "/302", stats.OK},
		{"/307", "POST a=1 hop=1 ct=application/x-www-form-urlencoded ref=" + base + "/307", stats.OK},
		{"/chain", "GET  hop=1 ct= ref=" + base + "/302", stats.OK}, // Referer: the last hop
		{"/loop/0", "", stats.Redirects},
	} {
		var r result
		v.do(context.Background(), &r, 0, time.Time{}, http.MethodPost, base+tc.path, form, []byte("a=1"))
		if r.kind != tc.kind {
			t.Errorf("%s: kind %s (%v), want %s", tc.path, r.kind, r.err, tc.kind)
		}
		if tc.want != "" && string(v.body) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.path, v.body, tc.want)
		}
		v.release()
	}
}

// A request past Script.Timeout fails as a timeout, not a cancellation,
// and the VU's next request gets a fresh context.
func TestTimeout(t *testing.T) {
	t.Parallel()
	onEngines(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	}, func(t *testing.T, srv *httptest.Server, target *url.URL, engine string) {
		v := testVU(t, &Script{Target: target, Timeout: 50 * time.Millisecond}, engine)
		ctx := context.Background()
		var r result
		v.do(ctx, &r, 0, time.Time{}, http.MethodGet, srv.URL+"/slow", nil, nil)
		if took := r.end.Sub(r.start); r.kind != stats.Timeout || took > time.Second {
			t.Fatalf("slow: kind %s (%v) after %s, want a timeout after ~50ms", r.kind, r.err, took)
		}
		for range 3 {
			if v.do(ctx, &r, 0, time.Time{}, http.MethodGet, srv.URL+"/fast", nil, nil); r.kind != stats.OK {
				t.Fatalf("fast after a timeout: kind %s (%v)", r.kind, r.err)
			}
			v.release()
		}
	})
}

// A step's header extractor finds its header on both engines, though the
// fasthttp engine copies only the headers VUs read (pool.Hooks.Headers);
// the step's static headers (built once per run) reach the server.
func TestResponseHeadersRead(t *testing.T) {
	t.Parallel()
	onEngines(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Token", "t-"+r.Header.Get("X-Ask"))
		w.Header().Set("X-Other", "unread")
		io.WriteString(w, "ok")
	}, func(t *testing.T, srv *httptest.Server, target *url.URL, engine string) {
		ex, err := NewExtractor("tok", ExtractHeader, "x-token")
		if err != nil {
			t.Fatal(err)
		}
		ask, _ := ParseTemplate("42")
		path, _ := ParseTemplate("/h")
		s := &Script{Target: target, Steps: []Step{{Name: "h", Method: http.MethodGet, Path: path,
			Headers: []Header{{Name: "X-Ask", Value: ask}}, Extract: []Extractor{ex}}}}
		v := testVU(t, s, engine)
		for i := range 2 { // the second time from the shared static header
			r, ok := v.stepResult(context.Background(), 0, &s.Steps[0], time.Time{})
			v.release()
			if !ok || v.data.Vars["tok"] != "t-42" {
				t.Fatalf("request %d: ok %v (%s %v), tok %q, want t-42", i, ok, r.kind, r.err, v.data.Vars["tok"])
			}
			if engine == pool.EngineFastHTTP && r.header.Get("X-Other") != "" {
				t.Errorf("fasthttp engine copied a header no VU reads: %v", r.header)
			}
		}
	})
}

// A wait for a gate slot counts against the request's timeout on both
// engines, though the fasthttp engine's requests arm no timer otherwise.
func TestGateWaitTimesOut(t *testing.T) {
	t.Parallel()
	onEngines(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, func(t *testing.T, srv *httptest.Server, target *url.URL, engine string) {
		pl := pool.New(pool.Options{Engine: engine, MaxWaiting: 1})
		t.Cleanup(pl.Close)
		e, err := NewEnv(&Script{Target: target, Timeout: 100 * time.Millisecond}, PoolTransport(pl, nil),
			stats.NewRecorder(stats.Options{}), stats.NewSessions())
		if err != nil {
			t.Fatal(err)
		}
		v := e.NewVU(1, Identity{Username: "u", Password: "p"}, Signals{})
		var r result
		if v.do(context.Background(), &r, 0, time.Time{}, http.MethodGet, srv.URL, nil, nil); r.kind != stats.OK {
			t.Fatalf("free gate: kind %s (%v)", r.kind, r.err)
		}
		pl.Gate().Enter(context.Background()) // the only slot, held by someone else
		v.do(context.Background(), &r, 0, time.Time{}, http.MethodGet, srv.URL, nil, nil)
		took := r.end.Sub(r.start)
		if r.kind != stats.Timeout || took > time.Second {
			t.Fatalf("full gate: kind %s (%v) after %s, want a timeout after ~100ms", r.kind, r.err, took)
		}
		pl.Gate().Leave()
		if v.do(context.Background(), &r, 0, time.Time{}, http.MethodGet, srv.URL, nil, nil); r.kind != stats.OK {
			t.Fatalf("gate free again: kind %s (%v)", r.kind, r.err)
		}
	})
}
