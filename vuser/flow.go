package vuser

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sessionload/load/stats"
)

// A scenario's steps are compiled once, in NewEnv, into a flat program:
// request instructions, and for each control step a begin and an end
// instruction with jumps between them. A VU's place in an iteration is
// then a program counter and a small stack of frames (repeat counters and
// deadlines, foreach positions, open groups), all in the iteration, so a
// VU parked in a think at any depth (park.go) resumes from its iteration
// alone, on whatever goroutine wakes it.

// op is what an instruction does.
type op uint8

const (
	opRequest    op = iota // send the step's request
	opRepeat               // push a repeat frame; no pass: jump to its end
	opRepeatEnd            // a pass ended: jump back to the body, or pop
	opRandom               // jump to a weighted branch
	opJump                 // jump (the end of an if's steps, of a branch)
	opIf                   // the condition fails: jump to the else
	opForeach              // push a foreach frame, the first item; none: jump to its end
	opForeachEnd           // the next item: jump back to the body, or pop
	opGroup                // push a group frame
	opGroupEnd             // pop the group frame and record the group
	opEnd                  // the end of a control step with its own think
)

// instr is one instruction of a compiled scenario. It is read-only and
// shared by all VUs.
type instr struct {
	op    op
	st    *Step  // the step (request or control)
	ep    int    // the endpoint (request) or the group's id (opGroupEnd)
	to    int    // the jump: past the body (begin ops), back to it (end ops), or on
	think *Think // the pause after it, nil for none
	// opRandom: the branches' first instructions and cumulative weights.
	branches []int
	cum      []float64
}

// frame is one open repeat, foreach or group of an iteration.
type frame struct {
	at int // the instruction that opened it

	n     int       // repeat: passes left (Times); foreach: the item's index
	until time.Time // repeat: the end of For (zero: none)
	list  []string  // foreach: the items (the list as it was when the foreach began)

	// group: its id + 1 (0: not a group), the span of its requests so
	// far (seen: one was sent).
	group      int
	seen       bool
	start, end time.Time
	intended   time.Time
	service    time.Duration
	kind       stats.Kind
}

// iteration is how far a VU is in one iteration.
type iteration struct {
	intended time.Time // scheduled start, zero if none
	// next is the intended start of the iteration's next request (zero
	// in an unscheduled iteration): intended for the first, then the
	// end of the request before plus the think times drawn since.
	next   time.Time
	pc     int     // the next instruction; < 0: no iteration in progress
	frames []frame // open repeats, foreaches and groups, innermost last
}

// control reports whether st is a control step.
func (st *Step) control() bool {
	return st.Repeat != nil || st.Random != nil || st.If != nil || st.Foreach != nil || st.Group != nil
}

// children are the step lists a control step holds.
func (st *Step) children() [][]Step {
	var out [][]Step
	switch {
	case st.Repeat != nil:
		out = append(out, st.Repeat.Steps)
	case st.Random != nil:
		for _, b := range st.Random {
			out = append(out, b.Steps)
		}
	case st.If != nil:
		out = append(out, st.If.Steps, st.If.Else)
	case st.Foreach != nil:
		out = append(out, st.Foreach.Steps)
	case st.Group != nil:
		out = append(out, st.Group.Steps)
	}
	return out
}

// activeThink is t when it pauses at all, else nil.
func activeThink(t *Think) *Think {
	if t == nil || t.Min <= 0 && t.Max <= 0 && t.Mean <= 0 {
		return nil
	}
	return t
}

// compiler builds a program.
type compiler struct {
	e    *Env
	s    *Script
	prog []instr
}

// compile checks s's steps and compiles them (see above), registering
// their endpoints in the order a VU meets them.
func (e *Env) compile(s *Script) ([]instr, error) {
	c := &compiler{e: e, s: s}
	if err := c.steps(s.Steps, "steps", ""); err != nil {
		return nil, err
	}
	return c.prog, nil
}

func (c *compiler) emit(in instr) int {
	c.prog = append(c.prog, in)
	return len(c.prog) - 1
}

// steps compiles steps at where (as "steps[2].repeat.steps"), inside the
// group path group ("" for none; nested groups are "outer/inner").
func (c *compiler) steps(steps []Step, where, group string) error {
	for i := range steps {
		if err := c.step(&steps[i], fmt.Sprintf("%s[%d]", where, i), group); err != nil {
			return err
		}
	}
	return nil
}

