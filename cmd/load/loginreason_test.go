package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A failed login names its reason in the summary without --debug: the
// redirect target of a Spring form login refused by the demo target, as
// many times as the target counted wrong credentials.
func TestLoginFailureReasonInSummary(t *testing.T) {
	t.Parallel()
	tg, plan := runPlanOnTarget(t)
	plan = writeFile(t, "wrong.yaml", strings.Replace(readFile(t, plan), "password: secret", "password: wrong-password", 1))
	_, stdout, _ := runCLI(t, "run", plan, "--vus", "3", "--duration", "1s", "--quiet")
	n := tg.Stats().LoginFailures
	want := fmt.Sprintf("login failed: %d times, most often (%d): login: redirected to /login?error (bad credentials or CSRF token?)", n, n)
	if n == 0 || !strings.Contains(stdout, want) {
		t.Errorf("target counted %d failed logins; summary lacks %q:\n%s", n, want, stdout)
	}
	if strings.Contains(stdout, "wrong-password") {
		t.Errorf("the summary shows the password:\n%s", stdout)
	}
}

// The Tomcat case: j_security_check answers 200 with the form's
// error page; the summary quotes the page's error text, the user's name
// in it as {{.User}}, so that every VU's failure has one reason.
func TestLoginFailurePageTextInSummary(t *testing.T) {
	t.Parallel()
	var posts atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/app/protected/index.jsp", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "PRE" + fmt.Sprint(posts.Load()), Path: "/app"})
		fmt.Fprint(w, `<html><body><form method="POST" action="j_security_check"><input name="j_username"><input name="j_password" type="password"></form></body></html>`)
	})
	mux.HandleFunc("/app/protected/j_security_check", func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		fmt.Fprintf(w, "<html><head><title>Error Page For Examples</title></head>\n<body>\n<p>Invalid user name and/or password for %s, please\n<a href='index.jsp'>try again</a>.</p></body></html>", r.FormValue("j_username"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	plan := writeFile(t, "tomcat.yaml", "target: "+srv.URL+"\n"+
		"users: {template: {username: \"tomcat-user{{.VU}}\", password: s3cret-pw}}\n"+
		"session: {login: tomcat-form, protected_path: /app/protected/index.jsp, end: abandon}\n"+
		"scenario:\n  - name: page\n    get: /app/protected/index.jsp\nload: {vus: 2, duration: 1s}\n")
	_, stdout, stderr := runCLI(t, "run", plan, "--quiet")
	n := posts.Load()
	want := fmt.Sprintf(`login failed: %d times, most often (%d): login: j_security_check answered 200; the page says "Invalid user name and/or password for {{.User}}, please"`, n, n)
	if n == 0 || !strings.Contains(stdout, want) {
		t.Errorf("server answered %d logins; summary lacks %q:\n%s\n%s", n, want, stdout, stderr)
	}
	for _, secret := range []string{"tomcat-user1", "s3cret-pw"} {
		if strings.Contains(stdout, secret) {
			t.Errorf("the summary shows %q:\n%s", secret, stdout)
		}
	}
}
