package stats

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteSummary writes the end-of-run table: one row per endpoint and a
// TOTAL row (requests, rps, errors %, latency percentiles in ms of the OK
// responses, as Gatling's; failed ones are in the results), then
// sessions, iterations, connections, errors by kind and warnings.
//
// Where an endpoint has corrected latencies (End−Intended), they are its
// headline, marked "*", and its service times (End−Start) follow in a
// second table.
func WriteSummary(out io.Writer, r *Results) error {
	return WriteSummaryWith(out, r, SummaryOptions{})
}

// SummaryOptions selects the optional parts of the summary.
type SummaryOptions struct {
	// Phases adds, per endpoint, where the time went (DNS, connect, TLS,
	// time to first byte, body read) and connection reuse.
	Phases bool
}

// WriteSummaryWith is WriteSummary with optional parts.
//
// With several scenarios, the endpoints are listed under their scenario,
// each scenario with a subtotal (its endpoints merged exactly), then the
// TOTAL. Groups (transactions) get a table of their own: duration and
// service time.
func WriteSummaryWith(out io.Writer, r *Results, o SummaryOptions) error {
	w := &errWriter{w: out}
	rows, err := summaryRows(r)
	if err != nil {
		return err
	}
	nameW := len("endpoint")
	// Corrected figures are the headline where some request had an
	// intended time; they cover every request (End−Start where it had
	// none), and the endpoints without any are named below the table.
	anyCorrected := false
	var noIntended []string
	for _, e := range rows {
		nameW = max(nameW, len(e.label)+2)
		anyCorrected = anyCorrected || (e.Corrected != nil && e.HasIntended())
	}
	for _, e := range r.Endpoints {
		if e.Requests > 0 && !e.HasIntended() {
			n := e.Name
			if e.Group != "" {
				n += " (" + e.Group + ")"
			}
			if len(summaryScenarios(r)) > 1 {
				n = e.Scenario + "/" + n
			}
			noIntended = append(noIntended, n)
		}
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\trequests\trps\terrors\tp50\tp90\tp95\tp99\tp99.9\tmax\t\n", nameW, "endpoint")
	for _, e := range rows {
		if e.heading {
			fmt.Fprintf(tw, "%-*s\t\t\t\t\t\t\t\t\t\t\n", nameW, e.label)
			continue
		}
		name := e.label
		if anyCorrected && e.Corrected != nil {
			name += " *"
		}
		fmt.Fprintf(tw, "%-*s\t%d\t%s\t%s\t%s\t\n", nameW, name, e.Requests, sig3(e.RPS), errPercent(e.EndpointResult), okCells(e.EndpointResult, anyCorrected))
	}
	_ = tw.Flush() // w keeps the error
	if anyCorrected {
		fmt.Fprintln(w, "latencies in ms of OK responses (failed ones: results.json failed_latency_ms); * = from the intended start (corrected for coordinated omission); service times below")
		if len(noIntended) > 0 {
			fmt.Fprintf(w, "no intended time (corrected = service time): %s\n", strings.Join(noIntended, ", "))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "service time (from the actual start), ms")
		fmt.Fprintf(tw, "%-*s\tp50\tp90\tp95\tp99\tp99.9\tmax\t\n", nameW, "endpoint")
		for _, e := range rows {
			switch {
			case e.heading:
				fmt.Fprintf(tw, "%-*s\t\t\t\t\t\t\t\n", nameW, e.label)
			case e.Corrected != nil && e.HasIntended():
				fmt.Fprintf(tw, "%-*s\t%s\t\n", nameW, e.label, okCells(e.EndpointResult, false))
			}
		}
		_ = tw.Flush()
	} else {
		fmt.Fprintln(w, "latencies in ms of OK responses (failed ones: results.json failed_latency_ms)")
	}
	if t := r.Totals; t.Overflow > 0 || t.CorrectedOverflow > 0 {
		fmt.Fprintf(w, "clamped:      %d latencies (%d corrected) outside 0..60 s, recorded as 60 s: percentiles that reached it read ≥ 60 s (>=60000)\n", t.Overflow, t.CorrectedOverflow)
	}
	writeGroups(w, r.Groups, len(summaryScenarios(r)) > 1)

	fmt.Fprintln(w)
	s := r.Sessions
	unique := fmt.Sprintf("%d unique, %d rotated on login", s.Unique, s.RotatedOnLogin)
	if !s.Known() {
		unique = "unique unknown (no session token seen)"
	}
	fmt.Fprintf(w, "sessions:     %d established, %s, %d login failures, %d rejected, %d relogins, %d expired",
		s.Established, unique, s.LoginFailures, s.Rejected, s.Relogins, s.Expired)
	if s.RotatedByServer > 0 {
		fmt.Fprintf(w, ", %d rotated by server", s.RotatedByServer)
	}
	fmt.Fprintln(w)
	if s.TopLoginFailures > 0 {
		fmt.Fprintf(w, "login failed: %d times, most often (%d): %s\n", s.LoginFailures, s.TopLoginFailures, s.TopLoginFailure)
	}
	fmt.Fprintf(w, "iterations:   %d completed, %d dropped\n", r.Iterations.Completed, r.Iterations.Dropped)
	if n := r.Iterations.Overran; n > 0 {
		fmt.Fprintf(w, "overran:      %d paced iterations took longer than their pace (the next started late: corrected latency includes it)\n", n)
	}
	if scs := summaryScenarios(r); len(scs) > 1 {
		for _, sc := range r.Scenarios {
			share := "own load"
			if sc.Weight > 0 {
				share = "weight " + strconv.FormatFloat(sc.Weight, 'f', -1, 64)
			}
			fmt.Fprintf(w, "scenario:     %s (%s): %d VUs max, %d iterations, %d requests, %s errors\n",
				sc.Name, share, sc.VUsMax, sc.Iterations, sc.Requests, errPercent(EndpointResult{Requests: sc.Requests, Errors: sc.Errors}))
		}
	}
	if len(r.VUs.Stopped) > 0 {
		fmt.Fprintf(w, "vus stopped:  %s before the end\n", errorList(r.VUs.Stopped))
	}
	// Only what took at least a millisecond: a part of no length is noise.
	var apart []string
	for _, p := range []struct {
		s    float64
		what string
	}{{r.WarmupS, "warm-up"}, {r.SetupS, "setup (preallocated VUs' logins)"}, {r.StartWaitS, "wait for --start-at"}} {
		if p.s >= 0.001 {
			apart = append(apart, sig3(p.s)+" s "+p.what)
		}
	}
	if len(apart) > 0 {
		fmt.Fprintf(w, "window:       %s s measured; not counted: %s\n", sig3(r.DurationS), strings.Join(apart, ", "))
	}
	fmt.Fprintf(w, "connections:  %d dials, %.1f%% of requests on a reused connection",
		r.Connections.Dials, 100*r.Connections.ReuseRatio)
	if r.DurationS > 0 {
		fmt.Fprintf(w, ", %s new dials/s", sig3(float64(r.Connections.Dials)/r.DurationS))
	}
	fmt.Fprintln(w)
	if g := r.Generator; g != nil {
		seed := "seed " + strconv.FormatUint(g.Seed, 10)
		if len(r.MergedFrom) > 0 {
			seed = "segments merged: worst CPU share, CPU time summed, seeds in merged_from"
		}
		fmt.Fprintf(w, "generator:    CPU %.0f%% of %d (%.1f s), peak RSS %.0f MB, %d GCs (pauses: max %.2f ms, total %.1f ms), %s\n",
			100*g.CPUUtil, g.Procs, g.CPUSeconds, g.MaxRSSMB, g.GCCount, g.GCPauseMaxMs, g.GCPauseTotalMs, seed)
		if l := g.ScheduleLag; l != nil {
			fmt.Fprintf(w, "schedule lag: p50 %s, p99 %s, max %s ms over %d scheduled starts (how late the generator itself was)\n",
				sig3(l.P50), sig3(l.P99), sig3(l.Max), g.ScheduledCount)
		}
	}
	writeServer(w, r.Server, logouts(r))
	writeErrors(w, r)
	for _, msg := range r.Warnings {
		fmt.Fprintf(w, "warning:      %s\n", msg)
	}
	if o.Phases {
		var eps []summaryRow
		several := len(summaryScenarios(r)) > 1
		for _, e := range rows[:len(rows)-1] { // not the TOTAL
			if !e.heading && !e.subtotal {
				if several {
					// Without the headings, the scenario says whose it is.
					e.label = e.Scenario + ": " + strings.TrimSpace(e.label)
				}
				eps = append(eps, e)
			}
		}
		writePhases(w, eps, nameW)
	}
	writeThresholds(w, r.Thresholds)
	return w.err
}

// writePhases is the breakdown table: p50 / p99 of each phase per
// endpoint, in ms, and the endpoint's connection reuse.
func writePhases(w io.Writer, rows []summaryRow, nameW int) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "where the time went, p50 / p99 in ms (dns, connect and tls on new connections only)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s	", nameW, "endpoint")
	for _, n := range phaseNames {
		fmt.Fprintf(tw, "%s	", n)
	}
	fmt.Fprintln(tw, "reused	")
	for _, e := range rows {
		fmt.Fprintf(tw, "%-*s	", nameW, e.label)
		var ps [numPhases]*PhaseStats
		if e.Phases != nil {
			for i, p := range e.Phases.List() {
				ps[i] = p.Stats
			}
		}
		for _, p := range ps {
			if p == nil {
				fmt.Fprint(tw, "-	")
				continue
			}
			fmt.Fprintf(tw, "%s / %s	", sig3(p.P50), sig3(p.P99))
		}
		fmt.Fprintf(tw, "%.1f%%	\n", 100*e.ReuseRatio)
	}
	_ = tw.Flush()
}

