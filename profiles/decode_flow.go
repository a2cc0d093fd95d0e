package profiles

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/vuser"
)

// The keys of flow control: a step holding one of them runs the steps it
// holds and sends no request itself.
var (
	flowKeys    = []string{"repeat", "random", "if", "foreach", "group"}
	requestKeys = slices.Concat(methods, []string{"headers"}, bodyKeys, []string{"check", "extract"})
	repeatKeys  = []string{"times", "for", "steps"}
	branchKeys  = []string{"weight", "steps"}
	ifKeys      = []string{"var", "status", "equals", "matches", "exists", "steps", "else"}
	ifSubjects  = []string{"var", "status"}
	ifOps       = []string{"equals", "matches", "exists"}
	foreachKeys = []string{"var", "as", "limit", "steps"}
)

// flowStep reads a step holding flow key f (the only one: m has no other).
func (d *decoder) flowStep(n *yaml.Node, path string, m map[string]kv, f kv, target *url.URL) (vuser.Step, bool) {
	var st vuser.Step
	kind := f.key.Value
	good := true
	for _, e := range present(m, requestKeys) {
		d.errorf(e.key, path+"."+e.key.Value, "not allowed with %s (a %s step sends no request itself: put the request in its steps)", kind, kind)
		good = false
	}
	if e, has := m["think"]; has {
		// A pause once the whole step is done; its steps pause as their own say.
		if t, ok := d.think(e.val, path+".think"); ok {
			st.Think = &t
		} else {
			good = false
		}
	}
	if e, has := m["steps"]; has && kind != "group" {
		d.errorf(e.key, path+".steps", "not allowed beside %s: write the steps inside it, %s: {..., steps: [...]}", kind, kind)
		good = false
	}
	if e, has := m["name"]; has {
		if kind == "group" {
			d.errorf(e.key, path+".name", "not allowed with group (a group is named by group: NAME)")
			good = false
		} else if v, ok := d.nonEmpty(e.val, path+".name"); ok {
			st.Name = v // a label for the reader; it records nothing
		} else {
			good = false
		}
	}
	fp := path + "." + kind
	var ok bool
	switch kind {
	case "group":
		name, ok := d.nonEmpty(f.val, fp)
		if ok && strings.Contains(name, "/") {
			d.errorf(resolve(f.val), fp, "%q: expected a name without '/' (a group inside another is recorded as outer/inner)", name)
			ok = false
		}
		if ok {
			st.Name = name
			// Results and thresholds name a group inside another outer/inner.
			full := strings.Join(append(slices.Clone(d.groupPath), name), "/")
			d.cur.groups = append(d.cur.groups, stepName{full, fp, resolve(f.val), d.loops > 0})
		}
		e, has := m["steps"]
		if !has {
			d.errorf(resolve(n), path, "missing required key \"steps\" (the steps of group %s)", name)
			return st, false
		}
		d.groupPath = append(d.groupPath, name)
		steps := d.steps(e.val, path+".steps", target)
		d.groupPath = d.groupPath[:len(d.groupPath)-1]
		st.Group = &vuser.Group{Steps: steps}
		good = good && ok && len(steps) > 0
	case "repeat":
		st.Repeat, ok = d.repeat(f.val, fp, target)
		good = good && ok
	case "random":
		st.Random, ok = d.random(f.val, fp, target)
		good = good && ok
	case "if":
		st.If, ok = d.ifStep(f.val, fp, target)
		good = good && ok
	case "foreach":
		st.Foreach, ok = d.foreach(f.val, fp, target)
		good = good && ok
	}
	return st, good
}

// innerSteps reads the required steps key of a flow mapping.
func (d *decoder) innerSteps(n *yaml.Node, path string, m map[string]kv, target *url.URL) ([]vuser.Step, bool) {
	if !d.require(n, path, m, "steps") {
		return nil, false
	}
	steps := d.steps(m["steps"].val, path+".steps", target)
	return steps, len(steps) > 0
}

