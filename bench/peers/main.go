//go:build linux

// Command peers runs load side by side with wrk, vegeta and hey against
// the same target, with the same connection count and duration, several
// rounds, and prints per tool requests/s, the generator process's CPU
// time per request (user+sys from its rusage), its max RSS and the ratios
// to wrk in the same round.
//
//	go run ./bench/peers [-conns 64] [-duration 5s] [-rounds 3] [-targets static,session]
//
// Targets: "static" is nginx (Debian's, installed with apt-get when
// missing) serving a 512-byte file from a config written to a temp dir,
// one worker, in the foreground; "session" is the demo target (load
// target) in its own process, where load's VUs each log in (spring-form)
// and GET /api/me with their own session, while wrk, vegeta and hey, which
// have no sessions, send one fixed session cookie that this program got by
// logging in once. vegeta and hey are installed with go install when
// missing; load is built once with go build into the temp dir.
//
// With -profile DIR it instead runs load's library in this process
// against each target, writing CPU and allocation profiles to DIR
// (static.cpu.pprof, static.mem.pprof, session.*) for go tool pprof.
//
// Everything listens on and is loaded at 127.0.0.1 only. Every process it
// starts is stopped by its PID. Linux only (apt-get, rusage of children).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	conns    int
	duration time.Duration
	rounds   int
	targets  []string
	tools    []string
	profile  string
	threads  int    // wrk's threads and the Go tools' GOMAXPROCS (-cpus)
	base     string // another checkout of load, run as the tool "load@base"
	engine   string // http.engine of the -profile runs ("": the default)
}

func main() {
	var c config
	var targets, tools string
	flag.IntVar(&c.conns, "conns", 64, "connections (and load VUs, hey/vegeta workers)")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "duration of each tool's run")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds; each runs every tool once, in a rotated order")
	flag.StringVar(&targets, "targets", "static,session", "targets: static (nginx), session (demo target)")
	flag.StringVar(&tools, "tools", "wrk,load,vegeta,hey", "tools to compare (wrk is the reference; also load@fasthttp, and load@base, load@base+fasthttp with -base)")
	flag.StringVar(&c.profile, "profile", "", "write pprof profiles of load's library to this directory instead")
	flag.IntVar(&c.threads, "cpus", runtime.NumCPU(), "threads each tool may run on at once: wrk -t, GOMAXPROCS for load, vegeta and hey")
	flag.StringVar(&c.engine, "profile-engine", "", "http.engine for -profile (nethttp or fasthttp; default: the default engine)")
	flag.StringVar(&c.base, "base", "", "another checkout of load (a directory) to build and run as the tool load@base, for before/after in the same rounds")
	flag.Parse()
	c.targets = strings.Split(targets, ",")
	c.tools = strings.Split(tools, ",")
	if c.rounds < 1 || c.rounds > 20 || c.conns < 1 || c.conns > 10000 || c.duration <= 0 || c.duration > 5*time.Minute {
		fail(errors.New("want 1..20 rounds, 1..10000 conns, a duration up to 5m"))
	}
	if err := run(c); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "peers:", err)
	os.Exit(1)
}

