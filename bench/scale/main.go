//go:build linux

// Command scale logs in 100,000 VUs, each with its own session
// (spring-form: GET the form, POST the credentials with the CSRF token,
// own cookie jar, VU i is user i), against the demo target in another
// process, holds them logged in, and reports the login throughput
// (sessions/s), the generator's RSS per VU and the run's summary.
//
//	go run ./bench/scale [-vus 100000] [-conns 256] [-duration 90s] [-engine nethttp]
//
// The target is `load target --users N` (load built once with go build
// into a temp dir) on a free loopback port, stopped by its PID at the end.
// The generator is this process, running the plan through the library
// (a load.Test built in Go, load.Run): its peak RSS is VmHWM from
// /proc/self/status. VUs share at most -conns connections, which keeps
// both processes far under the open-file limit. Each VU, once logged in,
// GETs /api/me once and then thinks until the run ends (-think), so what
// is held is 100,000 idle logged-in users. Linux only (/proc/self/status).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessionload/load"
	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

func main() {
	vus := flag.Int("vus", 100_000, "logged-in VUs")
	conns := flag.Int("conns", 256, "connections the VUs share (max_conns_per_host)")
	duration := flag.Duration("duration", 90*time.Second, "whole run: logins, then the hold")
	think := flag.Duration("think", 10*time.Minute, "think time after each iteration (longer than the run: one GET /api/me per VU)")
	ramp := flag.Duration("ramp", 0, "start the VUs along a linear ramp this long instead of all at once")
	engine := flag.String("engine", "", "http.engine: \"\" (the default: fasthttp for http://), nethttp or fasthttp")
	heapProfile := flag.String("heapprofile", "", "write a heap profile here while every VU idles logged in (10 s after the last login)")
	flag.Parse()
	if *vus < 1 || *vus > 1_000_000 || *conns < 1 || *conns > 10_000 || *duration <= 0 || *duration > 30*time.Minute {
		fail(errors.New("want 1..1000000 VUs, 1..10000 conns, a duration up to 30m"))
	}
	if err := run(*vus, *conns, *duration, *ramp, *think, *engine, *heapProfile); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scale:", err)
	os.Exit(1)
}

