package profiles

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/vuser"
)

var (
	loadKeys = []string{"vus", "duration", "stages", "graceful_stop", "pacing",
		"rate", "sessions", "max_vus", "preallocated_vus", "on_overload"}
	stageKeys    = []string{"duration", "target"}
	sessionsKeys = []string{"rate", "lifetime"}
	// openOnly and closedOnly are the keys of one model only.
	openOnly   = []string{"max_vus", "preallocated_vus", "on_overload"}
	closedOnly = []string{"vus", "pacing"}
)

// load reads the load: the closed model (vus for a duration, or stages of
// VU targets), or the open model (rate: iterations per second, or
// sessions: {rate, lifetime} for arriving users, for a duration or along
// stages of rate targets).
func (d *decoder) load(n *yaml.Node, path string) (Load, bool) {
	l := Load{GracefulStop: defaultGracefulStop}
	m, ok := d.fields(n, path, loadKeys)
	if !ok {
		return l, false
	}
	good := true
	if e, has := m["graceful_stop"]; has {
		l.GracefulStop, ok = d.duration(e.val, path+".graceful_stop", false)
		good = good && ok
	}
	_, rate := m["rate"]
	_, sessions := m["sessions"]
	if rate && sessions {
		d.errorf(m["sessions"].key, path+".sessions", "not allowed with load.rate (rate schedules iterations, sessions schedules arriving users)")
		d.rate(m["rate"].val, path+".rate") // its problems too, all at once
		return l, false
	}
	if rate || sessions {
		o, ok := d.open(n, path, m, sessions)
		l.Open = o
		return l, good && ok
	}
	for _, k := range openOnly {
		if x, has := m[k]; has {
			d.errorf(x.key, path+"."+k, "only for the open model (with load.rate or load.sessions)")
			good = false
		}
	}
	if e, has := m["pacing"]; has {
		l.Pacing, ok = d.duration(e.val, path+".pacing", true)
		good = good && ok
		if d.pacingKeys == nil {
			d.pacingKeys = map[string]*yaml.Node{}
		}
		d.pacingKeys[path] = e.key
	}
	if e, has := m["stages"]; has {
		for _, k := range []string{"vus", "duration"} {
			if x, has := m[k]; has {
				d.errorf(x.key, path+"."+k, "not allowed with load.stages (the stages set the VU count and the duration)")
				good = false
			}
		}
		l.Stages, ok = d.stages(e.val, path)
		return l, good && ok
	}
	good = d.require(n, path, m, "vus", "duration") && good
	if e, has := m["vus"]; has {
		l.VUs, ok = d.positive(e.val, path+".vus")
		good = good && ok
	}
	if e, has := m["duration"]; has {
		l.Duration, ok = d.duration(e.val, path+".duration", true)
		good = good && ok
	}
	return l, good
}

// open reads the open model's keys.
func (d *decoder) open(n *yaml.Node, path string, m map[string]kv, sessions bool) (*Open, bool) {
	o := &Open{Sessions: sessions}
	good, ok := true, true
	for _, k := range closedOnly {
		if x, has := m[k]; has {
			d.errorf(x.key, path+"."+k, "only for the closed model (not with load.rate or load.sessions)")
			good = false
		}
	}
	if sessions {
		for _, k := range []string{"preallocated_vus", "on_overload"} {
			if x, has := m[k]; has {
				d.errorf(x.key, path+"."+k, "only with load.rate (arriving users log in when they arrive)")
				good = false
			}
		}
		sm, ok := d.fields(m["sessions"].val, path+".sessions", sessionsKeys)
		good = ok && d.require(m["sessions"].val, path+".sessions", sm, sessionsKeys...) && good
		if e, has := sm["rate"]; has {
			o.Rate.Start, ok = d.rate(e.val, path+".sessions.rate")
			good = good && ok
		}
		if e, has := sm["lifetime"]; has {
			o.Lifetime, ok = d.duration(e.val, path+".sessions.lifetime", true)
			good = good && ok
		}
	} else {
		o.Rate.Start, ok = d.rate(m["rate"].val, path+".rate")
		good = good && ok
	}
	if e, has := m["stages"]; has {
		if x, has := m["duration"]; has {
			d.errorf(x.key, path+".duration", "not allowed with load.stages (the stages set the duration)")
			good = false
		}
		o.Rate.Stages, ok = d.rateStages(e.val, path, o.Rate.Start)
		good = good && ok
	} else {
		good = d.require(n, path, m, "duration") && good
		if e, has := m["duration"]; has {
			o.Rate.Duration, ok = d.duration(e.val, path+".duration", true)
			good = good && ok
		}
	}
	if e, has := m["max_vus"]; has {
		o.MaxVUs, ok = d.positive(e.val, path+".max_vus")
		good = good && ok
	}
	if e, has := m["preallocated_vus"]; has {
		o.PreallocatedVUs, ok = d.count(e.val, path+".preallocated_vus")
		good = good && ok
	}
	if !sessions {
		switch {
		case o.MaxVUs == 0 && o.PreallocatedVUs == 0:
			d.errorf(resolve(n), path, "an arrival rate needs VUs to run the iterations: set preallocated_vus and/or max_vus")
			good = false
		case o.MaxVUs == 0:
			o.MaxVUs = o.PreallocatedVUs
		case o.PreallocatedVUs > o.MaxVUs:
			d.errorf(resolve(m["preallocated_vus"].val), path+".preallocated_vus", "%d is more than max_vus %d", o.PreallocatedVUs, o.MaxVUs)
			good = false
		}
	}
	if e, has := m["on_overload"]; has {
		s, ok := d.str(e.val, path+".on_overload")
		switch {
		case !ok:
			good = false
		case s == "drop":
			o.Drop = true
		case s == "queue":
		default:
			d.errorf(resolve(e.val), path+".on_overload", "expected queue (run late, measured from the intended start) or drop (count as dropped), got %q", s)
			good = false
		}
	}
	if good && o.Rate.MaxRate() <= 0 {
		d.errorf(resolve(n), path, "the rate never rises above 0")
		good = false
	}
	return o, good
}

