package vuser

import (
	"errors"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func dataTestData() *Data {
	d := testData()
	d.Row = map[string]string{"tenant": "acme", "tier": "gold"}
	d.Sources = map[string]DataRow{"products": {Columns: []string{"sku", "name"}, Values: []string{"S-1", `Gr"een & tea`}}}
	d.Lists = map[string][]string{"ids": {"a", "b", "c"}, "none": {}}
	d.Vars["q"] = "a b&c/é"
	d.Rand = rand.New(rand.NewPCG(1, 2))
	return d
}

func TestTemplateDataAndRow(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want, json string }{
		{"/p/{{.Data.products.sku}}?t={{.Row.tenant}}", "/p/S-1?t=acme", ""},
		{"{{ .Data.products.name }}", `Gr"een & tea`, `Gr\"een & tea`},
		// An unknown column, row or source renders empty (the loader refuses them).
		{"[{{.Data.products.nope}}{{.Data.nope.sku}}{{.Row.nope}}]", "[]", "[]"},
		{"{{urlencode .Data.products.name}}", "Gr%22een+%26+tea", ""},
		{"{{urlencode .Var.q}}", url.QueryEscape("a b&c/é"), ""},
		{"{{urlencode .Row.tier}}-{{urlencode .VU}}-{{urlencode .Iteration}}", "gold-42-7", ""},
		{`{{urlencode "x y?"}}`, "x+y%3F", ""},
		{`{{urlencode .User}}`, "user42", ""},
	} {
		for _, js := range []bool{false, true} {
			tmpl, err := parse(tt.in, js)
			if err != nil {
				t.Fatalf("parse(%q): %v", tt.in, err)
			}
			want := tt.want
			if js && tt.json != "" {
				want = tt.json
			}
			if got := tmpl.Render(dataTestData()); got != want {
				t.Errorf("json %v: %q renders %q, want %q", js, tt.in, got, want)
			}
		}
	}
}

func TestTemplateQueryEscapeMatchesNetURL(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "abc", "a b", "+&=?#/%", "é✓", "\x00\xff", "-_.~", "!*'();:@$,[]"} {
		if got := string(appendQueryEscape(nil, s)); got != url.QueryEscape(s) {
			t.Errorf("appendQueryEscape(%q) = %q, url.QueryEscape %q", s, got, url.QueryEscape(s))
		}
	}
}

func TestTemplateRandInt(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseTemplate("{{randInt -2 3}}")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	d := &Data{Rand: rand.New(rand.NewPCG(7, 1))}
	for range 6000 {
		n, err := strconv.Atoi(tmpl.Render(d))
		if err != nil || n < -2 || n > 3 {
			t.Fatalf("randInt -2 3 gave %v (%v)", n, err)
		}
		seen[n]++
	}
	// Inclusive at both ends, about uniform: each of the 6 values ~1000 times.
	for n := -2; n <= 3; n++ {
		if seen[n] < 850 || seen[n] > 1150 {
			t.Errorf("value %d drawn %d times of 6000, want ~1000: %v", n, seen[n], seen)
		}
	}
	one, _ := ParseTemplate("{{randInt 5 5}}")
	if got := one.Render(d); got != "5" {
		t.Errorf("randInt 5 5 = %q", got)
	}
	full, _ := ParseTemplate("{{randInt -9223372036854775808 9223372036854775807}}")
	if _, err := strconv.ParseInt(full.Render(d), 10, 64); err != nil {
		t.Errorf("full range: %v", err)
	}
}

// TestTemplateRandomSeeded: the same seed gives the same draws, another
// seed others.
func TestTemplateRandomSeeded(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseTemplate("{{randInt 0 1000000}}/{{uuid}}/{{randItem .Var.ids}}")
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed uint64) []string {
		d := dataTestData()
		d.Rand = rand.New(rand.NewPCG(seed, 42))
		var out []string
		for range 20 {
			out = append(out, tmpl.Render(d))
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different draws:\n%q\n%q", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("different seeds, same draws: %q", a)
	}
}