func (c *compiler) step(st *Step, where, group string) error {
	n := 0
	for _, set := range []bool{st.Repeat != nil, st.Random != nil, st.If != nil, st.Foreach != nil, st.Group != nil} {
		if set {
			n++
		}
	}
	at := where
	if st.Name != "" {
		at = fmt.Sprintf("%s (%s)", where, st.Name)
	}
	if n == 0 {
		c.e.addStatic(st)
		c.emit(instr{op: opRequest, st: st, ep: c.e.rec.EndpointIn(c.e.sc, group, st.Name),
			think: activeThink(c.think(st))})
		return nil
	}
	if n > 1 {
		return fmt.Errorf("%s: a step is one of repeat, random, if, foreach or group, not several", at)
	}
	if st.Method != "" || st.Path != nil || st.Form != nil || st.JSON != nil || st.Body != nil || st.Extract != nil {
		return fmt.Errorf("%s: a control step sends no request: expected no method, path, body or extract", at)
	}
	own := activeThink(st.Think) // a control step pauses after it only with its own think
	switch {
	case st.Repeat != nil:
		r := st.Repeat
		if r.Times == nil && r.For <= 0 {
			return fmt.Errorf("%s: repeat: expected times or a positive for", at)
		}
		if !sendsRequest(r.Steps) {
			return fmt.Errorf("%s: repeat: its steps send no request", at)
		}
		if r.Times != nil && r.Times.Static() {
			if _, err := repeatTimes(r.Times.Raw()); err != nil {
				return fmt.Errorf("%s: repeat: %v", at, err)
			}
		}
		begin := c.emit(instr{op: opRepeat, st: st})
		if err := c.steps(r.Steps, where+".repeat.steps", group); err != nil {
			return err
		}
		end := c.emit(instr{op: opRepeatEnd, st: st, to: begin + 1, think: own})
		c.prog[begin].to = end
	case st.Random != nil:
		in := instr{op: opRandom, st: st}
		total := 0.0
		for j, b := range st.Random {
			if !(b.Weight >= 0) || b.Weight > 1e300 {
				return fmt.Errorf("%s: random[%d]: weight %v: expected a non-negative number", at, j, b.Weight)
			}
			total += b.Weight
			in.cum = append(in.cum, total)
		}
		if total <= 0 {
			return fmt.Errorf("%s: random: expected a branch with a positive weight", at)
		}
		begin := c.emit(in)
		var jumps []int
		for j, b := range st.Random {
			c.prog[begin].branches = append(c.prog[begin].branches, len(c.prog))
			if err := c.steps(b.Steps, fmt.Sprintf("%s.random[%d].steps", where, j), group); err != nil {
				return err
			}
			jumps = append(jumps, c.emit(instr{op: opJump, st: st}))
		}
		end := c.end(st, own)
		for _, j := range jumps {
			c.prog[j].to = end
		}
	case st.If != nil:
		f := st.If
		if f.Var == "" && !f.Status {
			return fmt.Errorf("%s: if: expected var or status", at)
		}
		switch f.Op {
		case CondEquals:
			if f.Value == nil {
				return fmt.Errorf("%s: if: equals needs a value", at)
			}
		case CondMatches:
			if f.Regexp == nil {
				return fmt.Errorf("%s: if: matches needs a regular expression", at)
			}
		case CondExists:
		default:
			return fmt.Errorf("%s: if: condition %q: expected equals, matches or exists", at, f.Op)
		}
		begin := c.emit(instr{op: opIf, st: st})
		if err := c.steps(f.Steps, where+".if.steps", group); err != nil {
			return err
		}
		jump := c.emit(instr{op: opJump, st: st})
		c.prog[begin].to = len(c.prog)
		if err := c.steps(f.Else, where+".if.else", group); err != nil {
			return err
		}
		c.prog[jump].to = c.end(st, own)
	case st.Foreach != nil:
		f := st.Foreach
		if !ValidVarName(f.Var) || !ValidVarName(f.As) {
			return fmt.Errorf("%s: foreach: expected var and as, names made of letters, digits, _ and -", at)
		}
		if f.Limit < 0 {
			return fmt.Errorf("%s: foreach: limit %d: expected 0 (every item) or more", at, f.Limit)
		}
		begin := c.emit(instr{op: opForeach, st: st})
		if err := c.steps(f.Steps, where+".foreach.steps", group); err != nil {
			return err
		}
		end := c.emit(instr{op: opForeachEnd, st: st, to: begin + 1, think: own})
		c.prog[begin].to = end
	case st.Group != nil:
		if st.Name == "" {
			return fmt.Errorf("%s: group: expected a name", at)
		}
		inner := st.Name
		if group != "" {
			inner = group + "/" + st.Name
		}
		id := c.e.rec.Group(c.e.sc, inner)
		c.emit(instr{op: opGroup, st: st, ep: id})
		if err := c.steps(st.Group.Steps, where+".group.steps", inner); err != nil {
			return err
		}
		c.emit(instr{op: opGroupEnd, st: st, ep: id, think: own})
	}
	return nil
}

