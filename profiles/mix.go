package profiles

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Mix is the exact split of a sequence of items (VUs by id, arrivals by
// index) among weighted scenarios: item n goes to scenario At(n), and
// every prefix of N items gives scenario s a count within less than 1 of
// N×w[s]/W, that is floor(N×w/W) or ceil(N×w/W), never more nor fewer.
// It is pure: the same weights give the same sequence in every process,
// so the segments of a split test each compute their stripe of it alone.
//
// The sequence is built by the quota method (Balinski and Young): item n
// goes, among the scenarios whose count may grow without passing the
// ceiling of their quota at n+1, to the one whose next item falls due
// soonest (the first prefix whose floor of the quota it would miss),
// ties to the one furthest behind its quota, then to the earlier one. Each scenario's next item is thus a unit
// job with a release time and a deadline, earliest deadline first meets
// every deadline when any order does, and a quota sequence always exists
// (Tijdeman: the best one stays within 1 - 1/(2S-2) for S scenarios).
// Smooth weighted round robin, the nginx rule, is not enough: with
// weights 1/1/1/6/6 its prefix of 10 items gives the last scenario 3, not
// the 4 its quota of 4 needs (mix_test.go checks both).
//
// After W items (W the sum of the weights reduced to integers) every
// count equals its weight exactly and the sequence repeats, so Mix keeps
// one period as a table.
type Mix struct {
	weights []int64 // reduced to coprime integers
	period  int64   // their sum
	which   []int32 // which[n] is At(n) for n < period
	local   []int32 // local[n] is Local(n) for n < period
}

// maxMixPeriod bounds the table: weights whose reduced integers sum to
// more repeat too rarely to be worth an exact split.
const maxMixPeriod = 1 << 20

// mixDecimals is the precision weights are taken to: 0.7, 0.2 and 0.1
// are 7, 2 and 1; beyond six decimals they are rounded.
const mixDecimals = 6

// NewMix returns the mix of the given weights, in scenario order. Each
// weight must be a positive finite number; weights are taken to six
// decimals (0.7/0.2/0.1 is 7/2/1) and their reduced integer sum, the
// period of the split, must not pass 1,048,576.
func NewMix(weights []float64) (*Mix, error) {
	if len(weights) == 0 {
		return nil, fmt.Errorf("mix: no weights")
	}
	if len(weights) > math.MaxInt32 {
		return nil, fmt.Errorf("mix: %d weights, too many", len(weights))
	}
	ws, err := intWeights(weights)
	if err != nil {
		return nil, err
	}
	m := &Mix{weights: ws}
	for _, w := range ws {
		m.period += w
	}
	if m.period > maxMixPeriod {
		return nil, fmt.Errorf("weights %s: their exact split repeats only every %d items (more than %d); expected weights in a simpler ratio, such as whole numbers",
			formatWeights(weights), m.period, maxMixPeriod)
	}
	m.build()
	return m, nil
}

// intWeights takes the weights to integers at the fewest decimals that
// hold them (at most mixDecimals) and divides out their common divisor.
func intWeights(weights []float64) ([]int64, error) {
	for i, w := range weights {
		if math.IsNaN(w) || math.IsInf(w, 0) || w <= 0 {
			return nil, fmt.Errorf("weight %v (scenario %d): expected a positive number", w, i+1)
		}
		if w > 1e12 {
			return nil, fmt.Errorf("weight %v (scenario %d): expected at most 1e12", w, i+1)
		}
	}
	ws := make([]int64, len(weights))
	scale := 1.0
	for d := 0; d <= mixDecimals; d++ {
		exact := true
		for _, w := range weights {
			x := w * scale
			if math.Abs(x-math.Round(x)) > 1e-6 {
				exact = false
				break
			}
		}
		if exact || d == mixDecimals {
			break
		}
		scale *= 10
	}
	var g int64
	for i, w := range weights {
		ws[i] = int64(math.Round(w * scale))
		if ws[i] <= 0 {
			return nil, fmt.Errorf("weight %v (scenario %d): expected at least 0.000001", w, i+1)
		}
		g = gcd(g, ws[i])
	}
	for i := range ws {
		ws[i] /= g
	}
	return ws, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func formatWeights(ws []float64) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = strconv.FormatFloat(w, 'g', -1, 64)
	}
	return strings.Join(s, "/")
}

// build fills one period by the quota method (see Mix).
func (m *Mix) build() {
	p, ws := m.period, m.weights
	m.which = make([]int32, p)
	m.local = make([]int32, p)
	count := make([]int64, len(ws))
	for n := int64(0); n < p; n++ {
		best, due, behind := -1, int64(0), int64(0)
		for i, w := range ws {
			// Eligible: one more keeps the count <= ceil((n+1)·w/p).
			b := (n+1)*w - count[i]*p // how far behind its quota at n+1, times p
			if b <= 0 {
				continue
			}
			// Due: the shortest prefix N with floor(N·w/p) >= count+1.
			d := ((count[i]+1)*p + w - 1) / w
			if best < 0 || d < due || d == due && b > behind {
				best, due, behind = i, d, b
			}
		}
		// Some scenario is always eligible: the ceilings at n+1 sum to
		// at least n+1, the counts to n.
		m.which[n] = int32(best)
		m.local[n] = int32(count[best])
		count[best]++
	}
}

// Len is the number of scenarios.
func (m *Mix) Len() int { return len(m.weights) }

// Period is after how many items the split repeats: the sum of the
// weights reduced to coprime integers (10 for 7/2/1 and for 0.7/0.2/0.1).
func (m *Mix) Period() int64 { return m.period }

// Weight is scenario s's weight as a reduced integer.
func (m *Mix) Weight(s int) int64 { return m.weights[s] }

// At is the scenario (an index into the weights) of item n (from 0).
func (m *Mix) At(n int64) int {
	if n < 0 {
		return 0
	}
	return int(m.which[n%m.period])
}

// Local is item n's index within its scenario: how many items before n
// went to the same scenario. A scenario's users thus give its k-th item
// their row k.
func (m *Mix) Local(n int64) int64 {
	if n < 0 {
		return 0
	}
	s := m.which[n%m.period]
	return n/m.period*m.weights[s] + int64(m.local[n%m.period])
}

// Count is how many of the first n items (0..n-1) go to scenario s.
func (m *Mix) Count(s int, n int64) int64 {
	if n <= 0 {
		return 0
	}
	c := n / m.period * m.weights[s]
	for _, w := range m.which[:n%m.period] {
		if int(w) == s {
			c++
		}
	}
	return c
}