func TestTemplateUUID(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseJSONTemplate(`{"id":"{{uuid}}"}`)
	if err != nil {
		t.Fatal(err)
	}
	v4 := regexp.MustCompile(`^\{"id":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\}$`)
	d := &Data{Rand: rand.New(rand.NewPCG(3, 4))}
	seen := map[string]bool{}
	for range 1000 {
		s := tmpl.Render(d)
		if !v4.MatchString(s) {
			t.Fatalf("%s is not a version 4 UUID", s)
		}
		seen[s] = true
	}
	if len(seen) != 1000 {
		t.Errorf("%d distinct UUIDs of 1000", len(seen))
	}
	// Without a generator: still a UUID, from the global one.
	if s := tmpl.Render(nil); !v4.MatchString(s) {
		t.Errorf("nil Data: %s", s)
	}
}

func TestTemplateRandItem(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseTemplate("{{randItem .Var.ids}}")
	if err != nil {
		t.Fatal(err)
	}
	d := dataTestData()
	seen := map[string]int{}
	for range 300 {
		seen[tmpl.Render(d)]++
	}
	if len(seen) != 3 || seen["a"] == 0 || seen["b"] == 0 || seen["c"] == 0 {
		t.Errorf("randItem over a, b, c drew %v", seen)
	}
	empty, _ := ParseTemplate("[{{randItem .Var.none}}{{randItem .Var.unset}}]")
	if got := empty.Render(d); got != "[]" {
		t.Errorf("empty and unset lists render %q", got)
	}
	if got, want := empty.Missing(d), []string{"unset"}; !slices.Equal(got, want) {
		t.Errorf("Missing = %q, want %q", got, want)
	}
	if got, want := empty.Vars(), []string{"none", "unset"}; !slices.Equal(got, want) {
		t.Errorf("Vars = %q, want %q", got, want)
	}
}

func TestTemplateUnixTime(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseTemplate("{{unixMs}} {{unix}}")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	f := strings.Fields(tmpl.Render(nil))
	after := time.Now()
	ms, _ := strconv.ParseInt(f[0], 10, 64)
	s, _ := strconv.ParseInt(f[1], 10, 64)
	if ms < before.UnixMilli() || ms > after.UnixMilli() || s < before.Unix() || s > after.Unix() {
		t.Errorf("unixMs %d, unix %d, not between %v and %v", ms, s, before, after)
	}
}

func TestTemplateDataRefs(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseTemplate("é{{.Data.p.sku}}/{{ .Row.tenant }}/{{urlencode .Data.q.name}}")
	if err != nil {
		t.Fatal(err)
	}
	want := []DataRef{{Source: "p", Column: "sku", Col: 2}, {Column: "tenant", Col: 18}, {Source: "q", Column: "name", Col: 36}}
	if got := tmpl.DataRefs(); !slices.Equal(got, want) {
		t.Errorf("DataRefs = %+v, want %+v", got, want)
	}
}

func TestTemplateFunctionErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, msg string }{
		{"/x/{{randInt 0}}", `randInt expects two integers (randInt MIN MAX), got 1 argument in {{randInt 0}} at column 4`},
		{"{{randInt 0 a}}", `randInt expects two integers, got "a" in {{randInt 0 a}} at column 1`},
		{"{{randInt}}", `randInt expects two integers (randInt MIN MAX), got none in {{randInt}} at column 1`},
		{"{{randInt 5 1}}", `randInt 5 1: the minimum is above the maximum in {{randInt 5 1}} at column 1`},
		{"{{randInt 1.5 2}}", `randInt expects two integers, got "1.5" in {{randInt 1.5 2}} at column 1`},
		{"{{randItem ids}}", `randItem expects a list variable like .Var.items, got "ids" in {{randItem ids}} at column 1`},
		{"{{randItem .Var.a .Var.b}}", `randItem expects one list variable (randItem .Var.NAME), got 2 arguments in {{randItem .Var.a .Var.b}} at column 1`},
		{"{{uuid 4}}", `uuid takes no arguments, got 1 argument in {{uuid 4}} at column 1`},
		{"{{unixMs x y}}", `unixMs takes no arguments, got 2 arguments in {{unixMs x y}} at column 1`},
		{"{{urlencode}}", `urlencode expects one value like .Var.q or "text", got none in {{urlencode}} at column 1`},
		{"{{urlencode x}}", `urlencode expects a value like .Var.q or "text", got "x" in {{urlencode x}} at column 1`},
		{"{{urlencode .Nope}}", `urlencode: unknown placeholder {{.Nope}} at column 1 (expected .VU, .User, .Password, .Iteration or .Var.NAME)`},
		{`{{urlencode "abc}}`, `urlencode: unterminated or invalid quoted text "\"abc" in {{urlencode "abc}} at column 1`},
		{"{{randint 0 5}}", `unknown function {{randint 0 5}} at column 1 (did you mean randInt?)`},
		{"{{uuidv4}}", `unknown function {{uuidv4}} at column 1 (did you mean uuid?)`},
		{"{{urlEncode .Var.q}}", `unknown function {{urlEncode .Var.q}} at column 1 (did you mean urlencode?)`},
		{"{{now}}", `unknown function {{now}} at column 1 (expected one of the functions randInt, randItem, uuid, unix, unixMs, urlencode, or a placeholder like .VU)`},
		{"{{Row.x}}", `unknown placeholder {{Row.x}} at column 1 (did you mean .Row.x?)`},
		{"{{.data.p.sku}}", `unknown placeholder {{.data.p.sku}} at column 1 (did you mean .Data.p.sku?)`},
		{"{{.Dat.p.sku}}", `unknown placeholder {{.Dat.p.sku}} at column 1 (did you mean .Data.p.sku?)`},
		{"{{.Rows.tenant}}", `unknown placeholder {{.Rows.tenant}} at column 1 (did you mean .Row.tenant?)`},
		{"{{.Vars.x}}", `unknown placeholder {{.Vars.x}} at column 1 (did you mean .Var.x?)`},
		{"{{.Data.p}}", `no source and column in {{.Data.p}} at column 1 (expected .Data.NAME.COLUMN)`},
		{"{{.Data.p.a.b}}", `invalid data reference "p.a.b" in {{.Data.p.a.b}} at column 1 (expected .Data.NAME.COLUMN; names are made of letters, digits, _ and -)`},
		{"{{.Row}}", `no column in {{.Row}} at column 1 (expected .Row.COLUMN, a column of the users CSV)`},
		{"{{.Row.a b}}", `invalid column name "a b" in {{.Row.a b}} at column 1 (expected .Row.COLUMN; a column name is made of letters, digits, _ and -)`},
		{"{{user}}", `unknown placeholder {{user}} at column 1 (did you mean .User?)`},
	} {
		_, err := ParseTemplate(tt.in)
		var te *TemplateError
		if !errors.As(err, &te) {
			t.Errorf("%q: error %v, want a *TemplateError", tt.in, err)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("%q:\n got %s\nwant %s", tt.in, err, tt.msg)
		}
	}
}

// TestTemplateFunctionsAllocs: data placeholders and functions render
// without allocating, as the plain placeholders do.
func TestTemplateFunctionsAllocs(t *testing.T) {
	tmpl, err := ParseJSONTemplate(`{"s":"{{.Data.products.sku}}","r":"{{.Row.tenant}}","n":{{randInt 1 9}},"u":"{{uuid}}","i":"{{randItem .Var.ids}}","t":{{unixMs}},"q":"{{urlencode .Var.q}}"}`)
	if err != nil {
		t.Fatal(err)
	}
	d := dataTestData()
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = tmpl.Append(buf[:0], d) }); n != 0 {
		t.Errorf("Append allocates %v times, want 0", n)
	}
}

func BenchmarkTemplateFunctions(b *testing.B) {
	tmpl, err := ParseTemplate("/p/{{.Data.products.sku}}?t={{.Row.tenant}}&n={{randInt 1 100}}&id={{uuid}}&q={{urlencode .Var.q}}")
	if err != nil {
		b.Fatal(err)
	}
	d := dataTestData()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = tmpl.Append(buf[:0], d)
	}
	b.SetBytes(int64(len(buf)))
}
