package vuser

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionload/load/stats"
)

// pathServer answers every request with what answer says (nil: 200 and
// no body) and counts what it saw, per path, in order.
type pathServer struct {
	mu     sync.Mutex
	counts map[string]int
	seen   []string
	url    *url.URL
}

func newPathServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *pathServer {
	t.Helper()
	ps := &pathServer{counts: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.mu.Lock()
		ps.counts[r.URL.Path]++
		ps.seen = append(ps.seen, r.URL.Path)
		ps.mu.Unlock()
		if answer != nil {
			answer(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	ps.url, _ = url.Parse(srv.URL)
	return ps
}

func (ps *pathServer) count(path string) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.counts[path]
}

func (ps *pathServer) log() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return slices.Clone(ps.seen)
}

func tpl(t testing.TB, s string) *Template {
	t.Helper()
	p, err := ParseTemplate(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func get(t testing.TB, name, path string) Step {
	return Step{Name: name, Method: http.MethodGet, Path: tpl(t, path)}
}

// flowEnv is an Env for s on the default transport with its recorder.
func flowEnv(t *testing.T, s *Script) (*Env, *stats.Recorder) {
	t.Helper()
	rec := stats.NewRecorder(stats.Options{})
	e, err := NewEnv(s, Transport{}, rec, stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	return e, rec
}

// iterateN runs n iterations of one VU of e.
func iterateN(e *Env, n int) *VU {
	v := e.NewVU(1, Identity{Username: "u1", Password: "p"}, Signals{})
	for range n {
		v.Iterate(context.Background(), time.Time{})
	}
	v.Close()
	return v
}

func results(t *testing.T, rec *stats.Recorder) *stats.Results {
	t.Helper()
	res, err := rec.Result(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// endpoint is the result of the endpoint, or else the group, called name.
func endpoint(t *testing.T, res *stats.Results, name string) stats.EndpointResult {
	t.Helper()
	for _, ep := range append(slices.Clone(res.Endpoints), res.Groups...) {
		if ep.Name == name {
			return ep
		}
	}
	var names []string
	for _, ep := range append(slices.Clone(res.Endpoints), res.Groups...) {
		names = append(names, ep.Name)
	}
	t.Fatalf("no endpoint %q in %q", name, names)
	return stats.EndpointResult{}
}

// repeat: {times: 3} sends its steps 3 times an iteration; a count from
// a template is rendered when the repeat is reached; nested repeats
// multiply; the steps of one name are one endpoint.
func TestRepeatTimes(t *testing.T) {
	t.Parallel()
	ps := newPathServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/n" {
			fmt.Fprint(w, "n=2")
		}
	})
	s := &Script{Target: ps.url, Steps: []Step{
		get(t, "a", "/a"),
		{Repeat: &Repeat{Times: tpl(t, "3"), Steps: []Step{get(t, "b", "/b")}}},
		{Name: "n", Method: http.MethodGet, Path: tpl(t, "/n"), Extract: []Extractor{mustExtractor(t, "n", ExtractRegex, `n=(\d+)`)}},
		{Repeat: &Repeat{Times: tpl(t, "{{.Var.n}}"), Steps: []Step{
			{Repeat: &Repeat{Times: tpl(t, "3"), Steps: []Step{get(t, "c", "/c")}}},
			get(t, "b", "/b"),
		}}},
		{Repeat: &Repeat{Times: tpl(t, "0"), Steps: []Step{get(t, "never", "/never")}}},
	}}
	e, rec := flowEnv(t, s)
	const n = 5
	iterateN(e, n)
	for path, want := range map[string]int{"/a": n, "/b": (3 + 2) * n, "/c": 2 * 3 * n, "/never": 0} {
		if got := ps.count(path); got != want {
			t.Errorf("server saw %s %d times, want %d", path, got, want)
		}
	}
	res := results(t, rec)
	if res.Iterations.Completed != n {
		t.Errorf("%d iterations, want %d", res.Iterations.Completed, n)
	}
	if ep := endpoint(t, res, "b"); ep.Requests != 5*n {
		t.Errorf("endpoint b: %d requests, want %d (one endpoint for the name)", ep.Requests, 5*n)
	}
}

// A repeat count that renders as no non-negative integer stops the
// iteration there, counted as an error; the steps after it never run.
func TestRepeatBadTimes(t *testing.T) {
	t.Parallel()
	ps := newPathServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "n=-1") })
	s := &Script{Target: ps.url, Steps: []Step{
		{Name: "n", Method: http.MethodGet, Path: tpl(t, "/n"), Extract: []Extractor{mustExtractor(t, "n", ExtractRegex, `n=(\S+)`)}},
		{Name: "loop", Repeat: &Repeat{Times: tpl(t, "{{.Var.n}}"), Steps: []Step{get(t, "b", "/b")}}},
		get(t, "after", "/after"),
	}}
	e, rec := flowEnv(t, s)
	iterateN(e, 3)
	if ps.count("/b")+ps.count("/after") != 0 || ps.count("/n") != 3 {
		t.Errorf("server saw %v, want only /n 3 times", ps.log())
	}
	res := results(t, rec)
	if ep := endpoint(t, res, "loop"); ep.ErrorsByKind["other"] != 3 {
		t.Errorf("loop: errors %v, want other: 3", ep.ErrorsByKind)
	}
	if res.Iterations.Completed != 0 {
		t.Errorf("%d iterations completed, want 0", res.Iterations.Completed)
	}
	// A static count is checked up front.
	bad := &Script{Target: ps.url, Steps: []Step{{Repeat: &Repeat{Times: tpl(t, "three"), Steps: []Step{get(t, "b", "/b")}}}}}
	if _, err := NewEnv(bad, Transport{}, stats.NewRecorder(stats.Options{}), stats.NewSessions()); err == nil ||
		err.Error() != `steps[0]: repeat: times "three": expected a non-negative integer` {
		t.Errorf("NewEnv = %v", err)
	}
}

