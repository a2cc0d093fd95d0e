package profiles

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/stats"
)

// The recommendation shows Little's law with the numbers, and shortens
// the timeout when the traffic does not fit.
func TestRecommend(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		knee int
		o    SearchOptions
		want []string
	}{
		{"fits", 5000, SearchOptions{ArrivalRate: 2, ActiveTime: 5 * time.Minute, AbandonShare: 0.5, Timeout: 30 * time.Minute},
			// 2/s × (300 s + 0.5 × 1800 s) = 2400; × 1.2 = 2880 <= 5000
			[]string{"= 2/s × (300 s + 0.50 × 1800 s) = 2400", "maxActiveSessions = 2400 × 1.2 headroom = 2880", "30m0s is fine"}},
		{"shorten the timeout", 1200, SearchOptions{ArrivalRate: 2, ActiveTime: 5 * time.Minute, AbandonShare: 0.5, Timeout: 30 * time.Minute},
			// (1200 / 1.2 / 2 − 300) / 0.5 = 400 s
			[]string{"exceeds the capacity 1200: cap at 1200", "(1200 / 1.2 / 2 − 300) / 0.50 = 400 s ≈ 7m0s"}},
		{"no traffic given", 300, SearchOptions{}, []string{"maxActiveSessions: 300 (the capacity"}},
		{"too much even without timeouts", 100, SearchOptions{ArrivalRate: 10, ActiveTime: time.Minute, AbandonShare: 0.5, Timeout: 30 * time.Minute},
			[]string{"add servers or memory"}},
	} {
		got := strings.Join(recommend(&SearchResult{Knee: tc.knee, Broke: "x"}, tc.o), "\n")
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: recommendation does not say %q:\n%s", tc.name, w, got)
			}
		}
	}
}

func TestHeapSlope(t *testing.T) {
	t.Parallel()
	// 100 sessions per 5 MB: 51.2 KB each.
	if got := heapSlopeKB([][2]float64{{100, 40}, {200, 45}, {300, 50}}); got < 51.1 || got > 51.3 {
		t.Errorf("slope %.2f KB, want 51.2", got)
	}
	if got := heapSlopeKB([][2]float64{{100, 40}}); got != -1 {
		t.Errorf("one point: %v, want -1", got)
	}
}

// A step breaks the limits on a refused session, a failed threshold or a
// server heap past the limit; within them it is ok.
func TestMeasureStep(t *testing.T) {
	t.Parallel()
	base := func() *stats.Results {
		return &stats.Results{
			Sessions:     stats.SessionCounts{Established: 100},
			ErrorsByKind: map[string]int64{},
			Totals:       stats.EndpointResult{Requests: 1000, Latency: stats.Percentiles{P50: 1, P95: 2, P99: 3}},
			Server: &stats.ServerResult{PeakActive: 100, Timeline: []stats.ServerSample{
				{HeapUsedMB: 100, HeapMaxMB: 256, BusyThreads: 5, MaxThreads: 200},
				{HeapUsedMB: 150, HeapMaxMB: 256, BusyThreads: 9, MaxThreads: 200},
			}},
		}
	}
	p := &Plan{}
	for _, tc := range []struct {
		name   string
		change func(*stats.Results)
		why    string
	}{
		{"within the limits", func(*stats.Results) {}, ""},
		{"refused", func(r *stats.Results) { r.Sessions.Rejected = 3 }, "refused sessions to 3 VUs"},
		{"heap", func(r *stats.Results) { r.Server.Timeline[1].HeapUsedMB = 230 }, "server heap 230 MB is over 85% of its max 256 MB"},
		{"login failures", func(r *stats.Results) { r.Sessions.LoginFailures = 2 }, "2 logins failed"},
	} {
		r := base()
		tc.change(r)
		st := measureStep(100, r, p, 0.85)
		if st.OK != (tc.why == "") || !strings.Contains(st.Why, tc.why) {
			t.Errorf("%s: ok %v, why %q; want %q", tc.name, st.OK, st.Why, tc.why)
		}
		if st.HeapMB != max(150, r.Server.Timeline[1].HeapUsedMB) || st.BusyThreads != 9 || st.P99 != 3 {
			t.Errorf("%s: step %+v", tc.name, st)
		}
	}
}
