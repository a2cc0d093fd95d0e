package profiles

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/vuser"
)

var (
	usersKeys  = []string{"csv", "template", "pick"}
	usersPicks = []string{string(PickSequence), string(PickCircular)}
)

// Limits of a users CSV: beyond them the file is not a list of users.
const (
	maxCSVBytes    = 256 << 20
	maxCSVProblems = 20 // a wrong file is reported in a screenful, not a million lines
)

// csvUsers are identities read from a CSV: VU i takes row i, or, with
// circular, row (i-1) mod n + 1, so that more VUs than rows share them.
type csvUsers struct {
	file     string
	ids      []vuser.Identity
	extra    []string // the columns beyond username,password ({{.Row.NAME}})
	circular bool
}

// Identity returns row vu of the file (counting from 1), or the zero
// identity for a VU beyond the file (the plan loader prevents that).
// Circular users wrap around.
func (u *csvUsers) Identity(vu int) vuser.Identity {
	if u.circular && vu >= 1 && len(u.ids) > 0 {
		return u.ids[(vu-1)%len(u.ids)]
	}
	if vu < 1 || vu > len(u.ids) {
		return vuser.Identity{}
	}
	return u.ids[vu-1]
}

// Len is the number of rows; 0 (no end) for circular users.
func (u *csvUsers) Len() int {
	if u.circular {
		return 0
	}
	return len(u.ids)
}

// CircularUsers gives VU i row (i-1) mod n + 1 of users read by
// ReadUsers: more VUs than rows share identities (each user then holds
// several sessions at once).
func CircularUsers(u Users) (Users, error) {
	c, ok := u.(*csvUsers)
	if !ok {
		return nil, fmt.Errorf("circular users: %T is not a users CSV", u)
	}
	cc := *c
	cc.circular = true
	return &cc, nil
}

// templateUsers render each VU's identity from templates of {{.VU}}.
type templateUsers struct {
	username, password *vuser.Template // password may be nil: fixed
	// fixed is the password read from password_env or password_file,
	// taken as written: it is no template, so a "{{" in it is no error
	// message that would print it.
	fixed string
}

// Identity renders the templates for VU vu.
func (u templateUsers) Identity(vu int) vuser.Identity {
	data := &vuser.Data{VU: vu}
	id := vuser.Identity{Username: u.username.Render(data), Password: u.fixed}
	if u.password != nil {
		id.Password = u.password.Render(data)
	}
	return id
}

// Len is 0: a template has no end.
func (templateUsers) Len() int { return 0 }

// noUsers is the identity of a plan without users: every VU is anonymous.
// It is a value rather than nil so that callers never need a nil check.
type noUsers struct{}

// Identity is the zero identity.
func (noUsers) Identity(int) vuser.Identity { return vuser.Identity{} }

// Len is 0.
func (noUsers) Len() int { return 0 }

var (
	_ Users = (*csvUsers)(nil)
	_ Users = templateUsers{}
	_ Users = noUsers{}
)

// ReadUsers reads a users CSV (header username,password) for a Go program
// building its own Plan. Problems in the file come back as Problems.
func ReadUsers(path string) (Users, error) {
	ids, extra, probs, err := readUsersCSV(path)
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return &csvUsers{file: path, ids: ids, extra: extra}, nil
}

// TemplateUsers gives VU i the identity rendered from the username and
// password templates with {{.VU}} = i.
func TemplateUsers(username, password string) (Users, error) {
	u, err := vuser.ParseTemplate(username)
	if err != nil {
		return nil, fmt.Errorf("username template: %w", err)
	}
	p, err := vuser.ParseTemplate(password)
	if err != nil {
		return nil, fmt.Errorf("password template: %w", err)
	}
	return templateUsers{username: u, password: p}, nil
}

// usersSection is the decoded users section and what checks across
// sections need of it.
type usersSection struct {
	users   Users
	csvNode *yaml.Node // the csv value, where row-count problems go
	csvFile string
}

