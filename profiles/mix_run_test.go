package profiles_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// These tests build their plans in Go (profiles.Plan with Scenarios and
// vuser.Script values) and count on the server's side what each kind of
// user did: the demo target counts requests per path and user.

// numbered are users user<base+1>, user<base+2>, ...: VU k of a scenario
// (by its own index) is user<base+k>. n bounds the list (0: none).
type numbered struct{ base, n int }

func (u numbered) Identity(k int) vuser.Identity {
	return vuser.Identity{Username: fmt.Sprintf("user%d", u.base+k), Password: target.Password}
}

func (u numbered) Len() int { return u.n }

// kind is one kind of user: its name, weight or load, path and login.
type kind struct {
	name   string
	weight float64
	load   *profiles.Load
	login  vuser.LoginKind
	users  profiles.Users
	pacing time.Duration
	think  time.Duration
}

func mustTemplate(t *testing.T, s string) *vuser.Template {
	t.Helper()
	tm, err := vuser.ParseTemplate(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// echoPath is the target path of scenario name's one step.
func echoPath(name string) string { return "/api/echo/" + name }

// script is one step on the scenario's own path whose answer must name
// the VU's own user.
func script(t *testing.T, u *url.URL, k kind) *vuser.Script {
	s := &vuser.Script{
		Name:    k.name,
		Target:  u,
		Session: vuser.Session{End: vuser.EndAbandon, RetryLogin: time.Second},
		Login:   vuser.Login{Kind: k.login},
		Timeout: 10 * time.Second,
		Think:   vuser.Think{Min: k.think, Max: k.think},
		Steps: []vuser.Step{{
			Name:    k.name,
			Method:  "GET",
			Path:    mustTemplate(t, echoPath(k.name)),
			Headers: []vuser.Header{{Name: "Accept", Value: mustTemplate(t, "application/json")}},
			Check: vuser.Check{Status: []int{200}, JSON: []vuser.JSONCheck{
				{Path: "$.user", Equals: "{{.User}}", Want: mustTemplate(t, "{{.User}}")},
				{Path: "$.path", Equals: echoPath(k.name)},
			}},
		}},
	}
	switch k.login {
	case vuser.LoginSpringForm:
		s.Login.Path = "/login"
	case vuser.LoginJSONToken:
		s.Login.Path = "/api/token"
	}
	return s
}

// quietTail is rate/s for d, then nothing for tail: exactly rate×d
// arrivals, and time after the last for the queue to empty before the
// schedule's end stops the VUs (and drops what still waits).
func quietTail(rate float64, d, tail time.Duration) profiles.Schedule {
	return profiles.Schedule{Start: rate, Stages: []profiles.RateStage{
		{Duration: d, Target: rate}, {Duration: 0, Target: 0}, {Duration: tail, Target: 0}}}
}

// mixPlan is a plan of the kinds on load l.
func mixPlan(t *testing.T, u *url.URL, l profiles.Load, kinds ...kind) *profiles.Plan {
	p := &profiles.Plan{Name: t.Name(), Load: l}
	for _, k := range kinds {
		p.Scenarios = append(p.Scenarios, &profiles.Scenario{
			Name: k.name, Weight: k.weight, Load: k.load, Script: script(t, u, k), Users: k.users, Pacing: k.pacing,
		})
	}
	return p
}

// runAll runs the plans at once (the segments of one test) and returns
// their results.
func runAll(t *testing.T, plans []*profiles.Plan, opts []profiles.RunOptions) []*stats.Results {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := make([]*stats.Results, len(plans))
	errs := make([]error, len(plans))
	var wg sync.WaitGroup
	for i := range plans {
		wg.Go(func() { out[i], errs[i] = profiles.Run(ctx, plans[i], opts[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the runs did not end by themselves")
	}
	return out
}

// segments runs n segments of the plan made by mk at once, with one start
// instant (n = 1: the whole plan, unsplit).
func segments(t *testing.T, n int, mk func() *profiles.Plan) []*stats.Results {
	t.Helper()
	plans := make([]*profiles.Plan, n)
	opts := make([]profiles.RunOptions, n)
	at := time.Now().Add(time.Second)
	for i := range n {
		plans[i] = mk()
		if n > 1 {
			opts[i] = profiles.RunOptions{Segment: profiles.Segment{Index: i, Count: n}, StartAt: at}
		}
	}
	return runAll(t, plans, opts)
}

// pathUsers is who the target saw on path, sorted, with their counts.
func pathUsers(tg *target.Target, path string) (users []string, cookie, bearer int64) {
	for name, c := range tg.PathUsers()[path] {
		users = append(users, name)
		cookie += c.Cookie
		bearer += c.Bearer
	}
	sort.Strings(users)
	return users, cookie, bearer
}

func userRange(base, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%d", base+i+1)
	}
	sort.Strings(out)
	return out
}

// noErrors fails on any failed request of the runs.
func noErrors(t *testing.T, rs []*stats.Results) {
	t.Helper()
	for i, r := range rs {
		if r.Totals.Errors != 0 {
			t.Errorf("run %d: %d errors %v; warnings %q", i, r.Totals.Errors, r.ErrorsByKind, r.Warnings)
		}
	}
}

// 100 VUs on weights 7/2/1: the server sees exactly 70, 20 and 10
// distinct users on the three scenarios' paths, each the scenario's own
// users by its own index (user1.., user101.., user201..), and no user on
// two paths; split into 2 and 3 segments run at once, the union is the
// same.
func TestMixClosedWeights(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("segments=%d", n), func(t *testing.T) {
			tg, u := startTarget(t, target.Config{Users: 300, CountPaths: true})
			load := profiles.Load{VUs: 100, Duration: 1500 * time.Millisecond, GracefulStop: 5 * time.Second}
			mk := func() *profiles.Plan {
				return mixPlan(t, u, load,
					kind{name: "browse", weight: 7, login: vuser.LoginSpringForm, users: numbered{0, 100}, think: 100 * time.Millisecond},
					kind{name: "cart", weight: 2, login: vuser.LoginSpringForm, users: numbered{100, 100}, think: 100 * time.Millisecond},
					kind{name: "buy", weight: 1, login: vuser.LoginSpringForm, users: numbered{200, 100}, think: 100 * time.Millisecond},
				)
			}
			rs := segments(t, n, mk)
			noErrors(t, rs)
			seen := map[string]string{}
			for i, want := range []struct {
				name  string
				users []string
			}{{"browse", userRange(0, 70)}, {"cart", userRange(100, 20)}, {"buy", userRange(200, 10)}} {
				got, cookie, bearer := pathUsers(tg, echoPath(want.name))
				if !slices.Equal(got, want.users) {
					t.Errorf("scenario %d (%s): the server saw %d users %v, want %d: %v", i, want.name, len(got), got, len(want.users), want.users)
				}
				if cookie < int64(len(want.users)) || bearer != 0 {
					t.Errorf("%s: %d requests in sessions, %d with tokens; want >= %d and 0", want.name, cookie, bearer, len(want.users))
				}
				for _, user := range got {
					if other, ok := seen[user]; ok {
						t.Errorf("%s is on the paths of %s and %s", user, other, want.name)
					}
					seen[user] = want.name
				}
			}
			for user, k := range tg.AuthenticatedUsers() {
				if k != 1 {
					t.Errorf("%s logged in %d times, want once", user, k)
				}
			}
			if n == 1 {
				want := []stats.ScenarioResult{{Name: "browse", Weight: 7, VUsMax: 70}, {Name: "cart", Weight: 2, VUsMax: 20}, {Name: "buy", Weight: 1, VUsMax: 10}}
				var got []stats.ScenarioResult
				for _, s := range rs[0].Scenarios {
					got = append(got, stats.ScenarioResult{Name: s.Name, Weight: s.Weight, VUsMax: s.VUsMax})
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("results scenarios %+v, want %+v", got, want)
				}
			}
		})
	}
}

// Scenarios that share one list of users (the plan's users:) take them
// by global VU id: VU i, of scenario mix.At(i-1), is user i; no user is
// in two scenarios.
func TestMixSharedUsers(t *testing.T) {
	tg, u := startTarget(t, target.Config{Users: 100, CountPaths: true})
	users := numbered{0, 60}
	p := mixPlan(t, u, profiles.Load{VUs: 60, Duration: time.Second, GracefulStop: 5 * time.Second},
		kind{name: "a", weight: 3, login: vuser.LoginSpringForm, users: users, think: 100 * time.Millisecond},
		kind{name: "b", weight: 2, login: vuser.LoginSpringForm, users: users, think: 100 * time.Millisecond},
		kind{name: "c", weight: 1, login: vuser.LoginSpringForm, users: users, think: 100 * time.Millisecond},
	)
	rs := segments(t, 1, func() *profiles.Plan { return p })
	noErrors(t, rs)
	mix, err := profiles.NewMix([]float64{3, 2, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]string, 3)
	for id := 1; id <= 60; id++ {
		s := mix.At(int64(id - 1))
		want[s] = append(want[s], fmt.Sprintf("user%d", id))
	}
	for s, name := range []string{"a", "b", "c"} {
		sort.Strings(want[s])
		if got, _, _ := pathUsers(tg, echoPath(name)); !slices.Equal(got, want[s]) {
			t.Errorf("%s: the server saw %v, want %v", name, got, want[s])
		}
	}
	if n := len(tg.AuthenticatedUsers()); n != 60 {
		t.Errorf("%d distinct users logged in, want 60", n)
	}
}

// 1,000 arrivals on weights 3/1: the server counts exactly 750 and 250
// iterations on the two scenarios' paths, each served by a VU of the
// scenario's own pool (users by its own index); the same split across 2
// segments.
func TestMixOpenWeights(t *testing.T) {
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprintf("segments=%d", n), func(t *testing.T) {
			tg, u := startTarget(t, target.Config{Users: 200, CountPaths: true})
			load := profiles.Load{Open: &profiles.Open{
				Rate:            quietTail(500, 2*time.Second, 500*time.Millisecond),
				PreallocatedVUs: 40, MaxVUs: 80,
			}, GracefulStop: 5 * time.Second}
			mk := func() *profiles.Plan {
				return mixPlan(t, u, load,
					kind{name: "api-a", weight: 3, login: vuser.LoginSpringForm, users: numbered{0, 60}},
					kind{name: "api-b", weight: 1, login: vuser.LoginSpringForm, users: numbered{100, 20}},
				)
			}
			rs := segments(t, n, mk)
			noErrors(t, rs)
			var done, dropped int64
			for _, r := range rs {
				done += r.Iterations.Completed
				dropped += r.Iterations.Dropped
			}
			if done != 1000 || dropped != 0 {
				t.Errorf("%d iterations completed, %d dropped; want 1000 and 0", done, dropped)
			}
			for _, want := range []struct {
				name  string
				n     int64
				users []string
			}{{"api-a", 750, userRange(0, 60)}, {"api-b", 250, userRange(100, 20)}} {
				got, cookie, _ := pathUsers(tg, echoPath(want.name))
				if cookie != want.n {
					t.Errorf("%s: the server counted %d iterations, want exactly %d", want.name, cookie, want.n)
				}
				for _, user := range got {
					if !slices.Contains(want.users, user) {
						t.Errorf("%s: user %s is not one of the scenario's", want.name, user)
					}
				}
			}
		})
	}
}

// Two kinds of users with different logins and shapes in one run:
// browsers on spring-form ramp up in the closed model while API clients
// on json-token arrive at a rate. Each request carries its own user's
// session or token: every answer names the VU's own user (a JSON check
// with {{.User}}: no check fails), and the server saw the browsers only
// by cookie on their path and the API clients only by token on theirs.
func TestMixLoginsAndShapes(t *testing.T) {
	tg, u := startTarget(t, target.Config{Users: 200, CountPaths: true})
	browsers := &profiles.Load{Stages: []profiles.Stage{{Duration: time.Second, Target: 20}, {Duration: 1500 * time.Millisecond, Target: 20}}, GracefulStop: 5 * time.Second}
	clients := &profiles.Load{Open: &profiles.Open{
		Rate:            quietTail(100, 2*time.Second, 500*time.Millisecond),
		PreallocatedVUs: 5, MaxVUs: 10,
	}, GracefulStop: 5 * time.Second}
	p := mixPlan(t, u, profiles.Load{},
		kind{name: "browser", load: browsers, login: vuser.LoginSpringForm, users: numbered{0, 20}, think: 100 * time.Millisecond},
		kind{name: "client", load: clients, login: vuser.LoginJSONToken, users: numbered{100, 10}},
	)
	rs := segments(t, 1, func() *profiles.Plan { return p })
	res := rs[0]
	noErrors(t, rs)
	if n := res.ErrorsByKind["check_failed"]; n != 0 {
		t.Errorf("%d check failures: some answer named another user", n)
	}
	if res.Iterations.Dropped != 0 {
		t.Errorf("%d arrivals dropped", res.Iterations.Dropped)
	}
	got, cookie, bearer := pathUsers(tg, echoPath("browser"))
	if !slices.Equal(got, userRange(0, 20)) || bearer != 0 || cookie < 20 {
		t.Errorf("browser path: users %v, %d by cookie, %d by token; want user1..user20, by cookie only", got, cookie, bearer)
	}
	got, cookie, bearer = pathUsers(tg, echoPath("client"))
	if len(got) < 5 || cookie != 0 || bearer != 200 {
		t.Errorf("client path: users %v, %d by cookie, %d by token; want at least the 5 preallocated, 200 requests by token only", got, cookie, bearer)
	}
	tokens := tg.TokenUsers()
	for _, user := range got {
		if !slices.Contains(userRange(100, 10), user) || tokens[user] != 1 {
			t.Errorf("client path: %s is no client, or got %d tokens (want 1)", user, tokens[user])
		}
	}
	if len(tokens) != len(got) {
		t.Errorf("%d users got tokens, %d used the client path", len(tokens), len(got))
	}
	forms := tg.AuthenticatedUsers()
	if len(forms) != 20 {
		t.Errorf("%d users logged in with the form, want the 20 browsers: %v", len(forms), forms)
	}
	for _, s := range res.Scenarios {
		switch {
		case s.Name == "browser" && (s.VUsMax != 20 || s.Weight != 0),
			s.Name == "client" && (s.VUsMax < 5 || s.VUsMax > 10 || s.Weight != 0):
			t.Errorf("scenario %+v: wrong peak VUs or weight", s)
		}
	}
	if len(res.Scenarios) != 2 || res.VUs.Max < 25 || res.VUs.Max > 30 {
		t.Errorf("%d scenarios, %d VUs at most; want 2, and 25..30", len(res.Scenarios), res.VUs.Max)
	}
}

// A scenario's own pacing replaces the load's: at 200 ms and 100 ms per
// iteration for 2 s, the server counts about 10 and 20 requests per user.
func TestMixPacing(t *testing.T) {
	tg, u := startTarget(t, target.Config{Users: 10, CountPaths: true})
	p := mixPlan(t, u, profiles.Load{VUs: 4, Duration: 2 * time.Second, Pacing: 100 * time.Millisecond, GracefulStop: 5 * time.Second},
		kind{name: "slow", weight: 1, login: vuser.LoginSpringForm, users: numbered{0, 2}, pacing: 200 * time.Millisecond},
		kind{name: "fast", weight: 1, login: vuser.LoginSpringForm, users: numbered{5, 2}},
	)
	rs := segments(t, 1, func() *profiles.Plan { return p })
	noErrors(t, rs)
	for _, want := range []struct {
		name   string
		lo, hi int64
	}{{"slow", 8, 11}, {"fast", 17, 21}} {
		for user, c := range tg.PathUsers()[echoPath(want.name)] {
			if c.Cookie < want.lo || c.Cookie > want.hi {
				t.Errorf("%s: %s made %d requests, want %d..%d", want.name, user, c.Cookie, want.lo, want.hi)
			}
		}
		if users, _, _ := pathUsers(tg, echoPath(want.name)); len(users) != 2 {
			t.Errorf("%s: %d users, want 2", want.name, len(users))
		}
	}
}

// Run never changes its input (#19): the same Plan, run twice (with a
// seed given as an option, and defaults the run fills in: graceful stop,
// session cookie, max body), deep-equals a twin never run, after each run.
func TestRunLeavesPlanAlone(t *testing.T) {
	_, u := startTarget(t, target.Config{Users: 50})
	mk := func() *profiles.Plan {
		return mixPlan(t, u, profiles.Load{VUs: 4, Duration: 300 * time.Millisecond},
			kind{name: "a", weight: 3, login: vuser.LoginSpringForm, users: numbered{0, 10}},
			kind{name: "b", weight: 1, login: vuser.LoginJSONToken, users: numbered{10, 10}},
			kind{name: "c", login: vuser.LoginSpringForm, users: numbered{20, 10},
				load: &profiles.Load{Open: &profiles.Open{Rate: profiles.Schedule{Start: 20, Duration: 300 * time.Millisecond}, MaxVUs: 2}}},
		)
	}
	yaml := func() *profiles.Plan {
		return plan(t, u, `
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form}
scenario: [{name: me, get: /api/me, headers: {Accept: application/json}}]
load: {vus: 2, duration: 300ms}
`)
	}
	for name, mk := range map[string]func() *profiles.Plan{"go": mk, "yaml": yaml} {
		p, twin := mk(), mk()
		if !reflect.DeepEqual(p, twin) {
			t.Fatalf("%s: two plans built alike differ before any run", name)
		}
		for i, seed := range []uint64{42, 0} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			res, err := profiles.Run(ctx, p, profiles.RunOptions{Seed: seed})
			cancel()
			if err != nil {
				t.Fatalf("%s: run %d: %v", name, i+1, err)
			}
			if res.Totals.Requests == 0 {
				t.Errorf("%s: run %d sent no request", name, i+1)
			}
			if !reflect.DeepEqual(p, twin) {
				t.Errorf("%s: run %d changed the plan:\n%+v\nwas\n%+v", name, i+1, p.Scenarios[0].Script, twin.Scenarios[0].Script)
			}
		}
	}
}

