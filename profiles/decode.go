package profiles

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/vuser"
)

// decoder walks a plan's YAML nodes and collects every problem it meets
// instead of stopping at the first: a plan author fixes a file in one pass.
// It is used by one goroutine, for one Parse call.
type decoder struct {
	file  string   // the plan's name in messages
	dir   string   // base of relative paths in the plan
	lines []string // the plan's source lines, for column arithmetic
	probs []located
	// budget bounds the nodes visited, so that aliases expanding
	// exponentially (a "billion laughs" plan) cannot hang Parse.
	budget    int
	exhausted bool
	// stepCount and depth bound the steps read (see maxSteps); loops is
	// how many repeat and foreach steps are around the steps being read.
	stepCount, depth, loops int

	names []stepName // every request step name, for thresholds
	uses  []varUse   // every {{.Var.x}}, checked once all steps are read
	// dataUses are every {{.Data.s.c}} and {{.Row.c}}, checked at the end (data.go).
	dataUses []dataUse
	// cur is the scope of the steps being read: a scenario, or the plan's
	// login steps; scopes are all of them, in file order.
	cur    *scope
	scopes []*scope
	// asVars are the items (as:) of the foreach loops around the steps
	// being read, groupPath the names of the groups around them.
	asVars, groupPath []string
	secret            *yaml.Node // the users template password just read (secretOf)
	// secrets are all the users template passwords, kept out of Plan.Source.
	secrets []*yaml.Node
	// unknown holds, per mapping, the keys suggested for its unknown keys
	// ("" when none was close): a mapping with a typo does not also report
	// the key the typo was meant to be as missing.
	unknown map[*yaml.Node][]string
	// pacingKeys are the pacing keys of the loads read, by the load's
	// path ("load", "scenarios[1].load").
	pacingKeys map[string]*yaml.Node
	// over are the CLI's overrides, applied to the load before the checks
	// that depend on it.
	over Overrides
	// seen drops a problem met again: a node shared through an alias is
	// decoded once per use.
	seen map[Problem]bool
}

// stepName is a step's name and where it was given.
type stepName struct {
	name string
	path string
	node *yaml.Node
	// inLoop: the step is inside a repeat or foreach, where its name may
	// be another step's too (both record into one endpoint).
	inLoop bool
}

// varUse is one {{.Var.x}} in a template, where it was written.
type varUse struct {
	name      string
	path      string
	line, col int
	sc        *scope
}

// scope is what one scenario's steps define: its variables and names.
// The plan's login steps are a scope of their own, which the scenarios
// that log in with them inherit.
type scope struct {
	name      string          // the scenario's name ("" for a plan's only one)
	scenario  bool            // a scenario's scope, not the plan's login steps'
	extracted map[string]bool // every variable some step extracts
	as        map[string]int  // each foreach item name, with the line of its as:
	names     []stepName      // request step names, unique in the scenario
	groups    []stepName      // group names, unique in the scenario
	login     *scope          // the plan's login steps this scenario runs
	heirs     []*scope        // for the login scope: the scenarios that run it
}

func newScope() *scope {
	return &scope{extracted: map[string]bool{}, as: map[string]int{}}
}

// defines reports whether a variable is extracted in the scope, in the
// login steps it runs, or (for login steps) in a scenario that runs them.
func (s *scope) defines(name string) bool {
	if s.extracted[name] || s.login != nil && s.login.extracted[name] {
		return true
	}
	for _, h := range s.heirs {
		if h.extracted[name] {
			return true
		}
	}
	return false
}

// enter makes a new scope the current one.
func (d *decoder) enter() *scope {
	s := newScope()
	d.scopes = append(d.scopes, s)
	d.cur = s
	return s
}

// maxVisits is the decoder's node budget: far above any real plan.
const maxVisits = 1 << 20

// maxProblems is how many problems a plan reports; the rest are counted.
const maxProblems = 100

