//go:build cuda

package cuda

import (
	"math/rand/v2"
	"testing"

	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/mamba/mambatest"
	"github.com/mambakit/mambakit/kernels/cpu"
)

// TestTrainSavedStates runs a small model's training pass in float32 with
// the N = 16 kernels forced (forceLanes), so that every layer's forward
// saves its scan states and the backward starts from them (the path that
// training takes at batch 8 of the 130m model), against the CPU backend.
func TestTrainSavedStates(t *testing.T) {
	be := backend(t)
	defer be.autoLanes()
	be.forceLanes(fwd16Auto)
	cfg := mamba.DefaultConfig(64, 2, 50)
	if cfg.DState != 16 || !be.ScanSaves(2, cfg.DInner, 40, cfg.DState) {
		t.Fatalf("d_state %d: the scan would not save states", cfg.DState)
	}
	const B, L = 2, 40
	ids := mambatest.RandomIDs(rand.New(rand.NewPCG(5, 6)), B*L, cfg.Vocab)
	want := mambatest.TrainPass(t, cpu.New(), cfg, ids, B, L, 7)
	got := mambatest.TrainPass(t, be, cfg, ids, B, L, 7)
	eLoss, eLogits, eGrad, name := mambatest.Diff(got, want)
	t.Logf("CUDA with saved scan states against CPU: loss %.2g relative, logits %.2g, worst gradient %.2g (%s) relative L2",
		eLoss, eLogits, eGrad, name)
	// float32 on both sides, in different summation orders: ~1e-6. A state
	// saved at the wrong position or channel moves gradients by O(1).
	if eLoss > 1e-5 || eLogits > 1e-5 || eGrad > 1e-4 {
		t.Errorf("CUDA with saved scan states and CPU disagree beyond float32 rounding")
	}
}
