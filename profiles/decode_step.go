package profiles

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/vuser"
)

var (
	methods  = []string{"get", "post", "put", "patch", "delete", "head"}
	bodyKeys = []string{"form", "json", "body"}
	stepKeys = slices.Concat([]string{"name"}, methods, []string{"headers"}, bodyKeys,
		[]string{"check", "extract", "think"}, flowKeys, []string{"steps"})
	checkKeys      = []string{"status", "body_contains", "body_not_contains", "body_matches", "json", "headers"}
	headerCheckOps = []string{"exists", "equals", "contains", "matches"}
	extractKinds   = []string{"form", "regex", "json", "header", "cookie"}
	extractOptions = []string{"index", "all", "pick", "optional"}
	extractKeys    = slices.Concat(extractKinds, extractOptions)
	pickChoices    = []string{"random"}
)

var (
	jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
)

// Bounds of a plan's steps: far above any real plan, they keep a plan
// whose aliases repeat steps exponentially from taking long to read.
const (
	maxSteps     = 1 << 14 // steps in all, flow steps' insides included
	maxFlowDepth = 32      // flow steps inside flow steps
)

// steps reads a list of at least one step.
func (d *decoder) steps(n *yaml.Node, path string, target *url.URL) []vuser.Step {
	items, ok := d.list(n, path)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(resolve(n), path, "expected at least one step")
		return nil
	}
	if d.depth >= maxFlowDepth {
		d.errorf(resolve(n), path, "flow steps nested more than %d deep", maxFlowDepth)
		return nil
	}
	d.depth++
	defer func() { d.depth-- }()
	out := make([]vuser.Step, 0, len(items))
	for i, it := range items {
		if !d.visit(it) {
			break
		}
		if d.stepCount++; d.stepCount > maxSteps {
			if d.stepCount == maxSteps+1 {
				// Sorted first: the problems of the steps read may be legion.
				r := resolve(it)
				d.add(located{0, 0, Problem{File: d.file, Line: r.Line, Col: r.Column,
					Msg: fmt.Sprintf("plan too large: more than %d steps (with those that aliases repeat)", maxSteps)}})
			}
			break
		}
		if st, ok := d.step(it, fmt.Sprintf("%s[%d]", path, i), target); ok {
			out = append(out, st)
		}
	}
	return out
}

// present returns the entries of m among keys, in file order.
func present(m map[string]kv, keys []string) []kv {
	var out []kv
	for _, k := range keys {
		if e, has := m[k]; has {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b kv) int {
		if a.key.Line != b.key.Line {
			return a.key.Line - b.key.Line
		}
		return a.key.Column - b.key.Column
	})
	return out
}

// exclusive reports the second of keys that exclude each other.
func (d *decoder) exclusive(es []kv, path, what string) {
	if len(es) > 1 {
		a, b := es[0].key, es[1].key
		if a.Line == b.Line {
			d.errorf(b, path, "%s, got %s and %s", what, a.Value, b.Value)
			return
		}
		d.errorf(b, path, "%s, got %s (line %d) and %s (line %d)", what, a.Value, a.Line, b.Value, b.Line)
	}
}

