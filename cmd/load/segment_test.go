package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
)

// runSegments runs plan in n processes, segments 0/n..n-1/n, started
// together, and returns their results files.
func runSegments(t *testing.T, plan string, n int) []string {
	t.Helper()
	outs, _ := runSegmentsOf(t, plan, n, 0, n)
	return outs
}

// runSegmentsOf runs segments from..to-1 of n of plan, started together,
// and returns their results files and summaries.
func runSegmentsOf(t *testing.T, plan string, n, from, to int) (outs, stdouts []string) {
	t.Helper()
	dir := t.TempDir()
	outs = make([]string, to-from)
	stdouts = make([]string, to-from)
	errs := make([]string, to-from)
	// One agreed instant, as a Kubernetes Job passes to every pod.
	at := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
	var wg sync.WaitGroup
	for k := range to - from {
		i := from + k
		outs[k] = filepath.Join(dir, fmt.Sprintf("seg%d.json", i))
		cmd := exec.Command(os.Args[0], "run", plan, "--quiet", "--segment", fmt.Sprintf("%d/%d", i, n), "--start-at", at, "--out", outs[k])
		cmd.Env = append(os.Environ(), mainEnv+"=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := cmd.Wait(); err != nil {
				errs[k] = fmt.Sprintf("segment %d/%d: %v\n%s%s", i, n, err, stdout.String(), stderr.String())
			}
			stdouts[k] = stdout.String()
		})
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Fatal(e)
		}
	}
	return outs, stdouts
}

// A segment judges only what is its own: latency and error-rate rules,
// not the whole's rate, which it leaves to the merge and says so. The
// segments of one run (one --start-at) merge; a segment of another run,
// or one given twice, is refused.
func TestSegmentsJudgeTheirShare(t *testing.T) {
	t.Parallel()
	plan := mePlan(t, startTarget(t), ", end: abandon", `load: {rate: 100/s, duration: 3s, preallocated_vus: 10, max_vus: 40}
thresholds:
  rps: "> 75"
  "me p99": "< 10s"
  errors: "< 1%"
`)
	outs, stdouts := runSegmentsOf(t, plan, 2, 0, 2) // each segment exits 0 at ~50/s
	for k, o := range outs {
		r := readResults(t, o)
		if r.PlanHash == "" || r.RunID == "" {
			t.Errorf("%s: plan_hash %q, run_id %q; want both", o, r.PlanHash, r.RunID)
		}
		if !strings.Contains(stdouts[k], "rps > 75") || !strings.Contains(stdouts[k], "judged on the merged whole") {
			t.Errorf("segment %d's summary does not say rps is judged on the merge:\n%s", k, stdouts[k])
		}
		if !strings.Contains(stdouts[k], "✓ me p99 < 10s") {
			t.Errorf("segment %d's summary does not judge its own latency:\n%s", k, stdouts[k])
		}
	}
	merged := filepath.Join(t.TempDir(), "total.json")
	code, stdout, stderr := runCLI(t, append([]string{"merge", "--thresholds", plan, "-o", merged}, outs...)...)
	if code != 0 || !strings.Contains(stdout, "✓ rps > 75") {
		t.Errorf("merge --thresholds: exit %d, want 0 with rps judged:\n%s%s", code, stdout, stderr)
	}
	m := readResults(t, merged)
	if m.RunID != readResults(t, outs[0]).RunID || len(m.Thresholds) != 3 {
		t.Errorf("merged: run_id %q, thresholds %+v", m.RunID, m.Thresholds)
	}
	// The whole's rate is the sum of the segments' (exactly when their
	// windows coincide; a busy machine ends them some ms apart).
	if sum := readResults(t, outs[0]).Totals.RPS + readResults(t, outs[1]).Totals.RPS; math.Abs(m.Totals.RPS-sum) > 0.025*sum {
		t.Errorf("merged rps %.2f, the two segments' sum %.2f", m.Totals.RPS, sum)
	}
	// Segment 1/2 of another run (another --start-at).
	foreign, _ := runSegmentsOf(t, plan, 2, 1, 2)
	if code, _, stderr := runCLI(t, "merge", "-o", merged, outs[0], foreign[0]); code != exitBadInput || !strings.Contains(stderr, "another run") {
		t.Errorf("merge with a foreign segment: exit %d, want %d: %s", code, exitBadInput, stderr)
	}
	if code, _, stderr := runCLI(t, "merge", "-o", merged, outs[0], outs[1], outs[1]); code != exitBadInput || !strings.Contains(stderr, "twice") {
		t.Errorf("merge with a duplicate: exit %d, want %d: %s", code, exitBadInput, stderr)
	}
}

