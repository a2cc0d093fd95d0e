package vuser

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionload/load/stats"
)

// onceSource hands each of its rows out once, to whichever VU asks.
type onceSource struct {
	rows [][]string
	next atomic.Int64
}

func (s *onceSource) Columns() []string { return []string{"sku"} }

func (s *onceSource) Row(int, int64, *rand.Rand) ([]string, bool) {
	i := s.next.Add(1) - 1
	if i >= int64(len(s.rows)) {
		return nil, false
	}
	return s.rows[i], true
}

// TestVUTakesDataRows: each iteration takes one row, which every step of
// the iteration sees; the users CSV row is there too; once the source
// is out of rows the VU sends nothing more and says so. The server
// counts what it was sent.
func TestVUTakesDataRows(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string // path?query of every request, in order
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+"?"+r.URL.RawQuery+" "+r.Header.Get("X-Tenant"))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	path1, _ := ParseTemplate("/a/{{.Data.p.sku}}")
	path2, _ := ParseTemplate("/b/{{urlencode .Data.p.sku}}?t={{.Row.tenant}}")
	hdr, _ := ParseTemplate("{{.Row.tenant}}")
	src := &onceSource{rows: [][]string{{"s1"}, {"s 2"}, {"s3"}}}
	s := &Script{Target: target, Data: map[string]DataSource{"p": src}, Steps: []Step{
		{Name: "a", Method: http.MethodGet, Path: path1},
		{Name: "b", Method: http.MethodGet, Path: path2, Headers: []Header{{Name: "X-Tenant", Value: hdr}}},
	}}
	pl := http.DefaultTransport
	e, err := NewEnv(s, Transport{RoundTripper: pl}, stats.NewRecorder(stats.Options{}), stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	v := e.NewVU(1, Identity{Username: "u", Password: "p", Row: map[string]string{"tenant": "acme"}}, Signals{})
	defer v.Close()
	for range 5 {
		v.Iterate(context.Background(), time.Time{})
	}
	want := []string{
		"/a/s1? ", "/b/s1?t=acme acme",
		"/a/s 2? ", "/b/s+2?t=acme acme",
		"/a/s3? ", "/b/s3?t=acme acme",
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, want) {
		t.Errorf("the server saw\n%q\nwant\n%q", seen, want)
	}
	if !v.DataExhausted() {
		t.Error("DataExhausted is false after the rows ran out")
	}
	if got, ok := v.DataValue("p", "sku"); !ok || got != "s3" {
		t.Errorf("DataValue = %q %v, want the last row taken, s3", got, ok)
	}
}