// random with weights 3/1 over 4,000 iterations lands within the 99.9%
// binomial interval, and the same seed makes the same choices.
func TestRandomWeights(t *testing.T) {
	t.Parallel()
	run := func(seed uint64) []string {
		ps := newPathServer(t, nil)
		s := &Script{Target: ps.url, Seed: seed, Steps: []Step{{Random: []Branch{
			{Weight: 3, Steps: []Step{get(t, "three", "/three")}},
			{Weight: 1, Steps: []Step{get(t, "one", "/one")}},
			{Weight: 0, Steps: []Step{get(t, "zero", "/zero")}},
		}}}}
		e, _ := flowEnv(t, s)
		iterateN(e, 4000)
		return ps.log()
	}
	a := run(42)
	n3 := 0
	for _, p := range a {
		switch p {
		case "/three":
			n3++
		case "/one":
		default:
			t.Fatalf("server saw %s", p)
		}
	}
	if len(a) != 4000 {
		t.Fatalf("server saw %d requests, want 4000", len(a))
	}
	// 99.9% two-sided: 3.29 standard deviations of Binomial(4000, 0.75).
	half := 3.29 * math.Sqrt(4000*0.75*0.25)
	if math.Abs(float64(n3)-3000) > half {
		t.Errorf("weight 3 of 3/1 taken %d times of 4000, want 3000 ± %.0f", n3, half)
	}
	if b := run(42); !slices.Equal(a, b) {
		t.Error("two runs with seed 42 made different choices")
	}
	if c := run(43); slices.Equal(a, c) {
		t.Error("seeds 42 and 43 made the same 4,000 choices")
	}
}

