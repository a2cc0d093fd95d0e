package load

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/vuser"
)

const samplePlan = `
target: TARGET
users:
  template: {username: "user{{.VU}}", password: secret}
session:
  login: spring-form
  login_path: /login
scenario:
  - name: me
    get: /api/me
    check: {status: 200, json: {"$.user": "{{.User}}"}}
think: 1ms
load:
  vus: 3
  duration: 300ms
thresholds:
  "me p99": "< 2s"
`

// parsed is samplePlan against srv as a Test.
func parsed(t *testing.T, url string) Test {
	t.Helper()
	p, err := profiles.Parse("sample.yaml", []byte(strings.ReplaceAll(samplePlan, "TARGET", url)), ".")
	if err != nil {
		t.Fatal(err)
	}
	return FromPlan(p)
}

// Run never changes its input: the same Test run twice is deep-equal,
// after each run, to one never run.
func TestRunLeavesTheTestAsItWas(t *testing.T) {
	srv, err := target.New(target.Config{Users: 10}).Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	test, pristine := parsed(t, srv.URL()), parsed(t, srv.URL())
	if !reflect.DeepEqual(test, pristine) {
		t.Fatal("two parses of one plan differ")
	}
	for run := 1; run <= 2; run++ {
		res, err := Run(context.Background(), test)
		if err != nil {
			t.Fatal(err)
		}
		if res.Totals.Requests == 0 || !res.ThresholdsOK() {
			t.Fatalf("run %d: %d requests, thresholds %+v", run, res.Totals.Requests, res.Thresholds)
		}
		if !reflect.DeepEqual(test, pristine) {
			t.Fatalf("run %d changed the Test:\n%+v\nwant\n%+v", run, test, pristine)
		}
	}
	if n := len(srv.Target().AuthenticatedUsers()); n != 3 {
		t.Errorf("the server saw %d users log in, want 3", n)
	}
}

// Validate names every mistake of a Test built in Go, as the plan's keys.
func TestValidate(t *testing.T) {
	step := []vuser.Step{{Name: "home", Method: "GET"}}
	for _, tc := range []struct {
		name string
		test Test
		want []string
	}{
		{"no target", Test{Scenarios: []Scenario{{Steps: step}}, Load: profiles.Load{VUs: 1}},
			[]string{"target: missing"}},
		{"bad target", Test{Target: "ftp://x", Scenarios: []Scenario{{Steps: step}}, Load: profiles.Load{VUs: 1}},
			[]string{`target: expected an absolute http(s) URL like http://127.0.0.1:8080/app, got "ftp://x"`}},
		{"no scenario", Test{Target: "http://127.0.0.1:1"},
			[]string{"scenarios: expected at least one scenario"}},
		{"weight and load", Test{Target: "http://127.0.0.1:1", Load: profiles.Load{VUs: 1}, Scenarios: []Scenario{
			{Name: "a", Steps: step, Weight: 2, Load: &profiles.Load{VUs: 1}}, {Name: "a", Steps: step, Weight: -1}}},
			[]string{"scenarios[0]: has both a weight", `scenarios[1].name: "a" is the name of scenarios[0] too`, "scenarios[1].weight: expected a positive number, got -1"}},
		{"no steps", Test{Target: "http://127.0.0.1:1", Scenarios: []Scenario{{}}},
			[]string{"scenarios[0]: has no steps and no Func", "load: the weighted scenarios share the test's load, which has no VUs"}},
		{"bad threshold", Test{Target: "http://127.0.0.1:1", Load: profiles.Load{VUs: 1}, Scenarios: []Scenario{{Steps: step}},
			Thresholds: []Threshold{{Metric: "home p99", Condition: "<< 1s"}}},
			[]string{`thresholds[0] "home p99": `}},
	} {
		err := tc.test.Validate()
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
	}
}
