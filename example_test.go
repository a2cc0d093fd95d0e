package load_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/sessionload/load"
	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/profiles"
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