// foreach visits every item of an extracted list (a JSON array, all
// matches of a regex), at most limit.
func TestForeach(t *testing.T) {
	t.Parallel()
	ps := newPathServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/list":
			fmt.Fprint(w, `{"ids":["a","b","c","d"],"n":[7,8]}`)
		case "/html":
			fmt.Fprint(w, `<a href="/p?id=11">x</a><a href="/p?id=12">y</a><a href="/p?id=13">z</a>`)
		}
	})
	all := mustExtractor(t, "pids", ExtractRegex, `id=(\d+)`)
	all.All = true
	s := &Script{Target: ps.url, Steps: []Step{
		{Name: "list", Method: http.MethodGet, Path: tpl(t, "/list"), Extract: []Extractor{
			mustExtractor(t, "ids", ExtractJSON, "$.ids"), mustExtractor(t, "n", ExtractJSON, "$.n"),
		}},
		{Foreach: &Foreach{Var: "ids", As: "id", Steps: []Step{get(t, "item", "/item/{{.Var.id}}")}}},
		{Foreach: &Foreach{Var: "n", As: "k", Steps: []Step{
			{Foreach: &Foreach{Var: "ids", As: "id", Limit: 2, Steps: []Step{get(t, "pair", "/pair/{{.Var.k}}/{{.Var.id}}")}}},
		}}},
		{Name: "html", Method: http.MethodGet, Path: tpl(t, "/html"), Extract: []Extractor{all}},
		{Foreach: &Foreach{Var: "pids", As: "pid", Steps: []Step{get(t, "p", "/p/{{.Var.pid}}")}}},
		{Foreach: &Foreach{Var: "nothing", As: "x", Steps: []Step{get(t, "none", "/none")}}},
	}}
	e, rec := flowEnv(t, s)
	iterateN(e, 2)
	want := map[string]int{"/item/a": 2, "/item/b": 2, "/item/c": 2, "/item/d": 2,
		"/pair/7/a": 2, "/pair/7/b": 2, "/pair/8/a": 2, "/pair/8/b": 2, "/p/11": 2, "/p/12": 2, "/p/13": 2}
	for path, n := range want {
		if got := ps.count(path); got != n {
			t.Errorf("server saw %s %d times, want %d", path, got, n)
		}
	}
	if got, wantN := len(ps.log()), 2*(1+4+4+1+3); got != wantN {
		t.Errorf("server saw %d requests, want %d: %v", got, wantN, ps.log())
	}
	if res := results(t, rec); res.Iterations.Completed != 2 || res.Totals.Errors != 0 {
		t.Errorf("%d iterations, %d errors; want 2, 0", res.Iterations.Completed, res.Totals.Errors)
	}
}

// if on a variable (equals, matches, exists) and on the last status,
// with else.
func TestIf(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	ps := newPathServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/who":
			// Odd calls: admin, and a 404 status; even: a guest, 200.
			if calls.Add(1)%2 == 1 {
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `{"role":"admin","tags":["x"]}`)
			} else {
				fmt.Fprint(w, `{"role":"guest","tags":[]}`)
			}
		}
	})
	s := &Script{Target: ps.url, Steps: []Step{
		{Name: "who", Method: http.MethodGet, Path: tpl(t, "/who"), Check: Check{Status: []int{200, 404}}, Extract: []Extractor{
			mustExtractor(t, "role", ExtractJSON, "$.role"), mustExtractor(t, "tags", ExtractJSON, "$.tags"),
		}},
		{If: &If{Status: true, Op: CondEquals, Value: tpl(t, "404"), Steps: []Step{get(t, "s404", "/s404")}, Else: []Step{get(t, "sother", "/sother")}}},
		{If: &If{Var: "role", Op: CondEquals, Value: tpl(t, "admin"), Steps: []Step{get(t, "admin", "/admin")}, Else: []Step{get(t, "guest", "/guest")}}},
		{If: &If{Var: "role", Op: CondMatches, Regexp: regexp.MustCompile(`^gu`), Steps: []Step{get(t, "gu", "/gu")}}},
		{If: &If{Var: "tags", Op: CondExists, Steps: []Step{get(t, "tagged", "/tagged")}}},
		{If: &If{Var: "unset", Op: CondExists, Steps: []Step{get(t, "never", "/never")}, Else: []Step{get(t, "unset", "/unset")}}},
	}}
	e, _ := flowEnv(t, s)
	iterateN(e, 4)
	for path, want := range map[string]int{"/who": 4, "/s404": 2, "/sother": 2, "/admin": 2, "/guest": 2, "/gu": 2, "/tagged": 2, "/never": 0, "/unset": 4} {
		if got := ps.count(path); got != want {
			t.Errorf("server saw %s %d times, want %d", path, got, want)
		}
	}
}

