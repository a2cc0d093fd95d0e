package main

import (
	"strings"
	"sync"
	"testing"

	"github.com/sessionload/load/bench/target"
)

// --debug shows why a login was refused: the whole exchange of VU 1, the
// POST with its password hashed, the 302 to /login?error, and the VU's
// verdict; and neither the password nor any session id the target issued.
func TestDebugWrongPassword(t *testing.T) {
	t.Parallel()
	const wrong = "Wr0ng-Passw0rd-4b1d"
	srv, issued := issuingTarget(t, 3)
	plan := writeFile(t, "plan.yaml", `
target: `+srv.URL()+`
users: {template: {username: "user{{.VU}}", password: "`+wrong+`"}}
session: {login: spring-form, login_path: /login, retry_login: 10s}
scenario: [{name: me, get: /api/me}]
load: {vus: 3, duration: 1s, graceful_stop: 1s}
`)
	code, stdout, stderr := runCLI(t, "run", plan, "--quiet", "--debug", "--debug-vu", "2")
	// Every login failed: the run could not test the app.
	if code != exitRunError || !strings.Contains(stderr, "no VU logged in") {
		t.Fatalf("exit %d, want %d (no VU logged in):\n%s", code, exitRunError, stderr)
	}
	for _, want := range []string{
		"> VU 2 ", "GET " + srv.URL() + "/login",
		"POST " + srv.URL() + "/login",
		"> Cookie: JSESSIONID=<hash ",
		"password=<hash ",
		"username=user2",
		"< VU 2 HTTP/1.1 302 Found",
		"< Location: /login?error",
		"< Set-Cookie: JSESSIONID=<hash ", // the login page's pre-login session
		"= VU 2 login failed: login: redirected to /login?error",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the dump lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "VU 1 ") || strings.Contains(stderr, "VU 3 ") {
		t.Errorf("the dump follows other VUs than 2:\n%s", stderr)
	}
	ids := issued()
	if len(ids) == 0 {
		t.Fatal("the target issued no session id")
	}
	for _, s := range append(ids, wrong) {
		if strings.Contains(stderr, s) || strings.Contains(stdout, s) {
			t.Errorf("the output holds the secret %q", s)
		}
	}
}

// With a token login the dump hashes the token where it is issued (the
// JSON answer) and where it is used (Authorization), and the password in
// the JSON credentials.
func TestDebugToken(t *testing.T) {
	t.Parallel()
	srv, issued := issuingTarget(t, 2)
	plan := writeFile(t, "plan.yaml", `
target: `+srv.URL()+`
headers: {Accept: application/json}
users: {template: {username: "user{{.VU}}", password: `+target.Password+`}}
session: {login: json-token, login_path: /api/token, token_path: token, end: abandon}
scenario: [{name: me, get: /api/me, check: {status: 200}}]
think: 100ms
load: {vus: 1, duration: 500ms, graceful_stop: 1s}
`)
	code, _, stderr := runCLI(t, "run", plan, "--quiet", "--debug")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, want := range []string{`"password":"<hash `, `{"token":"<hash `, "> Authorization: Bearer <hash ", "< VU 1 HTTP/1.1 200 OK"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the dump lacks %q:\n%s", want, stderr)
		}
	}
	for _, s := range append(issued(), `"`+target.Password+`"`) {
		if strings.Contains(stderr, s) {
			t.Errorf("the dump holds the secret %q", s)
		}
	}
}

// issuingTarget starts a demo target that reports every session id and
// token it hands out (the secrets a dump must not show).
func issuingTarget(t *testing.T, users int) (*target.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var ids []string
	srv, err := target.New(target.Config{Users: users, Issued: func(s string) {
		mu.Lock()
		ids = append(ids, s)
		mu.Unlock()
	}}).Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ids...)
	}
}
