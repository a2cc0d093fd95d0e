package main

import (
	"bytes"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/sessionload/load/profiles"
)

// ansi matches the terminal control sequences the live line uses.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// TestStartWaitOnTTY runs a plan with --start-in on a pseudo-terminal:
// the live line counts down to the start ("starting in 2 s") and shows
// no negative percentage or count, then each phase has its own words.
func TestStartWaitOnTTY(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine: %v", err)
	}
	defer ptmx.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	h := &hitCounter{vus: map[string]bool{}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	plan := writeFile(t, "plan.yaml", "target: "+srv.URL+"\nscenario:\n  - name: work\n    get: /work\n"+
		"think: 100ms\nload: {vus: 2, duration: 2s}\n")
	var stdout bytes.Buffer
	code := run([]string{"run", plan, "--start-in", "3s"}, &stdout, tty)
	tty.Close()
	<-copied
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, screen.String())
	}
	mu.Lock()
	out := ansi.ReplaceAllString(screen.String(), "")
	mu.Unlock()
	if hits, _ := h.counts(); hits == 0 {
		t.Fatalf("the server saw no request; terminal:\n%q", out)
	}
	for _, w := range []string{"waiting: starting in 2 s", "waiting: starting in 1 s", "running: VUs 2/2"} {
		if !strings.Contains(out, w) {
			t.Errorf("the live line never says %q; terminal:\n%q", w, out)
		}
	}
	if neg := regexp.MustCompile(`-\d+%|\(-\d|\[-\d|/-\d`).FindString(out); neg != "" {
		t.Errorf("the live line shows a negative figure %q; terminal:\n%q", neg, out)
	}
}

// Each phase of a run has its own words on the live line.
func TestStatusLinePhases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    profiles.Progress
		want string
	}{
		// Before --start-at: whole seconds left, rounded up.
		{profiles.Progress{Elapsed: -11500 * time.Millisecond, Phase: "waiting for --start-at"}, "waiting: starting in 12 s"},
		{profiles.Progress{Elapsed: -time.Millisecond, Phase: "waiting for --start-at"}, "waiting: starting in 1 s"},
		// The last tick of the wait may come just after the start.
		{profiles.Progress{Elapsed: time.Millisecond, Phase: "waiting for --start-at"}, "waiting: starting now"},
		{profiles.Progress{Elapsed: time.Second, VUs: 3, Target: 5, Phase: "logging in"}, "logging in: VUs 3/5  sessions 0"},
		{profiles.Progress{Elapsed: 2 * time.Second, VUs: 5, Target: 5}, "running: VUs 5/5  sessions 0"},
		{profiles.Progress{Elapsed: 10 * time.Second, VUs: 2, Phase: "stopping"}, "stopping: 2 VUs finishing  sessions 0"},
	}
	for _, tc := range tests {
		if got := statusLine(tc.p); !strings.HasPrefix(got, tc.want) {
			t.Errorf("statusLine(%+v) = %q, want it to start with %q", tc.p, got, tc.want)
		}
	}
}