// summaryRow is one row of the endpoints table: an endpoint, a
// scenario's heading or subtotal, or the TOTAL.
type summaryRow struct {
	EndpointResult
	label    string
	heading  bool // a scenario's name, no figures
	subtotal bool
}

// summaryScenarios are the scenario names of r's endpoints and
// scenarios, in order of first appearance.
func summaryScenarios(r *Results) []string {
	var out []string
	for _, sc := range r.Scenarios {
		if !slices.Contains(out, sc.Name) {
			out = append(out, sc.Name)
		}
	}
	for _, e := range r.Endpoints {
		if !slices.Contains(out, e.Scenario) {
			out = append(out, e.Scenario)
		}
	}
	return out
}

// summaryRows are the endpoints table's rows: with one scenario the
// endpoints then the TOTAL; with several, each scenario's heading, its
// endpoints (indented) and its subtotal, then the TOTAL.
func summaryRows(r *Results) ([]summaryRow, error) {
	label := func(e EndpointResult, indent string) string {
		if e.Group != "" {
			return indent + e.Name + " (" + e.Group + ")"
		}
		return indent + e.Name
	}
	var rows []summaryRow
	scs := summaryScenarios(r)
	if len(scs) <= 1 {
		for _, e := range r.Endpoints {
			rows = append(rows, summaryRow{EndpointResult: e, label: label(e, "")})
		}
	} else {
		for _, sc := range scs {
			var es []*EndpointResult
			head := "scenario " + sc
			if sc == "" {
				head = "no scenario"
			}
			rows = append(rows, summaryRow{label: head, heading: true})
			for i := range r.Endpoints {
				if e := &r.Endpoints[i]; e.Scenario == sc {
					es = append(es, e)
					rows = append(rows, summaryRow{EndpointResult: *e, label: label(*e, "  ")})
				}
			}
			sub, err := mergeEndpoint("subtotal", es, r.DurationS)
			if err != nil {
				return nil, fmt.Errorf("summary: scenario %s: %w", sc, err)
			}
			sub.Scenario = sc
			rows = append(rows, summaryRow{EndpointResult: sub, label: "  subtotal", subtotal: true})
		}
	}
	return append(rows, summaryRow{EndpointResult: r.Totals, label: "TOTAL"}), nil
}

