package cpu

import "github.com/mambakit/mambakit/core"

// The bfloat16 scan on the CPU: the sequence tensors are widened to float32
// copies, the float32 scan runs on them, and its sequence outputs are
// rounded (to nearest even) into the bfloat16 tensors. That is exactly what
// the CUDA kernels compute in registers, at the cost of one float32 copy of
// each sequence tensor; the CPU's bf16 win is in the weights (decode), not
// here.

// pooled hands out float32 tensors in pooled buffers (getBuf) and gives them
// back at release.
type pooled []([]float32)

// widened returns a float32 copy of a bfloat16 tensor (f32; the zero Tensor
// stays zero).
func (p *pooled) widened(t core.Tensor) core.Tensor {
	if t.IsNil() {
		return t
	}
	v, _ := f32(t)
	*p = append(*p, v)
	return core.FromHost(v, t.Shape...)
}

// like returns an uninitialised float32 tensor of t's shape, or the zero
// Tensor for a zero t: for outputs the scan overwrites.
func (p *pooled) like(t core.Tensor) core.Tensor {
	if t.IsNil() {
		return t
	}
	v := getBuf(t.Numel())
	*p = append(*p, v)
	return core.FromHost(v, t.Shape...)
}

func (p *pooled) release() {
	for _, v := range *p {
		putBuf(v)
	}
	*p = nil
}

// widenScan returns float32 versions of bfloat16 scan arguments, with fresh
// float32 tensors for the sequence output.
func (p *pooled) widenScan(s core.ScanArgs) core.ScanArgs {
	w := s
	w.U, w.Delta, w.B, w.C, w.Z = p.widened(s.U), p.widened(s.Delta), p.widened(s.B), p.widened(s.C), p.widened(s.Z)
	w.Out = p.like(s.Out)
	return w
}

// selectiveScanBF16 is SelectiveScan for bfloat16 sequence tensors.
func (be *Backend) selectiveScanBF16(s core.ScanArgs) {
	var p pooled
	defer p.release()
	w := p.widenScan(s)
	be.SelectiveScan(w)
	be.Copy(s.Out, w.Out) // rounds to bfloat16
}

// selectiveScanBackwardBF16 is SelectiveScanBackward for bfloat16 sequence
// tensors (DOut, DU, DDelta, DZ bfloat16; the rest float32).
func (be *Backend) selectiveScanBackwardBF16(s core.ScanArgs, g core.ScanGrads) {
	var p pooled
	defer p.release()
	w := p.widenScan(s)
	wg := g
	wg.DOut = p.widened(g.DOut)
	wg.DU, wg.DDelta, wg.DZ = p.like(g.DU), p.like(g.DDelta), p.like(g.DZ)
	be.SelectiveScanBackward(w, wg)
	for _, o := range [][2]core.Tensor{{g.DU, wg.DU}, {g.DDelta, wg.DDelta}, {g.DZ, wg.DZ}} {
		if !o[0].IsNil() {
			be.Copy(o[0], o[1]) // rounds to bfloat16
		}
	}
}
