package tomcat_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/bench/tomcat"
)

// mixPlan is a population of two kinds of users on the stock examples
// app, logged in with Tomcat's FORM login: browsers (2 in 3) read
// SessionExample and add random items to their cart three times in a
// loop; buyers (1 in 3) store a session attribute by POST, then view and
// empty their cart as one group, then pick one of two branches at random.
const mixPlan = `
target: TARGET
users: {template: {username: "user{{.VU}}", password: PASSWORD}}
data:
  pages: {csv: PAGES, pick: circular}
session:
  login: tomcat-form
  protected_path: /examples/jsp/security/protected/index.jsp
  end: abandon
scenarios:
  - name: browse
    weight: 2
    steps:
      - {name: session-get, get: /examples/servlets/servlet/SessionExample, check: {status: 200, body_contains: "Session ID:"}}
      - repeat:
          times: 3
          steps:
            - {name: cart-add, get: "/examples/jsp/sessions/carts.jsp?itemId={{randInt 0 5}}&submit=add", check: {status: 200, body_contains: "You have the following items"}}
  - name: buy
    weight: 1
    steps:
      - name: session-post
        post: /examples/servlets/servlet/SessionExample
        form: {dataname: "vu", datavalue: "{{.VU}}"}
        check: {status: 200, body_contains: "vu = {{.VU}}"}
      - group: checkout
        steps:
          - {name: cart-view, get: /examples/jsp/sessions/carts.jsp, check: {status: 200}}
          - {name: cart-remove, get: "/examples/jsp/sessions/carts.jsp?itemId=0&submit=remove", check: {status: 200}}
      - random:
          - weight: 1
            steps: [{name: page, get: "/examples/{{.Data.pages.path}}", check: {status: 200}}]
          - weight: 1
            steps: [{name: session-again, get: /examples/servlets/servlet/SessionExample, check: {status: 200}}]
think: 20ms
load: {vus: 30, duration: 4s, graceful_stop: 10s}
`

// The mixed plan against a real Tomcat: every request the results count
// is one Tomcat's access log counts, path by path, and Tomcat created
// exactly one session per VU (sessionCounter).
func TestMixedPlanAgainstTomcat(t *testing.T) {
	t.Parallel()
	in := tomcat.Start(t, tomcat.Config{Users: 30})
	pages := filepath.Join(t.TempDir(), "pages.csv")
	if err := os.WriteFile(pages, []byte("path\njsp/index.html\nservlets/index.html\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("TARGET", in.URL, "PASSWORD", in.Password, "PAGES", pages).Replace(mixPlan)
	before := counters(t, in, "/examples")
	res := run(t, inline(t, text), time.Minute)
	if res == nil {
		return
	}
	after := counters(t, in, "/examples")
	noErrors(t, res)
	if created := after.SessionCounter - before.SessionCounter; created != 30 {
		t.Errorf("Tomcat created %d sessions, want one per VU (30)", created)
	}
	// What the results say each (method, path) got: the login's request
	// follows its redirect to the protected page within it.
	protected := "GET /examples/jsp/security/protected/index.jsp"
	want := map[string]int64{}
	paths := map[string]string{
		"login-page":    protected,
		"session-get":   "GET /examples/servlets/servlet/SessionExample",
		"session-again": "GET /examples/servlets/servlet/SessionExample",
		"session-post":  "POST /examples/servlets/servlet/SessionExample",
		"cart-add":      "GET /examples/jsp/sessions/carts.jsp",
		"cart-view":     "GET /examples/jsp/sessions/carts.jsp",
		"cart-remove":   "GET /examples/jsp/sessions/carts.jsp",
	}
	for _, e := range res.Endpoints {
		switch p, ok := paths[e.Name]; {
		case e.Name == "login":
			want["POST /examples/jsp/security/protected/j_security_check"] += e.Requests
			want[protected] += e.Requests
		case e.Name == "page":
			// Counted below, by the two paths it takes.
			want["GET page"] += e.Requests
		case ok:
			want[p] += e.Requests
		}
	}
	// Stopping Tomcat flushes its access log.
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	got := accessLog(t, in.Dir)
	delete(got, "GET /examples/index.html") // tomcat.sh's own check that Tomcat is up
	for _, p := range []string{"GET /examples/jsp/index.html", "GET /examples/servlets/index.html"} {
		got["GET page"] += got[p]
		delete(got, p)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: Tomcat's access log has %d requests, the results %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok && strings.Contains(k, " /examples/") {
			t.Errorf("%s: Tomcat's access log has %d requests the results do not count", k, n)
		}
	}
	t.Logf("per path (access log): %v", got)
	// The exact mix: 20 browsers and 10 buyers, the loop three times.
	var browse, buy int
	for _, s := range res.Scenarios {
		switch s.Name {
		case "browse":
			browse = s.VUsMax
		case "buy":
			buy = s.VUsMax
		}
	}
	if browse != 20 || buy != 10 {
		t.Errorf("VUs by scenario: browse %d, buy %d; want 20 and 10", browse, buy)
	}
	if g, s := want["GET /examples/jsp/sessions/carts.jsp"], want["GET /examples/servlets/servlet/SessionExample"]; g == 0 || s == 0 {
		t.Errorf("carts %d, SessionExample %d: the loop or the browsers did not run", g, s)
	}
}

// accessLog counts the requests in an instance's access logs (Tomcat's
// common pattern: host - user [time] "METHOD PATH PROTO" status bytes) by
// method and path, query left out.
func accessLog(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "logs", "localhost_access_log*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no access log in %s/logs (%v)", dir, err)
	}
	counts := map[string]int64{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			line := sc.Text()
			i := strings.IndexByte(line, '"')
			j := strings.LastIndexByte(line, '"')
			if i < 0 || j <= i {
				continue
			}
			req := strings.Fields(line[i+1 : j])
			if len(req) < 2 {
				continue
			}
			path, _, _ := strings.Cut(req[1], "?")
			path, _, _ = strings.Cut(path, ";") // ;jsessionid=
			counts[req[0]+" "+path]++
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return counts
}
