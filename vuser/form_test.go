package vuser

import (
	"html"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFormValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		field string
		want  string
		found bool
	}{
		// Spring Security's login page.
		{"spring", `<form method="post" action="/login"><input type="hidden" name="_csrf" value="abc-123"/></form>`, "_csrf", "abc-123", true},
		// Attributes in another order.
		{"reordered", `<input value="v1" type="hidden" name="_csrf">`, "_csrf", "v1", true},
		// Single quotes.
		{"single quotes", `<input name='_csrf' value='v2'>`, "_csrf", "v2", true},
		// Unquoted values.
		{"unquoted", `<input name=_csrf value=v3>`, "_csrf", "v3", true},
		// Unquoted values before a self-closing slash.
		{"unquoted self-closing", `<input name=_csrf value=v4 />`, "_csrf", "v4", true},
		// Entities in the value are decoded.
		{"entities", `<input name="t" value="a&amp;b&#61;&quot;c&quot;&lt;">`, "t", `a&b="c"<`, true},
		// Entities in the name are decoded too.
		{"entity name", `<input name="&#95;csrf" value="v5">`, "_csrf", "v5", true},
		// Upper-case tag and attribute names.
		{"uppercase", `<FORM><INPUT TYPE="HIDDEN" NAME="_csrf" VALUE="V6"></FORM>`, "_csrf", "V6", true},
		// The value's case is kept and the name is matched exactly.
		{"name case-sensitive", `<input name="_CSRF" value="no"><input name="_csrf" value="yes">`, "_csrf", "yes", true},
		// Several forms: the first input with the name wins.
		{"several forms", `<form><input name="q" value="first"></form><form><input name="q" value="second"></form>`, "q", "first", true},
		// Other inputs before the one wanted.
		{"other inputs", `<input name="username"><input name="password" type="password"><input name="_csrf" value="v7">`, "_csrf", "v7", true},
		// An input without a value submits "".
		{"no value", `<input type="hidden" name="_csrf">`, "_csrf", "", true},
		// Spring's meta-tag style, when there is no input.
		{"meta", `<head><meta name="_csrf" content="m1"/><meta name="_csrf_header" content="X-CSRF-TOKEN"/></head>`, "_csrf", "m1", true},
		// The meta header name is found by its own name.
		{"meta header", `<meta name="_csrf" content="m1"/><meta name="_csrf_header" content="X-CSRF-TOKEN"/>`, "_csrf_header", "X-CSRF-TOKEN", true},
		// An input wins over a meta tag, even one before it.
		{"input over meta", `<meta name="_csrf" content="meta"><input name="_csrf" value="input">`, "_csrf", "input", true},
		// A value attribute on a meta tag is not its content.
		{"meta value attr", `<meta name="_csrf" value="x">`, "_csrf", "", true},
		// An input inside a comment does not count.
		{"comment", `<!-- <input name="_csrf" value="old"> --><input name="_csrf" value="new">`, "_csrf", "new", true},
		// Nor does one inside a script.
		{"script", `<script>var s = '<input name="_csrf" value="js">';</script><input name="_csrf" value="real">`, "_csrf", "real", true},
		// A textarea or select of that name is not an input.
		{"textarea", `<textarea name="_csrf">t</textarea>`, "_csrf", "", false},
		// Repeated attributes: the first wins, as in browsers.
		{"repeated attr", `<input name="_csrf" value="first" value="second">`, "_csrf", "first", true},
		// Newlines and blanks between attributes.
		{"blanks", "<input\n\ttype = \"hidden\"\n\tname = \"_csrf\"\n\tvalue = \"v8\" >", "_csrf", "v8", true},
		// Not there at all.
		{"absent", `<html><body><p>hello</p></body></html>`, "_csrf", "", false},
		// An empty body.
		{"empty body", ``, "_csrf", "", false},
		// A body cut in the middle of the tag.
		{"truncated", `<input name="_csrf" val`, "_csrf", "", false},
		// A body cut after a complete tag.
		{"truncated after", `<input name="_csrf" value="v9"><inp`, "_csrf", "v9", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, found := FormValue([]byte(tt.body), tt.field)
			if got != tt.want || found != tt.found {
				t.Errorf("FormValue(%q) = %q, %v; want %q, %v", tt.field, got, found, tt.want, tt.found)
			}
		})
	}
}

func FuzzFormValue(f *testing.F) {
	f.Add([]byte(`<form><input type="hidden" name="_csrf" value="abc"/></form>`), "_csrf", "v")
	f.Add([]byte(`<meta name="_csrf" content="m">`), "_csrf", "a&b")
	f.Add([]byte(`<INPUT NAME=x VALUE='y'>`), "x", `"quoted"`)
	f.Add([]byte(`<input name="a`), "a", "")
	f.Add([]byte(`<!-- <input name="a" value="b"`), "a", "<&>")
	f.Fuzz(func(t *testing.T, body []byte, name, value string) {
		FormValue(body, name) // never panics

		// A value written the way a server writes it comes back. The
		// tokenizer normalises CR and NUL as HTML says, so those are left out.
		if !utf8.ValidString(name+value) || strings.ContainsAny(name+value, "\r\x00") {
			return
		}
		page := `<html><body><form><input type="text" name="other" value="x">` +
			`<input type="hidden" name="` + html.EscapeString(name) + `" value="` + html.EscapeString(value) + `"/>` +
			`</form></body></html>`
		if name == "other" {
			return
		}
		got, ok := FormValue([]byte(page), name)
		if !ok || got != value {
			t.Fatalf("FormValue(%q) on %q = %q, %v; want %q", name, page, got, ok, value)
		}
	})
}

func BenchmarkFormValue(b *testing.B) {
	// A login page of realistic size, the token near the end.
	body := []byte(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Please sign in</title>` +
		strings.Repeat(`<link href="/css/x.css" rel="stylesheet"><script src="/js/x.js"></script>`, 10) +
		`</head><body><div class="container"><form class="form-signin" method="post" action="/login">` +
		`<h2 class="form-signin-heading">Please sign in</h2>` +
		`<p><label for="username" class="sr-only">Username</label><input type="text" id="username" name="username" class="form-control" placeholder="Username" required autofocus></p>` +
		`<p><label for="password" class="sr-only">Password</label><input type="password" id="password" name="password" class="form-control" placeholder="Password" required></p>` +
		`<input name="_csrf" type="hidden" value="9c1c3a7e-4b5f-4a8e-9d2b-0f3e6a1b2c3d" />` +
		`<button class="btn btn-lg btn-primary btn-block" type="submit">Sign in</button></form></div></body></html>`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, ok := FormValue(body, "_csrf"); !ok {
			b.Fatal("not found")
		}
	}
}
