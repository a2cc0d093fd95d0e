package profiles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LoadFile reads and parses the plan file at path. Relative paths in the
// plan (the users CSV) are relative to the plan file's directory. A plan
// with problems returns them all as Problems.
//
// It is not named Load because Load is the load-shape type.
func LoadFile(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, filepath.Dir(path))
}

// Parse parses and validates a plan. file names the plan in problems and
// gives the default plan name; dir is the base of relative paths in the
// plan. Every problem of the plan is reported, in file order, as Problems.
func Parse(file string, data []byte, dir string) (*Plan, error) {
	return ParseWith(file, data, dir, Overrides{})
}

// Problem is one mistake in a plan or a file it names, at the line and
// column of the offending YAML node. Col is 0 when only the line is known
// (a CSV row), Line 0 when neither is.
type Problem struct {
	File      string
	Line, Col int
	Msg       string
}

// Error is "file:line:col: msg", leaving out what is unknown.
func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteByte(':')
	}
	if p.Line > 0 {
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteByte(':')
		if p.Col > 0 {
			b.WriteString(strconv.Itoa(p.Col))
			b.WriteByte(':')
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems are all the problems of a plan, in file order.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives each problem to errors.Is and errors.As.
func (ps Problems) Unwrap() []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}

// Overrides are the CLI's replacements of the plan's load; a zero field
// was not given. Each applies to every load model it makes sense for and
// is refused, naming the model, where it does not.
type Overrides struct {
	// VUs replaces a closed load (flat, stages or paced) by a flat N VUs
	// for the plan's total duration (or Duration); paced VUs keep their
	// pacing. The open models are refused: their rate sets the load.
	VUs int
	// Duration sets a flat load's duration, or stretches the stages (of
	// VUs or of rates) proportionally to it, keeping the shape.
	Duration time.Duration
	// Rate ("50/s", "30/m", or a number per second) replaces an open
	// load's rate (iterations or arriving users) by a flat rate for the
	// plan's total duration (or Duration). The closed models are refused.
	Rate string
}

// IsZero reports whether no override was given.
func (o Overrides) IsZero() bool { return o == Overrides{} }

// LoadFileWith is LoadFile with the CLI's overrides applied before the
// checks that depend on the load (a users CSV must have a row for every VU
// of the overridden load).
func LoadFileWith(path string, o Overrides) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseWith(path, data, filepath.Dir(path), o)
}

// ParseWith is Parse with the CLI's overrides applied, as LoadFileWith.
// A refused override is a Problem without a position.
func ParseWith(file string, data []byte, dir string, o Overrides) (*Plan, error) {
	d := newDecoder(file, dir, data)
	d.over = o
	root, ok := d.document(data)
	if !ok {
		return nil, d.problems()
	}
	p := d.plan(root)
	if len(d.probs) > 0 {
		return nil, d.problems()
	}
	p.applied = o
	return p, nil
}

// override applies the decoder's overrides to a decoded load; a refusal
// is a problem of the command line, sorted first.
func (d *decoder) override(l *Load) bool {
	if d.over.IsZero() {
		return true
	}
	nl, err := l.override(d.over)
	if err != nil {
		d.add(located{0, 0, Problem{Msg: err.Error()}})
		return false
	}
	*l = nl
	return true
}

// afterOverrides says, in a message about the load, that the CLI changed it.
func (d *decoder) afterOverrides() string {
	if d.over.IsZero() {
		return ""
	}
	return " (after " + d.over.String() + ")"
}

// String is the overrides as given on the command line.
func (o Overrides) String() string {
	var parts []string
	if o.VUs != 0 {
		parts = append(parts, fmt.Sprintf("--vus %d", o.VUs))
	}
	if o.Duration != 0 {
		parts = append(parts, "--duration "+o.Duration.String())
	}
	if o.Rate != "" {
		parts = append(parts, "--rate "+o.Rate)
	}
	return strings.Join(parts, " ")
}

// Override applies the CLI's --vus and --duration (zero means not given);
// see OverrideWith.
func (p *Plan) Override(vus int, duration time.Duration) error {
	return p.OverrideWith(Overrides{VUs: vus, Duration: duration})
}

