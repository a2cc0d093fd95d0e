package stats

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Threshold is one parsed pass/fail rule of a plan, such as
// "catalog p99": "< 300ms". Build it with ParseThreshold; check it with
// CheckThresholds once the run is over.
//
// Metric grammar: "[scenario NAME] [ENDPOINT | group NAME] [ok] STAT",
// where STAT is a latency (p50, p99, p99.9, p999, min, mean, max; after
// "ok", of the successful requests only: "catalog ok p95"), errors,
// error_rate (errors as a share of requests), rps, requests or an error
// kind (timeout, http_5xx, session_rejected, ...). Without an endpoint
// the rule is on the totals; "scenario NAME STAT" is on that scenario's
// totals (its endpoints merged: histograms exactly, counts summed), and
// "scenario NAME iterations" on its iterations. An endpoint name that
// several scenarios (or groups) have is judged on them merged, unless the
// rule names its scenario. "group NAME STAT" is on a group's durations
// (first request's start to last response's end, think times inside
// included; corrected where intended starts were known), merged across
// the scenarios that have it. Run-wide counts take no endpoint:
// sessions.<field> (established, unique, rotated_on_login,
// login_failures, rejected, relogins, expired), iterations, dropped,
// iterations.overran (paced iterations that overran their pace).
//
// Condition grammar: "OP VALUE" with OP one of < <= > >= == !=. Latencies
// take a duration (300ms, 1s, 500us); errors and error kinds a count (0)
// or a share of requests (0.1%); rps a number, optionally with /s.
type Threshold struct {
	// Metric and Condition are the rule as written.
	Metric, Condition string

	endpoint string  // "" for the totals
	scenario string  // "" for every scenario
	group    string  // a group's name, for a rule on a group
	stat     string  // see the stat* constants
	quantile float64 // for statQuantile, in percent
	field    string  // error kind or sessions field name
	op       string
	value    float64 // ms for latencies, a fraction for rates, else as given
	rate     bool    // the value was a percentage
	ok       bool    // a latency of the OK requests only ("catalog ok p95")
}

// The kinds of statistic a Threshold can name.
const (
	statQuantile = "quantile"
	statMin      = "min"
	statMean     = "mean"
	statMax      = "max"
	statErrors   = "errors"
	statKind     = "kind"
	statRPS      = "rps"
	statRequests = "requests"
	statSession  = "session"
	statIters    = "iterations"
	statDropped  = "dropped"
	statOverran  = "overran"
)

// sessionFields are the sessions.<field> names a threshold may use.
var sessionFields = map[string]func(SessionCounts) int64{
	"established":       func(s SessionCounts) int64 { return s.Established },
	"unique":            func(s SessionCounts) int64 { return s.Unique },
	"rotated_on_login":  func(s SessionCounts) int64 { return s.RotatedOnLogin },
	"login_failures":    func(s SessionCounts) int64 { return s.LoginFailures },
	"rejected":          func(s SessionCounts) int64 { return s.Rejected },
	"relogins":          func(s SessionCounts) int64 { return s.Relogins },
	"expired":           func(s SessionCounts) int64 { return s.Expired },
	"rotated_by_server": func(s SessionCounts) int64 { return s.RotatedByServer },
}

// ThresholdError is a threshold that does not parse. Col is the 1-based
// column, in characters, of the problem inside the metric (InMetric) or
// the condition, so a plan loader can point at it in the file.
type ThresholdError struct {
	InMetric bool
	Col      int
	Msg      string
}

// Error returns the message, without a position: the caller knows where
// the metric and condition sit.
func (e *ThresholdError) Error() string { return e.Msg }

// ParseThreshold parses one rule. Errors are *ThresholdError.
func ParseThreshold(metric, condition string) (Threshold, error) {
	t := Threshold{Metric: metric, Condition: condition}
	if err := t.parseMetric(metric); err != nil {
		return t, err
	}
	if err := t.parseCondition(condition); err != nil {
		return t, err
	}
	return t, nil
}

// word is a whitespace-separated token, its 1-based character column and
// its byte offset.
type word struct {
	s   string
	col int
	off int
}

func words(s string) []word {
	var out []word
	col, start, in := 0, 0, false
	for i, r := range s {
		col++
		switch {
		case unicode.IsSpace(r) && in:
			out = append(out, word{s[start:i], col - utf8.RuneCountInString(s[start:i]), start})
			in = false
		case !unicode.IsSpace(r) && !in:
			start, in = i, true
		}
	}
	if in {
		out = append(out, word{s[start:], col + 1 - utf8.RuneCountInString(s[start:]), start})
	}
	return out
}

