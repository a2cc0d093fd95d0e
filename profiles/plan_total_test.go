package profiles

import (
	"testing"
	"time"
)

// A plan's length and peak VUs count every shape: the shared load and
// each scenario's own, which run concurrently.
func TestPlanTotalAndMaxVUsCountEveryShape(t *testing.T) {
	own := &Load{Stages: []Stage{{Duration: 20 * time.Second, Target: 5}, {Duration: 40 * time.Second, Target: -1}}}
	p := &Plan{
		Load:      Load{VUs: 10, Duration: 30 * time.Second},
		Scenarios: []*Scenario{{Name: "a", Weight: 1}, {Name: "b", Load: own}},
	}
	if got := p.Total(); got != time.Minute {
		t.Errorf("Total %s, want the longest shape, 1m", got)
	}
	if got := p.MaxVUs(); got != 15 {
		t.Errorf("MaxVUs %d, want 10 + 5", got)
	}
	only := &Plan{Scenarios: []*Scenario{{Name: "b", Load: own}}}
	if got := only.Total(); got != time.Minute {
		t.Errorf("own loads only: Total %s, want 1m", got)
	}
}