// sendsRequest reports whether steps hold a request step at any depth.
func sendsRequest(steps []Step) bool {
	for i := range steps {
		if !steps[i].control() {
			return true
		}
		for _, sub := range steps[i].children() {
			if sendsRequest(sub) {
				return true
			}
		}
	}
	return false
}

// end is where a control step without an end instruction of its own ends:
// an opEnd when it has its own think, else the next instruction.
func (c *compiler) end(st *Step, own *Think) int {
	if own != nil {
		return c.emit(instr{op: opEnd, st: st, think: own})
	}
	return len(c.prog)
}

// think is the pause after request step st: its own, else the script's.
func (c *compiler) think(st *Step) *Think {
	if st.Think != nil {
		return st.Think
	}
	return &c.s.Think
}

// repeatTimes parses a repeat's rendered count.
func repeatTimes(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("times %q: expected a non-negative integer", short(s))
	}
	return n, nil
}

// iterate runs it from its next instruction on and counts it once
// complete. With park, a think of idleAfter or more parks the VU (park.go)
// and iterate reports true at once; else it sleeps on this goroutine. An
// iteration that ends early (stopped, session lost for good, an
// extraction that found nothing, think aborted) is not counted; it.pc is
// then < 0.
func (v *VU) iterate(ctx context.Context, it *iteration, park bool) (parked bool) {
	if v.env.script.Func != nil {
		v.goIteration(ctx, it)
		return false
	}
	prog := v.env.prog
	for it.pc < len(prog) {
		in := &prog[it.pc]
		it.pc++
		if in.op == opRequest {
			if !v.iterStep(ctx, in, it) {
				v.endIteration(it)
				return false
			}
			if in.think == nil {
				continue
			}
		} else if ok, again := v.control(ctx, in, it); !ok {
			v.endIteration(it)
			return false
		} else if in.think == nil || again {
			continue // a control step's own think comes after its last pass
		}
		d := v.thinkTime(in.think)
		it.thought(d)
		if park && d >= idleAfter {
			if v.park(d) {
				return true
			}
			v.endIteration(it) // aborted
			return false
		}
		if !v.sleep(d, nil) {
			v.endIteration(it)
			return false
		}
	}
	v.env.rec.IterationIn(v.id, v.env.sc)
	v.data.Iteration++
	it.pc = -1
	return false
}

// sent moves its next intended request start to the end of the request
// just recorded (v.last): the user sends the next one after its think.
func (it *iteration) sent(end time.Time) {
	if !it.next.IsZero() {
		it.next = end
	}
}

// thought adds a think of d to its next intended request start: a late
// wake-up, a wait for a slot or the gate then counts in the next
// request's corrected latency; the think itself never does.
func (it *iteration) thought(d time.Duration) {
	if !it.next.IsZero() {
		it.next = it.next.Add(d)
	}
}

// endIteration ends it early, uncounted. A group left open whose requests
// failed is recorded (with the first failure's kind, up to its last
// response); one cut short by a stop is not, as it is incomplete.
func (v *VU) endIteration(it *iteration) {
	for i := len(it.frames) - 1; i >= 0; i-- {
		f := &it.frames[i]
		if f.group > 0 && f.seen && f.kind != stats.OK {
			v.recordGroup(f)
		}
	}
	it.pc = -1
	it.frames = it.frames[:0]
}