func metricErr(col int, format string, args ...any) error {
	return &ThresholdError{InMetric: true, Col: max(col, 1), Msg: fmt.Sprintf(format, args...)}
}

func condErr(col int, format string, args ...any) error {
	return &ThresholdError{Col: max(col, 1), Msg: fmt.Sprintf(format, args...)}
}

const metricHelp = "expected [scenario NAME] [ENDPOINT | group NAME] [ok] STAT with STAT one of p50, p95, p99, p99.9, min, mean, max, errors, error_rate, rps, requests or an error kind"

func (t *Threshold) parseMetric(metric string) error {
	ws := words(metric)
	if len(ws) == 0 {
		return metricErr(1, "empty metric: %s", metricHelp)
	}
	last := ws[len(ws)-1]
	first := 0 // the first word after a scenario prefix
	if len(ws) >= 3 && strings.EqualFold(ws[0].s, "scenario") {
		t.scenario, first = ws[1].s, 2
	}
	// "ok" before a latency: of the successful requests only.
	end := last.off // where the endpoint's or group's name ends
	var okWord word
	if n := len(ws); n-first >= 2 && strings.EqualFold(ws[n-2].s, "ok") {
		t.ok, okWord, end = true, ws[n-2], ws[n-2].off
		ws = append(ws[:n-2:n-2], last)
	}
	if len(ws)-first >= 3 && strings.EqualFold(ws[first].s, "group") {
		// The group is everything between "group" and the stat.
		t.group = strings.TrimSpace(metric[ws[first+1].off:end])
	} else if len(ws)-first > 1 {
		// The endpoint is everything before the stat, as written.
		t.endpoint = strings.TrimSpace(metric[ws[first].off:end])
	}
	if err := t.parseStat(ws, first, last); err != nil {
		return err
	}
	if t.ok && !t.isLatency() {
		return metricErr(okWord.col, "ok names the latency of the successful requests: expected a latency (p50, p95, p99, p99.9, min, mean, max) after it, not %q", last.s)
	}
	return nil
}

// parseStat reads the statistic, the last of ws (a scenario prefix ends
// before first).
func (t *Threshold) parseStat(ws []word, first int, last word) error {
	named := len(ws) - first // words after the scenario prefix
	name := strings.ToLower(last.s)
	if f, ok := strings.CutPrefix(name, "sessions."); ok {
		if len(ws) > 1 {
			return metricErr(ws[0].col, "%s is run-wide: write it without an endpoint", last.s)
		}
		if sessionFields[f] == nil {
			return metricErr(last.col+len("sessions."), "unknown sessions field %q (established, unique, rotated_on_login, login_failures, rejected, relogins, expired, rotated_by_server)", f)
		}
		t.stat, t.field = statSession, f
		return nil
	}
	switch name {
	case "iterations", "dropped", "iterations.dropped", "iterations.overran":
		if named > 1 || name != "iterations" && t.scenario != "" {
			return metricErr(ws[0].col, "%s is run-wide: write it without an endpoint (iterations also as \"scenario NAME iterations\")", last.s)
		}
		switch name {
		case "iterations":
			t.stat = statIters
		case "iterations.overran":
			t.stat = statOverran
		default:
			t.stat = statDropped
		}
		return nil
	case "min", "mean", "max", "errors", "rps", "requests":
		t.stat = name
		return nil
	case "error_rate":
		t.stat, t.rate = statErrors, true
		return nil
	}
	if k, ok := ParseKind(name); ok && k != OK {
		t.stat, t.field = statKind, k.String()
		return nil
	}
	if q, ok := parseQuantile(name); ok {
		t.stat, t.quantile = statQuantile, q
		return nil
	}
	if len(name) > 1 && name[0] == 'p' && (name[1] >= '0' && name[1] <= '9') {
		return metricErr(last.col, "bad percentile %q: expected p50, p99, p99.9 (or p999) up to p100", last.s)
	}
	return metricErr(last.col, "unknown statistic %q: %s", last.s, metricHelp)
}

