package vuser

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Data is what a template can refer to.
type Data struct {
	VU        int                 // {{.VU}}: global VU id, from 1
	User      string              // {{.User}}: the VU's username
	Password  string              // {{.Password}}: the VU's password (secret)
	Iteration int64               // {{.Iteration}}: the VU's iteration, from 0
	Vars      map[string]string   // {{.Var.name}}: extracted variables
	Lists     map[string][]string // list variables (extract all, JSON arrays): foreach, {{randItem .Var.name}}
	Row       map[string]string   // {{.Row.COLUMN}}: the extra columns of the VU's users CSV row
	Sources   map[string]DataRow  // {{.Data.NAME.COLUMN}}: the row taken from each data source this iteration
	// Rand is the VU's seeded generator, for {{randInt}}, {{randItem}} and
	// {{uuid}}; nil draws from a randomly seeded one (not reproducible).
	Rand *rand.Rand

	src dataState // which sources the VU draws from, and whether one ran out (data.go)
}

// DataRow is the row a VU took from a data source: Values[i] is the
// value of column Columns[i]. Both are shared with the source: read only.
type DataRow struct {
	Columns []string
	Values  []string
}

// Get returns the value of column col, and whether the row has it.
func (r DataRow) Get(col string) (string, bool) {
	for i, c := range r.Columns {
		if c == col && i < len(r.Values) {
			return r.Values[i], true
		}
	}
	return "", false
}

// Template is a parsed string with {{...}} placeholders: {{.VU}},
// {{.User}}, {{.Password}}, {{.Iteration}}, {{.Var.NAME}}, {{.Row.COLUMN}}
// (the users CSV's extra columns) and {{.Data.NAME.COLUMN}} (the row taken
// from a data source), with optional blanks inside the braces
// ({{ .Var.id }}), and functions:
//
//	{{randInt 0 5}}        a random integer in [0, 5], from the VU's seeded generator
//	{{randItem .Var.ids}}  a random element of a list variable
//	{{uuid}}               a random (version 4) UUID, from the VU's generator
//	{{unix}} {{unixMs}}    the current Unix time in seconds, in milliseconds
//	{{urlencode .Var.q}}   a value (or a "quoted text") escaped for a URL query
//
// Everything else is literal text.
//
// In a run of opening braces the placeholder starts at the last two, so
// "{{{.VU}}}" renders as "{1}" (a placeholder inside a JSON object).
// There is no escape for a literal "{{".
//
// A Template is immutable after parsing and safe for concurrent use.
type Template struct {
	raw   string
	parts []part
	json  bool      // substituted strings are escaped as JSON string content
	vars  []string  // the names of {{.Var.x}}, deduplicated, in order
	lists []string  // the list variables of {{randItem .Var.x}}, likewise
	refs  []DataRef // every {{.Data.NAME.COLUMN}} and {{.Row.COLUMN}}, in order
}

// DataRef is one {{.Data.NAME.COLUMN}} or {{.Row.COLUMN}} of a template.
type DataRef struct {
	// Source names the data source; "" for {{.Row.COLUMN}} (the users CSV).
	Source string
	// Column is the column's name.
	Column string
	// Col is the 1-based column, in characters, of the "{{" that holds it.
	Col int
}

// partKind says what a part of a template renders.
type partKind uint8

const (
	partText partKind = iota
	partVU
	partUser
	partPassword
	partIteration
	partVar
	partRow       // s: the column
	partData      // s: the source, x.col: the column
	partRandInt   // x.lo, x.hi
	partRandItem  // s: the list variable
	partUUID      //
	partUnix      //
	partUnixMs    //
	partURLEncode // x.arg: the value escaped
)

// part is a literal text or a placeholder. Parsing once into parts keeps
// rendering a plain loop of appends, with no scanning per request.
type part struct {
	kind partKind
	s    string // the literal text (partText), the var name (partVar), ...
	x    *call  // what a data placeholder or a function needs beyond s
}

