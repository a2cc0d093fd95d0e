package stats

// Capacity is results.json's capacity block (load sessions): every step
// the search ran, the knee, the limit that bound it, the heap each
// session costs, and the settings it recommends, each with its formula.
type Capacity struct {
	// Steps are the runs in the order the search made them (warm-up
	// excluded; retries and confirmations included).
	Steps []CapacityStep `json:"steps"`
	// Warmup is the low-load phase before the first step, if any.
	Warmup *CapacityStep `json:"warmup,omitempty"`
	// Knee is the highest step that passed twice (0: none did).
	Knee int `json:"knee"`
	// KneeWhy says how the knee was found.
	KneeWhy string `json:"knee_why"`
	// NonMonotonic lists steps that passed above a step that broke.
	NonMonotonic []string `json:"non_monotonic,omitempty"`
	// Broke says why the search stopped below its max ("" if the
	// largest step passed).
	Broke string `json:"broke,omitempty"`
	// Binding names the limit that stopped the search (session cap,
	// response time, thread pool, connections, heap after GC, CPU,
	// errors, users), "" when the largest step passed.
	Binding string `json:"binding"`
	// BindingWhy says what the binding limit's signal showed, and what
	// the other resources allowed up to it.
	BindingWhy []string `json:"binding_why"`
	// ConfiguredCap is the context's maxActiveSessions before the search
	// (-1: none, or unknown without a server block).
	ConfiguredCap int64 `json:"configured_cap"`
	// RaisedCap is what --raise-cap set it to during the search (0: not
	// raised); CapRestored says whether reading it back afterwards gave
	// ConfiguredCap again.
	RaisedCap   int64 `json:"raised_cap,omitempty"`
	CapRestored *bool `json:"cap_restored,omitempty"`
	// SweepS is Tomcat's expiry sweep period, backgroundProcessorDelay ×
	// processExpiresFrequency, in seconds (-1: unknown).
	SweepS float64 `json:"sweep_s"`
	// HeapPerSession is the least-squares fit of heap after GC over the
	// sessions held, nil without two points.
	HeapPerSession *HeapFit `json:"heap_per_session,omitempty"`
	// Recommendation is the settings for the traffic given, each number
	// with the formula it came from.
	Recommendation []Figure `json:"recommendation"`
	// Notes are what the search noticed on the way (flaky steps, polls
	// that failed, inconsistent counts).
	Notes []string `json:"notes,omitempty"`
}

// CapacityStep is one run of the capacity search at a number of
// sessions. A figure the server did not give is -1.
type CapacityStep struct {
	Sessions int     `json:"sessions"` // VUs, each holding one session
	Phase    string  `json:"phase"`    // warmup, step, retry, bisect, confirm
	HoldS    float64 `json:"hold_s"`   // how long the hold lasted
	Stable   bool    `json:"stable"`   // the hold ended because the figures were stable (else: the max hold)
	// Held is the sessions the client held when the step was judged,
	// ServerActive the server's activeSessions then.
	Held         int64 `json:"held"`
	ServerActive int64 `json:"server_active"`
	// Client vs server: sessions created (logins vs sessionCounter) and
	// refused (session_rejected vs rejectedSessions) during the step.
	ClientCreated int64    `json:"client_created"`
	ServerCreated int64    `json:"server_created"`
	ClientRefused int64    `json:"client_refused"`
	ServerRefused int64    `json:"server_refused"`
	Consistent    bool     `json:"consistent"`
	Problems      []string `json:"problems,omitempty"`
	// Latency (ms, corrected where it exists) and errors of the step.
	P50      float64 `json:"p50_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
	ErrorPct float64 `json:"error_pct"`
	RPS      float64 `json:"rps"`
	// The connector during the hold: peak busy threads, the share of
	// samples with busy >= 95% of maxThreads, peak connections.
	BusyThreads    int64   `json:"busy_threads"`
	MaxThreads     int64   `json:"max_threads"`
	BusyShare      float64 `json:"busy_share"`
	Connections    int64   `json:"connections"`
	MaxConnections int64   `json:"max_connections"`
	AcceptCount    int64   `json:"accept_count"`
	// The JVM: heap right after the GC invoked at the step's end (with
	// the sessions held), mean process CPU over the hold (0..1 of all
	// cores), and GC time during the hold.
	HeapAfterGCMB float64 `json:"heap_after_gc_mb"`
	HeapMaxMB     float64 `json:"heap_max_mb"`
	CPU           float64 `json:"cpu"`
	GCPauseMs     float64 `json:"gc_pause_ms"`
	GCPausePct    float64 `json:"gc_pause_pct"`
	// The verdict, the signal that decided it, and every limit the step
	// broke.
	OK     bool   `json:"ok"`
	Signal string `json:"signal,omitempty"`
	Why    string `json:"why,omitempty"`
}

// HeapFit is heap after GC = intercept + slope × sessions, fitted by
// least squares over paired points (so what the server kept from earlier
// steps cancels out), with the slope's confidence interval (t
// distribution with n−2 degrees of freedom).
type HeapFit struct {
	SlopeKB     float64 `json:"slope_kb"` // KB per session
	LowKB       float64 `json:"low_kb"`
	HighKB      float64 `json:"high_kb"`
	Confidence  float64 `json:"confidence"` // e.g. 0.95
	InterceptMB float64 `json:"intercept_mb"`
	// Points pair each step's GC with its sessions held against the
	// server at rest just before the step (after a GC, no step running):
	// (sessions held − at rest, heap after GC MB then − at rest).
	Points  [][2]float64 `json:"points"`
	Formula string       `json:"formula"`
}

// Figure is one number of a recommendation with the formula it came from
// (the formula written out with the numbers).
type Figure struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit,omitempty"`
	Formula string  `json:"formula"`
}

// CapacityResults is the results.json of load sessions: the run of the
// knee (or of the last step, without a knee) with the capacity block.
type CapacityResults struct {
	*Results
	Capacity *Capacity `json:"capacity"`
}