// parseQuantile reads "p99" (99), "p99.9" (99.9), "p999" (99.9), "p9999"
// (99.99): digits after a leading 99 without a dot are decimals, as in
// HdrHistogram's and most tools' names.
func parseQuantile(s string) (float64, bool) {
	num, ok := strings.CutPrefix(s, "p")
	if !ok || num == "" {
		return 0, false
	}
	if !strings.Contains(num, ".") && len(num) > 2 && strings.HasPrefix(num, "99") {
		num = num[:2] + "." + num[2:]
	}
	q, err := strconv.ParseFloat(num, 64)
	if err != nil || q <= 0 || q > 100 || math.IsNaN(q) {
		return 0, false
	}
	return q, true
}

// isLatency reports whether the rule is on a latency.
func (t *Threshold) isLatency() bool {
	switch t.stat {
	case statQuantile, statMin, statMean, statMax:
		return true
	}
	return false
}

// ScaleFree reports whether the rule means the same on a share of the
// load as on the whole: latencies, and errors or an error kind as a share
// of requests (a check rate). Counts and rates (rps, requests, errors
// as a count, sessions, iterations) grow with the load, so a segment of a
// split test cannot judge them: CheckThresholds leaves them to the merge.
func (t Threshold) ScaleFree() bool {
	return t.isLatency() || (t.stat == statErrors || t.stat == statKind) && t.rate
}

var ops = []string{"<=", ">=", "==", "!=", "<", ">"} // longest first

func (t *Threshold) parseCondition(cond string) error {
	lead := len(cond) - len(strings.TrimLeftFunc(cond, unicode.IsSpace))
	rest := cond[lead:]
	col := utf8.RuneCountInString(cond[:lead]) + 1
	for _, op := range ops {
		if strings.HasPrefix(rest, op) {
			t.op = op
			break
		}
	}
	if t.op == "" {
		return condErr(col, "expected a comparison like \"< 300ms\" (one of < <= > >= == !=), got %q", cond)
	}
	after := rest[len(t.op):]
	vlead := len(after) - len(strings.TrimLeftFunc(after, unicode.IsSpace))
	vcol := col + len(t.op) + utf8.RuneCountInString(after[:vlead])
	v := strings.TrimSpace(after)
	if v == "" {
		return condErr(vcol, "expected a value after %s", t.op)
	}
	var err error
	switch {
	case t.isLatency():
		err = t.parseDuration(v)
	case t.stat == statErrors && t.rate:
		err = t.parseRate(v)
	case t.stat == statErrors || t.stat == statKind:
		err = t.parseCountOrRate(v)
	case t.stat == statRPS:
		err = t.parseNumber(strings.TrimSuffix(v, "/s"), "a rate like 500 or 500/s")
	default:
		err = t.parseNumber(v, "a count like 0 or 100")
	}
	if err != nil {
		return condErr(vcol, "%v", err)
	}
	return nil
}

func (t *Threshold) parseDuration(v string) error {
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return fmt.Errorf("%s is a latency: expected a duration like 300ms or 1.5s, got %q (missing unit)", t.Metric, v)
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("%s is a latency: expected a duration like 300ms or 1.5s, got %q", t.Metric, v)
	}
	t.value = float64(d) / float64(time.Millisecond)
	return nil
}

func (t *Threshold) parseCountOrRate(v string) error {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f < 0 || f > 100 || math.IsNaN(f) {
			return fmt.Errorf("expected a percentage like 0.1%%, got %q", v)
		}
		t.value, t.rate = f/100, true
		return nil
	}
	return t.parseNumber(v, "a count like 0 or a share of requests like 0.1%")
}

// parseRate reads error_rate's value: a percentage (1%) or a fraction
// (0.01).
func (t *Threshold) parseRate(v string) error {
	if strings.HasSuffix(v, "%") {
		return t.parseCountOrRate(v)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 || math.IsNaN(f) {
		return fmt.Errorf("error_rate is a share of requests: expected a percentage like 1%% or a fraction like 0.01, got %q", v)
	}
	t.value = f
	return nil
}

func (t *Threshold) parseNumber(v, want string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("expected %s, got %q", want, v)
	}
	t.value = f
	return nil
}

// Endpoint is the endpoint the rule is on; "" means the totals (of the
// run or of Scenario), a group or a run-wide count. A plan loader uses it
// to reject unknown endpoints.
func (t Threshold) Endpoint() string { return t.endpoint }

// Scenario is the scenario the rule names ("scenario NAME ..."), or "".
func (t Threshold) Scenario() string { return t.scenario }

