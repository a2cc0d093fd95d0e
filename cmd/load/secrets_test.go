package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
)

// secretPassword is distinctive, so any byte run equal to it is a leak.
const secretPassword = "Pw-7f3c9e1d-never-print-me"

// secretPlans log in both ways the target hands out secrets: a session
// cookie (JSESSIONID, pre-login and rotated) and a bearer token. The
// first has the password in the plan, the second in the environment.
var secretPlans = []struct{ name, text string }{
	{"spring-form", `
target: TARGET
users: {template: {username: "user{{.VU}}", password: "` + secretPassword + `"}}
session: {login: spring-form, login_path: /login, end: logout}
scenario:
  - name: me
    get: /api/me
    headers: {Accept: application/json}
    check: {status: 200, json: {"$.user": "{{.User}}"}}
    extract: {sid: {cookie: JSESSIONID}}
  - name: cart
    post: /api/cart
    headers: {Accept: application/json, X-Session-Echo: "{{.Var.sid}}"}
    json: {item: 7}
think: 50ms
load: {vus: 8, duration: 2s, graceful_stop: 2s}
thresholds: {"me p99": "< 1m"}
`},
	{"json-token", `
target: TARGET
headers: {Accept: application/json}
users: {template: {username: "user{{.VU}}", password_env: LOAD_TEST_SECRET_PASSWORD}}
session: {login: json-token, login_path: /api/token, token_path: token, end: abandon}
scenario:
  - name: me
    get: /api/me
    check: {status: 200, json: {"$.user": "{{.User}}"}}
think: 50ms
load: {vus: 8, duration: 2s, graceful_stop: 2s}
thresholds: {"me p99": "< 1m"}
`},
}

// Passwords, session ids and tokens appear in no output: stdout, stderr
// (progress and debug included), every file output the run command has,
// and the live Prometheus page. File outputs are found from the flags
// themselves ("write ... here"), so an output added later is scanned too.
func TestSecretsInNoOutput(t *testing.T) {
	t.Setenv("LOAD_TEST_SECRET_PASSWORD", secretPassword) // not parallel: Setenv
	for _, sp := range secretPlans {
		t.Run(sp.name, func(t *testing.T) {
			var mu sync.Mutex
			secrets := map[string]bool{secretPassword: true}
			srv, err := target.New(target.Config{Users: 20, Password: secretPassword, Issued: func(s string) {
				mu.Lock()
				secrets[s] = true
				mu.Unlock()
			}}).Start("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			plan := writeFile(t, "plan.yaml", strings.Replace(sp.text, "TARGET", srv.URL(), 1))

			dir := t.TempDir()
			files := map[string]string{}
			var promAddr string
			var flags []string
			for _, m := range outputFlag.FindAllStringSubmatch(newRunCmd(io.Discard, io.Discard).Flags().FlagUsages(), -1) {
				switch name := m[1]; {
				case m[2] == "string" && strings.HasPrefix(m[3], "write"):
					files[name] = filepath.Join(dir, name+".out")
					flags = append(flags, name, files[name])
				case name == "prometheus":
					promAddr = freeAddr(t)
					flags = append(flags, name, promAddr)
				case name == "debug":
					flags = append(flags, name, "")
				}
			}
			if len(files) < 3 {
				t.Fatalf("found only %v as file outputs of load run", files)
			}
			code, stdout, stderr, scraped := runScraping(t, plan, flags, promAddr)
			if code == exitBadInput {
				// An output still being built refuses to run: scan the rest,
				// and say which was left out.
				var kept []string
				for i := 0; i < len(flags); i += 2 {
					if strings.Contains(stderr, "--"+flags[i]) {
						t.Logf("left out --%s: %s", flags[i], strings.TrimSpace(stderr))
						delete(files, flags[i])
						if flags[i] == "prometheus" {
							promAddr = ""
						}
						continue
					}
					kept = append(kept, flags[i], flags[i+1])
				}
				code, stdout, stderr, scraped = runScraping(t, plan, kept, promAddr)
			}
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			outputs := map[string][]byte{"stdout": []byte(stdout), "stderr": []byte(stderr)}
			if promAddr != "" {
				if len(scraped) == 0 {
					t.Error("the Prometheus page was never scraped")
				}
				outputs["prometheus"] = scraped
			}
			for name, path := range files {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("--%s: %v", name, err)
				}
				if len(b) == 0 {
					t.Errorf("--%s wrote nothing", name)
				}
				outputs["--"+name] = b
			}
			mu.Lock()
			defer mu.Unlock()
			if len(secrets) < 9 {
				t.Fatalf("the target handed out %d secrets; want a password and one per VU at least", len(secrets))
			}
			for name, b := range outputs {
				for s := range secrets {
					if i := bytes.Index(b, []byte(s)); i >= 0 {
						t.Errorf("%s holds the secret %q: ...%s...", name, s, b[max(i-80, 0):min(i+len(s)+40, len(b))])
					}
				}
			}
			t.Logf("scanned %d outputs for %d secrets", len(outputs), len(secrets))
		})
	}
}

// outputFlag matches a flag's line in cobra's usage text: name, type, usage.
var outputFlag = regexp.MustCompile(`(?m)^\s+--([a-z-]+)(?: (\w+))?\s+(.*)$`)

// runScraping runs load run plan with flags (name, value pairs; an empty
// value is a bool flag), scraping the Prometheus page while it runs.
func runScraping(t *testing.T, plan string, flags []string, promAddr string) (code int, stdout, stderr string, scraped []byte) {
	args := []string{"run", plan, "--summary", "full"}
	for i := 0; i < len(flags); i += 2 {
		args = append(args, "--"+flags[i])
		if flags[i+1] != "" {
			args = append(args, flags[i+1])
		}
	}
	var page bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if promAddr != "" {
		wg.Add(1)
		go func() { defer wg.Done(); scrape(ctx, "http://"+promAddr+"/metrics", &page) }()
	}
	code, stdout, stderr = runCLI(t, args...)
	cancel()
	wg.Wait()
	return code, stdout, stderr, page.Bytes()
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape reads url every 200ms until ctx ends, keeping every page.
func scrape(ctx context.Context, url string, into *bytes.Buffer) {
	c := &http.Client{Timeout: time.Second}
	for ctx.Err() == nil {
		if resp, err := c.Get(url); err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
			resp.Body.Close()
			fmt.Fprintf(into, "%s\n", b)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
