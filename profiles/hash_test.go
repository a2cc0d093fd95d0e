package profiles

import (
	"testing"
	"time"
)

// TestPlanHash pins what Plan.Hash identifies: the same plan parsed twice is
// the same test; a change to its text or to its effective load shape is
// another one; the target is not part of it.
func TestPlanHash(t *testing.T) {
	t.Parallel()
	const plan = `name: h
target: http://127.0.0.1:1
session: {login: none}
scenario: [{name: a, get: /}]
load: {rate: 10/s, duration: 2s, preallocated_vus: 2}
`
	parse := func(src string) *Plan {
		t.Helper()
		p, err := Parse("h.yaml", []byte(src), ".")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := parse(plan).Hash()
	if len(base) != 16 {
		t.Fatalf("Hash() = %q, want 16 hex digits", base)
	}
	if got := parse(plan).Hash(); got != base {
		t.Errorf("the same plan parsed twice: %s and %s", base, got)
	}
	other := parse(plan + "think: 1s\n").Hash()
	if other == base {
		t.Error("a plan with another text has the same hash")
	}
	moved := parse(plan)
	moved.Scenarios[0].Script.Target.Host = "127.0.0.2:1"
	if got := moved.Hash(); got != base {
		t.Errorf("another target changed the hash: %s, want %s", got, base)
	}
	for _, o := range []Overrides{{Duration: 3 * time.Second}, {Rate: "20/s"}} {
		p := parse(plan)
		if err := p.OverrideWith(o); err != nil {
			t.Fatal(err)
		}
		if p.Hash() == base {
			t.Errorf("override %+v left the hash as it was", o)
		}
	}
}
