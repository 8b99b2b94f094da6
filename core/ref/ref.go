// Package ref holds the float64 reference of every backend operation: plain
// loops written to be read, never optimised. It is the oracle that
// core/conformance holds every backend to, and its gradients are checked by
// finite differences in ref_test.go.
//
// The functions mirror core.Backend's methods and share their formulas and
// accumulation rules (parameter gradients are added to, activation gradients
// overwritten); sizes are passed explicitly and slices are row-major.
// Symbols: B batch, D channels, L length, N state size, K conv width, V vocabulary.
package ref

import "math"

// Sigmoid is 1/(1+exp(-x)).
func Sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Softplus is log(1+exp(x)), and x itself when x > 20 (PyTorch's threshold).
func Softplus(x float64) float64 {
	if x > 20 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// SoftplusGrad is d softplus / dx: σ(x), and 1 when x > 20.
func SoftplusGrad(x float64) float64 {
	if x > 20 {
		return 1
	}
	return Sigmoid(x)
}

// SiLU is x·σ(x).
func SiLU(x float64) float64 { return x * Sigmoid(x) }

// SiLUGrad is d SiLU / dx = σ(x)·(1 + x·(1−σ(x))).
func SiLUGrad(x float64) float64 {
	s := Sigmoid(x)
	return s * (1 + x*(1-s))
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C for one row-major product;
// A is (m, k), or (k, m) when transA; B is (k, n), or (n, k) when transB.
// With beta == 0 the old C is ignored.
func Gemm(transA, transB bool, m, n, k int, alpha float64, a, b []float64, beta float64, c []float64) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = a[p*m+i]
				} else {
					av = a[i*k+p]
				}
				if transB {
					bv = b[j*k+p]
				} else {
					bv = b[p*n+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*n+j] = alpha * s
			} else {
				c[i*n+j] = alpha*s + beta*c[i*n+j]
			}
		}
	}
}

// Embedding gathers out[t,:] = table[ids[t],:].
func Embedding(out, table []float64, ids []int32, dim int) {
	for t, id := range ids {
		copy(out[t*dim:(t+1)*dim], table[int(id)*dim:(int(id)+1)*dim])
	}
}

// EmbeddingBackward scatters dtable[ids[t],:] += dout[t,:].
func EmbeddingBackward(dtable, dout []float64, ids []int32, dim int) {
	for t, id := range ids {
		for j := 0; j < dim; j++ {
			dtable[int(id)*dim+j] += dout[t*dim+j]
		}
	}
}

// convPre is bias[d] + Σ_k w[d,k]·x[b,d,t-K+1+k].
func convPre(x, w, bias []float64, b, d, t, D, L, K int) float64 {
	s := 0.0
	if bias != nil {
		s = bias[d]
	}
	for k := 0; k < K; k++ {
		src := t - K + 1 + k
		if src >= 0 {
			s += w[d*K+k] * x[(b*D+d)*L+src]
		}
	}
	return s
}

// Conv1d is the causal depthwise convolution of core.Backend.Conv1d.
// x, out (B, D, L); w (D, K); bias (D) or nil.
func Conv1d(out, x, w, bias []float64, B, D, L, K int, silu bool) {
	for b := 0; b < B; b++ {
		for d := 0; d < D; d++ {
			for t := 0; t < L; t++ {
				p := convPre(x, w, bias, b, d, t, D, L, K)
				if silu {
					p = SiLU(p)
				}
				out[(b*D+d)*L+t] = p
			}
		}
	}
}

// Conv1dBackward overwrites dx and adds to dw and dbias (each may be nil).
func Conv1dBackward(dx, dw, dbias, dout, x, w, bias []float64, B, D, L, K int, silu bool) {
	if dx != nil {
		for i := range dx[:B*D*L] {
			dx[i] = 0
		}
	}
	for b := 0; b < B; b++ {
		for d := 0; d < D; d++ {
			for t := 0; t < L; t++ {
				g := dout[(b*D+d)*L+t]
				if silu {
					g *= SiLUGrad(convPre(x, w, bias, b, d, t, D, L, K))
				}
				if dbias != nil {
					dbias[d] += g
				}
				for k := 0; k < K; k++ {
					src := t - K + 1 + k
					if src < 0 {
						continue
					}
					if dw != nil {
						dw[d*K+k] += g * x[(b*D+d)*L+src]
					}
					if dx != nil {
						dx[(b*D+d)*L+src] += g * w[d*K+k]
					}
				}
			}
		}
	}
}