// Four processes, segments 0/4..3/4, run one test together: every user of
// the CSV logs in exactly once across them (the server counts), the merged
// iterations are the single-process schedule's, and the merged histogram
// is exactly the histogram of all samples.
func TestSegmentsSimulation(t *testing.T) {
	t.Parallel()
	const users = 40
	tg := target.New(target.Config{Users: users})
	srv, err := tg.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var csv strings.Builder
	csv.WriteString("username,password\n")
	for i := 1; i <= users; i++ {
		fmt.Fprintf(&csv, "user%d,%s\n", i, target.Password)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(dir, "plan.yaml")
	text := fmt.Sprintf(`
name: split
target: %s
users: {csv: users.csv}
session: {login: spring-form, end: abandon}
scenario:
  - {name: me, get: /api/me, headers: {Accept: application/json}, check: {json: {"$.user": "{{.User}}"}}}
load: {rate: 200/s, duration: 3s, preallocated_vus: %d, max_vus: %d}
`, srv.URL(), users, users)
	if err := os.WriteFile(plan, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := profiles.LoadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	want := p.Load.Open.Rate.Count() // what one process would run

	outs := runSegments(t, plan, 4)
	merged := filepath.Join(dir, "total.json")
	if code, _, stderr := runCLI(t, append([]string{"merge", "-o", merged}, outs...)...); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	total := readResults(t, merged)

	// The server saw each CSV user log in exactly once.
	auth := tg.AuthenticatedUsers()
	if len(auth) != users {
		t.Errorf("server: %d distinct users logged in, want %d", len(auth), users)
	}
	for i := 1; i <= users; i++ {
		if n := auth[fmt.Sprintf("user%d", i)]; n != 1 {
			t.Errorf("server: user%d logged in %d times, want 1", i, n)
		}
	}
	if total.Iterations.Completed != want || total.Sessions.Unique != users {
		t.Errorf("merged: %d iterations, %d unique sessions; want %d and %d", total.Iterations.Completed, total.Sessions.Unique, want, users)
	}
	// The merged histogram is the histogram of all samples: add the
	// segments' histograms here independently and compare.
	all, rps := 0.0, 0.0
	var hs []string
	for _, o := range outs {
		r := readResults(t, o)
		rps += r.Totals.RPS
		if r.Segment == "" || r.StartAt == nil {
			t.Errorf("%s: segment %q, start_at %v; want both recorded", o, r.Segment, r.StartAt)
		}
		e := findEndpoint(r, "me")
		if e == nil {
			t.Fatalf("%s: no endpoint me", o)
		}
		all += float64(e.Requests)
		hs = append(hs, e.HDR)
	}
	ref, err := stats.DecodeHDR(hs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs[1:] {
		x, err := stats.DecodeHDR(h)
		if err != nil {
			t.Fatal(err)
		}
		ref.Merge(x)
	}
	// Rates are over the segments' common window, not diluted by the
	// wait for --start-at: the whole's is the sum of theirs.
	if math.Abs(total.Totals.RPS-rps) > 0.01*rps {
		t.Errorf("merged rps %.2f, the segments' sum %.2f", total.Totals.RPS, rps)
	}
	me := findEndpoint(total, "me")
	if math.Abs(me.RPS-200) > 10 {
		t.Errorf("merged me rps %.2f, want the plan's 200/s", me.RPS)
	}
	got, err := stats.DecodeHDR(me.HDR)
	if err != nil {
		t.Fatal(err)
	}
	if got.TotalCount() != ref.TotalCount() || float64(got.TotalCount()) != all || float64(me.Requests) != all {
		t.Errorf("merged count %d, requests %d; all samples %v", got.TotalCount(), me.Requests, all)
	}
	for _, q := range []float64{50, 90, 99, 99.9, 100} {
		if a, b := got.ValueAtQuantile(q), ref.ValueAtQuantile(q); a != b {
			t.Errorf("p%v: merged %d µs, all samples %d µs", q, a, b)
		}
	}
	// report --thresholds judges the merged whole by the plan: a passing
	// and a failing set of thresholds.
	pass := strings.Replace(text, "load:", "thresholds: {\"me p99\": \"< 10s\", \"errors\": \"< 1%\"}\nload:", 1)
	fail := strings.Replace(text, "load:", "thresholds: {\"rps\": \"> 100000\"}\nload:", 1)
	for _, tc := range []struct {
		text string
		code int
	}{{pass, 0}, {fail, exitThresholds}} {
		if err := os.WriteFile(plan, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, stdout, stderr := runCLI(t, "report", merged, "--thresholds", plan); code != tc.code {
			t.Errorf("report --thresholds: exit %d, want %d\n%s%s", code, tc.code, stdout, stderr)
		}
	}
}

// Three segments of a ramping arrival rate (rounding is awkward: 111
// iterations) run exactly the whole schedule between them.
func TestSegmentsRampingRate(t *testing.T) {
	t.Parallel()
	tg := target.New(target.Config{Users: 30})
	srv, err := tg.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	plan := writeFile(t, "plan.yaml", fmt.Sprintf(`
name: ramp
target: %s
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, end: abandon}
scenario:
  - {name: me, get: /api/me, headers: {Accept: application/json}}
load: {rate: 7/s, stages: [{duration: 1s, target: 101/s}, {duration: 1s, target: 13/s}], preallocated_vus: 6, max_vus: 30}
`, srv.URL()))
	outs := runSegments(t, plan, 3)
	var sum int64
	for _, o := range outs {
		r := readResults(t, o)
		t.Logf("segment %s: %d iterations", r.Segment, r.Iterations.Completed)
		sum += r.Iterations.Completed
	}
	merged := filepath.Join(t.TempDir(), "total.json")
	if code, _, stderr := runCLI(t, append([]string{"merge", "-o", merged}, outs...)...); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	total := readResults(t, merged)
	if sum != 111 || total.Iterations.Completed != 111 {
		t.Errorf("segments sum to %d, merged %d; the whole schedule has 111", sum, total.Iterations.Completed)
	}
	// A missing segment is an error unless --partial.
	if code, _, stderr := runCLI(t, "merge", "-o", merged, outs[0], outs[2]); code != exitBadInput || !strings.Contains(stderr, "missing segment(s) 1/3") {
		t.Errorf("merge without 1/3: exit %d, %s", code, stderr)
	}
	if code, _, _ := runCLI(t, "merge", "--partial", "-o", merged, outs[0], outs[2]); code != 0 {
		t.Errorf("merge --partial: exit %d", code)
	}
}