// located is a problem with the plan position it sorts by: problems of a
// users CSV sort at the plan's csv key, in the order they were found.
type located struct {
	line, col int
	p         Problem
}

func newDecoder(file, dir string, data []byte) *decoder {
	return &decoder{
		file:    file,
		dir:     dir,
		lines:   strings.Split(string(data), "\n"),
		budget:  maxVisits,
		unknown: map[*yaml.Node][]string{},
		seen:    map[Problem]bool{},
	}
}

// problems returns the collected problems in file order.
func (d *decoder) problems() Problems {
	slices.SortStableFunc(d.probs, func(a, b located) int {
		if a.line != b.line {
			return a.line - b.line
		}
		return a.col - b.col
	})
	ps := make(Problems, 0, min(len(d.probs), maxProblems+1))
	for _, l := range d.probs[:min(len(d.probs), maxProblems)] {
		ps = append(ps, l.p)
	}
	if n := len(d.probs) - maxProblems; n > 0 {
		ps = append(ps, Problem{File: d.file, Msg: fmt.Sprintf("and %d more problems", n)})
	}
	return ps
}

// at records a problem at a plan position; path prefixes the message.
func (d *decoder) at(line, col int, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.add(located{line, col, Problem{File: d.file, Line: line, Col: col, Msg: msg}})
}

func (d *decoder) add(l located) {
	if !d.seen[l.p] {
		d.seen[l.p] = true
		d.probs = append(d.probs, l)
	}
}

// errorf records a problem at node n.
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, n.Column
	}
	d.at(line, col, path, format, args...)
}

// external records a problem in another file (a users CSV), sorted at the
// plan node n that names the file.
func (d *decoder) external(n *yaml.Node, p Problem) {
	d.add(located{n.Line, n.Column, p})
}

// visit spends one unit of the node budget; false once it is spent.
func (d *decoder) visit(n *yaml.Node) bool {
	if d.budget <= 0 {
		if !d.exhausted {
			d.exhausted = true
			d.errorf(n, "", "plan too large: aliases expand to more than %d nodes", maxVisits)
		}
		return false
	}
	d.budget--
	return true
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// got describes what a node holds, for "expected X, got Y" messages.
func got(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) && (n.Value == "" || n.Value == "~") {
			return "nothing"
		}
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 && looksTyped(n.Value) {
			return strconv.Quote(n.Value) + " (quoted, so a string)"
		}
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// looksTyped reports whether s, unquoted, would be a number or a boolean.
func looksTyped(s string) bool {
	if s == "true" || s == "false" {
		return true
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// kv is one key and value of a mapping.
type kv struct {
	key, val *yaml.Node
}

// pairs returns the entries of mapping n in order, with merge keys (<<)
// expanded and duplicate keys reported. A null node is an empty mapping, so
// that a section whose children are all commented out reads as empty.
func (d *decoder) pairs(n *yaml.Node, path string) ([]kv, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", got(n))
		return nil, false
	}
	out, ok := d.collect(n, path, 0)
	return out, ok
}

// collect returns n's entries in order, each merge key (<<) replaced by
// the entries it merges. As YAML says, the mapping's own keys win over
// merged ones wherever they appear, and an earlier merge over a later one.
// Bad keys are reported and left out; ok is false only when the node
// budget ran out.
func (d *decoder) collect(n *yaml.Node, path string, depth int) ([]kv, bool) {
	own := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if !d.visit(k) {
			return nil, false
		}
		switch {
		case k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge":
		case k.Kind != yaml.ScalarNode || isNull(k):
			if depth == 0 {
				d.errorf(k, path, "expected a key name, got %s", got(k))
			}
		case own[k.Value] != nil:
			if depth == 0 { // a merged mapping reports its own mistakes
				d.errorf(k, path, "duplicate key %q (first set on line %d)", k.Value, own[k.Value].Line)
			}
		default:
			own[k.Value] = k
		}
	}
	var out []kv
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			if depth >= 8 {
				d.errorf(k, path, "merge keys nested too deep")
				continue
			}
			m := resolve(v)
			srcs := []*yaml.Node{m}
			if m.Kind == yaml.SequenceNode {
				srcs = srcs[:0]
				for _, s := range m.Content {
					srcs = append(srcs, resolve(s))
				}
			}
			for _, s := range srcs {
				if s.Kind != yaml.MappingNode {
					d.errorf(s, path, "<<: expected a mapping to merge, got %s", got(s))
					continue
				}
				sub, subOK := d.collect(s, path, depth+1)
				if !subOK {
					return nil, false
				}
				for _, e := range sub {
					if own[e.key.Value] == nil && !seen[e.key.Value] {
						seen[e.key.Value] = true
						out = append(out, e)
					}
				}
			}
			continue
		}
		if k.Kind == yaml.ScalarNode && own[k.Value] == k && !seen[k.Value] {
			seen[k.Value] = true
			out = append(out, kv{k, v})
		}
	}
	return out, true
}