// rate reads an arrival rate: "500/s", "30/m", "2/h", "5/100ms", or a
// plain number per second.
func (d *decoder) rate(n *yaml.Node, path string) (float64, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		if r, err := parseRate(n.Value); err == nil {
			return r, true
		}
	}
	d.errorf(n, path, "expected a rate like 500/s, 30/m or 5/100ms, got %s", got(n))
	return 0, false
}

// parseRate parses "N/unit" (s, m, h or a duration) or a plain N per second.
func parseRate(s string) (float64, error) {
	num, per, found := strings.Cut(strings.TrimSpace(s), "/")
	r, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || r < 0 || r > 1e7 {
		return 0, fmt.Errorf("bad rate %q", s)
	}
	if !found {
		return r, nil
	}
	unit := time.Second
	switch per = strings.TrimSpace(per); per {
	case "s":
	case "m", "min":
		unit = time.Minute
	case "h":
		unit = time.Hour
	default:
		unit, err = time.ParseDuration(per)
		if err != nil || unit <= 0 {
			return 0, fmt.Errorf("bad rate unit %q", per)
		}
	}
	return r / unit.Seconds(), nil
}

// rateStages reads stages whose targets are rates.
func (d *decoder) rateStages(n *yaml.Node, path string, start float64) ([]RateStage, bool) {
	durs, targets, good := stageList(d, n, path, start, d.rate)
	out := make([]RateStage, len(durs))
	for i := range durs {
		out[i] = RateStage{Duration: durs[i], Target: targets[i]}
	}
	return out, good
}

// stages reads stages whose targets are VU counts.
func (d *decoder) stages(n *yaml.Node, path string) ([]Stage, bool) {
	durs, targets, good := stageList(d, n, path, 0, d.count)
	out := make([]Stage, len(durs))
	for i := range durs {
		out[i] = Stage{Duration: durs[i], Target: targets[i]}
	}
	if good && len(out) > 0 && (Load{Stages: out}).MaxVUs() == 0 {
		d.errorf(resolve(n), path+".stages", "the VU count never rises above 0 (give a stage a target)")
		good = false
	}
	return out, good
}

// stageList reads load.stages, a list of {duration, target}; a stage
// without a target holds the previous one (start before the first).
func stageList[T int | float64](d *decoder, n *yaml.Node, lpath string, start T, target func(*yaml.Node, string) (T, bool)) ([]time.Duration, []T, bool) {
	items, ok := d.list(n, lpath+".stages")
	if !ok {
		return nil, nil, false
	}
	if len(items) == 0 {
		d.errorf(resolve(n), lpath+".stages", "expected at least one stage")
		return nil, nil, false
	}
	var durs []time.Duration
	var targets []T
	good, prev := true, start
	for i, it := range items {
		if !d.visit(it) {
			return nil, nil, false
		}
		path := fmt.Sprintf("%s.stages[%d]", lpath, i)
		m, ok := d.fields(it, path, stageKeys)
		if !ok || !d.require(it, path, m, "duration") {
			good = false
			continue
		}
		dur, ok := d.duration(m["duration"].val, path+".duration", true)
		good = good && ok
		if e, has := m["target"]; has {
			prev, ok = target(e.val, path+".target")
			good = good && ok
		}
		durs, targets = append(durs, dur), append(targets, prev)
	}
	return durs, targets, good
}