// control runs a control instruction; !ok ends the iteration. again
// reports a loop's end instruction going back for another pass.
func (v *VU) control(ctx context.Context, in *instr, it *iteration) (ok, again bool) {
	switch in.op {
	case opJump:
		it.pc = in.to
	case opEnd:
	case opRepeat:
		r := in.st.Repeat
		f := frame{at: it.pc - 1, n: -1}
		if r.Times != nil {
			n, err := repeatTimes(r.Times.Render(&v.data))
			if err != nil {
				v.flowError(in.st, "repeat", err)
				return false, false
			}
			f.n = n
		}
		if r.For > 0 {
			f.until = time.Now().Add(r.For)
		}
		it.frames = append(it.frames, f)
		if v.debug != nil {
			v.debug.note("repeat %s: times %d (-1: none), for %s", in.st.Name, f.n, r.For)
		}
		if f.n == 0 {
			it.pc = in.to // no pass: the end pops the frame
		}
	case opRepeatEnd:
		f := &it.frames[len(it.frames)-1]
		if f.n > 0 {
			f.n--
		}
		more := f.n != 0 && (f.until.IsZero() || time.Now().Before(f.until))
		if more && closed(v.sig.Abort) {
			return false, false // a pass may send nothing (its ifs all false): stay stoppable
		}
		if more {
			it.pc, again = in.to, true
		} else {
			it.frames = it.frames[:len(it.frames)-1]
		}
	case opRandom:
		x := v.rng.Float64() * in.cum[len(in.cum)-1]
		k := len(in.cum) - 1
		for j, c := range in.cum {
			if x < c {
				k = j
				break
			}
		}
		it.pc = in.branches[k]
		if v.debug != nil {
			v.debug.note("random %s: branch %d", in.st.Name, k+1)
		}
	case opIf:
		ok := v.holds(in.st.If)
		if !ok {
			it.pc = in.to
		}
		if v.debug != nil {
			v.debug.note("if %s: %v", in.st.Name, ok)
		}
	case opForeach:
		fe := in.st.Foreach
		list := v.data.Lists[fe.Var]
		if fe.Limit > 0 && len(list) > fe.Limit {
			list = list[:fe.Limit]
		}
		it.frames = append(it.frames, frame{at: it.pc - 1, list: list})
		if v.debug != nil {
			v.debug.note("foreach %s: %d items of %s", in.st.Name, len(list), fe.Var)
		}
		if len(list) == 0 {
			it.pc = in.to
		} else {
			v.setVar(fe.As, list[0])
		}
	case opForeachEnd:
		f := &it.frames[len(it.frames)-1]
		f.n++
		if f.n < len(f.list) {
			v.setVar(in.st.Foreach.As, f.list[f.n])
			it.pc, again = in.to, true
		} else {
			it.frames = it.frames[:len(it.frames)-1]
		}
	case opGroup:
		it.frames = append(it.frames, frame{at: it.pc - 1, group: in.ep + 1})
	case opGroupEnd:
		f := &it.frames[len(it.frames)-1]
		if f.seen {
			v.recordGroup(f)
		}
		it.frames = it.frames[:len(it.frames)-1]
	}
	return ctx.Err() == nil, again
}

// holds reports whether an If's condition holds for the VU now.
func (v *VU) holds(f *If) bool {
	var val string
	set := true
	switch {
	case f.Status:
		val = strconv.Itoa(v.lastStatus)
		set = v.lastStatus != 0
	default:
		if l, ok := v.data.Lists[f.Var]; ok {
			set = len(l) > 0
			val = v.data.Vars[f.Var]
		} else {
			val, set = v.data.Vars[f.Var]
		}
	}
	switch f.Op {
	case CondExists:
		return set
	case CondEquals:
		return set && val == f.Value.Render(&v.data)
	case CondMatches:
		return set && f.Regexp.MatchString(val)
	}
	return false
}

// setVar sets variable name to val.
func (v *VU) setVar(name, val string) {
	if v.data.Vars == nil {
		v.data.Vars = map[string]string{}
	}
	v.data.Vars[name] = val
}

// grouped adds the VU's last sample to the groups open in frames.
func (v *VU) grouped(frames []frame) {
	for i := range frames {
		f := &frames[i]
		if f.group == 0 {
			continue
		}
		s := &v.last
		if !f.seen {
			f.seen, f.start, f.intended = true, s.start, s.intended
		}
		f.end = s.end
		f.service += s.end.Sub(s.start)
		if f.kind == stats.OK && s.kind.IsError() {
			f.kind = s.kind
		}
	}
}

// recordGroup records one execution of the group of f.
func (v *VU) recordGroup(f *frame) {
	s := stats.Sample{Endpoint: f.group - 1, Intended: f.intended, Start: f.start, End: f.end, Kind: f.kind, Service: f.service}
	v.env.rec.Record(v.id, &s)
}

// flowError records a control step that could not run (a repeat count
// that is not a number) as an error of kind other on an endpoint named
// for it, so the run's errors show it; the iteration then stops.
func (v *VU) flowError(st *Step, what string, err error) {
	name := st.Name
	if name == "" {
		name = what
	}
	now := time.Now()
	s := stats.Sample{Endpoint: v.env.rec.EndpointIn(v.env.sc, "", name), Start: now, End: now, Kind: stats.Other}
	v.env.rec.Record(v.id, &s)
	if v.debug != nil {
		v.debug.note("%s %s: %v", what, name, err)
	}
}
