// Package profiles is the plan: the YAML file and its validation, the load
// shapes as pure math, and the executors that drive VUs along them.
package profiles

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/server"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// Plan is a validated plan file, ready to run.
type Plan struct {
	// File is the plan's path as given ("" for an embedded plan).
	File string
	// Name is the plan's name (defaults to the file's base name).
	Name string
	// Scenarios are the kinds of users of the plan, at least one, in
	// file order. Those with a Weight share Load; those with their own
	// Load run concurrently on it.
	Scenarios []*Scenario
	// Load is the load shape the weighted scenarios share.
	Load Load
	// Pool tunes the shared transport.
	Pool pool.Options
	// Thresholds are the pass/fail rules, in file order.
	Thresholds []Threshold
	// Outputs are the files the plan asks runs to write.
	Outputs Outputs
	// Source is the plan's text with secrets removed, for reports.
	Source string
	// Server says where the server's own session figures are; nil: none.
	Server *server.Config
	// applied are the overrides Load already has, so that Override does
	// not apply them twice.
	applied Overrides
	// Warmup is the first part of the schedule, run but recorded nowhere
	// (plan key warmup, --warmup): the measured window starts after it.
	Warmup time.Duration
}

// Scenario is one kind of user: the script its VUs run, who they are,
// and either a share of the plan's load or a load shape of its own.
type Scenario struct {
	// Name names the scenario in results ("" for a plan's only one).
	Name string
	// Weight is the scenario's share of Plan.Load: with weights 7, 2 and
	// 1, exactly 70%, 20% and 10% of the VUs (or arrivals). Zero when
	// Load is set.
	Weight float64
	// Load, if set, is the scenario's own load shape, run concurrently
	// with the plan's.
	Load *Load
	// Script is what the scenario's VUs run.
	Script *vuser.Script
	// Users gives each VU of the scenario its identity.
	Users Users
	// Pacing, if set, replaces the load's Pacing for this scenario's VUs
	// (closed model).
	Pacing time.Duration
}

// Users hands out identities by global VU id.
type Users interface {
	// Identity returns the identity of global VU vu (counting from 1).
	Identity(vu int) vuser.Identity
	// Len is how many distinct identities there are; 0 means unbounded
	// (a template).
	Len() int
}

// NoUsers gives every VU the empty identity: for scenarios with no login
// or a login that needs no credentials.
func NoUsers() Users { return noUsers{} }

// Load is the load shape. The closed model (Open == nil) ramps a number
// of VUs along stages; the open model schedules arrivals at a rate.
type Load struct {
	// VUs is the VU count when there are no stages.
	VUs int
	// Duration is how long the VUs run when there are no stages.
	Duration time.Duration
	// Stages ramp the VU count linearly from the previous target to this
	// one; a stage without a target holds the previous one.
	Stages []Stage
	// GracefulStop is how long a stopping VU may take to finish its
	// current iteration before it is cancelled. Default 30s.
	GracefulStop time.Duration
	// Pacing (closed model): each VU starts an iteration every Pacing,
	// which gives every iteration an intended start, so latency can be
	// corrected for coordinated omission. Zero: back to back.
	Pacing time.Duration
	// Open is the open model; nil for the closed model.
	Open *Open
}

// Open is the open model: arrivals on a schedule, independent of how fast
// the server answers.
type Open struct {
	// Rate schedules the arrivals: iterations, or new users with Sessions.
	Rate Schedule
	// Sessions makes each arrival a new user who logs in, works for
	// Lifetime, then ends the session (logout or abandon); otherwise each
	// arrival is one iteration handed to an idle, logged-in VU.
	Sessions bool
	// Lifetime is how long an arriving user works (Sessions only).
	Lifetime time.Duration
	// MaxVUs caps the VUs (arrival rate: the VU pool; sessions: users
	// at once). Default: PreallocatedVUs (arrival rate), none (sessions).
	MaxVUs int
	// PreallocatedVUs log in before the schedule starts (arrival rate).
	PreallocatedVUs int
	// Drop drops (and counts) an iteration that finds no idle VU, instead
	// of running it late when one frees up.
	Drop bool
}

// Stage is one segment of a ramp.
type Stage struct {
	Duration time.Duration
	Target   int
}

// Threshold is one pass/fail rule as written, e.g. "catalog p99": "< 300ms".
type Threshold struct {
	Metric    string
	Condition string
	Line      int
	// Rule is the parsed rule, for stats.CheckThresholds.
	Rule stats.Threshold
	// AbortOnFail stops the run as soon as the rule fails on the figures
	// so far, checked every interval once Grace has passed since the start.
	AbortOnFail bool
	Grace       time.Duration
	node        *yaml.Node // the metric key, for problems found after parsing
}

// Rules returns the plan's parsed thresholds, in file order.
func (p *Plan) Rules() []stats.Threshold {
	out := make([]stats.Threshold, len(p.Thresholds))
	for i, t := range p.Thresholds {
		out[i] = t.Rule
	}
	return out
}
