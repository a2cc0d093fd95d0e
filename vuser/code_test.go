package vuser

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/stats"
)

// startTarget serves the demo target on loopback.
func startTarget(t *testing.T, c target.Config) (*target.Target, *url.URL) {
	t.Helper()
	tg := target.New(c)
	srv, err := tg.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	u, _ := url.Parse(srv.URL())
	return tg, u
}

// springForm is the demo target's login.
var springForm = Login{Kind: LoginSpringForm, Path: "/login"}

// A Go scenario logs in with spring-form (the VU does, before its first
// iteration) and each of its answers names its own user: the target
// names the session's user in every API answer.
func TestGoScenarioSpringForm(t *testing.T) {
	t.Parallel()
	tg, u := startTarget(t, target.Config{Users: 10})
	const vus, iters = 5, 3
	var mu sync.Mutex
	seen := map[int]map[string]int{} // VU → users its answers named
	user, err := ParseTemplate("{{.User}}")
	if err != nil {
		t.Fatal(err)
	}
	s := &Script{
		Target: u, Login: springForm, Session: Session{Relogin: true, End: EndLogout},
		Think: Think{Min: time.Millisecond, Max: time.Millisecond},
		Func: func(ctx context.Context, v *VU) error {
			resp, err := v.Do(ctx, "me", Request{Path: "/api/me", Header: http.Header{"Accept": {"application/json"}},
				Check: &Check{Status: []int{200}, JSON: []JSONCheck{{Path: "$.user", Want: user}}}})
			if err != nil {
				return err
			}
			me, _ := resp.JSON("$.user")
			if err := v.Think(ctx); err != nil {
				return err
			}
			resp, err = v.PostJSON(ctx, "cart", "/api/cart", map[string]int{"item": v.ID()})
			if err != nil {
				return err
			}
			cartUser, _ := resp.JSON("user")
			item, _ := resp.JSON("$.item")
			if item != strconv.Itoa(v.ID()) {
				return fmt.Errorf("cart item %q, want %d", item, v.ID())
			}
			mu.Lock()
			if seen[v.ID()] == nil {
				seen[v.ID()] = map[string]int{}
			}
			seen[v.ID()][me]++
			seen[v.ID()][cartUser]++
			mu.Unlock()
			return nil
		},
	}
	rec := stats.NewRecorder(stats.Options{})
	pl := pool.New(pool.Options{})
	t.Cleanup(pl.Close)
	e, err := NewEnv(s, PoolTransport(pl, nil), rec, stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 1; i <= vus; i++ {
		v := e.NewVU(i, Identity{Username: fmt.Sprintf("user%d", i), Password: target.Password}, Signals{})
		n := 0
		wg.Go(func() {
			v.Run(context.Background(), func() (time.Time, bool) { n++; return time.Time{}, n <= iters })
		})
	}
	wg.Wait()
	for i := 1; i <= vus; i++ {
		want := map[string]int{fmt.Sprintf("user%d", i): 2 * iters}
		if !reflect.DeepEqual(seen[i], want) {
			t.Errorf("VU %d's answers named %v, want %v", i, seen[i], want)
		}
	}
	st := tg.Stats()
	if st.Logins != vus || st.Logouts != vus {
		t.Errorf("target: %d logins, %d logouts; want %d each", st.Logins, st.Logouts, vus)
	}
	for user, n := range tg.AuthenticatedUsers() {
		if n != 1 {
			t.Errorf("target: %s had %d sessions, want 1", user, n)
		}
	}
	res := results(t, rec)
	if res.Iterations.Completed != vus*iters || res.Totals.Errors != 0 {
		t.Errorf("%d iterations, %d errors; want %d, 0", res.Iterations.Completed, res.Totals.Errors, vus*iters)
	}
	for _, name := range []string{"me", "cart"} {
		if ep := endpoint(t, res, name); ep.Requests != vus*iters || ep.Status["200"] != vus*iters {
			t.Errorf("endpoint %s: %d requests, status %v; want %d 200s", name, ep.Requests, ep.Status, vus*iters)
		}
	}
}

// A Go scenario's request that finds its session gone makes the VU log
// in again and send it once more; an iteration whose function fails is
// not counted.
func TestGoScenarioRelogin(t *testing.T) {
	t.Parallel()
	tg, u := startTarget(t, target.Config{Users: 2})
	iter := 0
	s := &Script{
		Target: u, Login: springForm, Session: Session{Relogin: true, RetryLogin: time.Millisecond},
		Func: func(ctx context.Context, v *VU) error {
			iter++
			if iter == 2 {
				tg.ExpireAll() // the server drops the session meanwhile
			}
			resp, err := v.Get(ctx, "me", "/api/me")
			if err != nil {
				return err
			}
			if who, _ := resp.JSON("$.user"); who != "user1" {
				return fmt.Errorf("answer names %q", who)
			}
			if iter == 3 {
				return errors.New("the scenario gives up")
			}
			return nil
		},
	}
	e, rec := flowEnv(t, s)
	v := e.NewVU(1, Identity{Username: "user1", Password: target.Password}, Signals{})
	n := 0
	v.Run(context.Background(), func() (time.Time, bool) { n++; return time.Time{}, n <= 4 })
	if st := tg.Stats(); st.Logins != 2 || tg.AuthenticatedUsers()["user1"] != 2 {
		t.Errorf("target: %d logins, user1 %d sessions; want 2, 2", st.Logins, tg.AuthenticatedUsers()["user1"])
	}
	res := results(t, rec)
	me := endpoint(t, res, "me")
	if me.Requests != 5 || me.Errors != 0 || me.ErrorsByKind["session_lost"] != 1 {
		t.Errorf("me: %d requests, %d errors, %v; want 5 (4 and a retry), 0, session_lost 1", me.Requests, me.Errors, me.ErrorsByKind)
	}
	if res.Iterations.Completed != 3 {
		t.Errorf("%d iterations counted, want 3 (the failed one not)", res.Iterations.Completed)
	}
}

// A Go request's check and extractors record their failures on its
// sample and return them.
func TestGoRequestCheckExtract(t *testing.T) {
	t.Parallel()
	ps := newPathServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Trace", "abc-123")
		fmt.Fprint(w, `{"user":"u1","ids":[1,2]}`)
	})
	var errs []error
	s := &Script{Target: ps.url, Func: func(ctx context.Context, v *VU) error {
		_, err := v.Do(ctx, "bad", Request{Path: "/c", Check: &Check{BodyContains: []string{"nope"}}})
		errs = append(errs, err)
		_, err = v.Do(ctx, "miss", Request{Path: "x", Extract: []Extractor{mustExtractor(t, "t", ExtractRegex, `token=(\w+)`)}})
		errs = append(errs, err)
		ids := mustExtractor(t, "ids", ExtractJSON, "$.ids")
		resp, err := v.Do(ctx, "ok", Request{Method: http.MethodPost, Path: ps.url.String() + "/abs", Body: []byte("x"),
			Check: &Check{Headers: []HeaderCheck{{Name: "X-Trace", Matches: regexp.MustCompile(`^abc-\d+$`)}}}, Extract: []Extractor{ids}})
		errs = append(errs, err)
		if resp == nil || resp.Status != 200 || !reflect.DeepEqual(v.Data().Lists["ids"], []string{"1", "2"}) {
			return fmt.Errorf("resp %v, lists %v", resp, v.Data().Lists)
		}
		return nil
	}}
	e, rec := flowEnv(t, s)
	iterateN(e, 1)
	var ce *CheckError
	var ee *ExtractError
	if len(errs) != 3 || !errors.As(errs[0], &ce) || ce.Msg != `body does not contain "nope"` || !errors.As(errs[1], &ee) || errs[2] != nil {
		t.Fatalf("errors %v", errs)
	}
	if ps.count("/c")+ps.count("/x")+ps.count("/abs") != 3 {
		t.Errorf("server saw %v", ps.log())
	}
	res := results(t, rec)
	if endpoint(t, res, "bad").ErrorsByKind["check_failed"] != 1 || endpoint(t, res, "miss").ErrorsByKind["extract_failed"] != 1 ||
		endpoint(t, res, "ok").Errors != 0 || res.Iterations.Completed != 1 {
		t.Errorf("results: %+v", res.Endpoints)
	}
}

