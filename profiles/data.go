package profiles

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/vuser"
)

// Pick says how a data source hands its rows to the VUs.
type Pick string

// The picks of a data source.
const (
	// PickSequence gives global VU i row i for its whole life; a VU
	// beyond the rows finds the source exhausted. Segments stripe it as
	// they stripe VU ids.
	PickSequence Pick = "sequence"
	// PickRandom gives a random row each iteration, from the VU's seeded
	// generator (reproducible with --seed).
	PickRandom Pick = "random"
	// PickUnique hands each row out once in the whole run, across all
	// segments (segment i of n takes the rows r with r mod n = i), one
	// per iteration; a VU that finds none left stops (data_exhausted).
	PickUnique Pick = "unique"
	// PickCircular gives each iteration the next row, from one cursor
	// all VUs share, starting again at the first row after the last.
	PickCircular Pick = "circular"
)

// picks are the picks in the order messages list them.
var picks = []string{string(PickSequence), string(PickRandom), string(PickUnique), string(PickCircular)}

// defaultPick is a source's pick when the plan gives none: each row in
// turn, as JMeter's CSV Data Set does; it never runs out.
const defaultPick = PickCircular

// csvData is a table of test data read from a CSV file (a header row of
// column names, then rows) and how it hands the rows out. The table is
// read-only; the cursor is the run's (see ForRun).
type csvData struct {
	file string
	cols []string
	rows [][]string
	pick Pick
	seg  Segment
	next *atomic.Int64 // circular, unique: how many rows this segment has handed out
}

// ReadData reads a CSV of test data (a header row of any column names,
// then rows of as many fields) for a Go program building its own Plan:
// put it in Script.Data under the name templates use
// ({{.Data.NAME.COLUMN}}). Problems in the file come back as Problems.
// Run gives each run, and each segment, its own cursor (see
// Plan.RunScripts).
func ReadData(path string, pick Pick) (vuser.DataSource, error) {
	if !slices.Contains(picks, string(pick)) {
		return nil, fmt.Errorf("pick %q: expected one of %s", pick, strings.Join(picks, ", "))
	}
	cols, rows, probs, err := readDataCSV(path)
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return &csvData{file: path, cols: cols, rows: rows, pick: pick, next: new(atomic.Int64)}, nil
}

// Columns are the header's names, in file order.
func (s *csvData) Columns() []string { return s.cols }

// Row returns the row for VU vu at the start of its iteration, as the
// pick says; false when the source has none left for the VU.
func (s *csvData) Row(vu int, _ int64, rng *rand.Rand) ([]string, bool) {
	n := int64(len(s.rows))
	switch s.pick {
	case PickSequence:
		if vu < 1 || int64(vu) > n {
			return nil, false
		}
		return s.rows[vu-1], true
	case PickRandom:
		if rng == nil {
			return s.rows[rand.Int64N(n)], true
		}
		return s.rows[rng.Int64N(n)], true
	case PickCircular:
		// The segment's k-th draw is the run's draw k*count+index: the
		// segments together cycle through the rows as one process would.
		return s.rows[s.global(s.next.Add(1)-1)%n], true
	case PickUnique:
		r := s.global(s.next.Add(1) - 1)
		if r >= n {
			return nil, false // every row of the segment is out: never one again
		}
		return s.rows[r], true
	}
	return nil, false
}

// Exhausted reports whether the source has no row left for VU vu, without
// taking one: a sequence shorter than vu, unique rows all handed out.
func (s *csvData) Exhausted(vu int) bool {
	switch s.pick {
	case PickSequence:
		return vu < 1 || vu > len(s.rows)
	case PickUnique:
		return s.global(s.next.Load()) >= int64(len(s.rows))
	}
	return false
}

// global is the row index of the segment's k-th draw.
func (s *csvData) global(k int64) int64 {
	if s.seg.Whole() {
		return k
	}
	return k*int64(s.seg.Count) + int64(s.seg.Index)
}

// ForRun returns the source for one run of segment seg: the same rows,
// its own cursor at the start.
func (s *csvData) ForRun(seg Segment) vuser.DataSource {
	c := *s
	c.seg, c.next = seg, new(atomic.Int64)
	return &c
}

// RunSource is a data source whose state belongs to one run: Plan.RunScripts
// asks it for the run's instance, for the run's segment.
type RunSource interface {
	vuser.DataSource
	ForRun(seg Segment) vuser.DataSource
}

