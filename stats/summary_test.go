package stats

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func summaryResults() *Results {
	p := func(min, mean, p50, p90, p95, p99, p999, max float64) Percentiles {
		return Percentiles{min, mean, p50, p90, p95, p99, p999, max}
	}
	corrected := p(1, 30, 12.34, 45.6, 78.9, 123.4, 456.7, 1234.5)
	// login has no intended time: its corrected figures are its service
	// times, and the totals' corrected figures cover its requests too.
	login := p(1, 5, 2.5, 4, 5, 9.876, 20, 25)
	totalCorrected := p(1, 29, 12.0, 45.0, 78.0, 120.0, 450.0, 1234.5)
	return &Results{
		Schema: SchemaV1,
		Endpoints: []EndpointResult{
			{Name: "login", Requests: 100, Errors: 1, RPS: 3.333, Latency: login, Corrected: &login},
			{Name: "catalog", Requests: 2000, Errors: 0, RPS: 66.67, Latency: p(0.1, 2, 0.0456, 1, 2, 3, 4, 5), Corrected: &corrected, CorrectedRequests: 2000},
		},
		Totals: EndpointResult{Name: TotalName, Requests: 2100, Errors: 1, RPS: 70, Latency: p(0.1, 2, 0.05, 1, 2, 3.5, 9, 25),
			Corrected: &totalCorrected, CorrectedRequests: 2000},
		Sessions:     SessionCounts{Established: 12, Unique: 11, RotatedOnLogin: 10, LoginFailures: 1, Rejected: 2, Relogins: 3, Expired: 4},
		Iterations:   IterationCounts{Completed: 500, Dropped: 7},
		Connections:  ConnectionCounts{Dials: 20, Reused: 2080, ReuseRatio: 2080.0 / 2100},
		ErrorsByKind: map[string]int64{"timeout": 1, "http_5xx": 0, "from_the_future": 2, "session_lost": 5},
		Warnings:     []string{"CPU saturated"},
	}
}

func TestWriteSummary(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteSummary(&buf, summaryResults()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	lines := strings.Split(out, "\n")
	// Rows compared field by field, not by spacing.
	want := [][]string{
		{"endpoint", "requests", "rps", "errors", "p50", "p90", "p95", "p99", "p99.9", "max"},
		{"login", "*", "100", "3.33", "1.00%", "2.50", "4.00", "5.00", "9.88", "20.0", "25.0"},
		{"catalog", "*", "2000", "66.7", "0.00%", "12.3", "45.6", "78.9", "123", "457", "1234"},
		// The TOTAL's corrected figures are over all 2100 requests.
		{"TOTAL", "*", "2100", "70.0", "0.05%", "12.0", "45.0", "78.0", "120", "450", "1234"},
	}
	for i, w := range want {
		if got := strings.Fields(lines[i]); !slices.Equal(got, w) {
			t.Errorf("line %d = %q, want %q", i, got, w)
		}
	}
	// The second table holds the service times of corrected rows.
	serviceRows := [][]string{
		{"catalog", "0.0456", "1.00", "2.00", "3.00", "4.00", "5.00"},
		{"TOTAL", "0.0500", "1.00", "2.00", "3.50", "9.00", "25.0"},
	}
	for _, w := range serviceRows {
		if !containsFields(lines, w) {
			t.Errorf("no service time row %q", w)
		}
	}
	for _, s := range []string{
		"* = from the intended start",
		"no intended time (corrected = service time): login\n",
		"service time (from the actual start), ms",
		"sessions:     12 established, 11 unique, 10 rotated on login, 1 login failures, 2 rejected, 3 relogins, 4 expired",
		"iterations:   500 completed, 7 dropped",
		"connections:  20 dials, 99.0% of requests on a reused connection",
		"errors:       0.05% of requests: timeout 1, from_the_future 2; session_lost 5 (sessions the server dropped; each VU logged in again and retried the step)\n",
		"warning:      CPU saturated",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("summary lacks %q", s)
		}
	}
	if strings.Contains(out, "http_5xx") {
		t.Error("summary lists an error kind with no errors")
	}
}

// Sessions whose token could not be seen have no unique count: the
// summary says unknown rather than a number; server rotations are shown.
func TestWriteSummaryUnseenSessions(t *testing.T) {
	t.Parallel()
	r := summaryResults()
	r.Sessions = SessionCounts{Established: 5, Unseen: 5, RotatedByServer: 3}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r); err != nil {
		t.Fatal(err)
	}
	want := "sessions:     5 established, unique unknown (no session token seen), 0 login failures, 0 rejected, 0 relogins, 0 expired, 3 rotated by server"
	if out := buf.String(); !strings.Contains(out, want) {
		t.Errorf("summary lacks %q:\n%s", want, out)
	}
}

func TestWriteSummaryUncorrected(t *testing.T) {
	t.Parallel()
	r := summaryResults()
	r.Endpoints[1].Corrected, r.Totals.Corrected = nil, nil
	r.Endpoints[1].CorrectedRequests, r.Totals.CorrectedRequests = 0, 0
	r.ErrorsByKind, r.Warnings = nil, nil
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{"*", "service time", "errors:", "warning:"} {
		if strings.Contains(out, s) {
			t.Errorf("summary without corrected latency or errors has %q:\n%s", s, out)
		}
	}
	if !containsFields(strings.Split(out, "\n"), []string{"catalog", "2000", "66.7", "0.00%", "0.0456", "1.00", "2.00", "3.00", "4.00", "5.00"}) {
		t.Errorf("catalog row missing:\n%s", out)
	}
}

func TestWriteSummaryWriteError(t *testing.T) {
	t.Parallel()
	want := errors.New("disk full")
	if err := WriteSummary(failWriter{want}, summaryResults()); !errors.Is(err, want) {
		t.Errorf("WriteSummary = %v, want %v", err, want)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func containsFields(lines []string, want []string) bool {
	for _, l := range lines {
		if slices.Equal(strings.Fields(l), want) {
			return true
		}
	}
	return false
}

func TestSig3(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},           // no decimals for zero
		{0.001, "0.00100"}, // one microsecond
		{0.0456, "0.0456"}, // below 0.1
		{1, "1.00"},        // ones
		{12.34, "12.3"},    // tens
		{123.4, "123"},     // hundreds
		{1234.5, "1234"},   // thousands keep every integer digit (rounded to even)
		{60030.975, "60031"},
		{-2.5, "-2.50"}, // negative, should one appear
	}
	for _, tt := range tests {
		if got := sig3(tt.in); got != tt.want {
			t.Errorf("sig3(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The window line names only what was left out of the measured window and
// took at least a millisecond; a run with nothing apart has no such line.
func TestWriteSummaryWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		warmup, setup, wait float64
		want                string // "" : no window line
	}{
		{0, 0, 1.3e-7, ""},
		{2, 0, 0, "not counted: 2.00 s warm-up\n"},
		{0, 0.051, 4.947, "not counted: 0.0510 s setup (preallocated VUs' logins), 4.95 s wait for --start-at\n"},
	} {
		r := summaryResults()
		r.WarmupS, r.SetupS, r.StartWaitS = tc.warmup, tc.setup, tc.wait
		var buf bytes.Buffer
		if err := WriteSummary(&buf, r); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if tc.want == "" && strings.Contains(out, "window:") || tc.want != "" && !strings.Contains(out, tc.want) {
			t.Errorf("%+v: want %q in:\n%s", tc, tc.want, out)
		}
	}
}
