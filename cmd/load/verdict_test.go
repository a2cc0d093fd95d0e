package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sessionload/load/bench/target"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// A dead target is "could not test" (exit 1), found before the load
// starts by one request, with its cause; not a passing run.
func TestExitDeadTarget(t *testing.T) {
	t.Parallel()
	plan := writeFile(t, "plan.yaml", strings.Replace(runPlan, "TARGET", "http://"+closedPort(t), 1))
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runCLI(t, "run", plan, "--duration", "2s", "--quiet", "--out", out)
	if code != exitRunError {
		t.Errorf("exit %d, want %d\n%s%s", code, exitRunError, stdout, stderr)
	}
	if !strings.Contains(stderr, "unreachable") || !strings.Contains(stderr, "connection refused") {
		t.Errorf("stderr does not say the target is unreachable and why:\n%s", stderr)
	}
	if strings.Contains(stdout, "TOTAL") {
		t.Errorf("a load ran against a dead target:\n%s", stdout)
	}
}

// A target answering 500 to everything was tested: exit 0 without
// thresholds, and the summary says every request failed.
func TestExitAll500s(t *testing.T) {
	t.Parallel()
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	plan := writeFile(t, "plan.yaml", fmt.Sprintf(`
target: %s
session: {login: none}
scenario:
  - {name: home, get: /}
think: 20ms
load: {vus: 2, duration: 1s}
`, srv.URL))
	code, stdout, stderr := runCLI(t, "run", plan, "--quiet")
	if code != exitOK {
		t.Errorf("exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	total := ""
	for l := range strings.SplitSeq(stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "TOTAL") {
			total = l
		}
	}
	if served.Load() == 0 || !strings.Contains(total, "100.00%") {
		t.Errorf("server served %d; summary TOTAL row %q, want error rate 100.00%%:\n%s", served.Load(), total, stdout)
	}
}

// When every login fails no VU ever tested the app: exit 1 with one line
// saying so, though the server answered every request.
func TestExitNoLogin(t *testing.T) {
	t.Parallel()
	tg := target.New(target.Config{Users: 10})
	srv, err := tg.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	text := strings.Replace(runPlan, "TARGET", srv.URL(), 1)
	text = strings.Replace(text, "password: secret", "password: wrong", 1)
	plan := writeFile(t, "plan.yaml", text)
	code, stdout, stderr := runCLI(t, "run", plan, "--duration", "1s", "--quiet")
	if code != exitRunError {
		t.Errorf("exit %d, want %d\n%s%s", code, exitRunError, stdout, stderr)
	}
	if !strings.Contains(stderr, "no VU logged in") {
		t.Errorf("stderr does not say no VU logged in:\n%s", stderr)
	}
	if st := tg.Stats(); st.LoginFailures == 0 {
		t.Errorf("the target saw no failed login: %+v", st)
	}
}

// Every exit code is explained in load --help, load run --help and the
// README, and an unwritable --out is bad input (exit 2) as README says.
func TestExitCodesDocumented(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, help, _ := runCLI(t, "--help")
	_, runHelp, _ := runCLI(t, "run", "--help")
	for _, doc := range []struct{ name, text string }{{"load --help", help}, {"load run --help", runHelp}, {"README", string(readme)}} {
		for _, w := range []string{"unreachable", "no VU logged in", "interrupted", "bad input", "threshold", "99", "130"} {
			if !strings.Contains(doc.text, w) {
				t.Errorf("%s does not explain %q", doc.name, w)
			}
		}
	}
	if !strings.Contains(string(readme), "| 2 | bad input: plan, flags or files (an unwritable `--out`") {
		t.Errorf("README does not say an unwritable --out exits 2")
	}
	_, plan := runPlanOnTarget(t)
	code, _, stderr := runCLI(t, "run", plan, "--duration", "1s", "--quiet", "--out", filepath.Join(t.TempDir(), "no", "such", "r.json"))
	if code != exitBadInput || !strings.Contains(stderr, "--out") {
		t.Errorf("unwritable --out: exit %d, want %d: %s", code, exitBadInput, stderr)
	}
}

// The storm, end to end: Basic auth with a wrong password against a
// server answering 401 to everything. The server sees a handful of requests
// per VU (the back-off), the summary's error rate is 100%, and the run
// could not test (exit 1: no VU logged in), not a passing run.
func TestExitBasicStorm(t *testing.T) {
	t.Parallel()
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		w.Header().Set("WWW-Authenticate", `Basic realm="app"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	plan := writeFile(t, "plan.yaml", fmt.Sprintf(`
target: %s
users: {template: {username: "user{{.VU}}", password: wrong}}
session: {login: basic, retry_login: 1s}
scenario: [{name: me, get: /api/me}]
think: 500ms
load: {vus: 5, duration: 6s}
`, srv.URL))
	code, stdout, stderr := runCLI(t, "run", plan, "--quiet")
	if code != exitRunError || !strings.Contains(stderr, "no VU logged in") {
		t.Errorf("exit %d, want %d with \"no VU logged in\"\n%s%s", code, exitRunError, stdout, stderr)
	}
	if n := served.Load(); n == 0 || n > 5*(6+2) {
		t.Errorf("the server counted %d requests, want 1..%d", n, 5*(6+2))
	}
	total := ""
	for l := range strings.SplitSeq(stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "TOTAL") {
			total = l
		}
	}
	if !strings.Contains(total, "100.00%") {
		t.Errorf("summary TOTAL row %q, want an error rate of 100.00%%:\n%s", total, stdout)
	}
}

// An engine nobody knows, from the environment, is bad input before any
// request, not a silent fall-back.
func TestBadEngineFromEnvironment(t *testing.T) {
	_, plan := runPlanOnTarget(t)
	t.Setenv("LOAD_ENGINE", "fast")
	code, _, stderr := runCLI(t, "run", plan, "--duration", "1s", "--quiet")
	if code != exitBadInput || !strings.Contains(stderr, `LOAD_ENGINE: expected fasthttp or nethttp, got "fast"`) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit %d naming LOAD_ENGINE", code, stderr, exitBadInput)
	}
}
