package profiles

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/vuser"
)

// checkQuota checks every prefix of the first n items of m against the
// exact shares: |N·w - W·count| < W, that is count within < 1 of N·w/W;
// and that Local and Count agree with the counts seen.
func checkQuota(t *testing.T, m *Mix, n int64) bool {
	t.Helper()
	W := m.Period()
	count := make([]int64, m.Len())
	for N := int64(0); N <= n; N++ {
		for s := range count {
			if d := N*m.Weight(s) - W*count[s]; d >= W || d <= -W {
				t.Errorf("weights %v: prefix %d gives scenario %d %d items, want within 1 of %d×%d/%d", m.weights, N, s, count[s], N, m.Weight(s), W)
				return false
			}
		}
		if N == n {
			break
		}
		s := m.At(N)
		if got := m.Local(N); got != count[s] {
			t.Errorf("weights %v: Local(%d) = %d, want %d (earlier items of scenario %d)", m.weights, N, got, count[s], s)
			return false
		}
		count[s]++
	}
	for s := range count {
		if got := m.Count(s, n); got != count[s] {
			t.Errorf("weights %v: Count(%d, %d) = %d, want %d", m.weights, s, n, got, count[s])
			return false
		}
	}
	return true
}

func ints(ws []int64) []float64 {
	f := make([]float64, len(ws))
	for i, w := range ws {
		f[i] = float64(w)
	}
	return f
}

// Every weight set of 1 to 4 scenarios with weights 1..9, and of 5 with
// weights 1..5, meets the quota on every prefix of three periods (the
// sequence repeats after one; Local and Count past the first period are
// checked too).
func TestMixQuotaExhaustive(t *testing.T) {
	sets := 0
	var gen func(ws []int64, n, top int)
	gen = func(ws []int64, n, top int) {
		if n == 0 {
			m, err := NewMix(ints(ws))
			if err != nil {
				t.Fatalf("%v: %v", ws, err)
			}
			sets++
			if !checkQuota(t, m, 3*m.Period()) {
				t.FailNow()
			}
			return
		}
		for w := int64(1); w <= int64(top); w++ {
			gen(append(ws, w), n-1, top)
		}
	}
	for n := 1; n <= 4; n++ {
		gen(nil, n, 9)
	}
	gen(nil, 5, 5)
	if sets != 9+81+729+6561+3125 {
		t.Errorf("checked %d weight sets", sets)
	}
}

// Random larger weight sets (seeded): up to 12 scenarios, weights up to
// 500, two periods each.
func TestMixQuotaRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 19))
	for range 2000 {
		ws := make([]int64, 1+rng.IntN(12))
		for i := range ws {
			ws[i] = 1 + rng.Int64N(500)
			if rng.IntN(4) == 0 {
				ws[i] = 1 + rng.Int64N(3) // small beside large: the hard cases
			}
		}
		m, err := NewMix(ints(ws))
		if err != nil {
			t.Fatalf("%v: %v", ws, err)
		}
		if !checkQuota(t, m, 2*m.Period()) {
			t.FailNow()
		}
	}
}

