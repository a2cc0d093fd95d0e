package vuser

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	Sources   map[string][]string // {{.Data.NAME.COLUMN}}: the row taken from each data source this iteration
}

// Template is a parsed string with {{...}} placeholders: {{.VU}},
// {{.User}}, {{.Password}}, {{.Iteration}} and {{.Var.NAME}}, with optional
// blanks inside the braces ({{ .Var.id }}). Everything else is literal text.
//
// In a run of opening braces the placeholder starts at the last two, so
// "{{{.VU}}}" renders as "{1}" (a placeholder inside a JSON object).
// There is no escape for a literal "{{".
//
// A Template is immutable after parsing and safe for concurrent use.
type Template struct {
	raw   string
	parts []part
	json  bool     // substituted strings are escaped as JSON string content
	vars  []string // the names of {{.Var.x}}, deduplicated, in order
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
)

// part is a literal text or a placeholder. Parsing once into parts keeps
// rendering a plain loop of appends, with no scanning per request.
type part struct {
	kind partKind
	s    string // the literal text (partText) or the var name (partVar)
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

// ParseTemplate parses s.
func ParseTemplate(s string) (*Template, error) { return parse(s, false) }

// ParseJSONTemplate parses s, a JSON text; values substituted into it are
// escaped as JSON string content (quotes, backslashes, control characters,
// invalid UTF-8), as its placeholders sit inside JSON string literals.
// {{.VU}} and {{.Iteration}} render as plain digits, so they may also stand
// as JSON numbers. The JSON text itself is not validated.
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
		if p.kind == partVar && !slices.Contains(t.vars, p.s) {
			t.vars = append(t.vars, p.s)
		}
		i = open + 2 + end + 2
		lit = i
	}
	if lit < len(s) {
		t.parts = append(t.parts, part{kind: partText, s: s[lit:]})
	}
	return t, nil
}

// placeholder parses what is between "{{" and "}}". The returned error
// lacks its column, which the caller knows.
func placeholder(inner string) (part, *TemplateError) {
	name := strings.TrimSpace(inner)
	switch name {
	case ".VU":
		return part{kind: partVU}, nil
	case ".User":
		return part{kind: partUser}, nil
	case ".Password":
		return part{kind: partPassword}, nil
	case ".Iteration":
		return part{kind: partIteration}, nil
	case "":
		return part{}, &TemplateError{Msg: "empty placeholder " + show(inner), Hint: expectedPlaceholders}
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
	return part{}, &TemplateError{Msg: "unknown placeholder " + show(inner), Hint: suggest(name)}
}

// suggest guesses what an unknown placeholder meant: names are
// case-sensitive and start with a dot, which is easy to get wrong.
func suggest(name string) string {
	bare := strings.TrimPrefix(name, ".")
	for _, known := range []string{"VU", "User", "Password", "Iteration"} {
		if strings.EqualFold(bare, known) {
			return "did you mean ." + known + "?"
		}
	}
	if len(bare) > 4 && strings.EqualFold(bare[:4], "var.") {
		return "did you mean .Var." + bare[4:] + "?"
	}
	return expectedPlaceholders
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
// what growing dst takes. An unset var renders as empty (see Missing).
// A nil d renders as zero Data.
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

// Vars lists the variable names the template refers to with {{.Var.x}},
// without duplicates, in order of first use.
func (t *Template) Vars() []string {
	if t == nil {
		return nil
	}
	return slices.Clone(t.vars)
}

// Missing lists the variables the template refers to that d does not set
// (a var set to "" is set). They render as empty; the VU reports them.
// It allocates only when some are missing.
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
