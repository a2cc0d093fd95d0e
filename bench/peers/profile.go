//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/sessionload/load/profiles"
)

// profileAll runs load's library in this process against each target
// twice: once under the CPU profiler, once recording allocations (one
// sample per 512 bytes), and writes DIR/TARGET.cpu.pprof and
// DIR/TARGET.mem.pprof. It prints CPU time, allocations and bytes per
// request of each run.
func profileAll(c config, b bins, dir string) error {
	if err := os.MkdirAll(c.profile, 0o755); err != nil {
		return err
	}
	describeMachine(os.Stdout, c)
	for _, name := range c.targets {
		t, err := startTarget(name, b, dir, c.conns)
		if err != nil {
			return err
		}
		err = profileTarget(c, dir, t)
		t.stop()
		if err != nil {
			return err
		}
	}
	return nil
}

func profileTarget(c config, dir string, t *target) error {
	planPath, err := loadPlan(dir, t, c, c.engine)
	if err != nil {
		return err
	}
	for _, kind := range []string{"cpu", "mem"} {
		p, err := profiles.LoadFile(planPath)
		if err != nil {
			return err
		}
		out := filepath.Join(c.profile, t.name+"."+kind+".pprof")
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		if kind == "cpu" {
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				return err
			}
		} else {
			runtime.MemProfileRate = 512
		}
		runtime.GC()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		cpu0 := cpuTime()
		res, err := profiles.Run(context.Background(), p, profiles.RunOptions{})
		cpu := cpuTime() - cpu0
		runtime.ReadMemStats(&ms1)
		if kind == "cpu" {
			pprof.StopCPUProfile()
		} else {
			runtime.GC()
			err = pprof.Lookup("allocs").WriteTo(f, 0)
			runtime.MemProfileRate = 512 * 1024
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		n := float64(max(res.Totals.Requests, 1))
		fmt.Printf("%s, %s profile: %d requests (%d errors), %.0f req/s, %.1f µs CPU/req, %.1f allocs/req, %.0f B/req -> %s\n",
			t.name, kind, res.Totals.Requests, res.Totals.Errors, n/res.DurationS,
			float64(cpu.Nanoseconds())/1e3/n, float64(ms1.Mallocs-ms0.Mallocs)/n, float64(ms1.TotalAlloc-ms0.TotalAlloc)/n, out)
	}
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
