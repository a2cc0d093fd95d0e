package profiles

import "sync"

// maxLaunching is how many VUs may be in their first login at once;
// the pool's admission gate lets at most 8,192 send at a time (fewer with
// max_conns_per_host), so more would only wait there.
const maxLaunching = 8192

// launcher starts VUs at most max at a time into their first login and
// keeps the others in a queue, in order, until one before them has
// logged in (or given up). A queued VU is a closure, not a goroutine:
// 100,000 VUs started at once would otherwise be 100,000 goroutines
// parked at the gate, each with a stack that a login grows to 8 KiB and
// that the runtime keeps (for reuse) after the VU thinks, until the next
// GC: ~800 MB at 100,000 VUs. Waiting here or at the gate is the same
// to the VU: it logs in when its turn comes, then sees Stop or Abort.
//
// launch runs on the run goroutine, launched on the VUs'; mu guards all.
type launcher struct {
	mu     sync.Mutex
	max    int
	active int      // launched and not yet logged in
	queue  []func() // waiting, oldest first
}

// launch calls start now if fewer than max VUs are logging in, else
// once the VUs before it have; the VU start runs calls launched once
// its first login is over.
func (l *launcher) launch(start func()) {
	l.mu.Lock()
	if l.active < l.max {
		l.active++
		l.mu.Unlock()
		start()
		return
	}
	l.queue = append(l.queue, start)
	l.mu.Unlock()
}

// launched lets the next VU in the queue start.
func (l *launcher) launched() {
	l.mu.Lock()
	if len(l.queue) == 0 {
		l.active--
		l.mu.Unlock()
		return
	}
	start := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	l.mu.Unlock()
	start()
}
