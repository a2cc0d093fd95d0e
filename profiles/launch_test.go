package profiles

import (
	"slices"
	"testing"
)

// The launcher runs at most max starts at once, the rest in order as
// earlier ones report their first login over.
func TestLauncher(t *testing.T) {
	t.Parallel()
	l := launcher{max: 2}
	var started []int
	for i := range 5 {
		l.launch(func() { started = append(started, i) })
	}
	if !slices.Equal(started, []int{0, 1}) {
		t.Fatalf("started %v, want [0 1] before any login is over", started)
	}
	l.launched()
	l.launched()
	if !slices.Equal(started, []int{0, 1, 2, 3}) {
		t.Fatalf("started %v after two logins, want [0 1 2 3]", started)
	}
	l.launched()
	l.launched()
	l.launched() // the queue is empty: only the count goes down
	if !slices.Equal(started, []int{0, 1, 2, 3, 4}) || l.active != 0 || len(l.queue) != 0 {
		t.Fatalf("started %v, %d active, %d queued; want all, 0, 0", started, l.active, len(l.queue))
	}
	l.launch(func() { started = append(started, 5) })
	if len(started) != 6 {
		t.Fatal("a launch with room waited")
	}
}
