// Package prom exposes a run's live figures to Prometheus: a stats.Sink
// that folds every interval into cumulative counters and latency
// histograms, and an HTTP endpoint that serves them. It listens on
// 127.0.0.1 unless told otherwise: a load generator's metrics are for the
// operator, not the network.
package prom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessionload/load/stats"
)

// Buckets are the latency histogram's upper bounds in seconds: 100 µs
// (a loopback or cached answer) to 60 s, about three per decade, as
// Prometheus histograms want few.
var Buckets = []float64{0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 60}

// endpoint is one endpoint's (or group's) cumulative figures.
type endpoint struct {
	scenario, group string // labels; group is the group's own name for a group
	isGroup         bool
	requests        uint64
	errors          map[string]uint64 // by kind
	lat, corr, svc  histogram
}

// histogram is a cumulative Prometheus histogram built from HDR intervals.
type histogram struct {
	count   uint64
	sum     float64 // seconds
	buckets []uint64
}

func (h *histogram) add(hd *hdrhistogram.Histogram) {
	if hd == nil || hd.TotalCount() == 0 {
		return
	}
	if h.buckets == nil {
		h.buckets = make([]uint64, len(Buckets))
	}
	n := hd.TotalCount()
	h.count += uint64(n)
	h.sum += hd.Mean() * float64(n) / 1e6
	for _, bar := range hd.Distribution() {
		if bar.Count == 0 {
			continue
		}
		// A bar's values are within HDR's precision of From: count them in
		// the first bucket whose bound is at least From.
		i := sort.SearchFloat64s(Buckets, float64(bar.From)/1e6)
		if i < len(Buckets) {
			h.buckets[i] += uint64(bar.Count)
		}
	}
}

// cumulative returns the buckets as Prometheus wants them: counts of
// values <= each bound.
func (h *histogram) cumulative() map[float64]uint64 {
	out := make(map[float64]uint64, len(Buckets))
	var acc uint64
	for i, b := range Buckets {
		if h.buckets != nil {
			acc += h.buckets[i]
		}
		out[b] = acc
	}
	return out
}

// Exporter is a stats.Sink and a prometheus.Collector.
//
// Concurrency: mu guards every field; Interval (the recorder's snapshot
// goroutine) writes, Collect (the HTTP server's goroutines) reads.
type Exporter struct {
	mu         sync.Mutex
	names      []string
	eps        []*endpoint
	scenarios  []string // by scenario id
	scIters    []uint64 // by scenario id
	vus        int
	sessions   stats.SessionCounts
	iterations uint64
	dropped    uint64
	server     *stats.ServerSample // the latest poll, or nil

	requests, errors, latency, corrected *prometheus.Desc
	vusDesc, sessionsDesc, iters, drops  *prometheus.Desc
	groupRuns, groupErrors, groupDur     *prometheus.Desc
	groupSvc, scenarioIters              *prometheus.Desc
	serverDescs                          []serverDesc
}

// serverDesc is one of the server's own figures.
type serverDesc struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(*stats.ServerSample) float64 // negative: the source does not give it
}

// serverFigures are the server's own figures (plan key server:, polled
// from Tomcat's Manager and ThreadPool MBeans or Spring Boot Actuator).
func serverFigures() []serverDesc {
	mb := func(v float64) float64 {
		if v < 0 {
			return -1
		}
		return v * (1 << 20)
	}
	d := func(name, help string, typ prometheus.ValueType, value func(*stats.ServerSample) float64) serverDesc {
		return serverDesc{prometheus.NewDesc("load_server_"+name, help, nil, nil), typ, value}
	}
	g, c := prometheus.GaugeValue, prometheus.CounterValue
	return []serverDesc{
		d("active_sessions", "The server's active sessions (Manager activeSessions).", g, func(s *stats.ServerSample) float64 { return float64(s.ActiveSessions) }),
		d("max_active", "The server's high-water mark of active sessions (Manager maxActive).", g, func(s *stats.ServerSample) float64 { return float64(s.MaxActive) }),
		d("max_active_sessions", "The server's cap on active sessions (Manager maxActiveSessions).", g, func(s *stats.ServerSample) float64 { return float64(s.MaxActiveSessions) }),
		d("rejected_sessions_total", "Sessions the server refused to create (Manager rejectedSessions).", c, func(s *stats.ServerSample) float64 { return float64(s.RejectedSessions) }),
		d("sessions_created_total", "Sessions the server created (Manager sessionCounter).", c, func(s *stats.ServerSample) float64 { return float64(s.SessionCounter) }),
		d("expired_sessions_total", "Sessions the server expired (Manager expiredSessions).", c, func(s *stats.ServerSample) float64 { return float64(s.ExpiredSessions) }),
		d("busy_threads", "The connector's busy request threads (ThreadPool currentThreadsBusy).", g, func(s *stats.ServerSample) float64 { return float64(s.BusyThreads) }),
		d("max_threads", "The connector's maximum request threads (ThreadPool maxThreads).", g, func(s *stats.ServerSample) float64 { return float64(s.MaxThreads) }),
		d("connections", "The connector's open connections (ThreadPool connectionCount).", g, func(s *stats.ServerSample) float64 { return float64(s.ConnectionCount) }),
		d("heap_used_bytes", "The server JVM's used heap.", g, func(s *stats.ServerSample) float64 { return mb(s.HeapUsedMB) }),
		d("heap_max_bytes", "The server JVM's maximum heap.", g, func(s *stats.ServerSample) float64 { return mb(s.HeapMaxMB) }),
	}
}

