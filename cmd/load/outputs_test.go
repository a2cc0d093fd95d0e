package main

import (
	"encoding/csv"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/stats"
)

// startTarget starts the built-in target for one test.
func startTarget(t *testing.T) string {
	t.Helper()
	srv, err := target.New(target.Config{Users: 10}).Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.URL()
}

// A failed threshold exits 99; the verdicts are in the summary,
// results.json and JUnit, and the CSV timeline adds up to results.json.
func TestRunThresholdsAndOutputs(t *testing.T) {
	t.Parallel()
	plan := writeFile(t, "plan.yaml", strings.Replace(runPlan, "TARGET", startTarget(t), 1)+
		"thresholds:\n  \"me p99\": \"< 1m\"\n  \"requests\": \"> 1000000\"\n  \"sessions.unique\": \"== 2\"\n"+
		"outputs: {html: report.html}\n") // relative to the plan
	dir := t.TempDir()
	out, csvPath, junit := filepath.Join(dir, "r.json"), filepath.Join(dir, "t.csv"), filepath.Join(dir, "j.xml")
	code, stdout, stderr := runCLI(t, "run", plan, "--duration", "2s", "--quiet", "--out", out, "--csv", csvPath, "--junit", junit)
	if code != exitThresholds {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitThresholds, stderr)
	}
	for _, w := range []string{"1 of 3 FAILED", "✓ me p99 < 1m", "✗ requests > 1000000", "✓ sessions.unique == 2"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary lacks %q:\n%s", w, stdout)
		}
	}
	if !strings.Contains(stderr, "1 of 3 thresholds failed") {
		t.Errorf("stderr does not say the thresholds failed:\n%s", stderr)
	}
	res := readResults(t, out)
	if len(res.Thresholds) != 3 || res.Thresholds[1].OK || res.Thresholds[1].Observed != float64(res.Totals.Requests) {
		t.Errorf("results.json thresholds %+v (total requests %d)", res.Thresholds, res.Totals.Requests)
	}
	if res.PlanSource == "" || strings.Contains(res.PlanSource, "password: secret") {
		t.Errorf("plan_source missing or not redacted: %q", res.PlanSource)
	}

	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(b, &suite); err != nil {
		t.Fatal(err)
	}
	if suite.Tests != 3 || suite.Failures != 1 || suite.Cases[1].Name != "requests > 1000000" || suite.Cases[1].Failure == nil {
		t.Errorf("junit: %+v", suite)
	}

	checkCSV(t, csvPath, res)
	if html := readFile(t, filepath.Join(filepath.Dir(plan), "report.html")); !strings.Contains(html, "requests &gt; 1000000") {
		t.Errorf("the plan's outputs.html has no thresholds")
	}

	// report prints the same summary from the file, exits 99 again, and
	// writes the CSV again, identical.
	csv2 := filepath.Join(dir, "t2.csv")
	code, stdout2, stderr := runCLI(t, "report", out, "--csv", csv2)
	if code != exitThresholds || stdout2 != stdout {
		t.Errorf("report: exit %d, stderr %s; summary differs:\n%s\nrun printed:\n%s", code, stderr, stdout2, stdout)
	}
	if a, b := readFile(t, csvPath), readFile(t, csv2); a != b {
		t.Errorf("report --csv differs from run --csv")
	}

	// compare: a run against itself passes; against a worse copy, exit 99.
	if code, cmp, stderr := runCLI(t, "compare", out, out); code != 0 || !strings.Contains(cmp, "no regression") {
		t.Errorf("compare with itself: exit %d\n%s%s", code, cmp, stderr)
	}
	res.Totals.Errors += res.Totals.Requests / 10
	worse := filepath.Join(dir, "worse.json")
	if err := writeResults(worse, res); err != nil {
		t.Fatal(err)
	}
	code, cmp, _ := runCLI(t, "compare", out, worse, "--max-regress", "errors=1pp")
	if code != exitThresholds || !strings.Contains(cmp, "✗ regression (> +1pp)") {
		t.Errorf("compare with more errors: exit %d\n%s", code, cmp)
	}
	if code, _, stderr := runCLI(t, "compare", out, worse, "--max-regress", "p99=fast"); code != exitBadInput {
		t.Errorf("bad --max-regress: exit %d: %s", code, stderr)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkCSV reads the timeline CSV back and checks that it matches
// results.json: same rows, and requests and errors that add up to the
// run's totals, per endpoint and overall.
// readCSV reads a CSV file's rows.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func checkCSV(t *testing.T, path string, res *stats.Results) {
	t.Helper()
	rows := readCSV(t, path)
	if len(rows) < 2 || rows[0][0] != "t_s" || rows[0][2] != "endpoint" || rows[0][3] != "requests" {
		t.Fatalf("csv header %q", rows[0])
	}
	if len(res.Timeline) < 2 {
		t.Fatalf("timeline has %d intervals, want >= 2", len(res.Timeline))
	}
	reqs, errs := map[string]int64{}, map[string]int64{}
	for _, r := range rows[1:] {
		n, _ := strconv.ParseInt(r[3], 10, 64)
		e, _ := strconv.ParseInt(r[4], 10, 64)
		reqs[r[2]] += n
		errs[r[2]] += e
	}
	want := len(res.Timeline) * (len(res.Endpoints) + 1)
	if len(rows)-1 != want {
		t.Errorf("csv has %d rows, want %d (intervals × (endpoints + total))", len(rows)-1, want)
	}
	for _, e := range append(res.Endpoints, res.Totals) {
		if reqs[e.Name] != e.Requests || errs[e.Name] != e.Errors {
			t.Errorf("csv %s: %d requests, %d errors; results.json %d, %d", e.Name, reqs[e.Name], errs[e.Name], e.Requests, e.Errors)
		}
	}
}

// --hlog writes an interval log whose tags add up to results.json, and
// --prometheus serves during the run.
func TestRunLiveOutputs(t *testing.T) {
	t.Parallel()
	plan := writeFile(t, "plan.yaml", strings.Replace(runPlan, "TARGET", startTarget(t), 1))
	dir := t.TempDir()
	out, hlog := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.hlog")
	code, _, stderr := runCLI(t, "run", plan, "--duration", "2s", "--quiet", "--out", out, "--hlog", hlog, "--prometheus", "127.0.0.1:0")
	if code == exitBadInput && strings.Contains(stderr, "(pending)") {
		t.Skip("the executor does not pass stats sinks yet (profiles.RunOptions.Stats)")
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "metrics on http://127.0.0.1:") {
		t.Errorf("no metrics address on stderr:\n%s", stderr)
	}
	res := readResults(t, out)
	f, err := os.Open(hlog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int64{}
	rd := hdrhistogram.NewHistogramLogReader(f)
	for {
		h, err := rd.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		counts[h.Tag()] += h.TotalCount()
	}
	for _, e := range res.Endpoints {
		if got := counts[stats.HlogTag(e.Name)]; got != e.Requests {
			t.Errorf("hlog tag %s: %d samples, results.json %d requests", e.Name, got, e.Requests)
		}
	}
	if vus := res.Timeline[0].VUs; vus != 2 {
		t.Errorf("timeline VUs %d, want 2 (the executor's gauges)", vus)
	}
}