func (d *decoder) users(n *yaml.Node) *usersSection {
	m, ok := d.fields(n, "users", usersKeys)
	if !ok {
		return nil
	}
	if e, has := m["template"]; has {
		d.secretOf(e.val)
	}
	switch es := present(m, []string{"csv", "template"}); len(es) {
	case 0:
		if !d.hasUnknown(n) {
			d.errorf(resolve(n), "users", "expected one of the keys csv, template")
		}
		return nil
	case 2:
		d.exclusive(es, "users", "csv and template exclude each other")
		return nil
	}
	circular := false
	if e, has := m["pick"]; has {
		v, ok := d.str(e.val, "users.pick")
		switch {
		case !ok:
			return nil
		case m["csv"].key == nil:
			d.errorf(e.key, "users.pick", "only for users.csv (a template gives every VU its own user)")
			return nil
		case !slices.Contains(usersPicks, v):
			d.errorf(resolve(e.val), "users.pick", "expected %s (VU i takes row i, or wraps around to share the rows), got %q%s", strings.Join(usersPicks, " or "), v, didYouMean(v, usersPicks))
			return nil
		}
		circular = v == string(PickCircular)
	}
	if e, has := m["template"]; has {
		u, ok := d.userTemplate(e.val)
		if !ok {
			return nil
		}
		return &usersSection{users: u}
	}
	e := m["csv"]
	name, ok := d.nonEmpty(e.val, "users.csv")
	if !ok {
		return nil
	}
	node := resolve(e.val)
	file := name
	if !filepath.IsAbs(file) {
		file = filepath.Join(d.dir, file)
	}
	ids, extra, probs, err := readUsersCSV(file)
	if err != nil {
		d.errorf(node, "users.csv", "%v", err)
		return nil
	}
	for _, p := range probs {
		d.external(node, p)
	}
	if len(probs) > 0 {
		return nil
	}
	u := &usersSection{users: &csvUsers{file: file, ids: ids, extra: extra, circular: circular}, csvFile: file}
	if !circular {
		u.csvNode = node // circular users never run out: no row count to check
	}
	return u
}

// secretOf notes the template password scalar, to redact from Plan.Source.
func (d *decoder) secretOf(tpl *yaml.Node) {
	tpl = resolve(tpl)
	if tpl.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(tpl.Content); i += 2 {
		if tpl.Content[i].Value == "password" {
			if v := resolve(tpl.Content[i+1]); v.Kind == yaml.ScalarNode {
				d.secret = v
			}
		}
	}
}

// passwordKeys are the ways a users template gives the password: in the
// plan, or kept out of it in an environment variable or a file.
var passwordKeys = []string{"password", "password_env", "password_file"}

// maxPasswordFile bounds password_file: a password, not a file of them.
const maxPasswordFile = 64 << 10

func (d *decoder) userTemplate(n *yaml.Node) (Users, bool) {
	const path = "users.template"
	m, ok := d.fields(n, path, append([]string{"username"}, passwordKeys...))
	if !ok || !d.require(n, path, m, "username") {
		return nil, false
	}
	before := len(d.uses)
	u, ok := d.template(m["username"].val, path+".username")
	var pw *vuser.Template
	var fixed string
	if es := present(m, passwordKeys); len(es) > 1 {
		d.exclusive(es, path, "password, password_env and password_file exclude each other")
		ok = false
	}
	if e, has := m["password"]; has {
		var ok2 bool
		pw, ok2 = d.template(e.val, path+".password")
		ok = ok && ok2
	}
	if e, has := m["password_env"]; has {
		var ok2 bool
		fixed, ok2 = d.passwordEnv(e.val, path+".password_env")
		ok = ok && ok2
	}
	if e, has := m["password_file"]; has {
		var ok2 bool
		fixed, ok2 = d.passwordFile(e.val, path+".password_file")
		ok = ok && ok2
	}
	// Variables come from responses; an identity is needed before the first.
	for _, use := range d.uses[before:] {
		d.at(use.line, use.col, use.path, "{{.Var.%s}}: variables do not exist before login (use {{.VU}})", use.name)
		ok = false
	}
	d.uses = d.uses[:before]
	if !ok {
		return nil, false
	}
	return templateUsers{username: u, password: pw, fixed: fixed}, true
}