func run(c config) error {
	dir, err := os.MkdirTemp("", "load-peers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins, err := install(dir, c)
	if err != nil {
		return err
	}
	if c.profile != "" {
		return profileAll(c, bins, dir)
	}
	describeMachine(os.Stdout, c)
	for _, name := range c.targets {
		t, err := startTarget(name, bins, dir, c.conns)
		if err != nil {
			return err
		}
		err = compare(c, bins, dir, t)
		t.stop()
		if err != nil {
			return err
		}
	}
	return nil
}

// bins are the tools' executables.
type bins map[string]string

// install finds or installs nginx, wrk, vegeta and hey, and builds load.
func install(dir string, c config) (bins, error) {
	b := bins{}
	needApt := map[string]string{"wrk": "wrk"}
	if slices.Contains(c.targets, "static") {
		needApt["nginx"] = "nginx-light"
	}
	var pkgs []string
	for bin, pkg := range needApt {
		if p, err := exec.LookPath(bin); err == nil {
			b[bin] = p
		} else if _, err := os.Stat("/usr/sbin/" + bin); err == nil {
			b[bin] = "/usr/sbin/" + bin
		} else {
			pkgs = append(pkgs, pkg)
		}
	}
	if len(pkgs) > 0 {
		fmt.Fprintf(os.Stderr, "installing %s with apt-get\n", strings.Join(pkgs, " "))
		if err := sh("apt-get", "update", "-qq"); err != nil {
			return nil, err
		}
		args := append([]string{"install", "-y", "-qq"}, pkgs...)
		if err := sh("apt-get", args...); err != nil {
			return nil, err
		}
		for bin := range needApt {
			for _, p := range []string{"/usr/bin/" + bin, "/usr/sbin/" + bin} {
				if _, err := os.Stat(p); err == nil {
					b[bin] = p
				}
			}
		}
	}
	gobin := goBin()
	for bin, mod := range map[string]string{
		"vegeta": "github.com/tsenart/vegeta/v12@v12.13.0",
		"hey":    "github.com/rakyll/hey@v0.1.5",
	} {
		if p, err := exec.LookPath(bin); err == nil {
			b[bin] = p
			continue
		}
		p := filepath.Join(gobin, bin)
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintf(os.Stderr, "installing %s with go install\n", mod)
			if err := sh("go", "install", mod); err != nil {
				return nil, err
			}
		}
		b[bin] = p
	}
	b["load"] = filepath.Join(dir, "load")
	b["load@fasthttp"] = b["load"]
	if err := sh("go", "build", "-o", b["load"], "./cmd/load"); err != nil {
		return nil, fmt.Errorf("build load (run from the repo's root): %w", err)
	}
	if c.base != "" {
		b["load@base"] = filepath.Join(dir, "load-base")
		b["load@base+fasthttp"] = b["load@base"]
		build := exec.Command("go", "build", "-o", b["load@base"], "./cmd/load")
		build.Dir, build.Stdout, build.Stderr = c.base, os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build load in %s: %w", c.base, err)
		}
	}
	return b, nil
}

func goBin() string {
	if out, err := exec.Command("go", "env", "GOBIN").Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
		return string(bytes.TrimSpace(out))
	}
	out, _ := exec.Command("go", "env", "GOPATH").Output()
	return filepath.Join(strings.Split(string(bytes.TrimSpace(out)), string(os.PathListSeparator))[0], "bin")
}

func sh(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	return cmd.Run()
}

func describeMachine(w io.Writer, c config) {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.*)$`).FindSubmatch(b); m != nil {
			model = string(m[1])
		}
	}
	rel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Fprintf(w, "machine: nproc %d, %q, kernel %s; %d conns, %d threads (wrk -t, GOMAXPROCS), %s per run, %d rounds\n",
		nproc(), model, bytes.TrimSpace(rel), c.conns, c.threads, c.duration, c.rounds)
}

func nproc() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

// target is a running target process.
type target struct {
	name   string
	url    string // what every tool GETs
	cookie string // a logged-in session cookie for the tools without sessions ("" for none)
	base   string
	cmd    *exec.Cmd
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startTarget starts nginx ("static") or the demo target ("session").
func startTarget(name string, b bins, dir string, users int) (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	t := &target{name: name, base: base}
	switch name {
	case "static":
		conf, err := nginxConf(dir, port)
		if err != nil {
			return nil, err
		}
		t.cmd = exec.Command(b["nginx"], "-c", conf, "-p", dir)
		t.url = base + "/index.html"
	case "session":
		t.cmd = exec.Command(b["load"], "target", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--users", strconv.Itoa(max(users, 1000)))
		t.url = base + "/api/me"
	default:
		return nil, fmt.Errorf("unknown target %q", name)
	}
	t.cmd.Stdout, t.cmd.Stderr = os.Stderr, os.Stderr
	if err := t.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s target: %w", name, err)
	}
	if err := waitPort(port, 10*time.Second); err != nil {
		t.stop()
		return nil, err
	}
	if name == "session" {
		if t.cookie, err = login(base, "user1"); err != nil {
			t.stop()
			return nil, err
		}
	}
	return t, nil
}

// stop ends the target's process by its PID: SIGTERM (nginx's fast stop,
// load target's graceful one), then SIGKILL after 5 s.
func (t *target) stop() {
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = t.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = t.cmd.Process.Kill()
		<-done
	}
}

func waitPort(port int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on 127.0.0.1:%d after %s", port, limit)
}

// nginxConf writes a one-worker nginx config serving dir/www on port.
func nginxConf(dir string, port int) (string, error) {
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return "", err
	}
	if err := os.MkdirAll(www, 0o755); err != nil {
		return "", err
	}
	// nginx's workers run as nobody: they must be able to read the file.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	page := "<html><body>" + strings.Repeat("load static target. ", 26) + "</body></html>\n"
	page = page[:511] + "\n"
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte(page), 0o644); err != nil {
		return "", err
	}
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  client_body_temp_path %[1]s/tmp-body;
  proxy_temp_path %[1]s/tmp-proxy;
  fastcgi_temp_path %[1]s/tmp-fastcgi;
  uwsgi_temp_path %[1]s/tmp-uwsgi;
  scgi_temp_path %[1]s/tmp-scgi;
  server {
    listen 127.0.0.1:%[2]d;
    root %[3]s;
  }
}
`, dir, port, www)
	path := filepath.Join(dir, "nginx.conf")
	return path, os.WriteFile(path, []byte(conf), 0o644)
}