// repeat: {for: D} starts passes until D has passed since it began.
func TestRepeatFor(t *testing.T) {
	t.Parallel()
	ps := newPathServer(t, nil)
	const d, think = 275 * time.Millisecond, 50 * time.Millisecond
	s := &Script{Target: ps.url, Steps: []Step{
		{Repeat: &Repeat{For: d, Steps: []Step{{Name: "f", Method: http.MethodGet, Path: tpl(t, "/f"), Think: &Think{Min: think, Max: think}}}}},
		get(t, "after", "/after"),
	}}
	e, _ := flowEnv(t, s)
	start := time.Now()
	iterateN(e, 1)
	took := time.Since(start)
	// Passes begin at 0, 50, ..., 250 ms: 6 (fewer if the machine is slow).
	if n := ps.count("/f"); n < 4 || n > 6 {
		t.Errorf("server saw %d passes in %s, want 6 (at least 4)", n, took)
	}
	if took < d || ps.count("/after") != 1 {
		t.Errorf("took %s, /after %d times: want >= %s and 1", took, ps.count("/after"), d)
	}
}

// A group's duration is the span from its first request's start to its
// last response's end: think inside included, the think after it not.
func TestGroupDuration(t *testing.T) {
	// Not parallel: the 1 ms bound is about the VU, not the machine's
	// other tests. A machine busy elsewhere can still delay a goroutine
	// by milliseconds at either edge of the span, so up to 3 runs are
	// made: a VU that measured the group wrong (a think left out or
	// taken in, a request missed) is off by tens of ms in every run.
	const attempts = 3
	for i := 1; ; i++ {
		diff, err := groupDuration(t)
		if err != nil {
			t.Fatal(err)
		}
		if diff >= -200*time.Microsecond && diff <= time.Millisecond {
			return
		}
		if i == attempts {
			t.Fatalf("group duration and the server-seen span differ by %s in the last of %d runs, want < 1 ms", diff, attempts)
		}
	}
}

// groupDuration runs one iteration of a group and returns its duration
// minus the span the server saw from the start of its first request to
// the end of its last answer; err is a failure no retry can mend.
func groupDuration(t *testing.T) (time.Duration, error) {
	const service, inner, after = 30 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond
	var mu sync.Mutex
	var first, last time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if first.IsZero() {
			first = time.Now()
		}
		mu.Unlock()
		time.Sleep(service)
		w.Write([]byte("ok"))
		w.(http.Flusher).Flush()
		mu.Lock()
		last = time.Now()
		mu.Unlock()
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	pay1 := get(t, "pay1", "/pay1")
	pay1.Think = &Think{Min: inner, Max: inner}
	s := &Script{Target: u, Think: Think{Min: after, Max: after}, Steps: []Step{
		{Name: "checkout", Group: &Group{Steps: []Step{pay1, get(t, "pay2", "/pay2")}}},
	}}
	e, rec := flowEnv(t, s)
	v := e.NewVU(1, Identity{}, Signals{})
	// Warm the connection outside the group, so its span is two requests
	// on a kept-alive connection.
	if _, err := v.Get(context.Background(), "warm", "/warm"); err != nil {
		return 0, err
	}
	mu.Lock()
	first = time.Time{}
	mu.Unlock()
	v.Iterate(context.Background(), time.Now().Add(-time.Second))
	v.Close()
	res := results(t, rec)
	var g *stats.EndpointResult
	for i, ep := range res.Groups {
		if ep.Name == "checkout" {
			g = &res.Groups[i]
		}
	}
	if g == nil || g.Requests != 1 {
		return 0, fmt.Errorf("group endpoint %+v, want one sample", g)
	}
	mu.Lock()
	span := last.Sub(first)
	mu.Unlock()
	got := time.Duration(g.Latency.Max * float64(time.Millisecond))
	t.Logf("group duration %s, server-seen span %s", got, span)
	if got < 2*service+inner || got >= 2*service+inner+after {
		return 0, fmt.Errorf("group duration %s, want %s and up, the think after it excluded", got, 2*service+inner)
	}
	if g.Corrected == nil || g.Corrected.Max < g.Latency.Max+900 {
		return 0, fmt.Errorf("group corrected latency %+v: want the iteration's 1 s lateness in it", g.Corrected)
	}
	// The client's span holds the server's, plus loopback transfer; the
	// histogram keeps 3 significant figures (±0.1 ms at 100 ms).
	return got - span, nil
}