// passwordEnv reads the password from the environment variable named at
// n. An unset variable is a plan problem: running with an empty password
// would only show as failed logins.
func (d *decoder) passwordEnv(n *yaml.Node, path string) (string, bool) {
	name, ok := d.nonEmpty(n, path)
	if !ok {
		return "", false
	}
	v, set := os.LookupEnv(name)
	if !set {
		d.errorf(resolve(n), path, "environment variable %s is not set", name)
		return "", false
	}
	return v, true
}

// passwordFile reads the password from the file named at n (relative to
// the plan), without its final line break. Its content never appears in
// a problem.
func (d *decoder) passwordFile(n *yaml.Node, path string) (string, bool) {
	name, ok := d.nonEmpty(n, path)
	if !ok {
		return "", false
	}
	file := name
	if !filepath.IsAbs(file) {
		file = filepath.Join(d.dir, file)
	}
	f, err := os.Open(file)
	if err != nil {
		d.errorf(resolve(n), path, "%v", err)
		return "", false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPasswordFile+1))
	switch {
	case err != nil:
		d.errorf(resolve(n), path, "%v", err)
		return "", false
	case len(b) > maxPasswordFile:
		d.errorf(resolve(n), path, "%s is larger than %d KiB: expected a password", file, maxPasswordFile>>10)
		return "", false
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		d.errorf(resolve(n), path, "%s is empty: expected a password", file)
		return "", false
	}
	return s, true
}

// readUsersCSV reads a users file: the header username,password, then
// any extra columns; extra are their names. An error means the file could
// not be read; problems are about its content, each at its line.
func readUsersCSV(file string) (ids []vuser.Identity, extra []string, _ Problems, _ error) {
	r, f, err := openCSV(file)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	c := &csvProblems{file: file}
	header, err := r.Read()
	switch {
	case errors.Is(err, io.EOF):
		c.at(1, 0, `empty file: expected the header "username,password"`)
		return nil, nil, c.done(), nil
	case err != nil:
		return nil, nil, Problems{csvProblem(file, err)}, nil
	}
	want, names := 2, "username,password" // the fields of a row
	if len(header) < 2 || header[0] != "username" || header[1] != "password" {
		line, _ := r.FieldPos(0)
		c.at(line, 0, `header must start with "username,password" (extra columns may follow), got %q`, strings.Join(header, ","))
	} else {
		checkHeader(c, r, header, 2)
		extra = header[2:]
		want, names = len(header), strings.Join(header, ",")
	}
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.add(csvProblem(file, err)) // the reader cannot be trusted past a syntax error
			break
		}
		line, _ := r.FieldPos(0)
		switch {
		case len(rec) != want:
			c.at(line, 0, "expected %d fields (%s), got %d", want, names, len(rec))
		case rec[0] == "":
			c.at(line, 0, "empty username")
		case seen[rec[0]] > 0:
			// Two VUs as one user would share the server's session limits.
			c.at(line, 0, "username %q is also on line %d", rec[0], seen[rec[0]])
		default:
			seen[rec[0]] = line
			id := vuser.Identity{Username: rec[0], Password: rec[1]}
			if len(rec) > 2 {
				id.Row = make(map[string]string, len(rec)-2)
				for i, v := range rec[2:] {
					id.Row[header[2+i]] = v
				}
			}
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 && len(c.probs) == 0 {
		c.at(1, 0, "no users: the file has only its header")
	}
	return ids, extra, c.done(), nil
}

func csvProblem(file string, err error) Problem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return Problem{File: file, Line: pe.Line, Col: pe.Column, Msg: pe.Err.Error()}
	}
	return Problem{File: file, Msg: err.Error()}
}
