package profiles

import (
	"fmt"
	"math"
	"time"

	"github.com/sessionload/load/stats"
)

// The limits a capacity step can break, by the name the search reports.
const (
	SignalCap         = "session cap"
	SignalResponse    = "response time"
	SignalThreads     = "thread pool"
	SignalConnections = "connections"
	SignalHeap        = "heap after GC"
	SignalCPU         = "CPU"
	SignalErrors      = "errors"
	SignalUsers       = "users"
)

// advice is what the recommendation is computed from.
type advice struct {
	knee          int
	binding       string
	configuredCap int64
	raised        bool
	kneeStep      *stats.CapacityStep // the knee's figures (nil without a knee)
	brokeStep     *stats.CapacityStep // the step that broke above the knee
	sweep         time.Duration       // backgroundProcessorDelay × processExpiresFrequency
	sweepKnown    bool
	sweepFrom     string // how the sweep was found
	target        int    // sessions the user wants to test for without traffic figures (--max)
	arrivalRate   float64
	activeTime    time.Duration
	abandonShare  float64
	timeout       time.Duration
	headroom      float64
}

// recommend turns the knee into settings, every number with its formula.
// Rounding always goes toward safety: sessions needed up, the cap and the
// timeout down (the timeout to whole minutes, as web.xml takes it).
func recommend(in advice) []stats.Figure {
	var out []stats.Figure
	add := func(name string, v float64, unit, format string, args ...any) {
		out = append(out, stats.Figure{Name: name, Value: v, Unit: unit, Formula: fmt.Sprintf(format, args...)})
	}
	if in.knee == 0 {
		add("capacity", 0, "sessions", "no step passed twice: start lower (--start) to find the knee")
		return out
	}
	capBound := in.binding == SignalCap && !in.raised
	switch {
	case capBound:
		add("capacity", float64(in.knee), "sessions", "highest step that passed twice = %d; the configured cap (maxActiveSessions = %d) is the binding limit, not a resource: "+
			"the resources held all %d sessions (%s); run with --raise-cap to find the resource knee beyond it", in.knee, in.configuredCap, in.knee, resourceLine(in.kneeStep))
	case in.binding == "":
		add("capacity", float64(in.knee), "sessions", "highest step that passed twice = %d; no limit was reached (the largest step tried): the real knee is higher", in.knee)
	default:
		add("capacity", float64(in.knee), "sessions", "highest step that passed twice = %d; binding limit: %s", in.knee, in.binding)
	}
	sweep, sweepHow := in.sweep, in.sweepFrom
	if !in.sweepKnown {
		sweep, sweepHow = 60*time.Second, "backgroundProcessorDelay 10 s × processExpiresFrequency 6 (Tomcat's defaults; not read from the server)"
	}
	add("expiry sweep delay", sweep.Seconds(), "s", "%s = %.0f s: an expired session keeps its slot up to this long", sweepHow, sweep.Seconds())

	var maxActive float64
	if capBound {
		maxActive = float64(in.configuredCap)
		add("maxActiveSessions", maxActive, "sessions", "keep the configured %d: it bound the search before any resource did, so it is not evidence for a lower cap or a shorter timeout", in.configuredCap)
	} else {
		maxActive = math.Floor(float64(in.knee) * (1 - in.headroom))
		add("maxActiveSessions", maxActive, "sessions", "⌊knee × (1 − headroom)⌋ = ⌊%d × (1 − %.2f)⌋ = %.0f (the cap refuses sessions before the server reaches its knee; headroom %.0f%%)",
			in.knee, in.headroom, maxActive, 100*in.headroom)
	}
	if in.binding == SignalThreads && in.brokeStep != nil && in.kneeStep != nil {
		out = append(out, threadAdvice(in, maxActive)...)
	}
	if in.arrivalRate <= 0 || in.activeTime <= 0 {
		add("session timeout", in.timeout.Seconds(), "s", "give --arrival-rate and --active-time to size the cap and the timeout for your traffic")
		return out
	}
	lambda, act, a, t, d := in.arrivalRate, in.activeTime.Seconds(), in.abandonShare, in.timeout.Seconds(), sweep.Seconds()
	held := math.Ceil(lambda * (act + a*(t+d)))
	add("sessions held", held, "sessions", "⌈arrival rate × (active time + abandon share × (timeout + sweep delay))⌉ = ⌈%.4g/s × (%.0f s + %.2f × (%.0f s + %.0f s))⌉ = %.0f (Little's law)",
		lambda, act, a, t, d, held)
	if held <= maxActive {
		add("headroom left", maxActive-held, "sessions", "maxActiveSessions − sessions held = %.0f − %.0f = %.0f", maxActive, held, maxActive-held)
		add("session timeout", t, "s", "keep %s: the traffic needs %.0f sessions, the cap allows %.0f", in.timeout, held, maxActive)
		return out
	}
	if capBound {
		add("sessions short", held-maxActive, "sessions", "sessions held − maxActiveSessions = %.0f − %.0f = %.0f: raise maxActiveSessions (--raise-cap shows how far the resources allow) or add servers; "+
			"shortening the timeout to fit the configured cap would be advice from your own setting, not from a limit", held, maxActive, held-maxActive)
		return out
	}
	// Solve λ × (act + a × (t' + d)) = maxActive for t'.
	if a > 0 {
		fit := (maxActive/lambda-act)/a - d
		minutes := math.Floor(fit / 60)
		if minutes >= 1 {
			add("session timeout", minutes*60, "s", "(maxActiveSessions / arrival rate − active time) / abandon share − sweep delay = (%.0f / %.4g − %.0f) / %.2f − %.0f = %.0f s → ⌊%.0f s / 60⌋ = %.0f min (rounded down, web.xml takes whole minutes)",
				maxActive, lambda, act, a, d, fit, fit, minutes)
			return out
		}
		add("session timeout", math.Max(fit, 0), "s", "(maxActiveSessions / arrival rate − active time) / abandon share − sweep delay = (%.0f / %.4g − %.0f) / %.2f − %.0f = %.0f s: under a minute, no timeout fits",
			maxActive, lambda, act, a, d, fit)
	}
	servers := math.Ceil(held / maxActive)
	add("servers", servers, "", "⌈sessions held / maxActiveSessions⌉ = ⌈%.0f / %.0f⌉ = %.0f at the %s timeout", held, maxActive, servers, in.timeout)
	return out
}

