//go:build cuda

package cuda

import (
	"math"
	"runtime"
	"unsafe"

	"github.com/mambakit/mambakit/core"
)

// upload32 copies host int32 values into a new scratch block.
func (be *Backend) upload32(v []int32) block {
	tmp := be.temp(len(v), 4)
	if len(v) > 0 {
		check("uploading ids", be.drv.htod(tmp.ptr, unsafe.Pointer(&v[0]), int64(len(v))*4))
	}
	return tmp
}

// Embedding implements core.Backend: out[t, :] = table[ids[t], :] (a float32
// or bfloat16 table), one block per token.
func (be *Backend) Embedding(out, table core.Tensor, ids []int32) {
	dim := table.Shape[1]
	if len(ids) == 0 || dim == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	defer runtime.KeepAlive(table)
	idb := be.upload32(ids)
	defer be.done(idb)
	bx := threadsFor(dim, 256)
	if table.IsBF16() {
		be.launch(be.k.embedBF16, len(ids), 1, bx, 0, p(be.ptr(out)), p(be.ptrBF16(table)), p(idb.ptr), i(dim))
		return
	}
	be.launch(be.k.embedF32, len(ids), 1, bx, 0, p(be.ptr(out)), p(be.ptr(table)), p(idb.ptr), i(dim))
}

// EmbeddingBackward implements core.Backend: dtable[ids[t], :] += dout[t, :]
// (atomic adds: ids repeat).
func (be *Backend) EmbeddingBackward(dtable, dout core.Tensor, ids []int32) {
	dim := dtable.Shape[1]
	if len(ids) == 0 || dim == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	defer runtime.KeepAlive(dout)
	idb := be.upload32(ids)
	defer be.done(idb)
	be.launch(be.k.embedBwd, len(ids), 1, threadsFor(dim, 256), 0, p(be.ptr(dtable)), p(be.ptr(dout)), p(idb.ptr), i(dim))
}

// convDims returns B, D, L, K of a convolution.
func convDims(c core.ConvArgs) (B, D, L, K int) {
	return c.X.Shape[0], c.X.Shape[1], c.X.Shape[2], c.W.Shape[1]
}

// Conv1d implements core.Backend:
// out[b,d,t] = act(bias[d] + Σ_k w[d,k]·x[b,d,t−K+1+k]), one thread per output.
func (be *Backend) Conv1d(c core.ConvArgs) {
	B, D, L, K := convDims(c)
	n := int64(B) * int64(D) * int64(L)
	if n == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	be.launch(be.k.convFwd, be.blocksFor(n, 256), 1, 256, 0,
		p(be.ptr(c.X)), p(be.ptr(c.W)), p(be.ptr(c.Bias)), p(be.ptr(c.Out)), uint64(n), i(D), i(L), i(K), b(c.SiLU))
}

// Conv1dBackward implements core.Backend: the gradient before the
// activation, gpre = dout·SiLU'(pre) (pre recomputed) or dout, goes to a
// scratch buffer; then dx (overwritten) one thread per element, and dw,
// dbias (added to) one block per channel.
func (be *Backend) Conv1dBackward(c core.ConvArgs, g core.ConvGrads) {
	B, D, L, K := convDims(c)
	n := int64(B) * int64(D) * int64(L)
	if n == 0 || (g.DX.IsNil() && g.DW.IsNil() && g.DBias.IsNil()) {
		return
	}
	be.lock()
	defer be.unlock()
	defer runtime.KeepAlive(c)
	defer runtime.KeepAlive(g)
	gpre := be.temp(int(n), 4)
	defer be.done(gpre)
	be.launch(be.k.convGpre, be.blocksFor(n, 256), 1, 256, 0, p(be.ptr(c.X)), p(be.ptr(c.W)), p(be.ptr(c.Bias)),
		p(be.ptr(g.DOut)), p(gpre.ptr), uint64(n), i(D), i(L), i(K), b(c.SiLU))
	if !g.DX.IsNil() {
		be.launch(be.k.convDx, be.blocksFor(n, 256), 1, 256, 0, p(gpre.ptr), p(be.ptr(c.W)), p(be.ptr(g.DX)),
			uint64(n), i(D), i(L), i(K))
	}
	if !g.DW.IsNil() || !g.DBias.IsNil() {
		const taps = 8 // CONV_KT in kernels.cu
		for k0 := 0; k0 < K; k0 += taps {
			dbias := be.ptr(g.DBias)
			if k0 > 0 {
				dbias = 0
			}
			if g.DW.IsNil() && k0 > 0 {
				break
			}
			be.launch(be.k.convDw, D, 1, 256, 0, p(gpre.ptr), p(be.ptr(c.X)), p(be.ptr(g.DW)), p(dbias),
				i(B), i(D), i(L), i(K), i(k0))
		}
	}
}

