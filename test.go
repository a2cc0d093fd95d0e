package load

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// FromPlan is the Test a plan file describes (profiles.LoadFile), so a
// YAML plan and a Test built in Go run alike. The Test shares the plan's
// read-only parts (steps, templates, users); the plan is not changed.
func FromPlan(p *profiles.Plan) Test {
	t := Test{
		Name:    p.Name,
		Load:    p.Load,
		Warmup:  p.Warmup,
		HTTP:    p.Pool,
		Server:  p.Server,
		Source:  p.Source,
		Headers: http.Header{},
	}
	for i, sc := range p.Scenarios {
		s := sc.Script
		if i == 0 {
			if s.Target != nil {
				t.Target = s.Target.String()
			}
			t.Headers = s.Headers.Clone()
			t.Timeout, t.MaxBody, t.Seed = s.Timeout, s.MaxBody, s.Seed
		}
		t.Scenarios = append(t.Scenarios, Scenario{
			Name:    sc.Name,
			Weight:  sc.Weight,
			Load:    sc.Load,
			Users:   sc.Users,
			Login:   s.Login,
			Session: s.Session,
			Steps:   s.Steps,
			Func:    ScenarioFunc(s.Func),
			Think:   s.Think,
			Pacing:  sc.Pacing,
			Data:    s.Data,
		})
	}
	for _, th := range p.Thresholds {
		t.Thresholds = append(t.Thresholds, Threshold{Metric: th.Metric, Condition: th.Condition, AbortOnFail: th.AbortOnFail, Grace: th.Grace})
	}
	return t
}

// InvalidError is a Test with mistakes (Validate, Run before any load):
// bad input, not a failed run.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }

// Unwrap gives the mistakes to errors.Is and errors.As.
func (e *InvalidError) Unwrap() error { return e.Err }

// Validate reports every mistake of t at once (errors.Join), each naming
// the field at fault as a plan names its key: "scenarios[1].weight: ...".
func (t Test) Validate() error {
	_, err := t.plan()
	return err
}

// plan is t as the executors take it: every part of the caller's Test
// that a run could write to is copied.
func (t Test) plan() (*profiles.Plan, error) {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	target, err := url.Parse(strings.TrimSpace(t.Target))
	switch {
	case t.Target == "":
		bad("target", "missing (the app's base URL, like http://127.0.0.1:8080/app)")
	case err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "":
		bad("target", "expected an absolute http(s) URL like http://127.0.0.1:8080/app, got %q", t.Target)
	case target.User != nil:
		bad("target", "credentials in the URL are not supported (use users and session.login)")
	case target.Fragment != "" || target.RawQuery != "":
		bad("target", "expected a base URL without query or fragment, got %q", t.Target)
	}
	if len(t.Scenarios) == 0 {
		bad("scenarios", "expected at least one scenario")
	}
	if _, err := t.HTTP.ResolveEngine(); err != nil {
		bad("http.engine", "%v", err)
	}
	p := &profiles.Plan{
		Name:   cmp.Or(t.Name, "test"),
		Load:   copyLoad(t.Load),
		Pool:   t.HTTP,
		Source: t.Source,
		Warmup: t.Warmup,
	}
	if t.Server != nil {
		srv := *t.Server
		p.Server = &srv
	}
	names := map[string]int{}
	weighted := false
	for i, sc := range t.Scenarios {
		path := fmt.Sprintf("scenarios[%d]", i)
		if len(t.Scenarios) > 1 {
			if sc.Name == "" {
				bad(path+".name", "missing (a test of several scenarios names each)")
			} else if j, dup := names[sc.Name]; dup {
				bad(path+".name", "%q is the name of scenarios[%d] too", sc.Name, j)
			}
			names[sc.Name] = i
		}
		w := sc.Weight
		switch {
		case sc.Load != nil && w != 0:
			bad(path, "has both a weight (a share of the test's load) and a load of its own: give one")
		case w < 0 || w != w:
			bad(path+".weight", "expected a positive number, got %v", w)
		case sc.Load == nil:
			weighted = true
			if w == 0 {
				w = 1
			}
		}
		switch {
		case len(sc.Steps) == 0 && sc.Func == nil:
			bad(path, "has no steps and no Func: give the scenario one")
		case len(sc.Steps) > 0 && sc.Func != nil:
			bad(path, "has both steps and a Func: give one")
		}
		users := sc.Users
		if users == nil {
			users = profiles.NoUsers()
		}
		var tgt *url.URL
		if target != nil {
			c := *target
			tgt = &c
		}
		var own *profiles.Load
		if sc.Load != nil {
			l := copyLoad(*sc.Load)
			own = &l
		}
		p.Scenarios = append(p.Scenarios, &profiles.Scenario{
			Name:   sc.Name,
			Weight: w,
			Load:   own,
			Users:  users,
			Pacing: sc.Pacing,
			Script: &vuser.Script{
				Name:    sc.Name,
				Target:  tgt,
				Headers: headers(t.Headers),
				Session: copySession(sc.Session),
				Login:   sc.Login,
				Steps:   sc.Steps,
				Func:    vuser.IterFunc(sc.Func),
				Data:    maps.Clone(sc.Data),
				Think:   sc.Think,
				Timeout: cmp.Or(t.Timeout, 30*time.Second),
				Seed:    t.Seed,
				MaxBody: cmp.Or(t.MaxBody, 1<<20),
			},
		})
	}
	if weighted && t.Load.MaxVUs() == 0 {
		bad("load", "the weighted scenarios share the test's load, which has no VUs or arrivals")
	}
	for i, th := range t.Thresholds {
		rule, err := stats.ParseThreshold(th.Metric, th.Condition)
		if err != nil {
			bad(fmt.Sprintf("thresholds[%d] %q", i, th.Metric), "%v", err)
			continue
		}
		p.Thresholds = append(p.Thresholds, profiles.Threshold{Metric: th.Metric, Condition: th.Condition, Rule: rule, AbortOnFail: th.AbortOnFail, Grace: th.Grace})
	}
	if len(errs) > 0 {
		return nil, &InvalidError{Err: errors.Join(errs...)}
	}
	// What the run checks before any load: the shapes and the users
	// (Plan.Validate), each scenario's login and steps (vuser.NewEnv).
	if err := p.Validate(); err != nil {
		return nil, &InvalidError{Err: err}
	}
	for i, sc := range p.Scenarios {
		if _, err := vuser.NewEnv(sc.Script, vuser.Transport{}, stats.NewRecorder(stats.Options{}), stats.NewSessions()); err != nil {
			return nil, &InvalidError{Err: fmt.Errorf("scenarios[%d]: %w", i, err)}
		}
	}
	return p, nil
}

// headers is a copy of h, never nil.
func headers(h http.Header) http.Header {
	if h == nil {
		return http.Header{}
	}
	return h.Clone()
}

// copyLoad copies the parts of a load shape a run could write.
func copyLoad(l profiles.Load) profiles.Load {
	l.Stages = slices.Clone(l.Stages)
	if l.Open != nil {
		o := *l.Open
		l.Open = &o
	}
	return l
}

// copySession copies a session's configuration, slices included.
func copySession(s vuser.Session) vuser.Session {
	s.Rejected = slices.Clone(s.Rejected)
	return s
}
