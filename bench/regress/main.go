// Command regress measures load compare's false-alarm and detection rates:
// it runs one plan N times against the demo target (bench/target, in this
// process) as it is, and N times each with a fault injected (a 2 s stall,
// 3x slower service, 5% errors), then compares every ordered pair of
// distinct runs at compare's defaults: (good i, good j) must never be
// flagged, (good i, faulty j) always. Run it from the repository's root:
//
//	go run ./bench/regress            # 5 runs each, 8 s at 200 iterations/s
//	go run ./bench/regress -runs 3 -duration 5s
//
// Every run is a complete profiles.Run (log in, arrival-rate schedule,
// log out) whose results go through stats.Compare exactly as load compare
// reads them from results.json.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/stats"
)

// fault is what the target does wrong in a run.
type fault int

const (
	none fault = iota
	stall
	slow
	errs
)

var faultNames = []string{"identical", "2 s stall", "3x slower service", "5% errors"}

// faulty wraps the demo target: /api/ requests take service (3x in a slow
// run), every 20th answers 500 in an error run, and a stall holds every
// /api/ request arriving in it until it ends.
//
// Concurrency: the fields are atomics, set by main between runs (and the
// stall by its timer) and read by the server's goroutines.
type faulty struct {
	next       http.Handler
	service    time.Duration
	fault      atomic.Int32
	count      atomic.Int64
	stallUntil atomic.Int64 // unix ns
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		d := f.service
		if fault(f.fault.Load()) == slow {
			d *= 3
		}
		if until := f.stallUntil.Load(); until != 0 {
			d += max(time.Duration(until-time.Now().UnixNano()), 0)
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		if fault(f.fault.Load()) == errs && f.count.Add(1)%20 == 0 {
			http.Error(w, "injected", http.StatusInternalServerError)
			return
		}
	}
	f.next.ServeHTTP(w, r)
}

func main() {
	runs := flag.Int("runs", 5, "runs of each kind")
	duration := flag.Duration("duration", 8*time.Second, "length of one run")
	rate := flag.Int("rate", 200, "iterations per second (two API requests each)")
	service := flag.Duration("service", 2*time.Millisecond, "the target's service time on /api/ (tripled in the slow runs)")
	save := flag.String("save", "", "write each run's results.json into this folder")
	load := flag.String("load", "", "compare the runs saved in this folder by -save instead of running")
	flag.Parse()
	var err error
	if *load != "" {
		err = compareSaved(*load)
	} else {
		err = measure(*runs, *duration, *rate, *service, *save)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "regress:", err)
		os.Exit(1)
	}
}

func measure(runs int, duration time.Duration, rate int, service time.Duration, save string) error {
	users := 2000
	f := &faulty{next: target.New(target.Config{Users: users}), service: service}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	plan := fmt.Sprintf(`name: regress
target: http://%s
users: {template: {username: "user{{.VU}}", password: secret}}
session: {cookie: JSESSIONID, login: spring-form, login_path: /login, end: logout}
scenario:
  - {name: me, get: /api/me, headers: {Accept: application/json}, check: {status: 200}}
  - {name: catalog, get: /api/catalog, headers: {Accept: application/json}, check: {status: 200}}
timeout: 10s
load: {rate: %d/s, duration: %s, preallocated_vus: 100, max_vus: %d}
`, ln.Addr(), rate, duration, users)
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d); %d runs of each kind, %s at %d iterations/s (me + catalog), service %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runs, duration, rate, service)

	results := make([][]*stats.Results, len(faultNames))
	for i := range runs {
		// Interleaved, so drift in the machine's load hits every kind alike.
		for k := range faultNames {
			res, err := once(plan, f, fault(k), duration)
			if err != nil {
				return fmt.Errorf("run %d (%s): %w", i+1, faultNames[k], err)
			}
			if save != "" {
				if err := saveResults(save, fault(k), i, res); err != nil {
					return err
				}
			}
			fmt.Printf("run %d %-18s requests %5d errors %4d", i+1, faultNames[k], res.Totals.Requests, res.Totals.Errors)
			if g := res.Generator; g != nil {
				fmt.Printf(" | cpu %2.0f%% lag p50/p99 %.2f/%.1f ms |", 100*g.CPUUtil, g.ScheduleLag.P50, g.ScheduleLagP99Ms)
			}
			for _, e := range res.Endpoints {
				if e.Name == "me" || e.Name == "catalog" {
					fmt.Printf(" %s p50/p99 %.2f/%.1f ms", e.Name, e.Latency.P50, e.Latency.P99)
				}
			}
			fmt.Println()
			results[k] = append(results[k], res)
		}
	}
	return comparePairs(results)
}

