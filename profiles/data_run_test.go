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
			results[i], errs[i] = profiles.Run(ctx, p, profiles.RunOptions{Segment: profiles.Segment{Index: i, Count: 3}, Seed: 7})
		}()
	}
	wg.Wait()
	var iterations int64
	for i, err := range errs {
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		iterations += results[i].Iterations.Completed
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
