package hostile_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionload/load/bench/hostile"
	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
)

// The tests below run one after another, not in parallel: each measures
// the heap of the whole process, which another test's run would inflate.

// heapBound is how much the heap may grow over a run of a few VUs,
// whatever the server sends: far below the 1 GiB body and the 2 MiB
// header times the requests made.
const heapBound = 64 << 20

// hostilePlan has every VU request the hostile endpoint, then /ok: the
// second step shows whether the first one harmed anything else.
const hostilePlan = `
target: %s
scenario:
  - name: hostile
    get: %s
  - name: ok
    get: /ok
    check: {status: 200, body_contains: '"ok":true'}
timeout: %s
http: {compression: %t, insecure_skip_verify: %t, engine: %s}
load: {vus: 3, duration: 2s, graceful_stop: 1s}
`

// outcome is one run against the hostile server.
type outcome struct {
	res     *stats.Results
	hostile stats.EndpointResult
	ok      stats.EndpointResult
	heap    uint64        // peak HeapInuse growth during the run
	took    time.Duration // the whole run, graceful stop included
}

// engines are the engines every case runs on: the default one first.
var engines = []string{pool.EngineFastHTTP, pool.EngineNetHTTP}

// runHostile runs hostilePlan on engine and samples the heap while it runs.
func runHostile(t *testing.T, engine, base, path, timeout string, compression, insecure bool) outcome {
	t.Helper()
	text := fmt.Sprintf(hostilePlan, base, path, timeout, compression, insecure, engine)
	p, err := profiles.Parse(t.Name()+".yaml", []byte(text), t.TempDir())
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base0 := ms.HeapInuse

	stop := make(chan struct{})
	var peak uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := profiles.Run(ctx, p, profiles.RunOptions{})
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the run did not end by itself")
	}
	o := outcome{res: res, took: took}
	if peak > base0 {
		o.heap = peak - base0
	}
	for _, e := range res.Endpoints {
		switch e.Name {
		case "hostile":
			o.hostile = e
		case "ok":
			o.ok = e
		}
	}
	t.Logf("hostile: %d requests, %d errors %v, %d bytes in, max %.0fms; ok: %d requests, %d errors; heap +%d KiB; %s",
		o.hostile.Requests, o.hostile.Errors, o.hostile.ErrorsByKind, o.hostile.BytesIn, o.hostile.Latency.Max,
		o.ok.Requests, o.ok.Errors, o.heap>>10, took.Round(time.Millisecond))
	return o
}