// An extraction that finds nothing fails its step (extract_failed) and
// the iteration stops: no request goes out with an empty variable.
// Optional lets it find nothing, the variable unset.
func TestExtractFailedStops(t *testing.T) {
	t.Parallel()
	ps := newPathServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "no token here") })
	for _, optional := range []bool{false, true} {
		ex := mustExtractor(t, "token", ExtractRegex, `token=(\w+)`)
		ex.Optional = optional
		name := fmt.Sprintf("a%v", optional)
		s := &Script{Target: ps.url, Steps: []Step{
			{Name: name, Method: http.MethodGet, Path: tpl(t, "/"+name), Extract: []Extractor{ex}},
			get(t, "b", "/b"+name+"/{{.Var.token}}"),
		}}
		e, rec := flowEnv(t, s)
		iterateN(e, 3)
		res := results(t, rec)
		ep := endpoint(t, res, name)
		if optional {
			if ps.count("/b"+name+"/") != 3 || ep.Errors != 0 || res.Iterations.Completed != 3 {
				t.Errorf("optional: server saw %v, %d errors, %d iterations", ps.log(), ep.Errors, res.Iterations.Completed)
			}
			continue
		}
		if ps.count("/b"+name+"/") != 0 || ps.count("/"+name) != 3 {
			t.Errorf("server saw %v: the step after a failed extraction was sent", ps.log())
		}
		if ep.ErrorsByKind["extract_failed"] != 3 || res.Iterations.Completed != 0 {
			t.Errorf("errors %v, %d iterations; want extract_failed 3, 0", ep.ErrorsByKind, res.Iterations.Completed)
		}
	}
}

