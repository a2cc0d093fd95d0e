package pool_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionload/load/bench/hostile"
	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/stats"
)

// engines are the engines every parity test runs on.
var engines = []string{pool.EngineFastHTTP, pool.EngineNetHTTP}

// forEngines runs f once per engine, each on a pool of its own.
func forEngines(t *testing.T, f func(t *testing.T, p *pool.Pool)) {
	t.Helper()
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			p := pool.New(pool.Options{Engine: e})
			t.Cleanup(p.Close)
			if p.Engine() != e {
				t.Fatalf("engine %q, want %q", p.Engine(), e)
			}
			f(t, p)
		})
	}
}

// get sends a GET for url on p with ctx.
func get(ctx context.Context, p *pool.Pool, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return p.RoundTrip(req)
}

// heapPeak samples the heap in use until stop is called, which returns
// its peak growth over the heap when heapPeak was called.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	done := make(chan struct{})
	var peak uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		if peak < base {
			return 0
		}
		return peak - base
	}
}

// A 1 GiB body is streamed: read whole as a VU reads it (its first MiB
// kept, the rest counted and discarded), the server sends every byte and
// the heap grows by a few MiB at most. Closed before its end, the body's
// connection is closed: the server stops sending.
func TestBodyStreamed(t *testing.T) {
	forEngines(t, func(t *testing.T, p *pool.Pool) {
		srv := hostile.Start()
		defer srv.Close()
		stop := heapPeak()
		resp, err := get(context.Background(), p, srv.URL()+hostile.PathBodyHuge)
		if err != nil {
			t.Fatal(err)
		}
		kept := make([]byte, 1<<20)
		k, err := io.ReadFull(resp.Body, kept)
		if err != nil {
			t.Fatal(err)
		}
		rest, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		grew := stop()
		if err != nil {
			t.Fatal(err)
		}
		if got := int64(k) + rest; got != hostile.HugeBody {
			t.Errorf("read %d bytes, want %d", got, hostile.HugeBody)
		}
		if sent := srv.Stats().BodyWritten; sent != hostile.HugeBody {
			t.Errorf("the server sent %d bytes, want %d", sent, hostile.HugeBody)
		}
		if grew > 8<<20 {
			t.Errorf("the heap grew by %d KiB reading a 1 GiB body, want <= 8 MiB", grew>>10)
		}
		t.Logf("heap +%d KiB for %d MiB read", grew>>10, hostile.HugeBody>>20)

		// Half read, then closed: the server's handler ends, having sent
		// far less than the whole body.
		resp, err = get(context.Background(), p, srv.URL()+hostile.PathBodyHuge)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(io.Discard, resp.Body, 4<<20); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		waitIdle(t, srv)
		if sent := srv.Stats().BodyWritten - hostile.HugeBody; sent > hostile.HugeBody/2 {
			t.Errorf("the server sent %d MiB of a body closed after 4 MiB: the connection stayed open", sent>>20)
		}
	})
}

// waitIdle waits up to 2 s for the hostile server's handlers to end.
func waitIdle(t *testing.T, srv *hostile.Server) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for srv.Stats().Active > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := srv.Stats().Active; n != 0 {
		t.Errorf("%d server handlers still running: the client did not close its connection", n)
	}
}

// stallServer accepts connections, reads what comes, and answers only
// with head (if any) without ever finishing; it counts the connections
// the client closed.
type stallServer struct {
	ln     net.Listener
	head   string
	opened atomic.Int64
	closed chan struct{} // one value per connection the client closed
}

func newStallServer(t *testing.T, head string) *stallServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stallServer{ln: ln, head: head, closed: make(chan struct{}, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.opened.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for { // the request's head
					line, err := br.ReadString('\n')
					if err != nil {
						s.closed <- struct{}{}
						return
					}
					if line == "\r\n" {
						break
					}
				}
				io.WriteString(c, s.head)
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.Copy(io.Discard, br); err == nil || !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
					s.closed <- struct{}{} // EOF or reset: the client closed it
				}
			}()
		}
	}()
	return s
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *stallServer) url() string { return "http://" + s.ln.Addr().String() + "/" }

// waitClosed waits up to d for the client to close one connection.
func (s *stallServer) waitClosed(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(d):
		t.Errorf("the client did not close its connection within %s", d)
	}
}

// A request in flight is abandoned when its context ends: the call
// returns at once with the context's error, and its connection is
// closed (the server sees it go). So is a body being read.
func TestCancelInFlight(t *testing.T) {
	for _, tc := range []struct {
		name  string
		head  string // what the server sends before it stalls
		hooks bool   // a VU's long-lived context with Hooks, not a context per request
	}{
		{name: "no answer", head: ""},
		{name: "no answer, hooks", head: "", hooks: true},
		{name: "body stalls", head: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial"},
		{name: "body stalls, hooks", head: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial", hooks: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEngines(t, func(t *testing.T, p *pool.Pool) {
				srv := newStallServer(t, tc.head)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tc.hooks {
					ctx = pool.WithHooks(ctx, &pool.Hooks{})
				}
				var cancelled time.Time
				time.AfterFunc(100*time.Millisecond, func() { cancelled = time.Now(); cancel() })
				resp, err := get(ctx, p, srv.url())
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				took := time.Since(cancelled)
				if !errors.Is(err, context.Canceled) || stats.Classify(err) != stats.Canceled {
					t.Errorf("error %v (%s), want context canceled", err, stats.Classify(err))
				}
				if cancelled.IsZero() || took > 100*time.Millisecond {
					t.Errorf("returned %s after the cancel, want <= 100ms", took)
				}
				srv.waitClosed(t, time.Second)
			})
		})
	}
}

