package stats

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A fast-failing endpoint: the server answers every other request with
// an immediate 500 and the others after 50 ms. OK latency holds exactly
// the server's 200s, all of them slow; failed latency its 500s; the
// all-requests latency is pulled down by them, as it always was.
func TestOKLatencyExcludesFailures(t *testing.T) {
	t.Parallel()
	var n, ok, failed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%2 == 0 {
			failed.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		time.Sleep(50 * time.Millisecond)
		ok.Add(1)
	}))
	defer srv.Close()

	r := NewRecorder(Options{Shards: 1})
	ep := r.Endpoint("mixed")
	for i := range 20 {
		s := Sample{Endpoint: ep, Start: time.Now()}
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		s.End, s.Status, s.Kind = time.Now(), resp.StatusCode, StatusKind(resp.StatusCode)
		if i%3 == 0 { // some with an intended time, 5 ms before the send
			s.Intended = s.Start.Add(-5 * time.Millisecond)
		}
		r.Record(0, &s)
	}
	res, err := r.Result(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := res.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults(&js)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []EndpointResult{back.Endpoints[0], back.Totals} {
		okH, _ := DecodeHDR(e.OKHDR)
		okC, _ := DecodeHDR(e.OKCorrectedHDR)
		fH, _ := DecodeHDR(e.FailedHDR)
		if okH == nil || fH == nil || okC == nil || okH.TotalCount() != ok.Load() || okC.TotalCount() != ok.Load() || fH.TotalCount() != failed.Load() {
			t.Fatalf("%s: ok/ok corrected/failed histograms %v %v %v, want %d OK and %d failed as the server counted", e.Name, okH, okC, fH, ok.Load(), failed.Load())
		}
		if e.OKLatency == nil || e.OKLatency.Min < 50 || e.FailedLatency == nil || e.FailedLatency.Min >= 50 {
			t.Errorf("%s: ok %+v failed %+v: want OK >= 50 ms and 500s under it", e.Name, e.OKLatency, e.FailedLatency)
		}
		if e.Latency.Min >= 50 || e.OKCorrected.Min < e.OKLatency.Min {
			t.Errorf("%s: all %+v ok corrected %+v", e.Name, e.Latency, e.OKCorrected)
		}
	}
	// Thresholds name the OK figures; the plain one sees the fast 500s.
	for metric, want := range map[string]bool{"mixed ok p50": true, "ok min": true, "mixed min": false} {
		th, err := ParseThreshold(metric, ">= 50ms")
		if err != nil {
			t.Fatal(err)
		}
		if v := th.Evaluate(back); v.OK != want || v.Error != "" {
			t.Errorf("%s >= 50ms: %+v, want ok %v", metric, v, want)
		}
	}
	if _, err := ParseThreshold("mixed ok errors", "< 1"); err == nil {
		t.Error(`"mixed ok errors" parsed: ok takes a latency`)
	}
	// Merged, the OK and failed histograms add exactly.
	m, err := Merge([]*Results{back, back}, MergeOptions{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	okH, _ := DecodeHDR(m.Totals.OKHDR)
	fH, _ := DecodeHDR(m.Totals.FailedHDR)
	if okH == nil || fH == nil || okH.TotalCount() != 2*ok.Load() || fH.TotalCount() != 2*failed.Load() {
		t.Errorf("merged: ok %v failed %v, want %d and %d", okH, fH, 2*ok.Load(), 2*failed.Load())
	}
	// The summary's headline is of the OK responses.
	var sum bytes.Buffer
	if err := WriteSummary(&sum, back); err != nil {
		t.Fatal(err)
	}
	e := back.Endpoints[0]
	var row []string
	for _, l := range strings.Split(sum.String(), "\n") {
		if f := strings.Fields(l); len(f) > 5 && f[0] == "mixed" {
			row = f
			break
		}
	}
	if row == nil || row[1] != "*" || row[4] != "50.00%" || row[5] != sig3(e.OKCorrected.P50) || row[5] == sig3(e.Corrected.P50) {
		t.Errorf("summary row %q: want the OK corrected p50 %s (all requests' is %s) beside 50.00%% errors:\n%s", row, sig3(e.OKCorrected.P50), sig3(e.Corrected.P50), sum.String())
	}
}
