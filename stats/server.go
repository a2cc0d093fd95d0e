package stats

import (
	"fmt"
	"time"
)

// ServerSample is what the server's own session manager said at one poll
// (Tomcat's Manager and ThreadPool MBeans, or Spring Boot Actuator). A
// figure the source does not give is -1.
type ServerSample struct {
	At                time.Time `json:"at"`
	T                 float64   `json:"t_s"` // seconds since the run started
	ActiveSessions    int64     `json:"active_sessions"`
	MaxActive         int64     `json:"max_active"`          // high-water mark
	MaxActiveSessions int64     `json:"max_active_sessions"` // the cap (-1: none)
	RejectedSessions  int64     `json:"rejected_sessions"`
	SessionCounter    int64     `json:"session_counter"` // sessions created
	ExpiredSessions   int64     `json:"expired_sessions"`
	SessionCreateRate float64   `json:"session_create_rate"` // per minute, Tomcat's own
	BusyThreads       int64     `json:"busy_threads"`
	ConnectionCount   int64     `json:"connection_count"`
	MaxThreads        int64     `json:"max_threads"`
	HeapUsedMB        float64   `json:"heap_used_mb"`
	HeapMaxMB         float64   `json:"heap_max_mb"`
}

// ServerResult is results.json's server block: the polled figures over
// the run beside the client's, and whether the two agree.
type ServerResult struct {
	Kind       string         `json:"kind"` // tomcat | actuator
	URL        string         `json:"url"`
	Polls      int64          `json:"polls"`
	Failures   int64          `json:"failures"`
	LastError  string         `json:"last_error,omitempty"`
	Stopped    string         `json:"stopped,omitempty"` // why polling stopped before the run's end (credentials refused)
	First      *ServerSample  `json:"first,omitempty"`
	Last       *ServerSample  `json:"last,omitempty"`
	PeakActive int64          `json:"peak_active"`
	PeakHeapMB float64        `json:"peak_heap_mb"`
	Reset      *int64         `json:"reset_expired,omitempty"` // sessions expired before the run (server.reset)
	Timeline   []ServerSample `json:"timeline,omitempty"`
	Check      *Consistency   `json:"consistency,omitempty"`
}

// Consistency compares the client's session counts with the server's
// over the run. A mismatch reveals session leaks, sessions created by
// pages that are not the login, other clients, or a load balancer
// spreading one user over several servers.
type Consistency struct {
	ClientCreated  int64    `json:"client_created"`  // logins (established + failed): each made a session on the server
	ServerCreated  int64    `json:"server_created"`  // sessionCounter delta
	ClientRejected int64    `json:"client_rejected"` // errors_by_kind.session_rejected
	ServerRejected int64    `json:"server_rejected"` // rejectedSessions delta
	OK             bool     `json:"ok"`
	Problems       []string `json:"problems,omitempty"`
}

// CheckConsistency compares the client's figures in r with the server's
// first and last samples. Session creation may differ by a small slack
// (the poll before the run may miss the first logins' sessions).
func CheckConsistency(r *Results, first, last *ServerSample) *Consistency {
	if first == nil || last == nil {
		return nil
	}
	c := &Consistency{
		ClientCreated:  r.Sessions.Established + r.Sessions.LoginFailures,
		ServerCreated:  last.SessionCounter - first.SessionCounter,
		ClientRejected: r.ErrorsByKind[SessionRejected.String()],
		ServerRejected: last.RejectedSessions - first.RejectedSessions,
		OK:             true,
	}
	if first.SessionCounter >= 0 && last.SessionCounter >= 0 && !agree(c.ServerCreated, c.ClientCreated) {
		c.OK = false
		diff := c.ServerCreated - c.ClientCreated
		if diff > 0 {
			c.Problems = append(c.Problems, fmt.Sprintf(
				"the server created %d sessions, the client's logins account for %d: %d more came from elsewhere "+
					"(pages that create sessions for anonymous requests, another client, or retries the client did not see)",
				c.ServerCreated, c.ClientCreated, diff))
		} else {
			c.Problems = append(c.Problems, fmt.Sprintf(
				"the server created %d sessions, the client logged in %d times: %d logins did not make a session on this server "+
					"(a load balancer spreading users over several servers, or a session store other than this manager, e.g. Spring Session)",
				c.ServerCreated, c.ClientCreated, -diff))
		}
	}
	if first.RejectedSessions >= 0 && last.RejectedSessions >= 0 && !agree(c.ServerRejected, c.ClientRejected) {
		c.OK = false
		c.Problems = append(c.Problems, fmt.Sprintf(
			"the server rejected %d session creations, the client saw %d refusals", c.ServerRejected, c.ClientRejected))
	}
	return c
}

// agree compares a server counter with the client's count. Tomcat bumps
// sessionCounter and rejectedSessions with a plain ++ on a shared field,
// so concurrent creations or refusals can lose an increment: the server
// may fall short of the client by a hair (at most 2, or 0.5%), never
// exceed it, without that being a mismatch.
func agree(server, client int64) bool {
	short := client - server
	return short >= 0 && short <= max(2, client/200)
}
