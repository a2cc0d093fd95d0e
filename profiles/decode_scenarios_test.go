package profiles_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/vuser"
)

// shape is a flow tree in a few letters: a request by its name, a flow
// step by its kind and what it holds.
func shape(steps []vuser.Step) []string {
	var out []string
	for _, s := range steps {
		switch {
		case s.Repeat != nil:
			out = append(out, "repeat", "[")
			out = append(out, shape(s.Repeat.Steps)...)
		case s.Random != nil:
			out = append(out, "random", "[")
			for _, b := range s.Random {
				out = append(out, "branch", "[")
				out = append(out, shape(b.Steps)...)
				out = append(out, "]")
			}
		case s.If != nil:
			out = append(out, "if", "[")
			out = append(out, shape(s.If.Steps)...)
			if s.If.Else != nil {
				out = append(out, "else")
				out = append(out, shape(s.If.Else)...)
			}
		case s.Foreach != nil:
			out = append(out, "foreach", "[")
			out = append(out, shape(s.Foreach.Steps)...)
		case s.Group != nil:
			out = append(out, "group "+s.Name, "[")
			out = append(out, shape(s.Group.Steps)...)
		default:
			out = append(out, s.Method+" "+s.Name)
			continue
		}
		out = append(out, "]")
	}
	return out
}