// swrrFails reports whether smooth weighted round robin (nginx) breaks
// the quota on some prefix of one period of ws.
func swrrFails(ws []int64) bool {
	var W int64
	for _, w := range ws {
		W += w
	}
	cur := make([]int64, len(ws))
	count := make([]int64, len(ws))
	for N := int64(1); N <= W; N++ {
		best := 0
		for i := range ws {
			cur[i] += ws[i]
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= W
		count[best]++
		for i := range ws {
			if d := N*ws[i] - W*count[i]; d >= W || d <= -W {
				return true
			}
		}
	}
	return false
}

// The rule Mix does not use: smooth weighted round robin misses the
// quota on weights where the quota method holds.
func TestMixSWRRIsNotEnough(t *testing.T) {
	for _, ws := range [][]int64{{1, 1, 1, 6, 6}, {1, 1, 1, 9, 9}, {1, 1, 1, 11, 11}} {
		if !swrrFails(ws) {
			t.Errorf("%v: smooth weighted round robin holds the quota; the comment in mix.go is wrong", ws)
		}
		m, err := NewMix(ints(ws))
		if err != nil {
			t.Fatal(err)
		}
		checkQuota(t, m, 2*m.Period())
	}
}

// The split of 7/2/1, item by item, and its counts at 100: 70, 20, 10.
func TestMixSevenTwoOne(t *testing.T) {
	for _, ws := range [][]float64{{7, 2, 1}, {0.7, 0.2, 0.1}, {70, 20, 10}, {3.5, 1, 0.5}} {
		m, err := NewMix(ws)
		if err != nil {
			t.Fatal(err)
		}
		if m.Period() != 10 || m.Weight(0) != 7 || m.Weight(1) != 2 || m.Weight(2) != 1 {
			t.Errorf("%v: period %d, weights %v; want 10 and 7/2/1", ws, m.Period(), m.weights)
		}
		var seq strings.Builder
		for n := range int64(10) {
			seq.WriteByte("ABC"[m.At(n)])
		}
		// Any quota sequence would do; this pins the one built today,
		// which interleaves (ties go to the scenario furthest behind).
		if got := seq.String(); got != "AABAAACABA" {
			t.Errorf("%v: one period is %s", ws, got)
		}
		for s, want := range []int64{70, 20, 10} {
			if got := m.Count(s, 100); got != want {
				t.Errorf("%v: Count(%d, 100) = %d, want %d", ws, s, got, want)
			}
		}
		checkQuota(t, m, 1000)
	}
}

// Items of one stripe (a segment's VU ids or arrivals) still add up to
// the whole: the stripes' counts per scenario sum to Count.
func TestMixStripes(t *testing.T) {
	m, err := NewMix([]float64{7, 2, 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int64{2, 3, 7} {
		got := make([]int64, 3)
		for r := range k {
			for n := r; n < 100; n += k {
				got[m.At(n)]++
			}
		}
		for s, want := range []int64{70, 20, 10} {
			if got[s] != want {
				t.Errorf("%d stripes: scenario %d has %d of 100, want %d", k, s, got[s], want)
			}
		}
	}
}

func TestMixBadWeights(t *testing.T) {
	for _, tc := range []struct {
		ws   []float64
		want string
	}{
		{nil, "mix: no weights"},
		{[]float64{1, 0}, "weight 0 (scenario 2): expected a positive number"},
		{[]float64{-1}, "weight -1 (scenario 1): expected a positive number"},
		{[]float64{1, 1e-7}, "weight 1e-07 (scenario 2): expected at least 0.000001"},
		{[]float64{1, 1e13}, "weight 1e+13 (scenario 2): expected at most 1e12"},
		{[]float64{0.123457, 0.987654}, "weights 0.123457/0.987654: their exact split repeats only every 1111111 items (more than 1048576)"},
	} {
		_, err := NewMix(tc.ws)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewMix(%v) = %v, want %q", tc.ws, err, tc.want)
		}
	}
	// A period up to the bound is fine; thirds are taken to 6 decimals.
	if m, err := NewMix([]float64{1.0 / 3, 2.0 / 3}); err != nil || m.Period() != 1_000_000 {
		t.Errorf("1/3, 2/3: %v", err)
	}
}

// A plan's VUs are its shared load's plus the scenarios' own; VU ids of
// each shape follow the spans of the shapes before it.
func TestPlanMaxVUsAndOffsets(t *testing.T) {
	closed := func(n int) *Load { return &Load{VUs: n, Duration: time.Second} }
	s := func() *vuser.Script { return &vuser.Script{} }
	p := &Plan{Load: *closed(10), Scenarios: []*Scenario{
		{Name: "a", Weight: 1, Script: s()},
		{Name: "own", Load: &Load{Open: &Open{Rate: Schedule{Start: 5, Duration: time.Second}, Sessions: true, MaxVUs: 2}}, Script: s()},
		{Name: "b", Weight: 1, Script: s()},
		{Name: "own2", Load: closed(7), Script: s()},
	}}
	if got := p.MaxVUs(); got != 10+2+7 {
		t.Errorf("MaxVUs = %d, want 19", got)
	}
	lay, err := newLayout(p, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Shape 0: the plan's load (ids 1..10); shape 1: own's 5 arrivals
	// (each a user: ids 11..15); shape 2: own2's 7 VUs (16..22).
	var got [][2]int
	for _, sh := range lay.shapes {
		got = append(got, [2]int{sh.offset, sh.span})
	}
	if want := [][2]int{{0, 10}, {10, 5}, {15, 7}}; !reflect.DeepEqual(got, want) {
		t.Errorf("shapes (offset, span) = %v, want %v", got, want)
	}
	if p.Scenarios[0].Script.Seed != 0 || p.Load.GracefulStop != 0 {
		t.Error("newLayout wrote the plan")
	}
}