// A Plan built in Go with no users (Users nil) runs anonymous VUs.
func TestRunNilUsers(t *testing.T) {
	tg, u := startTarget(t, target.Config{Users: 5})
	s := &vuser.Script{Target: u, Steps: []vuser.Step{{Name: "page", Method: "GET", Path: mustTemplate(t, "/login"), Check: vuser.Check{Status: []int{200}}}}}
	p := &profiles.Plan{Scenarios: []*profiles.Scenario{{Script: s}}, Load: profiles.Load{VUs: 2, Duration: 300 * time.Millisecond}}
	res := run(t, p)
	if res.Totals.Requests == 0 || res.Totals.Errors != 0 || tg.Stats().Created < 2 {
		t.Errorf("%d requests, %d errors, %d sessions on the server; want some, none, >= 2", res.Totals.Requests, res.Totals.Errors, tg.Stats().Created)
	}
	if len(res.Scenarios) != 1 || res.Scenarios[0].Name != "" || res.Scenarios[0].VUsMax != 2 || res.Scenarios[0].Requests != res.Totals.Requests {
		t.Errorf("results scenarios %+v for a plan's only unnamed scenario, want one, unnamed, with every request and 2 VUs", res.Scenarios)
	}
}

// A Plan built in Go gets clear errors, before any load, for what the
// decoder would have refused.
func TestRunBadPlans(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1")
	ok := func() *vuser.Script { return &vuser.Script{Target: u} }
	closed := profiles.Load{VUs: 2, Duration: time.Second}
	for _, tc := range []struct {
		name string
		p    *profiles.Plan
		seg  profiles.Segment
		want string
	}{
		{"nil", nil, profiles.Segment{}, "no plan"},
		{"no scenarios", &profiles.Plan{Load: closed}, profiles.Segment{}, "the plan has no scenarios"},
		{"nil scenario", &profiles.Plan{Scenarios: []*profiles.Scenario{nil}, Load: closed}, profiles.Segment{}, "scenario 1: nil"},
		{"no script", &profiles.Plan{Scenarios: []*profiles.Scenario{{Name: "x"}}, Load: closed}, profiles.Segment{}, `scenario "x": no script`},
		{"weight and load", &profiles.Plan{Scenarios: []*profiles.Scenario{{Name: "x", Weight: 2, Load: &closed, Script: ok()}}}, profiles.Segment{},
			`scenario "x": both a weight (2) and a load of its own; expected one of them`},
		{"negative weight", &profiles.Plan{Scenarios: []*profiles.Scenario{{Name: "x", Weight: -1, Script: ok()}}, Load: closed}, profiles.Segment{},
			`scenario "x": weight -1: expected a positive number`},
		{"same name", &profiles.Plan{Scenarios: []*profiles.Scenario{{Name: "x", Script: ok()}, {Name: "x", Script: ok()}}, Load: closed}, profiles.Segment{},
			`scenario "x": the name of scenario 1 again; expected a name of its own`},
		{"too few users", &profiles.Plan{Scenarios: []*profiles.Scenario{{Name: "x", Weight: 1, Script: ok(), Users: numbered{0, 5}}, {Name: "y", Weight: 1, Script: ok()}},
			Load: profiles.Load{VUs: 12, Duration: time.Second}}, profiles.Segment{},
			`scenario "x": its share of the load needs 6 VUs but there are only 5 users`},
		{"no load", &profiles.Plan{Scenarios: []*profiles.Scenario{{Name: "x", Script: ok()}}}, profiles.Segment{},
			"load: it lasts no time; expected a duration, stages, or a rate schedule with a duration"},
		{"own load of no time", &profiles.Plan{Scenarios: []*profiles.Scenario{{Name: "x", Script: ok(), Load: &profiles.Load{VUs: 3}}}}, profiles.Segment{},
			`scenario "x"'s load: it lasts no time`},
		{"open without VUs", &profiles.Plan{Scenarios: []*profiles.Scenario{{Script: ok()}},
			Load: profiles.Load{Open: &profiles.Open{Rate: profiles.Schedule{Start: 10, Duration: time.Second}}}}, profiles.Segment{},
			"load: an arrival rate needs VUs to run it; expected preallocated VUs or max VUs of at least 1"},
		// Weights 1/1/1 split VUs and arrivals x, y, z, x, y, z, ...: segment
		// 1/2 of 3 VUs has only VU 2 (y), but arrival 3 (x).
		{"segment without a VU of a scenario", &profiles.Plan{Scenarios: []*profiles.Scenario{{Name: "x", Script: ok()}, {Name: "y", Script: ok()}, {Name: "z", Script: ok()}},
			Load: profiles.Load{Open: &profiles.Open{Rate: profiles.Schedule{Start: 100, Duration: time.Second}, MaxVUs: 3}}}, profiles.Segment{Index: 1, Count: 2},
			`load: 3 VUs (max_vus): the VUs split by the weights leave the arrivals of scenario "x" of segment 1/2 no VU; expected max_vus of at least 4`},
		{"scenario without a VU", &profiles.Plan{Scenarios: []*profiles.Scenario{{Name: "x", Script: ok()}, {Name: "y", Script: ok()}, {Name: "z", Script: ok()}},
			Load: profiles.Load{Open: &profiles.Open{Rate: profiles.Schedule{Start: 100, Duration: time.Second}, MaxVUs: 2}}}, profiles.Segment{},
			`load: 2 VUs (max_vus): the VUs split by the weights leave the arrivals of scenario "z" no VU; expected max_vus of at least 3`},
	} {
		_, err := profiles.Run(context.Background(), tc.p, profiles.RunOptions{Segment: tc.seg})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if tc.seg.Whole() && tc.p != nil {
			if err := tc.p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: Validate() = %v, want %q", tc.name, err, tc.want)
			}
		}
	}
}

