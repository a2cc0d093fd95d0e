package stats

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseThresholdErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		metric, cond string
		inMetric     bool
		col          int
		msg          string
	}{
		// A latency without a unit: the column of the value.
		{"catalog p99", "< 300", false, 3, "missing unit"},
		// A percentile that is not a number.
		{"catalog p9x", "< 1s", true, 9, "bad percentile"},
		// A stat nobody knows, after an endpoint with a space in its name.
		{"view cart p99x9", "< 1s", true, 11, "bad percentile"},
		{"catalog fastness", "< 1s", true, 9, "unknown statistic"},
		// No operator.
		{"errors", "0.1%", false, 1, "expected a comparison"},
		// Leading blanks shift the column.
		{"errors", "  <  lots", false, 6, "expected a count"},
		// A percentage above 100.
		{"timeout", "< 120%", false, 3, "percentage"},
		// Run-wide counts take no endpoint.
		{"catalog sessions.relogins", "== 0", true, 1, "run-wide"},
		{"sessions.relogin", "== 0", true, 10, "unknown sessions field"},
		{"catalog dropped", "== 0", true, 1, "run-wide"},
		// Nothing at all.
		{"  ", "< 1s", true, 1, "empty metric"},
		{"rps", ">", false, 2, "expected a value"},
	} {
		t.Run(tc.metric+" "+tc.cond, func(t *testing.T) {
			t.Parallel()
			_, err := ParseThreshold(tc.metric, tc.cond)
			var te *ThresholdError
			if !errors.As(err, &te) {
				t.Fatalf("error %v, want a *ThresholdError", err)
			}
			if te.InMetric != tc.inMetric || te.Col != tc.col || !strings.Contains(te.Msg, tc.msg) {
				t.Errorf("got {inMetric %v col %d %q}, want {%v %d ..%s..}", te.InMetric, te.Col, te.Msg, tc.inMetric, tc.col, tc.msg)
			}
		})
	}
}

// thresholdResults is a recorded run with both corrected and plain latencies.
func thresholdResults(t *testing.T) *Results {
	r, _, _ := recordedRun(t)
	res, err := r.Result(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res.Sessions = SessionCounts{Established: 50, Relogins: 2}
	res.Plan = "shop"
	return res
}

func TestEvaluateThresholds(t *testing.T) {
	t.Parallel()
	res := thresholdResults(t)
	login, catalog := &res.Endpoints[0], &res.Endpoints[1]
	hl, _ := DecodeHDR(login.HDR)
	hc, _ := DecodeHDR(catalog.CorrectedHDR)
	loginP99 := ms(hl.ValueAtQuantile(99))
	catalogP999 := ms(hc.ValueAtQuantile(99.9))
	errRate := 100 * float64(res.Totals.Errors) / float64(res.Totals.Requests)
	for _, tc := range []struct {
		metric, cond string
		ok           bool
		observed     float64
		corrected    bool
	}{
		// Plain latency where there are no intended times.
		{"login p99", "< 1m", true, loginP99, false},
		{"login p99", "< 1ms", false, loginP99, false},
		// Corrected latency where there are; p999 is p99.9, from the histogram.
		{"catalog p999", ">= 0s", true, catalogP999, true},
		{"catalog p99.9", "< 1us", false, catalogP999, true},
		// Errors as a rate and as a count; the totals by default.
		{"errors", "< 0.1%", false, errRate, false},
		{"errors", "== 30", true, 30, false},
		{"http_5xx", ">= 1%", true, errRate, false},
		{"catalog session_rejected", "== 0", true, 0, false},
		// Rates and counts.
		{"rps", "> 50/s", true, 100, false},
		{"requests", "== 3000", true, 3000, false},
		{"sessions.relogins", "<= 1", false, 2, false},
		{"iterations", "== 0", true, 0, false},
	} {
		th, err := ParseThreshold(tc.metric, tc.cond)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.metric, tc.cond, err)
		}
		v := th.Evaluate(res)
		if v.OK != tc.ok || !near(v.Observed, tc.observed) || v.Corrected != tc.corrected || v.Error != "" {
			t.Errorf("%s: got %+v, want ok %v observed %v corrected %v", th.Expr(), v, tc.ok, tc.observed, tc.corrected)
		}
	}
	// An endpoint the run does not have fails with a reason.
	th, _ := ParseThreshold("nope p99", "< 1s")
	if v := th.Evaluate(res); v.OK || !strings.Contains(v.Error, "nope") {
		t.Errorf("unknown endpoint: %+v", v)
	}
}

// The verdicts reach results.json, the summary and JUnit, and agree.
func TestThresholdOutputs(t *testing.T) {
	t.Parallel()
	res := thresholdResults(t)
	var rules []Threshold
	for _, m := range [][2]string{{"login p99", "< 1m"}, {"errors", "< 0.1%"}, {"catalog p95", "< 10s"}} {
		th, err := ParseThreshold(m[0], m[1])
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, th)
	}
	if CheckThresholds(res, rules) || res.ThresholdsOK() {
		t.Fatal("CheckThresholds passed with a failing rule")
	}
	var js bytes.Buffer
	if err := res.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults(&js)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Thresholds) != 3 || back.Thresholds[1].OK || !back.Thresholds[0].OK || back.Thresholds[1].Expr != "errors < 0.1%" {
		t.Fatalf("results.json thresholds: %+v", back.Thresholds)
	}

	var sum bytes.Buffer
	if err := WriteSummary(&sum, back); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 of 3 FAILED", "✓ login p99 < 1m", "✗ errors < 0.1%", "observed 1%", "(corrected)"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}

	var ju bytes.Buffer
	if err := WriteJUnit(&ju, back); err != nil {
		t.Fatal(err)
	}
	var suite junitSuite
	if err := xml.Unmarshal(ju.Bytes(), &suite); err != nil {
		t.Fatalf("junit does not parse: %v\n%s", err, ju.String())
	}
	if suite.Tests != 3 || suite.Failures != 1 || len(suite.Cases) != 3 {
		t.Fatalf("junit suite %+v", suite)
	}
	for i, c := range suite.Cases {
		if c.Name != back.Thresholds[i].Expr || (c.Failure == nil) != back.Thresholds[i].OK {
			t.Errorf("junit case %d %+v disagrees with %+v", i, c, back.Thresholds[i])
		}
	}
}

// FuzzParseThreshold: never panics; errors carry a column inside the text.
func FuzzParseThreshold(f *testing.F) {
	f.Add("catalog p99", "< 300ms")
	f.Add("errors", "< 0.1%")
	f.Add("sessions.rejected", "== 0")
	f.Add("view cart p99.99", ">= 1.5s")
	f.Fuzz(func(t *testing.T, metric, cond string) {
		_, err := ParseThreshold(metric, cond)
		var te *ThresholdError
		if err != nil && (!errors.As(err, &te) || te.Col < 1) {
			t.Fatalf("ParseThreshold(%q, %q) = %v", metric, cond, err)
		}
	})
}
