// Package tomcat runs a private Debian Tomcat 10.1 on loopback for tests
// and benchmarks, and reads Tomcat's own session counters.
//
// The instance serves the stock examples app (FORM login), the manager
// app, and any number of deployments of the sessionapp (a Spring-Security-
// like form login written as plain servlets, in sessionapp/), each context
// with its own session cap, timeout and expiry sweep. The script
// tomcat.sh beside this file installs the packages, builds the instance
// and starts it; this package calls it, stops Tomcat by PID, and reads the
// Manager MBean of a context through the manager's JMX proxy.
package tomcat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Settings are one context's session settings; the zero value is Tomcat's
// default (no cap, 30-minute timeout, sweep every 6th background run).
type Settings struct {
	// MaxActiveSessions caps the live sessions (Manager
	// maxActiveSessions); 0 means no cap.
	MaxActiveSessions int
	// SessionTimeout is the idle timeout, in whole minutes (web.xml
	// session-timeout); 0 means 30 minutes.
	SessionTimeout time.Duration
	// ProcessExpiresFrequency is how many background runs (10 s each)
	// pass between expiry sweeps (Manager processExpiresFrequency); 0
	// means Tomcat's 6.
	ProcessExpiresFrequency int
	// AuthenticationSessionTimeout, for a copy of the examples app, is
	// the FormAuthenticator valve's authenticationSessionTimeout: how
	// long a session may stay in the FORM login phase (whole seconds; 0:
	// Tomcat's 120 s, no valve).
	AuthenticationSessionTimeout time.Duration
	// Cookieless, for a copy of the examples app, sets cookies="false"
	// on its context: sessions are tracked by URL rewriting only.
	Cookieless bool
}

// arg renders s as tomcat.sh's SETTINGS.
func (s Settings) arg() string {
	var parts []string
	if s.MaxActiveSessions > 0 {
		parts = append(parts, "max="+strconv.Itoa(s.MaxActiveSessions))
	}
	if s.SessionTimeout > 0 {
		parts = append(parts, "timeout="+strconv.Itoa(int(s.SessionTimeout/time.Minute)))
	}
	if s.ProcessExpiresFrequency > 0 {
		parts = append(parts, "expires="+strconv.Itoa(s.ProcessExpiresFrequency))
	}
	if s.AuthenticationSessionTimeout > 0 {
		parts = append(parts, "authtimeout="+strconv.Itoa(int(s.AuthenticationSessionTimeout/time.Second)))
	}
	if s.Cookieless {
		parts = append(parts, "cookies=false")
	}
	return strings.Join(parts, ",")
}

// App is one deployment of the sessionapp, served at /Name.
type App struct {
	Name string
	Settings
}

// arg0 renders app as tomcat.sh's NAME[:SETTINGS].
func (a App) arg0() string {
	if s := a.arg(); s != "" {
		return a.Name + ":" + s
	}
	return a.Name
}

// Config describes an instance.
type Config struct {
	// Dir is where the instance is made; it must not exist yet. Empty
	// means a new temporary directory, removed by Stop.
	Dir string
	// Port is the loopback port; 0 picks a free one.
	Port int
	// Users is how many load-test users (user1..userN, role tomcat) the
	// examples app and every sessionapp accept; 0 means 1.
	Users int
	// Password is every load-test user's password; empty means "secret".
	Password string
	// Examples are the stock examples app's settings. Its SessionTimeout
	// is the instance's default timeout (the app has no session-config).
	Examples Settings
	// Apps are the sessionapp deployments.
	Apps []App
	// ExamplesApps are more copies of the stock examples app, each at
	// /Name with its own settings.
	ExamplesApps []App
	// MaxThreads is the HTTP connector's maxThreads; 0 means Tomcat's 200.
	MaxThreads int
	// JavaOpts are the JVM's options (CATALINA_OPTS), e.g. "-Xmx256m".
	JavaOpts string
}

// Instance is a running Tomcat.
type Instance struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// Dir is the instance directory (CATALINA_BASE); logs/ holds its logs.
	Dir string
	// PID is the Tomcat JVM's process id.
	PID int
	// Users and Password are the load-test users: user1..userN.
	Users    int
	Password string
	// ScriptUser and ScriptPassword are the manager-script account
	// (/manager/text/...).
	ScriptUser, ScriptPassword string
	// JMXUser and JMXPassword are the manager-jmx account
	// (/manager/jmxproxy).
	JMXUser, JMXPassword string

	tmp      string // a temporary directory Stop removes, if Launch made one
	client   *http.Client
	stopOnce sync.Once
	stopErr  error
}

// UnavailableError is a Launch that failed because Tomcat cannot be
// installed on this machine (no apt-get, not root, no network).
type UnavailableError struct {
	// Output is what the installer said.
	Output string
	Err    error
}