// Session arrivals on weights 3/1: arriving user i belongs to scenario
// mix.At(i) and is that scenario's next user, so of 100 arrivals the
// server sees exactly users 1..75 on one path and 101..125 on the other.
func TestMixSessionArrivals(t *testing.T) {
	tg, u := startTarget(t, target.Config{Users: 200, CountPaths: true})
	load := profiles.Load{Open: &profiles.Open{
		// A user still logging in at the end never iterates: give every
		// one the time to (under -race too).
		Rate:     quietTail(50, 2*time.Second, 2*time.Second),
		Sessions: true, Lifetime: time.Second,
	}, GracefulStop: 5 * time.Second}
	p := mixPlan(t, u, load,
		kind{name: "visit", weight: 3, login: vuser.LoginSpringForm, users: numbered{0, 0}, think: 100 * time.Millisecond},
		kind{name: "order", weight: 1, login: vuser.LoginJSONToken, users: numbered{100, 0}, think: 100 * time.Millisecond},
	)
	rs := segments(t, 1, func() *profiles.Plan { return p })
	noErrors(t, rs)
	visit, cookie, bearer := pathUsers(tg, echoPath("visit"))
	if !slices.Equal(visit, userRange(0, 75)) || bearer != 0 || cookie < 75 {
		t.Errorf("visit: users %v (%d by cookie, %d by token), want user1..user75 by cookie", visit, cookie, bearer)
	}
	order, cookie, bearer := pathUsers(tg, echoPath("order"))
	if !slices.Equal(order, userRange(100, 25)) || cookie != 0 || bearer < 25 {
		t.Errorf("order: users %v (%d by cookie, %d by token), want user101..user125 by token", order, cookie, bearer)
	}
	if s := rs[0].Sessions; s.Established != 100 {
		t.Errorf("%d sessions established, want one per arrival: 100", s.Established)
	}
}

