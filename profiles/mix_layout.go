package profiles

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/sessionload/load/vuser"
)

// layout is how a run's scenarios map onto load shapes and VU ids. It is
// derived from the plan alone, so it is the same in every segment of a
// split test: a VU id, an arrival index, its scenario and its identity
// are the same whichever process runs them.
//
//	shape 0: the plan's Load, shared by the weighted scenarios (by Mix)
//	shape 1..: each scenario with a Load of its own, in plan order
//	VU ids: shape k's are offset+1 .. offset+span, offset = the spans before it
//
// The layout is built from copies: the caller's Plan, Scenarios, Scripts
// and Loads are never written (a run's defaults and seed live here).
type layout struct {
	shapes []*shape
	scens  []*scen // in plan order
	total  time.Duration
	seed   uint64 // the run's seed (results.json), see newLayout
}

// shape is one load shape and the scenarios that run on it.
type shape struct {
	load   Load // the caller's, copied (Open too), with defaults
	offset int  // the shape's VU ids are offset+1 .. offset+span
	span   int
	scens  []*scen // by mix index
	mix    *Mix
	what   string // for messages: "load" or `scenario "x"`

	// Run state, read by the progress reporter.
	target atomic.Int64 // VUs the shape asks for now
	ended  atomic.Bool  // the schedule is over (its VUs may still stop)
}

// scen is one scenario of a run: a copy of the caller's, and what the run
// keeps for it.
type scen struct {
	name   string // as in results ("" for a plan's only unnamed one)
	label  string // for messages
	weight float64
	shape  *shape
	pos    int // index in shape.scens and its mix
	script vuser.Script
	users  Users
	// byLocal: the scenario's users are its own, so its k-th VU (by the
	// mix's local index) takes identity k. Users shared with another
	// scenario (the plan's users:) go by global VU id instead, so no two
	// VUs of the run share an identity.
	byLocal bool
	pacing  time.Duration
	env     *vuser.Env

	running atomic.Int64 // VUs of the scenario running now
	peak    atomic.Int64 // the most at once
}

// member is the scenario of the shape's VU (or arrival) k, from 0, and
// k's index within that scenario.
func (sh *shape) member(k int64) (*scen, int64) {
	return sh.scens[sh.mix.At(k)], sh.mix.Local(k)
}

// identity is who the scenario's VU id, its local index local, logs in
// as. Past the end of a list of users (session arrivals) users come back
// from the start.
func (sc *scen) identity(id int, local int64) vuser.Identity {
	i := int64(id)
	if sc.byLocal {
		i = local + 1
	}
	if n := int64(sc.users.Len()); n > 0 && i > n {
		i = (i-1)%n + 1
	}
	return sc.users.Identity(int(i))
}

// sessions reports whether the shape's arrivals are new users.
func (sh *shape) sessions() bool { return sh.load.Open != nil && sh.load.Open.Sessions }

// span is how many VU ids a load shape uses: its most VUs, or for
// session arrivals, where each arrival is a user, its arrivals.
func (l Load) span() int {
	if o := l.Open; o != nil && o.Sessions {
		return int(min(o.Rate.Count(), 1<<30))
	}
	return l.MaxVUs()
}

// newLayout checks p as far as a run needs (a Plan built in Go skips the
// decoder), copies what the run may change, and lays out its shapes.
func newLayout(p *Plan, o RunOptions) (*layout, error) {
	if p == nil {
		return nil, errors.New("no plan")
	}
	if len(p.Scenarios) == 0 {
		return nil, errors.New("the plan has no scenarios")
	}
	lay := &layout{seed: o.Seed}
	if lay.seed == 0 && p.Scenarios[0] != nil && p.Scenarios[0].Script != nil {
		lay.seed = p.Scenarios[0].Script.Seed
	}
	if lay.seed == 0 {
		lay.seed = rand.Uint64()
	}
	several := len(p.Scenarios) > 1
	names := map[string]int{}
	var weighted []*scen
	var own []*Scenario
	for i, in := range p.Scenarios {
		label := fmt.Sprintf("scenario %d", i+1)
		if in != nil && in.Name != "" {
			label = fmt.Sprintf("scenario %q", in.Name)
		}
		switch {
		case in == nil:
			return nil, fmt.Errorf("%s: nil", label)
		case in.Script == nil:
			return nil, fmt.Errorf("%s: no script", label)
		case in.Load != nil && in.Weight != 0:
			return nil, fmt.Errorf("%s: both a weight (%v) and a load of its own; expected one of them", label, in.Weight)
		case math.IsNaN(in.Weight) || math.IsInf(in.Weight, 0) || in.Weight < 0:
			return nil, fmt.Errorf("%s: weight %v: expected a positive number", label, in.Weight)
		case in.Pacing < 0:
			return nil, fmt.Errorf("%s: pacing %s: expected a positive duration", label, in.Pacing)
		}
		sc := &scen{name: in.Name, label: label, weight: in.Weight, script: *in.Script, users: in.Users}
		if sc.name == "" && several {
			sc.name = fmt.Sprintf("scenario%d", i+1) // results need a name per scenario
		}
		if j, dup := names[sc.name]; dup && sc.name != "" {
			return nil, fmt.Errorf("%s: the name of scenario %d again; expected a name of its own", label, j+1)
		}
		names[sc.name] = i
		if sc.script.Name == "" {
			sc.script.Name = sc.name
		}
		switch {
		case o.Seed != 0:
			sc.script.Seed = o.Seed
		case sc.script.Seed == 0:
			sc.script.Seed = lay.seed
		}
		if sc.users == nil {
			sc.users = noUsers{} // a Plan built in Go without users: anonymous VUs
		}
		sc.pacing = in.Pacing
		lay.scens = append(lay.scens, sc)
		if in.Load == nil {
			if sc.weight == 0 {
				sc.weight = 1 // unweighted scenarios on the plan's load share it equally
			}
			weighted = append(weighted, sc)
		} else {
			own = append(own, in)
		}
	}
	for i, a := range lay.scens {
		a.byLocal = true
		for j, b := range lay.scens {
			if i != j && sameUsers(a.users, b.users) {
				a.byLocal = false
			}
		}
	}
	if len(weighted) > 0 {
		if err := lay.addShape(p.Load, weighted, "load"); err != nil {
			return nil, err
		}
	}
	k := 0
	for _, sc := range lay.scens {
		if sc.shape == nil {
			if err := lay.addShape(*own[k].Load, []*scen{sc}, sc.label+"'s load"); err != nil {
				return nil, err
			}
			k++
		}
	}
	var longest *shape
	for _, sh := range lay.shapes {
		if longest == nil || sh.load.Total() > longest.load.Total() {
			longest = sh
		}
	}
	lay.total = longest.load.Total()
	if err := longest.load.checkWarmup(p.Warmup); err != nil {
		return nil, err
	}
	for _, sc := range lay.scens {
		if err := lay.checkUsers(sc); err != nil {
			return nil, err
		}
	}
	return lay, nil
}

