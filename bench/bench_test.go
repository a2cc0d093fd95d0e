package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// childEnv makes the test binary serve the demo target instead of running
// tests, so benchmarks measure the generator in a process of its own.
const childEnv = "LOAD_BENCH_TARGET_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		serveChild()
		return
	}
	os.Exit(m.Run())
}

// serveChild runs the target until its stdin closes (the parent is gone).
func serveChild() {
	srv, err := target.New(target.Config{Users: 200_000}).Start("127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(srv.URL())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	srv.Close()
}

// startChild starts the target in another process and returns its URL.
func startChild(b *testing.B) *url.URL {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(strings.TrimSpace(line))
	if err != nil || u.Host == "" {
		b.Fatalf("target child said %q", line)
	}
	return u
}

// script logs in with the spring-form preset and calls /api/me.
func script(u *url.URL) *vuser.Script {
	path, _ := vuser.ParseTemplate("/api/me")
	accept, _ := vuser.ParseTemplate("application/json")
	return &vuser.Script{
		Target:  u,
		Session: vuser.Session{Cookie: "JSESSIONID", End: vuser.EndAbandon, RetryLogin: time.Second},
		Login:   vuser.Login{Kind: vuser.LoginSpringForm, Path: "/login"},
		Steps: []vuser.Step{{
			Name: "me", Method: "GET", Path: path,
			Headers: []vuser.Header{{Name: "Accept", Value: accept}},
			Check:   vuser.Check{Status: []int{200}},
		}},
		Timeout: 30 * time.Second,
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func liveBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// BenchmarkIdleVUMemory logs in 10,000 VUs, each with its own jar and
// session, lets each send one request and then think for an hour as runs
// do (VU.Go: a thinking VU is parked on a timer and holds no goroutine),
// and reports what each costs while idle: heap and stacks after GC. Goal:
// <= 10 KB per VU.
func BenchmarkIdleVUMemory(b *testing.B) {
	const n = 10_000
	u := startChild(b)
	for range b.N {
		pl := pool.New(pool.Options{MaxConnsPerHost: 64})
		rec := stats.NewRecorder(stats.Options{})
		sess := stats.NewSessions()
		s := script(u)
		s.Think = vuser.Think{Min: time.Hour, Max: time.Hour}
		env, err := vuser.NewEnv(s, vuser.PoolTransport(pl, nil), rec, sess)
		if err != nil {
			b.Fatal(err)
		}
		goroutines := runtime.NumGoroutine()
		before := liveBytes()
		abort := make(chan struct{})
		var done sync.WaitGroup
		var iterations atomic.Int64
		ctx := context.Background()
		vus := make([]*vuser.VU, n)
		sem := make(chan struct{}, 64) // logins in flight, as the gate would
		for i := range vus {
			vus[i] = env.NewVU(i+1, vuser.Identity{Username: fmt.Sprintf("user%d", i+1), Password: target.Password}, vuser.Signals{Abort: abort})
			first := true
			next := func() (time.Time, bool) {
				if first {
					first = false
					<-sem // logged in: let the next VU's login go
					iterations.Add(1)
					return time.Time{}, true
				}
				return time.Time{}, false
			}
			sem <- struct{}{}
			done.Add(1)
			vus[i].Go(ctx, next, done.Done)
		}
		// Wait until every VU has sent its request and parked in its think.
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
			if c := sess.Counts(); c.Unique == n && iterations.Load() == n {
				pl.Close() // idle connections' goroutines are not the VUs'
				if runtime.NumGoroutine() <= goroutines+50 {
					break
				}
			}
			if time.Now().After(deadline) {
				b.Fatalf("VUs not idle after 2 minutes: %d sessions, %d iterations, %d goroutines", sess.Counts().Unique, iterations.Load(), runtime.NumGoroutine())
			}
		}
		after := liveBytes()
		if snap := rec.Snapshot(); snap.Total.Errors != 0 || snap.Total.Requests != 3*n {
			b.Fatalf("%d requests, %d errors; want %d (form, POST, GET each) and none", snap.Total.Requests, snap.Total.Errors, 3*n)
		}
		b.ReportMetric(float64(after-before)/n, "bytes/VU")
		close(abort)
		for _, vu := range vus {
			vu.Wake()
		}
		done.Wait()
		pl.Close()
	}
}

// BenchmarkDemoTarget runs logged-in VUs with no think time against the
// demo target in another process and reports the generator's throughput
// and CPU time per request (user+sys of this process), once per HTTP
// engine (BenchmarkDemoTarget/net/http, BenchmarkDemoTarget/fasthttp).
func BenchmarkDemoTarget(b *testing.B) {
	u := startChild(b)
	for _, engine := range []string{pool.EngineNetHTTP, pool.EngineFastHTTP} {
		b.Run(engine, func(b *testing.B) { demoTarget(b, u, engine) })
	}
}

func demoTarget(b *testing.B, u *url.URL, engine string) {
	const vus = 32
	b.ReportAllocs()
	pl := pool.New(pool.Options{Engine: engine})
	defer pl.Close()
	rec := stats.NewRecorder(stats.Options{})
	env, err := vuser.NewEnv(script(u), vuser.PoolTransport(pl, nil), rec, stats.NewSessions())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	all := make([]*vuser.VU, vus)
	for i := range all {
		all[i] = env.NewVU(i+1, vuser.Identity{Username: fmt.Sprintf("user%d", i+1), Password: target.Password}, vuser.Signals{})
		if err := all[i].Login(ctx); err != nil {
			b.Fatal(err)
		}
	}
	rec.Snapshot()
	var next sync.Mutex
	left := b.N
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	var wg sync.WaitGroup
	for _, vu := range all {
		wg.Go(func() {
			for {
				next.Lock()
				if left == 0 {
					next.Unlock()
					return
				}
				left--
				next.Unlock()
				vu.Iterate(ctx, time.Time{})
			}
		})
	}
	wg.Wait()
	cpu, wall := cpuTime()-cpu0, time.Since(t0)
	b.StopTimer()
	res, err := rec.Result(wall)
	if err != nil {
		b.Fatal(err)
	}
	me := res.Endpoints[len(res.Endpoints)-1]
	if me.Errors != 0 {
		b.Fatalf("%d errors: %v", me.Errors, me.ErrorsByKind)
	}
	b.ReportMetric(float64(b.N)/wall.Seconds(), "req/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "µs-cpu/req")
}

// rateTrial runs a constant arrival rate for secs against u and reports
// whether the generator kept up (schedule lag p99 < 5 ms, every
// iteration done, no errors) and its CPU time per request.
func rateTrial(b *testing.B, u *url.URL, rate, secs int) (ok bool, lagP99, cpuPerReq float64) {
	text := fmt.Sprintf(`
target: %s
users: {template: {username: "user{{.VU}}", password: secret}}
session: {login: spring-form, end: abandon}
scenario:
  - {name: me, get: /api/me, headers: {Accept: application/json}, check: {status: 200}}
load: {rate: %d/s, duration: %ds, preallocated_vus: 64, max_vus: 512}
`, u, rate, secs)
	p, err := profiles.Parse("rate.yaml", []byte(text), ".")
	if err != nil {
		b.Fatal(err)
	}
	res, err := profiles.Run(context.Background(), p, profiles.RunOptions{})
	if err != nil {
		b.Fatal(err)
	}
	g := res.Generator
	want := int64(rate * secs)
	ok = g.ScheduleLagP99Ms < 5 && res.Iterations.Completed >= want*99/100 && res.Totals.Errors == 0
	return ok, g.ScheduleLagP99Ms, 1e6 * g.CPUSeconds / float64(max(res.Totals.Requests, 1))
}

// BenchmarkMaxRate finds the highest constant arrival rate load sustains
// against the demo target in another process with schedule lag p99 < 5 ms
// (doubling, then bisecting), and reports it with the generator's CPU
// time per request at that rate.
func BenchmarkMaxRate(b *testing.B) {
	u := startChild(b)
	for range b.N {
		good, bad := 0, 0
		var goodCPU, goodLag float64
		for r := 1000; bad == 0; r *= 2 {
			ok, lag, cpu := rateTrial(b, u, r, 3)
			b.Logf("rate %d/s: kept up %v, lag p99 %.2f ms, %.1f µs CPU/req", r, ok, lag, cpu)
			if ok {
				good, goodCPU, goodLag = r, cpu, lag
			} else {
				bad = r
			}
		}
		for range 3 {
			if good == 0 || bad-good <= good/8 {
				break
			}
			r := (good + bad) / 2
			ok, lag, cpu := rateTrial(b, u, r, 3)
			b.Logf("rate %d/s: kept up %v, lag p99 %.2f ms, %.1f µs CPU/req", r, ok, lag, cpu)
			if ok {
				good, goodCPU, goodLag = r, cpu, lag
			} else {
				bad = r
			}
		}
		b.ReportMetric(float64(good), "max-req/s")
		b.ReportMetric(goodCPU, "µs-cpu/req")
		b.ReportMetric(goodLag, "lag-p99-ms")
	}
}
