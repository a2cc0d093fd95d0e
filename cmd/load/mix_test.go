package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionload/load/bench/target"
)

// load init mix writes a plan (and its data file) that runs against the
// demo target as its comments say: 7 browsers, 2 cart fillers and 1 API
// client, each kind on its own paths and login, counted by the target.
func TestInitMixRunsAgainstTheTarget(t *testing.T) {
	t.Parallel()
	tg := target.New(target.Config{Users: 20, CountPaths: true})
	srv, err := tg.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	if code, _, stderr := runCLI(t, "init", "mix", "-o", plan); code != 0 {
		t.Fatalf("init mix: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "target: http://127.0.0.1:8080", "target: "+srv.URL(), 1)
	if text == string(b) {
		t.Fatal("the starter's target line moved")
	}
	if err := os.WriteFile(plan, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.json")
	code, stdout, stderr := runCLI(t, "run", plan, "--vus", "10", "--duration", "4s", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, stdout, stderr)
	}
	res := readResults(t, out)
	vus := map[string]int{}
	for _, s := range res.Scenarios {
		vus[s.Name] = s.VUsMax
		if s.Iterations == 0 || s.Errors != 0 {
			t.Errorf("scenario %s: %d iterations, %d errors", s.Name, s.Iterations, s.Errors)
		}
	}
	if vus["browse"] != 7 || vus["cart"] != 2 || vus["api"] != 1 {
		t.Errorf("VUs by scenario %v, want browse 7, cart 2, api 1", vus)
	}
	// The target's own count: who asked for what.
	paths := tg.PathUsers()
	users := func(path string) int { return len(paths[path]) }
	if n := users("/api/cart"); n != 3 {
		t.Errorf("%d users posted to /api/cart, want the 2 cart fillers and the API client", n)
	}
	if n := len(tg.TokenUsers()); n != 1 {
		t.Errorf("%d users logged in with a token, want the one API client", n)
	}
	if n := len(tg.AuthenticatedUsers()); n != 9 {
		t.Errorf("%d users logged in with the form, want the 9 browsers and cart fillers", n)
	}
	if len(res.Groups) != 1 || res.Groups[0].Name != "fill-cart" || res.Groups[0].Requests == 0 {
		t.Errorf("groups %+v, want fill-cart timed", res.Groups)
	}
	if !strings.Contains(stdout, "browse") || !strings.Contains(stdout, "fill-cart") {
		t.Errorf("the summary does not show the scenarios and the group:\n%s", stdout)
	}
}
