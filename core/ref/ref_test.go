package ref

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/mambakit/mambakit/core/tensorfile"
)

func randn(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = scale * r.NormFloat64()
	}
	return v
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// checkGrad compares analytic against central finite differences of loss
// with respect to every element of x.
func checkGrad(t *testing.T, name string, x, analytic []float64, loss func() float64) {
	t.Helper()
	const h = 1e-6
	worst := 0.0
	for i := range x {
		old := x[i]
		x[i] = old + h
		fp := loss()
		x[i] = old - h
		fm := loss()
		x[i] = old
		num := (fp - fm) / (2 * h)
		err := math.Abs(num-analytic[i]) / math.Max(1, math.Abs(num))
		worst = math.Max(worst, err)
	}
	if worst > 1e-6 {
		t.Errorf("%s: worst finite-difference error %.3g", name, worst)
	}
}

func TestGemmSmall(t *testing.T) {
	// [1 2; 3 4; 5 6] · [7 8 9; 10 11 12], computed by hand.
	a := []float64{1, 2, 3, 4, 5, 6}
	b := []float64{7, 8, 9, 10, 11, 12}
	want := []float64{27, 30, 33, 61, 68, 75, 95, 106, 117}
	c := make([]float64, 9)
	Gemm(false, false, 3, 3, 2, 1, a, b, 0, c)
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("C = %v, want %v", c, want)
		}
	}
	// The same product through transposed storage, with alpha and beta.
	at := []float64{1, 3, 5, 2, 4, 6}
	bt := []float64{7, 10, 8, 11, 9, 12}
	c2 := make([]float64, 9)
	for i := range c2 {
		c2[i] = 1
	}
	Gemm(true, true, 3, 3, 2, 2, at, bt, 3, c2)
	for i := range want {
		if c2[i] != 2*want[i]+3 {
			t.Fatalf("transposed C = %v, want 2·%v+3", c2, want)
		}
	}
}

func TestConvGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, silu := range []bool{false, true} {
		B, D, L, K := 2, 3, 5, 4
		x, w, bias := randn(r, B*D*L, 1), randn(r, D*K, 0.5), randn(r, D, 0.3)
		dout := randn(r, B*D*L, 1)
		out := make([]float64, B*D*L)
		loss := func() float64 { Conv1d(out, x, w, bias, B, D, L, K, silu); return dot(out, dout) }
		dx, dw, db := make([]float64, B*D*L), make([]float64, D*K), make([]float64, D)
		Conv1dBackward(dx, dw, db, dout, x, w, bias, B, D, L, K, silu)
		checkGrad(t, "conv dx", x, dx, loss)
		checkGrad(t, "conv dw", w, dw, loss)
		checkGrad(t, "conv dbias", bias, db, loss)
	}
}

func TestConvStepMatchesConv(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	B, D, L, K := 2, 3, 6, 4
	x, w, bias := randn(r, B*D*L, 1), randn(r, D*K, 0.5), randn(r, D, 0.3)
	full := make([]float64, B*D*L)
	Conv1d(full, x, w, bias, B, D, L, K, true)
	state := make([]float64, B*D*K)
	xt, out := make([]float64, B*D), make([]float64, B*D)
	for tt := 0; tt < L; tt++ {
		for i := 0; i < B*D; i++ {
			xt[i] = x[i*L+tt]
		}
		ConvStep(state, xt, w, bias, out, B, D, K, true)
		for i := 0; i < B*D; i++ {
			if math.Abs(out[i]-full[i*L+tt]) > 1e-14 {
				t.Fatalf("t=%d: step %g, full %g", tt, out[i], full[i*L+tt])
			}
		}
	}
}

func TestRMSNormGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rows, dim := 3, 7
	x, w, dout := randn(r, rows*dim, 1), randn(r, dim, 1), randn(r, rows*dim, 1)
	out := make([]float64, rows*dim)
	loss := func() float64 { RMSNorm(out, nil, x, w, rows, dim, 1e-5); return dot(out, dout) }
	dx, dw := make([]float64, rows*dim), make([]float64, dim)
	RMSNormBackward(dx, dw, dout, x, w, rows, dim, 1e-5)
	checkGrad(t, "rmsnorm dx", x, dx, loss)
	checkGrad(t, "rmsnorm dw", w, dw, loss)
}

func TestCrossEntropyGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	T, V := 4, 6
	logits := randn(r, T*V, 2)
	targets := []int32{1, -100, 5, 0}
	losses := make([]float64, T)
	loss := func() float64 {
		CrossEntropy(losses, logits, targets, V)
		s := 0.0
		for _, l := range losses {
			s += l
		}
		return 0.25 * s
	}
	d := make([]float64, T*V)
	CrossEntropyBackward(d, logits, targets, V, 0.25)
	checkGrad(t, "cross-entropy", logits, d, loss)
	loss()
	if losses[1] != 0 {
		t.Errorf("ignored row has loss %g", losses[1])
	}
	// A row of equal logits has loss log V.
	eq := make([]float64, V)
	CrossEntropy(losses[:1], eq, []int32{2}, V)
	if math.Abs(losses[0]-math.Log(float64(V))) > 1e-15 {
		t.Errorf("uniform loss %g, want log %d", losses[0], V)
	}
}

func TestElementwiseGrads(t *testing.T) {
	for _, x := range []float64{-30, -3, -0.5, 0, 0.7, 4, 19.9, 25} {
		h := 1e-6
		if d := (SiLU(x+h) - SiLU(x-h)) / (2 * h); math.Abs(d-SiLUGrad(x)) > 1e-8 {
			t.Errorf("SiLU'(%g) = %g, differences give %g", x, SiLUGrad(x), d)
		}
		if d := (Softplus(x+h) - Softplus(x-h)) / (2 * h); math.Abs(d-SoftplusGrad(x)) > 1e-8 {
			t.Errorf("softplus'(%g) = %g, differences give %g", x, SoftplusGrad(x), d)
		}
	}
}

func randomScan(r *rand.Rand, B, D, L, N int, all bool) *Scan {
	s := &Scan{Bsz: B, D: D, L: L, N: N, Softplus: true,
		U: randn(r, B*D*L, 1), Delta: randn(r, B*D*L, 0.5),
		B: randn(r, B*N*L, 1), C: randn(r, B*N*L, 1)}
	s.A = make([]float64, D*N)
	for i := range s.A {
		s.A[i] = -(0.5 + 2*r.Float64())
	}
	if all {
		s.Dskip, s.Z, s.DeltaBias, s.H0 = randn(r, D, 1), randn(r, B*D*L, 1), randn(r, D, 0.3), randn(r, B*D*N, 1)
	}
	return s
}

func TestScanGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, all := range []bool{false, true} {
		for _, sp := range []bool{true, false} {
			B, D, L, N := 2, 3, 7, 5
			s := randomScan(r, B, D, L, N, all)
			s.Softplus = sp
			if !sp { // keep δ positive without softplus
				for i := range s.Delta {
					s.Delta[i] = 0.1 + math.Abs(s.Delta[i])
				}
				if s.DeltaBias != nil {
					for i := range s.DeltaBias {
						s.DeltaBias[i] = math.Abs(s.DeltaBias[i])
					}
				}
			}
			dout, dh := randn(r, B*D*L, 1), randn(r, B*D*N, 1)
			loss := func() float64 { o, h := s.Forward(); return dot(o, dout) + dot(h, dh) }
			g := s.Backward(dout, dh)
			checkGrad(t, "scan du", s.U, g.U, loss)
			checkGrad(t, "scan ddelta", s.Delta, g.Delta, loss)
			checkGrad(t, "scan dA", s.A, g.A, loss)
			checkGrad(t, "scan dB", s.B, g.B, loss)
			checkGrad(t, "scan dC", s.C, g.C, loss)
			if all {
				checkGrad(t, "scan dD", s.Dskip, g.Dskip, loss)
				checkGrad(t, "scan dz", s.Z, g.Z, loss)
				checkGrad(t, "scan ddelta_bias", s.DeltaBias, g.DeltaBias, loss)
				checkGrad(t, "scan dh0", s.H0, g.H0, loss)
			}
		}
	}
}

// stepScan walks s position by position with ScanStep, from H0, calling
// before(t, state) ahead of position t's step and after(t, out) with its
// outputs (B·D); it returns the final state.
func stepScan(s *Scan, before func(t int, state []float64), after func(t int, out []float64)) []float64 {
	B, D, L, N := s.Bsz, s.D, s.L, s.N
	state := append([]float64(nil), s.H0...)
	col := func(x []float64, rows, tt int) []float64 {
		c := make([]float64, rows)
		for i := range c {
			c[i] = x[i*L+tt]
		}
		return c
	}
	o := make([]float64, B*D)
	for tt := 0; tt < L; tt++ {
		before(tt, state)
		ScanStep(state, col(s.U, B*D, tt), col(s.Delta, B*D, tt), col(s.Z, B*D, tt), s.A,
			col(s.B, B*N, tt), col(s.C, B*N, tt), s.Dskip, s.DeltaBias, o, B, D, N, true)
		after(tt, o)
	}
	return state
}

