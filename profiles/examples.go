package profiles

import (
	_ "embed"
	"slices"
)

//go:embed examples/demo.yaml
var demoPlan []byte

// DemoPlan is the plan `load demo` runs against the built-in target; its
// target is replaced by the target's address.
func DemoPlan() []byte { return slices.Clone(demoPlan) }