// call is the rest of a data placeholder or a function's arguments.
type call struct {
	col    string // partData
	lo, hi int64  // partRandInt
	arg    part   // partURLEncode: a value placeholder or a text
}

// TemplateError is a template that does not parse. Col lets the plan
// loader turn the position into one in its file.
type TemplateError struct {
	// Col is the 1-based column, in characters, of the "{{" at fault.
	Col int
	// Msg says what is wrong, without the position.
	Msg string
	// Hint, when set, says what was expected.
	Hint string
}

// Error reads like `unknown placeholder {{.Foo}} at column 3 (expected ...)`.
func (e *TemplateError) Error() string {
	s := e.Msg + " at column " + strconv.Itoa(e.Col)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// expectedPlaceholders is the hint for a placeholder that is not one.
const expectedPlaceholders = "expected .VU, .User, .Password, .Iteration or .Var.NAME"

// functions are the template functions, in the order messages list them.
var functions = []string{"randInt", "randItem", "uuid", "unix", "unixMs", "urlencode"}

// ParseTemplate parses s.
func ParseTemplate(s string) (*Template, error) { return parse(s, false) }

// ParseJSONTemplate parses s, a JSON text; values substituted into it are
// escaped as JSON string content (quotes, backslashes, control characters,
// invalid UTF-8), as its placeholders sit inside JSON string literals.
// {{.VU}}, {{.Iteration}}, {{randInt}}, {{unix}} and {{unixMs}} render as
// plain digits, so they may also stand as JSON numbers. The JSON text
// itself is not validated.
func ParseJSONTemplate(s string) (*Template, error) { return parse(s, true) }

func parse(s string, json bool) (*Template, error) {
	t := &Template{raw: s, json: json}
	lit := 0 // start of the literal text not yet in t.parts
	for i := 0; ; {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			break
		}
		open := i + j
		for open+2 < len(s) && s[open+2] == '{' {
			open++
		}
		body := s[open+2:]
		end := strings.Index(body, "}}")
		if end < 0 || strings.Contains(body[:end], "{{") {
			return nil, &TemplateError{Col: column(s, open), Msg: `unclosed "{{"`}
		}
		p, err := placeholder(body[:end])
		if err != nil {
			err.Col = column(s, open)
			return nil, err
		}
		if open > lit {
			t.parts = append(t.parts, part{kind: partText, s: s[lit:open]})
		}
		t.parts = append(t.parts, p)
		t.note(p, column(s, open))
		i = open + 2 + end + 2
		lit = i
	}
	if lit < len(s) {
		t.parts = append(t.parts, part{kind: partText, s: s[lit:]})
	}
	return t, nil
}

// note records the variables and data p refers to; col is its column.
func (t *Template) note(p part, col int) {
	switch p.kind {
	case partVar:
		if !slices.Contains(t.vars, p.s) {
			t.vars = append(t.vars, p.s)
		}
	case partRandItem:
		if !slices.Contains(t.lists, p.s) {
			t.lists = append(t.lists, p.s)
		}
	case partRow:
		t.refs = append(t.refs, DataRef{Column: p.s, Col: col})
	case partData:
		t.refs = append(t.refs, DataRef{Source: p.s, Column: p.x.col, Col: col})
	case partURLEncode:
		t.note(p.x.arg, col)
	}
}

// placeholder parses what is between "{{" and "}}". The returned error
// lacks its column, which the caller knows.
func placeholder(inner string) (part, *TemplateError) {
	name := strings.TrimSpace(inner)
	switch {
	case name == "":
		return part{}, &TemplateError{Msg: "empty placeholder " + show(inner), Hint: expectedPlaceholders}
	case name[0] == '.':
		return field(name, inner)
	}
	return function(name, inner)
}

