package stats

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Generator is the load generator's own health during a run: if it was
// short of CPU or late on its schedule, the latencies it measured may be
// its own delays rather than the server's.
type Generator struct {
	CPUSeconds     float64 `json:"cpu_s"`
	CPUUtil        float64 `json:"cpu_util"` // CPU time / (wall time × GOMAXPROCS)
	Procs          int     `json:"procs"`    // GOMAXPROCS: CPUs the generator ran on at once (load run --cpus)
	MaxRSSMB       float64 `json:"max_rss_mb"`
	GCCount        uint32  `json:"gc_count"`
	GCPauseTotalMs float64 `json:"gc_pause_total_ms"`
	GCPauseMaxMs   float64 `json:"gc_pause_max_ms"`
	// ScheduleLag is actual − intended start of scheduled iterations:
	// how late the generator itself was (not the server).
	ScheduleLag      *Percentiles `json:"schedule_lag_ms,omitempty"`
	ScheduleLagP99Ms float64      `json:"schedule_lag_p99_ms"`
	ScheduledCount   int64        `json:"scheduled,omitempty"`
	// Seed repeats the run's think times (load run --seed).
	Seed     uint64   `json:"seed"`
	Warnings []string `json:"warnings,omitempty"`
}

// Lag records schedule lag. It is safe for concurrent use; it is recorded
// once per scheduled iteration, far off the per-request hot path.
type Lag struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

// NewLag returns an empty lag histogram (1 µs .. 60 s).
func NewLag() *Lag { return &Lag{h: newHistogram()} }

// Record adds one lateness; negative values (early) count as 0.
func (l *Lag) Record(d time.Duration) {
	us, _ := micros(max(d, 0))
	l.mu.Lock()
	_ = l.h.RecordValue(us)
	l.mu.Unlock()
}

// Count is how many lags were recorded.
func (l *Lag) Count() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.h.TotalCount()
}

// Percentiles summarizes the lags in milliseconds.
func (l *Lag) Percentiles() Percentiles {
	l.mu.Lock()
	defer l.mu.Unlock()
	return percentiles(l.h)
}

// Probe measures the generator process between Start and Stop.
type Probe struct {
	start time.Time
	cpu   time.Duration
	gc    runtime.MemStats
}

// StartProbe starts measuring the generator.
func StartProbe() *Probe {
	p := &Probe{start: time.Now(), cpu: processCPU()}
	runtime.ReadMemStats(&p.gc)
	return p
}

// GeneratorLimits are the levels past which the figures are flagged as
// possibly distorted by the generator.
type GeneratorLimits struct {
	LagP99  time.Duration // default 10ms
	CPUUtil float64       // default 0.9
}

// Stop returns the generator's figures since Start, with lag (may be nil)
// and warnings where the limits were passed.
func (p *Probe) Stop(lag *Lag, lim GeneratorLimits) Generator {
	if lim.LagP99 <= 0 {
		lim.LagP99 = 10 * time.Millisecond
	}
	if lim.CPUUtil <= 0 {
		lim.CPUUtil = 0.9
	}
	wall := time.Since(p.start)
	var g Generator
	cpu := processCPU() - p.cpu
	g.CPUSeconds = cpu.Seconds()
	g.Procs = runtime.GOMAXPROCS(0)
	if wall > 0 {
		g.CPUUtil = cpu.Seconds() / (wall.Seconds() * float64(g.Procs))
	}
	g.MaxRSSMB = maxRSSMB()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	g.GCCount = ms.NumGC - p.gc.NumGC
	g.GCPauseTotalMs = float64(ms.PauseTotalNs-p.gc.PauseTotalNs) / 1e6
	// PauseNs is a ring of the last 256 pauses: the run's are the newest.
	for i := uint32(0); i < min(g.GCCount, 256); i++ {
		pause := ms.PauseNs[(ms.NumGC-1-i+256)%256]
		g.GCPauseMaxMs = max(g.GCPauseMaxMs, float64(pause)/1e6)
	}
	if lag != nil && lag.Count() > 0 {
		pc := lag.Percentiles()
		g.ScheduleLag, g.ScheduleLagP99Ms, g.ScheduledCount = &pc, pc.P99, lag.Count()
		if pc.P99 > float64(lim.LagP99)/1e6 {
			g.Warnings = append(g.Warnings, fmt.Sprintf(
				"schedule lag p99 %.1f ms > %s: the generator started iterations late; latencies may include its own delays", pc.P99, lim.LagP99))
		}
	}
	if g.CPUUtil > lim.CPUUtil {
		g.Warnings = append(g.Warnings, fmt.Sprintf(
			"generator CPU %.0f%% of %d cores: it may have been the bottleneck; figures may be distorted", 100*g.CPUUtil, runtime.GOMAXPROCS(0)))
	}
	return g
}

// processCPU is this process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSSMB is this process's peak resident set size (Linux: KiB).
func maxRSSMB() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

// MarshalJSON writes g with its seed as a decimal string: a seed is 64
// bits and JSON readers that parse numbers as doubles (jq, JavaScript)
// would round one above 2^53, so the run would not repeat.
func (g Generator) MarshalJSON() ([]byte, error) {
	type plain Generator
	return json.Marshal(struct {
		plain
		Seed string `json:"seed"`
	}{plain(g), strconv.FormatUint(g.Seed, 10)})
}

// UnmarshalJSON reads g, with its seed as a decimal string or, as older
// results.json files wrote it, a number (read from its text, exactly).
func (g *Generator) UnmarshalJSON(b []byte) error {
	type plain Generator
	v := struct {
		*plain
		Seed json.RawMessage `json:"seed"`
	}{plain: (*plain)(g)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	g.Seed = 0
	if len(v.Seed) == 0 || string(v.Seed) == "null" {
		return nil
	}
	s, err := ParseSeed(string(v.Seed))
	if err != nil {
		return fmt.Errorf("generator.seed: %w", err)
	}
	g.Seed = s
	return nil
}

// ParseSeed reads a seed as results.json writes it: decimal digits,
// quoted or not (so `jq .generator.seed` output can be pasted as is).
func ParseSeed(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		t = t[1 : len(t)-1]
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("seed %q: want an unsigned 64-bit decimal integer", s)
	}
	return n, nil
}