// ConvStep implements core.Backend: shift each state row left, append x,
// convolve; one thread per (b, d).
func (be *Backend) ConvStep(state, x, w, bias, out core.Tensor, silu bool) {
	B, D, K := state.Shape[0], state.Shape[1], state.Shape[2]
	n := int64(B) * int64(D)
	if n == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	be.launch(be.k.convStep, be.blocksFor(n, 128), 1, 128, 0, p(be.ptr(state)), p(be.ptr(x)), p(be.ptr(w)),
		p(be.ptr(bias)), p(be.ptr(out)), uint64(n), i(D), i(K), b(silu))
}

// normDims returns the rows and row length of an RMSNorm input.
func normDims(x core.Tensor) (rows, dim int) {
	dim = x.Shape[len(x.Shape)-1]
	return x.Numel() / max(dim, 1), dim
}

// RMSNorm implements core.Backend: rstd = 1/sqrt(mean x² + eps) (sum of
// squares in double), out = x·rstd·w; one block per row.
func (be *Backend) RMSNorm(out, rstd, x, w core.Tensor, eps float32) {
	rows, dim := normDims(x)
	if rows == 0 || dim == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	be.launch(be.k.rmsFwd, rows, 1, threadsFor(dim, 256), 0, p(be.ptr(out)), p(be.ptr(rstd)), p(be.ptr(x)),
		p(be.ptr(w)), i(dim), f(eps))
}

// RMSNormBackward implements core.Backend:
// dx_j = rstd·w_j·dout_j − rstd³/dim·x_j·Σ_i dout_i·w_i·x_i (overwritten) and
// dw_j += Σ_rows dout_j·x_j·rstd, all in double with rstd recomputed from x
// (rstd is not read). dx takes one block per row; dw sums column blocks of
// row ranges into a double buffer, then adds the ranges in order.
func (be *Backend) RMSNormBackward(dx, dw, dout, x, w, rstd core.Tensor, eps float32) {
	rows, dim := normDims(x)
	if rows == 0 || dim == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	defer runtime.KeepAlive(x)
	defer runtime.KeepAlive(dout)
	rinv := be.temp(rows, 8)
	defer be.done(rinv)
	be.launch(be.k.rmsBwdDx, rows, 1, threadsFor(dim, 256), 0, p(be.ptr(dx)), p(rinv.ptr), p(be.ptr(dout)),
		p(be.ptr(x)), p(be.ptr(w)), i(dim), f(eps))
	parts := min((rows+63)/64, 256)
	rpc := (rows + parts - 1) / parts
	part := be.temp(parts*dim, 8)
	defer be.done(part)
	be.launch(be.k.rmsBwdDwPartial, (dim+31)/32, parts, 256, 0, p(part.ptr), p(be.ptr(dout)), p(be.ptr(x)),
		p(rinv.ptr), i(rows), i(dim), i(rpc))
	be.launch(be.k.rmsBwdDwFinal, be.blocksFor(int64(dim), 256), 1, 256, 0, p(be.ptr(dw)), p(part.ptr), i(parts), i(dim))
}

// elementwise runs one of the (dst, x[, dout], n) kernels.
func (be *Backend) elementwise(k kernel, dst, x core.Tensor, extra ...core.Tensor) {
	n := int64(dst.Numel())
	if n == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	args := []uint64{p(be.ptr(dst)), p(be.ptr(x))}
	for _, t := range extra {
		args = append(args, p(be.ptr(t)))
	}
	args = append(args, uint64(n))
	be.launch(k, be.blocksFor(n, 256), 1, 256, 0, args...)
}

// SiLU implements core.Backend: out = x·σ(x).
func (be *Backend) SiLU(out, x core.Tensor) { be.elementwise(be.k.silu, out, x) }

// SiLUBackward implements core.Backend: dx = dout·σ(x)·(1 + x·(1−σ(x))).
func (be *Backend) SiLUBackward(dx, x, dout core.Tensor) { be.elementwise(be.k.siluBwd, dx, x, dout) }

// Softplus implements core.Backend: out = log(1 + exp(x)), x above 20.
func (be *Backend) Softplus(out, x core.Tensor) { be.elementwise(be.k.softplus, out, x) }