// saveResults writes run i of kind k as DIR/KIND-I.json.
func saveResults(dir string, k fault, i int, res *stats.Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d-%d.json", k, i+1)))
	if err != nil {
		return err
	}
	return errors.Join(res.WriteJSON(f), f.Close())
}

// compareSaved compares the runs a -save wrote.
func compareSaved(dir string) error {
	results := make([][]*stats.Results, len(faultNames))
	for k := range faultNames {
		for i := 1; ; i++ {
			f, err := os.Open(filepath.Join(dir, fmt.Sprintf("%d-%d.json", k, i)))
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil {
				return err
			}
			res, err := stats.ReadResults(f)
			f.Close()
			if err != nil {
				return err
			}
			results[k] = append(results[k], res)
		}
	}
	return comparePairs(results)
}

// comparePairs compares every ordered pair (good i, run j of each kind),
// i != j, at compare's defaults, and prints how many were flagged.
func comparePairs(results [][]*stats.Results) error {
	fmt.Printf("\nordered pairs (good i, run j of the kind), i != j, compared at the defaults:\n")
	for k := range faultNames {
		flagged, pairs := 0, 0
		why := map[string]int{}
		for i, base := range results[none] {
			for j, next := range results[k] {
				if i == j {
					continue
				}
				pairs++
				c, err := stats.Compare([]*stats.Results{base}, next, stats.CompareOptions{})
				if err != nil {
					return err
				}
				if c.Regressions > 0 {
					flagged++
				}
				for _, r := range c.Rows {
					if r.Regressed {
						why[r.Name()]++
					}
				}
			}
		}
		fmt.Printf("%-18s flagged %2d of %d pairs", faultNames[k], flagged, pairs)
		if len(why) > 0 {
			fmt.Printf("  (by %s)", summarize(why))
		}
		fmt.Println()
	}
	return nil
}

// once runs the plan with fault injected; a stall starts a third of the
// way in (at most 3 s).
func once(plan string, f *faulty, k fault, duration time.Duration) (*stats.Results, error) {
	p, err := profiles.Parse("regress.yaml", []byte(plan), ".")
	if err != nil {
		return nil, err
	}
	f.fault.Store(int32(k))
	f.stallUntil.Store(0)
	if k == stall {
		t := time.AfterFunc(min(3*time.Second, duration/3), func() { f.stallUntil.Store(time.Now().Add(2 * time.Second).UnixNano()) })
		defer t.Stop()
	}
	res, err := profiles.Run(context.Background(), p, profiles.RunOptions{})
	if err != nil {
		return nil, err
	}
	res.PlanSource = p.Source
	return res, nil
}

// summarize lists the figures that flagged pairs, most frequent first.
func summarize(why map[string]int) string {
	type kv struct {
		k string
		n int
	}
	var all []kv
	for k, n := range why {
		all = append(all, kv{k, n})
	}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if all[j].n > all[i].n || (all[j].n == all[i].n && all[j].k < all[i].k) {
				all[i], all[j] = all[j], all[i]
			}
		}
	}
	parts := make([]string, 0, len(all))
	for i, e := range all {
		if i == 4 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", e.k, e.n))
	}
	return strings.Join(parts, ", ")
}
