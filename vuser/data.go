package vuser

import (
	"slices"

	"github.com/sessionload/load/stats"
)

// A VU takes its rows when an iteration begins, before its first step:
// one row from every source of Script.Data (the plan loader puts there
// only the sources the scenario's templates name, so a unique source
// nothing uses is never drawn from), in the order of the sources' names,
// so that random picks repeat with the seed. Every step, check and
// extraction of the iteration sees the same row; login steps see the
// last iteration's (none before the first).

// dataState is a VU's bookkeeping of its data sources.
type dataState struct {
	names     []string // Script.Data's names, sorted: the order rows are drawn in
	exhausted bool     // a source had no row left: the VU stopped
}

// takeData takes this iteration's row from each data source into the
// VU's {{.Data}}. False means a source had no row left for the VU (a
// unique source used up, a sequence shorter than the VUs): the VU must
// start no iteration more. It is counted as data_exhausted, once.
//
// It allocates only on the VU's first iteration.
func (v *VU) takeData() bool {
	src := v.env.script.Data
	if len(src) == 0 {
		return true
	}
	st := &v.data.src
	if st.exhausted {
		return false
	}
	if st.names == nil {
		st.names = make([]string, 0, len(src))
		for name := range src {
			st.names = append(st.names, name)
		}
		slices.Sort(st.names)
		v.data.Sources = make(map[string]DataRow, len(src))
	}
	for _, name := range st.names {
		s := src[name]
		row, ok := s.Row(v.id, v.data.Iteration, v.rng)
		if !ok {
			v.exhaust(name)
			return false
		}
		v.data.Sources[name] = DataRow{Columns: s.Columns(), Values: row}
	}
	return true
}

// FiniteSource is a DataSource that can tell, without taking a row,
// that it has none left for a VU (a sequence shorter than the VUs, unique
// rows all handed out).
type FiniteSource interface {
	DataSource
	Exhausted(vu int) bool
}

// dataLeft reports, before the VU's first login, whether its sources may
// still have rows for it. A VU that could take none stops without logging
// in (a login the server would count for nothing), as data_exhausted.
func (v *VU) dataLeft() bool {
	for name, s := range v.env.script.Data {
		if f, ok := s.(FiniteSource); ok && f.Exhausted(v.id) {
			v.exhaust(name)
			return false
		}
	}
	return true
}

// exhaust stops the VU for want of rows of source name, counted once.
func (v *VU) exhaust(name string) {
	v.data.src.exhausted = true
	v.env.rec.VUStopped(v.id, stats.DataExhausted)
	if v.debug != nil {
		v.debug.note("data source %s has no row left for VU %d: the VU stops (data_exhausted)", name, v.id)
	}
}

// DataExhausted reports whether the VU stopped because a data source had
// no row left for it (see Iterate): an executor starts no new VU in its
// place, as the rows would still be gone.
func (v *VU) DataExhausted() bool { return v.data.src.exhausted }

// DataValue is the value of column of the row the VU took from source
// for this iteration ({{.Data.source.column}}), for an IterFunc.
func (v *VU) DataValue(source, column string) (string, bool) {
	return v.data.Sources[source].Get(column)
}

// DataSources lists the data sources the script's templates name
// ({{.Data.NAME.COLUMN}}, in steps at any depth and in login steps),
// without duplicates, sorted.
func (s *Script) DataSources() []string {
	var out []string
	note := func(t *Template) {
		if t == nil {
			return
		}
		for _, r := range t.refs {
			if r.Source != "" && !slices.Contains(out, r.Source) {
				out = append(out, r.Source)
			}
		}
	}
	var walk func(steps []Step)
	walk = func(steps []Step) {
		for i := range steps {
			st := &steps[i]
			note(st.Path)
			note(st.JSON)
			note(st.Body)
			for _, h := range st.Headers {
				note(h.Value)
			}
			for _, f := range st.Form {
				note(f.Value)
			}
			for _, c := range st.Check.JSON {
				note(c.Want)
			}
			for _, t := range st.Check.BodyContainsT {
				note(t)
			}
			for _, h := range st.Check.Headers {
				note(h.Equals)
			}
			if r := st.Repeat; r != nil {
				note(r.Times)
				walk(r.Steps)
			}
			for _, b := range st.Random {
				walk(b.Steps)
			}
			if c := st.If; c != nil {
				note(c.Value)
				walk(c.Steps)
				walk(c.Else)
			}
			if f := st.Foreach; f != nil {
				walk(f.Steps)
			}
			if g := st.Group; g != nil {
				walk(g.Steps)
			}
		}
	}
	walk(s.Steps)
	walk(s.Login.Steps)
	slices.Sort(out)
	return out
}