// writeGroups is the groups table: per group its runs, errors, duration
// (corrected where marked *) and service time percentiles, in ms.
func writeGroups(w io.Writer, gs []EndpointResult, scenarios bool) {
	if len(gs) == 0 {
		return
	}
	nameW := len("group")
	for _, g := range gs {
		nameW = max(nameW, len(g.Name)+2)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "groups: duration from the first request's start to the last response's end (think times included), service = the sum of its requests' service times, ms")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\t", nameW, "group")
	if scenarios {
		fmt.Fprint(tw, "scenario\t")
	}
	fmt.Fprintln(tw, "count\terrors\tp50\tp95\tp99\tmax\tservice p50\tp95\tp99\t")
	for _, g := range gs {
		name, p := g.Name, g.Latency
		if g.Corrected != nil && g.HasIntended() {
			name, p = name+" *", *g.Corrected
		}
		fmt.Fprintf(tw, "%-*s\t", nameW, name)
		if scenarios {
			fmt.Fprintf(tw, "%s\t", g.Scenario)
		}
		var svc Percentiles
		if g.Service != nil {
			svc = *g.Service
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", g.Requests, errPercent(g), latCell(p.P50), latCell(p.P95), latCell(p.P99), latCell(p.Max),
			latCell(svc.P50), latCell(svc.P95), latCell(svc.P99))
	}
	_ = tw.Flush()
}