// Group is the group the rule is on ("group NAME STAT"), or "".
func (t Threshold) Group() string { return t.group }

// Expr is the rule as one string, e.g. "catalog p99 < 300ms".
func (t Threshold) Expr() string {
	return strings.TrimSpace(t.Metric) + " " + strings.TrimSpace(t.Condition)
}

// ThresholdResult is a rule's verdict, in results.json.
type ThresholdResult struct {
	Expr string `json:"expr"`
	OK   bool   `json:"ok"`
	// Observed is the measured value in Unit: ms for latencies, % for
	// rates, /s for rps, a count otherwise.
	Observed float64 `json:"observed"`
	Unit     string  `json:"unit,omitempty"`
	// Corrected says the latency is End−Intended (coordinated omission
	// corrected), as it is wherever samples had intended times.
	Corrected bool `json:"corrected,omitempty"`
	// Error says why the rule could not be evaluated (it then fails).
	Error string `json:"error,omitempty"`
	// Deferred says a segment of a split test left the rule to the merged
	// whole (it is not ScaleFree): OK says nothing then, and Observed is
	// the segment's own share.
	Deferred bool `json:"deferred,omitempty"`
}

// CheckThresholds evaluates ts against r, stores the verdicts in
// r.Thresholds and reports whether every rule held. Results of a segment
// of a split test (r.Segment set) judge only the ScaleFree rules; the
// others are Deferred to the merged whole (load merge --thresholds).
func CheckThresholds(r *Results, ts []Threshold) bool {
	r.Thresholds = make([]ThresholdResult, 0, len(ts))
	ok := true
	for _, t := range ts {
		v := t.Evaluate(r)
		if r.Segment != "" && !t.ScaleFree() {
			v.OK, v.Deferred = true, true
		}
		ok = ok && v.OK
		r.Thresholds = append(r.Thresholds, v)
	}
	return ok
}

// ThresholdsOK reports whether every verdict in r passed.
func (r *Results) ThresholdsOK() bool {
	for _, v := range r.Thresholds {
		if !v.OK {
			return false
		}
	}
	return true
}

// Evaluate checks the rule against a run's results. Percentiles come from
// the embedded histograms, so any quantile is exact to the histogram's
// precision; corrected latencies are used where the endpoint has them.
func (t Threshold) Evaluate(r *Results) ThresholdResult {
	res := ThresholdResult{Expr: t.Expr()}
	e, err := t.target(r)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	var obs float64
	switch t.stat {
	case statQuantile, statMin, statMean, statMax:
		v, corrected, err := t.latency(e)
		if err != nil {
			res.Error = err.Error()
			return res
		}
		obs, res.Unit, res.Corrected = v, "ms", corrected
	case statErrors, statKind:
		n := e.Errors
		if t.stat == statKind {
			n = e.ErrorsByKind[t.field]
		}
		obs = float64(n)
		if t.rate {
			obs, res.Unit = 0, "%"
			if e.Requests > 0 {
				obs = float64(n) / float64(e.Requests)
			}
		}
	case statRPS:
		obs, res.Unit = e.RPS, "/s"
	case statRequests:
		obs = float64(e.Requests)
	case statSession:
		obs = float64(sessionFields[t.field](r.Sessions))
	case statIters:
		obs = float64(r.Iterations.Completed)
		if t.scenario != "" {
			obs = 0
			if sc := r.scenarioNamed(t.scenario); sc != nil {
				obs = float64(sc.Iterations)
			}
		}
	case statDropped:
		obs = float64(r.Iterations.Dropped)
	case statOverran:
		obs = float64(r.Iterations.Overran)
	}
	res.OK = compare(obs, t.op, t.value)
	res.Observed = obs
	if res.Unit == "%" {
		res.Observed = 100 * obs
	}
	return res
}

