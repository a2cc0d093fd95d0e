package stats

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"
)

func TestSessionsCounts(t *testing.T) {
	t.Parallel()
	s := NewSessions()
	var wg sync.WaitGroup
	for vu := range 50 {
		wg.Go(func() {
			// Each VU logs in, the id rotates; every fifth VU's session
			// expires and it logs in again to a new session.
			s.Established(HashID(fmt.Sprintf("vu-%d", vu)), true)
			if vu%5 == 0 {
				s.Expired()
				s.Relogin()
				s.Established(HashID(fmt.Sprintf("vu-%d-again", vu)), true)
			}
			if vu%10 == 0 {
				s.LoginFailed()
				s.Rejected()
			}
			// A login that lands on an id already seen is not a new one.
			if vu%25 == 1 {
				s.Established(HashID(fmt.Sprintf("vu-%d", vu)), false)
			}
		})
	}
	wg.Wait()
	// Held: 62 established, 10 expired.
	want := SessionCounts{Established: 62, Unique: 60, RotatedOnLogin: 60, LoginFailures: 5, Rejected: 5, Relogins: 10, Expired: 10, Held: 52}
	if got := s.Counts(); got != want {
		t.Errorf("Counts() = %+v, want %+v", got, want)
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"established":62,"login_failures":5,"rejected":5,"relogins":10,"expired":10,"held":52,"rotated_by_server":0,"unique":60,"rotated_on_login":60}`
	if string(b) != wantJSON {
		t.Errorf("json %s, want %s", b, wantJSON)
	}
}

func TestHashes(t *testing.T) {
	t.Parallel()
	hex8 := regexp.MustCompile(`^[0-9a-f]{8}$`)
	tests := []struct {
		in   string
		want string // first 8 hex digits of SHA-256, from sha256sum
	}{
		{"", "e3b0c442"},       // the empty string
		{"secret", "2bb80d53"}, // the demo target's password
		{"ABCDEF0123456789ABCDEF0123456789", ""},
	}
	ids := map[uint64]string{}
	for _, tt := range tests {
		got := HashSecret(tt.in)
		if !hex8.MatchString(got) || (tt.want != "" && got != tt.want) {
			t.Errorf("HashSecret(%q) = %q, want %q", tt.in, got, tt.want)
		}
		id := HashID(tt.in)
		if id != HashID(tt.in) {
			t.Errorf("HashID(%q) not stable", tt.in)
		}
		if prev, dup := ids[id]; dup {
			t.Errorf("HashID(%q) == HashID(%q)", tt.in, prev)
		}
		ids[id] = tt.in
	}
	// Session ids that differ in one character get different ids.
	for i := range 10_000 {
		id := HashID(fmt.Sprintf("5F4DCC3B5AA765D61D8327DEB882CF%04d", i))
		if prev, dup := ids[id]; dup {
			t.Fatalf("collision with %q", prev)
		}
		ids[id] = "x"
	}
}

// A login that showed no session token at all (id 0) is counted as
// established but not in unique nor rotated_on_login; when no login showed
// one, both are unknown: null in results.json, with a note saying why.
func TestSessionsUnseen(t *testing.T) {
	t.Parallel()
	s := NewSessions()
	s.Established(0, false)
	s.Established(0, false)
	s.RotatedByServer()
	c := s.Counts()
	if c.Established != 2 || c.Unseen != 2 || c.RotatedByServer != 1 || c.Known() {
		t.Fatalf("Counts() = %+v, want 2 established, 2 unseen, 1 rotated by server, unknown", c)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{`"unique":null`, `"rotated_on_login":null`, `"rotated_by_server":1`, `"unseen":2`, `"note":"no session token`} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(got) {
			t.Errorf("json %s lacks %s", got, want)
		}
	}
	var back SessionCounts
	if err := json.Unmarshal(b, &back); err != nil || back.Known() || back.Established != 2 {
		t.Errorf("read back %+v (%v): want unknown again", back, err)
	}
	// One login that showed a token makes the figures known.
	s.Established(HashID("a"), true)
	c = s.Counts()
	b, _ = json.Marshal(c)
	if !c.Known() || c.Unique != 1 || c.RotatedOnLogin != 1 || regexp.MustCompile(`null`).Match(b) {
		t.Errorf("Counts() = %+v, json %s: want known, unique 1", c, b)
	}
}

// TestMergeSessions: load merge sums every session count of its segments,
// held and rotated_by_server included, and keeps the most frequent login
// failure across them.
func TestMergeSessions(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)
	seg := func(s string, c SessionCounts) *Results {
		return &Results{Schema: SchemaV1, Segment: s, Started: t0, Ended: t0.Add(10 * time.Second),
			Totals: EndpointResult{Name: TotalName, Requests: 10}, PlanHash: "p", RunID: "r", Sessions: c}
	}
	a := SessionCounts{Established: 10, Unique: 10, RotatedOnLogin: 9, LoginFailures: 5, Rejected: 1, Relogins: 2,
		Expired: 3, Held: 7, RotatedByServer: 11, Unseen: 1, TopLoginFailure: "status 401", TopLoginFailures: 3}
	b := SessionCounts{Established: 20, Unique: 19, RotatedOnLogin: 18, LoginFailures: 4, Rejected: 2, Relogins: 4,
		Expired: 6, Held: 14, RotatedByServer: 22, Unseen: 2, TopLoginFailure: "redirected to /login?error", TopLoginFailures: 4}
	c := SessionCounts{LoginFailures: 2, TopLoginFailure: "status 401", TopLoginFailures: 2}
	m, err := Merge([]*Results{seg("0/3", a), seg("1/3", b), seg("2/3", c)}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := SessionCounts{Established: 30, Unique: 29, RotatedOnLogin: 27, LoginFailures: 11, Rejected: 3, Relogins: 6,
		Expired: 9, Held: 21, RotatedByServer: 33, Unseen: 3, TopLoginFailure: "status 401", TopLoginFailures: 5}
	if m.Sessions != want {
		t.Errorf("merged sessions\n got %+v\nwant %+v", m.Sessions, want)
	}
}
