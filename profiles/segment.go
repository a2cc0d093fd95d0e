package profiles

import (
	"fmt"
	"strconv"
	"strings"
)

// Segment is this process's share of a test split across Count processes
// (Kubernetes Indexed Job pods, say), with no coordinator: each process
// computes its own share from (Index, Count) alone.
//
// Everything is striped by global index, so the shares are disjoint and
// their union is exactly the whole:
//
//	global VU ids     1  2  3  4  5  6  7 ...    segment 0/3 runs 1, 4, 7, ...
//	segment (of 3)    0  1  2  0  1  2  0        segment 1/3 runs 2, 5, ...
//	iterations (i)    0  1  2  3  4  5  6        iteration i goes to segment i mod 3
//
// Row k of a users CSV belongs to global VU k, so to exactly one segment.
// The zero Segment is the whole test.
type Segment struct {
	Index, Count int
}

// Whole reports whether s is the whole test.
func (s Segment) Whole() bool { return s.Count <= 1 }

// String is "i/n", or "" for the whole test.
func (s Segment) String() string {
	if s.Whole() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// ParseSegment parses "i/n" with 0 <= i < n.
func ParseSegment(v string) (Segment, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(v), "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Segment{}, fmt.Errorf("segment %q: expected i/n with 0 <= i < n, e.g. 0/4", v)
	}
	return Segment{Index: i, Count: n}, nil
}

// Share is how many of the first total global items (VUs 1..total, or
// iterations 0..total-1) fall in the segment: the fair integer split,
// which sums exactly to total over all segments.
func (s Segment) Share(total int64) int64 {
	if s.Whole() {
		return total
	}
	k, i := int64(s.Count), int64(s.Index)
	if total <= i {
		return 0
	}
	return (total - i + k - 1) / k
}

// GlobalVU is the global id (from 1) of the segment's local VU j (from 1).
func (s Segment) GlobalVU(j int) int {
	if s.Whole() {
		return j
	}
	return (j-1)*s.Count + s.Index + 1
}

// GlobalIteration is the global index of the segment's local iteration j
// (both from 0).
func (s Segment) GlobalIteration(j int64) int64 {
	if s.Whole() {
		return j
	}
	return j*int64(s.Count) + int64(s.Index)
}
