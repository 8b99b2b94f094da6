// Package conformance is the one test suite every backend must pass: it runs
// each core.Backend operation on awkward shapes (odd L, L shorter than the
// convolution, N ≠ 16, chunk boundaries, broadcast batches) and compares it
// with the float64 reference of core/ref computed from the same
// float32-rounded inputs.
//
// A backend's test calls Run(t, backend, conformance.Float32) or with its own
// tolerances. Errors are measured relative to the largest magnitude of the
// reference tensor: max|got − ref| / max|ref|.
package conformance

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/ref"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// Tolerances bound the relative error of outputs and of gradients.
type Tolerances struct {
	Out, Grad float64
}

// Float32 is the bar for float32 backends: 1e-5 for outputs, 1e-4 for
// gradients, relative to max |reference|.
var Float32 = Tolerances{Out: 1e-5, Grad: 1e-4}

type suite struct {
	t   *testing.T
	ops core.Ops
	tol Tolerances
	r   *rand.Rand
}

// Run runs the whole suite against be.
func Run(t *testing.T, be core.Backend, tol Tolerances) {
	s := &suite{t: t, ops: core.Ops{Backend: be}, tol: tol, r: rand.New(rand.NewPCG(2024, 5))}
	t.Run("Gemm", s.gemm)
	t.Run("GemmBF16", s.gemmBF16)
	t.Run("Embedding", s.embedding)
	t.Run("Conv1d", s.conv)
	t.Run("ConvStep", s.convStep)
	t.Run("SelectiveScan", s.scan)
	t.Run("SelectiveScanBF16", s.scanBF16)
	t.Run("ScanStep", s.scanStep)
	t.Run("RMSNorm", s.rmsnorm)
	t.Run("Elementwise", s.elementwise)
	t.Run("CrossEntropy", s.crossEntropy)
	t.Run("ArgmaxRows", s.argmax)
	t.Run("AdamW", s.adamw)
	t.Run("Flip", s.flip)
	t.Run("CopyConvert", s.copyConvert)
}

// copyConvert copies float32 → bfloat16 (round to nearest, ties to even),
// bfloat16 → float32 (exact), and within each type, at offsets into larger
// storages.
func (s *suite) copyConvert(t *testing.T) {
	s.t = t
	// 1 + 2⁻⁸ is a tie (rounds down to 1, even); 1 + 3·2⁻⁸ rounds up to
	// 1 + 2⁻⁶; 65504 and 1e-30 are in range.
	v := []float64{1, -2.5, 3.14159, 1e-30, 65504, 1.00390625, 1.01171875}
	for i, x := range v {
		v[i] = float64(float32(x))
	}
	v = append(v, s.rnd(1000, 3)...)
	want := RoundBF16(v)
	n := len(v)
	big := s.put(append(make([]float64, 5), v...), n+5)
	src := core.Tensor{Shape: []int{n}, Store: big.Store, Off: big.Off + 5}
	h := s.ops.AllocBF16(n + 3)
	hv := core.Tensor{Shape: []int{n}, Store: h.Store, Off: h.Off + 3}
	s.ops.Copy(hv, src)
	s.check("copy float32 → bfloat16", 0, s.get(hv), want)
	h2 := s.ops.AllocBF16(n)
	s.ops.Copy(h2, hv)
	s.check("copy bfloat16 → bfloat16", 0, s.get(h2), want)
	back := s.ops.Alloc(n)
	s.ops.Copy(back, h2)
	s.check("copy bfloat16 → float32", 0, s.get(back), want)
	f := s.ops.Alloc(n)
	s.ops.Copy(f, src)
	s.check("copy float32 → float32", 0, s.get(f), v)
}

// rnd returns n normal values scaled by scale, rounded to float32 precision.
func (s *suite) rnd(n int, scale float64) []float64 { return randFloats(s.r, n, scale) }

// randFloats returns n normal values from r scaled by scale, rounded to
// float32 precision.
func randFloats(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(float32(scale * r.NormFloat64()))
	}
	return v
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// put uploads v into a new backend tensor of the given shape.
func (s *suite) put(v []float64, shape ...int) core.Tensor {
	t := s.ops.Alloc(shape...)
	s.ops.Upload(t, f32(v))
	return t
}

// putOpt is put for optional inputs: nil stays the zero Tensor.
func (s *suite) putOpt(v []float64, shape ...int) core.Tensor {
	if v == nil {
		return core.Tensor{}
	}
	return s.put(v, shape...)
}

