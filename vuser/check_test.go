package vuser

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestCheckEval(t *testing.T) {
	t.Parallel()
	const doc = `{"user":"user3","id":7,"ok":true,"items":[{"id":"a"}],"long":"` + "0123456789012345678901234567890123456789012345678901234567890123456789" + `"}`
	tests := []struct {
		name  string
		check *Check
		resp  *Response
		part  CheckPart // "" when the check passes
		msg   string
	}{
		// The empty check accepts a 200.
		{"empty ok", &Check{}, &Response{Status: 200}, "", ""},
		// ... and a redirect.
		{"empty redirect", &Check{}, &Response{Status: 302}, "", ""},
		// ... but not a client error.
		{"empty 404", &Check{}, &Response{Status: 404}, CheckStatus, "status 404, expected < 400"},
		// ... nor a server error.
		{"empty 503", &Check{}, &Response{Status: 503}, CheckStatus, "status 503, expected < 400"},
		// A nil check is the empty check.
		{"nil check", nil, &Response{Status: 500}, CheckStatus, "status 500, expected < 400"},
		// An explicit list accepts its statuses only.
		{"listed", &Check{Status: []int{200}}, &Response{Status: 200}, "", ""},
		// A redirect where a page was expected (lost session).
		{"not listed", &Check{Status: []int{200}}, &Response{Status: 302, Header: http.Header{"Location": {"/login;jsessionid=SECRET"}}}, CheckStatus, "status 302, expected 200"},
		// Two accepted statuses.
		{"two", &Check{Status: []int{200, 201}}, &Response{Status: 204}, CheckStatus, "status 204, expected 200 or 201"},
		// Three accepted statuses.
		{"three", &Check{Status: []int{200, 201, 204}}, &Response{Status: 500}, CheckStatus, "status 500, expected 200, 201 or 204"},
		// An accepted error status.
		{"expected 404", &Check{Status: []int{404}}, &Response{Status: 404}, "", ""},
		// Body substrings all present.
		{"body ok", &Check{BodyContains: []string{"items", "user3"}}, &Response{Status: 200, Body: []byte(doc)}, "", ""},
		// The first missing substring is named.
		{"body missing", &Check{BodyContains: []string{"items", "basket"}}, &Response{Status: 200, Body: []byte(doc)}, CheckBody, `body does not contain "basket"`},
		// The status is checked before the body.
		{"status first", &Check{BodyContains: []string{"basket"}}, &Response{Status: 500, Body: []byte(doc)}, CheckStatus, "status 500, expected < 400"},
		// A JSON value that matches.
		{"json ok", &Check{JSON: []JSONCheck{{Path: "$.user", Equals: "user3"}, {Path: "$.id", Equals: "7"}, {Path: "$.ok", Equals: "true"}, {Path: "$.items[0].id", Equals: "a"}}}, &Response{Status: 200, Body: []byte(doc)}, "", ""},
		// A JSON value that differs.
		{"json differs", &Check{JSON: []JSONCheck{{Path: "$.user", Equals: "user2"}}}, &Response{Status: 200, Body: []byte(doc)}, CheckJSON, `$.user = "user3", expected "user2"`},
		// A number compared as text.
		{"json number", &Check{JSON: []JSONCheck{{Path: "$.id", Equals: "8"}}}, &Response{Status: 200, Body: []byte(doc)}, CheckJSON, `$.id = "7", expected "8"`},
		// A missing path.
		{"json missing", &Check{JSON: []JSONCheck{{Path: "$.nope", Equals: "x"}}}, &Response{Status: 200, Body: []byte(doc)}, CheckJSON, `$.nope not found, expected "x"`},
		// A body that is not JSON.
		{"json html", &Check{JSON: []JSONCheck{{Path: "$.user", Equals: "x"}}}, &Response{Status: 200, Body: []byte("<html>")}, CheckJSON, `$.user not found, expected "x"`},
		// A long value is cut short.
		{"json long", &Check{JSON: []JSONCheck{{Path: "$.long", Equals: "x"}}}, &Response{Status: 200, Body: []byte(doc)}, CheckJSON, `$.long = "` + "0123456789012345678901234567890123456789012345678901234567890123" + `...", expected "x"`},
		// A path that does not parse.
		{"json bad path", &Check{JSON: []JSONCheck{{Path: "$.a[x]", Equals: "1"}}}, &Response{Status: 200, Body: []byte(doc)}, CheckJSON, `JSON path "$.a[x]": [x] at character 4: expected [n], [*] or ['key']`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.check.Eval(tt.resp)
			if tt.part == "" {
				if err != nil {
					t.Fatalf("Eval = %v, want nil", err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Eval = %v, want a *CheckError", err)
			}
			if ce.Part != tt.part || err.Error() != tt.msg {
				t.Errorf("Eval = %s: %s\n      want %s: %s", ce.Part, err, tt.part, tt.msg)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q leaks a header value", err)
			}
		})
	}
}

func BenchmarkCheckEval(b *testing.B) {
	c := &Check{Status: []int{200}, BodyContains: []string{`"items"`}, JSON: []JSONCheck{{Path: "$.user", Equals: "user3"}}}
	r := &Response{Status: 200, Body: []byte(`{"user":"user3","items":[{"id":"a"},{"id":"b"}]}`)}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Eval(r); err != nil {
			b.Fatal(err)
		}
	}
}