// A VU parked in a long think inside a repeat inside a repeat resumes
// where it stood: every request of every pass is sent once, every
// iteration counted; and thinking there it holds no goroutine.
func TestParkInNestedRepeat(t *testing.T) {
	t.Parallel()
	ps := newPathServer(t, nil)
	p := get(t, "p", "/p")
	p.Think = &Think{Min: idleAfter, Max: idleAfter}
	s := &Script{Target: ps.url, Steps: []Step{
		{Repeat: &Repeat{Times: tpl(t, "2"), Steps: []Step{
			{Name: "g", Group: &Group{Steps: []Step{
				{Repeat: &Repeat{Times: tpl(t, "2"), Steps: []Step{p}}},
			}}},
			get(t, "q", "/q"),
		}}},
	}}
	e, rec := flowEnv(t, s)
	var mu sync.Mutex
	iterations := 0
	next := func() (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		iterations++
		return time.Time{}, iterations <= 2
	}
	v := e.NewVU(1, Identity{}, Signals{})
	start := time.Now()
	v.Run(context.Background(), next)
	took := time.Since(start)
	if ps.count("/p") != 8 || ps.count("/q") != 4 {
		t.Errorf("server saw /p %d, /q %d times; want 8, 4", ps.count("/p"), ps.count("/q"))
	}
	res := results(t, rec)
	if res.Iterations.Completed != 2 || took < 8*idleAfter {
		t.Errorf("%d iterations in %s; want 2, at least %s", res.Iterations.Completed, took, 8*idleAfter)
	}
	if g := endpoint(t, res, "g"); g.Requests != 4 || g.Latency.Min < float64(idleAfter/time.Millisecond) {
		t.Errorf("group g: %d samples, min %.1f ms; want 4, the think inside included", g.Requests, g.Latency.Min)
	}

	// 200 VUs thinking a minute at depth 2 hold no goroutine; Abort and
	// Wake end them, their iterations uncounted.
	const n = 200
	ps2 := newPathServer(t, nil)
	long := get(t, "p", "/p")
	long.Think = &Think{Min: time.Minute, Max: time.Minute}
	s2 := &Script{Target: ps2.url, Steps: []Step{{Repeat: &Repeat{Times: tpl(t, "2"), Steps: []Step{
		{Repeat: &Repeat{Times: tpl(t, "2"), Steps: []Step{long}}}}}}}}
	e2, rec2 := flowEnv(t, s2)
	base := runtime.NumGoroutine()
	abort := make(chan struct{})
	var ended atomic.Int64
	vus := make([]*VU, n)
	for i := range vus {
		vus[i] = e2.NewVU(i+1, Identity{}, Signals{Abort: abort})
		vus[i].Go(context.Background(), func() (time.Time, bool) { return time.Time{}, !closed(abort) }, func() { ended.Add(1) })
	}
	if !waitFor(10*time.Second, func() bool { return ps2.count("/p") == n }) {
		t.Fatalf("%d of %d requests served", ps2.count("/p"), n)
	}
	if !waitFor(5*time.Second, func() bool { return runtime.NumGoroutine() <= base+30 }) {
		t.Errorf("%d goroutines with %d VUs thinking, %d before", runtime.NumGoroutine(), n, base)
	}
	close(abort)
	for _, v := range vus {
		v.Wake()
	}
	if !waitFor(5*time.Second, func() bool { return ended.Load() == n }) {
		t.Fatalf("%d of %d VUs ended after Abort", ended.Load(), n)
	}
	if res := results(t, rec2); res.Iterations.Completed != 0 || ps2.count("/p") != n {
		t.Errorf("%d iterations, %d requests after Abort; want 0, %d", res.Iterations.Completed, ps2.count("/p"), n)
	}
}

// A session lost inside a repeat inside a group: the VU logs in again and
// retries that step once, then goes on with the loop.
func TestReloginInsideFlow(t *testing.T) {
	t.Parallel()
	var logins, lost atomic.Int64
	ps := newPathServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			logins.Add(1)
			http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: fmt.Sprintf("s%d", logins.Load()), Path: "/"})
		case "/x":
			c, err := r.Cookie("JSESSIONID")
			// The first session is dropped at its second request.
			if err != nil || c.Value == "s1" && lost.Add(1) == 2 {
				http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "", Path: "/", MaxAge: -1})
				w.WriteHeader(http.StatusUnauthorized)
			}
		}
	})
	login := Step{Name: "login", Method: http.MethodPost, Path: tpl(t, "/login")}
	s := &Script{Target: ps.url, Login: Login{Kind: LoginSteps, Steps: []Step{login}}, Session: Session{Relogin: true},
		Steps: []Step{{Name: "g", Group: &Group{Steps: []Step{{Repeat: &Repeat{Times: tpl(t, "3"), Steps: []Step{get(t, "x", "/x")}}}}}}}}
	e, rec := flowEnv(t, s)
	v := e.NewVU(1, Identity{}, Signals{})
	if err := v.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	v.Iterate(context.Background(), time.Time{})
	v.Close()
	res := results(t, rec)
	if ps.count("/x") != 4 || logins.Load() != 2 || res.Iterations.Completed != 1 {
		t.Errorf("server saw /x %d times, %d logins, %d iterations; want 4 (3 and a retry), 2, 1", ps.count("/x"), logins.Load(), res.Iterations.Completed)
	}
	if x := endpoint(t, res, "x"); x.Errors != 0 || x.ErrorsByKind["session_lost"] != 1 {
		t.Errorf("x: %d errors %v; want 0, session_lost 1", x.Errors, x.ErrorsByKind)
	}
	if g := endpoint(t, res, "g"); g.Requests != 1 || g.Errors != 0 {
		t.Errorf("group g: %d samples, %d errors; want 1, 0", g.Requests, g.Errors)
	}
}

