package stats

import (
	"bytes"
	"strings"
	"testing"
)

func TestLoginFailureReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, err, page string
		user, password  string
		want            string
	}{
		// Spring's redirect to ?error: the VU's words are the reason.
		{"redirect", "login: redirected to /login?error (bad credentials or CSRF token?)", "", "", "",
			"login: redirected to /login?error (bad credentials or CSRF token?)"},
		// Tomcat's form error page: the first text that reads like an
		// error (not the title).
		{"tomcat page", "login: j_security_check answered 200",
			"<html><head><title>Login Error Page</title><style>.error{color:red}</style></head><body>\n<h1>Login</h1>\n<p class=msg>Invalid user name and/or password,\n please try again.</p><a href=index.jsp>again</a></body></html>", "", "",
			`login: j_security_check answered 200; the page says "Invalid user name and/or password, please try again."`},
		// The password in the page is hashed and the user's name is
		// {{.User}}: reasons neither leak nor split by user.
		{"secrets", "login: j_security_check answered 200", "<p>Wrong password hunter22 for user alice</p>", "alice", "hunter22",
			`login: j_security_check answered 200; the page says "Wrong password <hash ` + HashSecret("hunter22") + `> for user {{.User}}"`},
		// A session id in the redirect target is hashed too.
		{"session in url", "login: redirected to /app/login;jsessionid=ABC123DEF?error", "", "", "",
			"login: redirected to /app/login;jsessionid=<hash " + HashSecret("ABC123DEF") + ">?error"},
		// Scripts and comments are not the page's words; entities are decoded.
		{"noise", "login: step form failed (check_failed)", "<script>var error = 1;</script><!-- error -->\n<div>Access &amp; login denied</div>", "", "",
			`login: step form failed (check_failed); the page says "Access & login denied"`},
		// A page with no error words adds nothing.
		{"no error text", "login: token endpoint answered 500", "<h1>Welcome</h1>", "", "", "login: token endpoint answered 500"},
		// A long message is cut.
		{"long", "login: x", "error " + strings.Repeat("a", 200), "", "", `login: x; the page says "error ` + strings.Repeat("a", 94) + `…"`},
		// Binary bodies are not read.
		{"binary", "login: x", "error \xff\xfe", "", "", "login: x"},
	}
	for _, tc := range tests {
		if got := LoginFailureReason(tc.err, []byte(tc.page), tc.user, tc.password); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// The summary names the most frequent reason of the failed logins, and
// the server's ended sessions split into logged out and expired.
func TestSummaryWords(t *testing.T) {
	t.Parallel()
	s := NewSessions()
	for range 3 {
		s.LoginFailedBecause(`login: j_security_check answered 200; the page says "Invalid user name and/or password"`)
	}
	s.LoginFailedBecause("login: protected page answered 503")
	for i := range 40 {
		s.LoginFailedBecause("login: rare " + strings.Repeat("x", i))
	}
	r := summaryResults()
	r.Sessions = s.Counts()
	r.Endpoints = append(r.Endpoints, EndpointResult{Name: LogoutEndpoint, Requests: 492, Errors: 2})
	r.Server = &ServerResult{Kind: "tomcat", Polls: 10,
		First:      &ServerSample{ActiveSessions: 0, SessionCounter: 100, ExpiredSessions: 7, RejectedSessions: 1, MaxActiveSessions: -1},
		Last:       &ServerSample{ActiveSessions: 2, SessionCounter: 600, ExpiredSessions: 505, RejectedSessions: 4, MaxActiveSessions: -1},
		PeakActive: 500}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, w := range []string{
		"login failed: 44 times, most often (3): login: j_security_check answered 200; the page says \"Invalid user name and/or password\"\n",
		"created +500, refused +3, ended +498 (logged out 490, expired 8)",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "expired +") {
		t.Errorf("summary still calls every ended session expired:\n%s", out)
	}
	if got := len(s.reasons); got != maxReasons+1 {
		t.Errorf("%d reasons kept, want %d (the rest as %q)", got, maxReasons+1, otherReasons)
	}
}
