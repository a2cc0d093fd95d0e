package load_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sessionload/load"
	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/vuser"
)

// A YAML plan compiles to a Test, which Run runs. Here 5 users log in to
// the built-in demo target with its Spring-Security-like form login and
// fetch their own profile 20 times between them, at 20 arrivals a second;
// the check proves every answer names the VU's own user.
func ExampleRun_plan() {
	srv, err := target.New(target.Config{Users: 5}).Start("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	plan := strings.ReplaceAll(`
target: TARGET
users:
  template: {username: "user{{.VU}}", password: secret}
session:
  login: spring-form
  login_path: /login
  end: logout
scenario:
  - name: me
    get: /api/me
    check: {status: 200, json: {"$.user": "{{.User}}"}}
load:
  rate: 20/s
  duration: 1s
  preallocated_vus: 5
thresholds:
  "me p99": "< 1s"
  errors: "== 0"
`, "TARGET", srv.URL())
	p, err := profiles.Parse("example.yaml", []byte(plan), ".")
	if err != nil {
		log.Fatal(err)
	}
	res, err := load.Run(context.Background(), load.FromPlan(p))
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range res.Endpoints {
		if e.Name == "me" {
			fmt.Printf("me: %d requests, %d errors\n", e.Requests, e.Errors)
		}
	}
	fmt.Printf("users the server saw log in: %d\n", len(srv.Target().AuthenticatedUsers()))
	fmt.Printf("thresholds held: %v\n", res.ThresholdsOK())
	// Output:
	// me: 20 requests, 0 errors
	// users the server saw log in: 5
	// thresholds held: true
}

// A scenario written in Go, beside a login preset: each of 8 VUs logs in
// with the Spring-Security-like form (its own jar, its own CSRF token and
// session), then, in every iteration, asks the demo target who it is and
// proves the answer names its own user, and adds an item to its cart.
func ExampleScenarioFunc() {
	srv, err := target.New(target.Config{Users: 8}).Start("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	users, err := profiles.TemplateUsers("user{{.VU}}", target.Password)
	if err != nil {
		log.Fatal(err)
	}
	var foreign atomic.Int64 // answers that named another user
	test := load.Test{
		Target: srv.URL(),
		Load:   profiles.Load{VUs: 8, Duration: 500 * time.Millisecond},
		Scenarios: []load.Scenario{{
			Users:   users,
			Login:   vuser.Login{Kind: vuser.LoginSpringForm, Path: "/login"},
			Session: vuser.Session{End: vuser.EndLogout, LogoutPath: "/logout"},
			Think:   vuser.Think{Min: 10 * time.Millisecond, Max: 10 * time.Millisecond},
			Func: func(ctx context.Context, u *vuser.VU) error {
				me, err := u.Get(ctx, "me", "/api/me")
				if err != nil {
					return err
				}
				if who, _ := me.JSON("$.user"); who != u.Data().User {
					foreign.Add(1)
					return errors.New("the answer names " + who)
				}
				if err := u.Think(ctx); err != nil {
					return err
				}
				_, err = u.PostJSON(ctx, "add-to-cart", "/api/cart", map[string]int{"item": 3})
				return err
			},
		}},
		Thresholds: []load.Threshold{{Metric: "errors", Condition: "== 0"}},
	}
	res, err := load.Run(context.Background(), test)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("VUs the server saw log in: %d, logged out: %d\n", len(srv.Target().AuthenticatedUsers()), srv.Target().Stats().Logouts)
	fmt.Printf("answers naming another user: %d\n", foreign.Load())
	fmt.Printf("iterations: %v, thresholds held: %v\n", res.Iterations.Completed > 8, res.ThresholdsOK())
	// Output:
	// VUs the server saw log in: 8, logged out: 8
	// answers naming another user: 0
	// iterations: true, thresholds held: true
}