// Error says why Tomcat is unavailable.
func (e *UnavailableError) Error() string {
	return fmt.Sprintf("Tomcat cannot be installed here (%v): %s", e.Err, strings.TrimSpace(e.Output))
}

// Unwrap returns the installer's error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Script returns the path of tomcat.sh: $LOAD_TOMCAT_SH if set, else the
// copy beside this package's source.
func Script() string {
	if p := os.Getenv("LOAD_TOMCAT_SH"); p != "" {
		return p
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "bench/tomcat/tomcat.sh"
	}
	return filepath.Join(filepath.Dir(file), "tomcat.sh")
}

// Install installs Tomcat's packages unless they are there. An error it
// returns is an *UnavailableError.
func Install(ctx context.Context) error {
	bash, err := exec.LookPath("bash")
	if err != nil {
		return &UnavailableError{Err: err}
	}
	out, err := exec.CommandContext(ctx, bash, Script(), "install").CombinedOutput()
	if err != nil {
		return &UnavailableError{Output: string(out), Err: err}
	}
	return nil
}

// Launch installs Tomcat if needed and starts an instance. The caller
// must call Stop (Start does it for a test). When Tomcat cannot be
// installed the error is an *UnavailableError.
func Launch(cfg Config) (*Instance, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := Install(ctx); err != nil {
		return nil, err
	}
	in := &Instance{client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{}}}
	if cfg.Dir == "" {
		tmp, err := os.MkdirTemp("", "load-tomcat-")
		if err != nil {
			return nil, err
		}
		in.tmp = tmp
		cfg.Dir = filepath.Join(tmp, "instance")
	}
	if cfg.Port == 0 {
		p, err := freePort()
		if err != nil {
			in.removeTmp()
			return nil, err
		}
		cfg.Port = p
	}
	args := []string{Script(), "start", "--dir", cfg.Dir, "--port", strconv.Itoa(cfg.Port),
		"--users", strconv.Itoa(max(cfg.Users, 1)), "--owner", strconv.Itoa(os.Getpid())}
	if cfg.Password != "" {
		args = append(args, "--password", cfg.Password)
	}
	if a := cfg.Examples.arg(); a != "" {
		args = append(args, "--examples", a)
	}
	for _, app := range cfg.Apps {
		args = append(args, "--app", app.arg0())
	}
	for _, app := range cfg.ExamplesApps {
		args = append(args, "--examples-app", app.arg0())
	}
	if cfg.MaxThreads > 0 {
		args = append(args, "--max-threads", strconv.Itoa(cfg.MaxThreads))
	}
	if cfg.JavaOpts != "" {
		args = append(args, "--java-opts", cfg.JavaOpts)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	kv := parseEnv(stdout.String())
	if pid, perr := strconv.Atoi(kv["PID"]); perr == nil {
		in.PID, in.Dir = pid, kv["DIR"]
	}
	if err != nil {
		// The script stops a Tomcat that did not come up; make sure.
		if in.PID > 0 {
			in.Stop()
		}
		in.removeTmp()
		return nil, fmt.Errorf("tomcat.sh start: %w\n%s%s", err, stdout.String(), stderr.String())
	}
	in.URL = kv["URL"]
	in.Users, _ = strconv.Atoi(kv["USERS"])
	in.Password = kv["PASSWORD"]
	in.ScriptUser, in.ScriptPassword = kv["SCRIPT_USER"], kv["SCRIPT_PASSWORD"]
	in.JMXUser, in.JMXPassword = kv["JMX_USER"], kv["JMX_PASSWORD"]
	if in.PID == 0 || in.URL == "" || in.JMXPassword == "" {
		in.Stop()
		return nil, fmt.Errorf("tomcat.sh start: unexpected output:\n%s", stdout.String())
	}
	return in, nil
}

// Start launches an instance for test t and stops it when t ends, passed
// or failed. When Tomcat cannot be installed it skips t, except with
// CI=true, where it fails t (see Fatal). With cfg.Dir empty the instance
// lives in t.TempDir().
func Start(t testing.TB, cfg Config) *Instance {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(t.TempDir(), "tomcat")
	}
	in, err := Launch(cfg)
	if err != nil {
		Fatal(t, err)
	}
	t.Cleanup(func() {
		if err := in.Stop(); err != nil {
			t.Errorf("stop Tomcat: %v", err)
		}
	})
	return in
}

// Fatal ends test t after a failed Launch: a skip when Tomcat cannot be
// installed on this machine, a failure when it could but did not start,
// and always a failure with CI=true, where the Tomcat tests must run.
func Fatal(t testing.TB, err error) {
	t.Helper()
	var un *UnavailableError
	if errors.As(err, &un) && os.Getenv("CI") != "true" {
		t.Skipf("skipping the real-Tomcat test: %v\n(on Debian as root, `bash bench/tomcat/tomcat.sh install` installs it; with CI=true this is a failure)", err)
	}
	t.Fatal(err)
}