func (s *suite) get(t core.Tensor) []float64 {
	h := s.ops.ToHost(t)
	out := make([]float64, len(h))
	for i, x := range h {
		out[i] = float64(x)
	}
	return out
}

// RelErr is max|got − want| / max|want| (the absolute error when want is all
// zero); NaN in got counts as infinite error.
func RelErr(got, want []float64) float64 {
	m, e := 0.0, 0.0
	for i := range want {
		m = math.Max(m, math.Abs(want[i]))
		d := math.Abs(got[i] - want[i])
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		e = math.Max(e, d)
	}
	if m == 0 {
		return e
	}
	return e / m
}

func (s *suite) check(what string, tol float64, got, want []float64) {
	s.t.Helper()
	if len(got) != len(want) {
		s.t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	if e := RelErr(got, want); !(e <= tol) {
		s.t.Errorf("%s: relative error %.3g > %.0e", what, e, tol)
	}
}

func (s *suite) gemm(t *testing.T) {
	s.t = t
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 1, 9}, {1, 13, 33}, {4, 21, 70}, {64, 48, 31}, {70, 129, 65}, {5, 6, 0}, {100, 37, 300}, {7, 4100, 3},
		{2, 33, 64}, {8, 40, 256}, {9, 5, 16}, {1, 70, 1000}}
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, batch := range []int{1, 3} {
					for _, beta := range []float64{0, 0.5} {
						shareA := batch > 1
						strideA := m * k
						if shareA {
							strideA = 0
						}
						na := strideA*(batch-1) + m*k
						a, b := s.rnd(max(na, 1), 1), s.rnd(batch*k*n, 1)
						c0 := s.rnd(batch*m*n, 1)
						if beta == 0 {
							for i := range c0 {
								c0[i] = math.NaN() // must be ignored
							}
						}
						want := append([]float64(nil), c0...)
						for i := 0; i < batch; i++ {
							cw := want[i*m*n : (i+1)*m*n]
							if beta == 0 {
								clear(cw)
							}
							ref.Gemm(ta, tb, m, n, k, 0.75, a[i*strideA:], b[i*k*n:], beta, cw)
						}
						C := s.put(c0, batch*m*n)
						s.ops.Gemm(core.GemmArgs{TransA: ta, TransB: tb, M: m, N: n, K: k, Batch: batch,
							Alpha: 0.75, Beta: float32(beta),
							A: s.put(a, len(a)), B: s.put(b, len(b)), C: C,
							StrideA: strideA, StrideB: k * n, StrideC: m * n})
						s.check(fmt.Sprintf("gemm m%d n%d k%d tA=%v tB=%v batch %d beta %g", m, n, k, ta, tb, batch, beta),
							s.tol.Out, s.get(C), want)
					}
				}
			}
		}
	}
}

// RoundBF16 rounds v to bfloat16 values, as an upload into a bfloat16 tensor
// does.
func RoundBF16(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(tensorfile.BF16ToFloat32(tensorfile.Float32ToBF16(float32(x))))
	}
	return out
}

func (s *suite) putBF16(v []float64, shape ...int) core.Tensor {
	t := s.ops.AllocBF16(shape...)
	s.ops.Upload(t, f32(v))
	return t
}