// A JSON check's expected value may be a template, rendered per VU.
func TestCheckTemplate(t *testing.T) {
	t.Parallel()
	want, err := ParseTemplate("user{{.VU}}")
	if err != nil {
		t.Fatal(err)
	}
	c := &Check{JSON: []JSONCheck{{Path: "$.user", Equals: "user{{.VU}}", Want: want}}}
	r := &Response{Status: 200, Body: []byte(`{"user":"user3"}`)}
	if err := c.EvalWith(r, &Data{VU: 3}); err != nil {
		t.Errorf("VU 3: %v", err)
	}
	if err := c.EvalWith(r, &Data{VU: 4}); err == nil || err.Error() != `$.user = "user3", expected "user4"` {
		t.Errorf("VU 4: %v", err)
	}
}

// The checks the workload model added: templates in body_contains,
// body_matches, body_not_contains, and header checks; their messages
// never show a header's value, a password or a variable.
func TestCheckNewParts(t *testing.T) {
	t.Parallel()
	mustT := func(s string) *Template {
		tp, err := ParseTemplate(s)
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	d := &Data{VU: 3, User: "user3", Password: "SECRET", Vars: map[string]string{"tok": "SECRET"}}
	resp := &Response{Status: 200, Header: http.Header{"X-Id": {"SECRET-42"}, "Content-Type": {"application/json"}},
		Body: []byte(`{"user":"user3","note":"hello"}`)}
	for _, tc := range []struct {
		name  string
		check Check
		part  CheckPart
		msg   string
	}{
		{"template ok", Check{BodyContains: []string{"{{.User}}"}, BodyContainsT: []*Template{mustT("{{.User}}")}}, "", ""},
		{"template missing", Check{BodyContains: []string{"user{{.VU}}x"}, BodyContainsT: []*Template{mustT("user{{.VU}}x")}}, CheckBody, `body does not contain "user3x"`},
		{"template secret", Check{BodyContainsT: []*Template{mustT("{{.Password}}")}}, CheckBody, `body does not contain "{{.Password}}" (rendered for the VU)`},
		{"template var", Check{BodyContainsT: []*Template{mustT("t={{.Var.tok}}")}}, CheckBody, `body does not contain "t={{.Var.tok}}" (rendered for the VU)`},
		{"matches ok", Check{BodyMatches: []*regexp.Regexp{regexp.MustCompile(`"user":"user\d+"`)}}, "", ""},
		{"matches not", Check{BodyMatches: []*regexp.Regexp{regexp.MustCompile(`^<html`)}}, CheckBody, "body does not match ^<html"},
		{"not contains ok", Check{BodyNotContains: []string{"error"}}, "", ""},
		{"not contains", Check{BodyNotContains: []string{"hello"}}, CheckBody, `body contains "hello"`},
		{"header exists", Check{Headers: []HeaderCheck{{Name: "x-id", Exists: true}}}, "", ""},
		{"header missing", Check{Headers: []HeaderCheck{{Name: "X-Other", Exists: true}}}, CheckHeader, "header X-Other missing"},
		{"header equals", Check{Headers: []HeaderCheck{{Name: "Content-Type", Equals: mustT("application/json")}}}, "", ""},
		{"header differs", Check{Headers: []HeaderCheck{{Name: "X-Id", Equals: mustT("id-{{.VU}}")}}}, CheckHeader, `header X-Id does not equal "id-3"`},
		{"header contains", Check{Headers: []HeaderCheck{{Name: "X-Id", Contains: "42"}}}, "", ""},
		{"header lacks", Check{Headers: []HeaderCheck{{Name: "X-Id", Contains: "43"}}}, CheckHeader, `header X-Id does not contain "43"`},
		{"header matches", Check{Headers: []HeaderCheck{{Name: "X-Id", Matches: regexp.MustCompile(`-\d+$`)}}}, "", ""},
		{"header no match", Check{Headers: []HeaderCheck{{Name: "X-Id", Matches: regexp.MustCompile(`^\d+$`)}}}, CheckHeader, `header X-Id does not match ^\d+$`},
	} {
		err := tc.check.EvalWith(resp, d)
		if tc.part == "" {
			if err != nil {
				t.Errorf("%s: %v, want nil", tc.name, err)
			}
			continue
		}
		var ce *CheckError
		if !errors.As(err, &ce) || ce.Part != tc.part || ce.Msg != tc.msg {
			t.Errorf("%s: %v, want %s: %s", tc.name, err, tc.part, tc.msg)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: %q leaks a secret", tc.name, err)
		}
	}
}