// addShape adds the shape l run by scens, its VU ids after the last's.
func (lay *layout) addShape(l Load, scens []*scen, what string) error {
	if l.Open != nil {
		o := *l.Open
		l.Open = &o
		if !o.Sessions && max(o.MaxVUs, o.PreallocatedVUs) <= 0 {
			return fmt.Errorf("%s: an arrival rate needs VUs to run it; expected preallocated VUs or max VUs of at least 1", what)
		}
	}
	if l.Total() <= 0 {
		return fmt.Errorf("%s: it lasts no time; expected a duration, stages, or a rate schedule with a duration", what)
	}
	if l.GracefulStop <= 0 {
		l.GracefulStop = 30 * time.Second
	}
	if l.Pacing < 0 {
		return fmt.Errorf("%s: pacing %s: expected a positive duration", what, l.Pacing)
	}
	ws := make([]float64, len(scens))
	for i, sc := range scens {
		ws[i] = sc.weight
		if len(scens) == 1 {
			ws[i] = 1 // alone on its load (weight 0: a load of its own)
		}
	}
	mix, err := NewMix(ws)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	sh := &shape{load: l, scens: scens, mix: mix, what: what, span: l.span()}
	if n := len(lay.shapes); n > 0 {
		last := lay.shapes[n-1]
		sh.offset = last.offset + last.span
	}
	for i, sc := range scens {
		sc.shape, sc.pos = sh, i
		if sc.pacing == 0 {
			sc.pacing = l.Pacing
		}
	}
	lay.shapes = append(lay.shapes, sh)
	return nil
}

// checkUsers checks that a list of users has one for each of sc's VUs
// (session arrivals reuse them, so they may have fewer).
func (lay *layout) checkUsers(sc *scen) error {
	have := sc.users.Len()
	sh := sc.shape
	if have == 0 || sh.sessions() {
		return nil
	}
	if !sc.byLocal {
		if need := sh.offset + sh.span; need > have {
			if len(lay.scens) == 1 {
				return fmt.Errorf("load needs %d VUs but there are only %d users", need, have)
			}
			return fmt.Errorf("%s: its users are shared with other scenarios, one per VU id, and the VU ids go up to %d, but there are only %d users", sc.label, need, have)
		}
		return nil
	}
	if need := sh.mix.Count(sc.pos, int64(sh.span)); need > int64(have) {
		if len(lay.scens) == 1 {
			return fmt.Errorf("load needs %d VUs but there are only %d users", need, have)
		}
		return fmt.Errorf("%s: its share of the %s needs %d VUs but there are only %d users", sc.label, sh.what, need, have)
	}
	return nil
}

// sameUsers reports whether a and b are the same users (one value given
// to several scenarios), without the panic == gives on values that
// cannot be compared.
func sameUsers(a, b Users) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	return va.Type() == vb.Type() && va.Comparable() && vb.Comparable() && va.Equal(vb)
}

// MaxVUs is the most VUs a run of the plan may hold at once, whole (not
// per segment): the plan's Load's when some scenario shares it, plus each
// own Load's (see Load.MaxVUs). Open files, memory and users lists scale
// with it.
func (p *Plan) MaxVUs() int {
	n, shared := 0, false
	for _, sc := range p.Scenarios {
		switch {
		case sc == nil:
		case sc.Load != nil:
			n += sc.Load.MaxVUs()
		default:
			shared = true
		}
	}
	if shared {
		n += p.Load.MaxVUs()
	}
	return n
}

// Total is how long the plan's schedule runs: its longest load shape (the
// plan's, shared by the weighted scenarios, or a scenario's own).
func (p *Plan) Total() time.Duration {
	t := p.Load.Total()
	for _, sc := range p.Scenarios {
		if sc != nil && sc.Load != nil {
			t = max(t, sc.Load.Total())
		}
	}
	return t
}

// Validate reports the first problem that would stop Run before any load:
// a scenario without a script, a weight that is not a positive number or
// beside a load of its own, a name given twice, a load that lasts no
// time, too few users for a scenario's share of the VUs (its own users by
// its share, users shared by scenarios by VU id), a warm-up as long as
// the load, an arrival rate whose VUs leave a scenario none. It checks a
// Plan built in Go as Run will run it, whole (Run checks its segment's
// share too); it changes nothing.
func (p *Plan) Validate() error {
	lay, err := newLayout(p, RunOptions{Seed: 1})
	if err != nil {
		return err
	}
	return lay.checkSegment(Segment{})
}