func (d *decoder) step(n *yaml.Node, path string, target *url.URL) (vuser.Step, bool) {
	var st vuser.Step
	m, ok := d.fields(n, path, stepKeys)
	if !ok {
		return st, false
	}
	if fs := present(m, flowKeys); len(fs) > 1 {
		d.exclusive(fs, path, "expected one flow key per step (nest them: put one in the other's steps)")
		return st, false
	} else if len(fs) == 1 {
		return d.flowStep(n, path, m, fs[0], target)
	}
	if d.typoOf(n, flowKeys) {
		return st, false // a flow step with its key misspelt: no name or request is missing
	}
	good := d.require(n, path, m, "name")
	if e, has := m["name"]; has {
		if v, ok := d.nonEmpty(e.val, path+".name"); ok {
			st.Name = v
			sn := stepName{v, path + ".name", resolve(e.val), d.loops > 0}
			d.cur.names = append(d.cur.names, sn)
			d.names = append(d.names, sn)
		} else {
			good = false
		}
	}
	if e, has := m["steps"]; has {
		d.errorf(e.key, path+".steps", "only with group: NAME (a group's steps); repeat, random, if and foreach hold their steps inside, e.g. repeat: {times: 3, steps: [...]}")
		good = false
	}
	if e, has := m["think"]; has {
		if t, ok := d.think(e.val, path+".think"); ok {
			st.Think = &t
		} else {
			good = false
		}
	}

	ms := present(m, methods)
	switch {
	case len(ms) == 0 && d.hasUnknown(n):
		good = false
	case len(ms) == 0:
		d.errorf(resolve(n), path, "missing the request: expected one of the keys %s (or a flow key: %s)", strings.Join(methods, ", "), strings.Join(flowKeys, ", "))
		good = false
	case len(ms) > 1:
		d.exclusive(ms, path, "expected one method per step")
		good = false
	default:
		e := ms[0]
		st.Method = strings.ToUpper(e.key.Value)
		mp := path + "." + e.key.Value
		if t, ok := d.template(e.val, mp); ok && d.checkPath(resolve(e.val), mp, t.Raw(), target) {
			st.Path = t
		} else {
			good = false
		}
	}

	if e, has := m["headers"]; has {
		st.Headers = d.headers(e.val, path+".headers")
	}
	bs := present(m, bodyKeys)
	d.exclusive(bs, path, "form, json and body exclude each other")
	good = good && len(bs) <= 1
	if e, has := m["form"]; has {
		st.Form = d.form(e.val, path+".form")
	}
	if e, has := m["json"]; has {
		st.JSON, ok = d.jsonBody(e.val, path+".json")
		good = good && ok
	}
	if e, has := m["body"]; has {
		st.Body, ok = d.template(e.val, path+".body")
		good = good && ok
	}
	if e, has := m["check"]; has {
		st.Check = d.check(e.val, path+".check")
	}
	if e, has := m["extract"]; has {
		st.Extract = d.extract(e.val, path+".extract")
	}
	return st, good
}

// template parses a template string and notes the variables it uses.
func (d *decoder) template(n *yaml.Node, path string) (*vuser.Template, bool) {
	raw, ok := d.str(n, path)
	if !ok {
		return nil, false
	}
	n = resolve(n)
	t, err := vuser.ParseTemplate(raw)
	if err != nil {
		d.templateProblem(n, path, err)
		return nil, false
	}
	d.noteVars(t, n, path)
	return t, true
}

// templateProblem reports a template parse error at the column it names
// inside the scalar, when the error says which.
func (d *decoder) templateProblem(n *yaml.Node, path string, err error) {
	if col, msg, ok := templateError(err); ok {
		line, c := d.position(n, col)
		d.at(line, c, path, "bad template: %s", msg)
		return
	}
	d.errorf(n, path, "bad template: %v", err)
}

// noteVars records each {{.Var.x}} of t at the action that uses it.
func (d *decoder) noteVars(t *vuser.Template, n *yaml.Node, path string) {
	raw := t.Raw()
	for _, v := range t.Vars() {
		if slices.Contains(d.asVars, v) {
			continue // the item of an enclosing foreach
		}
		line, col := n.Line, n.Column
		if i := strings.Index(raw, ".Var."+v); i >= 0 {
			if j := strings.LastIndex(raw[:i], "{{"); j >= 0 {
				i = j
			}
			line, col = d.position(n, utf8.RuneCountInString(raw[:i])+1)
		}
		d.uses = append(d.uses, varUse{v, path, line, col, d.cur})
	}
	d.noteData(t, n, path)
}

// checkVars reports variables used but never extracted in their
// scenario (or the login steps it runs), and names given twice in one
// scenario; both need every step read first.
func (d *decoder) checkVars() {
	for _, u := range d.uses {
		if u.sc.defines(u.name) {
			continue
		}
		if line, ok := u.sc.as[u.name]; ok {
			d.at(u.line, u.col, u.path, "variable %q is the item of the foreach on line %d (its as:) and exists only in that foreach's steps", u.name, line)
			continue
		}
		d.at(u.line, u.col, u.path, "variable %q is never extracted (add extract: {%s: ...} to a step or login step)", u.name, u.name)
	}
	for _, sc := range d.scopes {
		names := slices.Clone(sc.names)
		if sc.login != nil {
			names = append(names, sc.login.names...)
		}
		d.unique(names)
		d.unique(slices.Clone(sc.groups))
	}
}

// unique reports the names given twice, at the later one.
func (d *decoder) unique(names []stepName) {
	slices.SortStableFunc(names, func(a, b stepName) int {
		if a.node.Line != b.node.Line {
			return a.node.Line - b.node.Line
		}
		return a.node.Column - b.node.Column
	})
	first := map[string]stepName{}
	for _, sn := range names {
		if f, dup := first[sn.name]; dup && !sn.inLoop && !f.inLoop {
			d.errorf(sn.node, sn.path, "%q is already the name of %s (line %d)", sn.name, strings.TrimSuffix(f.path, ".name"), f.node.Line)
			continue
		} else if dup {
			continue
		}
		first[sn.name] = sn
	}
}

