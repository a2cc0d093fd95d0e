package profiles_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/vuser"
)

// stepView is a Step with its templates as their source text, so that
// steps compare with ==.
type stepView struct {
	Name, Method, Path string
	Headers            []string // "Name: template"
	Form               []string // "name=template"
	JSON, Body         string
	Check              vuser.Check
	Extract            []string // "var kind expr"
}

func view(steps []vuser.Step) []stepView {
	var out []stepView
	for _, s := range steps {
		v := stepView{Name: s.Name, Method: s.Method, Path: s.Path.Raw(), JSON: s.JSON.Raw(), Body: s.Body.Raw(), Check: s.Check}
		for _, h := range s.Headers {
			v.Headers = append(v.Headers, h.Name+": "+h.Value.Raw())
		}
		for _, f := range s.Form {
			v.Form = append(v.Form, f.Name+"="+f.Value.Raw())
		}
		for _, e := range s.Extract {
			v.Extract = append(v.Extract, fmt.Sprintf("%s %s %s", e.Var, e.Kind, e.Expr))
		}
		out = append(out, v)
	}
	return out
}

func load(t *testing.T, name string) *profiles.Plan {
	t.Helper()
	p, err := profiles.LoadFile(filepath.Join("testdata", "good", name))
	if err != nil {
		t.Fatalf("LoadFile(%s):\n%v", name, err)
	}
	return p
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func TestLoadFull(t *testing.T) {
	t.Parallel()
	p := load(t, "full.yaml")
	s := p.Scenarios[0].Script
	same(t, "name", p.Name, "shop-capacity")
	same(t, "target", s.Target.String(), "https://shop.example:8443/shop")
	same(t, "headers", s.Headers, http.Header{"User-Agent": {"load/1.0"}})
	same(t, "session", s.Session, vuser.Session{Cookie: "SESSION", Relogin: false, End: vuser.EndAbandon, LogoutPath: "/signout", RetryLogin: 2 * time.Second})
	same(t, "login", s.Login, vuser.Login{Kind: vuser.LoginSpringForm, Path: "/signin", UsernameField: "email", PasswordField: "pass", CSRFField: "csrf_token"})
	shared := "X-Load-Vu: vu-{{.VU}}" // a templated plan header goes into every step
	same(t, "steps", view(s.Steps), []stepView{
		{Name: "catalog", Method: "GET", Path: "/api/catalog?page={{.Iteration}}",
			Headers: []string{shared, "Accept: application/json"},
			Check: vuser.Check{Status: []int{200, 304}, BodyContains: []string{"items", "total"},
				JSON: []vuser.JSONCheck{{Path: "$.user", Equals: "user1"}, {Path: "$.count", Equals: "3"}}}},
		{Name: "add-to-cart", Method: "POST", Path: "/api/cart", Headers: []string{shared},
			JSON:    `{"item":"{{.Var.item}}","qty":2,"gift":false,"note":null,"tags":["a","b\"c"]}`,
			Extract: []string{"cart json $.id", `item regex item-(\d+)`}},
		{Name: "checkout", Method: "PUT", Path: "/api/cart/{{.Var.cart}}", Headers: []string{shared},
			Form:    []string{"zeta=1", "alpha={{.User}}"}, // YAML order, not sorted
			Extract: []string{"token header X-Token", "sid cookie SESSION", "csrf form _csrf"}},
		{Name: "note", Method: "PATCH", Path: "/api/cart/{{.Var.cart}}/note", Body: "note for {{.Var.token}}",
			Headers: []string{"Content-Type: text/plain", "X-Load-Vu: mine"}}, // the step's own header wins
		{Name: "remove", Method: "DELETE", Path: "/api/cart/{{.Var.cart}}", Headers: []string{shared}},
		{Name: "ping", Method: "HEAD", Path: "https://shop.example:8443/health", Headers: []string{shared}},
	})
	same(t, "think", s.Think, vuser.Think{Min: 200 * time.Millisecond, Max: 800 * time.Millisecond})
	same(t, "timeout", s.Timeout, 10*time.Second)
	same(t, "max body", s.MaxBody, 65536)
	same(t, "pool", p.Pool, pool.Options{HTTP2: true, MaxConnsPerHost: 100, MaxIdleConnsPerHost: 50,
		DialTimeout: 2 * time.Second, TLSHandshakeTimeout: 3 * time.Second, ResponseHeaderTimeout: 4 * time.Second,
		IdleConnTimeout: time.Minute, KeepAlive: 15 * time.Second, Compression: true, InsecureSkipVerify: true})
	same(t, "load", p.Load, profiles.Load{
		Stages:       []profiles.Stage{{Duration: 10 * time.Second, Target: 100}, {Duration: 20 * time.Second, Target: 100}, {Duration: 5 * time.Second, Target: 0}},
		GracefulStop: 5 * time.Second,
	})
	var ths []string
	for _, th := range p.Thresholds {
		ths = append(ths, fmt.Sprintf("%d: %s = %s", th.Line, th.Metric, th.Rule.Expr()))
	}
	same(t, "thresholds", ths, []string{"71: catalog p99 = catalog p99 < 300ms", "72: errors = errors < 1%"})
	same(t, "identity", p.Scenarios[0].Users.Identity(7), vuser.Identity{Username: "user7", Password: "s3cret"})
	same(t, "users", p.Scenarios[0].Users.Len(), 0)
	if strings.Contains(p.Source, "s3cret") || !strings.Contains(p.Source, `password: "*****"}`) {
		t.Errorf("Source keeps the password:\n%s", p.Source)
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	p := load(t, "minimal.yaml")
	s := p.Scenarios[0].Script
	same(t, "name", p.Name, "minimal") // the file's base name
	same(t, "session", s.Session, vuser.Session{Cookie: "JSESSIONID", Relogin: true, End: vuser.EndAbandon, LogoutPath: "/logout", RetryLogin: 5 * time.Second})
	same(t, "login", s.Login, vuser.Login{Kind: vuser.LoginNone})
	same(t, "steps", view(s.Steps), []stepView{{Name: "home", Method: "GET", Path: "/"}})
	same(t, "think", s.Think, vuser.Think{})
	same(t, "timeout", s.Timeout, 30*time.Second)
	same(t, "max body", s.MaxBody, 1<<20)
	same(t, "pool", p.Pool, pool.Options{})
	same(t, "load", p.Load, profiles.Load{VUs: 2, Duration: time.Minute, GracefulStop: 30 * time.Second})
	same(t, "identity", p.Scenarios[0].Users.Identity(1), vuser.Identity{})
	same(t, "thresholds", len(p.Thresholds), 0)
}

func TestLoadCSVAndLoginSteps(t *testing.T) {
	t.Parallel()
	p := load(t, "csv.yaml")
	s := p.Scenarios[0].Script
	same(t, "target", s.Target.String(), "http://127.0.0.1:8080/app/")
	same(t, "login kind", s.Login.Kind, vuser.LoginSteps)
	same(t, "login steps", view(s.Login.Steps), []stepView{
		{Name: "login-page", Method: "GET", Path: "/login", Extract: []string{"csrf form _csrf"}},
		{Name: "login-post", Method: "POST", Path: "/login",
			Form:  []string{"username={{.User}}", "password={{.Password}}", "_csrf={{.Var.csrf}}"},
			Check: vuser.Check{Status: []int{200, 302}}},
	})
	same(t, "steps", view(s.Steps), []stepView{{Name: "home", Method: "GET", Path: "home"}})
	same(t, "logout", s.Session.End, vuser.EndLogout)
	same(t, "rows", p.Scenarios[0].Users.Len(), 3)
	// The CSV has a BOM, CRLF line ends and a quoted comma.
	for vu, want := range map[int]vuser.Identity{
		1: {Username: "alice", Password: "a1"},
		2: {Username: "bob", Password: "b,2"},
		3: {Username: "carol", Password: "c3"},
		4: {}, // beyond the file
		0: {}, // VU ids count from 1
	} {
		same(t, fmt.Sprintf("Identity(%d)", vu), p.Scenarios[0].Users.Identity(vu), want)
	}
}

func TestLoadAnchors(t *testing.T) {
	t.Parallel()
	p := load(t, "anchors.yaml")
	same(t, "steps", view(p.Scenarios[0].Script.Steps), []stepView{
		{Name: "one", Method: "GET", Path: "/one", Headers: []string{"Accept: application/json", "X-Trace: 1"}},
		// The step's own name and X-Trace win over the merged ones.
		{Name: "two", Method: "GET", Path: "/one", Headers: []string{"Accept: application/json", "X-Trace: 2"}},
	})
}

func TestLoadBlockScalars(t *testing.T) {
	t.Parallel()
	p := load(t, "block.yaml")
	same(t, "identity", p.Scenarios[0].Users.Identity(2), vuser.Identity{Username: "user2", Password: "multi\nline\n"})
	same(t, "body", p.Scenarios[0].Script.Steps[0].Body.Raw(), "{\"user\": \"{{.User}}\"}\n")
	if strings.Contains(p.Source, "multi") || strings.Contains(p.Source, "line\n") || !strings.Contains(p.Source, "password: *****\nsession:") {
		t.Errorf("Source keeps the password:\n%s", p.Source)
	}
}

func TestParseProblemPositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, plan, want string
	}{
		// A template error points at the "{{" inside a double-quoted scalar,
		// past an escape that takes two characters of source.
		{"escaped", "target: http://h\nscenario: [{name: a, get: \"/\\t{{.Nope}}\"}]\nload: {vus: 1, duration: 1s}\n",
			`p.yaml:2:31: scenario[0].get: bad template: unknown placeholder {{.Nope}} (expected .VU, .User, .Password, .Iteration or .Var.NAME)`},
		// ... inside a single-quoted scalar with a doubled quote.
		{"single", "target: http://h\nscenario: [{name: a, get: '/''{{.Nope}}'}]\nload: {vus: 1, duration: 1s}\n",
			`p.yaml:2:31: scenario[0].get: bad template: unknown placeholder {{.Nope}} (expected .VU, .User, .Password, .Iteration or .Var.NAME)`},
		// ... on the second line of a literal block.
		{"literal", "target: http://h\nscenario:\n  - name: a\n    post: /\n    body: |\n      line one\n      x {{.Var.q}}\nload: {vus: 1, duration: 1s}\n",
			`p.yaml:7:9: scenario[0].body: variable "q" is never extracted (add extract: {q: ...} to a step or login step)`},
		// Columns count characters, not bytes.
		{"unicode", "target: http://h\nscenario: [{name: ä, get: \"/ä{{.Nope}}\"}]\nload: {vus: 1, duration: 1s}\n",
			`p.yaml:2:30: scenario[0].get: bad template: unknown placeholder {{.Nope}} (expected .VU, .User, .Password, .Iteration or .Var.NAME)`},
		// A plan that is not a mapping.
		{"list", "- a\n- b\n", `p.yaml:1:1: expected a mapping, got a list`},
		// A second YAML document is refused rather than ignored.
		{"documents", "target: http://h\n---\nload: {}\n", `p.yaml:2:1: expected one YAML document, found a second one`},
		// Unknown keys nest: their path says where.
		{"nested", "target: http://h\nscenario: [{name: a, get: /, chek: {status: 200}}]\nload: {vus: 1, duration: 1s}\n",
			`p.yaml:2:30: scenario[0]: unknown key "chek" (expected one of: name, get, post, put, patch, delete, head, headers, form, json, body, check, extract, think, repeat, random, if, foreach, group, steps); did you mean "check"?`},
		// A typo of a required key is not also reported as missing.
		{"typo-required", "target: http://h\nscenario: [{nmae: a, get: /}]\nload: {vus: 1, duration: 1s}\n",
			`p.yaml:2:13: scenario[0]: unknown key "nmae" (expected one of: name, get, post, put, patch, delete, head, headers, form, json, body, check, extract, think, repeat, random, if, foreach, group, steps); did you mean "name"?`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := profiles.Parse("p.yaml", []byte(tc.plan), t.TempDir())
			if err == nil || err.Error() != tc.want {
				t.Errorf("Parse:\n got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestProblemError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    profiles.Problem
		want string
	}{
		{profiles.Problem{File: "plan.yaml", Line: 3, Col: 1, Msg: "m"}, "plan.yaml:3:1: m"}, // a YAML node
		{profiles.Problem{File: "users.csv", Line: 3, Msg: "m"}, "users.csv:3: m"},           // a CSV row
		{profiles.Problem{File: "users.csv", Msg: "m"}, "users.csv: m"},                      // a whole file
		{profiles.Problem{Line: 2, Col: 5, Msg: "m"}, "2:5: m"},                              // an unnamed plan
	}
	for _, tc := range tests {
		if got := tc.p.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q, want %q", tc.p, got, tc.want)
		}
	}
	ps := profiles.Problems{tests[0].p, tests[1].p}
	if got, want := ps.Error(), "plan.yaml:3:1: m\nusers.csv:3: m"; got != want {
		t.Errorf("Problems.Error() = %q, want %q", got, want)
	}
}

func TestOverride(t *testing.T) {
	t.Parallel()
	stages := []profiles.Stage{{Duration: 10 * time.Second, Target: 10}, {Duration: 30 * time.Second, Target: 10}}
	tests := []struct {
		name     string
		load     profiles.Load
		rows     int // users.csv rows; 0 for a template
		vus      int
		duration time.Duration
		want     profiles.Load
		err      string
	}{
		{name: "nothing given keeps the load",
			load: profiles.Load{VUs: 5, Duration: time.Minute}, want: profiles.Load{VUs: 5, Duration: time.Minute}},
		{name: "vus flattens stages over their total",
			load: profiles.Load{Stages: stages, GracefulStop: time.Second}, vus: 3,
			want: profiles.Load{VUs: 3, Duration: 40 * time.Second, GracefulStop: time.Second}},
		{name: "vus and duration",
			load: profiles.Load{Stages: stages}, vus: 3, duration: time.Minute,
			want: profiles.Load{VUs: 3, Duration: time.Minute}},
		{name: "duration of a flat load",
			load: profiles.Load{VUs: 5, Duration: time.Minute}, duration: 2 * time.Minute,
			want: profiles.Load{VUs: 5, Duration: 2 * time.Minute}},
		{name: "duration stretches stages, keeping their shape",
			load: profiles.Load{Stages: stages}, duration: 80 * time.Second,
			want: profiles.Load{Stages: []profiles.Stage{{Duration: 20 * time.Second, Target: 10}, {Duration: time.Minute, Target: 10}}}},
		{name: "duration shrinks stages, the last takes the rounding",
			load:     profiles.Load{Stages: []profiles.Stage{{Duration: time.Second, Target: 1}, {Duration: time.Second, Target: 1}, {Duration: time.Second}}},
			duration: 100 * time.Nanosecond,
			want:     profiles.Load{Stages: []profiles.Stage{{Duration: 33, Target: 1}, {Duration: 33, Target: 1}, {Duration: 34}}}},
		{name: "more VUs than csv rows",
			load: profiles.Load{VUs: 2, Duration: time.Minute}, rows: 3, vus: 4,
			err: "load needs 4 VUs (after --vus 4) but testdata/good/users.csv has 3 rows"},
		{name: "as many VUs as csv rows",
			load: profiles.Load{VUs: 2, Duration: time.Minute}, rows: 3, vus: 3,
			want: profiles.Load{VUs: 3, Duration: time.Minute}},
		{name: "negative vus", load: profiles.Load{VUs: 2, Duration: time.Minute}, vus: -1,
			err: "--vus -1: expected a positive number of VUs"},
		{name: "negative duration", load: profiles.Load{VUs: 2, Duration: time.Minute}, duration: -time.Second,
			err: "--duration -1s: expected a positive duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := load(t, "minimal.yaml")
			if tc.rows > 0 {
				p = load(t, "csv.yaml")
			}
			p.Load = tc.load
			err := p.Override(tc.vus, tc.duration)
			switch {
			case tc.err != "":
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Override: got %v, want %s", err, tc.err)
				}
				same(t, "load after a refused override", p.Load, tc.load)
			case err != nil:
				t.Fatalf("Override: %v", err)
			default:
				same(t, "load", p.Load, tc.want)
			}
		})
	}
}

