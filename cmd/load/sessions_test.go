package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/stats"
)

// load sessions against the demo target capped at 30 sessions: the knee
// is the cap, results.json has the knee's run with the capacity block,
// the HTML report charts the steps, and every step logged out (the
// target, which counts what it saw, holds no session afterwards).
func TestSessionsCommand(t *testing.T) {
	t.Parallel()
	tg := target.New(target.Config{Users: 60, MaxSessions: 30})
	srv, err := tg.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	plan := writeFile(t, "plan.yaml", `
name: capped
target: `+srv.URL()+`
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, end: abandon, retry_login: 500ms}
scenario: [{name: me, get: /api/me, headers: {Accept: application/json}, check: {status: 200}}]
think: 100ms
load: {vus: 1, duration: 1s, graceful_stop: 5s}
`)
	dir := t.TempDir()
	out, html := filepath.Join(dir, "results.json"), filepath.Join(dir, "capacity.html")
	code, stdout, stderr := runCLI(t, "sessions", plan, "--start", "10", "--step", "10", "--max", "50", "--refine", "10",
		"--hold", "1s", "--max-hold", "2s", "--ramp", "500ms", "--warmup", "1s", "--quiet", "--out", out, "--report", html)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout, "knee: 30 sessions") || !strings.Contains(stdout, "binding limit: session cap") {
		t.Errorf("stdout does not name the knee 30 and the session cap")
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r stats.CapacityResults
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Results == nil || r.Schema != stats.SchemaV1 || r.Capacity == nil || r.Capacity.Knee != 30 || len(r.Capacity.Steps) == 0 || len(r.Capacity.Recommendation) == 0 {
		t.Fatalf("results.json: schema %q, capacity %+v", r.Schema, r.Capacity)
	}
	// The file is a results.json for load report and load compare too.
	if rr, err := stats.ReadResults(strings.NewReader(string(b))); err != nil || rr.Sessions.Established != 30 {
		t.Errorf("stats.ReadResults: %v", err)
	}
	if r.Sessions.Established != 30 {
		t.Errorf("results.json is the run of %d sessions, want the knee's 30", r.Sessions.Established)
	}
	h, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="capacity-latency"`, `id="capacity-server"`, "Knee: 30 sessions", "session cap", "maxActiveSessions"} {
		if !strings.Contains(string(h), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if st := tg.Stats(); st.Authenticated != 0 {
		t.Errorf("the target holds %d sessions after the search: every step must log out", st.Authenticated)
	}
}