// field parses a placeholder that names a value: .VU, .Var.x, .Data.s.c...
func field(name, inner string) (part, *TemplateError) {
	switch name {
	case ".VU":
		return part{kind: partVU}, nil
	case ".User":
		return part{kind: partUser}, nil
	case ".Password":
		return part{kind: partPassword}, nil
	case ".Iteration":
		return part{kind: partIteration}, nil
	}
	if v, ok := strings.CutPrefix(name, ".Var"); ok && (v == "" || v[0] == '.') {
		v = strings.TrimPrefix(v, ".")
		switch {
		case v == "":
			return part{}, &TemplateError{Msg: "empty var name in " + show(inner), Hint: "expected .Var.NAME"}
		case !ValidVarName(v):
			return part{}, &TemplateError{
				Msg:  fmt.Sprintf("invalid var name %q in %s", v, show(inner)),
				Hint: "a var name is made of letters, digits, _ and -",
			}
		}
		return part{kind: partVar, s: v}, nil
	}
	if c, ok := strings.CutPrefix(name, ".Row"); ok && (c == "" || c[0] == '.') {
		c = strings.TrimPrefix(c, ".")
		switch {
		case c == "":
			return part{}, &TemplateError{Msg: "no column in " + show(inner), Hint: "expected .Row.COLUMN, a column of the users CSV"}
		case !ValidVarName(c):
			return part{}, &TemplateError{
				Msg:  fmt.Sprintf("invalid column name %q in %s", c, show(inner)),
				Hint: "expected .Row.COLUMN; a column name is made of letters, digits, _ and -",
			}
		}
		return part{kind: partRow, s: c}, nil
	}
	if rest, ok := strings.CutPrefix(name, ".Data"); ok && (rest == "" || rest[0] == '.') {
		src, col, _ := strings.Cut(strings.TrimPrefix(rest, "."), ".")
		switch {
		case src == "" || col == "":
			return part{}, &TemplateError{Msg: "no source and column in " + show(inner), Hint: "expected .Data.NAME.COLUMN"}
		case !ValidVarName(src) || !ValidVarName(col):
			return part{}, &TemplateError{
				Msg:  fmt.Sprintf("invalid data reference %q in %s", strings.TrimPrefix(rest, "."), show(inner)),
				Hint: "expected .Data.NAME.COLUMN; names are made of letters, digits, _ and -",
			}
		}
		return part{kind: partData, s: src, x: &call{col: col}}, nil
	}
	return part{}, &TemplateError{Msg: "unknown placeholder " + show(inner), Hint: suggest(name)}
}

// function parses a function call: its name, then its arguments.
func function(name, inner string) (part, *TemplateError) {
	args, quoteErr := splitArgs(name)
	fn := args[0]
	args = args[1:]
	if len(args) == 0 && fieldSuggestion(name) != "" {
		// {{User}}: a field without its dot, not a function.
		return part{}, &TemplateError{Msg: "unknown placeholder " + show(inner), Hint: fieldSuggestion(name)}
	}
	if !isIdent(fn) {
		return part{}, &TemplateError{Msg: "unknown placeholder " + show(inner), Hint: expectedPlaceholders}
	}
	if quoteErr != "" && slices.Contains(functions, fn) {
		return part{}, &TemplateError{Msg: fmt.Sprintf("%s: %s in %s", fn, quoteErr, show(inner))}
	}
	bad := func(format string, a ...any) (part, *TemplateError) {
		return part{}, &TemplateError{Msg: fmt.Sprintf(format, a...) + " in " + show(inner)}
	}
	switch fn {
	case "randInt":
		if len(args) != 2 {
			return bad("randInt expects two integers (randInt MIN MAX), got %s", count(len(args)))
		}
		var n [2]int64
		for i, a := range args {
			v, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return bad("randInt expects two integers, got %q", a)
			}
			n[i] = v
		}
		if n[0] > n[1] {
			return bad("randInt %d %d: the minimum is above the maximum", n[0], n[1])
		}
		return part{kind: partRandInt, x: &call{lo: n[0], hi: n[1]}}, nil
	case "randItem":
		if len(args) != 1 {
			return bad("randItem expects one list variable (randItem .Var.NAME), got %s", count(len(args)))
		}
		v, ok := strings.CutPrefix(args[0], ".Var.")
		if !ok || !ValidVarName(v) {
			return bad("randItem expects a list variable like .Var.items, got %q", args[0])
		}
		return part{kind: partRandItem, s: v}, nil
	case "uuid", "unix", "unixMs":
		if len(args) != 0 {
			return bad("%s takes no arguments, got %s", fn, count(len(args)))
		}
		k := partUUID
		switch fn {
		case "unix":
			k = partUnix
		case "unixMs":
			k = partUnixMs
		}
		return part{kind: k}, nil
	case "urlencode":
		if len(args) != 1 {
			return bad("urlencode expects one value like .Var.q or \"text\", got %s", count(len(args)))
		}
		var arg part
		switch a := args[0]; {
		case a[0] == '"':
			arg = part{kind: partText, s: a[1:]} // splitArgs left the unquoted text after the quote
		case a[0] == '.':
			p, err := field(a, a)
			if err != nil {
				return part{}, &TemplateError{Msg: "urlencode: " + err.Msg, Hint: err.Hint}
			}
			arg = p
		default:
			return bad("urlencode expects a value like .Var.q or \"text\", got %q", a)
		}
		return part{kind: partURLEncode, x: &call{arg: arg}}, nil
	}
	return part{}, &TemplateError{Msg: "unknown function " + show(inner), Hint: suggestFunction(fn)}
}

