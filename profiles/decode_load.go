package profiles

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

var (
	loadKeys  = []string{"vus", "duration", "stages", "graceful_stop"}
	stageKeys = []string{"duration", "target"}
)

// load reads the closed-model load: vus for a duration, or stages.
func (d *decoder) load(n *yaml.Node) (Load, bool) {
	l := Load{GracefulStop: defaultGracefulStop}
	m, ok := d.fields(n, "load", loadKeys)
	if !ok {
		return l, false
	}
	good := true
	if e, has := m["graceful_stop"]; has {
		l.GracefulStop, ok = d.duration(e.val, "load.graceful_stop", false)
		good = good && ok
	}
	if e, has := m["stages"]; has {
		for _, k := range []string{"vus", "duration"} {
			if x, has := m[k]; has {
				d.errorf(x.key, "load."+k, "not allowed with load.stages (the stages set the VU count and the duration)")
				good = false
			}
		}
		l.Stages, ok = d.stages(e.val)
		return l, good && ok
	}
	good = d.require(n, "load", m, "vus", "duration") && good
	if e, has := m["vus"]; has {
		l.VUs, ok = d.positive(e.val, "load.vus")
		good = good && ok
	}
	if e, has := m["duration"]; has {
		l.Duration, ok = d.duration(e.val, "load.duration", true)
		good = good && ok
	}
	return l, good
}

func (d *decoder) stages(n *yaml.Node) ([]Stage, bool) {
	items, ok := d.list(n, "load.stages")
	if !ok {
		return nil, false
	}
	if len(items) == 0 {
		d.errorf(resolve(n), "load.stages", "expected at least one stage")
		return nil, false
	}
	out := make([]Stage, 0, len(items))
	good, prev := true, 0
	for i, it := range items {
		if !d.visit(it) {
			return nil, false
		}
		path := fmt.Sprintf("load.stages[%d]", i)
		m, ok := d.fields(it, path, stageKeys)
		if !ok || !d.require(it, path, m, "duration") {
			good = false
			continue
		}
		s := Stage{Target: prev} // no target: hold the previous one
		s.Duration, ok = d.duration(m["duration"].val, path+".duration", true)
		good = good && ok
		if e, has := m["target"]; has {
			s.Target, ok = d.count(e.val, path+".target")
			good = good && ok
		}
		prev = s.Target
		out = append(out, s)
	}
	if good && (Load{Stages: out}).MaxVUs() == 0 {
		d.errorf(resolve(n), "load.stages", "the VU count never rises above 0 (give a stage a target)")
		good = false
	}
	return out, good
}
