package profiles

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The yaml library reports a syntax error in its own words at the line
// where the enclosing structure began, often lines above the mistake (a
// misindented get: is reported at scenario:). When it fails, the plan's
// lines are read again by a small checker that knows the mistakes people
// make in block YAML; it names the first one it finds at its own line and
// column, with what was expected and an example. What it does not
// recognise falls back to the library's message, translated.

// yamlLine picks the line out of the yaml library's syntax errors.
var yamlLine = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// yamlAnchor picks the name out of the library's unknown-anchor error,
// which carries no line.
var yamlAnchor = regexp.MustCompile(`unknown anchor '([^']*)' referenced`)

// syntax records a YAML syntax error as one problem.
func (d *decoder) syntax(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if m := yamlAnchor.FindStringSubmatch(msg); m != nil {
		if l, c, ok := findAlias(d.lines, m[1]); ok {
			d.at(l, c, "", "*%s refers to an anchor &%s that is not defined above it: expected &%s on an earlier value, or the text quoted, e.g. \"*%s\"", m[1], m[1], m[1], m[1])
			return
		}
	}
	if s, ok := diagnose(d.lines); ok {
		d.at(s.line, s.col, "", "%s", s.msg)
		return
	}
	d.at(max(line, 1), 1, "", "%s", translate(msg))
}

// yamlWords are the yaml library's messages (a part of each) in plan words.
var yamlWords = []struct{ lib, plan string }{
	{"did not find expected key",
		"this line does not continue the mapping above it: expected key: value at the indentation of its keys"},
	{"did not find expected '-' indicator",
		"this line does not continue the list above it: expected a new item \"- \" at the list's indentation"},
	{"mapping values are not allowed",
		"a \": \" where a value goes: expected the key on its own line, or the value quoted, e.g. name: \"a: b\""},
	{"could not find expected ':'",
		"a key without its ':': expected key: value, e.g. get: /"},
	{"tab character",
		"a tab in the indentation: expected spaces (YAML indents with spaces only)"},
	{"cannot start any token",
		"a value starts with a character YAML reserves (@ ` % !): expected it quoted, e.g. name: \"@home\""},
	{"unexpected end of stream",
		"the file ends inside a quoted string or a [ ] or { } list: expected its closing quote or bracket"},
	{"did not find expected ',' or ']'",
		"a [ list is not closed: expected ',' between its items and ']' at its end, e.g. [a, b]"},
	{"did not find expected ',' or '}'",
		"a { mapping is not closed: expected ',' between its entries and '}' at its end, e.g. {vus: 1, duration: 1s}"},
}

// translate puts the yaml library's messages into plan words.
func translate(msg string) string {
	for _, w := range yamlWords {
		if strings.Contains(msg, w.lib) {
			return w.plan
		}
	}
	return "YAML syntax: " + msg
}

// findAlias finds *name outside quotes.
func findAlias(lines []string, name string) (int, int, bool) {
	re := regexp.MustCompile(`(^|[\s\[{,:-])\*` + regexp.QuoteMeta(name) + `($|[\s\]},])`)
	for i, l := range lines {
		if loc := re.FindStringIndex(stripComment(l)); loc != nil {
			at := loc[0] + strings.IndexByte(l[loc[0]:], '*')
			return i + 1, column(l, at), true
		}
	}
	return 0, 0, false
}

// column is the 1-based character column of byte offset i of line.
func column(line string, i int) int { return utf8.RuneCountInString(line[:i]) + 1 }

// finding is a mistake the checker found.
type finding struct {
	line, col int
	msg       string
}

// frame is one open block of the plan: a mapping's keys or a list's
// items, at the indentation (0-based) they are written at.
type frame struct {
	indent int
	seq    bool
	line   int    // where the block's first key or item is
	key    string // a mapping's first key, to name it in messages
	// valued: the mapping's last key had its value on its own line, so a
	// deeper line is a continuation, not a child.
	valued  bool
	valLine int
	valKey  string
	// indentless: a list written at its key's indentation (key:\n- a).
	indentless bool
}

