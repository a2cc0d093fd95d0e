package profiles_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionload/load/stats"
)

// A paced run whose responses (80 ms) take longer than its pacing
// (40 ms): every iteration after the first starts late, and the results
// warn of it once with the count; one whose pace holds has no warning.
// The server counts the requests.
func TestPacingOverrun(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		time.Sleep(80 * time.Millisecond)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	for _, c := range []struct {
		pacing string
		warn   bool
	}{{"40ms", true}, {"200ms", false}} {
		hits.Store(0)
		p := plan(t, u, fmt.Sprintf(`
target: TARGET
session: {login: none}
scenario: [{name: slow, get: /slow}]
load: {vus: 1, duration: 700ms, pacing: %s}
`, c.pacing))
		res := run(t, p)
		n := hits.Load()
		if n < 3 || n != res.Iterations.Completed {
			t.Fatalf("pacing %s: server saw %d requests, %d iterations; want 3 or more, one each", c.pacing, n, res.Iterations.Completed)
		}
		var got string
		for _, w := range res.Warnings {
			if strings.Contains(w, "overran its pacing") {
				if got != "" {
					t.Errorf("pacing %s: warned twice: %q", c.pacing, res.Warnings)
				}
				got = w
			}
		}
		if !c.warn {
			if got != "" {
				t.Errorf("pacing %s: %q, want no overrun warning (80 ms responses)", c.pacing, got)
			}
			continue
		}
		// Every iteration but the first started late, counted in the results.
		if res.Iterations.Overran != n-1 {
			t.Errorf("pacing %s: iterations.overran %d, want %d", c.pacing, res.Iterations.Overran, n-1)
		}
		for _, w := range res.Warnings {
			if w == stats.OverranWarning(res.Iterations.Overran) {
				t.Errorf("pacing %s: the recorder's overran warning beside the run's: %q", c.pacing, res.Warnings)
			}
		}
		if want := fmt.Sprintf("%d paced iterations started late", n-1); !strings.HasPrefix(got, want) {
			t.Errorf("pacing %s: warning %q, want it to begin %q (server saw %d requests)", c.pacing, got, want, n)
		}
	}
}

// Session arrivals give every iteration, hence every request of it, an
// intended start: the scenario's requests all have corrected latency,
// and a think that wakes late would count in it. The server counts them.
func TestSessionArrivalsIntended(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	p := plan(t, u, `
target: TARGET
session: {login: none}
think: 50ms
scenario: [{name: a, get: /a}, {name: b, get: /b}]
load: {sessions: {rate: 10/s, lifetime: 300ms}, duration: 500ms, graceful_stop: 2s}
`)
	res := run(t, p)
	var reqs, corrected int64
	for _, name := range []string{"a", "b"} {
		ep := endpoint(t, res, name)
		reqs += ep.Requests
		corrected += ep.CorrectedRequests
	}
	if n := hits.Load(); n < 4 || reqs != n || corrected != n {
		t.Errorf("server saw %d requests; results %d, %d of them with an intended start; want all", n, reqs, corrected)
	}
}

// An arrival rate that outgrows its preallocated VU, whose logins take
// 100 ms: iterations queue behind the new VUs' logins (queue) or are
// dropped below max_vus (drop), and the results say so once.
func TestArrivalsBehindLogins(t *testing.T) {
	var logins, hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			logins.Add(1)
			time.Sleep(100 * time.Millisecond)
			http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: fmt.Sprint("s", logins.Load()), Path: "/"})
			return
		}
		hits.Add(1)
		time.Sleep(20 * time.Millisecond)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	for _, c := range []struct{ mode, want string }{
		{"queue", "queued behind the new VUs' logins"},
		{"drop", "dropped below max_vus"},
	} {
		logins.Store(0)
		hits.Store(0)
		p := plan(t, u, fmt.Sprintf(`
target: TARGET
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: steps, login_steps: [{name: login, post: /login}]}
scenario: [{name: a, get: /a}]
load: {rate: 100/s, duration: 500ms, preallocated_vus: 1, max_vus: 20, on_overload: %s, graceful_stop: 2s}
`, c.mode))
		res := run(t, p)
		n := 0
		for _, w := range res.Warnings {
			if strings.Contains(w, c.want) {
				n++
			}
		}
		if n != 1 || logins.Load() < 2 || hits.Load() == 0 {
			t.Errorf("%s: %d warnings with %q in %q; server saw %d logins, %d requests; want 1, 2 or more, some", c.mode, n, c.want, res.Warnings, logins.Load(), hits.Load())
		}
	}
}