// gemmBF16 multiplies with bfloat16 weights: as B of a product of few rows
// (decode), and as A or B of larger products.
func (s *suite) gemmBF16(t *testing.T) {
	s.t = t
	for _, c := range []struct {
		m, n, k  int
		ta, tb   bool
		bfA, bfB bool
		beta     float64
	}{
		{1, 37, 300, false, true, false, true, 0}, {3, 16, 7, false, true, false, true, 0.5},
		{40, 33, 70, false, true, false, true, 0}, {40, 33, 70, false, false, true, false, 1},
		{17, 9, 20, true, false, true, true, 0},
		{2, 19, 64, false, true, false, true, 0.5}, {8, 40, 1000, false, true, false, true, 0},
		// A float32 batch of rows by bfloat16 weights, past the few-row
		// limit (CUDA: A split into three bfloat16 parts up to 64 rows,
		// B widened past it).
		{9, 21, 50, false, false, false, true, 0.5}, {64, 40, 1000, false, true, false, true, 0.5},
		{65, 12, 30, false, true, false, true, 0},
	} {
		a, b := s.rnd(c.m*c.k, 1), s.rnd(c.k*c.n, 1)
		A, B := s.put(a, len(a)), s.put(b, len(b))
		if c.bfA {
			a = RoundBF16(a)
			A = s.putBF16(a, len(a))
		}
		if c.bfB {
			b = RoundBF16(b)
			B = s.putBF16(b, len(b))
		}
		c0 := s.rnd(c.m*c.n, 1)
		want := append([]float64(nil), c0...)
		ref.Gemm(c.ta, c.tb, c.m, c.n, c.k, 1.5, a, b, c.beta, want)
		C := s.put(c0, c.m*c.n)
		s.ops.Gemm(core.GemmArgs{TransA: c.ta, TransB: c.tb, M: c.m, N: c.n, K: c.k, Alpha: 1.5, Beta: float32(c.beta),
			A: A, B: B, C: C})
		s.check(fmt.Sprintf("bf16 gemm %+v", c), s.tol.Out, s.get(C), want)
		// A bfloat16 tensor reads back as the rounded values.
		if c.bfB {
			s.check("bf16 download", 0, s.get(B), b)
		}
	}
	V, dim := 9, 13
	table := RoundBF16(s.rnd(V*dim, 1))
	ids := []int32{8, 0, 3, 3}
	want := make([]float64, len(ids)*dim)
	ref.Embedding(want, table, ids, dim)
	out := s.ops.Alloc(len(ids), dim)
	s.ops.Embedding(out, s.putBF16(table, V, dim), ids)
	s.check("bf16 embedding", 0, s.get(out), want)
}

func (s *suite) embedding(t *testing.T) {
	s.t = t
	V, dim := 11, 7
	table := s.rnd(V*dim, 1)
	ids := []int32{3, 0, 10, 3, 3, 7}
	want := make([]float64, len(ids)*dim)
	ref.Embedding(want, table, ids, dim)
	out := s.ops.Alloc(len(ids), dim)
	s.ops.Embedding(out, s.put(table, V, dim), ids)
	s.check("embedding", 0, s.get(out), want)

	dout := s.rnd(len(ids)*dim, 1)
	dtab0 := s.rnd(V*dim, 1)
	wantD := append([]float64(nil), dtab0...)
	ref.EmbeddingBackward(wantD, dout, ids, dim)
	dtab := s.put(dtab0, V, dim)
	s.ops.EmbeddingBackward(dtab, s.put(dout, len(ids), dim), ids)
	s.check("embedding backward", s.tol.Grad, s.get(dtab), wantD)
}

func (s *suite) conv(t *testing.T) {
	s.t = t
	for _, sh := range [][4]int{{1, 1, 1, 4}, {2, 3, 2, 4}, {2, 5, 17, 4}, {1, 3, 9, 1}, {2, 2, 33, 3}, {3, 4, 3, 2}} {
		B, D, L, K := sh[0], sh[1], sh[2], sh[3]
		for _, silu := range []bool{false, true} {
			for _, hasBias := range []bool{false, true} {
				name := fmt.Sprintf("B%d D%d L%d K%d silu=%v bias=%v", B, D, L, K, silu, hasBias)
				x, w := s.rnd(B*D*L, 1), s.rnd(D*K, 0.5)
				var bias []float64
				if hasBias {
					bias = s.rnd(D, 0.3)
				}
				want := make([]float64, B*D*L)
				ref.Conv1d(want, x, w, bias, B, D, L, K, silu)
				args := core.ConvArgs{X: s.put(x, B, D, L), W: s.put(w, D, K), Bias: s.putOpt(bias, D),
					Out: s.ops.Alloc(B, D, L), SiLU: silu}
				s.ops.Conv1d(args)
				s.check("conv "+name, s.tol.Out, s.get(args.Out), want)

				dout := s.rnd(B*D*L, 1)
				dw0, db0 := s.rnd(D*K, 1), s.rnd(D, 1)
				wdx := make([]float64, B*D*L)
				wdw := append([]float64(nil), dw0...)
				var wdb []float64
				if hasBias {
					wdb = append([]float64(nil), db0...)
				}
				ref.Conv1dBackward(wdx, wdw, wdb, dout, x, w, bias, B, D, L, K, silu)
				g := core.ConvGrads{DOut: s.put(dout, B, D, L), DX: s.put(s.rnd(B*D*L, 1), B, D, L), DW: s.put(dw0, D, K)}
				if hasBias {
					g.DBias = s.put(db0, D)
				}
				s.ops.Conv1dBackward(args, g)
				s.check("conv dx "+name, s.tol.Grad, s.get(g.DX), wdx)
				s.check("conv dw "+name, s.tol.Grad, s.get(g.DW), wdw)
				if hasBias {
					s.check("conv dbias "+name, s.tol.Grad, s.get(g.DBias), wdb)
				}
			}
		}
	}
}