// checker walks block YAML line by line. It is used only once the parser
// has failed, so a doubt is resolved toward "a mistake here".
type checker struct {
	lines   []string
	stack   []frame
	pending bool // the last line opened a block (key: or a bare -)
	// block is the indentation above which lines belong to a block
	// scalar (| or >); -1 when none is open.
	block int
}

// diagnose finds the first mistake in the plan's lines.
func diagnose(lines []string) (finding, bool) {
	c := &checker{lines: lines, block: -1}
	for i := 0; i < len(lines); i++ {
		next, f, ok := c.line(i)
		if ok {
			return f, true
		}
		i = next
	}
	return finding{}, false
}

// line checks line i (0-based) and returns the index of the last line it
// consumed (a flow collection may span lines).
func (c *checker) line(i int) (int, finding, bool) {
	raw := strings.TrimRight(c.lines[i], "\r")
	trimmed := strings.TrimLeft(raw, " ")
	indent := len(raw) - len(trimmed)
	if c.block >= 0 {
		if strings.TrimSpace(raw) == "" || indent > c.block {
			return i, finding{}, false
		}
		c.block = -1
	}
	if strings.TrimSpace(raw) == "" || strings.HasPrefix(strings.TrimLeft(raw, " \t"), "#") {
		return i, finding{}, false
	}
	if strings.HasPrefix(trimmed, "---") || strings.HasPrefix(trimmed, "...") || strings.HasPrefix(trimmed, "%") && indent == 0 {
		return i, finding{}, false // document markers and directives
	}
	if strings.HasPrefix(trimmed, "\t") {
		lead := raw[:len(raw)-len(strings.TrimLeft(raw, " \t"))]
		t := strings.IndexByte(lead, '\t')
		want := strings.Repeat(" ", c.expectedIndent())
		return i, c.at(i, t, "a tab in the indentation: expected spaces (YAML indents with spaces only), e.g. %q",
			want+strings.TrimLeft(raw, " \t")), true
	}
	// Sequence indicators: each "- " opens (or continues) a list.
	col := indent
	rest := trimmed
	first := true
	for rest == "-" || strings.HasPrefix(rest, "- ") {
		if f, ok := c.place(i, col, true, first); ok {
			return i, f, true
		}
		first = false
		after := strings.TrimLeft(rest[1:], " ")
		col += len(rest) - len(after)
		rest = after
		if rest == "" || strings.HasPrefix(rest, "#") {
			c.pending = true
			return i, finding{}, false
		}
	}
	if m := dashWord.FindString(rest); m != "" && first {
		return i, c.at(i, col, "a list item needs a space after '-': expected %q", strings.Repeat(" ", col)+"- "+rest[1:]), true
	}
	key, value, vcol, isKey := splitKey(rest)
	if !isKey {
		return c.scalarLine(i, col, rest, first)
	}
	if f, ok := c.place(i, col, false, first); ok {
		return i, f, true
	}
	vcol += col
	return c.value(i, col, key, value, vcol)
}

// dashWord is "-name: ..." where "- name: ..." was meant.
var dashWord = regexp.MustCompile(`^-[A-Za-z_][\w.-]*:(\s|$)`)

// at makes a finding at 0-based line i and byte offset b of that line.
func (c *checker) at(i, b int, format string, args ...any) finding {
	l := strings.TrimRight(c.lines[i], "\r")
	return finding{line: i + 1, col: column(l, min(b, len(l))), msg: fmt.Sprintf(format, args...)}
}

// expectedIndent is where a line most likely belongs: with the keys of
// the innermost open block, or under it when the last line opened one.
func (c *checker) expectedIndent() int {
	if len(c.stack) == 0 {
		return 0
	}
	in := c.stack[len(c.stack)-1].indent
	if c.pending {
		in += 2
	}
	return in
}