// writeThresholds lists the verdicts, ✓ or ✗, with what was observed.
func writeThresholds(w io.Writer, ts []ThresholdResult) {
	if len(ts) == 0 {
		return
	}
	failed, deferred := 0, 0
	exprW := 0
	for _, t := range ts {
		exprW = max(exprW, len([]rune(t.Expr)))
		if !t.OK {
			failed++
		}
		if t.Deferred {
			deferred++
		}
	}
	fmt.Fprintln(w)
	judged := ""
	if deferred > 0 {
		judged = fmt.Sprintf(" (%d judged on the merged whole: load merge --thresholds)", deferred)
	}
	if failed == 0 {
		fmt.Fprintf(w, "thresholds:   all %d passed%s\n", len(ts)-deferred, judged)
	} else {
		fmt.Fprintf(w, "thresholds:   %d of %d FAILED%s\n", failed, len(ts)-deferred, judged)
	}
	for _, t := range ts {
		mark := "✓"
		if !t.OK {
			mark = "✗"
		}
		pad := strings.Repeat(" ", exprW-len([]rune(t.Expr)))
		if t.Deferred {
			fmt.Fprintf(w, "  · %s%s  judged on the merged whole (this segment: %s)\n", t.Expr, pad, t.FormatObserved())
			continue
		}
		fmt.Fprintf(w, "  %s %s%s  observed %s\n", mark, t.Expr, pad, t.FormatObserved())
	}
}

// errWriter keeps the first write error and drops later writes, so the
// summary's many prints check errors once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// latencyCells formats p50 .. max as tab-separated cells.
// okCells are e's headline latency cells: of its OK responses, corrected
// if corrected; "-" where every request failed. Results older than
// ok_latency_ms give all requests' figures.
func okCells(e EndpointResult, corrected bool) string {
	p, ok := e.Latency, e.OKLatency
	if corrected && e.Corrected != nil {
		p, ok = *e.Corrected, e.OKCorrected
	}
	switch {
	case ok != nil:
		p = *ok
	case e.Requests > 0 && e.Errors >= e.Requests:
		return strings.Repeat("-\t", 5) + "-"
	}
	return latencyCells(p)
}

func latencyCells(p Percentiles) string {
	return strings.Join([]string{latCell(p.P50), latCell(p.P90), latCell(p.P95), latCell(p.P99), latCell(p.P999), latCell(p.Max)}, "\t")
}

// ClampMs is the largest latency a histogram holds, in ms (60 s): a
// longer one is clamped to it and counted (EndpointResult.Overflow).
const ClampMs = float64(highestMicros) / 1000

// latCell is a latency cell: ">=60000" where the figure reached the
// clamp, so it is a lower bound and not a measurement.
func latCell(v float64) string {
	if v >= ClampMs {
		return ">=60000"
	}
	return sig3(v)
}

