package cpu

import (
	"math"
	"runtime"

	"github.com/mambakit/mambakit/core"
)

// Embedding implements core.Backend: out[t,:] = table[ids[t],:].
func (*Backend) Embedding(out, table core.Tensor, ids []int32) {
	dim := table.Shape[1]
	o := out.Host()
	if table.IsBF16() {
		tb := table.BF16()
		parallelFor(len(ids), 64, func(lo, hi int) {
			for t := lo; t < hi; t++ {
				id := int(ids[t])
				widenBF16(o[t*dim:(t+1)*dim], tb[id*dim:(id+1)*dim])
			}
		})
		return
	}
	tb := table.Host()
	parallelFor(len(ids), 64, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			id := int(ids[t])
			copy(o[t*dim:(t+1)*dim], tb[id*dim:(id+1)*dim])
		}
	})
}

// EmbeddingBackward implements core.Backend: dtable[ids[t],:] += dout[t,:].
// Work is split over columns, so repeated ids never race.
func (*Backend) EmbeddingBackward(dtable, dout core.Tensor, ids []int32) {
	dim := dtable.Shape[1]
	dt, g := dtable.Host(), dout.Host()
	parallelFor(dim, 16, func(lo, hi int) {
		for t, id := range ids {
			row, grow := dt[int(id)*dim:], g[t*dim:]
			for j := lo; j < hi; j++ {
				row[j] += grow[j]
			}
		}
	})
}

// Conv1d implements core.Backend:
// out[b,d,t] = act(bias[d] + Σ_k w[d,k]·x[b,d,t-K+1+k]).
func (*Backend) Conv1d(c core.ConvArgs) {
	B, D, L, K := c.X.Shape[0], c.X.Shape[1], c.X.Shape[2], c.W.Shape[1]
	x, w, bias, out := c.X.Host(), c.W.Host(), hostOrNil(c.Bias), c.Out.Host()
	parallelFor(B*D, 4, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d := r % D
			o := out[r*L : (r+1)*L]
			convRow(o, x[r*L:(r+1)*L], w[d*K:(d+1)*K], bias, d)
			if c.SiLU {
				siluInPlace(o)
			}
		}
	})
}

// convRow computes one channel's causal convolution before the activation,
// as K shifted multiply-adds: out[s:] += w[k]·x[:L−s] with s = K−1−k.
func convRow(out, x, w, bias []float32, d int) {
	K, L := len(w), len(x)
	var b0 float32
	if bias != nil {
		b0 = bias[d]
	}
	for t := range out {
		out[t] = b0
	}
	for k := 0; k < K; k++ {
		if s := K - 1 - k; s < L {
			axpy(out[s:], x[:L-s], w[k])
		}
	}
}

// siluInPlace sets o[t] = o[t]·σ(o[t]).
func siluInPlace(o []float32) {
	var buf [256]float32
	for i := 0; i < len(o); i += len(buf) {
		n := min(len(buf), len(o)-i)
		sigmoidVec(buf[:n], o[i:i+n])
		for j := 0; j < n; j++ {
			o[i+j] *= buf[j]
		}
	}
}

// Conv1dBackward implements core.Backend. It recomputes the pre-activation
// when the forward applied SiLU. Work is split over channels so that dw and
// dbias are each written by one goroutine.
func (*Backend) Conv1dBackward(c core.ConvArgs, g core.ConvGrads) {
	B, D, L, K := c.X.Shape[0], c.X.Shape[1], c.X.Shape[2], c.W.Shape[1]
	x, w, bias, dout := c.X.Host(), c.W.Host(), hostOrNil(c.Bias), g.DOut.Host()
	dx, dw, dbias := hostOrNil(g.DX), hostOrNil(g.DW), hostOrNil(g.DBias)
	parallelFor(D, 1, func(lo, hi int) {
		gpre, sig := make([]float32, L), make([]float32, L)
		for d := lo; d < hi; d++ {
			wd := w[d*K : (d+1)*K]
			for b := 0; b < B; b++ {
				r := b*D + d
				xr, gr := x[r*L:(r+1)*L], dout[r*L:(r+1)*L]
				if c.SiLU { // d SiLU(p)/dp = σ(p)·(1 + p·(1 − σ(p)))
					convRow(gpre, xr, wd, bias, d)
					sigmoidVec(sig, gpre)
					for t, p := range gpre {
						s := sig[t]
						gpre[t] = gr[t] * s * (1 + p*(1-s))
					}
				} else {
					copy(gpre, gr)
				}
				if dbias != nil {
					var s float32
					for _, v := range gpre {
						s += v
					}
					dbias[d] += s
				}
				for k := 0; k < K; k++ {
					s := K - 1 - k
					if s >= L {
						continue
					}
					if dw != nil {
						dw[d*K+k] += dot(gpre[s:], xr[:L-s])
					}
				}
				if dx != nil {
					dxr := dx[r*L : (r+1)*L]
					clear(dxr)
					for k := 0; k < K; k++ {
						if s := K - 1 - k; s < L {
							axpy(dxr[:L-s], gpre[s:], wd[k])
						}
					}
				}
			}
		}
	})
}

