package profiles

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/vuser"
)

// The weights the exact split (Mix) takes.
const (
	minWeight = 0.000001
	maxWeight = 1e12
)

var scenarioKeys = []string{"name", "weight", "load", "steps", "session", "users", "think", "pacing"}

// scenarioName is what a scenario may be called: results, thresholds
// ("scenario browse p95") and Prometheus labels name it.
var scenarioName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// scenarioInfo is a decoded scenario and what the checks across
// sections need of it.
type scenarioInfo struct {
	sc     *Scenario
	path   string
	loadOK bool          // its own load decoded cleanly
	users  *usersSection // its own users; nil: the plan's
	// usersBad: its own users section had problems (reported).
	usersBad bool
	sess     sessionSection // its own session, when ownSession
	own      bool           // it has its own session
	pacing   kv             // its pacing key, if any
	weight   *yaml.Node     // its weight's value, if written
}

// scenarios reads the scenarios list: each item a kind of user with its
// own steps and either a weight (a share of the plan's load) or a load
// of its own. base is the plan-level script each scenario starts from (a
// copy of it), shared the plan's templated headers, users the plan's
// users, login the scope of the plan's login steps.
func (d *decoder) scenarios(n *yaml.Node, base *vuser.Script, shared []vuser.Header, users *usersSection, login *scope) ([]scenarioInfo, bool) {
	items, ok := d.list(n, "scenarios")
	if !ok {
		return nil, false
	}
	if len(items) == 0 {
		d.errorf(resolve(n), "scenarios", "expected at least one scenario {name, steps, and weight or load}")
		return nil, false
	}
	good := true
	var out []scenarioInfo
	first := map[string]stepName{}
	for i, it := range items {
		if !d.visit(it) {
			return out, false
		}
		path := fmt.Sprintf("scenarios[%d]", i)
		m, ok := d.fields(it, path, scenarioKeys)
		if !ok {
			good = false
			continue
		}
		good = d.require(it, path, m, "name", "steps") && good
		s := cloneScript(base)
		si := scenarioInfo{sc: &Scenario{Weight: 1, Script: s, Users: noUsers{}}, path: path}
		if users != nil {
			si.sc.Users = users.users
		}
		if e, has := m["name"]; has {
			name, ok := d.nonEmpty(e.val, path+".name")
			switch {
			case !ok:
				good = false
			case !scenarioName.MatchString(name):
				d.errorf(resolve(e.val), path+".name", "%q: expected a name of letters, digits, '_', '-' and '.', e.g. %q (results and thresholds name it: \"scenario NAME p95\")", name, safeName(name))
				good = false
			default:
				if f, dup := first[name]; dup {
					d.errorf(resolve(e.val), path+".name", "%q is already the name of %s (line %d)", name, strings.TrimSuffix(f.path, ".name"), f.node.Line)
					good = false
				} else {
					first[name] = stepName{name: name, path: path + ".name", node: resolve(e.val)}
				}
				si.sc.Name, s.Name = name, name
			}
		}
		if es := present(m, []string{"weight", "load"}); len(es) > 1 {
			d.exclusive(es, path, "weight and load exclude each other (a weight is a share of the plan's load; a load of its own runs beside it)")
			good = false
		}
		if e, has := m["weight"]; has {
			si.weight = resolve(e.val)
			si.sc.Weight, ok = d.weight(e.val, path+".weight")
			if ok && (si.sc.Weight < minWeight || si.sc.Weight > maxWeight) {
				// The exact split takes weights to six decimals, as integers.
				d.errorf(resolve(e.val), path+".weight", "expected a weight from 0.000001 to 1e12 (the split is exact to six decimals), got %s", got(resolve(e.val)))
				ok = false
			}
			good = good && ok
		}
		if e, has := m["load"]; has {
			l, ok := d.load(e.val, path+".load")
			if _, w := m["weight"]; !w {
				si.sc.Weight, si.sc.Load, si.loadOK = 0, &l, ok
			}
			good = good && ok
		}

		sc := d.enter()
		sc.name, sc.scenario = si.sc.Name, true
		if e, has := m["session"]; has {
			si.own = true
			s.Login.Steps = nil
			si.sess = d.session(e, path+".session", s)
			if si.sess.ok && si.sess.steps != nil {
				s.Login.Steps = d.steps(si.sess.steps, path+".session.login_steps", s.Target)
				withSharedAll(shared, s.Login.Steps)
			}
			good = good && si.sess.ok
		} else {
			sc.login = login
			login.heirs = append(login.heirs, sc)
		}
		if e, has := m["users"]; has {
			si.users = d.users(e.val)
			d.keepSecret()
			if si.users == nil {
				good, si.usersBad = false, true
			} else {
				si.sc.Users = si.users.users
			}
		}
		if e, has := m["think"]; has {
			if t, ok := d.think(e.val, path+".think"); ok {
				s.Think = t
			} else {
				good = false
			}
		}
		if e, has := m["pacing"]; has {
			si.pacing = e
			si.sc.Pacing, ok = d.duration(e.val, path+".pacing", true)
			good = good && ok
		}
		if e, has := m["steps"]; has {
			s.Steps = d.steps(e.val, path+".steps", s.Target)
			withSharedAll(shared, s.Steps)
			good = good && len(s.Steps) > 0
		}
		out = append(out, si)
	}
	return out, good
}