// fields reads mapping n whose keys must come from allowed, and returns its
// entries by key. Unknown keys are reported with the closest allowed key.
func (d *decoder) fields(n *yaml.Node, path string, allowed []string) (map[string]kv, bool) {
	ps, ok := d.pairs(n, path)
	if !ok {
		return nil, false
	}
	m := make(map[string]kv, len(ps))
	n = resolve(n)
	for _, p := range ps {
		if path == "" && strings.HasPrefix(p.key.Value, "x-") {
			continue // top-level extension keys hold anchors, as in docker compose
		}
		if !slices.Contains(allowed, p.key.Value) {
			s := suggest(p.key.Value, allowed)
			d.unknown[n] = append(d.unknown[n], s)
			d.errorf(p.key, path, "unknown key %q (expected one of: %s)%s",
				p.key.Value, strings.Join(allowed, ", "), didYouMean(p.key.Value, allowed))
			continue
		}
		m[p.key.Value] = p
	}
	return m, true
}

// require reports the keys of want missing from m, at mapping n.
func (d *decoder) require(n *yaml.Node, path string, m map[string]kv, want ...string) bool {
	ok := true
	n = resolve(n)
	for _, k := range want {
		if _, has := m[k]; !has {
			ok = false
			if slices.Contains(d.unknown[n], k) {
				continue // reported as the typo it is
			}
			d.errorf(n, path, "missing required key %q", k)
		}
	}
	return ok
}

// hasUnknown reports whether mapping n had unknown keys: a "one of these
// keys" problem would only repeat them.
func (d *decoder) hasUnknown(n *yaml.Node) bool { return len(d.unknown[resolve(n)]) > 0 }

// synonyms are other tools' words for plan keys (k6, Gatling, JMeter,
// Locust), written without case, '_' or '-': a newcomer's first guess is
// suggested even when no edit makes it a key. The first candidate the
// mapping allows wins (url is get in a step, target at the top).
var synonyms = map[string][]string{
	"thinktime": {"think"}, "sleep": {"think"}, "pause": {"think"}, "wait": {"think"}, "delay": {"think"},
	"url": {"get", "target"}, "path": {"get"}, "uri": {"get", "target"}, "endpoint": {"get"},
	"vu": {"vus"}, "users": {"vus"}, "virtualusers": {"vus"}, "concurrency": {"vus"}, "threads": {"vus"},
	"rampup": {"stages"}, "ramp": {"stages"}, "ramping": {"stages"}, "rampdown": {"stages"},
	"rps": {"rate"}, "arrivalrate": {"rate"}, "throughput": {"rate"}, "iterationspersecond": {"rate"},
	"time": {"duration"}, "runtime": {"duration"}, "length": {"duration"},
	"baseurl": {"target"}, "host": {"target"},
	"steps": {"scenario"}, "requests": {"scenario"}, "flow": {"scenario"},
	"assert": {"check"}, "assertions": {"check"}, "checks": {"check"}, "expect": {"check"},
	"capture": {"extract"}, "extractors": {"extract"}, "save": {"extract"},
	"data": {"form", "body"}, "params": {"form"}, "payload": {"body"},
	"loop": {"repeat"}, "loops": {"repeat"}, "times": {"repeat"}, "count": {"times"}, "iterations": {"times"},
	"transaction": {"group"}, "randomswitch": {"random"}, "switch": {"random"}, "choice": {"random"},
	"each": {"foreach"}, "when": {"if"}, "condition": {"if"}, "ifelse": {"if"},
	"population": {"scenarios"}, "populations": {"scenarios"}, "usertypes": {"scenarios"},
	"share": {"weight"}, "percent": {"weight"}, "ratio": {"weight"}, "probability": {"weight"},
}