func (d *decoder) repeat(n *yaml.Node, path string, target *url.URL) (*vuser.Repeat, bool) {
	m, ok := d.fields(n, path, repeatKeys)
	if !ok {
		return nil, false
	}
	r := &vuser.Repeat{}
	good := true
	switch es := present(m, []string{"times", "for"}); len(es) {
	case 0:
		if !slices.Contains(d.unknown[resolve(n)], "times") && !slices.Contains(d.unknown[resolve(n)], "for") {
			d.errorf(resolve(n), path, "expected times: N or for: DURATION (how often, or how long, to repeat the steps)")
		}
		good = false
	case 2:
		d.exclusive(es, path, "times and for exclude each other (repeat a number of times, or for a while)")
		good = false
	}
	if e, has := m["times"]; has {
		r.Times, ok = d.times(e.val, path+".times")
		good = good && ok
	}
	if e, has := m["for"]; has {
		r.For, ok = d.duration(e.val, path+".for", true)
		good = good && ok
	}
	d.loops++
	r.Steps, ok = d.innerSteps(n, path, m, target)
	d.loops--
	return r, good && ok
}

// times reads a repeat count: a positive integer, or a template rendered
// when the repeat is reached ("{{.Var.n}}").
func (d *decoder) times(n *yaml.Node, path string) (*vuser.Template, bool) {
	n = resolve(n)
	const want = `a positive integer or a template like "{{.Var.count}}"`
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.Contains(n.Value, "{{") {
		return d.template(n, path)
	}
	v, err := strconv.Atoi(strings.TrimSpace(n.Value))
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!str") || err != nil || v < 1 {
		d.errorf(n, path, "expected %s, got %s", want, got(n))
		return nil, false
	}
	t, err := vuser.ParseTemplate(strconv.Itoa(v))
	if err != nil {
		d.errorf(n, path, "bad template: %v", err)
		return nil, false
	}
	return t, true
}

// weight reads a positive number (an integer or a decimal).
func (d *decoder) weight(n *yaml.Node, path string) (float64, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		var v float64
		if err := n.Decode(&v); err == nil && v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
			return v, true
		}
	}
	d.errorf(n, path, "expected a positive number like 3 or 0.5, got %s", got(n))
	return 0, false
}

func (d *decoder) random(n *yaml.Node, path string, target *url.URL) ([]vuser.Branch, bool) {
	items, ok := d.list(n, path)
	if !ok {
		return nil, false
	}
	if len(items) < 2 {
		d.errorf(resolve(n), path, "expected a list of at least two branches {weight, steps} (one branch always runs: write its steps directly)")
		return nil, false
	}
	good := true
	out := make([]vuser.Branch, 0, len(items))
	for i, it := range items {
		if !d.visit(it) {
			return nil, false
		}
		bp := fmt.Sprintf("%s[%d]", path, i)
		m, ok := d.fields(it, bp, branchKeys)
		if !ok {
			good = false
			continue
		}
		b := vuser.Branch{Weight: 1}
		if e, has := m["weight"]; has {
			b.Weight, ok = d.weight(e.val, bp+".weight")
			good = good && ok
		}
		b.Steps, ok = d.innerSteps(it, bp, m, target)
		good = good && ok
		out = append(out, b)
	}
	return out, good
}