// place checks that a key (seq false) or a list item (seq true) at
// indentation col fits the open blocks, and opens or closes blocks.
// first is false for the second "-" of "- - x" and for a key after "- ".
func (c *checker) place(i, col int, seq, first bool) (finding, bool) {
	if !first {
		// Right after "- " on the same line: a new block inside the item.
		c.stack = append(c.stack, frame{indent: col, seq: seq, line: i + 1, key: c.keyOf(i, col)})
		c.pending = false
		return finding{}, false
	}
	// popped is the innermost closed block of the line's kind (or any):
	// a misindented line most likely meant to continue it.
	var popped *frame
	for len(c.stack) > 0 && c.stack[len(c.stack)-1].indent > col {
		f := c.stack[len(c.stack)-1]
		if popped == nil || popped.seq != seq && f.seq == seq {
			popped = &f
		}
		c.stack = c.stack[:len(c.stack)-1]
	}
	if popped != nil && c.pending {
		c.pending = false // an empty value: the key: had no children
	}
	what := "key"
	if seq {
		what = "list item"
	}
	if len(c.stack) == 0 {
		if popped != nil {
			return c.misplaced(i, col, what, popped), true
		}
		c.stack = append(c.stack, frame{indent: col, seq: seq, line: i + 1, key: c.keyOf(i, col)})
		c.pending = false
		return finding{}, false
	}
	top := &c.stack[len(c.stack)-1]
	switch {
	case top.indent == col && top.seq == seq:
		if !seq {
			top.valued = false
		}
	case top.indent == col && !top.seq && seq:
		if !c.pending {
			return c.at(i, col, "a list item among the keys of the mapping that starts with %s (line %d): expected key: value here, or the list under a key that ends with ':'", top.key, top.line), true
		}
		c.stack = append(c.stack, frame{indent: col, seq: true, line: i + 1, indentless: true})
	case top.indent == col && top.seq && !seq:
		if top.indentless {
			c.stack = c.stack[:len(c.stack)-1]
			c.stack[len(c.stack)-1].valued = false
			break
		}
		return c.at(i, col, "a key at the indentation of the list that starts on line %d: expected \"- \" to start a new item (%q), or the key indented to column %d to continue the item above",
			top.line, strings.Repeat(" ", col)+"- "+c.content(i), col+3), true
	case c.pending:
		c.stack = append(c.stack, frame{indent: col, seq: seq, line: i + 1, key: c.keyOf(i, col)})
	case popped != nil:
		return c.misplaced(i, col, what, popped), true
	case !top.seq && top.valued:
		if seq {
			return c.at(i, col, "a list under %s, which already has a value on line %d: expected nothing after %q to put the list under it", top.valKey, top.valLine, top.valKey+":"), true
		}
		return c.at(i, col, "this key is indented deeper than %s, which already has its value on line %d: expected it with the keys of its mapping, %q", top.valKey, top.valLine, strings.Repeat(" ", top.indent)+c.content(i)), true
	default:
		return c.misplaced(i, col, what, top), true
	}
	c.pending = false
	return finding{}, false
}

// misplaced reports a line whose indentation matches no open block;
// near is the block it most likely belongs to.
func (c *checker) misplaced(i, col int, what string, near *frame) finding {
	kind := fmt.Sprintf("the keys of the mapping that starts with %s (line %d)", near.key, near.line)
	if near.seq {
		kind = fmt.Sprintf("the items of the list that starts on line %d", near.line)
	}
	spaces := "spaces"
	if col == 1 {
		spaces = "space"
	}
	return c.at(i, col, "this %s is indented %d %s, but %s are indented %d: expected %q",
		what, col, spaces, kind, near.indent, strings.Repeat(" ", near.indent)+c.content(i))
}

// content is line i without its indentation.
func (c *checker) content(i int) string {
	return strings.TrimLeft(strings.TrimRight(c.lines[i], "\r"), " \t")
}

// keyOf is the key written at byte col of line i, or the item text.
func (c *checker) keyOf(i, col int) string {
	l := strings.TrimRight(c.lines[i], "\r")
	if col >= len(l) {
		return ""
	}
	if k, _, _, ok := splitKey(l[col:]); ok {
		return k
	}
	return strings.TrimSpace(stripComment(l[col:]))
}