// suggest returns the allowed key key is another tool's word for, or the
// allowed key closest to key when it is close enough to be a typo, else "".
func suggest(key string, allowed []string) string {
	norm := strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(key))
	for _, s := range synonyms[norm] {
		if slices.Contains(allowed, s) {
			return s
		}
	}
	best, bestDist := "", 3
	for _, a := range allowed {
		if strings.EqualFold(a, key) {
			return a
		}
		dist := editDistance(strings.ToLower(key), a)
		if dist < bestDist && dist < utf8.RuneCountInString(a) {
			best, bestDist = a, dist
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and adjacent transpositions each cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 64 // no typo is that long; keep the cost bounded
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// str reads a string. Numbers and dates are taken as written (a password
// 1234); booleans are refused with a hint to quote them, as a true where
// text goes is more often a slip than meant.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!timestamp":
			return n.Value, true
		case "!!bool":
			d.errorf(n, path, "expected a string, got %s (quote it if you mean the text)", n.Value)
			return "", false
		}
	}
	if t, ok := d.unquotedTemplate(n); ok {
		d.errorf(n, path, "a {{ }} template at the start of a value must be quoted (YAML reads { as a mapping): expected %s", t)
		return "", false
	}
	d.errorf(n, path, "expected a string, got %s", got(n))
	return "", false
}

// unquotedTemplate returns the quoted form of a value that YAML read as a
// flow mapping because it starts with a {{ }} template.
func (d *decoder) unquotedTemplate(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle == 0 || n.Line < 1 || n.Line > len(d.lines) {
		return "", false
	}
	src := []rune(strings.TrimRight(d.lines[n.Line-1], "\r"))
	if n.Column < 1 || n.Column > len(src) || !strings.HasPrefix(string(src[n.Column-1:]), "{{") {
		return "", false
	}
	return strconv.Quote(strings.TrimSpace(stripComment(string(src[n.Column-1:])))), true
}

// nonEmpty reads a string that must not be empty.
func (d *decoder) nonEmpty(n *yaml.Node, path string) (string, bool) {
	s, ok := d.str(n, path)
	if ok && strings.TrimSpace(s) == "" {
		d.errorf(resolve(n), path, "expected a non-empty string")
		return "", false
	}
	return s, ok
}

// integer reads an int no smaller than lo; what names the expectation.
func (d *decoder) integer(n *yaml.Node, path string, lo int, what string) (int, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		var v int
		if err := n.Decode(&v); err == nil && v >= lo {
			return v, true
		}
	}
	d.errorf(n, path, "expected %s, got %s", what, got(n))
	return 0, false
}

// positive reads an int > 0.
func (d *decoder) positive(n *yaml.Node, path string) (int, bool) {
	return d.integer(n, path, 1, "a positive integer")
}

// count reads an int >= 0.
func (d *decoder) count(n *yaml.Node, path string) (int, bool) {
	return d.integer(n, path, 0, "an integer >= 0")
}