// RunScripts returns, per scenario, the script to run segment seg with:
// a copy of the scenario's script whose data sources are this run's (see
// RunSource: cursors at the start, unique rows striped by segment). A
// source that several scenarios share stays one source in the run, so a
// unique row goes to one VU whatever its scenario. The plan is not
// changed.
func (p *Plan) RunScripts(seg Segment) []*vuser.Script {
	bound := map[vuser.DataSource]vuser.DataSource{}
	out := make([]*vuser.Script, len(p.Scenarios))
	for i, sc := range p.Scenarios {
		if sc.Script == nil {
			continue
		}
		s := *sc.Script
		if len(s.Data) > 0 {
			s.Data = make(map[string]vuser.DataSource, len(sc.Script.Data))
			for name, src := range sc.Script.Data {
				b, ok := bound[src]
				if !ok {
					b = src
					if rs, is := src.(RunSource); is {
						b = rs.ForRun(seg)
					}
					bound[src] = b
				}
				s.Data[name] = b
			}
		}
		out[i] = &s
	}
	return out
}

// openCSV opens a CSV file of at most maxCSVBytes, past a UTF-8 BOM.
func openCSV(file string) (*csv.Reader, io.Closer, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	switch {
	case err != nil:
	case !st.Mode().IsRegular():
		err = fmt.Errorf("%s is not a regular file", file)
	case st.Size() > maxCSVBytes:
		err = fmt.Errorf("%s is larger than %d MiB", file, maxCSVBytes>>20)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(io.LimitReader(f, maxCSVBytes))
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3) // spreadsheets save UTF-8 with a BOM
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1 // field counts are checked by the caller, with a clearer message
	return r, f, nil
}

// csvProblems collects the problems of one CSV file, at most
// maxCSVProblems of them and a count of the rest.
type csvProblems struct {
	file  string
	probs Problems
	extra int
}

func (c *csvProblems) add(p Problem) {
	if len(c.probs) == maxCSVProblems {
		c.extra++
		return
	}
	c.probs = append(c.probs, p)
}