// ParseRate parses an arrival rate as plans write it ("20/s", "30/m",
// "5/100ms", or a number per second) into a rate per second.
func ParseRate(s string) (float64, error) { return parseRate(s) }

// checkThinkPacing reports a paced scenario whose think times alone
// (minCycle) take longer than its pacing, at the pacing key that applies
// to it: every iteration would overrun its pace, so the schedule (and
// the corrected latency measured from it) would drift for the whole run.
func (d *decoder) checkThinkPacing(p *Plan, scs []scenarioInfo, base *vuser.Script, many bool) {
	check := func(key *yaml.Node, path string, pacing time.Duration, s *vuser.Script, who string) {
		if key == nil || pacing <= 0 || s == nil {
			return
		}
		if t := minThinks(s.Steps, &s.Think); t > pacing {
			d.errorf(key, path, "pacing %s is less than the think times of one iteration%s alone (%s: each step's min, or mean if exponential): every iteration would overrun its pace; expected a pacing above %s, or shorter thinks", pacing, who, t.Round(time.Millisecond), t.Round(time.Millisecond))
		}
	}
	if !many {
		check(d.pacingKeys["load"], "load.pacing", p.Load.Pacing, base, "")
		return
	}
	for _, si := range scs {
		who := " of scenario " + si.sc.Name
		switch {
		case si.pacing.key != nil && si.sc.Pacing > 0:
			check(si.pacing.key, si.path+".pacing", si.sc.Pacing, si.sc.Script, who)
		case si.sc.Load != nil:
			check(d.pacingKeys[si.path+".load"], si.path+".load.pacing", si.sc.Load.Pacing, si.sc.Script, who)
		default:
			check(d.pacingKeys["load"], "load.pacing", p.Load.Pacing, si.sc.Script, who)
		}
	}
}

// minThinks is the least think time an iteration of steps spends, each
// think taken at its minimum (uniform) or its mean (exponential, capped
// at its max): a request step's own think or else def; a control step's
// own think once after it; a repeat's body times a static count (once
// for a repeat for a duration), the cheapest branch of a random or if;
// nothing for a foreach (its list may be empty) or a templated count.
func minThinks(steps []vuser.Step, def *vuser.Think) time.Duration {
	var sum time.Duration
	for i := range steps {
		st := &steps[i]
		switch {
		case st.Repeat != nil:
			body := minThinks(st.Repeat.Steps, def)
			switch {
			case st.Repeat.Times != nil && st.Repeat.Times.Static():
				n, err := strconv.Atoi(strings.TrimSpace(st.Repeat.Times.Raw()))
				if err == nil && n > 0 {
					sum += time.Duration(min(int64(n), int64(math.MaxInt64/max(int64(body), 1)))) * body
				}
			case st.Repeat.Times == nil:
				sum += body // repeat for: a first pass always runs
			}
		case st.Random != nil:
			least := time.Duration(-1)
			for _, b := range st.Random {
				if b.Weight <= 0 {
					continue
				}
				if t := minThinks(b.Steps, def); least < 0 || t < least {
					least = t
				}
			}
			sum += max(least, 0)
		case st.If != nil:
			sum += min(minThinks(st.If.Steps, def), minThinks(st.If.Else, def))
		case st.Foreach != nil:
		case st.Group != nil:
			sum += minThinks(st.Group.Steps, def)
		default:
			t := def
			if st.Think != nil {
				t = st.Think
			}
			sum += leastThink(t)
			continue
		}
		sum += leastThink(st.Think) // a control step's own think
	}
	return sum
}

// leastThink is t's minimum, or for an exponential think its mean
// (E[min(X, max)] when capped).
func leastThink(t *vuser.Think) time.Duration {
	switch {
	case t == nil:
		return 0
	case t.Mean > 0 && t.Max > 0:
		return time.Duration(float64(t.Mean) * -math.Expm1(-float64(t.Max)/float64(t.Mean)))
	case t.Mean > 0:
		return t.Mean
	}
	return t.Min
}
