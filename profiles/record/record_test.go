package record_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/profiles/record"
)

// ex is one recorded exchange for a synthetic HAR.
type ex struct {
	at       time.Duration // since the recording's start
	method   string
	url      string
	reqH     []record.NV
	postMime string
	post     string
	status   int
	respH    []record.NV
	mime     string
	body     string
}

func h(kv ...string) []record.NV {
	var out []record.NV
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, record.NV{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// harOf writes exchanges as a HAR 1.2 file, the way DevTools saves one.
func harOf(t *testing.T, xs []ex) []byte {
	t.Helper()
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	var entries []any
	for _, x := range xs {
		req := map[string]any{"method": x.method, "url": x.url, "httpVersion": "HTTP/1.1", "headers": nz(x.reqH), "queryString": []any{}, "cookies": []any{}, "headersSize": -1, "bodySize": len(x.post)}
		if x.post != "" {
			req["postData"] = map[string]any{"mimeType": x.postMime, "text": x.post}
		}
		entries = append(entries, map[string]any{
			"startedDateTime": start.Add(x.at).Format("2006-01-02T15:04:05.000Z07:00"), "time": 20,
			"request":  req,
			"response": map[string]any{"status": x.status, "statusText": "", "httpVersion": "HTTP/1.1", "headers": nz(x.respH), "cookies": []any{}, "content": map[string]any{"size": len(x.body), "mimeType": x.mime, "text": x.body}, "redirectURL": "", "headersSize": -1, "bodySize": len(x.body)},
			"cache":    map[string]any{}, "timings": map[string]any{"send": 1, "wait": 18, "receive": 1},
		})
	}
	b, err := json.MarshalIndent(map[string]any{"log": map[string]any{"version": "1.2", "creator": map[string]any{"name": "test", "version": "1"}, "entries": entries}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nz(v []record.NV) []record.NV {
	if v == nil {
		return []record.NV{}
	}
	return v
}

func convert(t *testing.T, har []byte, o record.Options) *record.Result {
	t.Helper()
	res, err := record.Convert("session.har", bytes.NewReader(har), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s\nrecognised: %q\nliteral: %q", res.Plan, res.Recognised, res.Literal)
	if _, err := profiles.Parse("plan.yaml", []byte(res.Plan), t.TempDir()); err != nil && !strings.Contains(err.Error(), "users.csv") {
		t.Fatalf("the plan does not parse: %v", err)
	}
	return res
}

func expectLogin(t *testing.T, res *record.Result, login, cookie string) {
	t.Helper()
	if res.Login != login || res.Cookie != cookie {
		t.Errorf("login %q cookie %q, expected %s and %q", res.Login, res.Cookie, login, cookie)
	}
}

func contains(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("the plan lacks %s", w)
		}
	}
}

const (
	tomcatSID1 = "0F6C8B3A9D1E4F2A7B5C6D8E9F0A1B2C"
	tomcatSID2 = "A1B2C3D4E5F60718293A4B5C6D7E8F90"
	protected  = "http://127.0.0.1:8080/examples/jsp/security/protected/index.jsp"
	loginForm  = `<html><head><title>Login Page for Examples</title></head><body>
<form method="POST" action="j_security_check" >
 <table><tr><th>Username:</th><td><input type="text" name="j_username"></td></tr>
 <tr><th>Password:</th><td><input type="password" name="j_password"></td></tr>
 <tr><td><input type="submit" value="Log In"></td></tr></table></form></body></html>`
)

// tomcatHAR is Tomcat's stock examples FORM login as TOMCAT.md describes
// it: the protected page without a session answers 200 with the form and
// a JSESSIONID for /examples; POST j_security_check answers 303 back to it
// with a new id; then the page, SessionExample, and a CSS file.
func tomcatHAR(t *testing.T) []byte {
	return harOf(t, []ex{
		{0, "GET", protected, h("User-Agent", "Mozilla/5.0 test"), "", "", 200,
			h("Set-Cookie", "JSESSIONID="+tomcatSID1+"; Path=/examples; HttpOnly", "Content-Type", "text/html;charset=UTF-8"), "text/html", loginForm},
		{2 * time.Second, "POST", "http://127.0.0.1:8080/examples/jsp/security/protected/j_security_check;jsessionid=" + tomcatSID1, // the form is URL-rewritten before the cookie is known
			h("Cookie", "JSESSIONID="+tomcatSID1, "Content-Type", "application/x-www-form-urlencoded"), "application/x-www-form-urlencoded",
			"j_username=user1&j_password=secret", 303, h("Location", "/examples/jsp/security/protected/index.jsp", "Set-Cookie", "JSESSIONID="+tomcatSID2+"; Path=/examples; HttpOnly"), "", ""},
		{2100 * time.Millisecond, "GET", protected, h("Cookie", "JSESSIONID="+tomcatSID2), "", "", 200, h("Content-Type", "text/html"), "text/html",
			"<html><body>You are logged in as remote user <b>user1</b></body></html>"},
		{2200 * time.Millisecond, "GET", "http://127.0.0.1:8080/examples/style.css", h("Cookie", "JSESSIONID="+tomcatSID2), "", "", 200, nil, "text/css", "body{}"},
		{2300 * time.Millisecond, "GET", "https://fonts.example.com/x.woff2", nil, "", "", 200, nil, "font/woff2", ""},
		{5 * time.Second, "GET", "http://127.0.0.1:8080/examples/servlets/servlet/SessionExample", h("Cookie", "JSESSIONID="+tomcatSID2), "", "", 200, h("Content-Type", "text/html"), "text/html",
			"<html><body><h3>Sessions Example</h3>Session ID: " + tomcatSID2 + "</body></html>"},
	})
}

// TestTomcatForm: a j_security_check POST is tomcat-form, with the
// protected page and SessionExample as steps and no session id written.
func TestTomcatForm(t *testing.T) {
	har := tomcatHAR(t)
	res := convert(t, har, record.Options{})
	expectLogin(t, res, "tomcat-form", "JSESSIONID")
	contains(t, res.Plan, `protected_path: "/examples/jsp/security/protected/index.jsp"`, `username_field: "j_username"`,
		`get: "/examples/jsp/security/protected/index.jsp"`, `get: "/examples/servlets/servlet/SessionExample"`, "login: tomcat-form")
	if got := strings.Join(res.Steps, ","); got != "get-examples-jsp-security-protected-index,get-examples-servlets-servlet-sessionexample" {
		t.Errorf("steps %s", got)
	}
	for _, s := range []string{tomcatSID1, tomcatSID2, "secret", "fonts.example.com", "style.css"} {
		if strings.Contains(res.Plan, s) {
			t.Errorf("the plan holds %q", s)
		}
	}
	// The 2.9s pause before SessionExample is the largest recorded one.
	contains(t, res.Plan, "    think: 2.88s ")
	if strings.Contains(res.Plan, "\nthink:") {
		t.Errorf("a plan-wide think beside the steps' own:\n%s", res.Plan)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte("username,password\nuser1,secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Parse("recorded.yaml", []byte(res.Plan), dir)
	if err != nil {
		t.Fatalf("the recorded plan does not parse: %v\n%s", err, res.Plan)
	}
	if th := p.Scenarios[0].Script.Steps[0].Think; th == nil || th.Min != 2880*time.Millisecond || th.Max != th.Min {
		t.Errorf("the first step's think is %+v, want the recorded 2.88s", th)
	}
	if th := p.Scenarios[0].Script.Steps[1].Think; th != nil {
		t.Errorf("the last step's think is %+v, want none (nothing followed it)", th)
	}
	res = convert(t, har, record.Options{ThinkRange: true})
	contains(t, res.Plan, "think: {min: 2.88s, max: 2.88s}")
}

// TestJSONToken: a JSON POST answered with a token that later requests
// send as Authorization: Bearer is json-token, with the token's path.
func TestJSONToken(t *testing.T) {
	const tok = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyMSJ9.c2lnbmF0dXJl"
	har := harOf(t, []ex{
		{0, "POST", "http://127.0.0.1:8080/api/auth/login", h("Content-Type", "application/json"), "application/json",
			`{"email":"user1@example.com","password":"hunter22"}`, 200, h("Content-Type", "application/json"), "application/json",
			`{"user":{"id":7},"data":{"access_token":"` + tok + `","expires_in":3600}}`},
		{time.Second, "GET", "http://127.0.0.1:8080/api/me", h("Authorization", "Bearer "+tok, "Accept", "application/json"), "", "", 200, nil, "application/json", `{"user":"user1"}`},
	})
	res := convert(t, har, record.Options{})
	if res.Login != "json-token" {
		t.Fatalf("login %q, expected json-token", res.Login)
	}
	contains(t, res.Plan, `login_path: "/api/auth/login"`, `token_path: "data.access_token"`, `username_field: "email"`, `password_field: "password"`, `get: "/api/me"`)
	for _, s := range []string{tok, "hunter22", "user1@example.com"} {
		if strings.Contains(res.Plan, s) {
			t.Errorf("the plan holds %q", s)
		}
	}
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "delete the HAR") || strings.Contains(res.Warnings[0], "hunter22") {
		t.Errorf("warnings %q: expected one to delete the HAR, without the password", res.Warnings)
	}
}

// TestCorrelation: a cart id the server returned and the next request
// used becomes an extraction on that response and a template, in the
// path, the JSON body and the form; ids of the same page merge into one
// step; a recorded id no response carried stays literal and is reported.
func TestCorrelation(t *testing.T) {
	api := "http://127.0.0.1:8080"
	har := harOf(t, []ex{
		{0, "POST", api + "/api/cart", h("Content-Type", "application/json"), "application/json", `{"item":3}`, 201,
			h("Location", "/api/cart/c-81f2a9"), "application/json", `{"cart":{"id":"c-81f2a9","items":[]}}`},
		{time.Second, "GET", api + "/api/cart/c-81f2a9", nil, "", "", 200, nil, "application/json", `{"id":"c-81f2a9","items":[{"sku":"SKU-4471"}]}`},
		{2 * time.Second, "POST", api + "/api/checkout", h("Content-Type", "application/json"), "application/json", `{"cart":"c-81f2a9","sku":"SKU-4471"}`, 200, nil, "text/html",
			`<form><input type="hidden" name="order" value="ord-55512"></form>`},
		{3 * time.Second, "POST", api + "/confirm", nil, "application/x-www-form-urlencoded", "order=ord-55512", 200, nil, "text/html", "ok"},
		{4 * time.Second, "GET", api + "/product/10234", nil, "", "", 200, nil, "text/html", "p"},
		{5 * time.Second, "GET", api + "/product/10777", nil, "", "", 200, nil, "text/html", "p"},
	})
	res := convert(t, har, record.Options{})
	contains(t, res.Plan,
		`extract: {cart: {json: "$.cart.id"}}`, `get: "/api/cart/{{.Var.cart}}"`,
		`extract: {sku: {json: "$.items[0].sku"}}`, `json: {"cart":"{{.Var.cart}}","sku":"{{.Var.sku}}"}`,
		`extract: {order: {form: "order"}}`, `form: {"order": "{{.Var.order}}"}`,
		`- name: "get-product-id"`)
	if strings.Contains(res.Plan, "c-81f2a9") || strings.Contains(res.Plan, "ord-55512") {
		t.Error("a correlated value is still literal in the plan")
	}
	if n := strings.Count(res.Plan, "get-product-id"); n != 1 {
		t.Errorf("the product page is %d steps, expected one", n)
	}
	if !regexp.MustCompile(`get-product-id: 2 requests to the same page with other ids merged`).MatchString(strings.Join(res.Literal, "\n")) {
		t.Errorf("no report of the merged literal ids: %q", res.Literal)
	}
}