func (s *suite) convStep(t *testing.T) {
	s.t = t
	for _, sh := range [][3]int{{1, 1, 4}, {2, 5, 4}, {3, 7, 1}, {2, 3, 2}} {
		B, D, K := sh[0], sh[1], sh[2]
		state, w, bias := s.rnd(B*D*K, 1), s.rnd(D*K, 0.5), s.rnd(D, 0.3)
		st := s.put(state, B, D, K)
		for step := 0; step < 3; step++ {
			x := s.rnd(B*D, 1)
			want := make([]float64, B*D)
			ref.ConvStep(state, x, w, bias, want, B, D, K, step != 1)
			out := s.ops.Alloc(B, D)
			s.ops.ConvStep(st, s.put(x, B, D), s.put(w, D, K), s.put(bias, D), out, step != 1)
			s.check(fmt.Sprintf("conv step B%d D%d K%d step %d", B, D, K, step), s.tol.Out, s.get(out), want)
			s.check(fmt.Sprintf("conv step state B%d D%d K%d step %d", B, D, K, step), s.tol.Out, s.get(st), state)
		}
	}
}

// scanCase builds a random scan (RandomScan) from the suite's source.
func (s *suite) scanCase(B, D, L, N int, opt bool, softplus bool) *ref.Scan {
	return RandomScan(s.r, B, D, L, N, opt, softplus)
}

// RandomScan builds a random scan with Mamba's signs, every value float32:
// A negative (A = −exp(A_log)), and without softplus positive time steps
// and bias; opt adds D, z, delta_bias and h0.
func RandomScan(r *rand.Rand, B, D, L, N int, opt bool, softplus bool) *ref.Scan {
	rnd := func(n int, scale float64) []float64 { return randFloats(r, n, scale) }
	sc := &ref.Scan{Bsz: B, D: D, L: L, N: N, Softplus: softplus,
		U: rnd(B*D*L, 1), Delta: rnd(B*D*L, 0.5), B: rnd(B*N*L, 1), C: rnd(B*N*L, 1)}
	sc.A = make([]float64, D*N)
	for i := range sc.A {
		sc.A[i] = float64(float32(-(0.5 + 2*r.Float64())))
	}
	if !softplus {
		for i := range sc.Delta {
			sc.Delta[i] = float64(float32(0.05 + math.Abs(sc.Delta[i])))
		}
	}
	if opt {
		sc.Dskip, sc.Z, sc.DeltaBias, sc.H0 = rnd(D, 1), rnd(B*D*L, 1), rnd(D, 0.3), rnd(B*D*N, 1)
		if !softplus {
			for i := range sc.DeltaBias {
				sc.DeltaBias[i] = math.Abs(sc.DeltaBias[i])
			}
		}
	}
	return sc
}

func (s *suite) scanArgs(sc *ref.Scan) core.ScanArgs {
	B, D, L, N := sc.Bsz, sc.D, sc.L, sc.N
	return core.ScanArgs{
		U: s.put(sc.U, B, D, L), Delta: s.put(sc.Delta, B, D, L), A: s.put(sc.A, D, N),
		B: s.put(sc.B, B, N, L), C: s.put(sc.C, B, N, L),
		D: s.putOpt(sc.Dskip, D), Z: s.putOpt(sc.Z, B, D, L), DeltaBias: s.putOpt(sc.DeltaBias, D),
		DeltaSoftplus: sc.Softplus, H0: s.putOpt(sc.H0, B, D, N),
		Out: s.ops.Alloc(B, D, L), HLast: s.ops.Alloc(B, D, N),
	}
}

// ScanShapes are the (B, D, L, N) shapes of the scan cases: single steps,
// odd lengths, lengths across the CPU backward's 64-position chunks, N ≠ 16.
var ScanShapes = [][4]int{{1, 1, 1, 1}, {2, 3, 7, 5}, {2, 5, 1, 16}, {1, 4, 64, 16}, {1, 3, 65, 16}, {3, 6, 130, 3}, {2, 3, 200, 33}}