// cloneScript returns a copy of s that shares no mutable part with it
// (its steps left out: a scenario has its own).
func cloneScript(s *vuser.Script) *vuser.Script {
	c := *s
	c.Headers = s.Headers.Clone()
	c.Steps = nil
	c.Login.Steps = cloneSteps(s.Login.Steps)
	c.Session.Rejected = slices.Clone(s.Session.Rejected)
	c.Data = maps.Clone(s.Data)
	return &c
}

// keepSecret moves the users template password just noted (secretOf) to
// the secrets redacted from Plan.Source: each scenario may have one.
func (d *decoder) keepSecret() {
	if d.secret != nil {
		d.secrets = append(d.secrets, d.secret)
		d.secret = nil
	}
}

// weightedNames lists the weighted scenarios for a message.
func weightedNames(scs []scenarioInfo) string {
	var names []string
	for _, si := range scs {
		if si.sc.Load == nil {
			names = append(names, si.sc.Name)
		}
	}
	return strings.Join(names, ", ")
}

// checkPacing reports a scenario's pacing where it cannot apply: on its
// own load (which has load.pacing), or on an open plan load.
func (d *decoder) checkPacing(scs []scenarioInfo, l Load) {
	for _, si := range scs {
		if si.pacing.key == nil || si.sc.Pacing == 0 {
			continue
		}
		switch {
		case si.sc.Load != nil:
			d.errorf(si.pacing.key, si.path+".pacing", "not allowed with a load of the scenario's own: set %s.load.pacing", si.path)
		case l.Open != nil:
			d.errorf(si.pacing.key, si.path+".pacing", "only for the closed model: the plan's load is an open one, %s, where arrivals set the pace", l.Model())
		}
	}
}

// longestLoad is the longest of the scenarios' own loads, and whether
// all of them decoded cleanly.
func longestLoad(scs []scenarioInfo) (Load, bool) {
	var best Load
	ok := len(scs) > 0
	for _, si := range scs {
		if si.sc.Load == nil {
			continue
		}
		ok = ok && si.loadOK
		if si.sc.Load.Total() > best.Total() {
			best = *si.sc.Load
		}
	}
	return best, ok
}

// shareVUs is the most VUs weighted scenario i (of the weighted ones, in
// plan order) has: exactly as many as the split (Mix) gives it of the
// load's peak, as the executor hands VU ids out; counts only grow with
// the VUs, so the peak's is the most. ok is false when the weights make
// no split (reported by the caller).
func shareVUs(m *Mix, i, peak int) int {
	if m == nil {
		return 0
	}
	return int(m.Count(i, int64(peak)))
}

