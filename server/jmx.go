package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// JMX talks to Tomcat's manager JMX proxy (/manager/jmxproxy, role
// manager-jmx): it reads attributes, sets them and invokes operations,
// one request at a time.
type JMX struct {
	c  Config
	cl *http.Client
}

// NewJMX returns a client of the JMX proxy under c.URL (the manager's
// base URL).
func NewJMX(c Config) (*JMX, error) {
	if c.Kind != KindTomcat && c.Kind != "" {
		return nil, fmt.Errorf("server kind %s has no JMX proxy (needs kind: tomcat)", c.Kind)
	}
	if _, err := url.Parse(c.URL); err != nil || c.URL == "" {
		return nil, fmt.Errorf("server url %q: %v", c.URL, err)
	}
	return &JMX{c: c, cl: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}, nil
}

func (j *JMX) call(ctx context.Context, q url.Values) (string, error) {
	u := strings.TrimSuffix(j.c.URL, "/") + "/jmxproxy?" + q.Encode()
	b, err := get(ctx, j.cl, &j.c, u)
	if err != nil {
		return "", err
	}
	s := string(b)
	if !strings.HasPrefix(s, "OK") {
		return "", fmt.Errorf("jmxproxy: %s", firstLine(s))
	}
	return s, nil
}

// Get reads attribute att of MBean bean, as the proxy prints it.
func (j *JMX) Get(ctx context.Context, bean, att string) (string, error) {
	s, err := j.call(ctx, url.Values{"get": {bean}, "att": {att}})
	if err != nil {
		return "", fmt.Errorf("get %s %s: %w", bean, att, err)
	}
	// OK - Attribute get 'BEAN' - ATT = VALUE
	_, v, ok := strings.Cut(firstLine(s), " - "+att+" = ")
	if !ok {
		return "", fmt.Errorf("get %s %s: unexpected answer %q", bean, att, firstLine(s))
	}
	return strings.TrimSpace(v), nil
}

// GetInt reads an integer attribute.
func (j *JMX) GetInt(ctx context.Context, bean, att string) (int64, error) {
	v, err := j.Get(ctx, bean, att)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("get %s %s: %q is not an integer", bean, att, v)
	}
	return n, nil
}

// GetFloat reads a numeric attribute.
func (j *JMX) GetFloat(ctx context.Context, bean, att string) (float64, error) {
	v, err := j.Get(ctx, bean, att)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("get %s %s: %q is not a number", bean, att, v)
	}
	return n, nil
}

// Set writes attribute att of bean (the proxy converts val to its type).
func (j *JMX) Set(ctx context.Context, bean, att, val string) error {
	if _, err := j.call(ctx, url.Values{"set": {bean}, "att": {att}, "val": {val}}); err != nil {
		return fmt.Errorf("set %s %s=%s: %w", bean, att, val, err)
	}
	return nil
}

// Invoke calls operation op of bean with params, and returns the proxy's
// answer after its first line (the operation's result, if any).
func (j *JMX) Invoke(ctx context.Context, bean, op string, params ...string) (string, error) {
	q := url.Values{"invoke": {bean}, "op": {op}}
	if len(params) > 0 {
		q.Set("ps", strings.Join(params, ","))
	}
	s, err := j.call(ctx, q)
	if err != nil {
		return "", fmt.Errorf("invoke %s %s: %w", bean, op, err)
	}
	_, rest, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(rest), nil
}

// Query returns the beans matching the object name pattern, each as its
// attributes (name → value) plus "Name" and the name's key properties.
func (j *JMX) Query(ctx context.Context, pattern string) ([]map[string]string, error) {
	s, err := j.call(ctx, url.Values{"qry": {pattern}})
	if err != nil {
		return nil, fmt.Errorf("qry %s: %w", pattern, err)
	}
	var out []map[string]string
	for _, b := range parseJMX(s) {
		out = append(out, b)
	}
	return out, nil
}