// Progress covers every shape: the target is the sum of the shapes'
// (20 browsers ramped, 10 VUs serving a rate), the total the longest
// shape's, and the run lasts until both end.
func TestMixProgress(t *testing.T) {
	_, u := startTarget(t, target.Config{Users: 200})
	browsers := &profiles.Load{Stages: []profiles.Stage{{Duration: 500 * time.Millisecond, Target: 20}, {Duration: time.Second, Target: 20}}, GracefulStop: 5 * time.Second}
	clients := &profiles.Load{Open: &profiles.Open{
		Rate:            profiles.Schedule{Start: 50, Duration: 2 * time.Second},
		PreallocatedVUs: 4, MaxVUs: 10,
	}, GracefulStop: 5 * time.Second}
	p := mixPlan(t, u, profiles.Load{},
		kind{name: "browser", load: browsers, login: vuser.LoginSpringForm, users: numbered{0, 20}, think: 100 * time.Millisecond},
		kind{name: "client", load: clients, login: vuser.LoginJSONToken, users: numbered{100, 10}},
	)
	var mu sync.Mutex
	var seen []profiles.Progress
	opts := profiles.RunOptions{Interval: 100 * time.Millisecond, OnInterval: func(pr profiles.Progress) {
		mu.Lock()
		seen = append(seen, pr)
		mu.Unlock()
	}}
	start := time.Now()
	rs := runAll(t, []*profiles.Plan{p}, []profiles.RunOptions{opts})
	took := time.Since(start)
	noErrors(t, rs)
	top, last := 0, seen[len(seen)-1]
	for _, pr := range seen {
		if pr.Total != 2*time.Second {
			t.Fatalf("progress total %s, want the longest shape's 2s", pr.Total)
		}
		if pr.Phase == "" {
			top = max(top, pr.Target)
		}
	}
	if top != 30 {
		t.Errorf("the highest target was %d, want 20 + 10", top)
	}
	if last.Phase != "stopping" || last.VUs != 0 || took < 2*time.Second {
		t.Errorf("last progress %+v after %s: want stopping, no VU left, after the 2 s of the longer shape", last, took)
	}
	if rs[0].DurationS < 2 {
		t.Errorf("measured %.2fs, want at least the longer shape's 2s", rs[0].DurationS)
	}
}

