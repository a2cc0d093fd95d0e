// Package load runs load tests of session-based web apps: every virtual
// user (VU) has its own cookie jar, logs in to get its own session, and
// works through its scenario with it, while all VUs share one tuned
// connection pool and latency is recorded per endpoint in HDR histograms.
//
// A Test is the whole description of one load test: the kinds of users
// (Scenarios, as steps or as Go code), the load shape, the HTTP options
// and the pass/fail thresholds. Run runs it and returns the results with
// the thresholds judged. A YAML plan compiles to the same Test
// (FromPlan(profiles.LoadFile(...))), so a Go program and the load CLI
// run the same thing.
package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/server"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// Test is one load test. It is a value: Run reads it and never changes
// it, so the same Test can be run again and gives the same test.
type Test struct {
	// Name names the test in results; default "test".
	Name string
	// Target is the app's base URL (http:// or https://); every step's
	// path is resolved against it.
	Target string
	// Headers are sent on every request of every scenario unless a step
	// sets them.
	Headers http.Header
	// Scenarios are the kinds of users: at least one. Those with a Weight
	// share Load, in exact proportions; those with their own Load run
	// concurrently on it.
	Scenarios []Scenario
	// Load is the shape the weighted scenarios share: a number of VUs
	// along stages (closed model) or arrivals at a rate (open model).
	Load profiles.Load
	// Warmup is the first part of the schedule, run but recorded nowhere.
	Warmup time.Duration
	// HTTP tunes the shared connection pool.
	HTTP pool.Options
	// Transport, if set, wraps the pool's transport: every request of
	// every VU goes through the RoundTripper it returns (to log, to add
	// headers, to fault-inject). The pool's admission bound still holds.
	Transport func(http.RoundTripper) http.RoundTripper
	// Timeout bounds one request, body included; 0 means 30s.
	Timeout time.Duration
	// MaxBody caps the response bytes kept for checks and extraction;
	// 0 means 1 MiB.
	MaxBody int
	// Thresholds are the pass/fail rules, judged on the results.
	Thresholds []Threshold
	// Server, if set, is where the server's own session figures are
	// polled during the run (Tomcat's JMX proxy, Spring Boot Actuator).
	Server *server.Config
	// Seed makes the run's random choices (think times, random branches,
	// random data) repeatable; 0 picks one (results.json has it).
	Seed uint64
	// Source is the plan's text with secrets removed, kept in the
	// results for reports; "" for a test built in Go.
	Source string

	// Observe are the run's live outputs and its distribution.
	Observe Observe
}

// Observe is how a Test's run is watched and split, none of which
// changes what is tested.
type Observe struct {
	// Progress, if set, gets the live state of the run once per Interval
	// (default 1s), on the executor's goroutine: it must return quickly.
	Progress func(profiles.Progress)
	// Interval is the period of Progress and of the Sinks.
	Interval time.Duration
	// Sinks get each interval's histograms (.hlog, Prometheus).
	Sinks []stats.Sink
	// Logf, if set, gets warnings as they happen (they are in the
	// results' warnings too).
	Logf func(format string, args ...any)
	// Segment is this process's share of a test split across processes;
	// the zero Segment runs the whole test.
	Segment profiles.Segment
	// StartAt, if set, is the instant the schedule starts, so segments
	// started apart begin together.
	StartAt time.Time
	// Debug, if set, gets every exchange of VU DebugVU (default 1),
	// secrets hashed.
	Debug   io.Writer
	DebugVU int
}