// splitKey splits "key: value" (value may be empty); vcol is the byte
// offset of the value. A quoted key is taken whole.
func splitKey(s string) (key, value string, vcol int, ok bool) {
	i := 0
	if s != "" && (s[0] == '"' || s[0] == '\'') {
		end := closeQuote(s, 0)
		if end < 0 {
			return "", "", 0, false
		}
		i = end + 1
		j := i
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j < len(s) && s[j] == ':' && (j+1 == len(s) || s[j+1] == ' ') {
			v := strings.TrimLeft(s[j+1:], " ")
			return s[1:end], v, len(s) - len(v), true
		}
		return "", "", 0, false
	}
	if s != "" && strings.ContainsRune("[{", rune(s[0])) {
		return "", "", 0, false
	}
	for ; i < len(s); i++ {
		switch {
		case s[i] == '#' && i > 0 && s[i-1] == ' ':
			return "", "", 0, false
		case s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t'):
			v := strings.TrimLeft(s[i+1:], " \t")
			return strings.TrimRight(s[:i], " "), v, len(s) - len(v), true
		}
	}
	return "", "", 0, false
}

// closeQuote is the index of the quote closing the one at s[open], or -1.
func closeQuote(s string, open int) int {
	q := s[open]
	for j := open + 1; j < len(s); j++ {
		switch {
		case q == '"' && s[j] == '\\':
			j++
		case s[j] == q && q == '\'' && j+1 < len(s) && s[j+1] == '\'':
			j++
		case s[j] == q:
			return j
		}
	}
	return -1
}

// stripComment cuts a " #" comment that is outside quotes.
func stripComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		switch {
		case q != 0:
			if s[i] == q {
				q = 0
			} else if q == '"' && s[i] == '\\' {
				i++
			}
		case (s[i] == '"' || s[i] == '\'') && (i == 0 || strings.IndexByte(" [{,:", s[i-1]) >= 0):
			q = s[i]
		case s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return strings.TrimRight(s[:i], " \t")
		}
	}
	return s
}

// scalarLine checks a line holding no key: a list item's scalar, a
// continuation of a plain value, or a key that lost its colon or space.
func (c *checker) scalarLine(i, col int, rest string, first bool) (int, finding, bool) {
	text := stripComment(rest)
	if !first && c.nextIndent(i) != col {
		return c.value(i, col-2, "", rest, col) // "- item"
	}
	if len(c.stack) > 0 {
		top := c.stack[len(c.stack)-1]
		if !top.seq && top.valued && col > top.indent && !strings.Contains(text, ": ") {
			return i, finding{}, false // a plain value continued on this line
		}
	}
	if m := noSpace.FindStringSubmatchIndex(text); m != nil {
		k, v := text[m[2]:m[3]], text[m[4]:m[5]]
		return i, c.at(i, col+m[3]+1, "missing space after ':' in %q: expected %q (a key needs \": \" before its value)", text, k+": "+v), true
	}
	if m := noColon.FindStringSubmatch(text); m != nil {
		return i, c.at(i, col+len(m[1]), "missing ':' after %s: expected %q", m[1], m[1]+": "+m[2]), true
	}
	if !first {
		return c.value(i, col-2, "", rest, col)
	}
	if f, ok := c.place(i, col, false, true); ok {
		return i, f, true
	}
	return c.value(i, col, "", rest, col)
}

// nextIndent is the indentation of the next line with content, or -1.
func (c *checker) nextIndent(i int) int {
	for j := i + 1; j < len(c.lines); j++ {
		l := strings.TrimRight(c.lines[j], "\r")
		if t := strings.TrimLeft(l, " "); t != "" && !strings.HasPrefix(t, "#") {
			return len(l) - len(t)
		}
	}
	return -1
}

