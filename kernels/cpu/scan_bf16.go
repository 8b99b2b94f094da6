package cpu

import (
	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// The bfloat16 scan on the CPU: the sequence tensors are widened to float32
// copies, the float32 scan runs on them, and its sequence outputs are
// rounded (to nearest even) into the bfloat16 tensors. That is exactly what
// the CUDA kernels compute in registers, at the cost of one float32 copy of
// each sequence tensor; the CPU's bf16 win is in the weights (decode), not
// here.

// widened returns a float32 copy of a bfloat16 tensor (the zero Tensor
// stays zero).
func widened(t core.Tensor) core.Tensor {
	if t.IsNil() {
		return t
	}
	w := core.NewHost(t.Shape...)
	h, o := t.BF16(), w.Host()
	parallelFor(len(h), 1<<14, func(lo, hi int) { widenBF16(o[lo:hi], h[lo:hi]) })
	return w
}

// newLike returns a float32 tensor of t's shape, or the zero Tensor for a
// zero t.
func newLike(t core.Tensor) core.Tensor {
	if t.IsNil() {
		return t
	}
	return core.NewHost(t.Shape...)
}

// roundInto rounds the float32 tensor src into the bfloat16 tensor dst.
func roundInto(dst, src core.Tensor) {
	if dst.IsNil() {
		return
	}
	h, s := dst.BF16(), src.Host()
	parallelFor(len(h), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			h[i] = tensorfile.Float32ToBF16(s[i])
		}
	})
}

// widenScan returns float32 versions of bfloat16 scan arguments, with fresh
// float32 tensors for the sequence output.
func widenScan(s core.ScanArgs) core.ScanArgs {
	w := s
	w.U, w.Delta, w.B, w.C, w.Z = widened(s.U), widened(s.Delta), widened(s.B), widened(s.C), widened(s.Z)
	w.Out = newLike(s.Out)
	return w
}

// selectiveScanBF16 is SelectiveScan for bfloat16 sequence tensors.
func (be *Backend) selectiveScanBF16(s core.ScanArgs) {
	w := widenScan(s)
	be.SelectiveScan(w)
	roundInto(s.Out, w.Out)
}

// selectiveScanBackwardBF16 is SelectiveScanBackward for bfloat16 sequence
// tensors (DOut, DU, DDelta, DZ bfloat16; the rest float32).
func (be *Backend) selectiveScanBackwardBF16(s core.ScanArgs, g core.ScanGrads) {
	w := widenScan(s)
	wg := g
	wg.DOut = widened(g.DOut)
	wg.DU, wg.DDelta, wg.DZ = newLike(g.DU), newLike(g.DDelta), newLike(g.DZ)
	be.SelectiveScanBackward(w, wg)
	roundInto(g.DU, wg.DU)
	roundInto(g.DDelta, wg.DDelta)
	roundInto(g.DZ, wg.DZ)
}
