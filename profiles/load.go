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
	d := newDecoder(file, dir, data)
	root, ok := d.document(data)
	if !ok {
		return nil, d.problems()
	}
	p := d.plan(root)
	if len(d.probs) > 0 {
		return nil, d.problems()
	}
	return p, nil
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

// Override applies the CLI's --vus and --duration (zero means not given).
// --vus N replaces the load by a flat N VUs for the given duration, or for
// the stages' total. --duration D alone sets a flat load's duration, or
// stretches the stages proportionally to D, keeping the shape. A users CSV
// must still have a row for every VU. On error the plan is unchanged.
func (p *Plan) Override(vus int, duration time.Duration) error {
	if vus < 0 {
		return fmt.Errorf("--vus %d: expected a positive number of VUs", vus)
	}
	if duration < 0 {
		return fmt.Errorf("--duration %s: expected a positive duration", duration)
	}
	l := p.Load
	switch {
	case vus == 0 && duration == 0:
		return nil
	case vus > 0:
		if duration == 0 {
			duration = l.Total()
		}
		if duration <= 0 {
			return errors.New("--vus without a duration: the plan has none, give --duration too")
		}
		l = Load{VUs: vus, Duration: duration, GracefulStop: l.GracefulStop}
	case len(l.Stages) == 0:
		l.Duration = duration
	default:
		l.Stages = scaled(l.Stages, duration)
	}
	if p.Users != nil {
		if have, need := p.Users.Len(), l.MaxVUs(); have > 0 && need > have {
			name := "the users"
			if u, ok := p.Users.(*csvUsers); ok {
				name = u.file
			}
			return fmt.Errorf("load needs %d VUs but %s has %d rows", need, name, have)
		}
	}
	p.Load = l
	return nil
}