// flowScript is a script using every setting NewEnv has a default for,
// and flow control.
func flowScript(u *url.URL) *Script {
	p, _ := ParseTemplate("/api/me")
	n, _ := ParseTemplate("2")
	return &Script{
		Target: u, Login: springForm, Session: Session{End: EndLogout, Relogin: true},
		Headers: http.Header{"X-Run": {"{{.VU}}"}},
		Steps: []Step{{Repeat: &Repeat{Times: n, Steps: []Step{{Name: "g", Group: &Group{Steps: []Step{
			{Name: "me", Method: http.MethodGet, Path: p, Extract: []Extractor{{Var: "u", Kind: ExtractJSON, Expr: "$.user"}}},
		}}}}}}},
	}
}

// NewEnv and a run leave the caller's Script as it was (#19): its
// defaults live on the Env.
func TestNewEnvLeavesScript(t *testing.T) {
	t.Parallel()
	tg, u := startTarget(t, target.Config{Users: 2})
	s := flowScript(u)
	for run := range 2 {
		e, rec := flowEnv(t, s)
		v := e.NewVU(1, Identity{Username: "user1", Password: target.Password}, Signals{})
		n := 0
		v.Run(context.Background(), func() (time.Time, bool) { n++; return time.Time{}, n <= 2 })
		if !reflect.DeepEqual(s, flowScript(u)) {
			t.Fatalf("run %d changed the Script:\n%+v\nwant\n%+v", run, s, flowScript(u))
		}
		if res := results(t, rec); res.Iterations.Completed != 2 || res.Totals.Errors != 0 {
			t.Errorf("run %d: %d iterations, %d errors", run, res.Iterations.Completed, res.Totals.Errors)
		}
	}
	if st := tg.Stats(); st.Logouts != 2 {
		t.Errorf("target: %d logouts, want 2 (the default logout path used)", st.Logouts)
	}
}

