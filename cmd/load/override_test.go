package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hitCounter is a server that counts the requests it answers and the
// distinct VUs (X-VU) that sent them; the OPTIONS of the check before the
// load (profiles.CheckTarget) is no VU's.
type hitCounter struct {
	mu   sync.Mutex
	hits int
	vus  map[string]bool
}

func (h *hitCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.mu.Lock()
	h.hits++
	h.vus[r.Header.Get("X-VU")] = true
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hitCounter) counts() (hits, vus int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits, len(h.vus)
}

// TestOverridesEveryModel runs each CLI override on each load model of a
// 30-second plan: applied, the server sees the overridden VUs or rate and
// the run ends in about a second; refused, the run exits 2 naming the
// model and the server sees nothing.
func TestOverridesEveryModel(t *testing.T) {
	t.Parallel()
	models := map[string]string{
		"closed":       "{vus: 3, duration: 30s}",
		"stages":       "{stages: [{duration: 100ms, target: 3}, {duration: 29900ms}]}",
		"paced":        "{vus: 3, duration: 30s, pacing: 200ms}",
		"rate":         "{rate: 2/s, duration: 30s, preallocated_vus: 3, max_vus: 10}",
		"ramping rate": "{rate: 2/s, stages: [{duration: 30s, target: 3/s}], preallocated_vus: 3, max_vus: 10}",
		"sessions":     "{sessions: {rate: 1/s, lifetime: 300ms}, duration: 30s}",
	}
	tests := []struct {
		model string
		args  []string
		hits  int    // server hits at least; 0: any above 0
		most  int    // server hits at most; 0: hits exactly (or any)
		vus   int    // distinct VUs the server saw; 0: any
		err   string // a refusal's words
	}{
		{"closed", []string{"--vus", "2", "--duration", "1s"}, 0, 0, 2, ""},
		{"closed", []string{"--duration", "1s"}, 0, 0, 3, ""},
		{"closed", []string{"--rate", "6/s", "--duration", "1s"}, 0, 0, 0, "--rate 6/s: does not apply to the plan's closed (load.vus for load.duration) load"},
		{"stages", []string{"--vus", "2", "--duration", "1s"}, 0, 0, 2, ""},
		{"stages", []string{"--duration", "1s"}, 0, 0, 3, ""},
		{"stages", []string{"--rate", "6/s", "--duration", "1s"}, 0, 0, 0, "--rate 6/s: does not apply to the plan's stages (load.stages of VUs) load"},
		// Paced at 200ms, each VU starts 5 or 6 iterations in 1 s (back
		// to back with 100ms think, it would be about 10).
		{"paced", []string{"--vus", "2", "--duration", "1s"}, 10, 12, 2, ""},
		{"paced", []string{"--duration", "1s"}, 15, 18, 3, ""},
		{"paced", []string{"--rate", "6/s", "--duration", "1s"}, 0, 0, 0, "--rate 6/s: does not apply to the plan's paced"},
		{"rate", []string{"--vus", "2", "--duration", "1s"}, 0, 0, 0, "--vus 2: does not apply to the plan's arrival rate (iterations at load.rate) load"},
		{"rate", []string{"--duration", "1s"}, 2, 0, 0, ""},
		{"rate", []string{"--rate", "6/s", "--duration", "1s"}, 6, 0, 0, ""},
		{"ramping rate", []string{"--vus", "2", "--duration", "1s"}, 0, 0, 0, "--vus 2: does not apply to the plan's ramping arrival rate"},
		{"ramping rate", []string{"--duration", "1s"}, 0, 0, 0, ""},
		{"ramping rate", []string{"--rate", "6/s", "--duration", "1s"}, 6, 0, 0, ""},
		{"sessions", []string{"--vus", "2", "--duration", "1s"}, 0, 0, 0, "--vus 2: does not apply to the plan's sessions (users arriving at load.sessions.rate) load"},
		// The issue: --duration was ignored here, the run went on for the plan's 30 s.
		{"sessions", []string{"--duration", "2s"}, 0, 0, 2, ""},
		{"sessions", []string{"--rate", "6/s", "--duration", "1s"}, 0, 0, 6, ""},
	}
	for _, tc := range tests {
		t.Run(tc.model+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			h := &hitCounter{vus: map[string]bool{}}
			srv := httptest.NewServer(h)
			defer srv.Close()
			plan := writeFile(t, "plan.yaml", "target: "+srv.URL+"\nscenario:\n  - name: work\n    get: /work\n"+
				"    headers: {X-VU: \"{{.VU}}\"}\nthink: 100ms\nload: "+models[tc.model]+"\n")
			start := time.Now()
			code, _, stderr := runCLI(t, append([]string{"run", plan, "--quiet"}, tc.args...)...)
			took := time.Since(start)
			hits, vus := h.counts()
			if tc.err != "" {
				if code != exitBadInput || !strings.Contains(stderr, tc.err) {
					t.Errorf("exit %d, want %d saying %q; stderr:\n%s", code, exitBadInput, tc.err, stderr)
				}
				if hits != 0 {
					t.Errorf("a refused run sent %d requests", hits)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			if took > 15*time.Second {
				t.Errorf("the run took %s: the override's duration was not applied", took.Round(time.Second))
			}
			if most := max(tc.most, tc.hits); hits == 0 || hits < tc.hits || most > 0 && hits > most {
				t.Errorf("server saw %d requests, want %s", hits, want(tc.hits, most))
			}
			if tc.vus > 0 && vus != tc.vus {
				t.Errorf("server saw %d VUs, want %d", vus, tc.vus)
			}
		})
	}
}

// want words a range of hits.
func want(least, most int) string {
	switch {
	case most == 0:
		return "some"
	case least == most:
		return strconv.Itoa(least)
	}
	return strconv.Itoa(least) + " to " + strconv.Itoa(most)
}
