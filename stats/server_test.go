package stats

import (
	"strings"
	"testing"
)

// The client's and the server's session counts are compared both ways:
// more sessions on the server than logins is a leak (or another client);
// fewer is a load balancer or another session store; a hair fewer is
// Tomcat losing an increment.
func TestCheckConsistency(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		created, rejected int64 // server deltas
		ok                bool
		says              string
	}{
		{"agree", 1000, 200, true, ""},
		{"anonymous sessions", 1040, 200, false, "40 more came from elsewhere"},
		{"sessions elsewhere", 500, 200, false, "500 logins did not make a session on this server"},
		{"Tomcat lost an increment", 999, 199, true, ""},
		{"rejections differ", 1000, 150, false, "the server rejected 150 session creations, the client saw 200 refusals"},
		{"more rejections on the server", 1000, 201, false, "the server rejected 201"},
	} {
		r := &Results{Sessions: SessionCounts{Established: 990, LoginFailures: 10}, ErrorsByKind: map[string]int64{"session_rejected": 200}}
		first := &ServerSample{SessionCounter: 100, RejectedSessions: 7}
		last := &ServerSample{SessionCounter: 100 + tc.created, RejectedSessions: 7 + tc.rejected}
		c := CheckConsistency(r, first, last)
		if c.OK != tc.ok || !strings.Contains(strings.Join(c.Problems, "\n"), tc.says) {
			t.Errorf("%s: ok %v, problems %q; want ok %v saying %q", tc.name, c.OK, c.Problems, tc.ok, tc.says)
		}
	}
	if CheckConsistency(&Results{}, nil, nil) != nil {
		t.Error("no samples, yet a verdict")
	}
}