// splitArgs splits a call at blanks; a double-quoted Go string is one
// argument, returned unquoted after its opening quote ("text -> "text).
// A quote that does not parse is described in bad, the rest split as is.
func splitArgs(s string) (args []string, bad string) {
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimLeftFunc(s, unicode.IsSpace) {
		if s[0] == '"' {
			q, err := strconv.QuotedPrefix(s)
			if err == nil {
				u, _ := strconv.Unquote(q)
				args = append(args, `"`+u)
				s = s[len(q):]
				continue
			}
			bad = "unterminated or invalid quoted text " + strconv.Quote(s)
		}
		i := strings.IndexFunc(s, unicode.IsSpace)
		if i < 0 {
			i = len(s)
		}
		args = append(args, s[:i])
		s = s[i:]
	}
	return args, bad
}

// count says "1 argument", "3 arguments", "none".
func count(n int) string {
	switch n {
	case 0:
		return "none"
	case 1:
		return "1 argument"
	}
	return strconv.Itoa(n) + " arguments"
}

// isIdent reports whether s is a function name: a letter, then letters
// and digits.
func isIdent(s string) bool {
	for i, c := range s {
		if !unicode.IsLetter(c) && (i == 0 || !unicode.IsDigit(c)) {
			return false
		}
	}
	return s != ""
}

// suggest guesses what an unknown placeholder meant: names are
// case-sensitive and start with a dot, which is easy to get wrong.
func suggest(name string) string {
	if s := fieldSuggestion(name); s != "" {
		return s
	}
	return expectedPlaceholders
}

// fieldSuggestion is "did you mean .X?" for a field written with the
// wrong case or without its dot, else "".
func fieldSuggestion(name string) string {
	bare := strings.TrimPrefix(name, ".")
	for _, known := range []string{"VU", "User", "Password", "Iteration"} {
		if strings.EqualFold(bare, known) {
			return "did you mean ." + known + "?"
		}
	}
	for _, prefix := range []string{"Var.", "Row.", "Data."} {
		if len(bare) > len(prefix) && strings.EqualFold(bare[:len(prefix)], prefix) {
			return "did you mean ." + prefix + bare[len(prefix):] + "?"
		}
	}
	// .Vars.x, .Dat.s.c, .Rows.c: a typo of a dotted placeholder's first name.
	if first, rest, ok := strings.Cut(bare, "."); ok && rest != "" {
		for _, known := range []string{"Var", "Row", "Data"} {
			if editDistance(strings.ToLower(first), strings.ToLower(known)) == 1 {
				return "did you mean ." + known + "." + rest + "?"
			}
		}
	}
	return ""
}

