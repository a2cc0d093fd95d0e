package profiles

import (
	"testing"
	"time"
)

func TestSegmentShare(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		n     int
		total int64
		want  []int64
	}{
		{"even", 4, 1000, []int64{250, 250, 250, 250}},           // splits evenly
		{"uneven", 3, 10, []int64{4, 3, 3}},                      // the first segments take the remainder
		{"more segments than VUs", 5, 3, []int64{1, 1, 1, 0, 0}}, // some run nothing
		{"nothing", 3, 0, []int64{0, 0, 0}},                      // zero VUs
		{"one", 1, 7, []int64{7}},                                // a single segment is the whole
	} {
		var sum int64
		for i, w := range tc.want {
			got := Segment{i, tc.n}.Share(tc.total)
			if got != w {
				t.Errorf("%s: segment %d/%d of %d = %d, want %d", tc.name, i, tc.n, tc.total, got, w)
			}
			sum += got
		}
		if sum != tc.total {
			t.Errorf("%s: shares sum to %d, want %d", tc.name, sum, tc.total)
		}
	}
}

// Every global VU id and iteration index belongs to exactly one segment,
// and a segment's local items map onto its share of the globals.
func TestSegmentStriping(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 3, 4, 7} {
		const vus, iters = 23, 100
		seenVU := map[int]int{}
		seenIt := map[int64]int{}
		for i := range n {
			s := Segment{i, n}
			if n == 1 {
				s = Segment{}
			}
			for j := 1; j <= int(s.Share(vus)); j++ {
				seenVU[s.GlobalVU(j)]++
			}
			for j := range s.Share(iters) {
				seenIt[s.GlobalIteration(j)]++
			}
		}
		for g := 1; g <= vus; g++ {
			if seenVU[g] != 1 {
				t.Errorf("%d segments: VU %d run %d times", n, g, seenVU[g])
			}
		}
		if len(seenVU) != vus {
			t.Errorf("%d segments: %d VU ids, want %d (no id beyond the whole)", n, len(seenVU), vus)
		}
		for g := range int64(iters) {
			if seenIt[g] != 1 {
				t.Errorf("%d segments: iteration %d run %d times", n, g, seenIt[g])
			}
		}
	}
}

// Three segments of a ramping arrival rate (the awkward rounding case)
// run exactly the whole schedule between them, at the whole's times.
func TestSegmentRampingRate(t *testing.T) {
	t.Parallel()
	s := Schedule{Start: 7, Stages: []RateStage{{3 * time.Second, 101}, {2 * time.Second, 13}}}
	whole := s.Count()
	var sum int64
	for i := range 3 {
		seg := Segment{i, 3}
		n := seg.Share(whole)
		sum += n
		for j := range n {
			if _, ok := s.At(seg.GlobalIteration(j)); !ok {
				t.Fatalf("segment %d: local iteration %d is past the schedule", i, j)
			}
		}
		if _, ok := s.At(seg.GlobalIteration(n)); ok {
			t.Errorf("segment %d: one more iteration than its share is still in the schedule", i)
		}
	}
	if sum != whole {
		t.Errorf("segments run %d iterations, the whole has %d", sum, whole)
	}
}

func TestParseSegment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Segment
		ok   bool
	}{
		{"0/4", Segment{0, 4}, true}, // first of four
		{"3/4", Segment{3, 4}, true}, // last of four
		{"4/4", Segment{}, false},    // index out of range
		{"-1/4", Segment{}, false},   // negative
		{"1/0", Segment{}, false},    // no segments
		{"1", Segment{}, false},      // no count
		{"a/b", Segment{}, false},    // not numbers
	} {
		got, err := ParseSegment(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSegment(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