func run(vus, conns int, duration, ramp, think time.Duration, engine, heapProfile string) error {
	dir, err := os.MkdirTemp("", "load-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "load")
	build := exec.Command("go", "build", "-o", bin, "./cmd/load")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build load (run from the repo's root): %w", err)
	}
	base, stop, err := startTarget(bin, vus)
	if err != nil {
		return err
	}
	defer stop()

	test, err := scaleTest(base, vus, conns, duration, ramp, think, engine)
	if err != nil {
		return err
	}
	fmt.Printf("machine: nproc %d; %d VUs, %d shared connections, %s run; target %s in its own process\n",
		runtime.NumCPU(), vus, conns, duration, base)

	// OnInterval runs on the executor's goroutine, once a second.
	var (
		t0         = time.Now()
		cpu0       = cpuTime()
		allIn      time.Duration // when every VU held a session
		cpuAllIn   time.Duration
		rssAllIn   int64
		heapAllIn  uint64
		stackAllIn uint64
		gorAllIn   int
		idle       idleMem
		prevEst    int64
		peakRSS    int64    // the highest VmRSS seen at an interval
		peakMem    memClass // the runtime's memory then
	)
	onInterval := func(pr profiles.Progress) {
		est := pr.Sessions.Established
		if allIn == 0 && est >= int64(vus) {
			allIn, cpuAllIn = time.Since(t0), cpuTime()-cpu0
			rssAllIn = procStatus("VmRSS")
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heapAllIn, stackAllIn, gorAllIn = ms.HeapAlloc, ms.StackInuse, runtime.NumGoroutine()
		}
		if allIn > 0 && idle.at == 0 && time.Since(t0) >= allIn+10*time.Second {
			idle = measureIdle(time.Since(t0))
			if heapProfile != "" {
				if err := writeHeap(heapProfile); err != nil {
					fmt.Fprintln(os.Stderr, "heap profile:", err)
				}
			}
		}
		rss := procStatus("VmRSS")
		if rss > peakRSS {
			peakRSS, peakMem = rss, readMemClass(time.Since(t0))
		}
		fmt.Fprintf(os.Stderr, "%5.0fs  VUs %6d  sessions %6d (+%d/s)  RSS %4d MiB\n",
			pr.Elapsed.Seconds(), pr.VUs, est, est-prevEst, rss>>10)
		prevEst = est
	}
	test.Observe.Progress = onInterval
	res, err := load.Run(context.Background(), test)
	if err != nil {
		return err
	}
	peak := procStatus("VmHWM") << 10
	fmt.Println()
	if err := stats.WriteSummary(os.Stdout, res); err != nil {
		return err
	}
	s := res.Sessions
	fmt.Printf("\nsessions: established %d, unique %d, rotated on login %d, login failures %d, rejected %d\n",
		s.Established, s.Unique, s.RotatedOnLogin, s.LoginFailures, s.Rejected)
	if allIn == 0 {
		return fmt.Errorf("only %d of %d VUs held a session by the end: give a longer -duration", s.Established, vus)
	}
	fmt.Printf("login throughput: %d sessions in %.1f s = %.0f sessions/s (%.1f µs generator CPU per session: form, login, one /api/me)\n",
		vus, allIn.Seconds(), float64(vus)/allIn.Seconds(), float64(cpuAllIn.Microseconds())/float64(vus))
	fmt.Printf("generator RSS: peak %.0f MiB = %.0f bytes/VU (goal <= 10 KB); when all were logged in %.0f MiB = %.0f bytes/VU\n",
		float64(peak)/(1<<20), float64(peak)/float64(vus), float64(rssAllIn<<10)/(1<<20), float64(rssAllIn<<10)/float64(vus))
	fmt.Printf("then: Go heap %.0f bytes/VU, goroutine stacks %.0f bytes/VU, %.2f goroutines/VU\n",
		float64(heapAllIn)/float64(vus), float64(stackAllIn)/float64(vus), float64(gorAllIn)/float64(vus))
	if idle.at > 0 {
		fmt.Printf("idle, %.0f s in (10 s after the last login), after a GC: live heap %.0f bytes/VU, stacks %.0f bytes/VU; RSS %.0f bytes/VU, %.0f bytes/VU once freed memory is returned to the OS\n",
			idle.at.Seconds(), float64(idle.heap)/float64(vus), float64(idle.stack)/float64(vus), float64(idle.rss)/float64(vus), float64(idle.rssFreed)/float64(vus))
	}
	fmt.Printf("at the highest RSS seen at an interval (%.0f MiB, %.0f s in): %s\n", float64(peakRSS)/(1<<10), peakMem.at.Seconds(), peakMem.perVU(vus))
	if s.Unique != int64(vus) {
		return fmt.Errorf("%d unique sessions, want %d", s.Unique, vus)
	}
	return nil
}

// startTarget starts `load target` on a free loopback port and returns its
// base URL and a function that stops it by its PID.
func startTarget(bin string, users int) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "target", "--addr", addr, "--users", strconv.Itoa(users))
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	for range 200 { // up to 10 s
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			u := url.URL{Scheme: "http", Host: addr}
			return u.String(), stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("the target did not listen on %s: %s", addr, errOut.String())
}

