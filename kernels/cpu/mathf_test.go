package cpu

import (
	"math"
	"testing"
)

// sweep calls f at n points spread evenly over [lo, hi] plus the ends.
func sweep(lo, hi float64, n int, f func(x float32)) {
	for i := 0; i <= n; i++ {
		f(float32(lo + (hi-lo)*float64(i)/float64(n)))
	}
}

func relErr32(got float32, want float64) float64 {
	if want == 0 {
		return math.Abs(float64(got))
	}
	return math.Abs(float64(got)-want) / math.Abs(want)
}

// TestExpfAccuracy bounds expf's relative error against float64 exp over its
// whole normal range, and checks its edges.
func TestExpfAccuracy(t *testing.T) {
	worst := 0.0
	sweep(expLo, expHi, 2_000_000, func(x float32) {
		worst = math.Max(worst, relErr32(expf(x), math.Exp(float64(x))))
	})
	t.Logf("expf: max relative error %.3g", worst)
	if worst > 1.5e-7 {
		t.Errorf("expf: max relative error %.3g > 1.5e-7", worst)
	}
	if expf(-100) != 0 || !math.IsInf(float64(expf(100)), 1) || expf(0) != 1 || !math.IsNaN(float64(expf(float32(math.NaN())))) {
		t.Error("expf edge values")
	}
}

func TestLogfAccuracy(t *testing.T) {
	worstRel, worstAbs := 0.0, 0.0
	for _, r := range [][2]float64{{1e-30, 1e-20}, {1e-6, 0.5}, {0.5, 2}, {2, 1e6}, {1e30, 3e38}} {
		sweep(r[0], r[1], 500_000, func(x float32) {
			if x <= 0 {
				return
			}
			want := math.Log(float64(x))
			d := math.Abs(float64(logf(x)) - want)
			if math.Abs(want) > 0.1 {
				worstRel = math.Max(worstRel, d/math.Abs(want))
			} else {
				worstAbs = math.Max(worstAbs, d)
			}
		})
	}
	t.Logf("logf: max relative error %.3g (|log x| > 0.1), max absolute error %.3g near 1", worstRel, worstAbs)
	if worstRel > 2e-7 || worstAbs > 1e-7 {
		t.Errorf("logf: relative error %.3g > 2e-7 or absolute %.3g > 1e-7", worstRel, worstAbs)
	}
	if x := logf(1e-40); math.Abs(float64(x)-math.Log(1e-40)) > 1e-4 {
		t.Errorf("logf(1e-40) = %g (subnormal input)", x)
	}
}

func TestSoftplusSigmoidAccuracy(t *testing.T) {
	worstSP, worstSig := 0.0, 0.0
	sweep(-80, 30, 1_000_000, func(x float32) {
		xd := float64(x)
		sp := math.Log1p(math.Exp(xd))
		if xd > 20 {
			sp = xd
		}
		worstSP = math.Max(worstSP, relErr32(softplusf(x), sp))
		worstSig = math.Max(worstSig, relErr32(sigmoidf(x), 1/(1+math.Exp(-xd))))
	})
	t.Logf("softplusf: max relative error %.3g; sigmoidf: %.3g", worstSP, worstSig)
	if worstSP > 3e-7 || worstSig > 3e-7 {
		t.Errorf("softplusf %.3g or sigmoidf %.3g relative error > 3e-7", worstSP, worstSig)
	}
}

var benchIn = func() []float32 {
	v := make([]float32, 4096)
	for i := range v {
		v[i] = -8 + 16*float32(i)/4096
	}
	return v
}()

// BenchmarkExpf reports ns per call over independent inputs (throughput).
func BenchmarkExpf(b *testing.B) {
	var s float32
	for b.Loop() {
		for _, x := range benchIn {
			s += expf(x)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchIn)), "ns/call")
	_ = s
}

func BenchmarkSoftplusf(b *testing.B) {
	var s float32
	for b.Loop() {
		for _, x := range benchIn {
			s += softplusf(x)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchIn)), "ns/call")
	_ = s
}

// TestVectorFunctions bounds the 8-lane kernels (and their scalar tails)
// against float64 over ranges that include the thresholds.
func TestVectorFunctions(t *testing.T) {
	const n = 400_003 // not a multiple of 8: the tail runs the scalar code
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(-90 + 115*float64(i)/n)
	}
	got := make([]float32, n)
	for _, c := range []struct {
		name string
		f    func(dst, src []float32)
		want func(float64) float64
		tol  float64
	}{
		{"exp", expVec, math.Exp, 1.5e-7},
		{"sigmoid", sigmoidVec, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }, 3e-7},
		{"softplus", softplusVec, func(v float64) float64 {
			if v > 20 {
				return v
			}
			return math.Log1p(math.Exp(v))
		}, 3e-7},
	} {
		c.f(got, x)
		worst := 0.0
		for i, v := range x {
			w := c.want(float64(v))
			if c.name == "exp" && (v < expLo || v > 88.37) {
				continue // clamped range
			}
			if w < 1e-37 { // below float32's normal range
				continue
			}
			worst = math.Max(worst, relErr32(got[i], w))
		}
		t.Logf("%s: max relative error %.3g", c.name, worst)
		if worst > c.tol {
			t.Errorf("%s: max relative error %.3g > %g", c.name, worst, c.tol)
		}
	}
}

func BenchmarkSoftplusVec(b *testing.B) {
	dst := make([]float32, len(benchIn))
	for b.Loop() {
		softplusVec(dst, benchIn)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchIn)), "ns/call")
}
