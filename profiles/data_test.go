package profiles

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sessionload/load/vuser"
)

// writeData writes a CSV of n rows (id, name) and returns its path.
func writeData(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := range n {
		fmt.Fprintf(&b, "r%d,name %d\n", i, i)
	}
	f := filepath.Join(t.TempDir(), "data.csv")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func readData(t *testing.T, n int, pick Pick) *csvData {
	t.Helper()
	src, err := ReadData(writeData(t, n), pick)
	if err != nil {
		t.Fatal(err)
	}
	return src.(*csvData)
}

func TestDataSequence(t *testing.T) {
	t.Parallel()
	src := readData(t, 3, PickSequence)
	if got := src.Columns(); !slices.Equal(got, []string{"id", "name"}) {
		t.Errorf("Columns = %q", got)
	}
	for vu := 1; vu <= 3; vu++ {
		for iter := range int64(3) { // the same row for the VU's whole life
			row, ok := src.Row(vu, iter, nil)
			if !ok || row[0] != fmt.Sprintf("r%d", vu-1) {
				t.Errorf("VU %d iteration %d: %q %v, want r%d", vu, iter, row, ok, vu-1)
			}
		}
	}
	if row, ok := src.Row(4, 0, nil); ok {
		t.Errorf("VU 4 of 3 rows got %q, want exhausted", row)
	}
	if src.Exhausted(3) || !src.Exhausted(4) || !src.Exhausted(0) {
		t.Error("Exhausted: VU 3 of 3 rows has one, VUs 0 and 4 none")
	}
	// Segments: VU ids are global, so segment 1/2 runs VUs 2, 4, ...
	// and takes their rows.
	seg := src.ForRun(Segment{Index: 1, Count: 2})
	if row, ok := seg.Row(Segment{Index: 1, Count: 2}.GlobalVU(1), 0, nil); !ok || row[0] != "r1" {
		t.Errorf("segment 1/2, local VU 1: %q %v, want r1", row, ok)
	}
}

func TestDataRandom(t *testing.T) {
	t.Parallel()
	src := readData(t, 5, PickRandom)
	draws := func(seed uint64) []string {
		rng := rand.New(rand.NewPCG(seed, 1))
		var out []string
		for i := range 500 {
			row, ok := src.Row(1, int64(i), rng)
			if !ok {
				t.Fatal("random source exhausted")
			}
			out = append(out, row[0])
		}
		return out
	}
	a, b, c := draws(1), draws(1), draws(2)
	if !slices.Equal(a, b) {
		t.Error("the same seed drew other rows")
	}
	if slices.Equal(a, c) {
		t.Error("another seed drew the same rows")
	}
	seen := map[string]int{}
	for _, r := range a {
		seen[r]++
	}
	for i := range 5 {
		if n := seen[fmt.Sprintf("r%d", i)]; n < 60 || n > 140 { // ~100 each
			t.Errorf("row r%d drawn %d times of 500: %v", i, n, seen)
		}
	}
}

func TestDataCircularWraps(t *testing.T) {
	t.Parallel()
	src := readData(t, 3, PickCircular).ForRun(Segment{})
	var got []string
	for vu := range 7 { // one cursor for all VUs
		row, ok := src.Row(vu%2+1, 0, nil)
		if !ok {
			t.Fatal("circular source exhausted")
		}
		got = append(got, row[0])
	}
	if want := []string{"r0", "r1", "r2", "r0", "r1", "r2", "r0"}; !slices.Equal(got, want) {
		t.Errorf("circular draws %q, want %q", got, want)
	}
	// Three segments interleave as one process would: together they
	// take each row in turn.
	counts := map[string]int{}
	for i := range 3 {
		s := readData(t, 4, PickCircular).ForRun(Segment{Index: i, Count: 3})
		for range 4 {
			row, _ := s.Row(1, 0, nil)
			counts[row[0]]++
		}
	}
	for i := range 4 {
		if counts[fmt.Sprintf("r%d", i)] != 3 {
			t.Errorf("12 draws over 3 segments of 4 rows: %v, want each row 3 times", counts)
			break
		}
	}
}

// TestDataUniqueSegments: three segments draw concurrently, many VUs
// each, until they run out: the rows taken are the whole file, each once,
// and every draw after is refused.
func TestDataUniqueSegments(t *testing.T) {
	t.Parallel()
	const rows = 1000
	src := readData(t, rows, PickUnique)
	var mu sync.Mutex
	taken := map[string]int{}
	var wg sync.WaitGroup
	var segs []vuser.DataSource
	for i := range 3 {
		seg := Segment{Index: i, Count: 3}
		s := src.ForRun(seg)
		segs = append(segs, s)
		for vu := 1; vu <= 4; vu++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for iter := int64(0); ; iter++ {
					row, ok := s.Row(seg.GlobalVU(vu), iter, nil)
					if !ok {
						for range 3 { // exhausted stays exhausted
							if row, ok := s.Row(seg.GlobalVU(vu), iter, nil); ok {
								t.Errorf("segment %s gave %q after it was exhausted", seg, row)
							}
						}
						return
					}
					mu.Lock()
					taken[row[0]]++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	for i, s := range segs {
		if !s.(*csvData).Exhausted(i + 1) {
			t.Errorf("segment %d/3 handed out all its rows but is not exhausted", i)
		}
	}
	for i := range 3 {
		if s := src.ForRun(Segment{Index: i, Count: 3}); s.(*csvData).Exhausted(1) {
			t.Errorf("a fresh run of segment %d/3 says it is exhausted", i)
		}
	}
	if len(taken) != rows {
		t.Errorf("%d distinct rows taken, want %d", len(taken), rows)
	}
	for r, n := range taken {
		if n != 1 {
			t.Errorf("row %s taken %d times", r, n)
		}
	}
	// A new run starts again at the first row.
	if row, ok := src.ForRun(Segment{}).Row(1, 0, nil); !ok || row[0] != "r0" {
		t.Errorf("a new run's first row: %q %v, want r0", row, ok)
	}
}

func TestReadDataCSV(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		rows       int
		probs      string
	}{
		{"plain", "a,b\n1,2\n3,4\n", 2, ""},
		{"bom, crlf, quotes", "\xef\xbb\xbfa,b\r\n\"1,x\",\"y\"\"z\"\r\n", 1, ""},
		{"one column", "sku\nS1\nS2\n", 2, ""},
		{"empty", "", 0, "F:1: empty file: expected a header row of column names"},
		{"only a header", "a,b\n", 0, "F:1: no rows: the file has only its header"},
		{"ragged", "a,b\n1\n1,2,3\n1,2\n", 1, "F:2: expected 2 fields (a,b), got 1\nF:3: expected 2 fields (a,b), got 3"},
		{"duplicate column", "a,b,a\n1,2,3\n", 1, `F:1:5: duplicate column name "a" (also column 1)`},
		{"empty column", "a,,b\n1,2,3\n", 1, "F:1:3: empty column name (column 2 of the header)"},
		{"bad quote", "a,b\n1,\"2\n", 0, `F:2:6: extraneous or missing " in quoted-field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := filepath.Join(t.TempDir(), "d.csv")
			if err := os.WriteFile(f, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, rows, probs, err := readDataCSV(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tc.rows {
				t.Errorf("%d rows, want %d", len(rows), tc.rows)
			}
			got := ""
			if len(probs) > 0 {
				got = strings.ReplaceAll(probs.Error(), f, "F")
			}
			if got != tc.probs {
				t.Errorf("problems:\n got %s\nwant %s", got, tc.probs)
			}
		})
	}
	if _, err := ReadData(filepath.Join(t.TempDir(), "none.csv"), PickUnique); !os.IsNotExist(err) {
		t.Errorf("ReadData(missing) = %v, want not exist", err)
	}
	if _, err := ReadData(writeData(t, 1), "shuffle"); err == nil || !strings.Contains(err.Error(), "expected one of sequence, random, unique, circular") {
		t.Errorf("ReadData(pick shuffle) = %v", err)
	}
}

// TestDataDecode: the plan's sources go to the scripts that use them,
// only those; a run's scripts have fresh cursors and share a source the
// way the plan does; the plan is left as it was.
func TestDataDecode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"products.csv": "sku,name\nS1,tea\nS2,coffee\n",
		"cities.csv":   "city\nParis\n",
		"users.csv":    "username,password,tenant\nu1,p1,acme\nu2,p2,initech\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := `target: http://127.0.0.1:1
users: {csv: users.csv, pick: circular}
session: {login: none}
data:
  products: {csv: products.csv, pick: unique}
  cities: cities.csv
scenario:
  - name: buy
    post: "/buy/{{.Data.products.sku}}?t={{.Row.tenant}}&n={{randInt 1 3}}"
    json: {name: "{{.Data.products.name}}"}
load: {vus: 5, duration: 1s}
`
	p, err := Parse("p.yaml", []byte(text), dir)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Scenarios[0].Script
	if got := slices.Sorted(maps.Keys(s.Data)); !slices.Equal(got, []string{"products"}) {
		t.Errorf("Script.Data has %q, want only the used source products", got)
	}
	src := s.Data["products"].(*csvData)
	if src.pick != PickUnique || !slices.Equal(src.cols, []string{"sku", "name"}) || len(src.rows) != 2 {
		t.Errorf("products = %+v", src)
	}
	if cities := mustRead(t, p, dir); cities.pick != defaultPick {
		t.Errorf("cities pick %s, want %s", cities.pick, defaultPick)
	}
	// Circular users: VU 3 is user 1 again, with its row.
	if id := p.Scenarios[0].Users.Identity(3); id.Username != "u1" || id.Row["tenant"] != "acme" {
		t.Errorf("VU 3 of 2 circular users: %+v", id)
	}
	if got, want := p.DataWarnings(), []string{"5 VUs share 2 users of users.csv (users.pick: circular): sessions per user exceed 1"}; !slices.Equal(got, want) {
		t.Errorf("DataWarnings = %q, want %q", got, want)
	}

	// A second scenario using the same source shares it in a run.
	second := *s
	p.Scenarios = append(p.Scenarios, &Scenario{Name: "b", Weight: 1, Script: &second, Users: p.Scenarios[0].Users})
	scripts := p.RunScripts(Segment{Index: 1, Count: 2})
	a, b := scripts[0].Data["products"], scripts[1].Data["products"]
	if a != b {
		t.Error("two scenarios' run scripts have two instances of one source")
	}
	if a == vuser.DataSource(src) || scripts[0] == s {
		t.Error("RunScripts gave the plan's own script or source, not the run's")
	}
	if a.(*csvData).seg != (Segment{Index: 1, Count: 2}) || src.seg != (Segment{}) {
		t.Errorf("run source segment %v, plan's %v", a.(*csvData).seg, src.seg)
	}
	// Segment 1/2 of 2 unique rows has row 1 only.
	if row, ok := a.Row(2, 0, nil); !ok || row[0] != "S2" {
		t.Errorf("segment 1/2 first row %q %v, want S2", row, ok)
	}
	if row, ok := b.Row(4, 0, nil); ok {
		t.Errorf("segment 1/2 second row %q, want exhausted (shared with the other scenario)", row)
	}
	if !reflect.DeepEqual(p.Scenarios[0].Script.Data, map[string]vuser.DataSource{"products": src}) {
		t.Error("RunScripts changed the plan")
	}
}

// mustRead decodes the plan's cities source as the decoder does.
func mustRead(t *testing.T, p *Plan, dir string) *csvData {
	t.Helper()
	d := newDecoder("p.yaml", dir, []byte(p.Source))
	root, _ := d.document([]byte(p.Source))
	m, _ := d.fields(root, "", planKeys)
	decl := d.data(m["data"].val)
	if len(d.probs) > 0 || decl.sources["cities"] == nil {
		t.Fatalf("data: %v", d.problems())
	}
	return decl.sources["cities"]
}

func TestDataWarningsSequence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.csv"), []byte("x\n1\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := "target: http://127.0.0.1:1\nsession: {login: none}\ndata: {p: {csv: p.csv, pick: sequence}}\nscenario: [{name: a, get: \"/{{.Data.p.x}}\"}]\nload: {vus: VUS, duration: 1s}\n"
	for vus, want := range map[string][]string{
		"2": nil,
		"5": {"data p: 5 VUs but p.csv has 2 rows (pick: sequence): VUs 3 to 5 stop at once (data_exhausted)"},
	} {
		p, err := Parse("w.yaml", []byte(strings.Replace(text, "VUS", vus, 1)), dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.DataWarnings(); !slices.Equal(got, want) {
			t.Errorf("%s VUs: DataWarnings = %q, want %q", vus, got, want)
		}
	}
}

// TestDataInPlanHash: the rows of a data file are part of what a plan
// tests (segments with other rows are another test); a plan without
// data hashes as before.
func TestDataInPlanHash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := "target: http://127.0.0.1:1\nsession: {login: none}\ndata: {p: p.csv}\nscenario: [{name: a, get: \"/{{.Data.p.x}}\"}]\nload: {vus: 1, duration: 1s}\n"
	hash := func(rows string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "p.csv"), []byte("x\n"+rows), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := Parse("h.yaml", []byte(text), dir)
		if err != nil {
			t.Fatal(err)
		}
		return p.Hash()
	}
	a, b, c := hash("1\n2\n"), hash("1\n2\n"), hash("1\n3\n")
	if a != b || a == c {
		t.Errorf("hashes %s, %s (same rows), %s (other rows)", a, b, c)
	}
	if (&Plan{Scenarios: []*Scenario{{Script: &vuser.Script{}}}}).dataDigest() != "" {
		t.Error("a plan without data has a data digest")
	}
}
