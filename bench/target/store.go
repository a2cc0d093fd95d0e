package target

import (
	"crypto/rand"
	"sync"
	"sync/atomic"
)

// sid is a session (or bearer token) id: 16 random bytes. Ids are kept as
// arrays rather than strings so map keys are compact and look-ups from a
// cookie allocate nothing.
type sid [16]byte

const (
	numShards = 64 // a power of two: the shard is the id's first byte masked
	cartKeep  = 32 // cart entries kept per session; older ids answer 404
)

// session is one server-side session, or the state behind one bearer token.
// It is kept small (48 bytes) so 100,000 of them cost a few MB.
type session struct {
	last atomic.Int64 // Target.now() at the last access
	user atomic.Int32 // n of "user<n>"; 0 while not authenticated
	// csrf is the secret behind the masked CSRF tokens. It is written once
	// before the session is published in a shard and only read afterwards.
	csrf [16]byte
	// maxed: the last login of this session was refused by
	// MaxSessionsPerUser (its login page says so, as Spring's does).
	maxed atomic.Bool
	mu    sync.Mutex // guards cart
	cart  *cart      // allocated on the first add, as most sessions never shop
}

// cart is a session's cart: a counter and a ring of the last cartKeep items.
type cart struct {
	n     int64
	items [cartKeep]int64
}

// shard is one of the store's maps with its own lock.
type shard struct {
	mu sync.Mutex
	m  map[sid]*session
	// Pad to a cache line: neighbouring shards are locked by different
	// cores, and sharing a line would make them contend anyway.
	_ [64 - 16]byte
}

// store holds live sessions (or tokens) in numShards shards and counts them.
//
// Concurrency invariants:
//   - A session is "live" while exactly one shard map holds it under exactly
//     one id. Only the goroutine that deletes it from a map (under that
//     shard's lock) may count its end (drop), so an end is counted once
//     whichever of lazy expiry, the sweeper, logout or ExpireAll gets there
//     first.
//   - Changing a session's id or user is done by the goroutine that detached
//     it (deleted it from its map under the lock): while detached no other
//     goroutine can end it, and re-attaching under a shard lock publishes
//     the new user to whoever ends it later. Hence authenticated always
//     equals the live sessions with user != 0.
//   - Requests that looked a session up before it was detached may still
//     read it (user and last are atomics, the cart has its own lock); they
//     only ever see a consistent, if slightly stale, state.
//   - active counts reserved slots: reserve increments it before the new
//     session is attached, so the cap holds without a global lock.
type store struct {
	shards  [numShards]shard
	timeout int64        // idle nanoseconds before a session expires; set in New
	max     atomic.Int64 // cap on active; 0 means unlimited

	active        atomic.Int64
	maxActive     atomic.Int64
	created       atomic.Int64
	rejected      atomic.Int64
	expired       atomic.Int64
	authenticated atomic.Int64
}

func (st *store) init(timeout int64) {
	st.timeout = timeout
	for i := range st.shards {
		st.shards[i].m = make(map[sid]*session)
	}
}

func (st *store) shard(k sid) *shard { return &st.shards[k[0]&(numShards-1)] }

// get returns the live session k and refreshes its last access, or nil. A
// session found idle past the timeout is expired here (lazily).
func (st *store) get(k sid, now int64) *session {
	sh := st.shard(k)
	sh.mu.Lock()
	s := sh.m[k]
	if s != nil {
		if now-s.last.Load() > st.timeout {
			delete(sh.m, k)
			sh.mu.Unlock()
			st.drop(s, true)
			return nil
		}
		s.last.Store(now)
	}
	sh.mu.Unlock()
	return s
}

// reserve takes a slot for a new session, or reports false (and counts a
// rejection) when max sessions are active.
func (st *store) reserve() bool {
	for {
		n := st.active.Load()
		if m := st.max.Load(); m > 0 && n >= m {
			st.rejected.Add(1)
			return false
		}
		if st.active.CompareAndSwap(n, n+1) {
			st.raiseMax(n + 1)
			return true
		}
	}
}

func (st *store) raiseMax(n int64) {
	for {
		m := st.maxActive.Load()
		if n <= m || st.maxActive.CompareAndSwap(m, n) {
			return
		}
	}
}

// attach publishes s under a fresh random id and returns the id. The caller
// holds a slot (reserve) or is re-attaching a session it detached.
func (st *store) attach(s *session) sid {
	for {
		var k sid
		rand.Read(k[:]) // never fails (crypto/rand since Go 1.24)
		sh := st.shard(k)
		sh.mu.Lock()
		if _, dup := sh.m[k]; !dup { // 2^-128, but a duplicate would merge two users
			sh.m[k] = s
			sh.mu.Unlock()
			return k
		}
		sh.mu.Unlock()
	}
}

// alive reports whether s is still live under id k at now, without
// refreshing its last access.
func (st *store) alive(k sid, s *session, now int64) bool {
	sh := st.shard(k)
	sh.mu.Lock()
	ok := sh.m[k] == s
	sh.mu.Unlock()
	return ok && now-s.last.Load() <= st.timeout
}

// detach removes s from id k without ending it, so the caller may change it
// and attach it again. It reports false if k no longer names s (a
// concurrent logout, expiry or login got there first).
func (st *store) detach(k sid, s *session) bool {
	sh := st.shard(k)
	sh.mu.Lock()
	ok := sh.m[k] == s
	if ok {
		delete(sh.m, k)
	}
	sh.mu.Unlock()
	return ok
}

// remove ends s (named k) without counting an expiry, as a logout does.
func (st *store) remove(k sid, s *session) bool {
	if !st.detach(k, s) {
		return false
	}
	st.drop(s, false)
	return true
}

// drop counts the end of a session its caller has just deleted from a map.
func (st *store) drop(s *session, expired bool) {
	st.active.Add(-1)
	if s.user.Load() != 0 {
		st.authenticated.Add(-1)
	}
	if expired {
		st.expired.Add(1)
	}
}

// sweep expires every session idle past the timeout (all of them if all)
// and returns how many it expired. Each shard is locked in turn, so requests
// on other shards are never held up by a sweep.
func (st *store) sweep(now int64, all bool) int {
	var dead []*session
	n := 0
	for i := range st.shards {
		sh := &st.shards[i]
		sh.mu.Lock()
		for k, s := range sh.m {
			if all || now-s.last.Load() > st.timeout {
				delete(sh.m, k) // deleting while ranging is allowed
				dead = append(dead, s)
			}
		}
		sh.mu.Unlock()
		for _, s := range dead {
			st.drop(s, true)
		}
		n += len(dead)
		clear(dead)
		dead = dead[:0]
	}
	return n
}
