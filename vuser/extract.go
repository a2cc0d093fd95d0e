package vuser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Response is what checks and extractors see of a response, and what
// VU.Do returns to Go code.
type Response struct {
	Status int
	// Header holds every header in a Go scenario; for steps, the fasthttp
	// engine keeps only those the script reads.
	Header http.Header
	// Body is at most Script.MaxBody bytes. Returned by VU.Do, it is the
	// VU's buffer: valid until its next request, Think, or the iteration's
	// end.
	Body []byte
	URL  *url.URL
	Jar  http.CookieJar
}

// ExtractKind names where an extractor looks.
type ExtractKind string

// The extractor kinds.
const (
	ExtractForm   ExtractKind = "form"   // value of the HTML input named Expr
	ExtractRegex  ExtractKind = "regex"  // first group (or whole match) of Expr
	ExtractJSON   ExtractKind = "json"   // JSON path Expr
	ExtractHeader ExtractKind = "header" // response header Expr
	ExtractCookie ExtractKind = "cookie" // cookie Expr as the jar holds it for the URL
)

// Extractor fills one VU variable from a response. Build it with
// NewExtractor, which compiles Expr once; an Extractor is then read-only
// and shared by all VUs.
type Extractor struct {
	Var  string
	Kind ExtractKind
	Expr string
	// Index picks the Index-th match of a regex (from 0); All makes the
	// variable a list of every match (regex) or element (a JSON array;
	// a JSON path that finds an array always gives a list).
	Index int
	All   bool
	// PickRandom sets the variable to one element of the list found,
	// drawn from the VU's seeded generator.
	PickRandom bool
	// Optional lets the extraction find nothing; otherwise that is an
	// extract_failed error on the step and the iteration stops there.
	Optional bool

	re   *regexp.Regexp // regex: Expr compiled
	path string         // json: Expr as a gjson path
}

// NewExtractor validates and compiles an extractor: name is the variable
// it sets ({{.Var.name}}), kind where it looks, expr what it looks for:
//
//	form    the name of an HTML input (or meta tag), see FormValue
//	regex   a regular expression with at most one capturing group; the
//	        group's text, or the whole match when there is no group
//	json    a JSON path, see below; a string value as is, any other value
//	        as its JSON text
//	header  a response header's name; its first value
//	cookie  a cookie's name; its value as the VU's jar holds it for the
//	        request URL (so a cookie set earlier counts too)
//
// A JSON path starting with "$" is JSONPath-like and is converted to gjson
// syntax: "$" is the document, ".key" a member, "[n]" an array element,
// "[*]" every element, "['key']" a member whose name holds dots:
// "$.items[0].id" becomes "items.0.id". The dotted members are passed to
// gjson as they are, so "$.items.0.id" and "$.items.#" work too. A path
// without "$" is gjson syntax (https://github.com/tidwall/gjson), queries
// and modifiers included.
func NewExtractor(name string, kind ExtractKind, expr string) (Extractor, error) {
	e := Extractor{Var: name, Kind: kind, Expr: expr}
	if !ValidVarName(name) {
		return e, fmt.Errorf("extract var %q: expected a name made of letters, digits, _ and -", name)
	}
	what, ok := map[ExtractKind]string{
		ExtractForm:   "an input name",
		ExtractRegex:  "a regular expression",
		ExtractJSON:   "a JSON path",
		ExtractHeader: "a header name",
		ExtractCookie: "a cookie name",
	}[kind]
	if !ok {
		return e, fmt.Errorf("extract %s: kind %q: expected form, regex, json, header or cookie", name, kind)
	}
	if expr == "" {
		return e, fmt.Errorf("extract %s: empty %s expression: expected %s", name, kind, what)
	}
	switch kind {
	case ExtractRegex:
		re, err := regexp.Compile(expr)
		if err != nil {
			return e, fmt.Errorf("extract %s: %w", name, err)
		}
		if n := re.NumSubexp(); n > 1 {
			return e, fmt.Errorf("extract %s: regex %q has %d capturing groups, expected at most 1 (make the others (?:...))", name, expr, n)
		}
		e.re = re
	case ExtractJSON:
		path, err := gjsonPath(expr)
		if err != nil {
			return e, fmt.Errorf("extract %s: %w", name, err)
		}
		e.path = path
	case ExtractHeader, ExtractCookie:
		// Both are HTTP tokens; a name with a blank or a colon can never match.
		if !isToken(expr) {
			return e, fmt.Errorf("extract %s: %s name %q: expected an HTTP token (no blanks or separators)", name, kind, expr)
		}
	}
	return e, nil
}