// ConvStep shifts state (B, D, K) left by one, appends x (B, D) and writes
// out[b,d] = act(bias[d] + Σ_k w[d,k]·state[b,d,k]).
func ConvStep(state, x, w, bias, out []float64, B, D, K int, silu bool) {
	for b := 0; b < B; b++ {
		for d := 0; d < D; d++ {
			s := state[(b*D+d)*K : (b*D+d+1)*K]
			copy(s, s[1:])
			s[K-1] = x[b*D+d]
			v := 0.0
			if bias != nil {
				v = bias[d]
			}
			for k := 0; k < K; k++ {
				v += w[d*K+k] * s[k]
			}
			if silu {
				v = SiLU(v)
			}
			out[b*D+d] = v
		}
	}
}

// RMSNorm writes out[r,j] = x[r,j]·rstd[r]·w[j] with rstd[r] = 1/sqrt(mean_j x[r,j]² + eps).
// rstd may be nil.
func RMSNorm(out, rstd, x, w []float64, rows, dim int, eps float64) {
	for r := 0; r < rows; r++ {
		xr := x[r*dim : (r+1)*dim]
		ss := 0.0
		for _, v := range xr {
			ss += v * v
		}
		rs := 1 / math.Sqrt(ss/float64(dim)+eps)
		if rstd != nil {
			rstd[r] = rs
		}
		for j, v := range xr {
			out[r*dim+j] = v * rs * w[j]
		}
	}
}

// RMSNormBackward overwrites dx and adds to dw (may be nil):
//
//	dx_j = rstd·w_j·dout_j − rstd³/dim·x_j·Σ_i dout_i·w_i·x_i,   dw_j += dout_j·x_j·rstd.
func RMSNormBackward(dx, dw, dout, x, w []float64, rows, dim int, eps float64) {
	for r := 0; r < rows; r++ {
		xr, gr := x[r*dim:(r+1)*dim], dout[r*dim:(r+1)*dim]
		ss := 0.0
		for _, v := range xr {
			ss += v * v
		}
		rs := 1 / math.Sqrt(ss/float64(dim)+eps)
		dot := 0.0
		for j := range xr {
			dot += gr[j] * w[j] * xr[j]
		}
		for j := range xr {
			if dx != nil {
				dx[r*dim+j] = rs*w[j]*gr[j] - rs*rs*rs/float64(dim)*xr[j]*dot
			}
			if dw != nil {
				dw[j] += gr[j] * xr[j] * rs
			}
		}
	}
}

// CrossEntropy writes losses[t] = logsumexp(logits[t,:]) − logits[t,targets[t]],
// 0 where targets[t] < 0.
func CrossEntropy(losses, logits []float64, targets []int32, V int) {
	for t, y := range targets {
		if y < 0 {
			losses[t] = 0
			continue
		}
		row := logits[t*V : (t+1)*V]
		losses[t] = logSumExp(row) - row[y]
	}
}

func logSumExp(row []float64) float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, v)
	}
	s := 0.0
	for _, v := range row {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// CrossEntropyBackward writes dlogits[t,:] = scale·(softmax(logits[t,:]) − onehot(targets[t])),
// 0 for ignored rows.
func CrossEntropyBackward(dlogits, logits []float64, targets []int32, V int, scale float64) {
	for t, y := range targets {
		row := logits[t*V : (t+1)*V]
		out := dlogits[t*V : (t+1)*V]
		if y < 0 {
			for j := range out {
				out[j] = 0
			}
			continue
		}
		lse := logSumExp(row)
		for j, v := range row {
			p := math.Exp(v - lse)
			if j == int(y) {
				p--
			}
			out[j] = scale * p
		}
	}
}

// ArgmaxRows returns, for each row of x (R, V), the index a scan from the
// left lands on when it moves to each strictly larger value (see
// core.Backend.ArgmaxRows).
func ArgmaxRows(x []float64, V int) []int32 {
	out := make([]int32, len(x)/V)
	for r := range out {
		row := x[r*V : (r+1)*V]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[r] = int32(best)
	}
	return out
}

// AdamW applies one step of PyTorch's AdamW to p in place (see
// core.Backend.AdamW); scale multiplies the gradient first.
func AdamW(p, grad, m, v []float64, lr, beta1, beta2, eps, wd float64, step int, scale float64) {
	bc1 := 1 - math.Pow(beta1, float64(step))
	bc2 := 1 - math.Pow(beta2, float64(step))
	for i := range p {
		g := scale * grad[i]
		m[i] = beta1*m[i] + (1-beta1)*g
		v[i] = beta2*v[i] + (1-beta2)*g*g
		p[i] *= 1 - lr*wd
		p[i] -= lr * (m[i] / bc1) / (math.Sqrt(v[i]/bc2) + eps)
	}
}

// Flip reverses each run of L consecutive values: dst[r·L + t] = src[r·L + L−1−t].
func Flip(dst, src []float64, L int) {
	for r := 0; r*L < len(src); r++ {
		for t := 0; t < L; t++ {
			dst[r*L+t] = src[r*L+L-1-t]
		}
	}
}