var (
	_ stats.Sink           = (*Exporter)(nil)
	_ prometheus.Collector = (*Exporter)(nil)
)

// New returns an empty exporter. Per-endpoint series carry the labels
// endpoint, scenario ("" in a plan of one) and group (the group the
// endpoint is inside, or ""); groups have series of their own
// (load_group_*, labels scenario and group), and iterations by scenario
// load_scenario_iterations_total.
func New() *Exporter {
	ep := []string{"endpoint", "scenario", "group"}
	gr := []string{"scenario", "group"}
	return &Exporter{
		requests:      prometheus.NewDesc("load_requests_total", "Requests completed, by endpoint.", ep, nil),
		errors:        prometheus.NewDesc("load_errors_total", "Failed requests, by endpoint and error kind.", append(ep, "kind"), nil),
		latency:       prometheus.NewDesc("load_latency_seconds", "Service time (response end − send), by endpoint.", ep, nil),
		corrected:     prometheus.NewDesc("load_corrected_latency_seconds", "Latency from the intended send time (coordinated-omission corrected), by endpoint.", ep, nil),
		groupRuns:     prometheus.NewDesc("load_group_runs_total", "Times a group (transaction) ran to its end.", gr, nil),
		groupErrors:   prometheus.NewDesc("load_group_errors_total", "Group runs in which a request failed, by error kind.", append(gr, "kind"), nil),
		groupDur:      prometheus.NewDesc("load_group_duration_seconds", "Group duration: its first request's start to its last's end, think times inside included.", gr, nil),
		groupSvc:      prometheus.NewDesc("load_group_service_seconds", "Group service time: the sum of its requests' service times.", gr, nil),
		scenarioIters: prometheus.NewDesc("load_scenario_iterations_total", "Scenario iterations completed, by scenario.", []string{"scenario"}, nil),
		vusDesc:       prometheus.NewDesc("load_vus", "Virtual users running.", nil, nil),
		sessionsDesc:  prometheus.NewDesc("load_sessions_total", "Session events: established, unique, rotated_on_login, login_failures, rejected, relogins, expired.", []string{"event"}, nil),
		iters:         prometheus.NewDesc("load_iterations_total", "Scenario iterations completed.", nil, nil),
		drops:         prometheus.NewDesc("load_dropped_iterations_total", "Iterations the schedule dropped because no VU was free.", nil, nil),
		serverDescs:   serverFigures(),
	}
}

// Server sets the server's latest figures (a copy of s is kept); nil
// keeps the last ones.
func (x *Exporter) Server(s *stats.ServerSample) {
	if s == nil {
		return
	}
	c := *s
	x.mu.Lock()
	x.server = &c
	x.mu.Unlock()
}

// Interval folds one interval in.
func (x *Exporter) Interval(iv *stats.Interval, hists []stats.IntervalHistograms) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for e := range iv.Endpoints {
		s := &iv.Endpoints[e]
		for len(x.eps) <= e {
			x.eps = append(x.eps, &endpoint{errors: map[string]uint64{}})
			x.names = append(x.names, "")
		}
		x.names[e] = s.Name
		ep := x.eps[e]
		ep.scenario, ep.group, ep.isGroup = s.Scenario, s.Group, s.IsGroup
		ep.requests += uint64(s.Requests)
		for k, n := range s.Kinds {
			if n > 0 && stats.Kind(k).IsError() {
				ep.errors[stats.Kind(k).String()] += uint64(n)
			}
		}
		if e < len(hists) {
			ep.lat.add(hists[e].Latency)
			ep.corr.add(hists[e].Corrected)
			ep.svc.add(hists[e].Service)
		}
	}
	x.scenarios = append(x.scenarios[:0], iv.Scenarios...)
	for len(x.scIters) < len(iv.Scenarios) {
		x.scIters = append(x.scIters, 0)
	}
	for sc, n := range iv.ScenarioIterations {
		x.scIters[sc] += uint64(n)
	}
	x.vus = iv.Gauges.VUs
	x.sessions = iv.Gauges.Sessions
	x.iterations += uint64(iv.Iterations)
	x.dropped += uint64(iv.Dropped)
}

