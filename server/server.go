// Package server reads the server's own session figures during a run:
// Tomcat's Manager, ThreadPool and Memory MBeans through the manager's JMX
// proxy, or Spring Boot Actuator's tomcat.sessions metrics. It polls one
// request at a time, counts failures and never stops the run.
package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessionload/load/stats"
)

// Kinds of server sources.
const (
	KindTomcat   = "tomcat"   // the manager app's /jmxproxy (role manager-jmx)
	KindActuator = "actuator" // Spring Boot Actuator /metrics
)

// Config says where the server's figures are. Credentials come from the
// environment through the plan (username_env, password_env), never from
// the plan in clear.
type Config struct {
	Kind string
	// URL is the manager's base URL (http://host:port/manager) or the
	// actuator's (http://host:port/actuator).
	URL string
	// Context is the app's context path, e.g. /shop (tomcat).
	Context string
	// Host is the Tomcat host of the context. Default localhost.
	Host string
	// Connector is the connector's ThreadPool name, e.g.
	// http-nio-127.0.0.1-8080; empty takes the first http one.
	Connector          string
	Username, Password string
	// Interval between polls. Default 1s.
	Interval time.Duration
	// Reset expires the app's sessions before the run (manager text API,
	// role manager-script).
	Reset bool
}

// Source reads one sample.
type Source interface {
	Poll(ctx context.Context) (stats.ServerSample, error)
}

// New returns the source c describes.
func New(c Config) (Source, error) {
	if _, err := url.Parse(c.URL); err != nil || c.URL == "" {
		return nil, fmt.Errorf("server url %q: %v", c.URL, err)
	}
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	switch c.Kind {
	case KindTomcat, "":
		if c.Context == "" {
			return nil, errors.New("server: tomcat needs the app's context path (server.context)")
		}
		if c.Host == "" {
			c.Host = "localhost"
		}
		return &tomcat{c: c, cl: cl}, nil
	case KindActuator:
		return &actuator{c: c, cl: cl}, nil
	}
	return nil, fmt.Errorf("server kind %q: expected tomcat or actuator", c.Kind)
}

func get(ctx context.Context, cl *http.Client, c *Config, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if c.Username != "" {
		req.SetBasicAuth(c.Username, c.Password)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return b, &RefusedError{URL: strings.SplitN(u, "?", 2)[0], Status: resp.StatusCode}
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("%s answered %d", strings.SplitN(u, "?", 2)[0], resp.StatusCode)
	}
	return b, nil
}

// RefusedError is the server refusing the monitoring credentials (401)
// or their role (403). It is never retried: a realm such as Tomcat's
// LockOutRealm would lock the account.
type RefusedError struct {
	URL    string
	Status int
}

// Error says what refused what.
func (e *RefusedError) Error() string {
	why := "the credentials were refused"
	if e.Status == http.StatusForbidden {
		why = "the user lacks the role (manager-jmx for the JMX proxy)"
	}
	return fmt.Sprintf("%s answered %d: %s", e.URL, e.Status, why)
}

// tomcat polls the manager's JMX proxy.
type tomcat struct {
	c  Config
	cl *http.Client
}