var (
	// noSpace is key:value, a key that lost the space after its colon.
	noSpace = regexp.MustCompile(`^([A-Za-z_][\w-]*):(\S.*)$`)
	// noColon is "key value", a key that lost its colon.
	noColon = regexp.MustCompile(`^([A-Za-z_][\w-]*)\s+(\S.*)$`)
)

// value checks the value of key (or a list item when key is "") that
// starts at byte vcol of line i; kcol is where the key starts.
func (c *checker) value(i, kcol int, key, value string, vcol int) (int, finding, bool) {
	v := stripComment(value)
	// An anchor (&name) or a tag (!!str) comes before the value itself.
	for v != "" && (v[0] == '&' || v[0] == '!') {
		sp := strings.IndexByte(v, ' ')
		if sp < 0 {
			v = ""
			break
		}
		rest := strings.TrimLeft(v[sp:], " ")
		vcol += len(v) - len(rest)
		v = rest
	}
	top := &c.stack[len(c.stack)-1]
	valued := func() {
		if key != "" && !top.seq {
			top.valued = true
			top.valLine = i + 1
			top.valKey = key
		}
	}
	switch {
	case v == "":
		c.pending = key != "" || value != "" // a block follows a key, or an anchored item
		return i, finding{}, false
	case v[0] == '*':
		// An alias: its node was checked where it was defined.
	case v[0] == '|' || v[0] == '>':
		c.block = kcol
		return i, finding{}, false
	case v[0] == '[' || v[0] == '{':
		return c.flow(i, vcol, kcol)
	case v[0] == '"' || v[0] == '\'':
		end := closeQuote(v, 0)
		if end < 0 {
			if c.closedLater(i, kcol, v[0]) {
				valued()
				return i, finding{}, false // a quoted value over several lines
			}
			return i, c.at(i, vcol, "the %s opened here is never closed: expected a closing %s at the end of the value, e.g. %s", quoteName(v[0]), string(v[0]), example(key, string(v[0])+"home"+string(v[0]))), true
		}
		if after := strings.TrimSpace(v[end+1:]); after != "" {
			return i, c.at(i, vcol+end+1+strings.Index(v[end+1:], after), "text after the closing quote: expected the whole value inside the quotes, e.g. %s", example(key, string(v[0])+v[1:end]+" "+after+string(v[0]))), true
		}
	case strings.ContainsRune("@`", rune(v[0])):
		return i, c.at(i, vcol, "a value cannot start with %s unquoted (YAML reserves it): expected it quoted, e.g. %s", string(v[0]), example(key, strconv.Quote(v))), true
	case strings.Contains(v, ": ") || strings.HasSuffix(v, ":"):
		at := strings.Index(v, ": ")
		if at < 0 {
			at = len(v) - 1
		}
		return i, c.at(i, vcol+at, "a second ': ' in one line: expected the value quoted, e.g. %s, or the key on its own line", example(key, strconv.Quote(v))), true
	}
	valued()
	return i, finding{}, false
}

// example is key: v, or v alone for a list item.
func example(key, v string) string {
	if key == "" {
		return v
	}
	return key + ": " + v
}

func quoteName(q byte) string {
	if q == '"' {
		return "double quote"
	}
	return "single quote"
}

// closedLater reports whether quote q, opened on line i in the value of
// a key at indentation kcol, is closed on a later line: a quoted value may
// go on over lines indented deeper than its key, no further.
func (c *checker) closedLater(i, kcol int, q byte) bool {
	for j := i + 1; j < len(c.lines); j++ {
		l := strings.TrimRight(c.lines[j], "\r")
		if t := strings.TrimLeft(l, " "); t != "" && len(l)-len(t) <= kcol {
			return false
		}
		if strings.IndexByte(l, q) >= 0 {
			return true
		}
	}
	return false
}