// boolean reads true or false; YAML 1.1's yes/no/on/off are refused
// because they are strings in YAML 1.2.
func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var b bool
		if n.Decode(&b) == nil {
			return b, true
		}
	}
	d.errorf(n, path, "expected true or false, got %s", got(n))
	return false, false
}

// duration reads a Go duration (250ms, 2s, 1m30s); 0 may be written
// without a unit. With positive, zero is refused too.
func (d *decoder) duration(n *yaml.Node, path string, positive bool) (time.Duration, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!str" || n.ShortTag() == "!!int") {
		v, err := time.ParseDuration(strings.TrimSpace(n.Value))
		switch {
		case err != nil && n.ShortTag() == "!!int":
			d.errorf(n, path, "expected a duration like 250ms or 2s, got %s (missing unit)", got(n))
			return 0, false
		case err != nil:
		case v < 0:
			d.errorf(n, path, "expected a duration >= 0, got %s", got(n))
			return 0, false
		case v == 0 && positive:
			d.errorf(n, path, "expected a duration > 0, got %s", got(n))
			return 0, false
		default:
			return v, true
		}
	}
	d.errorf(n, path, "expected a duration like 250ms or 2s, got %s", got(n))
	return 0, false
}

// list reads a sequence; a null node is an empty list.
func (d *decoder) list(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, got %s", got(n))
		return nil, false
	}
	return n.Content, true
}

// isToken reports whether s is an HTTP token (a header or cookie name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// templateError finds the column (1-based, in characters of the template)
// and message of a template parse error.
func templateError(err error) (col int, msg string, ok bool) {
	var te *vuser.TemplateError
	if !errors.As(err, &te) {
		return 0, "", false
	}
	msg = te.Msg
	if te.Hint != "" {
		msg += " (" + te.Hint + ")"
	}
	return te.Col, msg, true
}

// position maps a 1-based column of scalar n's value (in characters) to
// a line and column of the plan, when the scalar's source can be followed;
// otherwise it returns n's own position.
func (d *decoder) position(n *yaml.Node, col int) (int, int) {
	line, start := n.Line, n.Column
	value := []rune(n.Value)
	if col < 1 || col > len(value)+1 || line < 1 || line > len(d.lines) {
		return line, start
	}
	offset := col - 1 // characters into the value
	src := []rune(d.lines[line-1])
	if start < 1 || start > len(src) {
		return line, start
	}
	switch n.Style {
	case 0:
		if !strings.Contains(n.Value, "\n") && strings.HasPrefix(string(src[start-1:]), n.Value) {
			return line, start + offset
		}
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		if c, ok := quotedColumn(src, start, offset, n.Style == yaml.DoubleQuotedStyle); ok {
			return line, c
		}
	case yaml.LiteralStyle:
		// A literal block keeps its lines: value line k is source line
		// line+1+k, indented by the block's indentation.
		before := string(value[:offset])
		k := strings.Count(before, "\n")
		inLine := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
		if line+1+k <= len(d.lines) {
			text := d.lines[line+k]
			indent := len(text) - len(strings.TrimLeft(text, " "))
			return line + 1 + k, indent + 1 + inLine
		}
	}
	return line, start
}

// quotedColumn walks a quoted scalar's source from its opening quote at
// column start to the column of the value's rune offset; escapes take more
// source than value. It fails when the scalar spans lines.
func quotedColumn(src []rune, start, offset int, double bool) (int, bool) {
	i := start // index of the first rune after the opening quote
	for v := 0; v < offset; v++ {
		if i >= len(src) {
			return 0, false
		}
		switch {
		case double && src[i] == '\\' && i+1 < len(src):
			switch src[i+1] {
			case 'x':
				i += 4
			case 'u':
				i += 6
			case 'U':
				i += 10
			default:
				i += 2
			}
		case !double && src[i] == '\'' && i+1 < len(src) && src[i+1] == '\'':
			i += 2
		default:
			i++
		}
	}
	return i + 1, true
}
