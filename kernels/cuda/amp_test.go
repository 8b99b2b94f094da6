//go:build cuda

package cuda

import (
	"math/rand/v2"
	"testing"

	"github.com/mambakit/mambakit/core/amp"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/mamba/mambatest"
	"github.com/mambakit/mambakit/kernels/cpu"
)

// TestAMP runs a small model's training pass under mixed precision
// (core/amp: bf16 products through cuBLAS GemmEx, bf16 scans, the
// float32 ↔ bf16 copies) on this backend and on the CPU backend: the two
// round the same values, so they agree to the float32 summation order, up
// to the few values whose bf16 rounding that order flips.
func TestAMP(t *testing.T) {
	cfg := mamba.DefaultConfig(64, 2, 50)
	const B, L = 2, 40
	ids := mambatest.RandomIDs(rand.New(rand.NewPCG(3, 4)), B*L, cfg.Vocab)
	opt := amp.Options{Scan: true}
	want := mambatest.TrainPass(t, amp.Wrap(cpu.New(), opt), cfg, ids, B, L, 5)
	got := mambatest.TrainPass(t, amp.Wrap(backend(t), opt), cfg, ids, B, L, 5)
	eLoss, eLogits, eGrad, name := mambatest.Diff(got, want)
	t.Logf("CUDA against CPU, both under amp: loss %.2g relative, logits %.2g, worst gradient %.2g (%s) relative L2",
		eLoss, eLogits, eGrad, name)
	// On the CPU emulation of the kernels (same summation order as the CPU
	// in most places): loss 6.4e-8, logits 2.8e-5, gradients ≤ 4.1e-5. On a
	// GPU, cuBLAS's tensor cores sum in another order, and a rounding to
	// bf16 that the order flips moves a value by 2⁻⁸ of itself; flips are
	// rare (float32 order effects are ~1e-7 of a value), so a relative L2 of
	// 1e-3 leaves room for hundreds of them while a wrong kernel (a dropped
	// or misrounded term) is off by orders of magnitude more.
	if eLoss > 1e-5 || eLogits > 1e-3 || eGrad > 2e-3 {
		t.Errorf("CUDA and CPU disagree under amp beyond bf16 rounding flips")
	}
}
