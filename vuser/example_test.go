package vuser_test

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// A scenario written in Go: the VU logs in with the spring-form preset
// before its first iteration, and each iteration asks the demo target
// who it is, with a check that the answer names the VU's own user.
func ExampleVU_Do() {
	srv, err := target.New(target.Config{Users: 3}).Start("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	u, _ := url.Parse(srv.URL())
	own, _ := vuser.ParseTemplate("{{.User}}")
	script := &vuser.Script{
		Target: u,
		Login:  vuser.Login{Kind: vuser.LoginSpringForm, Path: "/login"},
		Func: func(ctx context.Context, v *vuser.VU) error {
			resp, err := v.Do(ctx, "me", vuser.Request{Path: "/api/me",
				Check: &vuser.Check{Status: []int{200}, JSON: []vuser.JSONCheck{{Path: "$.user", Want: own}}}})
			if err != nil {
				return err
			}
			user, _ := resp.JSON("$.user")
			fmt.Println("the target says:", user)
			return nil
		},
	}
	rec := stats.NewRecorder(stats.Options{})
	env, err := vuser.NewEnv(script, vuser.Transport{}, rec, stats.NewSessions())
	if err != nil {
		fmt.Println(err)
		return
	}
	vu := env.NewVU(1, vuser.Identity{Username: "user2", Password: target.Password}, vuser.Signals{})
	n := 0
	vu.Run(context.Background(), func() (time.Time, bool) { n++; return time.Time{}, n <= 2 })
	res, _ := rec.Result(time.Second)
	fmt.Println("iterations:", res.Iterations.Completed)
	// Output:
	// the target says: user2
	// the target says: user2
	// iterations: 2
}