// checkScenarioUsers checks, for each scenario, that its login has users
// and that a users CSV has a row for each VU that takes one. A scenario's
// own users go by its VUs' index in it: its share of the plan's load (or
// its own load's VUs). The plan's users, shared, go by global VU id: the
// weighted scenarios' ids are 1..the plan load's VUs, then each scenario
// with its own load takes the next ids, in plan order; so the plan's
// users need a row up to the highest id of a scenario that uses them.
// Users arriving as sessions come back from the start and need no row
// each, as the executor hands them out.
func (d *decoder) checkScenarioUsers(scs []scenarioInfo, l Load, loadOK bool, sess sessionSection, planUsers bool, users *usersSection) {
	var total float64
	var weights []float64
	var last scenarioInfo // the last weighted scenario, where a split that cannot be is told
	for _, si := range scs {
		if si.sc.Load == nil {
			total += si.sc.Weight
			weights = append(weights, si.sc.Weight)
			last = si
		}
	}
	weighted := len(weights) > 0
	var mix *Mix
	if weighted {
		var err error
		if mix, err = NewMix(weights); err != nil {
			at, path := last.weight, last.path+".weight"
			if at == nil {
				path = last.path
			}
			d.errorf(at, path, "%v", err)
		}
	}
	wi := -1             // the scenario's index among the weighted ones
	offset, span := 0, 0 // of the shape of the scenario at hand
	if weighted {
		span = l.MaxVUs()
	}
	next := span // the first id after the shapes so far
	need, needOK := 0, true
	var sharers, anonymous []string
	var planKind vuser.LoginKind // the plan's login, which the anonymous scenarios run
	for _, si := range scs {
		s := si.sc.Script
		if si.own && si.sess.ok && s.Login.Kind != vuser.LoginNone && si.users == nil && !planUsers {
			d.errorf(si.sess.kindNode, si.path+".session.login", "login %s needs users (users.csv or users.template, in the scenario or the plan)", s.Login.Kind)
		}
		if !si.own && sess.ok && s.Login.Kind != vuser.LoginNone && si.users == nil && !planUsers {
			anonymous, planKind = append(anonymous, si.sc.Name), s.Login.Kind
		}
		shape, ok := l, loadOK
		n, why := 0, "its load"
		if si.sc.Load != nil {
			shape, ok = *si.sc.Load, si.loadOK
			offset, span = next, shape.MaxVUs()
			next += span
			n = span
		} else {
			offset, span = 0, l.MaxVUs()
			wi++
			n = shareVUs(mix, wi, span)
			why = fmt.Sprintf("weight %s of %s, of the load's %d", fmtNum(si.sc.Weight), fmtNum(total), span)
		}
		if shape.Open != nil && shape.Open.Sessions {
			continue // arriving users reuse the list
		}
		if si.users != nil {
			if have := si.users.users.Len(); si.users.csvNode != nil && ok && n > have {
				d.errorf(si.users.csvNode, si.path+".users.csv", "scenario %s needs up to %d VUs (%s)%s but %s has %d rows",
					si.sc.Name, n, why, d.afterOverrides(), si.users.csvFile, have)
			}
			continue
		}
		needOK = needOK && ok
		need = max(need, offset+span)
		sharers = append(sharers, fmt.Sprintf("%s up to id %d", si.sc.Name, offset+span))
	}
	if len(anonymous) > 0 {
		what := "scenario " + anonymous[0]
		if len(anonymous) > 1 {
			what = "scenarios " + strings.Join(anonymous, ", ")
		}
		d.errorf(sess.kindNode, "session.login", "login %s needs users (users.csv or users.template, in the plan or in %s)", planKind, what)
	}
	if users != nil && users.csvNode != nil && needOK && len(sharers) > 0 && need > users.users.Len() {
		d.errorf(users.csvNode, "users.csv", "the scenarios that share these users take one row per VU id, up to id %d (%s)%s, but %s has %d rows",
			need, strings.Join(sharers, ", "), d.afterOverrides(), users.csvFile, users.users.Len())
	}
}

// fmtNum writes a weight as the plan would: 7, 0.5.
func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// safeName is name with each run of characters a scenario name cannot
// hold replaced by '-', for a suggestion.
func safeName(name string) string {
	return strings.Join(strings.FieldsFunc(name, func(r rune) bool { return !scenarioName.MatchString(string(r)) }), "-")
}