// ConvStep implements core.Backend: shift state, append x, convolve.
func (*Backend) ConvStep(state, x, w, bias, out core.Tensor, silu bool) {
	B, D, K := state.Shape[0], state.Shape[1], state.Shape[2]
	st, xs, ws, bs, o := state.Host(), x.Host(), w.Host(), hostOrNil(bias), out.Host()
	parallelFor(B*D, 256, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d := r % D
			s := st[r*K : (r+1)*K]
			copy(s, s[1:])
			s[K-1] = xs[r]
			var v float32
			if bs != nil {
				v = bs[d]
			}
			for k := 0; k < K; k++ {
				v += ws[d*K+k] * s[k]
			}
			if silu {
				v = silu32(v)
			}
			o[r] = v
		}
	})
}

// RMSNorm implements core.Backend: out = x·rstd·w, rstd = 1/sqrt(mean x² + eps).
// The sum of squares is accumulated in float64.
func (*Backend) RMSNorm(out, rstd, x, w core.Tensor, eps float32) {
	dim := x.Shape[len(x.Shape)-1]
	rows := x.Numel() / max(dim, 1)
	o, rs, xs, ws := out.Host(), rstd.Host(), x.Host(), w.Host()
	parallelFor(rows, 16, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := xs[r*dim : (r+1)*dim]
			var ss float64
			for _, v := range xr {
				ss += float64(v) * float64(v)
			}
			inv := float32(1 / math.Sqrt(ss/float64(dim)+float64(eps)))
			rs[r] = inv
			or := o[r*dim : (r+1)*dim]
			for j, v := range xr {
				or[j] = v * inv * ws[j]
			}
		}
	})
}

// RMSNormBackward implements core.Backend:
// dx_j = rstd·w_j·dout_j − rstd³/dim·x_j·Σ_i dout_i·w_i·x_i, dw_j += dout_j·x_j·rstd.
// Each row is computed in float64 with rstd recomputed from x: the two terms
// of dx nearly cancel when one x_j dominates its row, and float32 would lose
// the difference. rstd is not read.
func (*Backend) RMSNormBackward(dx, dw, dout, x, w, rstd core.Tensor, eps float32) {
	dim := x.Shape[len(x.Shape)-1]
	rows := x.Numel() / max(dim, 1)
	dxs, dws, gs, xs, ws := dx.Host(), dw.Host(), dout.Host(), x.Host(), w.Host()
	accs := make([][]float64, runtime.GOMAXPROCS(0))
	parallelWorkers(rows, func(wk, lo, hi int) {
		acc := make([]float64, dim)
		for r := lo; r < hi; r++ {
			xr, gr, dxr := xs[r*dim:(r+1)*dim], gs[r*dim:(r+1)*dim], dxs[r*dim:(r+1)*dim]
			var ss, dot float64
			for j, v := range xr {
				ss += float64(v) * float64(v)
				dot += float64(gr[j]) * float64(ws[j]) * float64(v)
			}
			inv := 1 / math.Sqrt(ss/float64(dim)+float64(eps))
			c := inv * inv * inv / float64(dim) * dot
			for j, v := range xr {
				dxr[j] = float32(inv*float64(ws[j])*float64(gr[j]) - c*float64(v))
				acc[j] += float64(gr[j]) * float64(v) * inv
			}
		}
		accs[wk] = acc
	})
	for _, acc := range accs {
		for j, v := range acc {
			dws[j] += float32(v)
		}
	}
}

// SiLU implements core.Backend.
func (*Backend) SiLU(out, x core.Tensor) {
	o, xs := out.Host(), x.Host()
	parallelFor(len(o), 1<<13, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			o[i] = silu32(xs[i])
		}
	})
}

// SiLUBackward implements core.Backend.
func (*Backend) SiLUBackward(dx, x, dout core.Tensor) {
	d, xs, g := dx.Host(), x.Host(), dout.Host()
	parallelFor(len(d), 1<<13, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = g[i] * siluGrad32(xs[i])
		}
	})
}

