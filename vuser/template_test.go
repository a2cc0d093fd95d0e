package vuser

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func testData() *Data {
	return &Data{
		VU:        42,
		User:      "user42",
		Password:  "s3cret",
		Iteration: 7,
		Vars:      map[string]string{"id": "1001", "csrf": "tok-en", "empty": "", "my_var-2": "x"},
	}
}

func TestTemplateRender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		want   string
		static bool
	}{
		// No placeholder at all: the source back.
		{"literal", "/api/catalog", "/api/catalog", true},
		// The empty template.
		{"empty", "", "", true},
		// Each placeholder on its own.
		{"vu", "{{.VU}}", "42", false},
		{"user", "{{.User}}", "user42", false},
		{"password", "{{.Password}}", "s3cret", false},
		{"iteration", "{{.Iteration}}", "7", false},
		{"var", "{{.Var.id}}", "1001", false},
		// Var names take digits, '_' and '-'.
		{"var charset", "{{.Var.my_var-2}}", "x", false},
		// Blanks inside the braces are allowed.
		{"blanks", "{{ .Var.id }}/{{\t.VU\t}}", "1001/42", false},
		// Literal text around and between placeholders.
		{"mixed", "/users/{{.User}}/orders/{{.Var.id}}?it={{.Iteration}}", "/users/user42/orders/1001?it=7", false},
		// A var set to "" renders empty.
		{"empty var", "a{{.Var.empty}}b", "ab", false},
		// An unset var renders empty, like k6.
		{"unset var", "a{{.Var.nope}}b", "ab", false},
		// Lone braces are literal.
		{"lone braces", "{ } }} {x}", "{ } }} {x}", true},
		// In a run of opening braces the placeholder takes the last two.
		{"brace run", `{"a":{{{.VU}}}}`, `{"a":{42}}`, false},
		// Adjacent placeholders.
		{"adjacent", "{{.VU}}{{.VU}}", "4242", false},
		// Non-ASCII literal text is kept as is.
		{"unicode", "héllo {{.User}} ✓", "héllo user42 ✓", false},
		// Placeholder values are not escaped in plain mode.
		{"no escaping", "{{.Var.csrf}}", "tok-en", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := ParseTemplate(tt.in)
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", tt.in, err)
			}
			if got := tmpl.Render(testData()); got != tt.want {
				t.Errorf("Render = %q, want %q", got, tt.want)
			}
			if got := string(tmpl.Append([]byte("pre:"), testData())); got != "pre:"+tt.want {
				t.Errorf("Append = %q, want %q", got, "pre:"+tt.want)
			}
			if got := tmpl.Static(); got != tt.static {
				t.Errorf("Static = %v, want %v", got, tt.static)
			}
			if tmpl.Raw() != tt.in {
				t.Errorf("Raw = %q, want %q", tmpl.Raw(), tt.in)
			}
		})
	}
}

func TestTemplateNilData(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseTemplate("{{.VU}}-{{.User}}-{{.Var.x}}")
	if err != nil {
		t.Fatal(err)
	}
	if got := tmpl.Render(nil); got != "0--" {
		t.Errorf("Render(nil) = %q, want %q", got, "0--")
	}
	var nilTmpl *Template
	if got := nilTmpl.Render(testData()); got != "" || !nilTmpl.Static() {
		t.Errorf("nil template renders %q, static %v", got, nilTmpl.Static())
	}
}

func TestJSONTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		vars map[string]string
		want string
	}{
		// A plain value is copied.
		{"plain", `{"u":"{{.Var.v}}"}`, map[string]string{"v": "abc"}, `{"u":"abc"}`},
		// Quotes and backslashes are escaped.
		{"quote backslash", `{"u":"{{.Var.v}}"}`, map[string]string{"v": `a"b\c`}, `{"u":"a\"b\\c"}`},
		// Common control characters get their short escapes.
		{"short escapes", `"{{.Var.v}}"`, map[string]string{"v": "\n\r\t\b\f"}, `"\n\r\t\b\f"`},
		// Other control characters get \u00XX.
		{"control", `"{{.Var.v}}"`, map[string]string{"v": "\x00\x01\x1f"}, `"\u0000\u0001\u001f"`},
		// Non-ASCII UTF-8 is kept as is.
		{"unicode", `"{{.Var.v}}"`, map[string]string{"v": "é✓😀"}, `"é✓😀"`},
		// Invalid UTF-8 becomes U+FFFD, so the body stays valid JSON.
		{"invalid utf8", `"{{.Var.v}}"`, map[string]string{"v": "a\xffb"}, `"a\ufffdb"`},
		// The literal JSON text is never escaped.
		{"literal untouched", `{"a":"x\"y","n":{{.VU}}}`, nil, `{"a":"x\"y","n":42}`},
		// Numbers are plain digits, usable as JSON numbers.
		{"numbers", `{"vu":{{.VU}},"it":{{.Iteration}}}`, nil, `{"vu":42,"it":7}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := ParseJSONTemplate(tt.in)
			if err != nil {
				t.Fatalf("ParseJSONTemplate(%q): %v", tt.in, err)
			}
			d := testData()
			d.Vars = tt.vars
			if got := tmpl.Render(d); got != tt.want {
				t.Errorf("Render = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestJSONTemplateCredentials(t *testing.T) {
	t.Parallel()
	// User and password are escaped too: a password may hold anything.
	tmpl, err := ParseJSONTemplate(`{"username":"{{.User}}","password":"{{.Password}}"}`)
	if err != nil {
		t.Fatal(err)
	}
	d := &Data{User: `a"b`, Password: "p\\w\n\"d\x7f"}
	var got struct{ Username, Password string }
	if err := json.Unmarshal([]byte(tmpl.Render(d)), &got); err != nil {
		t.Fatalf("rendered body is not JSON: %v", err)
	}
	if got.Username != d.User || got.Password != d.Password {
		t.Errorf("round trip = %+v, want %q %q", got, d.User, d.Password)
	}
}

func TestTemplateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		col  int
		msg  string // the whole Error()
	}{
		// An opening pair with no closing pair.
		{"unclosed", "/path/{{.VU", 7, `unclosed "{{" at column 7`},
		// Closing braces after another opening pair do not close the first.
		{"unclosed before next", "{{.VU {{.User}}", 1, `unclosed "{{" at column 1`},
		// A single closing brace is not enough.
		{"half closed", "{{.VU}", 1, `unclosed "{{" at column 1`},
		// A field that is not one of ours.
		{"unknown", "ab{{.Foo}}", 3, `unknown placeholder {{.Foo}} at column 3 (expected .VU, .User, .Password, .Iteration or .Var.NAME)`},
		// Names are case-sensitive, with a suggestion.
		{"wrong case", "{{.vu}}", 1, `unknown placeholder {{.vu}} at column 1 (did you mean .VU?)`},
		// The leading dot is required, with a suggestion.
		{"no dot", "x{{User}}", 2, `unknown placeholder {{User}} at column 2 (did you mean .User?)`},
		// A misspelled .Var gets the right spelling back.
		{"var case", "{{.var.id}}", 1, `unknown placeholder {{.var.id}} at column 1 (did you mean .Var.id?)`},
		// Nothing between the braces.
		{"empty", "a{{ }}", 2, `empty placeholder {{ }} at column 2 (expected .VU, .User, .Password, .Iteration or .Var.NAME)`},
		// .Var without a name.
		{"var no name", "{{.Var}}", 1, `empty var name in {{.Var}} at column 1 (expected .Var.NAME)`},
		// .Var. with an empty name.
		{"var empty name", "{{.Var.}}", 1, `empty var name in {{.Var.}} at column 1 (expected .Var.NAME)`},
		// A var name with a dot in it.
		{"var dotted", "{{.Var.a.b}}", 1, `invalid var name "a.b" in {{.Var.a.b}} at column 1 (a var name is made of letters, digits, _ and -)`},
		// A var name with a blank in it.
		{"var blank", "{{.Var.a b}}", 1, `invalid var name "a b" in {{.Var.a b}} at column 1 (a var name is made of letters, digits, _ and -)`},
		// .Variable is not .Var.
		{"var prefix", "{{.Variable}}", 1, `unknown placeholder {{.Variable}} at column 1 (expected .VU, .User, .Password, .Iteration or .Var.NAME)`},
		// Columns count characters, not bytes.
		{"unicode column", "é✓{{.X}}", 3, `unknown placeholder {{.X}} at column 3 (expected .VU, .User, .Password, .Iteration or .Var.NAME)`},
		// The second placeholder is the bad one.
		{"second", "{{.VU}}/{{.Nope}}", 9, `unknown placeholder {{.Nope}} at column 9 (expected .VU, .User, .Password, .Iteration or .Var.NAME)`},
		// Control characters in the placeholder are quoted.
		{"control quoted", "{{.V\nU}}", 1, `unknown placeholder "{{.V\nU}}" at column 1 (expected .VU, .User, .Password, .Iteration or .Var.NAME)`},
		// A long placeholder is cut short.
		{"long", "{{." + strings.Repeat("x", 50) + "}}", 1, `unknown placeholder {{.` + strings.Repeat("x", 39) + `...}} at column 1 (expected .VU, .User, .Password, .Iteration or .Var.NAME)`},
		{"long function", "{{" + strings.Repeat("x", 50) + "}}", 1, `unknown function {{` + strings.Repeat("x", 40) + `...}} at column 1 (expected one of the functions randInt, randItem, uuid, unix, unixMs, urlencode, or a placeholder like .VU)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, parse := range []func(string) (*Template, error){ParseTemplate, ParseJSONTemplate} {
				_, err := parse(tt.in)
				var te *TemplateError
				if !errors.As(err, &te) {
					t.Fatalf("parse(%q) error = %v, want a *TemplateError", tt.in, err)
				}
				if te.Col != tt.col {
					t.Errorf("Col = %d, want %d", te.Col, tt.col)
				}
				if err.Error() != tt.msg {
					t.Errorf("error = %s\n             want %s", err, tt.msg)
				}
			}
		})
	}
}

func TestTemplateVarsMissing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		vars    map[string]string
		want    []string // Vars()
		missing []string // Missing()
	}{
		// No vars at all.
		{"none", "/a/{{.VU}}", nil, nil, nil},
		// Duplicates are listed once, in order of first use.
		{"dedup", "{{.Var.b}}{{.Var.a}}{{.Var.b}}", map[string]string{"a": "1"}, []string{"b", "a"}, []string{"b"}},
		// A var set to "" is not missing.
		{"set empty", "{{.Var.a}}", map[string]string{"a": ""}, []string{"a"}, nil},
		// A nil map misses everything.
		{"nil map", "{{.Var.a}}{{.Var.b}}", nil, []string{"a", "b"}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := ParseTemplate(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := tmpl.Vars(); !slices.Equal(got, tt.want) {
				t.Errorf("Vars = %q, want %q", got, tt.want)
			}
			if got := tmpl.Missing(&Data{Vars: tt.vars}); !slices.Equal(got, tt.missing) {
				t.Errorf("Missing = %q, want %q", got, tt.missing)
			}
		})
	}
}

func TestTemplateAppendAllocs(t *testing.T) {
	tmpl, err := ParseJSONTemplate(`{"u":"{{.User}}","p":"{{.Password}}","id":"{{.Var.id}}","vu":{{.VU}},"it":{{.Iteration}},"x":"{{.Var.nope}}"}`)
	if err != nil {
		t.Fatal(err)
	}
	d := testData()
	d.User = "quote\"d\n"
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = tmpl.Append(buf[:0], d) }); n != 0 {
		t.Errorf("Append allocates %v times, want 0", n)
	}
}

func BenchmarkTemplateAppend(b *testing.B) {
	tmpl, err := ParseTemplate("/api/users/{{.User}}/orders/{{.Var.id}}?vu={{.VU}}&it={{.Iteration}}")
	if err != nil {
		b.Fatal(err)
	}
	d := testData()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = tmpl.Append(buf[:0], d)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkJSONTemplateAppend(b *testing.B) {
	tmpl, err := ParseJSONTemplate(`{"username":"{{.User}}","password":"{{.Password}}","note":"{{.Var.csrf}}"}`)
	if err != nil {
		b.Fatal(err)
	}
	d := testData()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = tmpl.Append(buf[:0], d)
	}
	b.SetBytes(int64(len(buf)))
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{
		"", "/plain", "{{.VU}}", "{{ .Var.x }}", "a{{.User}}b{{.Password}}c{{.Iteration}}",
		"{{", "}}", "{{}}", "{{{.VU}}}", "{{.Var.}}", "{{.Foo}}", `{"a":"{{.Var.a-b_1}}"}`,
		"é{{.VU", "{{.VU {{.User}}", "{{.Var.a\x00}}",
		"{{randInt 0 5}}", "{{randItem .Var.l}}", "{{uuid}}", `{{urlencode "a b"}}`, "{{urlencode .Data.s.c}}", "{{.Row.x}}", `{{urlencode "}}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, jsonMode bool) {
		parse := ParseTemplate
		if jsonMode {
			parse = ParseJSONTemplate
		}
		tmpl, err := parse(s)
		if err != nil {
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a *TemplateError", err)
			}
			if te.Col < 1 || te.Col > utf8.RuneCountInString(s)+1 || te.Msg == "" {
				t.Fatalf("bad error %+v for %q", te, s)
			}
			return
		}
		if !strings.Contains(s, "{{") && !tmpl.Static() {
			t.Fatalf("%q has no placeholder but is not static", s)
		}
		if tmpl.Raw() != s {
			t.Fatalf("Raw = %q, want %q", tmpl.Raw(), s)
		}
		d := testData()
		d.Rand = rand.New(rand.NewPCG(1, 1))
		got := tmpl.Render(d)
		d.Rand = rand.New(rand.NewPCG(1, 1)) // the same draws again
		// The clock may tick between the two: {{unix}} and {{unixMs}} aside.
		if again := string(tmpl.Append(nil, d)); again != got && !strings.Contains(s, "unix") {
			t.Fatalf("Append and Render differ for %q: %q and %q", s, again, got)
		}
		if tmpl.Static() && got != s {
			t.Fatalf("static %q renders as %q", s, got)
		}
		for _, v := range tmpl.Vars() {
			if !ValidVarName(v) {
				t.Fatalf("invalid var name %q from %q", v, s)
			}
		}
		tmpl.Missing(d)
	})
}