var csrfRE = regexp.MustCompile(`name="_csrf" type="hidden" value="([^"]+)"`)

// login logs user in to the demo target (spring-form) and returns
// "JSESSIONID=..." for the tools that cannot log in themselves.
func login(base, user string) (string, error) {
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(base + "/login")
	if err != nil {
		return "", err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(page)
	if m == nil {
		return "", errors.New("login page: no _csrf field")
	}
	resp, err = cl.PostForm(base+"/login", url.Values{"username": {user}, "password": {"secret"}, "_csrf": {string(m[1])}})
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	u, _ := url.Parse(base + "/api/me")
	for _, c := range jar.Cookies(u) {
		if c.Name == "JSESSIONID" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("login answered %d and no session cookie", resp.StatusCode)
}

// measure is one tool's run.
type measure struct {
	tool     string
	requests int64   // all requests the tool sent (load: logins too)
	rps      float64 // as the tool reports it
	errors   int64
	cpu      time.Duration // user+sys of the generator process
	sys      time.Duration // of which in the kernel
	maxRSS   int64         // KiB
}

func (m measure) cpuPerReq() float64 {
	return float64(m.cpu.Nanoseconds()) / 1e3 / float64(max(m.requests, 1))
}

// sysPerReq is the kernel's share of cpuPerReq: syscalls, mostly the
// socket reads and writes every tool makes, so what is left (user) is
// where the tools differ.
func (m measure) sysPerReq() float64 {
	return float64(m.sys.Nanoseconds()) / 1e3 / float64(max(m.requests, 1))
}

// compare runs every tool against t, c.rounds times, and prints the table.
func compare(c config, b bins, dir string, t *target) error {
	fmt.Printf("\ntarget %s: GET %s", t.name, t.url)
	if t.cookie != "" {
		fmt.Printf(" (load: %d VUs each logged in with its own session; peers: one fixed session cookie)", c.conns)
	}
	fmt.Println()
	fmt.Printf("%-5s %-18s %10s %9s %8s %8s %7s %9s %9s\n", "round", "tool", "req/s", "µs-CPU/req", "(sys)", "maxRSS", "errors", "CPU/wrk", "req/s/wrk")
	all := map[string][]measure{}
	for r := 1; r <= c.rounds; r++ {
		order := slices.Clone(c.tools)
		k := (r - 1) % len(order)
		order = append(order[k:], order[:k]...)
		got := map[string]measure{}
		for _, tool := range order {
			m, err := runTool(c, b, dir, t, tool)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r, tool, err)
			}
			got[tool] = m
			all[tool] = append(all[tool], m)
			time.Sleep(500 * time.Millisecond) // let TIME_WAIT and the target settle
		}
		ref, hasRef := got["wrk"]
		for _, tool := range c.tools {
			m := got[tool]
			cr, rr := "-", "-"
			if hasRef {
				cr = fmt.Sprintf("%.2f", m.cpuPerReq()/ref.cpuPerReq())
				rr = fmt.Sprintf("%.2f", m.rps/ref.rps)
			}
			fmt.Printf("%-5d %-18s %10.0f %9.1f %8.1f %6.1fMB %7d %9s %9s\n", r, tool, m.rps, m.cpuPerReq(), m.sysPerReq(), float64(m.maxRSS)/1024, m.errors, cr, rr)
		}
	}
	fmt.Printf("median over %d rounds:\n", c.rounds)
	med := func(ms []measure, f func(measure) float64) float64 {
		v := make([]float64, len(ms))
		for i, m := range ms {
			v[i] = f(m)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	for _, tool := range c.tools {
		ms := all[tool]
		ratio := func(f func(measure) float64) string {
			if _, ok := all["wrk"]; !ok {
				return "-"
			}
			// The median of the per-round ratios: each measured side by side.
			rs := make([]float64, len(ms))
			for i := range ms {
				rs[i] = f(ms[i]) / f(all["wrk"][i])
			}
			sort.Float64s(rs)
			return fmt.Sprintf("%.2f", rs[len(rs)/2])
		}
		fmt.Printf("%-5s %-18s %10.0f %9.1f %8.1f %6.1fMB %7s %9s %9s\n", "med", tool,
			med(ms, func(m measure) float64 { return m.rps }),
			med(ms, measure.cpuPerReq), med(ms, measure.sysPerReq),
			med(ms, func(m measure) float64 { return float64(m.maxRSS) / 1024 }), "",
			ratio(measure.cpuPerReq), ratio(func(m measure) float64 { return m.rps }))
	}
	return nil
}

// runTool runs one tool for c.duration and measures its process.
func runTool(c config, b bins, dir string, t *target, tool string) (measure, error) {
	secs := strconv.Itoa(int(c.duration.Round(time.Second).Seconds()))
	var hdrs []string
	if t.cookie != "" {
		hdrs = []string{"Cookie: " + t.cookie, "Accept: application/json"}
	}
	var args []string
	var stdin io.Reader
	out := filepath.Join(dir, tool+".out")
	switch tool {
	case "wrk":
		args = []string{"-t", strconv.Itoa(min(c.threads, c.conns)), "-c", strconv.Itoa(c.conns), "-d", secs + "s"}
		for _, h := range hdrs {
			args = append(args, "-H", h)
		}
		args = append(args, t.url)
	case "hey":
		args = []string{"-z", secs + "s", "-c", strconv.Itoa(c.conns)}
		for _, h := range hdrs {
			args = append(args, "-H", h)
		}
		args = append(args, t.url)
	case "vegeta":
		args = []string{"attack", "-rate=0", "-workers=" + strconv.Itoa(c.conns), "-max-workers=" + strconv.Itoa(c.conns),
			"-connections=" + strconv.Itoa(c.conns), "-max-connections=" + strconv.Itoa(c.conns),
			"-duration=" + secs + "s", "-output=" + out + ".bin"}
		for _, h := range hdrs {
			args = append(args, "-header", h)
		}
		stdin = strings.NewReader("GET " + t.url + "\n")
	case "load", "load@base", "load@fasthttp", "load@base+fasthttp":
		engine := ""
		if strings.HasSuffix(tool, "fasthttp") {
			engine = "fasthttp"
		}
		plan, err := loadPlan(dir, t, c, engine)
		if err != nil {
			return measure{}, err
		}
		args = []string{"run", plan, "--quiet", "--out", out + ".json"}
	default:
		return measure{}, fmt.Errorf("unknown tool %q", tool)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.duration+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b[tool], args...)
	if tool != "wrk" {
		// The same parallelism for every tool: wrk runs -t threads, a Go
		// tool GOMAXPROCS (load's --cpus, vegeta's and hey's -cpus set it too;
		// the environment also reaches an older load, -base).
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(c.threads))
	}
	var stdout bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stdout
	if err := cmd.Run(); err != nil {
		return measure{}, fmt.Errorf("%s %s: %w\n%s", tool, strings.Join(args, " "), err, stdout.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	m := measure{tool: tool, cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), sys: time.Duration(ru.Stime.Nano()), maxRSS: ru.Maxrss}
	var err error
	switch tool {
	case "wrk":
		err = parseWrk(stdout.String(), &m)
	case "hey":
		err = parseHey(stdout.String(), &m)
	case "vegeta":
		err = parseVegeta(b["vegeta"], out+".bin", &m)
	case "load", "load@base", "load@fasthttp", "load@base+fasthttp":
		err = parseLoad(out+".json", &m)
	}
	return m, err
}

// loadPlan writes the plan for load against t: c.conns VUs, no think
// time, as many connections as VUs; engine "" is the default one.
func loadPlan(dir string, t *target, c config, engine string) (string, error) {
	var p string
	name := "plan-" + t.name
	if engine != "" {
		name += "-" + engine
		engine = ", engine: " + engine // absent otherwise: an older load (-base) does not know the key
	}
	switch t.name {
	case "static":
		p = fmt.Sprintf(`name: peers-static
target: %s
session: {login: none}
scenario:
  - {name: get, get: /index.html, check: {status: 200}}
think: 0s
http: {max_conns_per_host: %[2]d, max_idle_conns_per_host: %[2]d%[4]s}
load: {vus: %[2]d, duration: %[3]s}
`, t.base, c.conns, c.duration, engine)
	default:
		p = fmt.Sprintf(`name: peers-session
target: %s
users: {template: {username: "user{{.VU}}", password: secret}}
session: {cookie: JSESSIONID, login: spring-form, login_path: /login, end: abandon}
scenario:
  - {name: me, get: /api/me, headers: {Accept: application/json}, check: {status: 200}}
think: 0s
http: {max_conns_per_host: %[2]d, max_idle_conns_per_host: %[2]d%[4]s}
load: {vus: %[2]d, duration: %[3]s}
`, t.base, c.conns, c.duration, engine)
	}
	path := filepath.Join(dir, name+".yaml")
	return path, os.WriteFile(path, []byte(p), 0o644)
}

var (
	wrkReqRE = regexp.MustCompile(`(\d+) requests in`)
	wrkRPSRE = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkErrRE = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSckRE = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	heyRPSRE = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	heyStRE  = regexp.MustCompile(`\[(\d+)\]\s+(\d+) responses`)
	heyErrRE = regexp.MustCompile(`(?m)^\s+\[(\d+)\]\s+Get `)
)

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

func parseWrk(out string, m *measure) error {
	a, b := wrkReqRE.FindStringSubmatch(out), wrkRPSRE.FindStringSubmatch(out)
	if a == nil || b == nil {
		return fmt.Errorf("wrk said:\n%s", out)
	}
	m.requests = atoi(a[1])
	m.rps, _ = strconv.ParseFloat(b[1], 64)
	if e := wrkErrRE.FindStringSubmatch(out); e != nil {
		m.errors += atoi(e[1])
	}
	if e := wrkSckRE.FindStringSubmatch(out); e != nil {
		m.errors += atoi(e[1]) + atoi(e[2]) + atoi(e[3]) + atoi(e[4])
	}
	return nil
}

func parseHey(out string, m *measure) error {
	r := heyRPSRE.FindStringSubmatch(out)
	if r == nil {
		return fmt.Errorf("hey said:\n%s", out)
	}
	m.rps, _ = strconv.ParseFloat(r[1], 64)
	for _, s := range heyStRE.FindAllStringSubmatch(out, -1) {
		m.requests += atoi(s[2])
		if s[1] != "200" {
			m.errors += atoi(s[2])
		}
	}
	for _, e := range heyErrRE.FindAllStringSubmatch(out, -1) {
		m.requests += atoi(e[1])
		m.errors += atoi(e[1])
	}
	return nil
}

func parseVegeta(bin, file string, m *measure) error {
	out, err := exec.Command(bin, "report", "-type=json", file).Output()
	if err != nil {
		return fmt.Errorf("vegeta report: %w", err)
	}
	var r struct {
		Requests    int64            `json:"requests"`
		Throughput  float64          `json:"throughput"`
		Rate        float64          `json:"rate"`
		StatusCodes map[string]int64 `json:"status_codes"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return fmt.Errorf("vegeta report: %w", err)
	}
	m.requests, m.rps = r.Requests, r.Rate
	for code, n := range r.StatusCodes {
		if code != "200" {
			m.errors += n
		}
	}
	return os.Remove(file)
}

func parseLoad(file string, m *measure) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var r struct {
		Endpoints []struct {
			Name     string  `json:"name"`
			Requests int64   `json:"requests"`
			RPS      float64 `json:"rps"`
		} `json:"endpoints"`
		Totals struct {
			Requests int64 `json:"requests"`
			Errors   int64 `json:"errors"`
		} `json:"totals"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	m.requests, m.errors = r.Totals.Requests, r.Totals.Errors
	for _, e := range r.Endpoints {
		if e.Name == "get" || e.Name == "me" {
			m.rps = e.RPS
		}
	}
	return nil
}