// kinds lists the error kinds an endpoint met, sorted.
func kinds(e stats.EndpointResult) []string {
	var ks []string
	for k, n := range e.ErrorsByKind {
		if n > 0 {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

// Each misbehaviour, on each engine: the run ends by itself in time, the
// heap stays far below what the server sends, the hostile step's
// failures carry their own kind, and the well-behaved step beside it has
// no error at all.
func TestHostile(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { testHostile(t, engine) })
	}
}

func testHostile(t *testing.T, engine string) {
	srv := hostile.Start()
	defer srv.Close()
	cases := []struct {
		name        string
		path        string
		timeout     string
		compression bool
		// want are the kinds the hostile step may meet; the first must
		// be met (ok: no error at all is expected).
		want []string
		// maxLatency, when set, is the longest a hostile request may take:
		// the configured timeout fired.
		maxLatency time.Duration
	}{
		// A browser ignores what it cannot parse; the jar does too, and
		// the response says so.
		{name: "cookie malformed", path: hostile.PathCookieMalformed, timeout: "1s", want: []string{"cookie_rejected"}},
		// 16 KiB cookie: dropped (browsers keep at most 4 KiB), never sent back.
		{name: "cookie oversized", path: hostile.PathCookieOversized, timeout: "1s", want: []string{"cookie_rejected"}},
		// 2,000 cookies: the jar keeps a browser's share.
		{name: "cookie many", path: hostile.PathCookieMany, timeout: "1s", want: []string{"cookie_rejected"}},
		// 5,000: net/http drops them all; that is reported too.
		{name: "cookie flood", path: hostile.PathCookieFlood, timeout: "1s", want: []string{"cookie_rejected"}},
		// Domain=example.com from 127.0.0.1: refused, and reported.
		{name: "cookie foreign", path: hostile.PathCookieForeign, timeout: "1s", want: []string{"cookie_rejected"}},
		{name: "header 2 MiB", path: hostile.PathHeaderHuge, timeout: "1s", want: []string{"header_too_large"}},
		// A huge body is read with a cap and discarded: not an error in
		// itself, unless the request timeout ends it first.
		{name: "body 1 GiB", path: hostile.PathBodyHuge, timeout: "1s", want: []string{"ok", "timeout"}},
		// Without compression the client does not ask for gzip nor
		// decompress: the bomb is ~1 MiB of bytes, never inflated.
		{name: "gzip bomb", path: hostile.PathGzipBomb, timeout: "1s", want: []string{"ok", "timeout"}},
		// With compression it is inflated as it is read, through the
		// same cap: memory stays bounded, the timeout ends it.
		{name: "gzip bomb compression", path: hostile.PathGzipBomb, timeout: "1s", compression: true, want: []string{"ok", "timeout"}},
		{name: "redirect loop", path: hostile.PathRedirectLoop, timeout: "1s", want: []string{"redirects"}},
		{name: "drip 1 byte/s", path: hostile.PathDrip, timeout: "1s", want: []string{"timeout"}, maxLatency: 1500 * time.Millisecond},
		{name: "reset mid-body", path: hostile.PathReset, timeout: "1s", want: []string{"reset"}},
		{name: "never answers", path: hostile.PathHang, timeout: "1s", want: []string{"timeout"}, maxLatency: 1500 * time.Millisecond},
		// No timeout configured: the graceful stop still ends the run.
		{name: "never answers, no timeout", path: hostile.PathHang, timeout: "0s", want: []string{"canceled"}},
		{name: "HTTP/1.0 close", path: hostile.PathHTTP10, timeout: "1s", want: []string{"ok"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := runHostile(t, engine, srv.URL(), tc.path, tc.timeout, tc.compression, false)
			// duration 2s + graceful stop 1s + margin.
			if o.took > 5*time.Second {
				t.Errorf("the run took %s, want <= 5s (duration + graceful stop + margin)", o.took)
			}
			if o.heap > heapBound {
				t.Errorf("heap grew by %d MiB during the run, want <= %d MiB", o.heap>>20, heapBound>>20)
			}
			if o.hostile.Requests == 0 {
				t.Fatalf("no hostile request was recorded")
			}
			got := kinds(o.hostile)
			for _, k := range got {
				if !slices.Contains(tc.want, k) {
					t.Errorf("hostile step met %s (%v); want only %v", k, o.hostile.ErrorsByKind, tc.want)
				}
			}
			if first := tc.want[0]; first == "ok" && len(got) > 0 && len(tc.want) == 1 {
				t.Errorf("hostile step errors %v, want none", o.hostile.ErrorsByKind)
			} else if first != "ok" && o.hostile.ErrorsByKind[first] == 0 {
				t.Errorf("hostile step errors %v, want %s", o.hostile.ErrorsByKind, first)
			}
			if tc.maxLatency > 0 && time.Duration(o.hostile.Latency.Max*float64(time.Millisecond)) > tc.maxLatency {
				t.Errorf("hostile step max latency %.0fms, want <= %s: the timeout did not fire", o.hostile.Latency.Max, tc.maxLatency)
			}
			// The step beside the hostile one, on the same transport and
			// the same VUs' jars, is untouched. An iteration cut at the
			// graceful stop may miss it, at most once per VU.
			if o.ok.Errors != 0 || o.ok.Requests < o.hostile.Requests-3 {
				t.Errorf("ok step: %d requests, %d errors %v; want >= %d and none",
					o.ok.Requests, o.ok.Errors, o.ok.ErrorsByKind, o.hostile.Requests-3)
			}
		})
	}
	st := srv.Stats()
	if st.MaxCookie > 8<<10 || st.MaxCookies > 200 {
		t.Errorf("/ok was sent %d bytes in %d cookies at most; the jar should cap them (4 KiB each, 180 per user)", st.MaxCookie, st.MaxCookies)
	}
	if st.Foreign != 0 {
		t.Errorf("/ok was sent a cookie set for another domain or path %d times", st.Foreign)
	}
	// Handlers end when their client goes: none is left streaming the
	// 1 GiB body or holding a hanging connection.
	deadline := time.Now().Add(3 * time.Second)
	for srv.Stats().Active > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := srv.Stats(); st.Active != 0 {
		t.Errorf("%d server handlers still running after the runs: the client did not close its connections", st.Active)
	}
}

// A keep-alive-less HTTP/1.0 server works, one connection per request,
// on each engine.
func TestHTTP10NoReuse(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { testHTTP10NoReuse(t, engine) })
	}
}

func testHTTP10NoReuse(t *testing.T, engine string) {
	srv := hostile.Start()
	defer srv.Close()
	o := runHostile(t, engine, srv.URL(), hostile.PathHTTP10, "1s", false, false)
	if o.hostile.Errors != 0 || o.hostile.Status["200"] != o.hostile.Requests {
		t.Errorf("HTTP/1.0 step: %d requests, status %v, errors %v; want all 200", o.hostile.Requests, o.hostile.Status, o.hostile.ErrorsByKind)
	}
	// Each HTTP/1.0 answer ends its connection: the next request dials.
	if d := o.res.Connections.Dials; d < o.hostile.Requests {
		t.Errorf("%d dials for %d HTTP/1.0 requests; want at least one each", d, o.hostile.Requests)
	}
}

// TLS verification is on by default: a certificate no root vouches for
// (the timeout is long because handshakes are slow under -race)
// fails every request as tls. With insecure_skip_verify the run works and
// both results.json and the summary say verification was off. https goes
// to net/http whatever the engine: the default one is the one to test.
func TestTLSVerification(t *testing.T) {
	srv := hostile.Start()
	defer srv.Close()
	engine := engines[0]

	o := runHostile(t, engine, srv.TLSURL(), hostile.PathOK, "5s", false, false)
	if o.hostile.Requests == 0 || o.hostile.ErrorsByKind["tls"] != o.hostile.Requests {
		t.Errorf("verifying: %d requests, errors %v; want all tls", o.hostile.Requests, o.hostile.ErrorsByKind)
	}
	for _, w := range o.res.Warnings {
		if strings.Contains(w, "insecure_skip_verify") {
			t.Errorf("verifying run warns %q", w)
		}
	}

	o = runHostile(t, engine, srv.TLSURL(), hostile.PathOK, "5s", false, true)
	if o.hostile.Requests == 0 || o.hostile.Errors != 0 || o.ok.Errors != 0 {
		t.Errorf("insecure: hostile %d requests %v, ok %v; want no errors", o.hostile.Requests, o.hostile.ErrorsByKind, o.ok.ErrorsByKind)
	}
	var sum bytes.Buffer
	if err := stats.WriteSummaryWith(&sum, o.res, stats.SummaryOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum.String(), "TLS certificate verification was off") {
		t.Errorf("the summary does not say verification was off:\n%s", sum.String())
	}
}