// suggestFunction names the function fn is likely a typo of.
func suggestFunction(fn string) string {
	best, bestDist := "", 3
	for _, f := range functions {
		if strings.EqualFold(f, fn) {
			return "did you mean " + f + "?"
		}
		if d := editDistance(strings.ToLower(fn), strings.ToLower(f)); d < bestDist && d < len(f) {
			best, bestDist = f, d
		}
	}
	if best != "" {
		return "did you mean " + best + "?"
	}
	return "expected one of the functions " + strings.Join(functions, ", ") + ", or a placeholder like .VU"
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// show quotes a placeholder for an error message, cut short so a runaway
// placeholder does not fill the screen.
func show(inner string) string {
	const max = 40
	if utf8.RuneCountInString(inner) > max {
		r := []rune(inner)
		inner = string(r[:max]) + "..."
	}
	s := "{{" + inner + "}}"
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == utf8.RuneError }) {
		return strconv.Quote(s)
	}
	return s
}

// column is the 1-based column, in characters, of byte offset i of s.
func column(s string, i int) int { return utf8.RuneCountInString(s[:i]) + 1 }

// ValidVarName reports whether name can name a VU variable: non-empty,
// made of ASCII letters, digits, '_' and '-'.
func ValidVarName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Append appends the rendered template to dst. It allocates nothing but
// what growing dst takes. An unset var, column or list renders as empty
// (see Missing). A nil d renders as zero Data.
func (t *Template) Append(dst []byte, d *Data) []byte {
	if t == nil {
		return dst
	}
	var zero Data
	if d == nil {
		d = &zero
	}
	for i := range t.parts {
		p := &t.parts[i]
		switch p.kind {
		case partText:
			dst = append(dst, p.s...)
		case partVU:
			dst = strconv.AppendInt(dst, int64(d.VU), 10)
		case partIteration:
			dst = strconv.AppendInt(dst, d.Iteration, 10)
		case partUser:
			dst = t.appendValue(dst, d.User)
		case partPassword:
			dst = t.appendValue(dst, d.Password)
		case partVar:
			dst = t.appendValue(dst, d.Vars[p.s])
		default:
			dst = t.appendCall(dst, p, d)
		}
	}
	return dst
}

// appendCall renders the data placeholders and the functions, kept out
// of Append's loop so the common placeholders stay a short switch.
func (t *Template) appendCall(dst []byte, p *part, d *Data) []byte {
	switch p.kind {
	case partRow, partData:
		return t.appendValue(dst, value(p, d))
	case partRandInt:
		lo, hi := p.x.lo, p.x.hi
		span := uint64(hi-lo) + 1 // 0: the whole int64 range
		if span == 0 {
			return strconv.AppendInt(dst, int64(draw(d.Rand)), 10)
		}
		return strconv.AppendInt(dst, lo+int64(drawN(d.Rand, span)), 10)
	case partRandItem:
		if l := d.Lists[p.s]; len(l) > 0 {
			return t.appendValue(dst, l[drawN(d.Rand, uint64(len(l)))])
		}
	case partUUID:
		return appendUUID(dst, draw(d.Rand), draw(d.Rand))
	case partUnix:
		return strconv.AppendInt(dst, time.Now().Unix(), 10)
	case partUnixMs:
		return strconv.AppendInt(dst, time.Now().UnixMilli(), 10)
	case partURLEncode:
		switch a := &p.x.arg; a.kind {
		case partVU:
			return strconv.AppendInt(dst, int64(d.VU), 10)
		case partIteration:
			return strconv.AppendInt(dst, d.Iteration, 10)
		default:
			// Escaped text is letters, digits, %XX, + and -_.~: nothing
			// a JSON string needs escaped.
			return appendQueryEscape(dst, value(a, d))
		}
	}
	return dst
}