// Extract returns the value found in r and whether it was found.
func (e *Extractor) Extract(r *Response) (string, bool) {
	if r == nil {
		return "", false
	}
	switch e.Kind {
	case ExtractForm:
		return FormValue(r.Body, e.Expr)
	case ExtractRegex:
		re := e.re
		if re == nil { // built without NewExtractor
			var err error
			if re, err = regexp.Compile(e.Expr); err != nil || re.NumSubexp() > 1 {
				return "", false
			}
		}
		if e.Index > 0 {
			return regexNth(re, r.Body, e.Index)
		}
		return regexValue(re, r.Body)
	case ExtractJSON:
		path := e.path
		if path == "" { // built without NewExtractor
			var err error
			if path, err = gjsonPath(e.Expr); err != nil {
				return "", false
			}
		}
		return jsonValue(r.Body, path)
	case ExtractHeader:
		if vs := r.Header.Values(e.Expr); len(vs) > 0 {
			return vs[0], true
		}
	case ExtractCookie:
		return cookieValue(r, e.Expr)
	}
	return "", false
}

// Values returns every value found in r: each match of a regex (its
// group's text, or the whole match), each element of a JSON array (a
// string as is, any other value as its JSON text), each value of a
// header, or the one value Extract finds for the other kinds. A JSON
// array found but empty is found with no values.
func (e *Extractor) Values(r *Response) ([]string, bool) {
	if r == nil {
		return nil, false
	}
	switch e.Kind {
	case ExtractRegex:
		re := e.re
		if re == nil {
			var err error
			if re, err = regexp.Compile(e.Expr); err != nil || re.NumSubexp() > 1 {
				return nil, false
			}
		}
		var out []string
		for _, m := range re.FindAllSubmatchIndex(r.Body, -1) {
			if len(m) >= 4 {
				if m[2] >= 0 {
					out = append(out, string(r.Body[m[2]:m[3]]))
				}
				continue
			}
			out = append(out, string(r.Body[m[0]:m[1]]))
		}
		return out, len(out) > 0
	case ExtractJSON:
		res, ok := e.json(r.Body)
		if !ok {
			return nil, false
		}
		if !res.IsArray() {
			return []string{jsonText(res)}, true
		}
		return jsonList(res), true
	case ExtractHeader:
		vs := r.Header.Values(e.Expr)
		return slices.Clone(vs), len(vs) > 0
	}
	if v, ok := e.Extract(r); ok {
		return []string{v}, true
	}
	return nil, false
}

// json is the gjson result at e's path in body.
func (e *Extractor) json(body []byte) (gjson.Result, bool) {
	path := e.path
	if path == "" { // built without NewExtractor
		var err error
		if path, err = gjsonPath(e.Expr); err != nil {
			return gjson.Result{}, false
		}
	}
	res := gjson.GetBytes(body, path)
	return res, res.Exists()
}

// jsonText is a JSON value as a variable holds it: a string as is, any
// other value as its JSON text.
func jsonText(res gjson.Result) string {
	if res.Type == gjson.String {
		return res.Str
	}
	return res.Raw
}

// jsonList is the elements of a JSON array, each as jsonText.
func jsonList(res gjson.Result) []string {
	out := []string{}
	res.ForEach(func(_, el gjson.Result) bool {
		out = append(out, jsonText(el))
		return true
	})
	return out
}

// regexNth is regexValue for the n-th match (from 0).
func regexNth(re *regexp.Regexp, body []byte, n int) (string, bool) {
	ms := re.FindAllSubmatchIndex(body, n+1)
	if len(ms) <= n {
		return "", false
	}
	m := ms[n]
	if len(m) >= 4 {
		if m[2] < 0 {
			return "", false
		}
		return string(body[m[2]:m[3]]), true
	}
	return string(body[m[0]:m[1]]), true
}

// ExtractError is an extraction that found nothing in a response.
type ExtractError struct {
	Var  string
	Kind ExtractKind
	Expr string
}

// Error reads like `extract id: regex "id=(\d+)" found nothing`.
func (e *ExtractError) Error() string {
	return fmt.Sprintf("extract %s: %s %q found nothing", e.Var, e.Kind, short(e.Expr))
}

// extractInto sets the VU's variable ex.Var from resp (and, for a list,
// its list variable: every match with All, a JSON array always). Found
// nothing, the variable is unset; that is an *ExtractError unless ex is
// Optional.
func (v *VU) extractInto(ex *Extractor, resp *Response) error {
	var val string
	var list []string
	found, isList := false, false
	switch {
	case ex.Kind == ExtractJSON:
		var res gjson.Result
		if res, found = ex.json(resp.Body); found {
			val = jsonText(res)
			if isList = res.IsArray(); isList {
				list = jsonList(res)
			} else if ex.All || ex.PickRandom {
				list, isList = []string{val}, true
			}
		}
	case ex.All || ex.PickRandom:
		list, found = ex.Values(resp)
		if found {
			isList = true
			val = listText(list)
		}
	default:
		val, found = ex.Extract(resp)
	}
	if found && ex.PickRandom {
		if len(list) == 0 {
			found = false
		} else {
			val, isList = list[v.rng.IntN(len(list))], false
		}
	}
	if !found {
		delete(v.data.Vars, ex.Var)
		delete(v.data.Lists, ex.Var)
		if ex.Optional {
			return nil
		}
		return &ExtractError{Var: ex.Var, Kind: ex.Kind, Expr: ex.Expr}
	}
	v.setVar(ex.Var, val)
	switch {
	case isList:
		if v.data.Lists == nil {
			v.data.Lists = map[string][]string{}
		}
		v.data.Lists[ex.Var] = list
	case v.data.Lists != nil:
		delete(v.data.Lists, ex.Var) // a scalar now
	}
	return nil
}