func (d *decoder) ifStep(n *yaml.Node, path string, target *url.URL) (*vuser.If, bool) {
	m, ok := d.fields(n, path, ifKeys)
	if !ok {
		return nil, false
	}
	c := &vuser.If{}
	good := true
	switch es := present(m, ifSubjects); len(es) {
	case 0:
		if !d.typoOf(n, ifSubjects) {
			d.errorf(resolve(n), path, "expected var: NAME or status: true (what the condition tests)")
		}
		good = false
	case 2:
		d.exclusive(es, path, "var and status exclude each other (test a variable, or the last response's status)")
		good = false
	}
	if e, has := m["var"]; has {
		if name, ok := d.varName(e.val, path+".var"); ok {
			c.Var = name
			d.useVar(name, resolve(e.val), path+".var")
		} else {
			good = false
		}
	}
	if e, has := m["status"]; has {
		v, ok := d.boolean(e.val, path+".status")
		switch {
		case !ok:
			good = false
		case !v:
			d.errorf(resolve(e.val), path+".status", "expected true (the condition then tests the last response's status code), got false")
			good = false
		default:
			c.Status = true
		}
	}
	switch es := present(m, ifOps); len(es) {
	case 0:
		if !d.typoOf(n, ifOps) {
			d.errorf(resolve(n), path, "missing the condition: expected one of equals, matches, exists")
		}
		good = false
	case 1:
		c.Op = vuser.CondOp(es[0].key.Value)
	default:
		d.exclusive(es, path, "expected one condition")
		good = false
	}
	if e, has := m["equals"]; has {
		c.Value, ok = d.template(e.val, path+".equals")
		good = good && ok
	}
	if e, has := m["matches"]; has {
		c.Regexp, ok = d.regex(e.val, path+".matches")
		good = good && ok
	}
	if e, has := m["exists"]; has {
		v, ok := d.boolean(e.val, path+".exists")
		switch {
		case !ok:
			good = false
		case !v:
			d.errorf(resolve(e.val), path+".exists", "expected true (for a variable that is not set, put the steps under else:), got false")
			good = false
		case c.Status:
			d.errorf(e.key, path+".exists", "not allowed with status (a response always has a status: use equals or matches)")
			good = false
		}
	}
	c.Steps, ok = d.innerSteps(n, path, m, target)
	good = good && ok
	if e, has := m["else"]; has {
		c.Else = d.steps(e.val, path+".else", target)
		good = good && len(c.Else) > 0
	}
	return c, good
}

// typoOf reports whether mapping n had an unknown key that was suggested
// as one of keys: the problem is reported as that typo already.
func (d *decoder) typoOf(n *yaml.Node, keys []string) bool {
	for _, s := range d.unknown[resolve(n)] {
		if slices.Contains(keys, s) {
			return true
		}
	}
	return false
}

func (d *decoder) foreach(n *yaml.Node, path string, target *url.URL) (*vuser.Foreach, bool) {
	m, ok := d.fields(n, path, foreachKeys)
	if !ok {
		return nil, false
	}
	fe := &vuser.Foreach{}
	good := d.require(n, path, m, "var", "as")
	if e, has := m["var"]; has {
		if name, ok := d.varName(e.val, path+".var"); ok {
			fe.Var = name
			d.useVar(name, resolve(e.val), path+".var")
		} else {
			good = false
		}
	}
	if e, has := m["as"]; has {
		if name, ok := d.varName(e.val, path+".as"); ok {
			fe.As = name
			if name == fe.Var {
				d.errorf(resolve(e.val), path+".as", "expected a name other than the list's (%s): as names each item", name)
				good = false
			}
		} else {
			good = false
		}
	}
	if e, has := m["limit"]; has {
		fe.Limit, ok = d.positive(e.val, path+".limit")
		good = good && ok
	}
	if fe.As != "" {
		d.asVars = append(d.asVars, fe.As)
		d.cur.as[fe.As] = resolve(m["as"].val).Line
	}
	d.loops++
	fe.Steps, ok = d.innerSteps(n, path, m, target)
	d.loops--
	if fe.As != "" {
		d.asVars = d.asVars[:len(d.asVars)-1]
	}
	return fe, good && ok
}

