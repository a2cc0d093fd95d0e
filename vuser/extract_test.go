package vuser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/stats"
)

func TestNewExtractorErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		varName string
		kind    ExtractKind
		expr    string
		want    string // a substring of the error
	}{
		// A var needs a name.
		{"empty var", "", ExtractForm, "_csrf", `extract var "": expected a name made of letters, digits, _ and -`},
		// Only letters, digits, '_' and '-'.
		{"bad var", "a.b", ExtractForm, "_csrf", `extract var "a.b": expected a name`},
		// An unknown kind lists the known ones.
		{"unknown kind", "x", "xml", "/a", `extract x: kind "xml": expected form, regex, json, header or cookie`},
		// Kinds are lower-case.
		{"kind case", "x", "JSON", "$.a", `kind "JSON": expected form`},
		// Every kind needs an expression.
		{"empty form", "x", ExtractForm, "", `extract x: empty form expression: expected an input name`},
		{"empty regex", "x", ExtractRegex, "", `empty regex expression: expected a regular expression`},
		{"empty json", "x", ExtractJSON, "", `empty json expression: expected a JSON path`},
		{"empty header", "x", ExtractHeader, "", `empty header expression: expected a header name`},
		{"empty cookie", "x", ExtractCookie, "", `empty cookie expression: expected a cookie name`},
		// A regex that does not compile says why.
		{"bad regex", "x", ExtractRegex, `id=(\d+`, "extract x: error parsing regexp: missing closing ): `id=(\\d+`"},
		// Perl lookarounds are not RE2.
		{"lookahead", "x", ExtractRegex, `id(?=\d)`, "extract x: error parsing regexp: invalid or unsupported Perl syntax"},
		// At most one capturing group.
		{"two groups", "x", ExtractRegex, `(a)(b)`, `regex "(a)(b)" has 2 capturing groups, expected at most 1`},
		// A "$" path must go on with a member or an index.
		{"json dollar dot", "x", ExtractJSON, "$.", `JSON path "$.": expected $.key`},
		{"json dollar key", "x", ExtractJSON, "$id", `JSON path "$id": expected $.key`},
		// Recursive descent is not supported.
		{"json descent", "x", ExtractJSON, "$..id", `JSON path "$..id": expected $.key`},
		// Brackets hold an index, * or a quoted key.
		{"json bad index", "x", ExtractJSON, "$.items[-1].id", `JSON path "$.items[-1].id": [-1] at character 8: expected [n], [*] or ['key']`},
		// An unclosed bracket.
		{"json unclosed", "x", ExtractJSON, "$.items[0", `JSON path "$.items[0": unclosed "[" at character 8`},
		// An empty member between brackets.
		{"json empty member", "x", ExtractJSON, "$.a[0].[1]", `empty member name`},
		// A header name is an HTTP token.
		{"bad header", "x", ExtractHeader, "X Token", `extract x: header name "X Token": expected an HTTP token`},
		// So is a cookie name.
		{"bad cookie", "x", ExtractCookie, "a;b", `extract x: cookie name "a;b": expected an HTTP token`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewExtractor(tt.varName, tt.kind, tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewExtractor(%q, %q, %q) error = %v, want it to contain %q", tt.varName, tt.kind, tt.expr, err, tt.want)
			}
		})
	}
}

func TestGJSONPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"$.id", "id"},                                 // a member
		{"$.items.0.id", "items.0.id"},                 // gjson-style index after $.
		{"$.items[0].id", "items.0.id"},                // JSONPath index
		{"$[2]", "2"},                                  // an index of the root array
		{"$.a[0][1]", "a.0.1"},                         // nested arrays
		{"$.items[*].id", "items.#.id"},                // every element
		{"$['a.b'].c", `a\.b.c`},                       // a quoted member with a dot
		{`$["x*"]`, `x\*`},                             // wildcards in a quoted member are literal
		{"$", "@this"},                                 // the whole document
		{"items.#(id==2).name", "items.#(id==2).name"}, // gjson syntax as is
		{"token", "token"},                             // plain gjson
	}
	for _, tt := range tests {
		got, err := gjsonPath(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("gjsonPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestExtract(t *testing.T) {
	t.Parallel()
	const doc = `{"id":17,"name":"Widget \"Pro\"","ok":true,"none":null,"price":9.50,
		"user":{"login":"user2","roles":["a","b"]},
		"items":[{"id":"i-1"},{"id":"i-2"}],"a.b":"dotted","empty":""}`
	html := `<html><form><input name="_csrf" value="tok&amp;1"></form></html>`
	u, _ := url.Parse("http://shop.test/app/cart")
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(u, []*http.Cookie{{Name: "JSESSIONID", Value: "ABC123", Path: "/app"}})
	tests := []struct {
		name  string
		kind  ExtractKind
		expr  string
		resp  *Response
		want  string
		found bool
	}{
		// form: a hidden input.
		{"form", ExtractForm, "_csrf", &Response{Body: []byte(html)}, "tok&1", true},
		// form: not there.
		{"form absent", ExtractForm, "other", &Response{Body: []byte(html)}, "", false},
		// regex: the first group.
		{"regex group", ExtractRegex, `orderId=(\d+)`, &Response{Body: []byte("x orderId=42 orderId=43")}, "42", true},
		// regex: the whole match without a group.
		{"regex whole", ExtractRegex, `\d+`, &Response{Body: []byte("abc 123 456")}, "123", true},
		// regex: non-capturing groups do not count.
		{"regex noncapturing", ExtractRegex, `(?:id|key)=(\w+)`, &Response{Body: []byte("key=k1")}, "k1", true},
		// regex: an optional group that took no part is not found.
		{"regex optional", ExtractRegex, `a(b)?`, &Response{Body: []byte("ac")}, "", false},
		// regex: an empty group is found, empty.
		{"regex empty group", ExtractRegex, `a(b*)c`, &Response{Body: []byte("ac")}, "", true},
		// regex: no match.
		{"regex none", ExtractRegex, `zzz`, &Response{Body: []byte("abc")}, "", false},
		// json: a number as its JSON text.
		{"json number", ExtractJSON, "$.id", &Response{Body: []byte(doc)}, "17", true},
		// json: a decimal keeps its text.
		{"json decimal", ExtractJSON, "$.price", &Response{Body: []byte(doc)}, "9.50", true},
		// json: a string unescaped.
		{"json string", ExtractJSON, "$.name", &Response{Body: []byte(doc)}, `Widget "Pro"`, true},
		// json: a bool.
		{"json bool", ExtractJSON, "$.ok", &Response{Body: []byte(doc)}, "true", true},
		// json: null exists.
		{"json null", ExtractJSON, "$.none", &Response{Body: []byte(doc)}, "null", true},
		// json: an empty string exists.
		{"json empty", ExtractJSON, "$.empty", &Response{Body: []byte(doc)}, "", true},
		// json: a nested member.
		{"json nested", ExtractJSON, "$.user.login", &Response{Body: []byte(doc)}, "user2", true},
		// json: an object as its JSON text.
		{"json object", ExtractJSON, "$.items[1]", &Response{Body: []byte(doc)}, `{"id":"i-2"}`, true},
		// json: JSONPath index.
		{"json index", ExtractJSON, "$.items[0].id", &Response{Body: []byte(doc)}, "i-1", true},
		// json: gjson index after $.
		{"json dot index", ExtractJSON, "$.items.1.id", &Response{Body: []byte(doc)}, "i-2", true},
		// json: every element.
		{"json star", ExtractJSON, "$.items[*].id", &Response{Body: []byte(doc)}, `["i-1","i-2"]`, true},
		// json: a quoted member with a dot.
		{"json quoted", ExtractJSON, "$['a.b']", &Response{Body: []byte(doc)}, "dotted", true},
		// json: plain gjson syntax, with a query.
		{"json gjson query", ExtractJSON, `items.#(id=="i-2").id`, &Response{Body: []byte(doc)}, "i-2", true},
		// json: an index of the root array.
		{"json root array", ExtractJSON, "$[1]", &Response{Body: []byte(`[10,20]`)}, "20", true},
		// json: a missing member.
		{"json missing", ExtractJSON, "$.nope", &Response{Body: []byte(doc)}, "", false},
		// json: out of range.
		{"json out of range", ExtractJSON, "$.items[5].id", &Response{Body: []byte(doc)}, "", false},
		// json: an HTML error page.
		{"json not json", ExtractJSON, "$.id", &Response{Body: []byte("<html>error</html>")}, "", false},
		// json: a body cut at MaxBody still yields what comes first.
		{"json truncated", ExtractJSON, "$.id", &Response{Body: []byte(`{"id":5,"rest":[1,2,`)}, "5", true},
		// header: case-insensitive name, first value.
		{"header", ExtractHeader, "x-request-id", &Response{Header: http.Header{"X-Request-Id": {"r1", "r2"}}}, "r1", true},
		// header: an empty value is found.
		{"header empty", ExtractHeader, "X-Empty", &Response{Header: http.Header{"X-Empty": {""}}}, "", true},
		// header: absent.
		{"header absent", ExtractHeader, "X-Nope", &Response{Header: http.Header{}}, "", false},
		// cookie: as the jar holds it for the URL.
		{"cookie jar", ExtractCookie, "JSESSIONID", &Response{URL: u, Jar: jar}, "ABC123", true},
		// cookie: the jar does not send it outside its path.
		{"cookie jar path", ExtractCookie, "JSESSIONID", &Response{URL: mustURL("http://shop.test/other"), Jar: jar}, "", false},
		// cookie: a jar but no URL.
		{"cookie jar no url", ExtractCookie, "JSESSIONID", &Response{Jar: jar}, "", false},
		// cookie: no jar, from Set-Cookie.
		{"cookie header", ExtractCookie, "SESSION", &Response{Header: http.Header{"Set-Cookie": {"a=1; Path=/", "SESSION=s-9; Path=/; HttpOnly"}}}, "s-9", true},
		// cookie: no jar, the last Set-Cookie wins.
		{"cookie header last", ExtractCookie, "SESSION", &Response{Header: http.Header{"Set-Cookie": {"SESSION=old", "SESSION=new"}}}, "new", true},
		// cookie: no jar, a deleting Set-Cookie leaves it not found.
		{"cookie header deleted", ExtractCookie, "SESSION", &Response{Header: http.Header{"Set-Cookie": {"SESSION=; Max-Age=0"}}}, "", false},
		// cookie: no jar, an expired Set-Cookie too.
		{"cookie header expired", ExtractCookie, "SESSION", &Response{Header: http.Header{"Set-Cookie": {"SESSION=x; Expires=" + time.Unix(0, 0).UTC().Format(http.TimeFormat)}}}, "", false},
		// cookie: no jar, no header.
		{"cookie header absent", ExtractCookie, "SESSION", &Response{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := NewExtractor("v", tt.kind, tt.expr)
			if err != nil {
				t.Fatalf("NewExtractor: %v", err)
			}
			got, found := e.Extract(tt.resp)
			if got != tt.want || found != tt.found {
				t.Errorf("Extract = %q, %v; want %q, %v", got, found, tt.want, tt.found)
			}
			// Built as a struct literal, without NewExtractor, it works the same.
			lit := Extractor{Var: "v", Kind: tt.kind, Expr: tt.expr}
			if got2, found2 := lit.Extract(tt.resp); got2 != got || found2 != found {
				t.Errorf("literal Extractor = %q, %v; want %q, %v", got2, found2, got, found)
			}
		})
	}
}

func TestExtractNilResponse(t *testing.T) {
	t.Parallel()
	e, err := NewExtractor("v", ExtractHeader, "X-A")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := e.Extract(nil); v != "" || ok {
		t.Errorf("Extract(nil) = %q, %v", v, ok)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func FuzzExtractJSON(f *testing.F) {
	f.Add([]byte(`{"id":1,"items":[{"id":"a"}]}`), "$.items[0].id", "v")
	f.Add([]byte(`[1,2,3]`), "$[1]", "")
	f.Add([]byte(`{"a":`), "$.a", "\x00\"\\")
	f.Add([]byte(`{"a":{"b":[true,null]}}`), "a.b.#", "é")
	f.Add([]byte(`not json`), "@reverse", "x")
	f.Add([]byte(`{}`), "$['a.b']", "y")
	f.Fuzz(func(t *testing.T, body []byte, path, value string) {
		if e, err := NewExtractor("v", ExtractJSON, path); err == nil {
			e.Extract(&Response{Body: body}) // never panics
			c := Check{JSON: []JSONCheck{{Path: path, Equals: value}}}
			c.Eval(&Response{Status: 200, Body: body})
		}

		// A string value written by encoding/json comes back as is.
		doc, err := json.Marshal(map[string]any{"k": value, "n": []string{value}})
		if err != nil {
			return
		}
		for _, p := range []string{"$.k", "$.n[0]", "k"} {
			e, err := NewExtractor("v", ExtractJSON, p)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := e.Extract(&Response{Body: doc})
			var want string
			json.Unmarshal(doc, &struct{ K *string }{&want}) // invalid UTF-8 is replaced
			if !ok || got != want {
				t.Fatalf("%s in %s = %q, %v; want %q", p, doc, got, ok, want)
			}
		}
	})
}

// Extraction into the VU: a regex's n-th match, all matches as a list, a
// JSON array as a list (its text as the variable), a random pick
// (seeded), and a miss that unsets the variable.
func TestExtractInto(t *testing.T) {
	t.Parallel()
	e, err := NewEnv(&Script{Target: mustURL("http://127.0.0.1:1")}, Transport{}, stats.NewRecorder(stats.Options{}), stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	resp := &Response{Status: 200, Body: []byte(`{"ids":[3,"b",{"c":1}],"empty":[],"one":"x"} id=11 id=12 id=13`)}
	ex := func(name string, kind ExtractKind, expr string, f func(*Extractor)) *Extractor {
		x, err := NewExtractor(name, kind, expr)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			f(&x)
		}
		return &x
	}
	v := e.NewVU(1, Identity{}, Signals{})
	for _, tc := range []struct {
		ex   *Extractor
		val  string
		list []string // nil: no list
		err  string
	}{
		{ex("a", ExtractRegex, `id=(\d+)`, nil), "11", nil, ""},
		{ex("a", ExtractRegex, `id=(\d+)`, func(x *Extractor) { x.Index = 2 }), "13", nil, ""},
		{ex("a", ExtractRegex, `id=(\d+)`, func(x *Extractor) { x.Index = 3 }), "", nil, `extract a: regex "id=(\\d+)" found nothing`},
		{ex("a", ExtractRegex, `id=(\d+)`, func(x *Extractor) { x.All = true }), `["11","12","13"]`, []string{"11", "12", "13"}, ""},
		{ex("a", ExtractJSON, "$.ids", nil), `[3,"b",{"c":1}]`, []string{"3", "b", `{"c":1}`}, ""},
		{ex("a", ExtractJSON, "$.empty", nil), `[]`, []string{}, ""},
		{ex("a", ExtractJSON, "$.one", nil), "x", nil, ""},
		{ex("a", ExtractJSON, "$.one", func(x *Extractor) { x.All = true }), "x", []string{"x"}, ""},
		{ex("a", ExtractJSON, "$.nope", nil), "", nil, `extract a: json "$.nope" found nothing`},
		{ex("a", ExtractJSON, "$.nope", func(x *Extractor) { x.Optional = true }), "", nil, ""},
		{ex("a", ExtractJSON, "$.empty", func(x *Extractor) { x.PickRandom = true }), "", nil, `extract a: json "$.empty" found nothing`},
	} {
		err := v.extractInto(tc.ex, resp)
		if got := fmt.Sprint(err); tc.err != "" && got != tc.err || tc.err == "" && err != nil {
			t.Errorf("%+v: error %v, want %q", *tc.ex, err, tc.err)
			continue
		}
		val, set := v.data.Vars["a"]
		list, isList := v.data.Lists["a"]
		if tc.err != "" || tc.ex.Optional {
			if set || isList {
				t.Errorf("%+v: found nothing but a = %q, list %v", *tc.ex, val, list)
			}
			continue
		}
		if val != tc.val || isList != (tc.list != nil) || !slices.Equal(list, tc.list) {
			t.Errorf("%+v: a = %q, list %v (%v); want %q, %v", *tc.ex, val, list, isList, tc.val, tc.list)
		}
	}
	// A random pick takes every element over many draws, and the same
	// seed draws the same sequence.
	pick := ex("p", ExtractRegex, `id=(\d+)`, func(x *Extractor) { x.PickRandom = true })
	draws := func(seed uint64) []string {
		e, _ := NewEnv(&Script{Target: mustURL("http://127.0.0.1:1"), Seed: seed}, Transport{}, stats.NewRecorder(stats.Options{}), stats.NewSessions())
		v := e.NewVU(1, Identity{}, Signals{})
		var out []string
		for range 60 {
			if err := v.extractInto(pick, resp); err != nil {
				t.Fatal(err)
			}
			out = append(out, v.data.Vars["p"])
		}
		return out
	}
	a := draws(7)
	for _, want := range []string{"11", "12", "13"} {
		if !slices.Contains(a, want) {
			t.Errorf("60 random picks never took %s: %v", want, a)
		}
	}
	if !slices.Equal(a, draws(7)) {
		t.Error("the same seed picked differently")
	}
}