// A VU's context outlives its requests: requests that end normally under
// it keep their connection, and the cancel after them cuts nothing.
func TestHooksContextReuse(t *testing.T) {
	forEngines(t, func(t *testing.T, p *pool.Pool) {
		var conns atomic.Int64
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		}))
		srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.Start()
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		ctx = pool.WithHooks(ctx, &pool.Hooks{})
		for range 5 {
			resp, err := get(ctx, p, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		cancel()
		time.Sleep(20 * time.Millisecond) // the context's watch has run
		resp, err := get(context.Background(), p, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n := conns.Load(); n != 1 {
			t.Errorf("the server saw %d connections for 6 sequential requests, want 1", n)
		}
	})
}

// Response heads up to MaxResponseHeaderBytes are read whole on both
// engines, past the fasthttp engine's read buffer; a head over it fails
// as header_too_large, and the next request on the pool works.
func TestHeaderCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/200k":
			w.Header().Set("X-Big", strings.Repeat("b", 200<<10))
		case "/2m":
			w.Header().Set("X-Big", strings.Repeat("b", 2<<20))
		}
		io.WriteString(w, "body")
	}))
	defer srv.Close()
	forEngines(t, func(t *testing.T, p *pool.Pool) {
		for _, tc := range []struct {
			path string
			want stats.Kind
		}{
			{"/200k", stats.OK},
			{"/2m", stats.HeaderTooLarge},
			{"/small", stats.OK},
			{"/200k", stats.OK},
		} {
			resp, err := get(context.Background(), p, srv.URL+tc.path)
			if err == nil {
				b, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != "body" || rerr != nil {
					t.Errorf("%s: body %q, %v", tc.path, b, rerr)
				}
				if tc.path == "/200k" && len(resp.Header.Get("X-Big")) != 200<<10 {
					t.Errorf("%s: X-Big of %d bytes, want %d", tc.path, len(resp.Header.Get("X-Big")), 200<<10)
				}
			}
			if k := stats.Classify(err); k != tc.want {
				t.Errorf("%s: %v (%s), want %s", tc.path, err, k, tc.want)
			}
		}
	})
}

// A kept-alive connection the server closed while idle is replaced: the
// next GET is sent again on a new connection, as net/http does, and the
// server answers every request once.
func TestRetryClosedIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var served atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// One answer, keep-alive by HTTP/1.1's default, then a
				// close without a word.
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				served.Add(1)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	forEngines(t, func(t *testing.T, p *pool.Pool) {
		served.Store(0)
		for i := range 3 {
			resp, err := get(context.Background(), p, "http://"+ln.Addr().String()+"/")
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			time.Sleep(10 * time.Millisecond) // the close reaches the client
		}
		if n := served.Load(); n != 3 {
			t.Errorf("the server answered %d requests, want 3", n)
		}
	})
}

// Options.Engine "" is LOAD_ENGINE when set, else fasthttp; both spellings
// of net/http are accepted; an unknown name is an error naming it, and
// the pool falls back to net/http.
func TestResolveEngine(t *testing.T) {
	for _, tc := range []struct {
		engine, env, want string
		bad               bool
	}{
		{"", "", pool.EngineFastHTTP, false},
		{"", "nethttp", pool.EngineNetHTTP, false},
		{"", "fasthttp", pool.EngineFastHTTP, false},
		{"fasthttp", "nethttp", pool.EngineFastHTTP, false}, // the plan's choice wins
		{"net/http", "", pool.EngineNetHTTP, false},
		{"nethttp", "fasthttp", pool.EngineNetHTTP, false},
		{"", "quick", pool.EngineNetHTTP, true},
		{"fast", "", pool.EngineNetHTTP, true},
	} {
		t.Setenv(pool.EngineEnv, tc.env)
		o := pool.Options{Engine: tc.engine}
		got, err := o.ResolveEngine()
		if got != tc.want || (err != nil) != tc.bad {
			t.Errorf("engine %q, %s=%q: %q, %v; want %q (error: %v)", tc.engine, pool.EngineEnv, tc.env, got, err, tc.want, tc.bad)
		}
		if p := pool.New(o); p.Engine() != tc.want {
			t.Errorf("engine %q, %s=%q: the pool's engine is %q, want %q", tc.engine, pool.EngineEnv, tc.env, p.Engine(), tc.want)
		}
	}
}

