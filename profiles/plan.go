// Package profiles is the plan: the YAML file and its validation, the load
// shapes as pure math, and the executors that drive VUs along them.
package profiles

import (
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/vuser"
)

// Plan is a validated plan file, ready to run.
type Plan struct {
	// File is the plan's path as given ("" for an embedded plan).
	File string
	// Name is the plan's name (defaults to the file's base name).
	Name string
	// Script is what every VU runs.
	Script *vuser.Script
	// Users gives each VU its identity.
	Users Users
	// Load is the load shape.
	Load Load
	// Pool tunes the shared transport.
	Pool pool.Options
	// Thresholds are the pass/fail rules, in file order.
	Thresholds []Threshold
	// Source is the plan's text with secrets removed, for reports.
	Source string
}

// Users hands out identities by global VU id.
type Users interface {
	// Identity returns the identity of global VU vu (counting from 1).
	Identity(vu int) vuser.Identity
	// Len is how many distinct identities there are; 0 means unbounded
	// (a template).
	Len() int
}

// Load is the closed-model load shape: VUs ramp along stages.
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
}