// listText is a list as its variable's text: a JSON array of strings.
func listText(list []string) string {
	b, _ := json.Marshal(list)
	return string(b)
}

// regexValue is the first group of re's first match in body, or the whole
// match when re has no group. A group that took no part in the match is
// not found.
func regexValue(re *regexp.Regexp, body []byte) (string, bool) {
	m := re.FindSubmatchIndex(body)
	switch {
	case m == nil:
		return "", false
	case len(m) >= 4:
		if m[2] < 0 {
			return "", false
		}
		return string(body[m[2]:m[3]]), true
	}
	return string(body[m[0]:m[1]]), true
}

// jsonValue is the value at the gjson path in body: a string as is, any
// other value as its JSON text. The body is not validated first: gjson
// reads only as far as the path needs, so a body cut at MaxBody still
// yields what comes before the cut.
func jsonValue(body []byte, path string) (string, bool) {
	res := gjson.GetBytes(body, path)
	if !res.Exists() {
		return "", false
	}
	if res.Type == gjson.String {
		return res.Str, true
	}
	return res.Raw, true
}

// cookieValue is the cookie name as r.Jar holds it for r.URL, or as the
// response's Set-Cookie headers set it when there is no jar (the last one
// wins; one that deletes the cookie leaves it not found).
func cookieValue(r *Response, name string) (string, bool) {
	if r.Jar != nil {
		if r.URL == nil {
			return "", false
		}
		for _, c := range r.Jar.Cookies(r.URL) {
			if c.Name == name {
				return c.Value, true
			}
		}
		return "", false
	}
	var val string
	var found bool
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil || c.Name != name {
			continue
		}
		deleted := c.MaxAge < 0 || !c.Expires.IsZero() && c.Expires.Before(time.Now())
		val, found = c.Value, !deleted
	}
	if !found {
		return "", false
	}
	return val, true
}

// gjsonPath converts a JSON path as a plan writes it to gjson syntax (see
// NewExtractor). A path without brackets converts without allocating, as
// checks convert theirs on every response.
func gjsonPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty JSON path: expected $.key or a gjson path")
	}
	if p[0] != '$' {
		return p, nil
	}
	rest := p[1:]
	if rest == "" {
		return "@this", nil
	}
	if !strings.Contains(rest, "[") {
		if rest[0] != '.' || len(rest) == 1 || rest[1] == '.' {
			return "", fmt.Errorf("JSON path %q: expected $.key", p)
		}
		return rest[1:], nil
	}
	var b strings.Builder
	seg := func(s string) {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	for i := 0; i < len(rest); {
		switch rest[i] {
		case '.':
			i++
			n := strings.IndexAny(rest[i:], ".[")
			if n < 0 {
				n = len(rest) - i
			}
			if n == 0 {
				return "", fmt.Errorf("JSON path %q: empty member name at character %d", p, i+1)
			}
			seg(rest[i : i+n])
			i += n
		case '[':
			n := strings.IndexByte(rest[i:], ']')
			if n < 0 {
				return "", fmt.Errorf(`JSON path %q: unclosed "[" at character %d`, p, i+2)
			}
			in := rest[i+1 : i+n]
			switch {
			case in == "*":
				seg("#")
			case isDigits(in):
				seg(in)
			case len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0]:
				seg(escapeGJSON(in[1 : len(in)-1]))
			default:
				return "", fmt.Errorf("JSON path %q: [%s] at character %d: expected [n], [*] or ['key']", p, in, i+2)
			}
			i += n + 1
		default:
			return "", fmt.Errorf(`JSON path %q: expected "." or "[" at character %d`, p, i+2)
		}
	}
	return b.String(), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// escapeGJSON escapes the characters gjson gives a meaning to, so a quoted
// member name matches literally.
func escapeGJSON(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '.', '*', '?', '|', '#', '@', '\\', '!', '=', '<', '>', '%', '(', ')', ',', '[', ']', '{', '}', ':', '"', '~':
			b.WriteByte('\\')
		}
		b.WriteByte(key[i])
	}
	return b.String()
}

// isToken reports whether s is an HTTP token (RFC 9110), what header and
// cookie names are made of.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