// scaleTest is the test, built in Go: each VU is user VU, logs in with
// spring-form (its own jar and CSRF token), GETs /api/me once and thinks;
// every VU at once, or a linear ramp to vus over ramp and a hold for the
// rest of duration.
func scaleTest(base string, vus, conns int, duration, ramp, think time.Duration, engine string) (load.Test, error) {
	users, err := profiles.TemplateUsers("user{{.VU}}", "secret")
	if err != nil {
		return load.Test{}, err
	}
	shape := profiles.Load{VUs: vus, Duration: duration, GracefulStop: 2 * time.Second}
	if ramp > 0 {
		shape = profiles.Load{Stages: []profiles.Stage{{Duration: ramp, Target: vus}, {Duration: max(duration-ramp, time.Second), Target: -1}}, GracefulStop: 2 * time.Second}
	}
	accept, err := vuser.ParseTemplate("application/json")
	if err != nil {
		return load.Test{}, err
	}
	me, err := vuser.ParseTemplate("/api/me")
	if err != nil {
		return load.Test{}, err
	}
	return load.Test{
		Name:    "scale",
		Target:  base,
		Timeout: 60 * time.Second,
		HTTP:    pool.Options{MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns, Engine: engine},
		Load:    shape,
		Scenarios: []load.Scenario{{
			Users:   users,
			Login:   vuser.Login{Kind: vuser.LoginSpringForm, Path: "/login"},
			Session: vuser.Session{Cookie: "JSESSIONID", End: vuser.EndAbandon, RetryLogin: time.Second},
			Steps: []vuser.Step{{
				Name: "me", Method: "GET", Path: me,
				Headers: []vuser.Header{{Name: "Accept", Value: accept}},
				Check:   vuser.Check{Status: []int{200}},
			}},
			Think: vuser.Think{Min: think, Max: think},
		}},
	}, nil
}

// idleMem is the generator's memory while every VU idles logged in.
type idleMem struct {
	at            time.Duration
	heap, stack   uint64 // live, after a GC
	rss, rssFreed int64  // bytes, before and after debug.FreeOSMemory
}

func measureIdle(at time.Duration) idleMem {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := idleMem{at: at, heap: ms.HeapAlloc, stack: ms.StackInuse, rss: procStatus("VmRSS") << 10}
	debug.FreeOSMemory()
	m.rssFreed = procStatus("VmRSS") << 10
	return m
}

// memClass is what the Go runtime's memory is made of at one moment
// (runtime/metrics' /memory/classes), to tell what a peak RSS holds.
type memClass struct {
	at         time.Duration
	goroutines uint64
	v          [len(memMetrics)]uint64
}

// memMetrics are read by readMemClass, in this order.
var memMetrics = [...]string{
	"/memory/classes/heap/objects:bytes", // live and not yet swept objects
	"/memory/classes/heap/unused:bytes",  // in spans, not in objects (fragmentation)
	"/memory/classes/heap/free:bytes",    // free pages not returned to the OS
	"/memory/classes/heap/stacks:bytes",  // goroutine stacks
	"/memory/classes/metadata/mspan/inuse:bytes",
	"/memory/classes/metadata/other:bytes", // GC bitmaps and the like
	"/memory/classes/other:bytes",
	"/memory/classes/heap/released:bytes", // returned to the OS: not in RSS
	"/gc/heap/goal:bytes",
	"/sched/goroutines:goroutines",
}

func readMemClass(at time.Duration) memClass {
	samples := make([]metrics.Sample, len(memMetrics))
	for i, name := range memMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples)
	m := memClass{at: at}
	for i, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			m.v[i] = s.Value.Uint64()
		}
	}
	m.goroutines = m.v[len(m.v)-1]
	return m
}

// perVU prints the classes in bytes per VU.
func (m memClass) perVU(vus int) string {
	f := func(i int) float64 { return float64(m.v[i]) / float64(vus) }
	return fmt.Sprintf("heap objects %.0f, heap unused %.0f, heap free %.0f, stacks %.0f, mspans %.0f, GC metadata %.0f, other %.0f, released %.0f bytes/VU; heap goal %.0f bytes/VU; %d goroutines",
		f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7), f(8), m.goroutines)
}

// writeHeap writes a heap profile (after a GC) to path.
func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	return errors.Join(pprof.WriteHeapProfile(f), f.Close())
}

// procStatus reads a "kB" field of /proc/self/status (VmRSS, VmHWM) in KiB.
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
