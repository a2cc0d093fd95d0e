package stats

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"testing"
	"time"
)

// A real request through a trace: the first one dials (connect, TTFB,
// body), the second reuses the connection (no connect).
func TestPhaseTrace(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(make([]byte, 64<<10))
	}))
	defer srv.Close()
	var pt PhaseTrace
	var trace httptrace.ClientTrace
	reused := false
	trace.GotConn = func(i httptrace.GotConnInfo) { reused = i.Reused }
	pt.Install(&trace)
	if trace.GotConn == nil {
		t.Fatal("Install dropped the GotConn hook")
	}
	cl := srv.Client()
	get := func() Phases {
		pt.Reset()
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), &trace), "GET", srv.URL, nil)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return pt.Phases(time.Now())
	}
	first := get()
	if first.Connect <= 0 || first.TTFB <= 0 || first.Body < 0 || first.DNS != 0 || first.TLS != 0 || reused {
		t.Errorf("first request (new connection to an IP): %+v reused %v", first, reused)
	}
	second := get()
	if second.Connect != 0 || second.TTFB <= 0 || !reused {
		t.Errorf("second request (reused): %+v reused %v", second, reused)
	}
}