// Resources is what the capacity search reads of a Tomcat at one
// instant. A figure the server did not give is -1.
type Resources struct {
	At time.Time `json:"at"`
	// The context's Manager.
	ActiveSessions    int64 `json:"active_sessions"`
	MaxActiveSessions int64 `json:"max_active_sessions"` // -1: no cap
	SessionCounter    int64 `json:"session_counter"`
	RejectedSessions  int64 `json:"rejected_sessions"`
	ExpiredSessions   int64 `json:"expired_sessions"`
	// The HTTP connector (its ThreadPool MBean).
	BusyThreads     int64 `json:"busy_threads"`
	MaxThreads      int64 `json:"max_threads"`
	ConnectionCount int64 `json:"connection_count"`
	MaxConnections  int64 `json:"max_connections"`
	AcceptCount     int64 `json:"accept_count"`
	// The JVM.
	HeapUsedMB float64 `json:"heap_used_mb"`
	HeapMaxMB  float64 `json:"heap_max_mb"`
	ProcessCPU float64 `json:"process_cpu"` // share of all cores, 0..1
	GCCount    int64   `json:"gc_count"`    // collections so far, all collectors
	GCTimeMs   int64   `json:"gc_time_ms"`  // time spent collecting so far
}

// Tomcat reads the figures a capacity search needs through the JMX
// proxy, and changes the session cap and runs the GC on request.
type Tomcat struct {
	jmx        *JMX
	c          Config
	manager    string   // the context's Manager MBean name
	collectors []string // the JVM's GarbageCollector MBean names
}

// NewTomcat returns a reader of the context c names.
func NewTomcat(c Config) (*Tomcat, error) {
	if c.Context == "" {
		return nil, errors.New("server: tomcat needs the app's context path (server.context)")
	}
	if c.Host == "" {
		c.Host = "localhost"
	}
	j, err := NewJMX(c)
	if err != nil {
		return nil, err
	}
	return &Tomcat{jmx: j, c: c, manager: fmt.Sprintf("Catalina:type=Manager,context=%s,host=%s", c.Context, c.Host)}, nil
}

// JMX is the proxy client the reader uses.
func (t *Tomcat) JMX() *JMX { return t.jmx }

// Sessions reads the Manager's session counters only (one request).
func (t *Tomcat) Sessions(ctx context.Context) (Resources, error) {
	r := unknownResources()
	beans, err := t.jmx.Query(ctx, t.manager)
	if err != nil {
		return r, err
	}
	if len(beans) == 0 {
		return r, fmt.Errorf("jmxproxy: no Manager for context %s on host %s (is the app deployed there?)", t.c.Context, t.c.Host)
	}
	m := bean(beans[0])
	r.ActiveSessions, r.MaxActiveSessions = m.int("activeSessions"), m.int("maxActiveSessions")
	r.SessionCounter, r.RejectedSessions, r.ExpiredSessions = m.int("sessionCounter"), m.int("rejectedSessions"), m.int("expiredSessions")
	return r, nil
}

func unknownResources() Resources {
	return Resources{At: time.Now(), ActiveSessions: -1, MaxActiveSessions: -1, SessionCounter: -1, RejectedSessions: -1, ExpiredSessions: -1,
		BusyThreads: -1, MaxThreads: -1, ConnectionCount: -1, MaxConnections: -1, AcceptCount: -1,
		HeapUsedMB: -1, HeapMaxMB: -1, ProcessCPU: -1, GCCount: -1, GCTimeMs: -1}
}

// Read takes one sample of everything: the Manager, the connector's
// thread pool and connections, the heap, the process CPU and the GC
// counters. After an error the figures read so far are returned, the
// rest -1.
func (t *Tomcat) Read(ctx context.Context) (Resources, error) {
	r, err := t.Sessions(ctx)
	if err != nil {
		return r, err
	}
	r.At = time.Now()
	pools, err := t.jmx.Query(ctx, "Catalina:type=ThreadPool,name=*")
	if err != nil {
		return r, err
	}
	for _, p := range pools {
		b := bean(p)
		name := strings.Trim(b.attr("name"), `"`)
		if (t.c.Connector == "" && strings.HasPrefix(name, "http")) || name == t.c.Connector {
			r.BusyThreads, r.MaxThreads, r.ConnectionCount = b.int("currentThreadsBusy"), b.int("maxThreads"), b.int("connectionCount")
			r.MaxConnections, r.AcceptCount = b.int("maxConnections"), b.int("acceptCount")
			break
		}
	}
	heap, err := t.jmx.Get(ctx, "java.lang:type=Memory", "HeapMemoryUsage")
	if err != nil {
		return r, err
	}
	r.HeapUsedMB, r.HeapMaxMB = compositeMB(heap, "used"), compositeMB(heap, "max")
	if cpu, err := t.jmx.GetFloat(ctx, "java.lang:type=OperatingSystem", "ProcessCpuLoad"); err == nil && cpu >= 0 {
		r.ProcessCPU = cpu
	}
	r.GCCount, r.GCTimeMs, err = t.gcTotals(ctx)
	return r, err
}