// Softplus implements core.Backend.
func (*Backend) Softplus(out, x core.Tensor) {
	o, xs := out.Host(), x.Host()
	parallelFor(len(o), 1<<13, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			o[i] = softplus32(xs[i])
		}
	})
}

// SoftplusBackward implements core.Backend.
func (*Backend) SoftplusBackward(dx, x, dout core.Tensor) {
	d, xs, g := dx.Host(), x.Host(), dout.Host()
	parallelFor(len(d), 1<<13, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = g[i] * softplusGrad32(xs[i])
		}
	})
}

// rowLSE returns log Σ exp(row), with the maximum taken out and the sum
// accumulated in float64; tmp (len(row)) is scratch.
func rowLSE(row, tmp []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range row {
		m = max(m, v)
	}
	for j, v := range row {
		tmp[j] = v - m
	}
	expVec(tmp, tmp)
	var s float64
	for _, e := range tmp {
		s += float64(e)
	}
	return m + float32(math.Log(s))
}

// CrossEntropy implements core.Backend.
func (*Backend) CrossEntropy(losses, logits core.Tensor, targets []int32) {
	V := logits.Shape[1]
	l, lg := losses.Host(), logits.Host()
	parallelFor(len(targets), 4, func(lo, hi int) {
		tmp := make([]float32, V)
		for t := lo; t < hi; t++ {
			y := targets[t]
			if y < 0 {
				l[t] = 0
				continue
			}
			row := lg[t*V : (t+1)*V]
			l[t] = rowLSE(row, tmp) - row[y]
		}
	})
}

// ArgmaxRows implements core.Backend: each row scanned from the left,
// moving to every strictly larger value; rows spread over the cores once
// there are argmaxGrain values per goroutine.
func (*Backend) ArgmaxRows(dst []int32, x core.Tensor) {
	V := x.Shape[1]
	h := x.Host()
	parallelFor(len(dst), max(1, argmaxGrain/V), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := h[r*V : (r+1)*V]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			dst[r] = int32(best)
		}
	})
}

// argmaxGrain is the fewest values ArgmaxRows gives a goroutine: a guess at
// where one starts to pay (not tuned; a batch of 64 vocabulary rows gets
// every core).
const argmaxGrain = 1 << 16

// CrossEntropyBackward implements core.Backend; dlogits may alias logits.
func (*Backend) CrossEntropyBackward(dlogits, logits core.Tensor, targets []int32, scale float32) {
	V := logits.Shape[1]
	d, lg := dlogits.Host(), logits.Host()
	parallelFor(len(targets), 4, func(lo, hi int) {
		tmp := make([]float32, V)
		for t := lo; t < hi; t++ {
			y := targets[t]
			row, out := lg[t*V:(t+1)*V], d[t*V:(t+1)*V]
			if y < 0 {
				clear(out)
				continue
			}
			lse := rowLSE(row, tmp)
			for j, v := range row {
				out[j] = v - lse
			}
			expVec(out, out)
			for j := range out {
				out[j] *= scale
			}
			out[y] -= scale
		}
	})
}

// AdamW implements core.Backend: one PyTorch AdamW step, in float32 with
// the bias corrections computed in float64.
func (*Backend) AdamW(p, grad, m, v core.Tensor, a core.AdamWArgs) {
	ps, gs, ms, vs := p.Host(), grad.Host(), m.Host(), v.Host()
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	bc1 := 1 - math.Pow(a.Beta1, float64(a.Step))
	bc2 := 1 - math.Pow(a.Beta2, float64(a.Step))
	stepSize := float32(a.LR / bc1)
	invSqrtBC2 := float32(1 / math.Sqrt(bc2))
	decay := float32(1 - a.LR*a.WeightDecay)
	eps, scale := float32(a.Eps), a.GradScale
	parallelFor(len(ps), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := scale * gs[i]
			mi := b1*ms[i] + (1-b1)*g
			vi := b2*vs[i] + (1-b2)*g*g
			ms[i], vs[i] = mi, vi
			ps[i] = ps[i]*decay - stepSize*mi/(float32(math.Sqrt(float64(vi)))*invSqrtBC2+eps)
		}
	})
}

// SumSquares implements core.Backend; partial sums per worker are added in
// worker order, so the result is the same on every run.
func (*Backend) SumSquares(x core.Tensor) float64 {
	xs := x.Host()
	parts := make([]float64, runtime.GOMAXPROCS(0))
	parallelWorkers(len(xs), func(w, lo, hi int) {
		var s float64
		for _, v := range xs[lo:hi] {
			s += float64(v) * float64(v)
		}
		parts[w] = s
	})
	total := 0.0
	for _, s := range parts {
		total += s
	}
	return total
}