// Describe sends the descriptors of every metric.
func (x *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{x.requests, x.errors, x.latency, x.corrected, x.vusDesc, x.sessionsDesc, x.iters, x.drops,
		x.groupRuns, x.groupErrors, x.groupDur, x.groupSvc, x.scenarioIters} {
		ch <- d
	}
	for _, d := range x.serverDescs {
		ch <- d.desc
	}
}

// Collect sends the current values.
func (x *Exporter) Collect(ch chan<- prometheus.Metric) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for e, ep := range x.eps {
		labels := []string{x.names[e], ep.scenario, ep.group}
		runs, errs, lat, corr := x.requests, x.errors, x.latency, x.corrected
		if ep.isGroup {
			labels = []string{ep.scenario, x.names[e]}
			runs, errs, lat, corr = x.groupRuns, x.groupErrors, x.groupDur, nil
		}
		ch <- prometheus.MustNewConstMetric(runs, prometheus.CounterValue, float64(ep.requests), labels...)
		// Every kind from the endpoint's first interval, at 0 until it
		// happens: rate() and ratios need the series before the first error.
		for k := stats.OK + 1; k < stats.NumKinds; k++ {
			if k.IsError() {
				ch <- prometheus.MustNewConstMetric(errs, prometheus.CounterValue, float64(ep.errors[k.String()]), append(labels, k.String())...)
			}
		}
		ch <- prometheus.MustNewConstHistogram(lat, ep.lat.count, ep.lat.sum, ep.lat.cumulative(), labels...)
		if ep.corr.count > 0 && corr != nil {
			ch <- prometheus.MustNewConstHistogram(corr, ep.corr.count, ep.corr.sum, ep.corr.cumulative(), labels...)
		}
		if ep.isGroup {
			ch <- prometheus.MustNewConstHistogram(x.groupSvc, ep.svc.count, ep.svc.sum, ep.svc.cumulative(), labels...)
		}
	}
	for sc, n := range x.scIters {
		ch <- prometheus.MustNewConstMetric(x.scenarioIters, prometheus.CounterValue, float64(n), x.scenarios[sc])
	}
	ch <- prometheus.MustNewConstMetric(x.vusDesc, prometheus.GaugeValue, float64(x.vus))
	s := x.sessions
	for _, ev := range []struct {
		name string
		n    int64
	}{{"established", s.Established}, {"unique", s.Unique}, {"rotated_on_login", s.RotatedOnLogin},
		{"login_failures", s.LoginFailures}, {"rejected", s.Rejected}, {"relogins", s.Relogins}, {"expired", s.Expired}} {
		ch <- prometheus.MustNewConstMetric(x.sessionsDesc, prometheus.CounterValue, float64(ev.n), ev.name)
	}
	ch <- prometheus.MustNewConstMetric(x.iters, prometheus.CounterValue, float64(x.iterations))
	ch <- prometheus.MustNewConstMetric(x.drops, prometheus.CounterValue, float64(x.dropped))
	if x.server != nil {
		for _, d := range x.serverDescs {
			if v := d.value(x.server); v >= 0 {
				ch <- prometheus.MustNewConstMetric(d.desc, d.typ, v)
			}
		}
	}
}

// ListenAddr completes addr: a bare port or ":port" listens on 127.0.0.1.
func ListenAddr(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return net.JoinHostPort("127.0.0.1", addr) // "9464"
	}
	if host, port, _ := net.SplitHostPort(addr); host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// Server serves an exporter's metrics (and the Go runtime's) on /metrics.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Serve starts serving x on addr (see ListenAddr) until Close.
func Serve(x *Exporter, addr string) (*Server, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(x); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ln, err := net.Listen("tcp", ListenAddr(addr))
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// CloseAfter keeps serving for linger (so Prometheus scrapes the final
// figures of a run that just ended), or until ctx is done, then closes.
func (s *Server) CloseAfter(ctx context.Context, linger time.Duration) error {
	if linger > 0 {
		t := time.NewTimer(linger)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	return s.Close()
}

// Close stops the server, letting a scrape in flight finish (up to 5 s).
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