func (s *suite) scan(t *testing.T) {
	s.t = t
	for _, sh := range ScanShapes {
		B, D, L, N := sh[0], sh[1], sh[2], sh[3]
		for _, opt := range []bool{false, true} {
			for _, sp := range []bool{true, false} {
				name := fmt.Sprintf("B%d D%d L%d N%d optional=%v softplus=%v", B, D, L, N, opt, sp)
				sc := s.scanCase(B, D, L, N, opt, sp)
				wantOut, wantLast := sc.Forward()
				args := s.scanArgs(sc)
				s.ops.SelectiveScan(args)
				s.check("scan out "+name, s.tol.Out, s.get(args.Out), wantOut)
				s.check("scan last state "+name, s.tol.Out, s.get(args.HLast), wantLast)

				dout := s.rnd(B*D*L, 1)
				var dh []float64
				if opt {
					dh = s.rnd(B*D*N, 1)
				}
				want := sc.Backward(dout, dh)
				// Parameter gradients accumulate onto what is there.
				dA0 := s.rnd(D*N, 1)
				g := core.ScanGrads{DOut: s.put(dout, B, D, L), DHLast: s.putOpt(dh, B, D, N),
					DU: s.ops.Alloc(B, D, L), DDelta: s.ops.Alloc(B, D, L), DA: s.put(dA0, D, N),
					DB: s.put(s.rnd(B*N*L, 1), B, N, L), DC: s.put(s.rnd(B*N*L, 1), B, N, L)}
				var dD0, dBias0 []float64
				if opt {
					dD0, dBias0 = s.rnd(D, 1), s.rnd(D, 1)
					g.DD, g.DZ, g.DDeltaBias, g.DH0 = s.put(dD0, D), s.ops.Alloc(B, D, L), s.put(dBias0, D), s.ops.Alloc(B, D, N)
				}
				s.ops.SelectiveScanBackward(args, g)
				add := func(a, b []float64) []float64 {
					out := make([]float64, len(a))
					for i := range a {
						out[i] = a[i] + b[i]
					}
					return out
				}
				s.check("scan du "+name, s.tol.Grad, s.get(g.DU), want.U)
				s.check("scan ddelta "+name, s.tol.Grad, s.get(g.DDelta), want.Delta)
				s.check("scan dA "+name, s.tol.Grad, s.get(g.DA), add(dA0, want.A))
				s.check("scan dB "+name, s.tol.Grad, s.get(g.DB), want.B)
				s.check("scan dC "+name, s.tol.Grad, s.get(g.DC), want.C)
				if opt {
					s.check("scan dD "+name, s.tol.Grad, s.get(g.DD), add(dD0, want.Dskip))
					s.check("scan dz "+name, s.tol.Grad, s.get(g.DZ), want.Z)
					s.check("scan ddelta_bias "+name, s.tol.Grad, s.get(g.DDeltaBias), add(dBias0, want.DeltaBias))
					s.check("scan dh0 "+name, s.tol.Grad, s.get(g.DH0), want.H0)
				}
			}
		}
	}
}

// BF16RTol and BF16ATol are mamba_ssm's tolerances for its bf16 selective
// scan (tests/ops/test_selective_scan.py): |got − ref| ≤ atol + rtol·|ref|
// elementwise, the reference computed from the same bfloat16 inputs.
const BF16RTol, BF16ATol = 3e-2, 5e-2

// CloseBF16 is mamba_ssm's allclose at its bf16 tolerances: it returns the
// largest |got − want| / (atol + rtol·|want|) (1 is the limit; NaN counts as
// infinite) and the element where it is.
func CloseBF16(got, want []float64) (worst float64, at int) {
	for i := range want {
		r := math.Abs(got[i]-want[i]) / (BF16ATol + BF16RTol*math.Abs(want[i]))
		if math.IsNaN(r) {
			r = math.Inf(1)
		}
		if r > worst {
			worst, at = r, i
		}
	}
	return worst, at
}

// checkClose fails the test where CloseBF16 is over 1, and returns the worst
// ratio so that a run can log the margin.
func (s *suite) checkClose(what string, got, want []float64) float64 {
	s.t.Helper()
	if len(got) != len(want) {
		s.t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return math.Inf(1)
	}
	worst, at := CloseBF16(got, want)
	if worst > 1 {
		s.t.Errorf("%s: element %d is %v, want %v (rtol %g, atol %g)", what, at, got[at], want[at], BF16RTol, BF16ATol)
	}
	return worst
}

