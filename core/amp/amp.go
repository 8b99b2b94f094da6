// Package amp is mixed-precision execution for any core.Backend, in the
// manner of PyTorch's autocast with bfloat16:
//
//   - every matrix product takes its float32 factors rounded to bfloat16
//     (op(A)·op(B) with bf16 A and B), the inner backend summing the products
//     in float32 into the float32 C (cuBLAS: bf16 tensor cores);
//   - with Options.Scan, every selective scan reads u, δ, B, C and z rounded
//     to bfloat16 and writes its output (and, backwards, du, dδ, dz) in
//     bfloat16, widened back into the caller's float32 tensors, as
//     mamba_ssm's bf16 scan does under autocast; its state and sums stay
//     float32.
//
// Everything else stays float32: the model's weights (the master copy the
// optimizer updates), the optimizer's moments, every gradient accumulator,
// norms, the loss. Nothing is stored in bfloat16 between operations: the
// roundings happen at the operations, so that a model, its optimizer and its
// checkpoints are the same with or without amp. bfloat16 keeps float32's
// exponent range, so no loss scaling is needed.
//
// The code names: a factor rounded for a product is "rounded"; the wrapped
// backend is "inner".
package amp

import "github.com/mambakit/mambakit/core"

// Options choose what runs in bfloat16 besides the matrix products.
type Options struct {
	Scan bool // the selective scan's sequence tensors too
}

// Backend is a core.Backend running its inner backend's matrix products
// (and scans, with Options.Scan) on bfloat16-rounded operands. Every other
// method is the inner backend's.
type Backend struct {
	core.Backend
	opt Options
}

// Wrap returns inner with mixed precision.
func Wrap(inner core.Backend, opt Options) *Backend {
	return &Backend{Backend: inner, opt: opt}
}

// Name implements core.Backend: the inner name with "+bf16".
func (b *Backend) Name() string { return b.Backend.Name() + "+bf16" }

// rounded returns a bfloat16 copy of a float32 tensor, with its shape; a
// bfloat16 or zero tensor is returned as it is.
func (b *Backend) rounded(t core.Tensor) core.Tensor {
	if t.IsNil() || t.IsBF16() {
		return t
	}
	r := b.Backend.AllocBF16(t.Shape...)
	b.Backend.Copy(r, t)
	return r
}

// bf16Like returns a new bfloat16 tensor of t's shape, or the zero Tensor
// for a zero t.
func (b *Backend) bf16Like(t core.Tensor) core.Tensor {
	if t.IsNil() {
		return t
	}
	return b.Backend.AllocBF16(t.Shape...)
}

// widenInto copies the bfloat16 src into the float32 dst (nothing for a zero
// dst).
func (b *Backend) widenInto(dst, src core.Tensor) {
	if !dst.IsNil() {
		b.Backend.Copy(dst, src)
	}
}

// Gemm implements core.Backend: C = Alpha·op(A)·op(B) + Beta·C with A and B
// rounded to bfloat16 (the strides are those of the caller's views, which
// the rounded copies keep).
func (b *Backend) Gemm(g core.GemmArgs) {
	if g.K > 0 && g.M > 0 && g.N > 0 {
		g.A, g.B = b.rounded(g.A), b.rounded(g.B)
	}
	b.Backend.Gemm(g)
}

// SelectiveScan implements core.Backend; with Options.Scan the sequence
// tensors go through bfloat16 (see the package comment).
func (b *Backend) SelectiveScan(s core.ScanArgs) {
	if !b.opt.Scan || s.IsBF16() {
		b.Backend.SelectiveScan(s)
		return
	}
	r := b.roundScan(s)
	b.Backend.SelectiveScan(r)
	b.widenInto(s.Out, r.Out)
}

// SelectiveScanBackward implements core.Backend, as SelectiveScan: dout
// rounded, du, dδ, dz computed in bfloat16 and widened; dA, dB, dC, dD, the
// bias and dh0 are the inner backend's float32 ones.
func (b *Backend) SelectiveScanBackward(s core.ScanArgs, g core.ScanGrads) {
	if !b.opt.Scan || s.IsBF16() {
		b.Backend.SelectiveScanBackward(s, g)
		return
	}
	r := b.roundScan(s)
	rg := g
	rg.DOut = b.rounded(g.DOut)
	rg.DU, rg.DDelta, rg.DZ = b.bf16Like(g.DU), b.bf16Like(g.DDelta), b.bf16Like(g.DZ)
	b.Backend.SelectiveScanBackward(r, rg)
	b.widenInto(g.DU, rg.DU)
	b.widenInto(g.DDelta, rg.DDelta)
	b.widenInto(g.DZ, rg.DZ)
}

// roundScan returns s with its sequence inputs rounded to bfloat16 and a new
// bfloat16 output.
func (b *Backend) roundScan(s core.ScanArgs) core.ScanArgs {
	r := s
	r.U, r.Delta, r.B, r.C, r.Z = b.rounded(s.U), b.rounded(s.Delta), b.rounded(s.B), b.rounded(s.C), b.rounded(s.Z)
	r.Out = b.bf16Like(s.Out)
	return r
}