// Bad flow built in Go is refused by NewEnv, naming the step.
func TestFlowErrors(t *testing.T) {
	t.Parallel()
	u := mustURL("http://127.0.0.1:1")
	for _, tc := range []struct {
		step Step
		want string
	}{
		{Step{Repeat: &Repeat{}}, "steps[0]: repeat: expected times or a positive for"},
		{Step{Repeat: &Repeat{For: time.Second, Steps: []Step{{Name: "g", Group: &Group{}}}}}, "steps[0]: repeat: its steps send no request"},
		{Step{Name: "r", Random: []Branch{{Weight: 0}}}, "steps[0] (r): random: expected a branch with a positive weight"},
		{Step{Random: []Branch{{Weight: math.NaN()}}}, "steps[0]: random[0]: weight NaN: expected a non-negative number"},
		{Step{If: &If{Op: CondExists}}, "steps[0]: if: expected var or status"},
		{Step{If: &If{Var: "x", Op: "like"}}, `steps[0]: if: condition "like": expected equals, matches or exists`},
		{Step{If: &If{Var: "x", Op: CondMatches}}, "steps[0]: if: matches needs a regular expression"},
		{Step{Foreach: &Foreach{Var: "x"}}, "steps[0]: foreach: expected var and as, names made of letters, digits, _ and -"},
		{Step{Group: &Group{}}, "steps[0]: group: expected a name"},
		{Step{Group: &Group{}, Repeat: &Repeat{Times: tpl(t, "1"), Steps: []Step{get(t, "a", "/")}}}, "steps[0]: a step is one of repeat, random, if, foreach or group, not several"},
		{Step{Name: "g", Method: "GET", Group: &Group{}}, "steps[0] (g): a control step sends no request: expected no method, path, body or extract"},
		{Step{Name: "g", Group: &Group{Steps: []Step{{Repeat: &Repeat{}}}}}, "steps[0].group.steps[0]: repeat: expected times or a positive for"},
	} {
		_, err := NewEnv(&Script{Target: u, Steps: []Step{tc.step}}, Transport{}, stats.NewRecorder(stats.Options{}), stats.NewSessions())
		if err == nil || err.Error() != tc.want {
			t.Errorf("NewEnv = %v\n    want %s", err, tc.want)
		}
	}
}

func mustExtractor(t testing.TB, name string, kind ExtractKind, expr string) Extractor {
	t.Helper()
	ex, err := NewExtractor(name, kind, expr)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// A step's own think replaces the script's (zero: none); a control
// step's own think comes once, after its last pass.
func TestStepThink(t *testing.T) {
	t.Parallel()
	ps := newPathServer(t, nil)
	const own = 150 * time.Millisecond
	none := get(t, "a", "/a")
	none.Think = &Think{}
	s := &Script{Target: ps.url, Think: Think{Min: time.Hour, Max: time.Hour}, Steps: []Step{
		{Think: &Think{Min: own, Max: own}, Repeat: &Repeat{Times: tpl(t, "3"), Steps: []Step{none}}},
		{Think: &Think{}, Name: "g", Group: &Group{Steps: []Step{none}}},
	}}
	e, _ := flowEnv(t, s)
	start := time.Now()
	iterateN(e, 1)
	if took := time.Since(start); took < own || took >= 2*own || ps.count("/a") != 4 {
		t.Errorf("took %s, /a %d times; want one pause of %s, 4", took, ps.count("/a"), own)
	}
}