// scanBF16 runs the scan with bfloat16 sequence tensors (U, Delta, B, C, Z,
// Out; DOut, DU, DDelta, DZ) against the float64 reference of the same
// bfloat16-rounded inputs, within mamba_ssm's bf16 tolerances. The shapes
// are the float32 cases' and a longer one.
func (s *suite) scanBF16(t *testing.T) {
	s.t = t
	worst := 0.0
	for _, sh := range append(ScanShapes, [4]int{2, 4, 1000, 16}) {
		B, D, L, N := sh[0], sh[1], sh[2], sh[3]
		for _, opt := range []bool{false, true} {
			name := fmt.Sprintf("bf16 B%d D%d L%d N%d optional=%v", B, D, L, N, opt)
			sc := s.scanCase(B, D, L, N, opt, true)
			sc.U, sc.Delta, sc.B, sc.C = RoundBF16(sc.U), RoundBF16(sc.Delta), RoundBF16(sc.B), RoundBF16(sc.C)
			if opt {
				sc.Z = RoundBF16(sc.Z)
			}
			wantOut, wantLast := sc.Forward()
			args := s.scanArgs(sc)
			args.U, args.Delta = s.putBF16(sc.U, B, D, L), s.putBF16(sc.Delta, B, D, L)
			args.B, args.C = s.putBF16(sc.B, B, N, L), s.putBF16(sc.C, B, N, L)
			if opt {
				args.Z = s.putBF16(sc.Z, B, D, L)
			}
			args.Out = s.ops.AllocBF16(B, D, L)
			s.ops.SelectiveScan(args)
			c := func(what string, got, want []float64) {
				worst = math.Max(worst, s.checkClose(what+" "+name, got, want))
			}
			c("scan out", s.get(args.Out), wantOut)
			c("scan last state", s.get(args.HLast), wantLast)

			dout := RoundBF16(s.rnd(B*D*L, 1))
			var dh []float64
			if opt {
				dh = s.rnd(B*D*N, 1)
			}
			want := sc.Backward(dout, dh)
			g := core.ScanGrads{DOut: s.putBF16(dout, B, D, L), DHLast: s.putOpt(dh, B, D, N),
				DU: s.ops.AllocBF16(B, D, L), DDelta: s.ops.AllocBF16(B, D, L), DA: s.ops.Alloc(D, N),
				DB: s.ops.Alloc(B, N, L), DC: s.ops.Alloc(B, N, L)}
			if opt {
				g.DD, g.DZ, g.DDeltaBias, g.DH0 = s.ops.Alloc(D), s.ops.AllocBF16(B, D, L), s.ops.Alloc(D), s.ops.Alloc(B, D, N)
			}
			s.ops.SelectiveScanBackward(args, g)
			c("scan du", s.get(g.DU), want.U)
			c("scan ddelta", s.get(g.DDelta), want.Delta)
			c("scan dA", s.get(g.DA), want.A)
			c("scan dB", s.get(g.DB), want.B)
			c("scan dC", s.get(g.DC), want.C)
			if opt {
				c("scan dD", s.get(g.DD), want.Dskip)
				c("scan dz", s.get(g.DZ), want.Z)
				c("scan ddelta_bias", s.get(g.DDeltaBias), want.DeltaBias)
				c("scan dh0", s.get(g.DH0), want.H0)
			}
		}
	}
	t.Logf("bf16 scan: worst error %.3f of mamba_ssm's allowance (atol %g + rtol %g·|ref|)", worst, BF16ATol, BF16RTol)
}

func (s *suite) scanStep(t *testing.T) {
	s.t = t
	for _, sh := range [][3]int{{1, 1, 1}, {2, 3, 5}, {3, 4, 16}, {1, 2, 33}} {
		B, D, N := sh[0], sh[1], sh[2]
		for _, opt := range []bool{false, true} {
			state := s.rnd(B*D*N, 1)
			A := make([]float64, D*N)
			for i := range A {
				A[i] = float64(float32(-(0.5 + 2*s.r.Float64())))
			}
			var z, dskip, bias []float64
			if opt {
				z, dskip, bias = s.rnd(B*D, 1), s.rnd(D, 1), s.rnd(D, 0.3)
			}
			u, delta, bv, cv := s.rnd(B*D, 1), s.rnd(B*D, 0.5), s.rnd(B*N, 1), s.rnd(B*N, 1)
			want := make([]float64, B*D)
			st := s.put(state, B, D, N)
			ref.ScanStep(state, u, delta, z, A, bv, cv, dskip, bias, want, B, D, N, true)
			out := s.ops.Alloc(B, D)
			s.ops.ScanStep(core.StepArgs{State: st, U: s.put(u, B, D), Delta: s.put(delta, B, D), Z: s.putOpt(z, B, D),
				A: s.put(A, D, N), B: s.put(bv, B, N), C: s.put(cv, B, N), D: s.putOpt(dskip, D),
				DeltaBias: s.putOpt(bias, D), DeltaSoftplus: true, Out: out})
			name := fmt.Sprintf("B%d D%d N%d optional=%v", B, D, N, opt)
			s.check("scan step out "+name, s.tol.Out, s.get(out), want)
			s.check("scan step state "+name, s.tol.Out, s.get(st), state)
		}
	}
}