// form reads form fields in their YAML order.
func (d *decoder) form(n *yaml.Node, path string) []vuser.Field {
	ps, _ := d.pairs(n, path)
	out := make([]vuser.Field, 0, len(ps))
	for _, p := range ps {
		if t, ok := d.template(p.val, path+"."+p.key.Value); ok {
			out = append(out, vuser.Field{Name: p.key.Value, Value: t})
		}
	}
	return out
}

// jsonBody turns any YAML value into JSON text, keeping mapping order, and
// parses it as a JSON template. Each string is first parsed as a template
// on its own, so a mistake is reported where it was written.
func (d *decoder) jsonBody(n *yaml.Node, path string) (*vuser.Template, bool) {
	var b []byte
	if !d.appendJSON(&b, n, path) {
		return nil, false
	}
	t, err := vuser.ParseJSONTemplate(string(b))
	if err != nil {
		if _, msg, ok := templateError(err); ok {
			err = fmt.Errorf("%s", msg)
		}
		d.errorf(resolve(n), path, "bad JSON template: %v", err)
		return nil, false
	}
	return t, true
}

func (d *decoder) appendJSON(b *[]byte, n *yaml.Node, path string) bool {
	n = resolve(n)
	if !d.visit(n) {
		return false
	}
	switch n.Kind {
	case yaml.MappingNode:
		ps, ok := d.pairs(n, path)
		*b = append(*b, '{')
		for i, p := range ps {
			if i > 0 {
				*b = append(*b, ',')
			}
			ok = d.appendJSONString(b, p.key, path) && ok
			*b = append(*b, ':')
			ok = d.appendJSON(b, p.val, path+"."+p.key.Value) && ok
		}
		*b = append(*b, '}')
		return ok
	case yaml.SequenceNode:
		ok := true
		*b = append(*b, '[')
		for i, it := range n.Content {
			if i > 0 {
				*b = append(*b, ',')
			}
			ok = d.appendJSON(b, it, fmt.Sprintf("%s[%d]", path, i)) && ok
		}
		*b = append(*b, ']')
		return ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			*b = append(*b, "null"...)
		case "!!bool":
			var v bool
			_ = n.Decode(&v)
			*b = strconv.AppendBool(*b, v)
		case "!!int":
			var v int64
			switch {
			case n.Decode(&v) == nil:
				*b = strconv.AppendInt(*b, v, 10)
			case jsonNumber.MatchString(n.Value):
				*b = append(*b, n.Value...) // too big for int64: JSON has no limit
			default:
				d.errorf(n, path, "%s is not a number JSON can carry", got(n))
				return false
			}
		case "!!float":
			var v float64
			if err := n.Decode(&v); err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				d.errorf(n, path, "%s is not a number JSON can carry", got(n))
				return false
			}
			if jsonNumber.MatchString(n.Value) {
				*b = append(*b, n.Value...)
			} else {
				*b = strconv.AppendFloat(*b, v, 'g', -1, 64)
			}
		default: // strings, and timestamps or other tags taken as written
			return d.appendJSONString(b, n, path)
		}
		return true
	}
	d.errorf(n, path, "expected a JSON value, got %s", got(n))
	return false
}

// appendJSONString appends scalar n as a JSON string whose template
// actions are left as written, so the JSON template engine sees them.
func (d *decoder) appendJSONString(b *[]byte, n *yaml.Node, path string) bool {
	t, ok := d.template(n, path)
	if !ok {
		return false
	}
	s := t.Raw()
	*b = append(*b, '"')
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			*b = appendEscaped(*b, s)
			break
		}
		*b = appendEscaped(*b, s[:i])
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			*b = append(*b, s[i:]...)
			break
		}
		*b = append(*b, s[i:i+j+2]...)
		s = s[i+j+2:]
	}
	*b = append(*b, '"')
	return true
}

// appendEscaped appends s escaped as JSON string content (without the
// HTML escaping of encoding/json: bodies go to a server, not a page).
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			b = append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r) // invalid UTF-8 becomes U+FFFD
		}
	}
	return b
}

