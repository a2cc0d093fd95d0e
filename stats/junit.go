package stats

import (
	"encoding/xml"
	"fmt"
	"io"
)

// junitSuite is the JUnit XML that CI systems (Jenkins, GitLab, GitHub
// actions' reporters) read: one test case per threshold.
type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr,omitempty"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	Output    string        `xml:"system-out,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes r's threshold verdicts as a JUnit XML test suite named
// after the plan: one test case per threshold, failed when it did not hold.
func WriteJUnit(w io.Writer, r *Results) error {
	name := r.Plan
	if name == "" {
		name = "load"
	}
	s := junitSuite{Name: name + " thresholds", Tests: len(r.Thresholds), Time: r.DurationS}
	if why := r.Untested(); why != "" {
		// The run itself is a test case: an interrupted, partial or dead
		// run must not read as a pass of its thresholds.
		s.Tests++
		s.Errors++
		s.Cases = append(s.Cases, junitCase{Name: "run", Classname: "load." + name,
			Error: &junitFailure{Message: "could not test: " + why, Type: "untested", Text: "could not test: " + why}})
	}
	for _, t := range r.Thresholds {
		c := junitCase{Name: t.Expr, Classname: "load." + name, Output: "observed " + t.FormatObserved()}
		switch {
		case t.Deferred:
			s.Skipped++
			c.Skipped = &junitSkipped{Message: "judged on the merged whole of the split test (load merge --thresholds)"}
		case !t.OK:
			s.Failures++
			c.Failure = &junitFailure{
				Message: fmt.Sprintf("%s: observed %s", t.Expr, t.FormatObserved()),
				Type:    "threshold",
				Text:    fmt.Sprintf("threshold %q did not hold: observed %s", t.Expr, t.FormatObserved()),
			}
		}
		s.Cases = append(s.Cases, c)
	}
	return writeSuite(w, s)
}

// WriteCompareJUnit writes c's verdicts as a JUnit XML test suite: one
// test case per figure with a tolerance ("catalog p99", "total errors"),
// failed when it regressed, skipped when it was not judged (too few
// samples).
func WriteCompareJUnit(w io.Writer, c *Comparison) error {
	name := c.New
	if name == "" {
		name = "load"
	}
	s := junitSuite{Name: name + " compare"}
	for _, r := range c.Rows {
		if !r.Judged && r.Note == "" {
			continue
		}
		tc := junitCase{Name: r.Name(), Classname: "load.compare." + name,
			Output: fmt.Sprintf("base %s%s, new %s%s, change %s", r.format(r.Base.Value), r.interval(r.Base), r.format(r.New.Value), r.interval(r.New), changeText(r))}
		switch {
		case r.Regressed:
			s.Failures++
			tc.Failure = &junitFailure{Message: r.RegressionLine(), Type: "regression", Text: r.RegressionLine()}
		case !r.Judged:
			tc.Skipped = &junitSkipped{Message: r.Note}
		}
		s.Tests++
		s.Cases = append(s.Cases, tc)
	}
	return writeSuite(w, s)
}

// writeSuite writes s as an XML document.
func writeSuite(w io.Writer, s junitSuite) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