// Stop stops Tomcat by its PID (only if that process is still this
// instance's JVM), waits for it to exit, and removes the temporary
// directory Launch made. It is safe to call more than once.
func (in *Instance) Stop() error {
	in.stopOnce.Do(func() {
		defer in.removeTmp()
		if in.client != nil {
			in.client.CloseIdleConnections()
		}
		if in.PID <= 0 || !in.ours() {
			return
		}
		if err := syscall.Kill(in.PID, syscall.SIGTERM); err != nil {
			in.stopErr = fmt.Errorf("kill %d: %w", in.PID, err)
			return
		}
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
			if !in.ours() {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		syscall.Kill(in.PID, syscall.SIGKILL)
		in.stopErr = fmt.Errorf("tomcat (PID %d) did not stop within 15 s; killed", in.PID)
	})
	return in.stopErr
}

// ours reports whether PID is still this instance's JVM (not exited, not
// a zombie, not a reused PID).
func (in *Instance) ours() bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", in.PID))
	if err != nil || len(b) == 0 { // a zombie has an empty cmdline
		return false
	}
	for _, a := range bytes.Split(b, []byte{0}) {
		if string(a) == "-Dcatalina.base="+in.Dir {
			return true
		}
	}
	return false
}

func (in *Instance) removeTmp() {
	if in.tmp != "" {
		os.RemoveAll(in.tmp)
		in.tmp = ""
	}
}

// Counters are a context's session figures from its Manager MBean.
type Counters struct {
	// ActiveSessions is the live sessions, including expired ones the
	// sweep has not removed yet.
	ActiveSessions int64
	// SessionCounter is the sessions created (active + expired).
	SessionCounter int64
	// RejectedSessions counts session creations refused by the cap.
	RejectedSessions int64
	// ExpiredSessions counts sessions ended by timeout or invalidation
	// (logout counts here too).
	ExpiredSessions int64
	// MaxActive is the high-water mark of ActiveSessions.
	MaxActive int64
	// MaxActiveSessions is the cap (-1: none).
	MaxActiveSessions int64
}

// Counters reads the Manager MBean of context path ctx (e.g.
// "/examples") through /manager/jmxproxy.
func (in *Instance) Counters(ctx string) (Counters, error) {
	attrs, err := in.ManagerAttrs(ctx)
	if err != nil {
		return Counters{}, err
	}
	var c Counters
	for _, f := range []struct {
		name string
		dst  *int64
	}{
		{"activeSessions", &c.ActiveSessions},
		{"sessionCounter", &c.SessionCounter},
		{"rejectedSessions", &c.RejectedSessions},
		{"expiredSessions", &c.ExpiredSessions},
		{"maxActive", &c.MaxActive},
		{"maxActiveSessions", &c.MaxActiveSessions},
	} {
		v, err := strconv.ParseInt(attrs[f.name], 10, 64)
		if err != nil {
			return Counters{}, fmt.Errorf("jmxproxy %s: attribute %s = %q: %v", ctx, f.name, attrs[f.name], err)
		}
		*f.dst = v
	}
	return c, nil
}

// ManagerAttrs returns every attribute of context ctx's Manager MBean as
// the JMX proxy prints it (name → value).
func (in *Instance) ManagerAttrs(ctx string) (map[string]string, error) {
	q := url.Values{"qry": {"Catalina:type=Manager,context=" + ctx + ",host=localhost"}}
	body, err := in.get("/manager/jmxproxy?"+q.Encode(), in.JMXUser, in.JMXPassword)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(body, "OK - Number of results: 1") {
		return nil, fmt.Errorf("jmxproxy %s: %s", ctx, firstLine(body))
	}
	attrs := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if name, val, ok := strings.Cut(sc.Text(), ": "); ok {
			attrs[name] = val
		}
	}
	return attrs, nil
}

// ExpireSessions ends every session of context ctx now, through the text
// API (/manager/text/expire?idle=0); Tomcat counts them as expired.
func (in *Instance) ExpireSessions(ctx string) error {
	q := url.Values{"path": {ctx}, "idle": {"0"}}
	body, err := in.get("/manager/text/expire?"+q.Encode(), in.ScriptUser, in.ScriptPassword)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(body, "OK") {
		return fmt.Errorf("expire %s: %s", ctx, firstLine(body))
	}
	return nil
}

func (in *Instance) get(path, user, password string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, in.URL+path, nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(user, password)
	resp, err := in.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), nil
}

// WriteUsersCSV writes a users CSV (header username,password) with rows
// user<first>..user<first+n-1>, all with password.
func WriteUsersCSV(path string, first, n int, password string) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"username", "password"})
	for i := first; i < first+n; i++ {
		w.Write([]string{"user" + strconv.Itoa(i), password})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

func parseEnv(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			m[k] = v
		}
	}
	return m
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before Tomcat binds it; Tomcat then fails to start, loudly.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
