package stats

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"sync"
	"sync/atomic"
)

// Sessions counts a run's sessions: established, unique, rotated on login,
// login failures, rejections, relogins and expiries. It is safe for
// concurrent use; every method is called once per login or loss, not per
// request.
//
// Concurrency: the counters are atomics; mu guards seen, the set of session
// ids, and is held only to insert one id.
type Sessions struct {
	established atomic.Int64
	rotated     atomic.Int64
	loginFailed atomic.Int64
	rejected    atomic.Int64
	relogins    atomic.Int64
	expired     atomic.Int64
	held        atomic.Int64 // sessions VUs hold now
	byServer    atomic.Int64 // ids the server changed on a normal response
	unseen      atomic.Int64 // logins that showed no session token

	mu      sync.Mutex
	seen    map[uint64]struct{}
	reasons map[string]int64 // login failures by reason, at most maxReasons+1 keys
}

// NewSessions returns an empty tracker.
func NewSessions() *Sessions {
	return &Sessions{seen: make(map[uint64]struct{})}
}

// Established counts a login that gave a session. id identifies the session
// (HashID of the cookie value); unique sessions are the distinct ids seen.
// rotated says the session cookie changed on login, as Spring and Tomcat do.
// id 0 is a login that showed no session token at all (no cookie, no
// URL-rewritten id, no bearer token): it is established, but not counted
// in unique nor rotated, which cannot be known for it.
func (s *Sessions) Established(id uint64, rotated bool) {
	s.established.Add(1)
	s.held.Add(1)
	if id == 0 {
		s.unseen.Add(1)
		return
	}
	if rotated {
		s.rotated.Add(1)
	}
	s.mu.Lock()
	s.seen[id] = struct{}{}
	s.mu.Unlock()
}

// LoginFailed counts a login that gave no session.
func (s *Sessions) LoginFailed() { s.loginFailed.Add(1) }

// LoginFailedBecause counts a login that gave no session, for reason (see
// LoginFailureReason), so that the summary names the most frequent one.
func (s *Sessions) LoginFailedBecause(reason string) {
	s.loginFailed.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reasons == nil {
		s.reasons = map[string]int64{}
	}
	if _, known := s.reasons[reason]; !known && len(s.reasons) >= maxReasons {
		reason = otherReasons
	}
	s.reasons[reason]++
}

// Rejected counts a server's refusal to create a session (e.g. a maximum
// number of sessions reached).
func (s *Sessions) Rejected() { s.rejected.Add(1) }

// Relogin counts a VU logging in again after losing its session.
func (s *Sessions) Relogin() { s.relogins.Add(1) }

// Expired counts a VU finding its session gone (it holds it no more).
func (s *Sessions) Expired() {
	s.expired.Add(1)
	s.held.Add(-1)
}

// RotatedByServer counts the server giving a VU's session a new id on a
// normal response (not a login): the session goes on under the new id.
func (s *Sessions) RotatedByServer() { s.byServer.Add(1) }

// Ended counts a VU ending its session (logout, or walking away from it):
// it holds it no more.
func (s *Sessions) Ended() { s.held.Add(-1) }

// SessionCounts is the sessions part of results.json.
type SessionCounts struct {
	Established    int64 `json:"established"`
	Unique         int64 `json:"unique"`
	RotatedOnLogin int64 `json:"rotated_on_login"`
	LoginFailures  int64 `json:"login_failures"`
	Rejected       int64 `json:"rejected"`
	Relogins       int64 `json:"relogins"`
	Expired        int64 `json:"expired"`
	// Held is how many sessions the VUs held (at the end, in results:
	// those abandoned to expire on the server).
	Held int64 `json:"held"`
	// TopLoginFailure is the most frequent reason of the failed logins
	// (see LoginFailureReason) and TopLoginFailures how many failed for
	// it; ties go to the reason first in sort order.
	TopLoginFailure  string `json:"top_login_failure,omitempty"`
	TopLoginFailures int64  `json:"top_login_failures,omitempty"`
	// RotatedByServer counts session ids the server changed on a normal
	// response (a re-sent identical id is not counted).
	RotatedByServer int64 `json:"rotated_by_server"`
	// Unseen counts established sessions that showed no session token
	// (cookie, URL-rewritten id or bearer token): they are not in Unique
	// nor RotatedOnLogin. When every one is unseen, both are unknown.
	Unseen int64 `json:"unseen,omitempty"`
}

// Known reports whether Unique and RotatedOnLogin mean anything: false
// when sessions were established but none showed a session token.
func (c SessionCounts) Known() bool { return c.Established == 0 || c.Unseen < c.Established }

