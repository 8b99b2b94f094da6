package amp_test

import (
	"math/rand/v2"
	"testing"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/amp"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/mamba/mambatest"
	"github.com/mambakit/mambakit/kernels/cpu"
)

// spy records the element types of the operands the wrapped backend gets.
type spy struct {
	core.Backend
	gemms, gemmsBF16, scans, scansBF16 int
}

func (s *spy) Gemm(g core.GemmArgs) {
	s.gemms++
	if g.A.IsBF16() && g.B.IsBF16() && !g.C.IsBF16() {
		s.gemmsBF16++
	}
	s.Backend.Gemm(g)
}

func (s *spy) SelectiveScan(a core.ScanArgs) {
	s.scans++
	if a.IsBF16() {
		s.scansBF16++
	}
	s.Backend.SelectiveScan(a)
}

func randomT(ops core.Ops, r *rand.Rand, scale float64, shape ...int) (core.Tensor, []float32) {
	t := ops.Alloc(shape...)
	h := make([]float32, t.Numel())
	for i := range h {
		h[i] = float32(scale * r.NormFloat64())
	}
	ops.Upload(t, h)
	return t, h
}

// TestGemmRoundsFactors checks that a product under amp equals, bit for bit,
// the inner backend's product of the factors rounded to bfloat16 (here at
// offsets into larger storages, with strides and batches), and differs from
// the float32 product.
func TestGemmRoundsFactors(t *testing.T) {
	inner := core.Ops{Backend: cpu.New()}
	ops := core.Ops{Backend: amp.Wrap(inner.Backend, amp.Options{})}
	r := rand.New(rand.NewPCG(1, 2))
	const M, N, K, batch = 7, 9, 33, 2
	bigA, _ := randomT(inner, r, 1, batch*M*K+5)
	A := core.Tensor{Shape: []int{batch, M, K}, Store: bigA.Store, Off: 5}
	B, _ := randomT(inner, r, 1, batch, N, K)
	g := core.GemmArgs{TransB: true, M: M, N: N, K: K, Batch: batch, Alpha: 1.5, Beta: 0,
		A: A, B: B, StrideA: M * K, StrideB: N * K, StrideC: M * N}
	got := ops.Alloc(batch, M, N)
	g.C = got
	ops.Gemm(g)

	Ar, Br := inner.AllocBF16(batch, M, K), inner.AllocBF16(batch, N, K)
	inner.Copy(Ar, A)
	inner.Copy(Br, B)
	want, plain := inner.Alloc(batch, M, N), inner.Alloc(batch, M, N)
	g.A, g.B, g.C = Ar, Br, want
	inner.Gemm(g)
	g.A, g.B, g.C = A, B, plain
	inner.Gemm(g)
	gh, wh, ph := inner.ToHost(got), inner.ToHost(want), inner.ToHost(plain)
	differs := false
	for i := range wh {
		if gh[i] != wh[i] {
			t.Fatalf("element %d: %v under amp, %v from the rounded factors", i, gh[i], wh[i])
		}
		differs = differs || gh[i] != ph[i]
	}
	if !differs {
		t.Error("the product under amp equals the float32 product: nothing was rounded")
	}
}

// TestModelUnderAMP runs a small model's forward and backward on the CPU
// backend in float32 and under amp (products and scans in bfloat16): every
// product and scan must reach the inner backend in bfloat16, and the loss,
// logits and gradients must stay within bfloat16's precision of float32's.
func TestModelUnderAMP(t *testing.T) {
	cfg := mamba.DefaultConfig(64, 2, 50)
	const B, L = 2, 40
	ids := mambatest.RandomIDs(rand.New(rand.NewPCG(3, 4)), B*L, cfg.Vocab)
	want := mambatest.TrainPass(t, cpu.New(), cfg, ids, B, L, 5)
	s := &spy{Backend: cpu.New()}
	got := mambatest.TrainPass(t, amp.Wrap(s, amp.Options{Scan: true}), cfg, ids, B, L, 5)

	if s.gemms == 0 || s.gemmsBF16 != s.gemms || s.scans == 0 || s.scansBF16 != s.scans {
		t.Errorf("%d of %d products and %d of %d scans reached the backend in bfloat16", s.gemmsBF16, s.gemms, s.scansBF16, s.scans)
	}
	// bfloat16 keeps 8 significant bits (relative rounding ≤ 2⁻⁹ ≈ 2e-3);
	// errors of that order accumulate over the layers. Measured here (see
	// the log): loss 3e-6 relative (the mean over 78 targets averages the
	// errors out), logits 4.9e-3, gradients ≤ 1.1e-2; the bounds are 3–4×
	// those, and far below what a wrong rounding or a dropped term gives.
	eLoss, eLogits, eGrad, name := mambatest.Diff(got, want)
	if eLoss > 1e-5 {
		t.Errorf("loss %.6f under amp, %.6f in float32", got.Loss, want.Loss)
	}
	if eLogits > 1.5e-2 {
		t.Errorf("logits: relative L2 error %.3g under amp", eLogits)
	}
	if eGrad > 4e-2 {
		t.Errorf("gradient %s: relative L2 error %.3g under amp", name, eGrad)
	}
	t.Logf("loss %.6f (float32 %.6f), logits rel. L2 %.2g, worst gradient rel. L2 %.2g (%s); %d products, %d scans in bf16",
		got.Loss, want.Loss, eLogits, eGrad, name, s.gemmsBF16, s.scansBF16)
}
