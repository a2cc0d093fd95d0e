package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionload/load/stats"
)

// syntheticRun records 20 one-second intervals of three endpoints, one of
// them with intended times, and judges two thresholds.
func syntheticRun(t *testing.T) *stats.Results {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	vus := 0
	r := stats.NewRecorder(stats.Options{
		Now: func() time.Time { return now },
		Gauges: func() stats.Gauges {
			return stats.Gauges{VUs: vus, Sessions: stats.SessionCounts{Established: int64(vus)}}
		},
	})
	ids := []int{r.Endpoint("login"), r.Endpoint("catalog"), r.Endpoint("view <cart>")}
	for sec := range 20 {
		vus = min(sec*10, 100)
		for i := range 50 + 20*sec {
			ep := ids[i%3]
			start := now.Add(time.Duration(i) * time.Millisecond)
			lat := time.Duration(500+(i*7919)%20000+sec*300) * time.Microsecond
			s := &stats.Sample{Endpoint: ep, Start: start, End: start.Add(lat), Status: 200, Reused: i%5 != 0,
				Phases: stats.Phases{TTFB: lat * 3 / 4, Body: lat / 4}}
			if ep == ids[1] {
				s.Intended = start.Add(-time.Duration(i%40) * time.Millisecond)
			}
			if i%97 == 0 {
				s.Status, s.Kind = 503, stats.HTTP5xx
			}
			r.Record(i, s)
		}
		now = now.Add(time.Second)
		r.Snapshot()
	}
	res, err := r.Result(0)
	if err != nil {
		t.Fatal(err)
	}
	res.Plan = "shop <nightly>"
	res.Started, res.Ended = now.Add(-20*time.Second), now
	res.VUs.Max = 100
	res.PlanSource = "name: shop\nusers: {template: {username: \"user{{.VU}}\", password: *****}}\n"
	var rules []stats.Threshold
	for _, m := range [][2]string{{"catalog p99", "< 1s"}, {"errors", "< 0.1%"}} {
		th, err := stats.ParseThreshold(m[0], m[1])
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, th)
	}
	stats.CheckThresholds(res, rules)
	return res
}

// The report holds the tables, verdicts and plan, escapes names, and
// refers to no network address.
func TestWriteHTML(t *testing.T) {
	t.Parallel()
	res := syntheticRun(t)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, w := range []string{"shop &lt;nightly&gt;", "view &lt;cart&gt;", "✓", "✗", "catalog p99 &lt; 1s", "password: *****",
		`id="throughput"`, `id="vus"`, `id="percentiles"`, `id="latency-0"`, `id="latency-2"`, "corrected p99", "Where the time went"} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q", w)
		}
	}
	if strings.Contains(out, "<cart>") {
		t.Error("an endpoint name is not escaped")
	}
	// Nothing to fetch: no src or href attributes, no url(), no @import.
	if m := regexp.MustCompile(`(?i)\b(src|href)\s*=|url\(|@import`).FindString(out); m != "" {
		t.Errorf("report refers to an outside resource: %q", m)
	}
}

// chromium finds Debian's chromium, or skips (fails in CI, which installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium not installed: apt-get install -y chromium to run the browser test of the HTML report")
	return ""
}

// runChromium runs headless chromium on the report with the flags that keep
// it off the network, and returns stdout and stderr.
func runChromium(t *testing.T, bin string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
		"--enable-logging=stderr", "--v=0", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// The report renders in headless Chromium with no console errors, and
// every chart has a drawn series; a screenshot lands in the test's temp dir.
func TestHTMLInChromium(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(f, syntheticRun(t)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	url := "file://" + file
	dom, logs := runChromium(t, bin, "--dump-dom", url)
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "CONSOLE") || strings.Contains(l, "Uncaught") || strings.Contains(l, "Content Security Policy") {
			t.Errorf("console: %s", l)
		}
	}
	attr := func(name string) string {
		m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("rendered DOM has no %s (did the script run?):\n%.500s", name, dom)
		}
		return m[1]
	}
	charts, _ := strconv.Atoi(attr("data-charts"))
	withData, _ := strconv.Atoi(attr("data-charts-with-data"))
	if charts < 6 || withData != charts {
		t.Errorf("%d of %d charts have data; want all, and at least 6", withData, charts)
	}
	if e := attr("data-errors"); e != "" {
		t.Errorf("script errors: %s", e)
	}
	shot := filepath.Join(dir, "report.png")
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1500,2600", "--hide-scrollbars", url)
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}

// With the server gauge on, the report charts the server's figures.
func TestServerCharts(t *testing.T) {
	t.Parallel()
	r := &stats.Results{
		Timeline: []stats.TimelinePoint{{T: 1, VUs: 10}, {T: 2, VUs: 20}},
		Server: &stats.ServerResult{Kind: "tomcat", Timeline: []stats.ServerSample{
			{T: 0.5, ActiveSessions: 0, RejectedSessions: 3, BusyThreads: 1, HeapUsedMB: 30},
			{T: 1.5, ActiveSessions: 10, RejectedSessions: 5, BusyThreads: 4, HeapUsedMB: 40},
		}},
	}
	cs := serverCharts(r, 2)
	if len(cs) != 2 || len(cs[0].series) != 4 || len(cs[1].series) != 1 {
		t.Fatalf("charts %+v: want sessions (4 series) and heap", cs)
	}
	if got := cs[0].series[1].pts[1].y; got != 2 {
		t.Errorf("rejections since start = %v, want 2", got)
	}
	if !strings.Contains(cs[0].svg(), "server active sessions") {
		t.Error("the svg does not name the server's series")
	}
	if serverCharts(&stats.Results{}, 1) != nil {
		t.Error("no server block, yet charts")
	}
}