// Add adds o's counts to c, as load merge does with segments' sessions:
// every count is summed (segments' users and VUs are disjoint, so unique
// sessions and sessions held add up too). The top login failure is not a
// count: see topLoginFailure.
func (c *SessionCounts) Add(o SessionCounts) {
	c.Established += o.Established
	c.Unique += o.Unique
	c.RotatedOnLogin += o.RotatedOnLogin
	c.LoginFailures += o.LoginFailures
	c.Rejected += o.Rejected
	c.Relogins += o.Relogins
	c.Expired += o.Expired
	c.Held += o.Held
	c.RotatedByServer += o.RotatedByServer
	c.Unseen += o.Unseen
}

// topLoginFailure sets c's top login failure from several results': the
// reason with the most failures summed across them (ties to the first in
// sort order). A reason that was not on top anywhere is not known, so the
// count is a lower bound of that reason's failures.
func (c *SessionCounts) topLoginFailure(rs []*Results) {
	byReason := map[string]int64{}
	for _, r := range rs {
		if r.Sessions.TopLoginFailure != "" {
			byReason[r.Sessions.TopLoginFailure] += r.Sessions.TopLoginFailures
		}
	}
	c.TopLoginFailure, c.TopLoginFailures = "", 0
	for reason, n := range byReason {
		if n > c.TopLoginFailures || (n == c.TopLoginFailures && reason < c.TopLoginFailure) {
			c.TopLoginFailure, c.TopLoginFailures = reason, n
		}
	}
}

// sessionCountsJSON is SessionCounts as results.json spells it: Unique
// and RotatedOnLogin null when unknown, with a note saying why. The
// other fields are SessionCounts' own (embedded: a field added there is
// written too).
type sessionCountsJSON struct {
	sessionCountsFields
	Unique         *int64 `json:"unique"`
	RotatedOnLogin *int64 `json:"rotated_on_login"`
	Note           string `json:"note,omitempty"`
}

// sessionCountsFields is SessionCounts without its JSON methods.
type sessionCountsFields SessionCounts

// MarshalJSON writes unique and rotated_on_login as null, with a note,
// when no session token could be seen (see Known).
func (c SessionCounts) MarshalJSON() ([]byte, error) {
	j := sessionCountsJSON{sessionCountsFields: sessionCountsFields(c)}
	if c.Known() {
		j.Unique, j.RotatedOnLogin = &c.Unique, &c.RotatedOnLogin
	} else {
		j.Note = "no session token (cookie, URL-rewritten id or bearer token) was seen: unique and rotated_on_login are unknown"
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes (null reads as 0).
func (c *SessionCounts) UnmarshalJSON(b []byte) error {
	var j sessionCountsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = SessionCounts(j.sessionCountsFields)
	if j.Unique != nil {
		c.Unique = *j.Unique
	}
	if j.RotatedOnLogin != nil {
		c.RotatedOnLogin = *j.RotatedOnLogin
	}
	return nil
}

// Counts returns the counts so far. While logins run concurrently, the
// fields are each current but not one consistent cut.
func (s *Sessions) Counts() SessionCounts {
	s.mu.Lock()
	unique := int64(len(s.seen))
	top, topN := "", int64(0)
	for r, n := range s.reasons {
		if r == otherReasons {
			continue // not a reason
		}
		if n > topN || n == topN && r < top {
			top, topN = r, n
		}
	}
	s.mu.Unlock()
	return SessionCounts{
		Established:      s.established.Load(),
		Unique:           unique,
		RotatedOnLogin:   s.rotated.Load(),
		LoginFailures:    s.loginFailed.Load(),
		Rejected:         s.rejected.Load(),
		Relogins:         s.relogins.Load(),
		Expired:          s.expired.Load(),
		Held:             s.held.Load(),
		RotatedByServer:  s.byServer.Load(),
		Unseen:           s.unseen.Load(),
		TopLoginFailure:  top,
		TopLoginFailures: topN,
	}
}

// HashSecret returns the first 8 hex digits of s's SHA-256: enough to tell
// secrets and session ids apart in logs without showing them.
func HashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// HashID returns a 64-bit id for s (the first 8 bytes of its SHA-256), for
// counting distinct session ids without keeping them. Collisions are
// negligible: about n²/2⁶⁵, 3e-8 for a million sessions.
func HashID(s string) uint64 {
	sum := sha256.Sum256([]byte(s))
	return binary.BigEndian.Uint64(sum[:8])
}