// varName reads a variable's name.
func (d *decoder) varName(n *yaml.Node, path string) (string, bool) {
	s, ok := d.nonEmpty(n, path)
	if !ok {
		return "", false
	}
	if !vuser.ValidVarName(s) {
		d.errorf(resolve(n), path, "%q is not a valid variable name (letters, digits, _ and -)", s)
		return "", false
	}
	return s, true
}

// regex reads and compiles a regular expression.
func (d *decoder) regex(n *yaml.Node, path string) (*regexp.Regexp, bool) {
	s, ok := d.nonEmpty(n, path)
	if !ok {
		return nil, false
	}
	re, err := regexp.Compile(s)
	if err != nil {
		d.errorf(resolve(n), path, "bad regex: %v", err)
		return nil, false
	}
	return re, true
}

// useVar notes a variable a flow key reads, to be checked with the
// templates' variables.
func (d *decoder) useVar(name string, n *yaml.Node, path string) {
	if slices.Contains(d.asVars, name) {
		return
	}
	d.uses = append(d.uses, varUse{name, path, n.Line, n.Column, d.cur})
}

// withSharedAll puts the plan's templated headers into every request
// step of steps, flow steps' insides included.
func withSharedAll(shared []vuser.Header, steps []vuser.Step) {
	if len(shared) == 0 {
		return
	}
	for i := range steps {
		st := &steps[i]
		if st.Method != "" {
			st.Headers = withShared(shared, st.Headers)
		}
		forInner(st, func(inner []vuser.Step) { withSharedAll(shared, inner) })
	}
}

// forInner calls f with each list of steps a flow step holds.
func forInner(st *vuser.Step, f func([]vuser.Step)) {
	switch {
	case st.Repeat != nil:
		f(st.Repeat.Steps)
	case st.Random != nil:
		for _, b := range st.Random {
			f(b.Steps)
		}
	case st.If != nil:
		f(st.If.Steps)
		f(st.If.Else)
	case st.Foreach != nil:
		f(st.Foreach.Steps)
	case st.Group != nil:
		f(st.Group.Steps)
	}
}

// cloneSteps copies steps deeply enough that no slice or flow struct is
// shared with the original; templates and regexps are immutable.
func cloneSteps(steps []vuser.Step) []vuser.Step {
	if steps == nil {
		return nil
	}
	out := make([]vuser.Step, len(steps))
	for i, st := range steps {
		c := st
		if st.Think != nil {
			t := *st.Think
			c.Think = &t
		}
		c.Headers = slices.Clone(st.Headers)
		c.Form = slices.Clone(st.Form)
		c.Extract = slices.Clone(st.Extract)
		c.Check = cloneCheck(st.Check)
		switch {
		case st.Repeat != nil:
			r := *st.Repeat
			r.Steps = cloneSteps(r.Steps)
			c.Repeat = &r
		case st.Random != nil:
			c.Random = make([]vuser.Branch, len(st.Random))
			for j, b := range st.Random {
				c.Random[j] = vuser.Branch{Weight: b.Weight, Steps: cloneSteps(b.Steps)}
			}
		case st.If != nil:
			x := *st.If
			x.Steps, x.Else = cloneSteps(x.Steps), cloneSteps(x.Else)
			c.If = &x
		case st.Foreach != nil:
			x := *st.Foreach
			x.Steps = cloneSteps(x.Steps)
			c.Foreach = &x
		case st.Group != nil:
			c.Group = &vuser.Group{Steps: cloneSteps(st.Group.Steps)}
		}
		out[i] = c
	}
	return out
}

func cloneCheck(c vuser.Check) vuser.Check {
	c.Status = slices.Clone(c.Status)
	c.BodyContains = slices.Clone(c.BodyContains)
	c.JSON = slices.Clone(c.JSON)
	c.BodyContainsT = slices.Clone(c.BodyContainsT)
	c.BodyMatches = slices.Clone(c.BodyMatches)
	c.BodyNotContains = slices.Clone(c.BodyNotContains)
	c.Headers = slices.Clone(c.Headers)
	return c
}
