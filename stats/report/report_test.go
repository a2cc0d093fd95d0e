package report

import (
	"bytes"
	"context"
	"flag"
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

var screenshot = flag.Bool("screenshot", false, "rewrite docs/report.png from TestHTMLInChromium")

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
		`id="throughput"`, `id="vus"`, `id="percentiles"`, `id="latency-0"`, `id="latency-2"`, "corrected p99", "Where the time went",
		// A latency distribution per endpoint; catalog's with corrected
		// and service time overlaid.
		`id="distribution-0"`, `id="distribution-1"`, `id="distribution-2"`, "Latency distribution: catalog", ">corrected<", ">service time<"} {
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

// A distribution chart draws the percentile axis from 50 to 99.999 on the
// HdrHistogram log scale.
func TestDistributionAxis(t *testing.T) {
	t.Parallel()
	res := syntheticRun(t)
	cs, err := buildCharts(res)
	if err != nil {
		t.Fatal(err)
	}
	var dist *chart
	for _, c := range cs {
		if c.id == "distribution-1" {
			dist = c
		}
	}
	if dist == nil {
		t.Fatal("no distribution chart for catalog")
	}
	if len(dist.series) != 2 || dist.series[0].name != "corrected" || dist.series[1].name != "service time" {
		t.Fatalf("catalog distribution series %+v, want corrected and service time", dist.series)
	}
	for _, s := range dist.series {
		if first, last := s.pts[0].x, s.pts[len(s.pts)-1].x; first != 50 || last < 99.999-1e-9 || last > 99.999+1e-9 {
			t.Errorf("%s runs from %v to %v, want 50 to 99.999", s.name, first, last)
		}
	}
	svg := dist.svg()
	for _, tick := range []string{">50%<", ">90%<", ">99%<", ">99.9%<", ">99.99%<", ">99.999%<"} {
		if !strings.Contains(svg, tick) {
			t.Errorf("distribution axis lacks the tick %s", tick)
		}
	}
	if strings.Contains(svg, ">0%<") {
		t.Error("distribution axis starts below 50%")
	}
}

// scenarioRun records three intervals of two scenarios: browse (login,
// catalog) and buy (login, view <cart> inside the group checkout, and
// the group itself).
func scenarioRun(t *testing.T) *stats.Results {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := stats.NewRecorder(stats.Options{Now: func() time.Time { return now }})
	browse, buy := r.Scenario("browse"), r.Scenario("buy")
	ids := []int{r.EndpointIn(browse, "", "login"), r.EndpointIn(browse, "", "catalog"), r.EndpointIn(buy, "", "login"), r.EndpointIn(buy, "checkout", "view <cart>")}
	checkout := r.Group(buy, "checkout")
	for range 3 {
		for i := range 40 {
			start := now.Add(time.Duration(i) * time.Millisecond)
			lat := time.Duration(1000*(1+i%4)) * time.Microsecond
			r.Record(i, &stats.Sample{Endpoint: ids[i%4], Start: start, End: start.Add(lat), Status: 200})
			if i%4 == 3 {
				r.Record(i, &stats.Sample{Endpoint: checkout, Start: start, End: start.Add(300 * time.Millisecond), Status: 200, Service: lat})
			}
		}
		now = now.Add(time.Second)
		r.Snapshot()
	}
	res, err := r.Result(0)
	if err != nil {
		t.Fatal(err)
	}
	res.Plan = "mix"
	return res
}

// Endpoints with a scenario name get a section per scenario, with its
// endpoints, subtotal, groups and charts; without, no scenario is
// invented.
func TestScenarioSections(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, syntheticRun(t)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Scenario:") || strings.Contains(buf.String(), `class="groups"`) {
		t.Error("a report of results without scenarios or groups shows a scenario section or a groups table")
	}
	buf.Reset()
	if err := WriteHTML(&buf, scenarioRun(t)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	browse, buy := strings.Index(out, `<h2 id="scenario-browse">Scenario: browse</h2>`), strings.Index(out, `<h2 id="scenario-buy">Scenario: buy</h2>`)
	if browse < 0 || buy < browse {
		t.Fatalf("no scenario sections browse then buy:\n%s", out)
	}
	inBrowse, inBuy := out[browse:buy], out[buy:]
	if !strings.Contains(inBrowse, `id="latency-1"`) || strings.Contains(inBrowse, `id="latency-3"`) {
		t.Error("catalog's chart is not in the browse section, or view <cart>'s is")
	}
	if !strings.Contains(inBuy, `id="latency-3"`) {
		t.Error("view <cart>'s chart is not in the buy section")
	}
	// 3 intervals × 10 of each endpoint: a subtotal of 60 per scenario.
	sub := regexp.MustCompile(`<tr class="total"><td>subtotal</td><td>(\d+)</td>`)
	if m := sub.FindAllStringSubmatch(out, -1); len(m) != 2 || m[0][1] != "60" || m[1][1] != "60" {
		t.Errorf("subtotals %v, want 60 and 60", m)
	}
	if strings.Contains(inBrowse, `class="groups"`) {
		t.Error("browse, which has no group, shows a groups table")
	}
	g := regexp.MustCompile(`(?s)<h3>Groups of buy</h3>\s*<table class="groups">.*?<tr><td>checkout</td><td>30</td><td>0.00%</td><td>300</td>`)
	if !g.MatchString(inBuy) {
		t.Errorf("buy's section lacks the checkout group with 30 runs of 300 ms:\n%s", inBuy)
	}
	if !strings.Contains(inBuy, "view &lt;cart&gt; <span class=\"meta\">(checkout)</span>") {
		t.Error("view <cart> is not shown inside its group")
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

// The report renders in headless Chromium at 1400 px with no console
// errors; every chart has a drawn series, spans at least 90% of the
// content width, and no two legend boxes intersect (nor a legend box its
// plot), as measured in the DOM. A screenshot lands in the test's temp
// dir, or in docs/report.png with -screenshot.
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
	dom, logs := runChromium(t, bin, "--dump-dom", "--window-size=1400,2600", url)
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
	if n, _ := strconv.Atoi(attr("data-legend-items")); n < 2*charts {
		t.Errorf("%d legend items in %d charts; want every series named", n, charts)
	}
	if o := attr("data-legend-overlaps"); o != "" {
		t.Errorf("legend boxes intersect: %s", o)
	}
	if w, _ := strconv.ParseFloat(attr("data-chart-width-min"), 64); w < 0.9 {
		t.Errorf("the narrowest chart spans %.0f%% of the content width, want at least 90%%", 100*w)
	}
	shot := filepath.Join(dir, "report.png")
	if *screenshot {
		shot = filepath.Join("..", "..", "docs", "report.png")
	}
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1400,4700", "--hide-scrollbars", url)
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

// A threshold a segment left to the merged whole is neither passed nor
// failed in the segment's report: it reads "judged on the merged whole".
func TestDeferredThreshold(t *testing.T) {
	t.Parallel()
	res := syntheticRun(t)
	res.Thresholds = []stats.ThresholdResult{{Expr: "rps > 250", OK: true, Deferred: true, Observed: 162, Unit: "/s"}}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "judged on the merged whole") || strings.Contains(out, "all 1 passed") || strings.Contains(out, ">✓<") {
		t.Errorf("a deferred threshold reads as passed:\n%s", out[strings.Index(out, "thresholds"):][:400])
	}
}