// Go endpoints are registered once, whoever names them first.
func TestGoEndpointsShared(t *testing.T) {
	t.Parallel()
	ps := newPathServer(t, nil)
	var calls atomic.Int64
	s := &Script{Target: ps.url, Func: func(ctx context.Context, v *VU) error {
		calls.Add(1)
		_, err := v.Get(ctx, "x", "/x")
		return err
	}}
	e, rec := flowEnv(t, s)
	var wg sync.WaitGroup
	for i := 1; i <= 4; i++ {
		v := e.NewVU(i, Identity{}, Signals{})
		wg.Go(func() {
			for range 10 {
				v.Iterate(context.Background(), time.Time{})
			}
		})
	}
	wg.Wait()
	res := results(t, rec)
	if ep := endpoint(t, res, "x"); ep.Requests != 40 || ps.count("/x") != 40 || len(res.Endpoints) != 1 {
		t.Errorf("%d endpoints, x %d requests, server %d; want 1, 40, 40", len(res.Endpoints), ep.Requests, ps.count("/x"))
	}
}

// A Go endpoint's id, once a VU has used it, costs no allocation.
func TestGoEndpointCached(t *testing.T) {
	e, _ := flowEnv(t, &Script{Target: mustURL("http://127.0.0.1:1")})
	v := e.NewVU(1, Identity{}, Signals{})
	id := v.endpoint("x")
	if n := testing.AllocsPerRun(100, func() {
		if v.endpoint("x") != id {
			t.Fatal("id changed")
		}
	}); n != 0 {
		t.Errorf("%v allocations a look-up", n)
	}
}

// A Go group records one sample per execution, spanning its requests,
// which record under the group; a nested group is "outer/inner".
func TestGoGroup(t *testing.T) {
	t.Parallel()
	ps := newPathServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	s := &Script{Target: ps.url, Func: func(ctx context.Context, v *VU) error {
		return v.Group("buy", func() error {
			if _, err := v.Get(ctx, "a", "/a"); err != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond)
			return v.Group("pay", func() error {
				_, err := v.Get(ctx, "bad", "/bad")
				return err
			})
		})
	}}
	e, rec := flowEnv(t, s)
	iterateN(e, 2)
	res := results(t, rec)
	buy := endpoint(t, res, "buy")
	if buy.Requests != 2 || buy.ErrorsByKind["http_5xx"] != 2 || buy.Latency.Min < 30 {
		t.Errorf("group buy: %+v; want 2 samples, failed by the 5xx inside, >= 30 ms", buy)
	}
	if endpoint(t, res, "buy/pay").Requests != 2 || endpoint(t, res, "a").Requests != 2 || endpoint(t, res, "bad").Requests != 2 || len(res.Endpoints) != 2 || len(res.Groups) != 2 {
		t.Errorf("endpoints %+v, groups %+v: want requests a and bad, groups buy and buy/pay", res.Endpoints, res.Groups)
	}
	if g := endpoint(t, res, "bad").Group; g != "buy/pay" {
		t.Errorf("bad is in group %q, want buy/pay", g)
	}
	if ps.count("/a") != 2 || ps.count("/bad") != 2 {
		t.Errorf("server saw %v", ps.log())
	}
}