// value is the text of a value placeholder (.User, .Var.x, .Row.c,
// .Data.s.c, or a literal text) for d.
func value(p *part, d *Data) string {
	switch p.kind {
	case partText:
		return p.s
	case partUser:
		return d.User
	case partPassword:
		return d.Password
	case partVar:
		return d.Vars[p.s]
	case partRow:
		return d.Row[p.s]
	case partData:
		v, _ := d.Sources[p.s].Get(p.x.col)
		return v
	}
	return ""
}

// draw is a random uint64 from r, or from the global generator if r is nil.
func draw(r *rand.Rand) uint64 {
	if r == nil {
		return rand.Uint64()
	}
	return r.Uint64()
}

// drawN is a random integer in [0, n) from r (nil: the global generator).
func drawN(r *rand.Rand, n uint64) uint64 {
	if r == nil {
		return rand.Uint64N(n)
	}
	return r.Uint64N(n)
}

// appendUUID appends the version 4 UUID made of the random bits hi, lo
// (RFC 9562: version 4, variant 10) in its 8-4-4-4-12 hex form.
func appendUUID(dst []byte, hi, lo uint64) []byte {
	const hex = "0123456789abcdef"
	hi = hi&^(0xf<<12) | 0x4<<12 // version, bits 48-51
	lo = lo&^(0x3<<62) | 0x2<<62 // variant
	var b [16]byte
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[c>>4], hex[c&0xf])
	}
	return dst
}

// appendQueryEscape appends s escaped as url.QueryEscape does (a blank
// as +), without allocating.
func appendQueryEscape(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return dst
}

func (t *Template) appendValue(dst []byte, v string) []byte {
	if t.json {
		return appendJSONString(dst, v)
	}
	return append(dst, v...)
}

// Render returns the rendered template. A static template returns its
// source without allocating.
func (t *Template) Render(d *Data) string {
	if t.Static() {
		return t.Raw()
	}
	var buf [256]byte // most paths and bodies fit: one allocation, the string
	return string(t.Append(buf[:0], d))
}

// Static reports whether the template has no placeholders, so that it
// always renders as Raw and callers can render it once.
func (t *Template) Static() bool {
	return t == nil || len(t.parts) == 0 || len(t.parts) == 1 && t.parts[0].kind == partText
}

// Raw is the template's source text.
func (t *Template) Raw() string {
	if t == nil {
		return ""
	}
	return t.raw
}

// Vars lists the variable names the template refers to, with {{.Var.x}}
// or as the list of {{randItem .Var.x}}, without duplicates, in order of
// first use (scalars first).
func (t *Template) Vars() []string {
	if t == nil {
		return nil
	}
	out := slices.Clone(t.vars)
	for _, l := range t.lists {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// DataRefs lists the template's {{.Data.NAME.COLUMN}} and {{.Row.COLUMN}},
// in order, each with its column, so a plan loader can check them
// against the sources and the users CSV.
func (t *Template) DataRefs() []DataRef {
	if t == nil {
		return nil
	}
	return slices.Clone(t.refs)
}

// Missing lists the variables the template refers to that d does not set
// (a var set to "" is set; a list variable must be in d.Lists). They
// render as empty; the VU reports them. It allocates only when some are
// missing.
func (t *Template) Missing(d *Data) []string {
	if t == nil {
		return nil
	}
	var out []string
	for _, name := range t.vars {
		if d == nil {
			out = append(out, name)
			continue
		}
		if _, ok := d.Vars[name]; !ok {
			out = append(out, name)
		}
	}
	for _, name := range t.lists {
		if d == nil || d.Lists[name] == nil {
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// appendJSONString appends s escaped as the content of a JSON string:
// quotes, backslashes and control characters escaped, invalid UTF-8
// replaced by U+FFFD (as encoding/json does), so the body stays valid JSON
// whatever an extracted value holds.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0 // start of the run of bytes copied as they are
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