// OverrideWith applies the CLI's overrides to a parsed plan (see
// Overrides), for a plan parsed without them; overrides the plan was
// parsed with are not applied twice. A users CSV must still have a row for
// every VU. On error the plan is unchanged.
func (p *Plan) OverrideWith(o Overrides) error {
	if o == p.applied {
		return nil
	}
	l, err := p.Load.override(o)
	if err != nil {
		return err
	}
	for _, sc := range p.Scenarios {
		// TODO(#13): a weighted scenario needs its share of the VUs only.
		if sc.Users == nil || sc.Load != nil {
			continue
		}
		if have, need := sc.Users.Len(), l.MaxVUs(); have > 0 && need > have {
			name := "the users"
			if u, ok := sc.Users.(*csvUsers); ok {
				name = u.file
			}
			return fmt.Errorf("load needs %d VUs (after %s) but %s has %d rows", need, o, name, have)
		}
	}
	p.Load = l
	p.applied = o
	return nil
}

// Model names the load model in messages: what the plan's load key says.
func (l Load) Model() string {
	staged := len(l.Stages) > 0
	switch {
	case l.Open != nil && l.Open.Sessions:
		if len(l.Open.Rate.Stages) > 0 {
			return "ramping sessions (load.sessions with load.stages of arrival rates)"
		}
		return "sessions (users arriving at load.sessions.rate)"
	case l.Open != nil:
		if len(l.Open.Rate.Stages) > 0 {
			return "ramping arrival rate (load.rate with load.stages of rates)"
		}
		return "arrival rate (iterations at load.rate)"
	case l.Pacing > 0 && staged:
		return "paced stages (load.pacing with load.stages of VUs)"
	case l.Pacing > 0:
		return "paced (load.vus each starting an iteration every load.pacing)"
	case staged:
		return "stages (load.stages of VUs)"
	}
	return "closed (load.vus for load.duration)"
}

// override returns l with o applied, or why o does not apply to l's
// model. l itself is not changed.
func (l Load) override(o Overrides) (Load, error) {
	if o.VUs < 0 {
		return l, fmt.Errorf("--vus %d: expected a positive number of VUs", o.VUs)
	}
	if o.Duration < 0 {
		return l, fmt.Errorf("--duration %s: expected a positive duration", o.Duration)
	}
	var rate float64
	if o.Rate != "" {
		r, err := parseRate(o.Rate)
		if err != nil || r <= 0 {
			return l, fmt.Errorf("--rate %s: expected a rate above 0 like 50/s, 30/m or 5/100ms", o.Rate)
		}
		rate = r
	}
	if o.IsZero() {
		return l, nil
	}
	total := o.Duration
	if total == 0 {
		total = l.Total()
	}
	if l.Open != nil {
		if o.VUs > 0 {
			return l, fmt.Errorf("--vus %d: does not apply to the plan's %s load: the rate sets the load there, VUs only serve it (use --rate, or load.max_vus in the plan)", o.VUs, l.Model())
		}
		open := *l.Open
		switch {
		case rate > 0:
			open.Rate = Schedule{Start: rate, Duration: total}
		case len(open.Rate.Stages) > 0:
			open.Rate.Stages = scaledRates(open.Rate.Stages, total)
		default:
			open.Rate.Duration = total
		}
		l.Open = &open
		return l, nil
	}
	if rate > 0 {
		return l, fmt.Errorf("--rate %s: does not apply to the plan's %s load, a closed model where VUs run back to back (use --vus, or load.rate in the plan for an open model)", o.Rate, l.Model())
	}
	switch {
	case o.VUs > 0:
		if total <= 0 {
			return l, errors.New("--vus without a duration: the plan has none, give --duration too")
		}
		l = Load{VUs: o.VUs, Duration: total, GracefulStop: l.GracefulStop, Pacing: l.Pacing}
	case len(l.Stages) == 0:
		l.Duration = total
	default:
		l.Stages = scaled(l.Stages, total)
	}
	return l, nil
}
