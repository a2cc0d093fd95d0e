package profiles

import (
	"fmt"
	"math"

	"github.com/sessionload/load/stats"
)

// fitHeap fits heap after GC (MB) over sessions held by least squares and
// returns the slope in KB per session with its conf confidence interval
// (Student's t, n−2 degrees of freedom). It needs three points at two or
// more distinct session counts; nil otherwise.
func fitHeap(pts [][2]float64, conf float64) *stats.HeapFit {
	n := float64(len(pts))
	if len(pts) < 3 {
		return nil
	}
	var mx, my float64
	for _, p := range pts {
		mx, my = mx+p[0], my+p[1]
	}
	mx, my = mx/n, my/n
	var sxx, sxy float64
	for _, p := range pts {
		sxx += (p[0] - mx) * (p[0] - mx)
		sxy += (p[0] - mx) * (p[1] - my)
	}
	if sxx == 0 {
		return nil
	}
	b := sxy / sxx
	a := my - b*mx
	var sse float64
	for _, p := range pts {
		r := p[1] - (a + b*p[0])
		sse += r * r
	}
	df := n - 2
	se := math.Sqrt(sse / df / sxx)
	t := tQuantile(1-(1-conf)/2, df)
	kb := func(mb float64) float64 { return mb * 1024 }
	f := &stats.HeapFit{
		SlopeKB: kb(b), LowKB: kb(b - t*se), HighKB: kb(b + t*se), Confidence: conf, InterceptMB: a,
		Points: append([][2]float64(nil), pts...),
	}
	f.Formula = fmt.Sprintf("slope = Σ(x−x̄)(y−ȳ) / Σ(x−x̄)² over %d points (x: sessions held at a step's end − at rest before it, y: heap after GC then − at rest before) = %.4g MB = %.1f KB per session; "+
		"interval = slope ± t(%.3g, %g df) × √(SSE / (n−2) / Σ(x−x̄)²) = %.1f ± %.3g × %.3g KB = [%.1f, %.1f] KB",
		len(pts), b, f.SlopeKB, 1-(1-conf)/2, df, f.SlopeKB, t, kb(se), f.LowKB, f.HighKB)
	return f
}

// tQuantile is the p-quantile (p in (0.5, 1)) of Student's t with df
// degrees of freedom, by bisection on its distribution function.
func tQuantile(p, df float64) float64 {
	lo, hi := 0.0, 1.0
	for tCDF(hi, df) < p {
		hi *= 2
		if hi > 1e7 {
			return math.Inf(1)
		}
	}
	for range 200 {
		mid := (lo + hi) / 2
		if tCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-10*hi {
			break
		}
	}
	return (lo + hi) / 2
}

// tCDF is P(T <= t) for t >= 0: 1 − I_x(df/2, 1/2) / 2 with x = df/(df+t²).
func tCDF(t, df float64) float64 {
	x := df / (df + t*t)
	return 1 - 0.5*regIncBeta(x, df/2, 0.5)
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), by
// its continued fraction (Lentz's method).
func regIncBeta(x, a, b float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log(1-x))
	if x > (a+1)/(a+b+2) {
		return 1 - regIncBeta(1-x, b, a)
	}
	const tiny = 1e-300
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	f := d
	for m := 1; m <= 300; m++ {
		mf := float64(m)
		// Even step.
		num := mf * (b - mf) * x / ((a + 2*mf - 1) * (a + 2*mf))
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		f *= d * c
		// Odd step.
		num = -(a + mf) * (a + b + mf) * x / ((a + 2*mf) * (a + 2*mf + 1))
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		delta := d * c
		f *= delta
		if math.Abs(delta-1) < 1e-14 {
			break
		}
	}
	return front * f / a
}