func TestDecodeScenarios(t *testing.T) {
	t.Parallel()
	p := load(t, "scenarios.yaml")
	if len(p.Scenarios) != 3 {
		t.Fatalf("%d scenarios, want 3", len(p.Scenarios))
	}
	browse, buy, api := p.Scenarios[0], p.Scenarios[1], p.Scenarios[2]
	same(t, "names", []string{browse.Name, buy.Name, api.Name, browse.Script.Name, buy.Script.Name, api.Script.Name},
		[]string{"browse", "buy", "api", "browse", "buy", "api"})
	same(t, "weights", []float64{browse.Weight, buy.Weight, api.Weight}, []float64{7, 2, 0})
	same(t, "plan load", p.Load.VUs, 9)
	if browse.Load != nil || buy.Load != nil || api.Load == nil || api.Load.Open == nil || api.Load.Open.Rate.Start != 5 || api.Load.MaxVUs() != 3 {
		t.Errorf("loads: browse %v, buy %v, api %+v", browse.Load, buy.Load, api.Load)
	}
	same(t, "pacing", []time.Duration{browse.Pacing, buy.Pacing, api.Pacing}, []time.Duration{0, 10 * time.Second, 0})

	// Sessions: the browsers inherit the plan's, the API clients have their own.
	same(t, "logins", []vuser.LoginKind{browse.Script.Login.Kind, buy.Script.Login.Kind, api.Script.Login.Kind},
		[]vuser.LoginKind{vuser.LoginSpringForm, vuser.LoginSpringForm, vuser.LoginJSONToken})
	same(t, "api login path", api.Script.Login.Path, "/api/token")
	same(t, "browse login path", browse.Script.Login.Path, "/login")
	if api.Users.Len() != 3 || browse.Users.Len() != 0 || browse.Users.Identity(4).Username != "user4" {
		t.Errorf("users: api %d rows, browse %d (%v)", api.Users.Len(), browse.Users.Len(), browse.Users.Identity(4))
	}
	same(t, "think", []vuser.Think{browse.Script.Think, buy.Script.Think, api.Script.Think},
		[]vuser.Think{{Min: 500 * time.Millisecond, Max: 500 * time.Millisecond}, {Min: time.Second, Max: time.Second}, {Min: 500 * time.Millisecond, Max: 500 * time.Millisecond}})
	// Every scenario has its own script: nothing mutable is shared.
	if browse.Script == buy.Script {
		t.Fatal("browse and buy share a script")
	}
	browse.Script.Headers.Set("X-Changed", "1")
	if buy.Script.Headers.Get("X-Changed") != "" {
		t.Error("browse and buy share their headers")
	}

	same(t, "browse flow", shape(browse.Script.Steps), []string{
		"GET catalog", "foreach", "[", "GET item", "]",
		"random", "[", "branch", "[", "GET me", "]", "branch", "[", "GET home", "]", "]"})
	same(t, "buy flow", shape(buy.Script.Steps), []string{
		"group checkout", "[", "repeat", "[", "POST add", "]", "GET view", "]",
		"if", "[", "GET ok", "else", "GET retry", "]",
		"repeat", "[", "GET poll", "]"})
	same(t, "api flow", shape(api.Script.Steps), []string{"GET me", "repeat", "[", "GET me", "]", "if", "[", "GET cart", "]"})

	// The flow steps' fields.
	fe := browse.Script.Steps[1].Foreach
	same(t, "foreach", []any{fe.Var, fe.As, fe.Limit}, []any{"ids", "id", 3})
	item := fe.Steps[0]
	same(t, "item path", item.Path.Raw(), "/api/item/{{.Var.id}}")
	same(t, "item think", *item.Think, vuser.Think{})
	same(t, "shared header inside a foreach", item.Headers[0].Name+": "+item.Headers[0].Value.Raw(), "X-Run: vu-{{.VU}}")
	rnd := browse.Script.Steps[2].Random
	same(t, "branch weights", []float64{rnd[0].Weight, rnd[1].Weight}, []float64{3, 1.5})
	same(t, "branch think", *rnd[0].Steps[0].Think, vuser.Think{Min: time.Second, Max: 2 * time.Second})
	if rnd[1].Steps[0].Think != nil {
		t.Error("a step without think: has a Think")
	}
	ex := browse.Script.Steps[0].Extract
	same(t, "extract options", []any{ex[0].Var, ex[0].All, ex[1].Var, ex[1].Index, ex[1].Optional},
		[]any{"ids", true, "one", 2, true})
	if x := api.Script.Steps[0].Extract[0]; !x.PickRandom || x.All {
		t.Errorf("pick: random: %+v", x)
	}

	same(t, "group think", *buy.Script.Steps[0].Think, vuser.Think{Min: 2 * time.Second, Max: 2 * time.Second})
	if buy.Script.Steps[1].Think != nil {
		t.Error("a flow step without think: has a Think")
	}
	rep := buy.Script.Steps[0].Group.Steps[0].Repeat
	if rep.Times == nil || rep.Times.Raw() != "3" || rep.For != 0 {
		t.Errorf("repeat times: %+v", rep)
	}
	if r := buy.Script.Steps[2].Repeat; r.Times != nil || r.For != 2*time.Second {
		t.Errorf("repeat for: %+v", r)
	}
	c := buy.Script.Steps[0].Group.Steps[1].Check
	if len(c.BodyContainsT) != 1 || c.BodyContainsT[0].Raw() != "{{.User}}" || c.BodyContains[0] != "{{.User}}" {
		t.Errorf("templated body_contains: %+v", c)
	}
	if len(c.BodyMatches) != 2 || !c.BodyMatches[0].MatchString(`"id":"cart-12"`) || c.BodyNotContains[0] != "error" {
		t.Errorf("body checks: %+v", c)
	}
	if len(c.Headers) != 3 || c.Headers[0].Name != "Content-Type" || c.Headers[0].Contains != "json" ||
		c.Headers[1].Name != "X-Request-Id" || !c.Headers[1].Exists || c.Headers[2].Equals.Raw() != "no-store" {
		t.Errorf("header checks: %+v", c.Headers)
	}
	cond := buy.Script.Steps[1].If
	if !cond.Status || cond.Op != vuser.CondEquals || cond.Value.Raw() != "200" {
		t.Errorf("if status: %+v", cond)
	}
	cond = api.Script.Steps[2].If
	if cond.Var != "who" || cond.Op != vuser.CondMatches || !cond.Regexp.MatchString("user12") || cond.Else != nil {
		t.Errorf("if var: %+v", cond)
	}
}

