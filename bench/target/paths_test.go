package target

import (
	"encoding/json"
	"reflect"
	"testing"
)

// With CountPaths the target counts each authenticated /api/ request per
// path and user, by cookie or bearer token; echo paths and the token
// answer name the user.
func TestPathUsers(t *testing.T) {
	t.Parallel()
	tg, base := newTarget(t, Config{Users: 5, CountPaths: true})
	c := loggedIn(t, base, "user3")
	for range 2 {
		if r := do(t, c, "GET", base+"/api/echo/a?x=1", ""); r.status != 200 || r.body != `{"user":"user3","path":"/api/echo/a"}` {
			t.Errorf("echo/a = %d %q", r.status, r.body)
		}
	}
	if r := do(t, c, "GET", base+"/api/me", ""); r.status != 200 {
		t.Errorf("me = %d", r.status)
	}
	if r := do(t, c, "GET", base+"/api/nope", ""); r.status != 404 {
		t.Errorf("nope = %d", r.status)
	}
	anon := newClient(t)
	if r := do(t, anon, "GET", base+"/api/echo/a", "", "Accept", "application/json"); r.status != 401 {
		t.Errorf("anonymous echo = %d", r.status)
	}
	r := do(t, anon, "POST", base+"/api/token", `{"username":"user4","password":"secret"}`)
	var tok struct{ Token, User string }
	if err := json.Unmarshal([]byte(r.body), &tok); err != nil || tok.User != "user4" || tok.Token == "" {
		t.Fatalf("token = %d %q", r.status, r.body)
	}
	if r := do(t, anon, "POST", base+"/api/echo/b", `{}`, "Authorization", "Bearer "+tok.Token); r.status != 200 || r.body != `{"user":"user4","path":"/api/echo/b"}` {
		t.Errorf("echo/b = %d %q", r.status, r.body)
	}
	want := map[string]map[string]PathCount{
		"/api/echo/a": {"user3": {Cookie: 2}},
		"/api/me":     {"user3": {Cookie: 1}},
		"/api/echo/b": {"user4": {Bearer: 1}},
	}
	if got := tg.PathUsers(); !reflect.DeepEqual(got, want) {
		t.Errorf("PathUsers = %v, want %v", got, want)
	}
	if got := tg.TokenUsers(); !reflect.DeepEqual(got, map[string]int{"user4": 1}) {
		t.Errorf("TokenUsers = %v", got)
	}
	if got := New(Config{}).PathUsers(); got != nil {
		t.Errorf("PathUsers without CountPaths = %v, want nil", got)
	}
}