func (s *suite) rmsnorm(t *testing.T) {
	s.t = t
	for _, sh := range [][2]int{{1, 1}, {3, 7}, {5, 768}, {33, 40}} {
		rows, dim := sh[0], sh[1]
		x, w := s.rnd(rows*dim, 2), s.rnd(dim, 1)
		want, wantR := make([]float64, rows*dim), make([]float64, rows)
		ref.RMSNorm(want, wantR, x, w, rows, dim, 1e-5)
		out, rstd := s.ops.Alloc(rows, dim), s.ops.Alloc(rows)
		X, W := s.put(x, rows, dim), s.put(w, dim)
		s.ops.RMSNorm(out, rstd, X, W, 1e-5)
		name := fmt.Sprintf("rows %d dim %d", rows, dim)
		s.check("rmsnorm "+name, s.tol.Out, s.get(out), want)
		s.check("rmsnorm rstd "+name, s.tol.Out, s.get(rstd), wantR)

		dout, dw0 := s.rnd(rows*dim, 1), s.rnd(dim, 1)
		wdx, wdw := make([]float64, rows*dim), append([]float64(nil), dw0...)
		ref.RMSNormBackward(wdx, wdw, dout, x, w, rows, dim, 1e-5)
		dx, dw := s.ops.Alloc(rows, dim), s.put(dw0, dim)
		s.ops.RMSNormBackward(dx, dw, s.put(dout, rows, dim), X, W, rstd, 1e-5)
		s.check("rmsnorm dx "+name, s.tol.Grad, s.get(dx), wdx)
		s.check("rmsnorm dw "+name, s.tol.Grad, s.get(dw), wdw)
	}
}

func (s *suite) elementwise(t *testing.T) {
	s.t = t
	x := s.rnd(1001, 4)
	x = append(x, -30, -20.5, 19.5, 20, 20.5, 40, 0)
	dout := s.rnd(len(x), 1)
	X, G := s.put(x, len(x)), s.put(dout, len(x))
	for _, op := range []struct {
		name     string
		f, df    func(float64) float64
		fwd, bwd func(a, b core.Tensor)
	}{
		{"silu", ref.SiLU, ref.SiLUGrad, s.ops.SiLU, func(dx, x core.Tensor) { s.ops.SiLUBackward(dx, x, G) }},
		{"softplus", ref.Softplus, ref.SoftplusGrad, s.ops.Softplus, func(dx, x core.Tensor) { s.ops.SoftplusBackward(dx, x, G) }},
	} {
		want, wantD := make([]float64, len(x)), make([]float64, len(x))
		for i, v := range x {
			want[i], wantD[i] = op.f(v), dout[i]*op.df(v)
		}
		out := s.ops.Alloc(len(x))
		op.fwd(out, X)
		s.check(op.name, s.tol.Out, s.get(out), want)
		op.bwd(out, X)
		s.check(op.name+" backward", s.tol.Grad, s.get(out), wantD)
	}
}

func (s *suite) crossEntropy(t *testing.T) {
	s.t = t
	for _, sh := range [][2]int{{1, 1}, {5, 7}, {9, 1000}} {
		T, V := sh[0], sh[1]
		logits := s.rnd(T*V, 3)
		targets := make([]int32, T)
		for i := range targets {
			targets[i] = int32(s.r.IntN(V))
		}
		if T > 2 {
			targets[1] = -100
		}
		want := make([]float64, T)
		ref.CrossEntropy(want, logits, targets, V)
		L := s.put(logits, T, V)
		losses := s.ops.Alloc(T)
		s.ops.CrossEntropy(losses, L, targets)
		name := fmt.Sprintf("T%d V%d", T, V)
		s.check("cross-entropy "+name, s.tol.Out, s.get(losses), want)
		wantD := make([]float64, T*V)
		ref.CrossEntropyBackward(wantD, logits, targets, V, 0.3)
		d := s.ops.Alloc(T, V)
		s.ops.CrossEntropyBackward(d, L, targets, 0.3)
		s.check("cross-entropy backward "+name, s.tol.Grad, s.get(d), wantD)
		// In place, as the model uses it for large vocabularies.
		s.ops.CrossEntropyBackward(L, L, targets, 0.3)
		s.check("cross-entropy backward in place "+name, s.tol.Grad, s.get(L), wantD)
	}
}