func (d *decoder) check(n *yaml.Node, path string) vuser.Check {
	var c vuser.Check
	m, ok := d.fields(n, path, checkKeys)
	if !ok {
		return c
	}
	if e, has := m["status"]; has {
		for _, it := range d.oneOrMany(e.val, path+".status", "status code") {
			v := resolve(it)
			var code int
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&code) != nil || code < 100 || code > 599 {
				d.errorf(v, path+".status", "expected a status code between 100 and 599, got %s", got(v))
				continue
			}
			c.Status = append(c.Status, code)
		}
	}
	if e, has := m["body_contains"]; has {
		// Texts with placeholders are rendered per VU ("hi {{.User}}");
		// BodyContainsT is parallel to BodyContains, nil where literal.
		var ts []*vuser.Template
		templated := false
		for _, it := range d.oneOrMany(e.val, path+".body_contains", "string") {
			s, ok := d.nonEmpty(it, path+".body_contains")
			if !ok {
				continue
			}
			var t *vuser.Template
			if strings.Contains(s, "{{") {
				if t, ok = d.template(it, path+".body_contains"); !ok {
					continue
				}
				templated = true
			}
			c.BodyContains = append(c.BodyContains, s)
			ts = append(ts, t)
		}
		if templated {
			c.BodyContainsT = ts
		}
	}
	if e, has := m["body_not_contains"]; has {
		for _, it := range d.oneOrMany(e.val, path+".body_not_contains", "string") {
			if s, ok := d.nonEmpty(it, path+".body_not_contains"); ok && d.literal(it, path+".body_not_contains", s) {
				c.BodyNotContains = append(c.BodyNotContains, s)
			}
		}
	}
	if e, has := m["body_matches"]; has {
		for _, it := range d.oneOrMany(e.val, path+".body_matches", "regular expression") {
			if re, ok := d.regex(it, path+".body_matches"); ok {
				c.BodyMatches = append(c.BodyMatches, re)
			}
		}
	}
	if e, has := m["headers"]; has {
		c.Headers = d.headerChecks(e.val, path+".headers")
	}
	if e, has := m["json"]; has {
		ps, _ := d.pairs(e.val, path+".json")
		for _, p := range ps {
			jp := path + ".json." + p.key.Value
			if strings.TrimSpace(p.key.Value) == "" {
				d.errorf(p.key, path+".json", "expected a JSON path like $.user")
				continue
			}
			v := resolve(p.val)
			if v.Kind != yaml.ScalarNode {
				d.errorf(v, jp, "expected a value to compare with, got %s", got(v))
				continue
			}
			want := v.Value
			if isNull(v) {
				want = "null"
			}
			jc := vuser.JSONCheck{Path: p.key.Value, Equals: want}
			if strings.Contains(want, "{{") {
				// e.g. "{{.User}}": proves an answer belongs to the VU's own user.
				t, ok := d.template(v, jp)
				if !ok {
					continue
				}
				jc.Want = t
			}
			c.JSON = append(c.JSON, jc)
		}
	}
	return c
}

// headerChecks reads {Name: {exists: true | equals: T | contains: S |
// matches: RE}}, one condition per header; a plain value is equals.
func (d *decoder) headerChecks(n *yaml.Node, path string) []vuser.HeaderCheck {
	ps, _ := d.pairs(n, path)
	var out []vuser.HeaderCheck
	for _, p := range ps {
		name := p.key.Value
		if !isToken(name) {
			d.errorf(p.key, path, "%q is not a valid header name", name)
			continue
		}
		hp := path + "." + name
		hc := vuser.HeaderCheck{Name: http.CanonicalHeaderKey(name)}
		if v := resolve(p.val); v.Kind == yaml.ScalarNode && !isNull(v) {
			if t, ok := d.template(v, hp); ok {
				hc.Equals = t
				out = append(out, hc)
			}
			continue
		}
		m, ok := d.fields(p.val, hp, headerCheckOps)
		if !ok {
			continue
		}
		es := present(m, headerCheckOps)
		switch {
		case len(es) == 0 && d.hasUnknown(p.val):
			continue
		case len(es) == 0:
			d.errorf(resolve(p.val), hp, "expected one of the keys %s", strings.Join(headerCheckOps, ", "))
			continue
		case len(es) > 1:
			d.exclusive(es, hp, "expected one condition per header")
			continue
		}
		e := es[0]
		ep := hp + "." + e.key.Value
		switch e.key.Value {
		case "exists":
			v, ok := d.boolean(e.val, ep)
			if !ok {
				continue
			}
			if !v {
				d.errorf(resolve(e.val), ep, "expected true (a check that a header is absent is not supported), got false")
				continue
			}
			hc.Exists = true
		case "equals":
			if hc.Equals, ok = d.template(e.val, ep); !ok {
				continue
			}
		case "contains":
			s, ok := d.nonEmpty(e.val, ep)
			if !ok || !d.literal(e.val, ep, s) {
				continue
			}
			hc.Contains = s
		case "matches":
			if hc.Matches, ok = d.regex(e.val, ep); !ok {
				continue
			}
		}
		out = append(out, hc)
	}
	return out
}