func TestScanStepMatchesScan(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	B, D, L, N := 2, 3, 6, 4
	s := randomScan(r, B, D, L, N, true)
	out, last := s.Forward()
	state := stepScan(s, func(int, []float64) {}, func(tt int, o []float64) {
		for i := range o {
			if math.Abs(o[i]-out[i*L+tt]) > 1e-12 {
				t.Fatalf("t=%d: step %g, scan %g", tt, o[i], out[i*L+tt])
			}
		}
	})
	for i := range last {
		if math.Abs(state[i]-last[i]) > 1e-12 {
			t.Fatalf("final state %g, scan %g", state[i], last[i])
		}
	}
}

// TestScanSaved checks Saved against the states that ScanStep reaches
// position by position (an independent walk): entry c is the state before
// position c·every, the last entry of a length that is not a multiple of
// every included.
func TestScanSaved(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	B, D, L, N, every := 2, 3, 19, 4, 8
	s := randomScan(r, B, D, L, N, true)
	saved := s.Saved(every)
	C := (L + every - 1) / every
	if len(saved) != B*D*C*N {
		t.Fatalf("%d saved values, want %d", len(saved), B*D*C*N)
	}
	stepScan(s, func(tt int, state []float64) {
		if tt%every != 0 {
			return
		}
		c := tt / every
		for bd := 0; bd < B*D; bd++ {
			for n := 0; n < N; n++ {
				if got, want := saved[(bd*C+c)*N+n], state[bd*N+n]; math.Abs(got-want) > 1e-12 {
					t.Fatalf("channel %d, entry %d, state %d: saved %g, stepped %g", bd, c, n, got, want)
				}
			}
		}
	}, func(int, []float64) {})
}

// TestScanFixtures holds the reference to the PyTorch scan of testdata/scan.
func TestScanFixtures(t *testing.T) {
	for _, name := range []string{"scan-small", "scan-long"} {
		f, err := tensorfile.Open(filepath.Join("..", "..", "testdata", "scan", name+".safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		get := func(n string) []float64 {
			v, _, err := f.Float64(n)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		shapeU, _, _ := f.Shape("u")
		shapeA, _, _ := f.Shape("A")
		s := &Scan{Bsz: shapeU[0], D: shapeU[1], L: shapeU[2], N: shapeA[1], Softplus: true,
			U: get("u"), Delta: get("delta"), A: get("A"), B: get("B"), C: get("C"),
			Dskip: get("D"), Z: get("z"), DeltaBias: get("delta_bias")}
		out, last := s.Forward()
		g := s.Backward(get("dout"), nil)
		cmp := func(what string, got, want []float64) {
			m, e := 0.0, 0.0
			for i := range want {
				m = math.Max(m, math.Abs(want[i]))
				e = math.Max(e, math.Abs(got[i]-want[i]))
			}
			if e > 1e-10*math.Max(m, 1) {
				t.Errorf("%s %s: max error %.3g (max |ref| %.3g)", name, what, e, m)
			}
		}
		cmp("out", out, get("out"))
		cmp("last_state", last, get("last_state"))
		for k, v := range map[string][]float64{"u": g.U, "delta": g.Delta, "A": g.A, "B": g.B, "C": g.C,
			"D": g.Dskip, "z": g.Z, "delta_bias": g.DeltaBias} {
			cmp("grad."+k, v, get("grad."+k))
		}
	}
}

// TestAdamWFirstStep checks the closed form of Adam's first step from zero
// moments: the bias corrections make m̂ = g and v̂ = g², so the update is
// lr·g/(|g| + eps) after the decoupled decay.
func TestAdamWFirstStep(t *testing.T) {
	p := []float64{1, -2, 0.5}
	g := []float64{0.3, -4, 1e-3}
	m, v := make([]float64, 3), make([]float64, 3)
	want := make([]float64, 3)
	for i := range p {
		want[i] = p[i]*(1-0.01*0.1) - 0.01*g[i]/(math.Abs(g[i])+1e-8)
	}
	AdamW(p, g, m, v, 0.01, 0.9, 0.999, 1e-8, 0.1, 1, 1)
	for i := range p {
		if math.Abs(p[i]-want[i]) > 1e-15 {
			t.Errorf("p[%d] = %.17g, want %.17g", i, p[i], want[i])
		}
	}
}