func (c *csvProblems) at(line, col int, format string, args ...any) {
	c.add(Problem{File: c.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

func (c *csvProblems) done() Problems {
	if c.extra > 0 {
		return append(c.probs, Problem{File: c.file, Msg: fmt.Sprintf("and %d more problems", c.extra)})
	}
	return c.probs
}

// checkHeader reports empty and duplicate column names of header (read
// by r), from column from on.
func checkHeader(c *csvProblems, r *csv.Reader, header []string, from int) {
	first := map[string]int{}
	for i, name := range header {
		line, col := r.FieldPos(i)
		if i < from {
			first[name] = i + 1
			continue
		}
		switch {
		case strings.TrimSpace(name) == "":
			c.at(line, col, "empty column name (column %d of the header)", i+1)
		case first[name] > 0:
			c.at(line, col, "duplicate column name %q (also column %d)", name, first[name])
		default:
			first[name] = i + 1
		}
	}
}

// readDataCSV reads a data file. An error means the file could not be
// read; problems are about its content, each at its line.
func readDataCSV(file string) (cols []string, rows [][]string, _ Problems, _ error) {
	r, f, err := openCSV(file)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	c := &csvProblems{file: file}
	header, err := r.Read()
	switch {
	case errors.Is(err, io.EOF):
		c.at(1, 0, "empty file: expected a header row of column names")
		return nil, nil, c.done(), nil
	case err != nil:
		return nil, nil, Problems{csvProblem(file, err)}, nil
	}
	checkHeader(c, r, header, 0)
	names := strings.Join(header, ",")
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.add(csvProblem(file, err)) // the reader cannot be trusted past a syntax error
			break
		}
		if len(rec) != len(header) {
			line, _ := r.FieldPos(0)
			c.at(line, 0, "expected %d fields (%s), got %d", len(header), names, len(rec))
			continue
		}
		rows = append(rows, rec)
	}
	if len(rows) == 0 && len(c.probs) == 0 {
		c.at(1, 0, "no rows: the file has only its header")
	}
	return header, rows, c.done(), nil
}

// dataDecl is the decoded data section, and what the checks of the
// templates that use it need.
type dataDecl struct {
	sources map[string]*csvData
	failed  map[string]bool // declared, but the declaration had problems: uses are not checked
	broken  bool            // the section is no mapping: no use is checked
}

// dataUse is one {{.Data.NAME.COLUMN}} or {{.Row.COLUMN}} of the plan,
// where it was written.
type dataUse struct {
	ref       vuser.DataRef
	path      string
	line, col int
}

// noteData records the data references of t, read from scalar n, for the
// checks once every section is read (checkData).
func (d *decoder) noteData(t *vuser.Template, n *yaml.Node, path string) {
	for _, ref := range t.DataRefs() {
		line, col := d.position(n, ref.Col)
		d.dataUses = append(d.dataUses, dataUse{ref, path, line, col})
	}
}

// dataKeys are the keys of one data source.
var dataKeys = []string{"csv", "pick"}

// data reads the plan's data section: named sources, each a CSV file
// ({csv: F, pick: P}, or just the file name).
func (d *decoder) data(n *yaml.Node) *dataDecl {
	ps, ok := d.pairs(n, "data")
	if !ok {
		return &dataDecl{broken: true}
	}
	decl := &dataDecl{sources: map[string]*csvData{}, failed: map[string]bool{}}
	for _, p := range ps {
		name := p.key.Value
		path := "data." + name
		if !vuser.ValidVarName(name) {
			d.errorf(p.key, "data", "%q is not a valid source name: templates name it as {{.Data.NAME.COLUMN}}, so it is made of letters, digits, _ and -", name)
			decl.failed[name] = true
			continue
		}
		src, ok := d.dataSource(p.val, path)
		if !ok {
			decl.failed[name] = true
			continue
		}
		decl.sources[name] = src
	}
	return decl
}

// dataSource reads one source: its file, read and checked now, and its pick.
func (d *decoder) dataSource(n *yaml.Node, path string) (*csvData, bool) {
	pick := defaultPick
	fileNode := resolve(n)
	if fileNode.Kind != yaml.ScalarNode {
		m, ok := d.fields(n, path, dataKeys)
		if !ok || !d.require(n, path, m, "csv") {
			return nil, false
		}
		good := true
		if e, has := m["pick"]; has {
			v, ok := d.str(e.val, path+".pick")
			switch {
			case !ok:
				good = false
			case !slices.Contains(picks, v):
				d.errorf(resolve(e.val), path+".pick", "expected one of %s, got %q%s", strings.Join(picks, ", "), v, didYouMean(v, picks))
				good = false
			default:
				pick = Pick(v)
			}
		}
		fileNode = resolve(m["csv"].val)
		path += ".csv"
		if !good {
			d.nonEmpty(fileNode, path) // report a bad file name too
			return nil, false
		}
	}
	name, ok := d.nonEmpty(fileNode, path)
	if !ok {
		return nil, false
	}
	file := name
	if !filepath.IsAbs(file) {
		file = filepath.Join(d.dir, file)
	}
	cols, rows, probs, err := readDataCSV(file)
	if err != nil {
		d.errorf(fileNode, path, "%v", err)
		return nil, false
	}
	for _, p := range probs {
		d.external(fileNode, p)
	}
	if len(probs) > 0 {
		return nil, false
	}
	return &csvData{file: file, cols: cols, rows: rows, pick: pick, next: new(atomic.Int64)}, true
}

// checkData reports the data references that name no source, or a
// column their source or the users CSV does not have, and gives each
// scenario's script the sources its templates use (only those: a VU
// takes a row of each at every iteration's start). decl is nil without
// a data section; usersFailed says the users section had problems, so
// {{.Row.X}} is not checked against it.
func (d *decoder) checkData(p *Plan, decl *dataDecl, usersFailed bool) {
	for _, u := range d.dataUses {
		if u.ref.Source == "" {
			if !usersFailed {
				d.checkRow(p, u)
			}
			continue
		}
		if strings.Contains("."+u.path, ".session.login_steps") || strings.HasPrefix(u.path, "users.") {
			d.at(u.line, u.col, u.path, "{{.Data.%s.%s}}: data rows are taken at each iteration's start, after the login (use them in the scenario's steps)", u.ref.Source, u.ref.Column)
			continue
		}
		if decl != nil && (decl.broken || decl.failed[u.ref.Source]) {
			continue // its declaration is reported
		}
		var src *csvData
		if decl != nil {
			src = decl.sources[u.ref.Source]
		}
		if src == nil {
			var names []string
			if decl != nil {
				for name := range decl.sources {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			if len(names) == 0 {
				d.at(u.line, u.col, u.path, "{{.Data.%s.%s}}: no data source %q (declare it: data: {%s: {csv: FILE, pick: %s}})", u.ref.Source, u.ref.Column, u.ref.Source, u.ref.Source, strings.Join(picks, "|"))
				continue
			}
			d.at(u.line, u.col, u.path, "{{.Data.%s.%s}}: no data source %q (declared: %s)%s", u.ref.Source, u.ref.Column, u.ref.Source, strings.Join(names, ", "), didYouMean(u.ref.Source, names))
			continue
		}
		if !slices.Contains(src.cols, u.ref.Column) {
			d.at(u.line, u.col, u.path, "{{.Data.%s.%s}}: %s has no column %q (columns: %s)%s", u.ref.Source, u.ref.Column, src.file, u.ref.Column, strings.Join(src.cols, ", "), didYouMean(u.ref.Column, src.cols))
		}
	}
	if decl == nil || len(decl.sources) == 0 {
		return
	}
	for _, sc := range p.Scenarios {
		if sc.Script == nil {
			continue
		}
		data := map[string]vuser.DataSource{}
		for _, name := range sc.Script.DataSources() {
			if src, ok := decl.sources[name]; ok {
				data[name] = src
			}
		}
		if len(data) > 0 {
			sc.Script.Data = data
		}
	}
}

// checkRow reports a {{.Row.X}} whose scenario's users have no column X.
func (d *decoder) checkRow(p *Plan, u dataUse) {
	users := p.Scenarios[0].Users
	if i, ok := scenarioIndex(u.path); ok && i < len(p.Scenarios) {
		users = p.Scenarios[i].Users
	}
	c, ok := users.(*csvUsers)
	switch {
	case !ok:
		d.at(u.line, u.col, u.path, "{{.Row.%s}}: the users come from no CSV (.Row is a column of the users CSV beyond username,password)", u.ref.Column)
	case u.ref.Column == "username":
		d.at(u.line, u.col, u.path, "{{.Row.username}}: .Row holds the columns beyond username,password: use {{.User}}")
	case u.ref.Column == "password":
		d.at(u.line, u.col, u.path, "{{.Row.password}}: .Row holds the columns beyond username,password: use {{.Password}}")
	case len(c.extra) == 0:
		d.at(u.line, u.col, u.path, "{{.Row.%s}}: %s has no column %q (it has only username,password)", u.ref.Column, c.file, u.ref.Column)
	case !slices.Contains(c.extra, u.ref.Column):
		d.at(u.line, u.col, u.path, "{{.Row.%s}}: %s has no column %q (columns beyond username,password: %s)%s", u.ref.Column, c.file, u.ref.Column, strings.Join(c.extra, ", "), didYouMean(u.ref.Column, c.extra))
	}
}

// scenarioIndex reads i from a path "scenarios[i]...".
func scenarioIndex(path string) (int, bool) {
	rest, ok := strings.CutPrefix(path, "scenarios[")
	if !ok {
		return 0, false
	}
	var i int
	if _, err := fmt.Sscanf(rest, "%d]", &i); err != nil {
		return 0, false
	}
	return i, true
}

// digest identifies the table's content: segments of one test must hand
// out the rows of the same file.
func (s *csvData) digest() string {
	h := sha256.New()
	for _, row := range append([][]string{s.cols}, s.rows...) {
		for _, f := range row {
			io.WriteString(h, f)
			h.Write([]byte{0x1f})
		}
		h.Write([]byte{0x1e})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// dataDigest identifies the content of the data files the plan's
// scenarios use, for Hash: "" when they use none, so that the hash of a
// plan without data is what it was before data sources existed.
func (p *Plan) dataDigest() string {
	var parts []string
	seen := map[*csvData]bool{}
	for _, sc := range p.Scenarios {
		if sc.Script == nil {
			continue
		}
		for name, src := range sc.Script.Data {
			if c, ok := src.(*csvData); ok && !seen[c] {
				seen[c] = true
				parts = append(parts, name+" "+string(c.pick)+" "+c.digest())
			}
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// DataWarnings says what of the plan's users and test data a run's
// summary should tell: VUs sharing users (users.pick: circular) hold
// several sessions per user, which a server limiting sessions per user
// refuses; VUs beyond the rows of a sequence source stop at once.
func (p *Plan) DataWarnings() []string {
	var out []string
	warned := map[*csvData]bool{}
	for _, sc := range p.Scenarios {
		l := p.Load
		if sc.Load != nil {
			l = *sc.Load
		}
		// TODO(#13): a weighted scenario needs its share of the VUs only.
		vus := l.MaxVUs()
		what := ""
		if sc.Name != "" {
			what = "scenario " + sc.Name + ": "
		}
		if c, ok := sc.Users.(*csvUsers); ok && c.circular && vus > len(c.ids) {
			out = append(out, fmt.Sprintf("%s%d VUs share %d users of %s (users.pick: circular): sessions per user exceed 1", what, vus, len(c.ids), filepath.Base(c.file)))
		}
		if sc.Script == nil {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(sc.Script.Data)) {
			c, ok := sc.Script.Data[name].(*csvData)
			if ok && c.pick == PickSequence && vus > len(c.rows) && !warned[c] {
				warned[c] = true
				out = append(out, fmt.Sprintf("%sdata %s: %d VUs but %s has %d rows (pick: sequence): VUs %d to %d stop at once (data_exhausted)", what, name, vus, filepath.Base(c.file), len(c.rows), len(c.rows)+1, vus))
			}
		}
	}
	return out
}

var (
	_ RunSource          = (*csvData)(nil)
	_ vuser.FiniteSource = (*csvData)(nil)
)