// The one-scenario shorthand is one scenario of weight 1, unnamed.
func TestDecodeOneScenario(t *testing.T) {
	t.Parallel()
	p := load(t, "minimal.yaml")
	if len(p.Scenarios) != 1 || p.Scenarios[0].Weight != 1 || p.Scenarios[0].Name != "" || p.Scenarios[0].Load != nil {
		t.Errorf("scenarios: %+v", p.Scenarios)
	}
}

// Every scenario with a load of its own: the plan needs none.
func TestDecodeScenariosOwnLoads(t *testing.T) {
	t.Parallel()
	const plan = `
target: http://127.0.0.1:8080
scenarios:
  - name: a
    load: {vus: 2, duration: 10s}
    steps: [{name: x, get: /}]
  - name: b
    load: {stages: [{duration: 5s, target: 4}]}
    steps: [{name: x, get: /}]
`
	p, err := profiles.Parse("p.yaml", []byte(plan), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if p.Load.MaxVUs() != 0 || p.Scenarios[0].Load.MaxVUs() != 2 || p.Scenarios[1].Load.MaxVUs() != 4 {
		t.Errorf("loads: plan %+v, a %+v, b %+v", p.Load, p.Scenarios[0].Load, p.Scenarios[1].Load)
	}
	if p.Scenarios[0].Weight != 0 || p.Scenarios[1].Weight != 0 {
		t.Errorf("weights %v %v, want 0 with own loads", p.Scenarios[0].Weight, p.Scenarios[1].Weight)
	}
}

// Every users template password of the plan (the plan's and each
// scenario's) is kept out of Plan.Source, block scalars included.
func TestDecodeScenarioSecrets(t *testing.T) {
	t.Parallel()
	const plan = `
target: http://127.0.0.1:8080
users: {template: {username: "u{{.VU}}", password: "plan-Secret-1"}}
session: {login: basic}
scenarios:
  - name: a
    users:
      template:
        username: "a{{.VU}}"
        password: |
          block-Secret-2
    steps: [{name: x, get: /}]
  - name: b
    users: {template: {username: "b{{.VU}}", password: 'quoted-Secret-3'}}
    steps: [{name: x, get: /}]
  - name: c
    steps: [{name: x, get: /}]
load: {vus: 3, duration: 1s}
`
	p, err := profiles.Parse("p.yaml", []byte(plan), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"plan-Secret-1", "block-Secret-2", "quoted-Secret-3"} {
		if strings.Contains(p.Source, pw) {
			t.Errorf("%s is in Plan.Source:\n%s", pw, p.Source)
		}
	}
	for _, keep := range []string{"name: c", `username: "a{{.VU}}"`, "load: {vus: 3, duration: 1s}"} {
		if !strings.Contains(p.Source, keep) {
			t.Errorf("Plan.Source lost %q:\n%s", keep, p.Source)
		}
	}
	got := []string{p.Scenarios[0].Users.Identity(2).Password, p.Scenarios[1].Users.Identity(2).Password, p.Scenarios[2].Users.Identity(2).Password}
	same(t, "passwords", got, []string{"block-Secret-2\n", "quoted-Secret-3", "plan-Secret-1"})
}

// A scenario that logs in with the plan's login steps has its own copy:
// changing one scenario's steps changes no other's.
func TestDecodeScenarioLoginStepsCopied(t *testing.T) {
	t.Parallel()
	const plan = `
target: http://127.0.0.1:8080
headers: {X-Vu: "{{.VU}}"}
users: {template: {username: "u{{.VU}}", password: p}}
session: {login: steps, login_steps: [{name: sign-in, post: /login, form: {u: "{{.User}}"}, extract: {tok: {json: $.t}}}]}
scenarios:
  - name: a
    steps: [{name: x, get: "/{{.Var.tok}}"}]
  - name: b
    steps: [{name: y, get: "/{{.Var.tok}}"}]
load: {vus: 2, duration: 1s}
`
	p, err := profiles.Parse("p.yaml", []byte(plan), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, b := p.Scenarios[0].Script.Login.Steps, p.Scenarios[1].Script.Login.Steps
	if len(a) != 1 || len(b) != 1 || a[0].Name != "sign-in" || len(a[0].Headers) != 1 || a[0].Headers[0].Name != "X-Vu" {
		t.Fatalf("login steps: %+v / %+v", a, b)
	}
	a[0].Name = "changed"
	a[0].Form[0].Name = "changed"
	a[0].Headers[0].Name = "changed"
	if b[0].Name != "sign-in" || b[0].Form[0].Name != "u" || b[0].Headers[0].Name != "X-Vu" {
		t.Errorf("scenario b shares its login steps with a: %+v", b[0])
	}
}

// Steps that aliases repeat exponentially through flow steps, or flow
// steps nested without end, are refused quickly, not read for minutes.
func TestDecodeStepBounds(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("target: http://127.0.0.1:8080\nx-0: &s0 [{name: a, get: \"/{{.Var.q}}\"}]\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "x-%d: &s%d [{repeat: {times: 2, steps: *s%d}}, {group: g, steps: *s%d}, {random: [{steps: *s%d}, {steps: *s%d}]}]\n", i, i, i-1, i-1, i-1, i-1)
	}
	b.WriteString("scenario: *s30\nload: {vus: 1, duration: 1s}\n")
	start := time.Now()
	_, err := profiles.Parse("p.yaml", []byte(b.String()), t.TempDir())
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Parse took %s", took)
	}
	if err == nil || !strings.Contains(err.Error(), "plan too large: more than 16384 steps") {
		t.Errorf("an alias bomb of steps: %.500v", err)
	}

	// Each level indented under the previous one.
	var d strings.Builder
	d.WriteString("target: http://127.0.0.1:8080\nscenario:\n")
	for i := 0; i < 40; i++ {
		ind := strings.Repeat("  ", 2*i+1)
		fmt.Fprintf(&d, "%s- repeat:\n%s    times: 2\n%s    steps:\n", ind, ind, ind)
	}
	fmt.Fprintf(&d, "%s- {name: a, get: /}\nload: {vus: 1, duration: 1s}\n", strings.Repeat("  ", 81))
	_, err = profiles.Parse("p.yaml", []byte(d.String()), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "flow steps nested more than 32 deep") {
		t.Errorf("40 nested repeats: %.500v", err)
	}
}

// The CLI's overrides change the plan's load, which the weighted
// scenarios share; a plan without one refuses them.
func TestDecodeScenariosOverrides(t *testing.T) {
	t.Parallel()
	const own = `
target: http://127.0.0.1:8080
scenarios:
  - {name: a, load: {vus: 2, duration: 10s}, steps: [{name: x, get: /}]}
`
	_, err := profiles.ParseWith("p.yaml", []byte(own), t.TempDir(), profiles.Overrides{VUs: 5})
	if err == nil || err.Error() != "--vus 5: applies to the plan's load, and every scenario of this plan has a load of its own" {
		t.Errorf("overrides without a plan load: %v", err)
	}
	const mixed = `
target: http://127.0.0.1:8080
scenarios:
  - {name: a, weight: 3, steps: [{name: x, get: /}]}
  - {name: b, load: {vus: 2, duration: 10s}, steps: [{name: x, get: /}]}
load: {vus: 4, duration: 1m}
`
	p, err := profiles.ParseWith("p.yaml", []byte(mixed), t.TempDir(), profiles.Overrides{VUs: 9, Duration: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if p.Load.VUs != 9 || p.Load.Duration != 20*time.Second || p.Scenarios[1].Load.VUs != 2 || p.Scenarios[1].Load.Duration != 10*time.Second {
		t.Errorf("loads after overrides: plan %+v, b %+v", p.Load, p.Scenarios[1].Load)
	}
}