// argmax compares ArgmaxRows with the reference index for index: random
// rows with many ties (values drawn from 1000 integers), one and several
// blocks' worth of columns, a vocabulary-sized row, and rows of ties, ±0,
// −Inf, NaN at the start, elsewhere and everywhere.
func (s *suite) argmax(t *testing.T) {
	s.t = t
	nan, inf := math.NaN(), math.Inf(1)
	special := [][]float64{
		{2, 2, 2, 2, 2, 2, 2},
		{-inf, -inf, -inf, -inf, -inf, -inf, -inf},
		{nan, 5, 9, 1, 9, 0, 3},
		{1, nan, 9, nan, 9, 0, nan},
		{nan, nan, nan, nan, nan, nan, nan},
		{-1, math.Copysign(0, -1), 0, -2, 0, -inf, -3},
		{-inf, -inf, -inf, -inf, -inf, -inf, -5},
	}
	var x []float64
	for _, row := range special {
		x = append(x, row...)
	}
	type argmaxCase struct {
		name string
		x    []float64 // (rows, V)
		V    int
	}
	cases := []argmaxCase{{"special rows", x, 7}}
	for _, sh := range [][2]int{{1, 1}, {3, 1}, {5, 33}, {4, 1000}, {9, 50280}} {
		v := make([]float64, sh[0]*sh[1])
		for i := range v {
			v[i] = float64(s.r.IntN(1000))
		}
		cases = append(cases, argmaxCase{fmt.Sprintf("R%d V%d", sh[0], sh[1]), v, sh[1]})
	}
	for _, c := range cases {
		want := ref.ArgmaxRows(c.x, c.V)
		got := s.ops.ArgmaxRows(s.put(c.x, len(c.x)/c.V, c.V))
		if !slices.Equal(got, want) {
			t.Errorf("argmax %s: %v, want %v", c.name, got, want)
		}
	}
}

func (s *suite) adamw(t *testing.T) {
	s.t = t
	for _, n := range []int{1, 7, 1000} {
		p, g := s.rnd(n, 1), s.rnd(n, 0.1)
		m, v := s.rnd(n, 0.01), s.rnd(n, 0.001)
		for i := range v {
			v[i] = float64(float32(math.Abs(v[i])))
		}
		P, G, M, V := s.put(p, n), s.put(g, n), s.put(m, n), s.put(v, n)
		for step := 3; step <= 5; step++ {
			a := core.AdamWArgs{LR: 1e-2, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, Step: step, GradScale: 0.5}
			ref.AdamW(p, g, m, v, a.LR, a.Beta1, a.Beta2, a.Eps, a.WeightDecay, a.Step, 0.5)
			s.ops.AdamW(P, G, M, V, a)
		}
		name := fmt.Sprintf("n %d", n)
		s.check("adamw p "+name, s.tol.Out, s.get(P), p)
		s.check("adamw m "+name, s.tol.Out, s.get(M), m)
		s.check("adamw v "+name, s.tol.Out, s.get(V), v)
		want := 0.0
		for _, x := range g {
			want += x * x
		}
		if got := s.ops.SumSquares(G); math.Abs(got-want) > 1e-6*want {
			t.Errorf("sum of squares %s: %g, want %g", name, got, want)
		}
	}
}

func (s *suite) flip(t *testing.T) {
	s.t = t
	for _, sh := range [][]int{{1}, {5}, {2, 3, 7}, {3, 1}} {
		n := core.Numel(sh...)
		x := s.rnd(n, 1)
		want := make([]float64, n)
		ref.Flip(want, x, sh[len(sh)-1])
		out := s.ops.Alloc(sh...)
		s.ops.Flip(out, s.put(x, sh...))
		s.check(fmt.Sprintf("flip %v", sh), 0, s.get(out), want)
	}
}