// SoftplusBackward implements core.Backend: dx = dout·σ(x) (dout above 20).
func (be *Backend) SoftplusBackward(dx, x, dout core.Tensor) {
	be.elementwise(be.k.softplusBwd, dx, x, dout)
}

// AdamW implements core.Backend: one torch.optim.AdamW step in float32, the
// bias corrections computed in float64 on the host as the CPU backend does.
func (be *Backend) AdamW(pt, grad, m, v core.Tensor, a core.AdamWArgs) {
	n := int64(pt.Numel())
	if n == 0 {
		return
	}
	bc1 := 1 - math.Pow(a.Beta1, float64(a.Step))
	bc2 := 1 - math.Pow(a.Beta2, float64(a.Step))
	stepSize := float32(a.LR / bc1)
	invSqrtBC2 := float32(1 / math.Sqrt(bc2))
	decay := float32(1 - a.LR*a.WeightDecay)
	be.lock()
	defer be.unlock()
	be.launch(be.k.adamw, be.blocksFor(n, 256), 1, 256, 0, p(be.ptr(pt)), p(be.ptr(grad)), p(be.ptr(m)), p(be.ptr(v)),
		uint64(n), f(float32(a.Beta1)), f(float32(a.Beta2)), f(stepSize), f(invSqrtBC2), f(decay), f(float32(a.Eps)),
		f(a.GradScale))
}

// SumSquares implements core.Backend: Σ x² in double, per block and then the
// blocks' sums in order (the result does not vary from run to run).
func (be *Backend) SumSquares(x core.Tensor) float64 {
	n := int64(x.Numel())
	if n == 0 {
		return 0
	}
	be.lock()
	defer be.unlock()
	defer runtime.KeepAlive(x)
	grid := int(min((n+255)/256, 1024))
	part := be.temp(grid+1, 8) // grid partial sums, then the total
	defer be.done(part)
	be.launch(be.k.sumsqPartial, grid, 1, 256, 0, p(be.ptr(x)), uint64(n), p(part.ptr))
	total := part.ptr + uintptr(grid)*8
	be.launch(be.k.sumF64, 1, 1, 256, 0, p(part.ptr), i(grid), p(total))
	var s float64
	check("SumSquares", be.drv.dtoh(unsafe.Pointer(&s), total, 8))
	return s
}

// CrossEntropy implements core.Backend:
// losses[t] = logsumexp(logits[t, :]) − logits[t, targets[t]] (0 for
// negative targets); one block per row.
func (be *Backend) CrossEntropy(losses, logits core.Tensor, targets []int32) {
	T, V := logits.Shape[0], logits.Shape[1]
	if T == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	if V == 0 { // every target is then negative: every loss is 0
		check("CrossEntropy", be.drv.memsetZero(be.ptr(losses), int64(T)*4))
		return
	}
	defer runtime.KeepAlive(logits)
	tg := be.upload32(targets)
	defer be.done(tg)
	be.launch(be.k.ceFwd, T, 1, threadsFor(V, 256), 0, p(be.ptr(losses)), p(be.ptr(logits)), p(tg.ptr), i(V))
}

// ArgmaxRows implements core.Backend with argmax_rows, one block per row;
// only the R indices come back to the host.
func (be *Backend) ArgmaxRows(dst []int32, x core.Tensor) {
	R, V := x.Shape[0], x.Shape[1]
	be.lock()
	defer be.unlock()
	defer runtime.KeepAlive(x)
	out := be.temp(R, 4)
	defer be.done(out)
	be.launch(be.k.argmax, R, 1, threadsFor(V, 256), 0, p(out.ptr), p(be.ptr(x)), i(V))
	check("ArgmaxRows", be.drv.dtoh(unsafe.Pointer(&dst[0]), out.ptr, int64(R)*4))
}

// CrossEntropyBackward implements core.Backend:
// dlogits[t, :] = scale·(softmax(logits[t, :]) − onehot(targets[t])), 0 for
// negative targets; dlogits may be logits.
func (be *Backend) CrossEntropyBackward(dlogits, logits core.Tensor, targets []int32, scale float32) {
	T, V := logits.Shape[0], logits.Shape[1]
	if T == 0 || V == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	defer runtime.KeepAlive(logits)
	tg := be.upload32(targets)
	defer be.done(tg)
	be.launch(be.k.ceBwd, T, 1, threadsFor(V, 256), 0, p(be.ptr(dlogits)), p(be.ptr(logits)), p(tg.ptr), i(V), f(scale))
}