// gcTotals sums CollectionCount and CollectionTime over the JVM's
// collectors (their names depend on the GC in use: found once).
func (t *Tomcat) gcTotals(ctx context.Context) (count, ms int64, err error) {
	if t.collectors == nil {
		// A qry of the collectors prints their LastGcInfo too (tens of
		// KB): done once, then each is read by name.
		beans, err := t.jmx.Query(ctx, "java.lang:type=GarbageCollector,*")
		if err != nil {
			return -1, -1, err
		}
		t.collectors = []string{}
		for _, b := range beans {
			// A collector's own Name attribute reads like a new bean's
			// "Name:" line: keep the object names only.
			if name := b["Name"]; strings.Contains(name, "type=GarbageCollector") {
				t.collectors = append(t.collectors, name)
			}
		}
	}
	for _, name := range t.collectors {
		n, err := t.jmx.GetInt(ctx, name, "CollectionCount")
		if err != nil {
			t.collectors = nil // find them again next time
			return -1, -1, err
		}
		d, err := t.jmx.GetInt(ctx, name, "CollectionTime")
		if err != nil {
			t.collectors = nil
			return -1, -1, err
		}
		count, ms = count+n, ms+d
	}
	return count, ms, nil
}

// HeapAfterGC runs a full collection (java.lang:type=Memory, op gc) and
// returns the heap used right after it, in MB.
func (t *Tomcat) HeapAfterGC(ctx context.Context) (float64, error) {
	if _, err := t.jmx.Invoke(ctx, "java.lang:type=Memory", "gc"); err != nil {
		return -1, err
	}
	heap, err := t.jmx.Get(ctx, "java.lang:type=Memory", "HeapMemoryUsage")
	if err != nil {
		return -1, err
	}
	mb := compositeMB(heap, "used")
	if mb < 0 {
		return -1, fmt.Errorf("HeapMemoryUsage %q: no used figure", heap)
	}
	return mb, nil
}

// MaxActiveSessions reads the context's session cap (-1: none).
func (t *Tomcat) MaxActiveSessions(ctx context.Context) (int64, error) {
	return t.jmx.GetInt(ctx, t.manager, "maxActiveSessions")
}

// SetMaxActiveSessions changes the context's session cap live (-1: none).
func (t *Tomcat) SetMaxActiveSessions(ctx context.Context, n int64) error {
	return t.jmx.Set(ctx, t.manager, "maxActiveSessions", strconv.FormatInt(n, 10))
}

// Sweep is how often Tomcat's background thread removes expired
// sessions: every Delay × Frequency, so an expired session keeps its
// slot up to that long after its timeout.
type Sweep struct {
	// Delay is the effective backgroundProcessorDelay: the context's if
	// set, else its host's, else the engine's.
	Delay time.Duration
	// Frequency is the Manager's processExpiresFrequency.
	Frequency int64
	// From names the container whose delay applies.
	From string
}

// Every is Delay × Frequency.
func (s Sweep) Every() time.Duration { return s.Delay * time.Duration(s.Frequency) }

// Sweep reads the expiry sweep's settings.
func (t *Tomcat) Sweep(ctx context.Context) (Sweep, error) {
	freq, err := t.jmx.GetInt(ctx, t.manager, "processExpiresFrequency")
	if err != nil {
		return Sweep{}, err
	}
	s := Sweep{Frequency: freq}
	for _, c := range []struct{ bean, name string }{
		{fmt.Sprintf("Catalina:j2eeType=WebModule,name=//%s%s,J2EEApplication=none,J2EEServer=none", t.c.Host, t.c.Context), "context"},
		{fmt.Sprintf("Catalina:type=Host,host=%s", t.c.Host), "host"},
		{"Catalina:type=Engine", "engine"},
	} {
		d, err := t.jmx.GetInt(ctx, c.bean, "backgroundProcessorDelay")
		if err != nil {
			continue // a container we cannot read inherits; try the next
		}
		if d > 0 {
			s.Delay, s.From = time.Duration(d)*time.Second, c.name
			return s, nil
		}
	}
	return s, errors.New("jmxproxy: no container has a backgroundProcessorDelay > 0 (sessions would never be swept)")
}
