package profiles_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
)

// dataServer is a json-token app that counts, on its own side, the
// logins per user and the values of each data column it was sent.
type dataServer struct {
	mu     sync.Mutex
	logins map[string]int
	skus   map[string]int
	bad    []string // requests that were not what the plan sends
}

func newDataServer(t *testing.T) (*dataServer, string) {
	s := &dataServer{logins: map[string]int{}, skus: map[string]int{}}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch r.URL.Path {
		case "/login":
			var c struct{ Username, Password string }
			if json.NewDecoder(r.Body).Decode(&c) != nil || c.Password != "pw" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			s.logins[c.Username]++
			fmt.Fprintf(w, `{"token":"tok-%s"}`, c.Username)
		case "/buy":
			user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
			q := r.URL.Query()
			if !ok || s.logins[user] == 0 || !uuid.MatchString(q.Get("id")) || q.Get("sku") == "" {
				s.bad = append(s.bad, r.URL.String())
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			s.skus[q.Get("sku")]++
			fmt.Fprintf(w, `{"user":%q}`, user)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// TestRunUniqueDataSegments runs a plan with unique data as 3 segments
// at once, 6 VUs in all, against a server that counts the values it is
// sent: each row reaches it at most once in total, all of them (the run
// is long enough), then every VU stops for want of rows; no VU is
// started again in its place (one login per user).
func TestRunUniqueDataSegments(t *testing.T) {
	t.Parallel()
	const rows, vus = 40, 6
	srv, url := newDataServer(t)
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("sku,name\n")
	for i := range rows {
		fmt.Fprintf(&csv, "S %d/x,name %d\n", i, i) // blanks and slashes: urlencode must carry them
	}
	if err := os.WriteFile(filepath.Join(dir, "products.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`target: %s
users: {template: {username: "user{{.VU}}", password: pw}}
session: {login: json-token, login_path: /login}
data:
  products: {csv: products.csv, pick: unique}
  unused: {csv: products.csv, pick: sequence}
scenario:
  - name: buy
    get: "/buy?sku={{urlencode .Data.products.sku}}&id={{uuid}}"
    check: {status: 200, json: {$.user: "{{.User}}"}}
load: {vus: %d, duration: 1500ms}
`, url, vus)
	var (
		wg      sync.WaitGroup
		results [3]*stats.Results
		errs    [3]error
	)
	start := time.Now().Add(300 * time.Millisecond) // one run in 3 segments: mergeable
	for i := range 3 {
		p, err := profiles.Parse("unique.yaml", []byte(text), dir)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			results[i], errs[i] = profiles.Run(ctx, p, profiles.RunOptions{Segment: profiles.Segment{Index: i, Count: 3}, Seed: 7, StartAt: start})
		}()
	}
	wg.Wait()
	var iterations, exhausted int64
	for i, err := range errs {
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		iterations += results[i].Iterations.Completed
		exhausted += results[i].VUs.Stopped["data_exhausted"]
	}
	// The rows run out long before the 1.5 s: every VU stops, counted.
	if exhausted != vus {
		t.Errorf("vus.stopped.data_exhausted over the segments: %d, want every VU (%d)", exhausted, vus)
	}
	merged, err := stats.Merge(results[:], stats.MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := merged.VUs.Stopped["data_exhausted"]; n != vus {
		t.Errorf("merged vus.stopped.data_exhausted %d, want %d", n, vus)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.bad) > 0 {
		t.Errorf("the server got %d requests that are not the plan's, e.g. %q", len(srv.bad), srv.bad[0])
	}
	for i := range rows {
		sku := fmt.Sprintf("S %d/x", i)
		if n := srv.skus[sku]; n != 1 {
			t.Errorf("row %q reached the server %d times, want once", sku, n)
		}
	}
	if len(srv.skus) != rows {
		t.Errorf("the server saw %d distinct skus, want %d: %v", len(srv.skus), rows, srv.skus)
	}
	if iterations != rows {
		t.Errorf("%d iterations over the 3 segments, want %d (one per row)", iterations, rows)
	}
	// Every VU logged in once: one that ran out of rows was not replaced.
	if len(srv.logins) != vus {
		t.Errorf("%d users logged in, want %d", len(srv.logins), vus)
	}
	for u, n := range srv.logins {
		if n != 1 {
			t.Errorf("%s logged in %d times, want once", u, n)
		}
	}
}

// recordingServer is a json-token app that keeps, per user, the logins
// and the X-Tenant and sku values of each request, in order.
type recordingServer struct {
	mu      sync.Mutex
	logins  map[string]int
	tenants map[string][]string
	skus    map[string][]string
}

func newRecordingServer(t *testing.T) (*recordingServer, string) {
	s := &recordingServer{logins: map[string]int{}, tenants: map[string][]string{}, skus: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.URL.Path == "/login" {
			var c struct{ Username string }
			_ = json.NewDecoder(r.Body).Decode(&c)
			s.logins[c.Username]++
			fmt.Fprintf(w, `{"token":"tok-%s"}`, c.Username)
			return
		}
		user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		s.tenants[user] = append(s.tenants[user], r.Header.Get("X-Tenant"))
		s.skus[user] = append(s.skus[user], r.URL.Query().Get("sku"))
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func runPlan(t *testing.T, text, dir string, o profiles.RunOptions) *stats.Results {
	t.Helper()
	p, err := profiles.Parse("p.yaml", []byte(text), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := profiles.Run(ctx, p, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRunCircularUsers: 6 VUs share 3 users of a CSV with an extra
// column: the server sees each user log in twice, every request carries
// its own user's column, and the results say users are shared.
func TestRunCircularUsers(t *testing.T) {
	t.Parallel()
	srv, url := newRecordingServer(t)
	dir := t.TempDir()
	users := "username,password,tenant\nann,a,t-ann\nbob,b,t-bob\ncyd,c,t-cyd\n"
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(users), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runPlan(t, fmt.Sprintf(`target: %s
users: {csv: users.csv, pick: circular}
session: {login: json-token, login_path: /login}
scenario:
  - name: home
    get: /home
    headers: {X-Tenant: "{{.Row.tenant}}"}
think: 20ms
load: {vus: 6, duration: 400ms}
`, url), dir, profiles.RunOptions{})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, u := range []string{"ann", "bob", "cyd"} {
		if n := srv.logins[u]; n != 2 {
			t.Errorf("%s logged in %d times, want 2 (VUs %s share it)", u, n, map[string]string{"ann": "1 and 4", "bob": "2 and 5", "cyd": "3 and 6"}[u])
		}
		if len(srv.tenants[u]) == 0 {
			t.Errorf("no request of %s", u)
		}
		for _, tn := range srv.tenants[u] {
			if tn != "t-"+u {
				t.Errorf("a request of %s carried X-Tenant %q, want t-%s", u, tn, u)
				break
			}
		}
	}
	if len(srv.logins) != 3 {
		t.Errorf("logins %v, want the 3 users of the file", srv.logins)
	}
	want := "6 VUs share 3 users of users.csv (users.pick: circular): sessions per user exceed 1"
	if !slices.Contains(res.Warnings, want) {
		t.Errorf("warnings %q lack %q", res.Warnings, want)
	}
}

// TestRunRandomDataSeeded: with pick random, two runs with one --seed
// send each user the same rows in the same order; another seed others.
func TestRunRandomDataSeeded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("sku\n")
	for i := range 1000 {
		fmt.Fprintf(&csv, "s%d\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "p.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	picks := func(seed uint64) map[string][]string {
		srv, url := newRecordingServer(t)
		runPlan(t, fmt.Sprintf(`target: %s
users: {template: {username: "user{{.VU}}", password: pw}}
session: {login: json-token, login_path: /login}
data: {p: {csv: p.csv, pick: random}}
scenario:
  - name: a
    get: "/a?sku={{.Data.p.sku}}"
  - name: b
    get: "/b?sku={{.Data.p.sku}}"
think: 5ms
load: {vus: 3, duration: 300ms}
`, url), dir, profiles.RunOptions{Seed: seed})
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.skus
	}
	a, b, c := picks(9), picks(9), picks(10)
	for _, u := range []string{"user1", "user2", "user3"} {
		n := min(len(a[u]), len(b[u]))
		if n < 10 {
			t.Fatalf("%s: %d and %d requests, too few to compare", u, len(a[u]), len(b[u]))
		}
		if !slices.Equal(a[u][:n], b[u][:n]) {
			t.Errorf("%s, seed 9 twice: %q and %q", u, a[u][:n], b[u][:n])
		}
		for i := 0; i+1 < n; i += 2 { // steps a and b of one iteration: one row
			if a[u][i] != a[u][i+1] {
				t.Errorf("%s: one iteration sent %s then %s", u, a[u][i], a[u][i+1])
				break
			}
		}
		if m := min(n, len(c[u])); m > 0 && slices.Equal(a[u][:m], c[u][:m]) {
			t.Errorf("%s: seeds 9 and 10 sent the same rows %q", u, a[u][:m])
		}
	}
}

// TestRunSequenceData: VU i has row i for its life; the VUs beyond the
// rows stop without logging in, and the results warn of them.
func TestRunSequenceData(t *testing.T) {
	t.Parallel()
	srv, url := newRecordingServer(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.csv"), []byte("sku\nfirst\nsecond\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runPlan(t, fmt.Sprintf(`target: %s
users: {template: {username: "user{{.VU}}", password: pw}}
session: {login: json-token, login_path: /login}
data: {p: {csv: p.csv, pick: sequence}}
scenario:
  - name: a
    get: "/a?sku={{.Data.p.sku}}"
think: 10ms
load: {vus: 5, duration: 300ms}
`, url), dir, profiles.RunOptions{})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.logins) != 2 || srv.logins["user1"] != 1 || srv.logins["user2"] != 1 {
		t.Errorf("logins %v, want user1 and user2 once each (VUs 3 to 5 have no row)", srv.logins)
	}
	for u, want := range map[string]string{"user1": "first", "user2": "second"} {
		if len(srv.skus[u]) < 3 {
			t.Errorf("%s sent %d requests, want several", u, len(srv.skus[u]))
		}
		for _, got := range srv.skus[u] {
			if got != want {
				t.Errorf("%s sent row %q, want always %q", u, got, want)
				break
			}
		}
	}
	want := "data p: 5 VUs but p.csv has 2 rows (pick: sequence): VUs 3 to 5 stop at once (data_exhausted)"
	if !slices.Contains(res.Warnings, want) {
		t.Errorf("warnings %q lack %q", res.Warnings, want)
	}
}