// writeErrors writes the error rate with the errors by kind, and beside
// them the sessions lost (events, not errors: the VU logged in again).
func writeErrors(w io.Writer, r *Results) {
	kinds := make(map[string]int64, len(r.ErrorsByKind))
	for k, n := range r.ErrorsByKind {
		if k != SessionLost.String() {
			kinds[k] = n
		}
	}
	errs := errorList(kinds)
	lost := r.ErrorsByKind[SessionLost.String()]
	if errs == "" && lost == 0 {
		return
	}
	fmt.Fprintf(w, "errors:       %s of requests", errPercent(r.Totals))
	if errs != "" {
		fmt.Fprintf(w, ": %s", errs)
	}
	if lost > 0 {
		fmt.Fprintf(w, "; session_lost %d (sessions the server dropped; each VU logged in again and retried the step)", lost)
	}
	fmt.Fprintln(w)
}

// errPercent formats an endpoint's error rate.
func errPercent(e EndpointResult) string {
	if e.Requests == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(e.Errors)/float64(e.Requests), 'f', 2, 64) + "%"
}

// sig3 formats v with 3 significant digits, and no exponent: 0.0123,
// 1.23, 12.3, 123, 1234.
func sig3(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	prec := 2 - int(math.Floor(math.Log10(math.Abs(v))))
	return strconv.FormatFloat(v, 'f', max(prec, 0), 64)
}

// errorList formats the non-zero error counts in Kind order, then any
// names this version does not know, sorted.
func errorList(m map[string]int64) string {
	var parts []string
	for k := OK + 1; k < NumKinds; k++ {
		if n := m[k.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	var unknown []string
	for name, n := range m {
		if _, ok := ParseKind(name); !ok && n > 0 {
			unknown = append(unknown, fmt.Sprintf("%s %d", name, n))
		}
	}
	slices.Sort(unknown)
	return strings.Join(append(parts, unknown...), ", ")
}

// LogoutEndpoint is the endpoint of the VUs' logout requests (vuser's
// EndpointLogout; stats cannot import vuser).
const LogoutEndpoint = "logout"

// logouts counts the logout requests that succeeded.
func logouts(r *Results) int64 {
	for _, e := range r.Endpoints {
		if e.Name == LogoutEndpoint {
			return max(e.Requests-e.Errors, 0)
		}
	}
	return 0
}

// writeServer shows the server's own session figures beside the client's;
// logouts are the VUs' successful logouts.
func writeServer(w io.Writer, s *ServerResult, logouts int64) {
	if s == nil {
		return
	}
	if s.First == nil || s.Last == nil {
		fmt.Fprintf(w, "server:       %s at %s: no answer in %d polls (last: %s)\n", s.Kind, s.URL, s.Polls, s.LastError)
		return
	}
	f, l := s.First, s.Last
	// The server's "expired" counter counts every session it ended:
	// Tomcat's expiredSessions grows on invalidate (a logout) as on a
	// timeout. The VUs' successful logouts tell the two apart.
	ended := l.ExpiredSessions - f.ExpiredSessions
	loggedOut := min(logouts, max(ended, 0))
	fmt.Fprintf(w, "server:       %s: active sessions %d -> %d (peak %d), created +%d, refused +%d, ended +%d (logged out %d, expired %d)",
		s.Kind, f.ActiveSessions, l.ActiveSessions, s.PeakActive,
		l.SessionCounter-f.SessionCounter, l.RejectedSessions-f.RejectedSessions, ended, loggedOut, ended-loggedOut)
	if l.MaxActiveSessions >= 0 {
		fmt.Fprintf(w, ", cap %d", l.MaxActiveSessions)
	}
	if s.PeakHeapMB > 0 {
		fmt.Fprintf(w, ", heap peak %.0f MB", s.PeakHeapMB)
	}
	fmt.Fprintf(w, " (%d polls, %d failed)\n", s.Polls, s.Failures)
	if c := s.Check; c != nil {
		verdict := "client and server agree"
		if !c.OK {
			verdict = "MISMATCH (see warnings)"
		}
		fmt.Fprintf(w, "consistency:  sessions created: client %d, server %d; rejected: client %d, server %d: %s\n",
			c.ClientCreated, c.ServerCreated, c.ClientRejected, c.ServerRejected, verdict)
	}
}