// flow checks a [ ] or { } collection that starts at byte col of line i
// and may span lines; kcol is the indentation of its key. It returns the
// last line the collection takes.
func (c *checker) flow(i, col, kcol int) (int, finding, bool) {
	type open struct {
		ch        byte
		line, col int
		afterKey  bool // inside { }: this entry has had its ':'
	}
	var stack []open
	for j := i; j < len(c.lines); j++ {
		l := strings.TrimRight(c.lines[j], "\r")
		start := 0
		if j == i {
			start = col
		} else {
			t := strings.TrimLeft(l, " ")
			ind := len(l) - len(t)
			if _, _, _, isKey := splitKey(t); isKey && ind <= kcol && t != "" && t[0] != '[' && t[0] != '{' {
				o := stack[len(stack)-1]
				msg := fmt.Sprintf("the %s opened here is never closed: expected %s before line %d", string(o.ch), string(closer(o.ch)), j+1)
				if stack[0].line == j-1 {
					var close []byte
					for s := len(stack) - 1; s >= 0; s-- {
						close = append(close, closer(stack[s].ch))
					}
					msg += fmt.Sprintf(", e.g. %q", strings.TrimSpace(stripComment(strings.TrimRight(c.lines[j-1], "\r")))+string(close))
				}
				return j, c.at(o.line, o.col, "%s", msg), true
			}
		}
		word := -1 // start of the current plain scalar on this line
		for k := start; k < len(l); k++ {
			ch := l[k]
			switch {
			case ch == ' ' || ch == '\t':
				continue
			case ch == '#' && (k == 0 || l[k-1] == ' '):
				k = len(l)
				continue
			case ch == '"' || ch == '\'':
				end := closeQuote(l, k)
				if end < 0 {
					word := l[k+1:]
					if e := strings.IndexAny(word, ",]}"); e >= 0 {
						word = word[:e]
					}
					return j, c.at(j, k, "the %s opened here is never closed: expected a closing %s on this line, e.g. %s", quoteName(ch), string(ch), string(ch)+strings.TrimSpace(word)+string(ch)), true
				}
				k = end
				continue
			case ch == '[' || ch == '{':
				stack = append(stack, open{ch: ch, line: j, col: k})
				word = -1
				continue
			case ch == ']' || ch == '}':
				if len(stack) == 0 {
					return j, c.at(j, k, "a %s with no %s before it: expected it removed", string(ch), string(opener(ch))), true
				}
				o := stack[len(stack)-1]
				if closer(o.ch) != ch {
					return j, c.at(j, k, "%s closes the %s opened at %d:%d: expected %s first", string(ch), string(o.ch), o.line+1, column(c.lines[o.line], o.col), string(closer(o.ch))), true
				}
				stack = stack[:len(stack)-1]
				word = -1
				if len(stack) == 0 {
					if after := strings.TrimSpace(stripComment(l[k+1:])); after != "" {
						return j, c.at(j, k+1+strings.Index(l[k+1:], after), "text after the closing %s: expected nothing more on this line", string(ch)), true
					}
					c.pending = false
					return j, finding{}, false
				}
				continue
			case ch == ',':
				if len(stack) > 0 {
					stack[len(stack)-1].afterKey = false
				}
				word = -1
				continue
			case ch == ':' && (k+1 == len(l) || strings.IndexByte(" ,]}", l[k+1]) >= 0):
				if o := &stack[len(stack)-1]; o.ch == '{' {
					if o.afterKey && word >= 0 {
						prev := strings.TrimRight(l[:word], " ")
						return j, c.at(j, word, "missing ',' between the entries of { }: expected %q", prev+", "+l[word:]), true
					}
					o.afterKey = true
				}
				word = -1
				continue
			}
			if word < 0 || l[k-1] == ' ' {
				word = k
			}
		}
	}
	o := stack[len(stack)-1]
	return len(c.lines) - 1, c.at(o.line, o.col, "the %s opened here is never closed: expected %s at its end", string(o.ch), string(closer(o.ch))), true
}

func closer(ch byte) byte {
	if ch == '[' {
		return ']'
	}
	return '}'
}

func opener(ch byte) byte {
	if ch == ']' {
		return '['
	}
	return '{'
}