// TestVUStopsWhenDataRunsOut: a VU run with Go stops by itself when a
// source has no row left, though next would go on.
func TestVUStopsWhenDataRunsOut(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	path, _ := ParseTemplate("/x/{{.Data.p.sku}}")
	s := &Script{Target: target, Data: map[string]DataSource{"p": &onceSource{rows: [][]string{{"1"}, {"2"}}}},
		Steps: []Step{{Name: "x", Method: http.MethodGet, Path: path}}}
	e, err := NewEnv(s, Transport{}, stats.NewRecorder(stats.Options{}), stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	v := e.NewVU(1, Identity{}, Signals{})
	done := make(chan struct{})
	asked := 0
	v.Go(context.Background(), func() (time.Time, bool) { asked++; return time.Time{}, asked < 100 }, func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the VU did not stop when its data ran out")
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("the server got %d requests, want 2 (one per row)", n)
	}
	if asked != 3 || !v.DataExhausted() {
		t.Errorf("next asked %d times (want 3: two rows, then none), exhausted %v", asked, v.DataExhausted())
	}
}

// TestVUTemplateRandomSeeded: a VU's {{uuid}} and {{randInt}} come from
// its own generator, seeded with (Script.Seed, VU id).
func TestVUTemplateRandomSeeded(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("http://127.0.0.1:1")
	tmpl, _ := ParseTemplate("{{uuid}} {{randInt 0 1000000}}")
	draw := func(seed uint64, vu int) []string {
		e, err := NewEnv(&Script{Target: u, Seed: seed}, Transport{}, stats.NewRecorder(stats.Options{}), stats.NewSessions())
		if err != nil {
			t.Fatal(err)
		}
		v := e.NewVU(vu, Identity{}, Signals{})
		var out []string
		for range 5 {
			out = append(out, tmpl.Render(&v.data))
		}
		return out
	}
	a, b, c, d := draw(42, 1), draw(42, 1), draw(43, 1), draw(42, 2)
	if !slices.Equal(a, b) {
		t.Errorf("seed 42 twice: %q vs %q", a, b)
	}
	if slices.Equal(a, c) || slices.Equal(a, d) {
		t.Errorf("another seed or VU drew the same: %q", a)
	}
}

func TestScriptDataSources(t *testing.T) {
	t.Parallel()
	mk := func(s string) *Template { tm, _ := ParseTemplate(s); return tm }
	s := &Script{
		Steps: []Step{
			{Path: mk("/{{.Data.b.x}}"), Headers: []Header{{Name: "H", Value: mk("{{.Data.a.y}}")}}},
			{Repeat: &Repeat{Times: mk("{{.Data.c.n}}"), Steps: []Step{{Path: mk("/{{.Data.d.x}}")}}}},
			{If: &If{Value: mk("{{.Row.r}}"), Else: []Step{{JSON: mk(`{"a":"{{.Data.e.x}}"}`)}}}},
			{Group: &Group{Steps: []Step{{Form: []Field{{Name: "f", Value: mk("{{urlencode .Data.f.x}}")}}}}}},
			{Random: []Branch{{Steps: []Step{{Check: Check{JSON: []JSONCheck{{Want: mk("{{.Data.a.z}}")}}}}}}}},
		},
		Login: Login{Steps: []Step{{Body: mk("{{.Data.g.x}}")}}},
	}
	if got, want := s.DataSources(), []string{"a", "b", "c", "d", "e", "f", "g"}; !slices.Equal(got, want) {
		t.Errorf("DataSources = %q, want %q", got, want)
	}
}

// finiteSource has one row, for the VUs up to max.
type finiteSource struct {
	max       int
	cols, row []string
}

func finite(max int) finiteSource {
	return finiteSource{max: max, cols: []string{"n"}, row: []string{"x"}}
}

func (s finiteSource) Columns() []string { return s.cols }
func (s finiteSource) Row(vu int, _ int64, _ *rand.Rand) ([]string, bool) {
	return s.row, vu <= s.max
}
func (s finiteSource) Exhausted(vu int) bool { return vu > s.max }

// TestVUWithoutRowsDoesNotLogIn: a VU its sources can give no row stops
// before it logs in; the server counts no login of it.
func TestVUWithoutRowsDoesNotLogIn(t *testing.T) {
	t.Parallel()
	var logins, requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			logins.Add(1)
			w.Write([]byte(`{"token":"t"}`))
			return
		}
		requests.Add(1)
	}))
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	path, _ := ParseTemplate("/x/{{.Data.p.n}}")
	s := &Script{Target: target, Data: map[string]DataSource{"p": finite(1)},
		Login: Login{Kind: LoginJSONToken, Path: "/login"},
		Steps: []Step{{Name: "x", Method: http.MethodGet, Path: path}}}
	e, err := NewEnv(s, Transport{}, stats.NewRecorder(stats.Options{}), stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{2, 1} { // VU 2 has no row: it must not log in
		wantLogins := int64(0)
		if id == 1 {
			wantLogins = 1
		}
		before := logins.Load()
		v := e.NewVU(id, Identity{Username: "u", Password: "p"}, Signals{})
		done := make(chan struct{})
		n := 0
		v.Go(context.Background(), func() (time.Time, bool) { n++; return time.Time{}, n <= 3 }, func() { close(done) })
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("VU %d did not stop", id)
		}
		if got := logins.Load() - before; got != wantLogins {
			t.Errorf("VU %d: the server counted %d logins, want %d", id, got, wantLogins)
		}
		if exhausted := v.DataExhausted(); exhausted != (id == 2) {
			t.Errorf("VU %d: DataExhausted %v", id, exhausted)
		}
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("the server got %d requests, want 3 (VU 1's iterations)", n)
	}
}

// TestTakeDataAllocs: taking rows allocates on a VU's first iteration only.
func TestTakeDataAllocs(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1")
	s := &Script{Target: u, Data: map[string]DataSource{"a": finite(1 << 30), "b": finite(1 << 30)}}
	e, err := NewEnv(s, Transport{}, stats.NewRecorder(stats.Options{}), stats.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	v := e.NewVU(1, Identity{}, Signals{})
	if !v.takeData() {
		t.Fatal("no row")
	}
	if n := testing.AllocsPerRun(100, func() { v.takeData() }); n != 0 {
		t.Errorf("takeData allocates %v times an iteration, want 0", n)
	}
}