func (t *tomcat) qry(ctx context.Context, name string) (string, error) {
	u := strings.TrimSuffix(t.c.URL, "/") + "/jmxproxy?qry=" + url.QueryEscape(name)
	b, err := get(ctx, t.cl, &t.c, u)
	if err != nil {
		return "", err
	}
	s := string(b)
	if !strings.HasPrefix(s, "OK") {
		return "", fmt.Errorf("jmxproxy %s: %s", name, firstLine(s))
	}
	return s, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// Poll reads the Manager, ThreadPool and Memory MBeans, one request at a
// time.
func (t *tomcat) Poll(ctx context.Context) (stats.ServerSample, error) {
	s := stats.ServerSample{At: time.Now(), MaxActiveSessions: -1, BusyThreads: -1, ConnectionCount: -1, MaxThreads: -1, HeapUsedMB: -1, HeapMaxMB: -1}
	out, err := t.qry(ctx, fmt.Sprintf("Catalina:type=Manager,context=%s,host=%s", t.c.Context, t.c.Host))
	if err != nil {
		return s, err
	}
	beans := parseJMX(out)
	if len(beans) == 0 {
		return s, fmt.Errorf("jmxproxy: no Manager for context %s on host %s (is the app deployed there?)", t.c.Context, t.c.Host)
	}
	m := beans[0]
	s.ActiveSessions = m.int("activeSessions")
	s.MaxActive = m.int("maxActive")
	s.MaxActiveSessions = m.int("maxActiveSessions")
	s.RejectedSessions = m.int("rejectedSessions")
	s.SessionCounter = m.int("sessionCounter")
	s.ExpiredSessions = m.int("expiredSessions")
	s.SessionCreateRate = float64(m.int("sessionCreateRate"))
	if out, err = t.qry(ctx, "Catalina:type=ThreadPool,name=*"); err != nil {
		return s, err
	}
	for _, b := range parseJMX(out) {
		name := strings.Trim(b.attr("name"), `"`)
		if (t.c.Connector == "" && strings.HasPrefix(name, "http")) || name == t.c.Connector {
			s.BusyThreads, s.ConnectionCount, s.MaxThreads = b.int("currentThreadsBusy"), b.int("connectionCount"), b.int("maxThreads")
			break
		}
	}
	if out, err = t.qry(ctx, "java.lang:type=Memory"); err != nil {
		return s, err
	}
	if bs := parseJMX(out); len(bs) > 0 {
		heap := bs[0].attr("HeapMemoryUsage")
		s.HeapUsedMB = compositeMB(heap, "used")
		s.HeapMaxMB = compositeMB(heap, "max")
	}
	return s, nil
}

// bean is one MBean of a jmxproxy answer: "name: value" lines.
type bean map[string]string

func (b bean) attr(k string) string { return b[k] }

func (b bean) int(k string) int64 {
	v, err := strconv.ParseInt(strings.TrimSpace(b[k]), 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// parseJMX splits a jmxproxy qry answer into its beans: each starts at a
// "Name: " line and holds the "attr: value" lines that follow.
func parseJMX(s string) []bean {
	var out []bean
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	last := ""
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, " ") && last != "" && len(out) > 0 {
			// MBeanDumper folds long values at 78 columns, manifest style.
			out[len(out)-1][last] += line[1:]
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			last = ""
			continue
		}
		last = k
		if k == "Name" {
			out = append(out, bean{"Name": v})
			// The name's key properties (name="http-nio-...") are attributes too.
			for _, kv := range strings.Split(v[strings.Index(v, ":")+1:], ",") {
				if a, b, ok := strings.Cut(kv, "="); ok {
					out[len(out)-1][a] = b
				}
			}
			continue
		}
		if len(out) > 0 {
			out[len(out)-1][k] = v
		}
	}
	return out
}

// compositeMB reads key=N out of a CompositeDataSupport's contents={...}.
func compositeMB(s, key string) float64 {
	re := regexp.MustCompile(`\b` + key + `=(\d+)`)
	m := re.FindStringSubmatch(s)
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	return n / (1 << 20)
}

// Reset expires every session of the app through the manager's text API
// (role manager-script) and returns how many it expired.
func Reset(ctx context.Context, c Config) (int64, error) {
	if c.Kind != KindTomcat && c.Kind != "" {
		return 0, fmt.Errorf("server.reset needs the tomcat manager, not %s", c.Kind)
	}
	u := strings.TrimSuffix(c.URL, "/") + "/text/expire?path=" + url.QueryEscape(c.Context) + "&idle=0"
	cl := &http.Client{Timeout: 30 * time.Second}
	b, err := get(ctx, cl, &c, u)
	if err != nil {
		return 0, fmt.Errorf("server reset: %w", err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "OK") {
		return 0, fmt.Errorf("server reset: %s", firstLine(s))
	}
	// "... [7] sessions were expired" (the wording varies by version: take
	// the number in the last line that says expired).
	var n int64
	re := regexp.MustCompile(`\[?(\d+)\]? sessions? (were|was) expired`)
	if m := re.FindStringSubmatch(s); m != nil {
		n, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return n, nil
}

// actuator polls Spring Boot Actuator's metrics.
type actuator struct {
	c  Config
	cl *http.Client
}

// metric reads one metric's VALUE (or COUNT) measurement; -1 if absent.
func (a *actuator) metric(ctx context.Context, name, tag string) (float64, error) {
	u := strings.TrimSuffix(a.c.URL, "/") + "/metrics/" + name
	if tag != "" {
		u += "?tag=" + url.QueryEscape(tag)
	}
	b, err := get(ctx, a.cl, &a.c, u)
	if err != nil {
		if strings.Contains(err.Error(), "answered 404") {
			return -1, nil // not exposed by this app: not a failure
		}
		return -1, err
	}
	var m struct {
		Measurements []struct {
			Statistic string  `json:"statistic"`
			Value     float64 `json:"value"`
		} `json:"measurements"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return -1, fmt.Errorf("actuator %s: %w", name, err)
	}
	for _, x := range m.Measurements {
		if x.Statistic == "VALUE" || x.Statistic == "COUNT" {
			return x.Value, nil
		}
	}
	return -1, nil
}

// Poll reads the tomcat.sessions.*, tomcat.threads.* and heap metrics.
func (a *actuator) Poll(ctx context.Context) (stats.ServerSample, error) {
	s := stats.ServerSample{At: time.Now(), MaxActiveSessions: -1, ConnectionCount: -1}
	ints := []struct {
		name, tag string
		to        *int64
	}{
		{"tomcat.sessions.active.current", "", &s.ActiveSessions},
		{"tomcat.sessions.active.max", "", &s.MaxActive},
		{"tomcat.sessions.created", "", &s.SessionCounter},
		{"tomcat.sessions.expired", "", &s.ExpiredSessions},
		{"tomcat.sessions.rejected", "", &s.RejectedSessions},
		{"tomcat.threads.busy", "", &s.BusyThreads},
		{"tomcat.threads.config.max", "", &s.MaxThreads},
	}
	for _, m := range ints {
		v, err := a.metric(ctx, m.name, m.tag)
		if err != nil {
			return s, err
		}
		*m.to = int64(v)
	}
	for _, m := range []struct {
		name string
		to   *float64
	}{{"jvm.memory.used", &s.HeapUsedMB}, {"jvm.memory.max", &s.HeapMaxMB}} {
		v, err := a.metric(ctx, m.name, "area:heap")
		if err != nil {
			return s, err
		}
		*m.to = -1
		if v >= 0 {
			*m.to = v / (1 << 20)
		}
	}
	return s, nil
}

// Poller polls a source every interval during a run, one request at a
// time; failures are counted and never stop the run.
//
// Run owns the polling; Latest, Result and Counts may be called from any
// goroutine (they take mu).
type Poller struct {
	src      Source
	kind     string
	url      string
	interval time.Duration
	t0       time.Time

	mu       sync.Mutex
	samples  []stats.ServerSample
	polls    int64
	failures int64
	lastErr  string
	stopped  string // why polling stopped for good (credentials refused); "" while it goes on
}

// NewPoller returns a poller of src.
func NewPoller(src Source, c Config) *Poller {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	kind := c.Kind
	if kind == "" {
		kind = KindTomcat
	}
	return &Poller{src: src, kind: kind, url: c.URL, interval: c.Interval}
}

// Run polls until ctx ends, starting with one poll at once (the baseline).
func (p *Poller) Run(ctx context.Context) {
	p.t0 = time.Now()
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		if !p.Poll(ctx) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll takes one sample now (Run does this every interval). It reports
// false, and sends nothing, once the server has refused the credentials:
// polling stops for good, and Result says why.
func (p *Poller) Poll(ctx context.Context) bool {
	p.mu.Lock()
	stopped := p.stopped != ""
	p.mu.Unlock()
	if stopped {
		return false
	}
	// A manager busy with the load answers slowly: allow it, but keep one
	// request in flight at most (the next poll waits for this one).
	pctx, cancel := context.WithTimeout(ctx, max(2*p.interval, 10*time.Second))
	s, err := p.src.Poll(pctx)
	cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.polls++
	if err != nil {
		if ctx.Err() == nil {
			p.failures++
			p.lastErr = err.Error()
		}
		var refused *RefusedError
		if errors.As(err, &refused) {
			p.stopped = "stopped polling after the first refusal, never retrying the credentials: " + err.Error()
			p.lastErr = p.stopped
			return false
		}
		return true
	}
	if !p.t0.IsZero() {
		s.T = s.At.Sub(p.t0).Seconds()
	}
	p.samples = append(p.samples, s)
	return true
}

// Latest is the newest sample, if any.
func (p *Poller) Latest() (stats.ServerSample, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.samples) == 0 {
		return stats.ServerSample{}, false
	}
	return p.samples[len(p.samples)-1], true
}

// Failures is how many polls failed so far, and the last error.
func (p *Poller) Failures() (int64, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failures, p.lastErr
}

// Result is the server block of results.json, without the consistency
// check (see stats.CheckConsistency).
func (p *Poller) Result() *stats.ServerResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := &stats.ServerResult{Kind: p.kind, URL: p.url, Polls: p.polls, Failures: p.failures, LastError: p.lastErr, Stopped: p.stopped}
	r.Timeline = append(r.Timeline, p.samples...)
	if n := len(p.samples); n > 0 {
		first, last := p.samples[0], p.samples[n-1]
		r.First, r.Last = &first, &last
	}
	for _, s := range p.samples {
		r.PeakActive = max(r.PeakActive, s.ActiveSessions)
		r.PeakHeapMB = max(r.PeakHeapMB, s.HeapUsedMB)
	}
	return r
}
