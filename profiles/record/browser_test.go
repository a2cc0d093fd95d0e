package record_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/bench/tomcat"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/profiles/record"
)

// runPlan parses a converted plan with vus VUs for a short run and runs it.
func runPlan(t *testing.T, text string, vus int) {
	t.Helper()
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("username,password\n")
	for i := 1; i <= vus; i++ {
		fmt.Fprintf(&csv, "user%d,secret\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	text = strings.Replace(text, "load: {vus: 1, duration: 1m}", fmt.Sprintf("load: {vus: %d, duration: 2s, graceful_stop: 5s}", vus), 1)
	p, err := profiles.Parse("recorded.yaml", []byte(text), dir)
	if err != nil {
		t.Fatalf("the converted plan does not parse: %v\n%s", err, text)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := profiles.Run(ctx, p, profiles.RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

// secretsOf returns every cookie value and hidden input value in a HAR.
func secretsOf(har []byte) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?i)(?:JSESSIONID|SESSION)=([A-Za-z0-9._-]+)`).FindAllSubmatch(har, -1) {
		out = append(out, string(m[1]))
	}
	for _, m := range regexp.MustCompile(`name=\\"_csrf\\" type=\\"hidden\\" value=\\"([^\\"]+)`).FindAllSubmatch(har, -1) {
		out = append(out, string(m[1]))
	}
	for _, m := range regexp.MustCompile(`"token\\?":\s*\\?"([A-Za-z0-9_-]{10,})`).FindAllSubmatch(har, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

func assertNoSecrets(t *testing.T, har []byte, plan string, min int) {
	t.Helper()
	secrets := secretsOf(har)
	if len(secrets) < min {
		t.Fatalf("the recording holds %d secrets, expected at least %d: the test does not see them", len(secrets), min)
	}
	for _, s := range secrets {
		if strings.Contains(plan, s) {
			t.Errorf("the plan holds the recorded secret %q:\n%s", s, plan)
		}
	}
	if strings.Contains(plan, "secret") {
		t.Errorf("the plan holds the recorded password:\n%s", plan)
	}
}

// TestChromiumRecording drives Debian's headless chromium through the
// DevTools protocol: it logs in to the demo target's Spring-style form and
// uses its API; the HAR built from the Network events converts to a plan
// that logs in 50 users by the target's own count.
func TestChromiumRecording(t *testing.T) {
	tg := target.New(target.Config{Users: 50})
	srv, err := tg.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	b := startBrowser(t)
	b.call(t, "Page.navigate", map[string]any{"url": srv.URL() + "/login"})
	b.waitLoad(t)
	b.eval(t, `document.querySelector('#username').value = 'user1';
		document.querySelector('#password').value = 'secret';
		document.querySelector('form').submit(); 1`)
	b.waitLoad(t)
	got := b.eval(t, `(async () => {
		const pause = () => new Promise(r => setTimeout(r, 150));
		const h = {Accept: 'application/json'};
		await (await fetch('/api/me', {headers: h})).json(); await pause();
		await (await fetch('/api/catalog', {headers: h})).json(); await pause();
		const c = await (await fetch('/api/cart', {method: 'POST', headers: {...h, 'Content-Type': 'application/json'}, body: JSON.stringify({item: 3})})).json();
		await pause();
		const v = await (await fetch('/api/cart/' + c.id, {headers: h})).json();
		return v.id;
	})()`)
	if got != "cart-1" {
		t.Fatalf("the browser's session got cart %q, expected cart-1", got)
	}
	time.Sleep(300 * time.Millisecond) // the last loadingFinished
	har := b.har(t)
	before := tg.Stats().Logins
	if before != 1 {
		t.Fatalf("the browser logged in %d times, expected 1", before)
	}

	res := convert(t, har, record.Options{})
	expectLogin(t, res, "spring-form", "JSESSIONID")
	for _, want := range []string{`csrf_field: "_csrf"`, `username_field: "username"`, `get: "/api/cart/{{.Var.cart}}"`, `extract: {cart: {json: "$.id"}}`} {
		if !strings.Contains(res.Plan, want) {
			t.Errorf("the plan lacks %s:\n%s", want, res.Plan)
		}
	}
	assertNoSecrets(t, har, res.Plan, 3)
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "delete the HAR") {
		t.Errorf("no warning to delete the HAR with a password: %q", res.Warnings)
	}

	runPlan(t, res.Plan, 50)
	st := tg.Stats()
	if n := st.Logins - before; n != 50 {
		t.Errorf("the target counted %d logins from the plan, expected 50 (stats %+v)", n, st)
	}
	if n := len(tg.AuthenticatedUsers()); n < 50 {
		t.Errorf("the target saw %d distinct users logged in, expected 50", n)
	}
	var j map[string]any
	_ = json.Unmarshal(har, &j)
}

// TestChromiumTomcatRecording records chromium logging in to a real
// Tomcat's stock examples FORM login and reading SessionExample; the plan
// is tomcat-form with both pages as steps, and 50 VUs running it make 50
// sessions by Tomcat's own Manager count.
func TestChromiumTomcatRecording(t *testing.T) {
	chromium(t)
	in := tomcat.Start(t, tomcat.Config{Users: 50})
	b := startBrowser(t)
	b.call(t, "Page.navigate", map[string]any{"url": in.URL + "/examples/jsp/security/protected/index.jsp"})
	b.waitLoad(t)
	b.eval(t, `document.querySelector('input[name=j_username]').value = 'user1';
		document.querySelector('input[name=j_password]').value = '`+in.Password+`';
		document.querySelector('form').submit(); 1`)
	b.waitLoad(t)
	if got := b.eval(t, `document.body.innerText`); !strings.Contains(got, "You are logged in as remote user") {
		t.Fatalf("the browser is not logged in to Tomcat: %q", got)
	}
	b.call(t, "Page.navigate", map[string]any{"url": in.URL + "/examples/servlets/servlet/SessionExample"})
	b.waitLoad(t)
	time.Sleep(300 * time.Millisecond)
	har := b.har(t)

	res := convert(t, har, record.Options{})
	expectLogin(t, res, "tomcat-form", "JSESSIONID")
	for _, want := range []string{`protected_path: "/examples/jsp/security/protected/index.jsp"`,
		`get: "/examples/jsp/security/protected/index.jsp"`, `get: "/examples/servlets/servlet/SessionExample"`} {
		if !strings.Contains(res.Plan, want) {
			t.Errorf("the plan lacks %s", want)
		}
	}
	assertNoSecrets(t, har, res.Plan, 2)

	before, err := in.Counters("/examples")
	if err != nil {
		t.Fatal(err)
	}
	runPlan(t, res.Plan, 50)
	after, err := in.Counters("/examples")
	if err != nil {
		t.Fatal(err)
	}
	if n := after.SessionCounter - before.SessionCounter; n != 50 {
		t.Errorf("Tomcat created %d sessions for the plan's 50 VUs, expected 50 (one per login)", n)
	}
}
