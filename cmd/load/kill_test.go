package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
)

// SIGKILL (an OOM kill, a pod's grace period ending) loses nothing but
// the last interval: --out streams R.json.partial, fsync'd per interval,
// and the CSV is streamed too; load report rebuilds a results file from
// the stream whose intervals are the CSV's rows. No output is left as an
// empty file.
func TestSIGKILLKeepsIntervals(t *testing.T) {
	t.Parallel()
	_, url := startCountingTarget(t, "/api/me")
	plan := mePlan(t, url, "", `think: 20ms
load: {vus: 3, duration: 20s}
`)
	dir := t.TempDir()
	out, csvPath, junit, hlog := filepath.Join(dir, "R.json"), filepath.Join(dir, "t.csv"), filepath.Join(dir, "j.xml"), filepath.Join(dir, "r.hlog")
	cmd := exec.Command(os.Args[0], "run", plan, "--quiet", "--out", out, "--csv", csvPath, "--junit", junit, "--hlog", hlog)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// 6 s into the run: the stream's first line comes with the first
	// interval, 1 s after the schedule started.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if fi, err := os.Stat(out + ".partial"); err == nil && fi.Size() > 0 || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(5 * time.Second)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for _, p := range []string{out, junit} {
		if fi, err := os.Stat(p); err == nil {
			t.Errorf("%s left behind (%d bytes) by a killed run", p, fi.Size())
		}
	}

	// The .hlog is flushed per interval too.
	if n := strings.Count(readFile(t, hlog), "\nTag=me,"); n < 5 {
		t.Errorf("the hlog of the killed run has %d intervals of me, want >= 5", n)
	}

	rebuilt := filepath.Join(dir, "rebuilt.json")
	code, stdout, rstderr := runCLI(t, "report", out+".partial", "--out", rebuilt)
	if code != exitRunError || !strings.Contains(rstderr, "partial") {
		t.Errorf("report of the stream: exit %d, want %d saying partial:\n%s%s", code, exitRunError, stdout, rstderr)
	}
	res := readResults(t, rebuilt)
	t.Logf("rebuilt: %d intervals, %.2f s, %d requests", len(res.Timeline), res.DurationS, res.Totals.Requests)
	if !res.Partial || res.DurationS < 5 || len(res.Timeline) < 5 {
		t.Fatalf("rebuilt: partial %v, duration_s %.2f, %d intervals; want partial, >= 5 s\n%s", res.Partial, res.DurationS, len(res.Timeline), stderr.String())
	}

	rows := readCSV(t, csvPath)
	byKey := map[string]int64{}
	intervals := map[string]bool{}
	for _, r := range rows[1:] {
		n, _ := strconv.ParseInt(r[3], 10, 64)
		byKey[r[0]+" "+r[2]] = n
		intervals[r[0]] = true
	}
	var sum int64
	for _, p := range res.Timeline {
		ts := strconv.FormatFloat(p.T, 'f', -1, 64)
		for _, e := range append(p.Endpoints, p.Total) {
			n, ok := byKey[ts+" "+e.Name]
			if !ok || n != e.Requests {
				t.Errorf("interval %s %s: stream %d requests, csv %d (row there: %v)", ts, e.Name, e.Requests, n, ok)
			}
		}
		sum += p.Total.Requests
	}
	if len(intervals) < len(res.Timeline) || len(intervals) > len(res.Timeline)+1 {
		t.Errorf("csv has %d intervals, the stream %d: want the same, or one more", len(intervals), len(res.Timeline))
	}
	if sum != res.Totals.Requests || res.Totals.Requests == 0 || findEndpoint(res, "me") == nil || findEndpoint(res, "me").Corrected == nil && findEndpoint(res, "me").HDR == "" {
		t.Errorf("rebuilt totals %d requests, its timeline %d", res.Totals.Requests, sum)
	}
}

// A second Ctrl-C quits at once (exit 130) and leaves the stream, which
// load report rebuilds.
func TestSecondCtrlCKeepsStream(t *testing.T) {
	t.Parallel()
	// A slow logout keeps the graceful stop going when the second comes.
	tg := target.New(target.Config{Users: 10})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/logout" {
			time.Sleep(3 * time.Second)
		}
		tg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	plan := mePlan(t, srv.URL, "", `think: 20ms
load: {vus: 3, duration: 1m}
`)
	out := filepath.Join(t.TempDir(), "R.json")
	cmd := exec.Command(os.Args[0], "run", plan, "--quiet", "--out", out)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(3500 * time.Millisecond)
	_ = cmd.Process.Signal(os.Interrupt)
	time.Sleep(500 * time.Millisecond)
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("still running 5 s after a second Ctrl-C")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	rebuilt := filepath.Join(t.TempDir(), "r.json")
	runCLI(t, "report", out+".partial", "--out", rebuilt)
	if res := readResults(t, rebuilt); !res.Partial || len(res.Timeline) < 3 || res.Totals.Requests == 0 {
		t.Errorf("rebuilt after a second Ctrl-C: partial %v, %d intervals, %d requests", res.Partial, len(res.Timeline), res.Totals.Requests)
	}
}
