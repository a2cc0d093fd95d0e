package vuser

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CheckPart names the part of a Check that failed.
type CheckPart string

// The parts of a Check.
const (
	CheckStatus CheckPart = "status" // the status is not accepted
	CheckBody   CheckPart = "body"   // a BodyContains substring is missing
	CheckJSON   CheckPart = "json"   // a JSON path is missing or differs
	CheckHeader CheckPart = "header" // a header check failed
)

// CheckError is a response that fails its check. Msg never holds header
// or cookie values, and of the body only the value a JSON check compared;
// a rendered template is shown only when it holds no password and no
// variable (which may hold a token), else its source is.
type CheckError struct {
	Part CheckPart // which part failed
	Msg  string    // what failed, e.g. `body does not contain "items"`
}

// Error is Msg, e.g. `status 302, expected 200`.
func (e *CheckError) Error() string { return e.Msg }

// Eval returns nil when r satisfies c, else a *CheckError saying what
// failed: the first of the status, the body substrings in order (literal,
// then templates), the body regular expressions, the substrings the body
// must not contain, the JSON checks in order, the header checks in order. A nil c is an empty Check. JSON checks compare with
// Equals as written; EvalWith renders their templates.
func (c *Check) Eval(r *Response) error { return c.EvalWith(r, nil) }

// EvalWith is Eval with the JSON checks' expected values rendered for d
// (when d is non-nil and the check has a template).
func (c *Check) EvalWith(r *Response, d *Data) error {
	var zero Check
	if c == nil {
		c = &zero
	}
	if !c.statusOK(r.Status) {
		return &CheckError{Part: CheckStatus, Msg: fmt.Sprintf("status %d, expected %s", r.Status, c.expectedStatus())}
	}
	for i, s := range c.BodyContains {
		if i < len(c.BodyContainsT) && c.BodyContainsT[i] != nil && d != nil {
			continue // rendered below
		}
		if !bytes.Contains(r.Body, []byte(s)) {
			return &CheckError{Part: CheckBody, Msg: fmt.Sprintf("body does not contain %q", s)}
		}
	}
	for _, t := range c.BodyContainsT {
		if t == nil {
			continue
		}
		if !t.Static() && d == nil {
			continue // Eval without data: the literal text was checked above
		}
		if want := t.Append(nil, d); !bytes.Contains(r.Body, want) {
			return &CheckError{Part: CheckBody, Msg: "body does not contain " + shown(t, want)}
		}
	}
	for _, re := range c.BodyMatches {
		if !re.Match(r.Body) {
			return &CheckError{Part: CheckBody, Msg: fmt.Sprintf("body does not match %s", short(re.String()))}
		}
	}
	for _, s := range c.BodyNotContains {
		if bytes.Contains(r.Body, []byte(s)) {
			return &CheckError{Part: CheckBody, Msg: fmt.Sprintf("body contains %q", s)}
		}
	}
	for _, j := range c.JSON {
		path, err := gjsonPath(j.Path)
		if err != nil {
			return &CheckError{Part: CheckJSON, Msg: err.Error()}
		}
		want := j.Equals
		if j.Want != nil && d != nil {
			want = j.Want.Render(d)
		}
		got, ok := jsonValue(r.Body, path)
		switch {
		case !ok:
			return &CheckError{Part: CheckJSON, Msg: fmt.Sprintf("%s not found, expected %q", j.Path, short(want))}
		case got != want:
			return &CheckError{Part: CheckJSON, Msg: fmt.Sprintf("%s = %q, expected %q", j.Path, short(got), short(want))}
		}
	}
	for i := range c.Headers {
		if err := c.Headers[i].eval(r.Header, d); err != nil {
			return err
		}
	}
	return nil
}

// eval checks one header; the message never holds the header's value.
func (h *HeaderCheck) eval(hdr http.Header, d *Data) error {
	vals := hdr.Values(h.Name)
	fail := func(format string, args ...any) error {
		return &CheckError{Part: CheckHeader, Msg: "header " + h.Name + " " + fmt.Sprintf(format, args...)}
	}
	if len(vals) == 0 {
		return fail("missing")
	}
	switch {
	case h.Equals != nil:
		want := h.Equals.Append(nil, d)
		if !slices.Contains(vals, string(want)) {
			return fail("does not equal %s", shown(h.Equals, want))
		}
	case h.Contains != "":
		if !slices.ContainsFunc(vals, func(v string) bool { return strings.Contains(v, h.Contains) }) {
			return fail("does not contain %q", h.Contains)
		}
	case h.Matches != nil:
		if !slices.ContainsFunc(vals, h.Matches.MatchString) {
			return fail("does not match %s", short(h.Matches.String()))
		}
	}
	return nil
}

// shown is a template as a check's message shows it: rendered (want)
// when it holds no secret (no password, no variable), else its source.
func shown(t *Template, want []byte) string {
	if t.Static() || len(t.Vars()) == 0 && !strings.Contains(t.Raw(), "Password") {
		return strconv.Quote(short(string(want)))
	}
	return strconv.Quote(short(t.Raw())) + " (rendered for the VU)"
}

func (c *Check) statusOK(status int) bool {
	if len(c.Status) == 0 {
		return status > 0 && status < 400
	}
	for _, s := range c.Status {
		if s == status {
			return true
		}
	}
	return false
}

// expectedStatus reads like "< 400", "200", "200 or 201", "200, 201 or 204".
func (c *Check) expectedStatus() string {
	if len(c.Status) == 0 {
		return "< 400"
	}
	var b strings.Builder
	for i, s := range c.Status {
		switch {
		case i == 0:
		case i == len(c.Status)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(s))
	}
	return b.String()
}

// short cuts s to a length fit for an error message, on a rune boundary.
func short(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