// Both engines split an exchange the same way: TTFB is the server's wait
// before the head, Body the time the body took to come after it.
func TestPhasesAgree(t *testing.T) {
	const wait, drip = 60 * time.Millisecond, 60 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(wait)
		w.Header().Set("Content-Length", "4")
		io.WriteString(w, "ab")
		http.NewResponseController(w).Flush()
		time.Sleep(drip)
		io.WriteString(w, "cd")
	}))
	defer srv.Close()
	forEngines(t, func(t *testing.T, p *pool.Pool) {
		var pt stats.PhaseTrace
		trace := &httptrace.ClientTrace{}
		pt.Install(trace)
		ctx := pool.WithHooks(httptrace.WithClientTrace(context.Background(), trace), &pool.Hooks{Phases: &pt})
		resp, err := get(ctx, p, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ph := pt.Phases(time.Now())
		if ph.Connect <= 0 || ph.TTFB < wait || ph.Body < drip*3/4 {
			t.Errorf("phases %+v, want connect > 0, ttfb >= %s, body >= %s", ph, wait, drip*3/4)
		}
	})
}

// With connections capped, an abort ends both the request in flight and
// the one waiting for its connection, promptly.
func TestCancelWaitingForConn(t *testing.T) {
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			p := pool.New(pool.Options{Engine: e, MaxConnsPerHost: 1})
			defer p.Close()
			srv := newStallServer(t, "")
			ctx, cancel := context.WithCancel(context.Background())
			errs := make(chan error, 2)
			for range 2 {
				go func() {
					_, err := get(ctx, p, srv.url())
					errs <- err
				}()
			}
			time.Sleep(100 * time.Millisecond)
			if n := srv.opened.Load(); n != 1 {
				t.Fatalf("%d connections opened, want 1 (the cap)", n)
			}
			cancel()
			at := time.Now()
			for range 2 {
				if err := <-errs; !errors.Is(err, context.Canceled) {
					t.Errorf("error %v, want context canceled", err)
				}
			}
			if took := time.Since(at); took > 200*time.Millisecond {
				t.Errorf("the requests returned %s after the cancel, want <= 200ms", took)
			}
		})
	}
}

// A server that closes connections idle for 300 ms (its keep-alive
// timeout): a POST after 1.2 s of quiet goes on a new connection, on
// both engines, and the server sees it once.
func TestIdleClosedByServer(t *testing.T) {
	var posts atomic.Int64
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	srv.Config.IdleTimeout = 300 * time.Millisecond
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	forEngines(t, func(t *testing.T, p *pool.Pool) {
		posts.Store(0)
		conns.Store(0)
		for i, method := range []string{http.MethodGet, http.MethodPost} {
			if i > 0 {
				time.Sleep(1200 * time.Millisecond)
			}
			req, _ := http.NewRequest(method, srv.URL, strings.NewReader("k=v"))
			resp, err := p.RoundTrip(req)
			if err != nil {
				t.Fatalf("%s: %v", method, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if posts.Load() != 1 || conns.Load() != 2 {
			t.Errorf("the server saw %d POSTs on %d connections, want 1 on 2", posts.Load(), conns.Load())
		}
	})
}

// ResponseHeaderTimeout bounds the wait for the head on both engines,
// not the body's: a slow head fails as a timeout, a slow body after a
// prompt head does not.
func TestResponseHeaderTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slowhead" {
			time.Sleep(400 * time.Millisecond)
		}
		w.Header().Set("Content-Length", "4")
		io.WriteString(w, "ab")
		http.NewResponseController(w).Flush()
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "cd")
	}))
	defer srv.Close()
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			p := pool.New(pool.Options{Engine: e, ResponseHeaderTimeout: 150 * time.Millisecond})
			defer p.Close()
			start := time.Now()
			_, err := get(context.Background(), p, srv.URL+"/slowhead")
			if took := time.Since(start); stats.Classify(err) != stats.Timeout || took > 350*time.Millisecond {
				t.Errorf("slow head: %v (%s) after %s, want a timeout after ~150ms", err, stats.Classify(err), took)
			}
			resp, err := get(context.Background(), p, srv.URL+"/slowbody")
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "abcd" || err != nil {
				t.Errorf("slow body: %q, %v; want it whole", b, err)
			}
		})
	}
}

// Connections beyond MaxIdleConnsPerHost are closed as they come back,
// on both engines: after two rounds of 3 requests at once with 1 idle
// connection kept, the server saw 3 + 2 connections.
func TestMaxIdleConns(t *testing.T) {
	var conns atomic.Int64
	arrived := make(chan struct{}, 3)
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			conns.Store(0)
			p := pool.New(pool.Options{Engine: e, MaxIdleConnsPerHost: 1})
			defer p.Close()
			for range 2 {
				var wg sync.WaitGroup
				for range 3 {
					wg.Go(func() {
						resp, err := get(context.Background(), p, srv.URL)
						if err != nil {
							t.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					})
				}
				for range 3 {
					<-arrived // three at once: three connections
				}
				for range 3 {
					release <- struct{}{}
				}
				wg.Wait()
				time.Sleep(20 * time.Millisecond) // net/http puts a connection back from its read loop, a moment after EOF
			}
			if n := conns.Load(); n != 5 {
				t.Errorf("the server saw %d connections, want 5 (3, then 2 more: 1 was kept idle)", n)
			}
		})
	}
}
