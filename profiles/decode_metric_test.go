package profiles

import "testing"

// unknownMetric knows the plan's scenarios, groups and steps, each in
// its scenario, for thresholds that name them.
func TestUnknownMetric(t *testing.T) {
	t.Parallel()
	const plan = `
target: http://127.0.0.1:8080
users: {template: {username: "u{{.VU}}", password: p}}
session: {login: steps, login_steps: [{name: sign-in, post: /login}]}
scenarios:
  - name: browse
    steps: [{name: home, get: /}]
  - name: buy
    session: {login: none}
    steps:
      - group: checkout
        steps:
          - {name: pay, post: /api/cart}
          - group: confirm
            steps: [{name: ok, get: /ok}]
load: {vus: 10, duration: 1m}
`
	d := newDecoder("p.yaml", t.TempDir(), []byte(plan))
	root, ok := d.document([]byte(plan))
	if !ok {
		t.Fatal(d.problems())
	}
	d.plan(root)
	if len(d.probs) > 0 {
		t.Fatal(d.problems())
	}
	for _, c := range []struct{ scenario, group, endpoint, want string }{
		{"", "", "home", ""},
		{"", "", "pay", ""},
		{"", "", "checkout", `no step is named "checkout": it is a group, write "group checkout STAT"`},
		{"", "", "sign-in", ""}, // the plan's login steps
		{"", "", "total", ""},
		{"", "", "hom", `no step is named "hom"; did you mean "home"?`},
		{"browse", "", "home", ""},
		{"browse", "", "sign-in", ""}, // browse logs in with the plan's steps
		{"buy", "", "sign-in", `no step is named "sign-in" in scenario buy`},
		{"buy", "", "home", `no step is named "home" in scenario buy`},
		{"buy", "checkout", "", ""},
		{"buy", "checkout", "pay", ""},
		{"browse", "checkout", "", `no group is named "checkout" in scenario browse`},
		{"", "checkout", "", ""},
		{"", "cart", "", `no group is named "cart"`},
		{"", "checkout", "checkout", `no step is named "checkout"`},
		{"sell", "", "", `no scenario is named "sell"`},
		{"", "", "login", ""},
		{"buy", "checkout/confirm", "", ""}, // a group in a group
		{"", "confirm", "", `no group is named "confirm"`},
		{"buy", "checkout/confirm", "ok", ""},
	} {
		if got := d.unknownMetric(c.scenario, c.group, c.endpoint); got != c.want {
			t.Errorf("unknownMetric(%q, %q, %q) = %q, want %q", c.scenario, c.group, c.endpoint, got, c.want)
		}
	}
}
