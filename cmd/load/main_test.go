package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
)

// mainEnv makes the test binary run main, so a test can drive the real
// process (signals, exit codes).
const mainEnv = "LOAD_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) != "" {
		main()
		return
	}
	os.Exit(m.Run())
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Bad input exits 2 and names the file, line and column of every problem.
func TestBadInput(t *testing.T) {
	t.Parallel()
	bad := writeFile(t, "bad.yaml", "target: http://127.0.0.1:1\nsesion: {}\nscenario:\n  - name: a\n    get: /\nload: {vus: ten, duration: 1s}\n")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		// Every problem of the plan at once, with positions.
		{"plan", []string{"run", bad}, []string{"bad.yaml:2:1: unknown key \"sesion\"", "did you mean \"session\"?", "bad.yaml:6:13: load.vus: expected a positive integer"}},
		// A missing plan file.
		{"missing file", []string{"run", filepath.Join(t.TempDir(), "nope.yaml")}, []string{"nope.yaml", "no such file"}},
		// A flag that does not exist.
		{"flag", []string{"run", "--vvus", "3", bad}, []string{"unknown flag: --vvus"}},
		// A starter kind that does not exist.
		{"init kind", []string{"init", "oauth"}, []string{"oauth"}},
		// The target only listens on loopback.
		{"target addr", []string{"target", "--addr", "0.0.0.0:8080"}, []string{"loopback"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, tc.args...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// init writes each starter plan, and each one loads.
func TestInit(t *testing.T) {
	t.Parallel()
	for _, kind := range profiles.StarterKinds() {
		out := filepath.Join(t.TempDir(), kind+".yaml")
		if code, _, stderr := runCLI(t, "init", kind, "-o", out); code != 0 {
			t.Fatalf("init %s: exit %d: %s", kind, code, stderr)
		}
		if _, err := profiles.LoadFile(out); err != nil {
			t.Errorf("init %s wrote a plan that does not load: %v", kind, err)
		}
		// It never overwrites a file.
		if code, _, _ := runCLI(t, "init", kind, "-o", out); code != exitBadInput {
			t.Errorf("init over an existing file: exit %d, want %d", code, exitBadInput)
		}
	}
}

const runPlan = `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form}
scenario:
  - name: me
    get: /api/me
    headers: {Accept: application/json}
    check: {json: {"$.user": "{{.User}}"}}
think: 50ms
load: {vus: 2, duration: 30s}
`

// runPlanOnTarget starts a demo target for one test and writes runPlan
// aimed at it.
func runPlanOnTarget(t *testing.T) (*target.Target, string) {
	t.Helper()
	tg := target.New(target.Config{Users: 10})
	srv, err := tg.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return tg, writeFile(t, "plan.yaml", strings.Replace(runPlan, "TARGET", srv.URL(), 1))
}

// run with overrides prints the summary and writes results.json.
func TestRunWritesResults(t *testing.T) {
	t.Parallel()
	tg, plan := runPlanOnTarget(t)
	out := filepath.Join(t.TempDir(), "results.json")
	code, stdout, stderr := runCLI(t, "run", plan, "--vus", "5", "--duration", "1s", "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"login-page", "login", "me", "5 unique"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary does not show %q:\n%s", w, stdout)
		}
	}
	res := readResults(t, out)
	if res.Sessions.Unique != 5 || res.VUs.Max != 5 {
		t.Errorf("results: %d unique sessions, %d max VUs; want 5 and 5", res.Sessions.Unique, res.VUs.Max)
	}
	if st := tg.Stats(); st.CreatedByLogin != 5 || st.Logouts != 5 {
		t.Errorf("target: %d logins, %d logouts; want 5 and 5", st.CreatedByLogin, st.Logouts)
	}
}

func readResults(t *testing.T, path string) *stats.Results {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := stats.ReadResults(f)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The first Ctrl-C stops the run gracefully: the summary is printed, the
// results are written, the sessions are ended, and the exit code says the
// run was cut short.
func TestInterruptKeepsResults(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "results.json")
	junit := filepath.Join(t.TempDir(), "j.xml")
	cmd := exec.Command(os.Args[0], "demo", "--vus", "20", "--duration", "2m", "--out", out, "--junit", junit)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(3 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 30s after Ctrl-C; stderr:\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitRunError {
		t.Errorf("exit: %v, want code %d", err, exitRunError)
	}
	if !strings.Contains(stdout.String(), "TOTAL") {
		t.Errorf("no summary after Ctrl-C:\n%s\n%s", stdout.String(), stderr.String())
	}
	res := readResults(t, out)
	if res.Totals.Requests == 0 || res.Sessions.Unique != 20 {
		t.Errorf("results after Ctrl-C: %d requests, %d unique sessions; want > 0 and 20", res.Totals.Requests, res.Sessions.Unique)
	}
	if e := findEndpoint(res, "logout"); e == nil || e.Requests != 20 {
		t.Errorf("want 20 logouts after Ctrl-C, got %+v", e)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, " "), "interrupted") || !res.Interrupted {
		t.Errorf("warnings = %q, interrupted %v; want them saying the run was interrupted", res.Warnings, res.Interrupted)
	}
	if j := readFile(t, junit); !strings.Contains(j, `type="untested"`) || !strings.Contains(j, "interrupted") {
		t.Errorf("junit does not say the run was interrupted:\n%s", j)
	}
	if _, err := os.Stat(out + ".partial"); err == nil {
		t.Errorf("%s.partial left behind after the results were written", out)
	}
}

func findEndpoint(res *stats.Results, name string) *stats.EndpointResult {
	for i := range res.Endpoints {
		if res.Endpoints[i].Name == name {
			return &res.Endpoints[i]
		}
	}
	return nil
}

// Without a terminal, progress comes as plain status lines on stderr.
func TestPlainProgress(t *testing.T) {
	t.Parallel()
	_, plan := runPlanOnTarget(t)
	code, _, stderr := runCLI(t, "run", plan, "--duration", "3500ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := 0
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "VUs 2/2") && strings.Contains(l, "sessions 2") && strings.Contains(l, "rps") {
			lines++
		}
	}
	if lines < 2 {
		t.Errorf("want >= 2 status lines with VUs, sessions and rps; stderr:\n%s", stderr)
	}
}

// --cpus caps the CPUs the generator runs on (GOMAXPROCS): results.json
// and the summary say how many it had; a negative count is bad input.
func TestCPUs(t *testing.T) {
	t.Parallel()
	_, plan := runPlanOnTarget(t)
	out := filepath.Join(t.TempDir(), "results.json")
	// In a process of its own: GOMAXPROCS is the whole process's.
	cmd := exec.Command(os.Args[0], "run", plan, "--vus", "2", "--duration", "500ms", "--cpus", "1", "--quiet", "--out", out)
	cmd.Env = append(os.Environ(), mainEnv+"=1", "GOMAXPROCS=2")
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if res := readResults(t, out); res.Generator == nil || res.Generator.Procs != 1 {
		t.Errorf("results generator %+v, want procs 1", res.Generator)
	}
	if !strings.Contains(string(stdout), "of 1 (") {
		t.Errorf("summary does not say 1 CPU:\n%s", stdout)
	}
	if code, _, stderr := runCLI(t, "run", plan, "--cpus", "-1"); code != 2 || !strings.Contains(stderr, "--cpus -1") {
		t.Errorf("--cpus -1: exit %d, %s", code, stderr)
	}
}