// literal reports a placeholder in a text compared as written, where
// "{{.User}}" could never match.
func (d *decoder) literal(n *yaml.Node, path, s string) bool {
	i := strings.Index(s, "{{")
	if i < 0 {
		return true
	}
	line, col := d.position(resolve(n), utf8.RuneCountInString(s[:i])+1)
	d.at(line, col, path, "this text is compared as written: placeholders like {{.User}} are not rendered here (body_contains and header equals render them)")
	return false
}

// oneOrMany reads a scalar or a non-empty list of them.
func (d *decoder) oneOrMany(n *yaml.Node, path, what string) []*yaml.Node {
	r := resolve(n)
	if r.Kind != yaml.SequenceNode {
		return []*yaml.Node{r}
	}
	if len(r.Content) == 0 {
		d.errorf(r, path, "expected a %s or a list of at least one", what)
	}
	return r.Content
}

func (d *decoder) extract(n *yaml.Node, path string) []vuser.Extractor {
	ps, _ := d.pairs(n, path)
	var out []vuser.Extractor
	for _, p := range ps {
		name, vp := p.key.Value, path+"."+p.key.Value
		if !vuser.ValidVarName(name) {
			d.errorf(p.key, path, "%q is not a valid variable name (letters, digits, _ and -)", name)
			continue
		}
		d.cur.extracted[name] = true // even when broken: one mistake, one problem
		m, ok := d.fields(p.val, vp, extractKeys)
		if !ok {
			continue
		}
		ks := present(m, extractKinds)
		switch {
		case len(ks) == 0 && d.hasUnknown(p.val):
			continue
		case len(ks) == 0:
			d.errorf(resolve(p.val), vp, "expected one of the keys %s", strings.Join(extractKinds, ", "))
			continue
		case len(ks) > 1:
			d.exclusive(ks, vp, "expected one way to extract")
			continue
		}
		e, kind := ks[0], vuser.ExtractKind(ks[0].key.Value)
		ep := vp + "." + e.key.Value
		expr, ok := d.nonEmpty(e.val, ep)
		if !ok {
			continue
		}
		x, err := vuser.NewExtractor(name, kind, expr)
		if err != nil {
			// The path already names the variable.
			d.errorf(resolve(e.val), ep, "%s", strings.TrimPrefix(err.Error(), "extract "+name+": "))
			continue
		}
		if !d.extractOptions(m, vp, kind, &x) {
			continue
		}
		out = append(out, x)
	}
	return out
}

// extractOptions reads index, all, pick and optional into x.
func (d *decoder) extractOptions(m map[string]kv, vp string, kind vuser.ExtractKind, x *vuser.Extractor) bool {
	good, ok := true, true
	if e, has := m["index"]; has {
		if kind != vuser.ExtractRegex {
			d.errorf(e.key, vp+".index", "only with regex (the match to take, from 0); a JSON path picks an element with [n]")
			good = false
		} else if x.Index, ok = d.count(e.val, vp+".index"); !ok {
			good = false
		}
	}
	if e, has := m["all"]; has {
		v, ok := d.boolean(e.val, vp+".all")
		switch {
		case !ok:
			good = false
		case kind != vuser.ExtractRegex && kind != vuser.ExtractJSON:
			d.errorf(e.key, vp+".all", "only with regex or json (every match, or every element, as a list)")
			good = false
		default:
			x.All = v
		}
	}
	if e, has := m["pick"]; has {
		v, ok := d.str(e.val, vp+".pick")
		switch {
		case !ok:
			good = false
		case v != "random":
			d.errorf(resolve(e.val), vp+".pick", "expected random (one element of the list found, drawn per VU), got %q%s", v, didYouMean(v, pickChoices))
			good = false
		case kind != vuser.ExtractRegex && kind != vuser.ExtractJSON:
			d.errorf(e.key, vp+".pick", "only with regex or json (a list of matches or elements to pick from)")
			good = false
		default:
			x.PickRandom = true
		}
	}
	if es := present(m, extractOptions[:3]); len(es) > 1 && good {
		d.exclusive(es, vp, "index, all and pick exclude each other (one match, the list, or one drawn from the list)")
		good = false
	}
	if e, has := m["optional"]; has {
		if x.Optional, ok = d.boolean(e.val, vp+".optional"); !ok {
			good = false
		}
	}
	return good
}
