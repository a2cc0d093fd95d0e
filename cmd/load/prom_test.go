package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
)

// With --prom-linger the exporter stays up after the run: a scrape after
// the run ended gets the final figures, which equal the results', and the
// server's own figures as last polled (here from a Spring Boot Actuator
// beside the demo target).
func TestPromLinger(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tg := target.New(target.Config{Users: 10})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/actuator/metrics/")
		if !ok {
			tg.ServeHTTP(w, r)
			return
		}
		v, ok := map[string]int{"tomcat.sessions.active.current": 42, "tomcat.sessions.rejected": 3, "tomcat.threads.busy": 5}[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"name":%q,"measurements":[{"statistic":"VALUE","value":%d}]}`, name, v)
	}))
	defer srv.Close()
	plan := writeFile(t, "plan.yaml", strings.Replace(runPlan, "TARGET", srv.URL, 1)+
		"server: {kind: actuator, url: "+srv.URL+"/actuator, interval: 200ms}\n")
	out := filepath.Join(t.TempDir(), "r.json")
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := runCLI(t, "run", plan, "--duration", "1s", "--quiet", "--out", out, "--prometheus", addr, "--prom-linger", "3s")
		done <- result{code, stderr}
	}()
	// Scrape until the command ends; keep the last answer taken after
	// the results were written (the run had ended).
	var last string
	var r result
	deadline := time.After(60 * time.Second)
	for loop := true; loop; {
		select {
		case r = <-done:
			loop = false
		case <-deadline:
			t.Fatal("run did not end within 60 s")
		case <-time.After(100 * time.Millisecond):
			_, statErr := os.Stat(out)
			if resp, err := http.Get("http://" + addr + "/metrics"); err == nil && statErr == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				last = string(b)
			}
		}
	}
	if r.code != exitOK || !strings.Contains(r.stderr, "--prom-linger") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	res := readResults(t, out)
	m := regexp.MustCompile(`(?m)^load_iterations_total (\S+)$`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("no scrape after the run ended, or no iterations in it:\n%s", last)
	}
	if n, _ := strconv.ParseFloat(m[1], 64); int64(n) != res.Iterations.Completed || n == 0 {
		t.Errorf("last scrape: %v iterations, results %d", n, res.Iterations.Completed)
	}
	for _, s := range []string{"load_server_active_sessions 42", "load_server_rejected_sessions_total 3", "load_server_busy_threads 5"} {
		if !strings.Contains(last, s+"\n") {
			t.Errorf("last scrape lacks %s", s)
		}
	}
	for _, e := range res.Endpoints {
		if s := `load_requests_total{endpoint="` + e.Name + `",group="",scenario=""} ` + strconv.FormatInt(e.Requests, 10); !strings.Contains(last, s) {
			t.Errorf("last scrape lacks %s:\n%s", s, last)
		}
	}
}