// TestOverrideModels applies each CLI override to each load model: it
// changes the load the model runs, or is refused naming the model.
func TestOverrideModels(t *testing.T) {
	t.Parallel()
	const s = time.Second
	// model builds a fresh load each call, to check that Override leaves
	// the load it was given as it was.
	model := func(name string) profiles.Load {
		return map[string]profiles.Load{
			"closed": {VUs: 5, Duration: 10 * s},
			"stages": {Stages: []profiles.Stage{{Duration: 10 * s, Target: 5}, {Duration: 10 * s, Target: 0}}},
			"paced":  {VUs: 5, Duration: 10 * s, Pacing: s},
			"rate":   {Open: &profiles.Open{Rate: profiles.Schedule{Start: 10, Duration: 10 * s}, MaxVUs: 5, PreallocatedVUs: 5}},
			"ramping rate": {Open: &profiles.Open{Rate: profiles.Schedule{Stages: []profiles.RateStage{
				{Duration: 10 * s, Target: 10}, {Duration: 30 * s, Target: 10}}}, MaxVUs: 5}},
			"sessions": {Open: &profiles.Open{Sessions: true, Lifetime: 5 * s, Rate: profiles.Schedule{Start: 2, Duration: 45 * s}}},
		}[name]
	}
	tests := []struct {
		model string
		over  profiles.Overrides
		want  profiles.Load
		err   string
	}{
		{"closed", profiles.Overrides{VUs: 3}, profiles.Load{VUs: 3, Duration: 10 * s}, ""},
		{"closed", profiles.Overrides{Duration: 3 * s}, profiles.Load{VUs: 5, Duration: 3 * s}, ""},
		{"closed", profiles.Overrides{Rate: "4/s"}, profiles.Load{},
			"--rate 4/s: does not apply to the plan's closed (load.vus for load.duration) load, a closed model where VUs run back to back (use --vus, or load.rate in the plan for an open model)"},
		// --vus flattens the ramp over its total.
		{"stages", profiles.Overrides{VUs: 3}, profiles.Load{VUs: 3, Duration: 20 * s}, ""},
		{"stages", profiles.Overrides{Duration: 4 * s}, profiles.Load{Stages: []profiles.Stage{{Duration: 2 * s, Target: 5}, {Duration: 2 * s, Target: 0}}}, ""},
		{"stages", profiles.Overrides{Rate: "4/s"}, profiles.Load{},
			"--rate 4/s: does not apply to the plan's stages (load.stages of VUs) load, a closed model where VUs run back to back (use --vus, or load.rate in the plan for an open model)"},
		// Paced VUs keep their pacing.
		{"paced", profiles.Overrides{VUs: 3}, profiles.Load{VUs: 3, Duration: 10 * s, Pacing: s}, ""},
		{"paced", profiles.Overrides{Duration: 3 * s}, profiles.Load{VUs: 5, Duration: 3 * s, Pacing: s}, ""},
		{"paced", profiles.Overrides{Rate: "4/s"}, profiles.Load{},
			"--rate 4/s: does not apply to the plan's paced (load.vus each starting an iteration every load.pacing) load, a closed model where VUs run back to back (use --vus, or load.rate in the plan for an open model)"},
		{"rate", profiles.Overrides{VUs: 3}, profiles.Load{},
			"--vus 3: does not apply to the plan's arrival rate (iterations at load.rate) load: the rate sets the load there, VUs only serve it (use --rate, or load.max_vus in the plan)"},
		{"rate", profiles.Overrides{Duration: 3 * s}, profiles.Load{Open: &profiles.Open{Rate: profiles.Schedule{Start: 10, Duration: 3 * s}, MaxVUs: 5, PreallocatedVUs: 5}}, ""},
		{"rate", profiles.Overrides{Rate: "4/s"}, profiles.Load{Open: &profiles.Open{Rate: profiles.Schedule{Start: 4, Duration: 10 * s}, MaxVUs: 5, PreallocatedVUs: 5}}, ""},
		{"ramping rate", profiles.Overrides{VUs: 3}, profiles.Load{},
			"--vus 3: does not apply to the plan's ramping arrival rate (load.rate with load.stages of rates) load: the rate sets the load there, VUs only serve it (use --rate, or load.max_vus in the plan)"},
		{"ramping rate", profiles.Overrides{Duration: 4 * s}, profiles.Load{Open: &profiles.Open{Rate: profiles.Schedule{Stages: []profiles.RateStage{
			{Duration: s, Target: 10}, {Duration: 3 * s, Target: 10}}}, MaxVUs: 5}}, ""},
		// --rate flattens the ramp of rates over its total, as --vus does stages.
		{"ramping rate", profiles.Overrides{Rate: "30/m"}, profiles.Load{Open: &profiles.Open{Rate: profiles.Schedule{Start: 0.5, Duration: 40 * s}, MaxVUs: 5}}, ""},
		{"sessions", profiles.Overrides{VUs: 3}, profiles.Load{},
			"--vus 3: does not apply to the plan's sessions (users arriving at load.sessions.rate) load: the rate sets the load there, VUs only serve it (use --rate, or load.max_vus in the plan)"},
		// The issue: --duration 3s was ignored here, the run went on for 45 s.
		{"sessions", profiles.Overrides{Duration: 3 * s}, profiles.Load{Open: &profiles.Open{Sessions: true, Lifetime: 5 * s, Rate: profiles.Schedule{Start: 2, Duration: 3 * s}}}, ""},
		{"sessions", profiles.Overrides{Rate: "4/s"}, profiles.Load{Open: &profiles.Open{Sessions: true, Lifetime: 5 * s, Rate: profiles.Schedule{Start: 4, Duration: 45 * s}}}, ""},
		{"sessions", profiles.Overrides{Rate: "0/s"}, profiles.Load{}, "--rate 0/s: expected a rate above 0 like 50/s, 30/m or 5/100ms"},
	}
	for _, tc := range tests {
		t.Run(tc.model+" "+tc.over.String(), func(t *testing.T) {
			t.Parallel()
			p := load(t, "minimal.yaml")
			given := model(tc.model)
			p.Load = given
			err := p.OverrideWith(tc.over)
			switch {
			case tc.err != "":
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Override: got %v, want\n%s", err, tc.err)
				}
			case err != nil:
				t.Fatalf("Override: %v", err)
			default:
				same(t, "load", p.Load, tc.want)
			}
			same(t, "the load Override was given", given, model(tc.model))
		})
	}
}

func TestJSONBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json, want string
	}{
		// Mapping order is kept; YAML types become JSON types.
		{"types", `{z: 1, a: 1.5, b: true, n: ~, s: x, l: [1, "2"]}`, `{"z":1,"a":1.5,"b":true,"n":null,"s":"x","l":[1,"2"]}`},
		// Strings are escaped, but not for HTML.
		{"escapes", `{s: "q\" b\\ \n\t\u0001 <&>"}`, `{"s":"q\" b\\ \n\t\u0001 <&>"}`},
		// Placeholders stay as written, in keys and values, for the JSON template.
		{"placeholders", `{"k{{.VU}}": "a\"{{.Var.x}}\"b"}`, `{"k{{.VU}}":"a\"{{.Var.x}}\"b"}`},
		// YAML numbers JSON cannot spell are normalised.
		{"numbers", `[0x1F, 1_000, .5, 1e3, 18446744073709551616]`, `[31,1000,0.5,1e3,18446744073709551616]`},
		// A timestamp stays the text it was.
		{"timestamp", `{d: 2024-01-02}`, `{"d":"2024-01-02"}`},
		// A scalar alone is a JSON document too.
		{"scalar", `"just text"`, `"just text"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plan := "target: http://h\nscenario:\n  - name: a\n    post: /\n    json: " + tc.json +
				"\n    extract: {x: {json: $.x}}\nload: {vus: 1, duration: 1s}\n"
			p, err := profiles.Parse("p.yaml", []byte(plan), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Scenarios[0].Script.Steps[0].JSON.Raw(); got != tc.want {
				t.Errorf("JSON:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestParseAliasBomb: aliases that expand exponentially are refused
// quickly instead of hanging the loader.
func TestParseAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("target: http://h\nx-0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x-%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			fmt.Fprintf(&b, "*a%d, ", i-1)
		}
		b.WriteString("x]\n")
	}
	b.WriteString("scenario: [{name: a, post: /, json: *a9}]\nload: {vus: 1, duration: 1s}\n")
	_, err := profiles.Parse("p.yaml", []byte(b.String()), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "plan too large: aliases expand to more than") {
		t.Errorf("Parse(alias bomb) = %v, want plan too large", err)
	}
}

// TestParseWithOverrides checks the users CSV against the load after the
// CLI's overrides: --vus 3 runs a plan of 5 VUs with a csv of 3 rows,
// --vus 4 is refused, and a refused override stops the parse.
func TestParseWithOverrides(t *testing.T) {
	t.Parallel()
	file := filepath.Join("testdata", "bad", "csv_too_short.yaml")
	tests := []struct {
		over profiles.Overrides
		vus  int
		err  string
	}{
		{over: profiles.Overrides{VUs: 3}, vus: 3},
		{over: profiles.Overrides{VUs: 4}, err: file + ":3:8: users.csv: load needs 4 VUs (after --vus 4) but testdata/bad/users_ok.csv has 3 rows"},
		{over: profiles.Overrides{Duration: time.Second}, err: file + ":3:8: users.csv: load needs 5 VUs (after --duration 1s) but testdata/bad/users_ok.csv has 3 rows"},
		{over: profiles.Overrides{Rate: "5/s"}, err: "--rate 5/s: does not apply to the plan's stages (load.stages of VUs) load, a closed model where VUs run back to back (use --vus, or load.rate in the plan for an open model)"},
	}
	for _, tc := range tests {
		p, err := profiles.LoadFileWith(file, tc.over)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("LoadFileWith(%s, %s): got %v, want\n%s", file, tc.over, err, tc.err)
			}
		case err != nil:
			t.Errorf("LoadFileWith(%s, %s): %v", file, tc.over, err)
		default:
			if p.Load.MaxVUs() != tc.vus || p.Load.Total() != 20*time.Second {
				t.Errorf("LoadFileWith(%s, %s): load %+v, want %d VUs for 20s", file, tc.over, p.Load, tc.vus)
			}
			if err := p.OverrideWith(tc.over); err != nil || p.Load.MaxVUs() != tc.vus {
				t.Errorf("Override again: %v, load %+v", err, p.Load)
			}
		}
	}
}