// threadAdvice sizes maxThreads by Little's law for the pool: busy
// threads = throughput × service time.
func threadAdvice(in advice, maxActive float64) []stats.Figure {
	k, b := in.kneeStep, in.brokeStep
	if b.MaxThreads <= 0 || b.RPS <= 0 || k.RPS <= 0 {
		return nil
	}
	var out []stats.Figure
	add := func(name string, v float64, unit, format string, args ...any) {
		out = append(out, stats.Figure{Name: name, Value: v, Unit: unit, Formula: fmt.Sprintf(format, args...)})
	}
	service := float64(b.MaxThreads) / b.RPS // seconds per request, the pool saturated
	perSession := k.RPS / float64(in.knee)
	target := float64(in.target)
	how := fmt.Sprintf("--max %d", in.target)
	if in.arrivalRate > 0 && in.activeTime > 0 {
		target = math.Ceil(in.arrivalRate * in.activeTime.Seconds())
		how = fmt.Sprintf("the %.0f users active at once (arrival rate × active time)", target)
	}
	add("service time", service*1000, "ms", "maxThreads / throughput at the saturated step = %d / %.4g req/s = %.4g ms per request", b.MaxThreads, b.RPS, service*1000)
	threads := math.Ceil(perSession * target * service * (1 + in.headroom))
	add("maxThreads", threads, "threads", "⌈requests per session per s × sessions × service time × (1 + headroom)⌉ = ⌈%.4g × %.0f × %.4g s × %.2f⌉ = %.0f for %s (now %d; CPU at the knee %s)",
		perSession, target, service, 1+in.headroom, threads, how, b.MaxThreads, pct(k.CPU))
	acc := math.Max(float64(b.AcceptCount), threads)
	add("acceptCount", acc, "connections", "max(acceptCount now, maxThreads) = max(%d, %.0f) = %.0f: connections past maxConnections (%d) wait in this queue instead of being refused",
		b.AcceptCount, threads, acc, b.MaxConnections)
	return out
}

// resourceLine says what the server's resources were at a step.
func resourceLine(s *stats.CapacityStep) string {
	if s == nil {
		return "no figures"
	}
	line := fmt.Sprintf("p95 %.3g ms", s.P95)
	if s.MaxThreads > 0 {
		line += fmt.Sprintf(", busy threads %d/%d", s.BusyThreads, s.MaxThreads)
	}
	if s.MaxConnections > 0 {
		line += fmt.Sprintf(", connections %d/%d", s.Connections, s.MaxConnections)
	}
	if s.HeapAfterGCMB >= 0 && s.HeapMaxMB > 0 {
		line += fmt.Sprintf(", heap after GC %.0f/%.0f MB", s.HeapAfterGCMB, s.HeapMaxMB)
	}
	if s.CPU >= 0 {
		line += ", CPU " + pct(s.CPU)
	}
	return line
}

func pct(share float64) string {
	if share < 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.0f%%", 100*share)
}