// target is the figures the rule judges: the totals, an endpoint, a
// group, or a scenario's totals; several of them merged where the rule's
// name is in several scenarios (or groups).
func (t Threshold) target(r *Results) (*EndpointResult, error) {
	if t.scenario != "" && r.scenarioNamed(t.scenario) == nil && !slices.ContainsFunc(r.Endpoints, func(e EndpointResult) bool { return e.Scenario == t.scenario }) {
		return nil, fmt.Errorf("no scenario %q in the results", t.scenario)
	}
	inScenario := func(e *EndpointResult) bool { return t.scenario == "" || e.Scenario == t.scenario }
	var list []EndpointResult
	var match func(*EndpointResult) bool
	what := ""
	switch {
	case t.group != "":
		list, what = r.Groups, fmt.Sprintf("no group %q", t.group)
		match = func(e *EndpointResult) bool { return e.Name == t.group && inScenario(e) }
	case t.endpoint != "" && !strings.EqualFold(t.endpoint, TotalName):
		list, what = r.Endpoints, fmt.Sprintf("no endpoint %q", t.endpoint)
		match = func(e *EndpointResult) bool { return e.Name == t.endpoint && inScenario(e) }
	case t.scenario != "":
		list, what = r.Endpoints, ""
		match = inScenario
	default:
		return &r.Totals, nil
	}
	var es []*EndpointResult
	for i := range list {
		if match(&list[i]) {
			es = append(es, &list[i])
		}
	}
	name := cmp.Or(t.group, t.endpoint, t.scenario)
	switch {
	case len(es) == 1:
		return es[0], nil
	case len(es) == 0 && what != "":
		if t.scenario != "" {
			what += fmt.Sprintf(" in scenario %q", t.scenario)
		}
		return nil, errors.New(what + " in the results")
	}
	m, err := mergeEndpoint(name, es, r.DurationS)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// scenarioNamed returns r's scenario called name, or nil.
func (r *Results) scenarioNamed(name string) *ScenarioResult {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// latency reads the rule's latency statistic from e, in ms.
func (t Threshold) latency(e *EndpointResult) (v float64, corrected bool, err error) {
	enc, p := e.HDR, e.Latency
	// Without intended times, corrected is the service time: say plain.
	if e.HasIntended() {
		enc, corrected = e.CorrectedHDR, true
		if e.Corrected != nil {
			p = *e.Corrected
		}
	}
	if e.Requests == 0 {
		return 0, corrected, fmt.Errorf("%s had no requests", e.Name)
	}
	if t.ok {
		enc, p = e.OKHDR, Percentiles{}
		if e.OKLatency != nil {
			p = *e.OKLatency
		}
		if corrected {
			enc, p = e.OKCorrectedHDR, Percentiles{}
			if e.OKCorrected != nil {
				p = *e.OKCorrected
			}
		}
		if e.Requests == e.Errors {
			return 0, corrected, fmt.Errorf("%s had no OK requests", e.Name)
		}
	}
	if enc != "" {
		h, err := DecodeHDR(enc)
		if err != nil {
			return 0, corrected, err
		}
		switch t.stat {
		case statMin:
			return ms(h.Min()), corrected, nil
		case statMean:
			return h.Mean() / 1000, corrected, nil
		case statMax:
			return ms(h.Max()), corrected, nil
		}
		return ms(h.ValueAtQuantile(t.quantile)), corrected, nil
	}
	// Results without histograms (hand-written, or trimmed): the rounded
	// figures, for the quantiles they carry.
	switch {
	case t.stat == statMin:
		return p.Min, corrected, nil
	case t.stat == statMean:
		return p.Mean, corrected, nil
	case t.stat == statMax:
		return p.Max, corrected, nil
	}
	for _, c := range []struct {
		q float64
		v float64
	}{{50, p.P50}, {90, p.P90}, {95, p.P95}, {99, p.P99}, {99.9, p.P999}} {
		if c.q == t.quantile {
			return c.v, corrected, nil
		}
	}
	return 0, corrected, fmt.Errorf("%s has no histogram to compute p%g from", e.Name, t.quantile)
}

func compare(a float64, op string, b float64) bool {
	switch op {
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "==":
		return a == b
	case "!=":
		return a != b
	}
	return false
}

// FormatObserved formats a verdict's observed value with its unit.
func (v ThresholdResult) FormatObserved() string {
	if v.Error != "" {
		return v.Error
	}
	s := sig3(v.Observed)
	switch v.Unit {
	case "ms":
		s += "ms"
		if v.Corrected {
			s += " (corrected)"
		}
	case "%":
		s = strconv.FormatFloat(v.Observed, 'f', -1, 64)
		if len(s) > 6 {
			s = sig3(v.Observed)
		}
		s += "%"
	case "/s":
		s += "/s"
	default:
		s = strconv.FormatFloat(v.Observed, 'f', -1, 64)
	}
	return s
}