// Scenario is one kind of user of a Test.
type Scenario struct {
	// Name names the scenario in results; required when a Test has
	// several.
	Name string
	// Weight is the scenario's share of the Test's Load (with weights 7,
	// 2 and 1: exactly 70%, 20% and 10% of the VUs or arrivals); 0 with
	// its own Load, else taken as 1.
	Weight float64
	// Load, if set, is the scenario's own shape, run concurrently.
	Load *profiles.Load
	// Users gives each VU its identity; nil: no identities (no login, or
	// a template-free one).
	Users profiles.Users
	// Login is how a VU gets its session (a preset, or steps).
	Login vuser.Login
	// Session says which cookie is the session and what to do when it is
	// lost; a zero Session is Tomcat's JSESSIONID with the defaults.
	Session vuser.Session
	// Steps is the scenario as steps, run once per iteration; or Func.
	Steps []vuser.Step
	// Func is the scenario as Go code, run once per iteration; or Steps.
	Func ScenarioFunc
	// Think is the pause after each step (and what u.Think waits).
	Think vuser.Think
	// Pacing, if set, starts each VU's iterations every Pacing (closed
	// model), which gives every iteration an intended start.
	Pacing time.Duration
	// Data are the named test data sources ({{.Data.NAME.COLUMN}}).
	Data map[string]vuser.DataSource
}

// ScenarioFunc is one iteration of a scenario written in Go: u is the VU,
// logged in with its own session; its requests (u.Get, u.PostForm,
// u.PostJSON, u.Do) are recorded under the endpoint names given, and a
// lost session is logged in again as the scenario's Session says. An
// error ends the iteration uncounted.
type ScenarioFunc func(ctx context.Context, u *vuser.VU) error

// Threshold is one pass/fail rule, as a plan writes it: the metric
// ("catalog p99", "error_rate", "group checkout p95") and the condition
// ("< 300ms").
type Threshold struct {
	Metric    string
	Condition string
	// AbortOnFail stops the run as soon as the rule fails on the figures
	// so far, checked every interval once Grace has passed.
	AbortOnFail bool
	Grace       time.Duration
}

// Judge judges t's thresholds on results r (merged from segments, or
// rebuilt from a stream), stores the verdicts in r.Thresholds and reports
// whether every rule held. A threshold that does not parse is an error.
func (t Test) Judge(r *stats.Results) (bool, error) {
	rules := make([]stats.Threshold, 0, len(t.Thresholds))
	for i, th := range t.Thresholds {
		rule, err := stats.ParseThreshold(th.Metric, th.Condition)
		if err != nil {
			return false, fmt.Errorf("thresholds[%d] %q: %w", i, th.Metric, err)
		}
		rules = append(rules, rule)
	}
	return stats.CheckThresholds(r, rules), nil
}

// Run runs t and returns its results, the thresholds judged
// (Results.Thresholds; Results.ThresholdsOK says whether all held).
//
// Before any load, t is validated (a mistake is an error naming the field)
// and one request checks that the target answers at all (no answer: an
// *profiles.UnreachableError, and nothing ran). Cancelling ctx stops the
// run early: the results of what ran are returned all the same, marked
// interrupted.
func Run(ctx context.Context, t Test) (*stats.Results, error) {
	p, err := t.plan()
	if err != nil {
		return nil, err
	}
	if err := profiles.CheckTarget(ctx, p); err != nil {
		return nil, err
	}
	o := t.Observe
	fds := profiles.CheckOpenFiles(p, o.Segment, profiles.OpenFileLimit())
	if fds != "" && o.Logf != nil {
		o.Logf("warning: %s", fds)
	}
	res, err := profiles.Run(ctx, p, profiles.RunOptions{
		Interval:   o.Interval,
		OnInterval: o.Progress,
		Seed:       t.Seed,
		Logf:       o.Logf,
		Stats:      stats.Options{Sinks: o.Sinks},
		Segment:    o.Segment,
		StartAt:    o.StartAt,
		Debug:      o.Debug,
		DebugVU:    o.DebugVU,
	})
	if err != nil {
		return nil, err
	}
	res.PlanSource = t.Source
	if fds != "" {
		res.Warnings = append(res.Warnings, fds)
	}
	stats.CheckThresholds(res, p.Rules())
	return res, nil
}
