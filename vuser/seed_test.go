package vuser

import (
	"net/url"
	"testing"
	"time"

	"github.com/sessionload/load/stats"
)

// The same seed gives every VU the same think times; another seed does not.
func TestSeedRepeatsThinkTimes(t *testing.T) {
	t.Parallel()
	draws := func(seed uint64, vu int) []int64 {
		u, _ := url.Parse("http://127.0.0.1:1")
		e, err := NewEnv(&Script{Target: u, Seed: seed, Think: Think{Mean: time.Second}}, Transport{}, stats.NewRecorder(stats.Options{}), stats.NewSessions())
		if err != nil {
			t.Fatal(err)
		}
		v := e.NewVU(vu, Identity{}, Signals{})
		out := make([]int64, 5)
		for i := range out {
			out[i] = int64(v.rng.ExpFloat64() * 1e6)
		}
		return out
	}
	a, b, c, d := draws(42, 1), draws(42, 1), draws(43, 1), draws(42, 2)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 42 twice: %v vs %v", a, b)
		}
	}
	if a[0] == c[0] && a[1] == c[1] {
		t.Errorf("seeds 42 and 43 drew the same: %v", a)
	}
	if a[0] == d[0] && a[1] == d[1] {
		t.Errorf("VUs 1 and 2 drew the same: %v", a)
	}
}