// A ramp down and up again stops the highest VU ids and restarts the
// same ones: each id keeps its scenario and its user for life, so the
// server sees exactly the users of ids 1..20 on their scenarios' paths,
// ids 11..20 logged in twice and 1..10 once.
func TestMixRampKeepsScenarios(t *testing.T) {
	tg, u := startTarget(t, target.Config{Users: 300, CountPaths: true})
	ms := time.Millisecond
	load := profiles.Load{Stages: []profiles.Stage{
		{Duration: 300 * ms, Target: 20}, {Duration: 400 * ms, Target: 20},
		{Duration: 200 * ms, Target: 10}, {Duration: 600 * ms, Target: 10},
		{Duration: 200 * ms, Target: 20}, {Duration: 400 * ms, Target: 20},
	}, GracefulStop: 5 * time.Second}
	names := []string{"browse", "cart", "buy"}
	bases := []int{0, 100, 200}
	var kinds []kind
	for i, w := range []float64{7, 2, 1} {
		kinds = append(kinds, kind{name: names[i], weight: w, login: vuser.LoginSpringForm, users: numbered{bases[i], 100}, think: 50 * ms})
	}
	rs := segments(t, 1, func() *profiles.Plan { return mixPlan(t, u, load, kinds...) })
	noErrors(t, rs)
	mix, err := profiles.NewMix([]float64{7, 2, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]string, 3)
	logins := map[string]int{}
	for id := 1; id <= 20; id++ {
		s, k := mix.At(int64(id-1)), mix.Local(int64(id-1))
		user := fmt.Sprintf("user%d", bases[s]+int(k)+1)
		want[s] = append(want[s], user)
		logins[user] = 1
		if id > 10 {
			logins[user] = 2
		}
	}
	for s, name := range names {
		sort.Strings(want[s])
		if got, _, _ := pathUsers(tg, echoPath(name)); !slices.Equal(got, want[s]) {
			t.Errorf("%s: the server saw %v, want %v", name, got, want[s])
		}
	}
	if got := tg.AuthenticatedUsers(); !reflect.DeepEqual(got, logins) {
		t.Errorf("logins per user %v, want %v (ids 11..20 twice)", got, logins)
	}
}
