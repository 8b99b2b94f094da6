// kernels.cu: the CUDA C kernels of mambakit's CUDA backend.
//
// This file is embedded into the Go package (kernels_src.go) and compiled at
// run time by NVRTC for the exact architecture of the device (nvrtc.go). It
// includes no header: NVRTC provides the vector types, expf, log1pf, sqrt,
// the warp intrinsics and atomicAdd. It is built without --use_fast_math, so
// expf, log1pf and sqrtf are the accurate versions and divisions are IEEE.
//
// Every kernel's comment states its formula; it is the formula of the
// matching core.Backend method and of the CPU backend (kernels/cpu).
// Shapes are written outermost first, (B, D, L): element [b, d, t] is at
// b·D·L + d·L + t. Symbols: B batch, D channels, L length, N state size,
// K convolution width, V vocabulary; δ the time step.
//
// Parameter passing: the Go side passes every kernel argument in an 8-byte
// slot (pointers, 64-bit integers; an int or a float occupies the low four
// bytes), so any scalar type below is fine as long as it is at most 8 bytes.
// Element counts that can exceed 2^31 (B·L·V logits) are 64-bit (i64).

typedef long long i64;

#define FULL_MASK 0xffffffffu

// Function-scope shared memory. (A CPU emulation used for testing redefines
// it; on the device it is plain __shared__.)
#ifndef MK_SHARED
#define MK_SHARED __shared__
#endif

// Dynamic shared memory, sized at launch; every kernel that uses it views it
// as floats.
#ifndef MK_EMULATION
extern __shared__ float4 mk_dyn_smem[];
#endif

// GRID_STRIDE runs the loop body for every i in [0, n) over the whole grid.
#define GRID_STRIDE(i, n) \
	for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)blockDim.x * gridDim.x)

// ---------------------------------------------------------------------------
// Scalar functions, as in kernels/cpu/mathf.go and core/ref.

// sigmoid_f is 1/(1 + e^−x).
__device__ __forceinline__ float sigmoid_f(float x) { return 1.0f / (1.0f + expf(-x)); }

// silu_f is x·σ(x).
__device__ __forceinline__ float silu_f(float x) { return x * sigmoid_f(x); }

// silu_grad_f is d SiLU / dx = σ(x)·(1 + x·(1 − σ(x))).
__device__ __forceinline__ float silu_grad_f(float x) {
	float s = sigmoid_f(x);
	return s * (1.0f + x * (1.0f - s));
}

// softplus_f is log(1 + e^x), and x itself above 20 (PyTorch's threshold),
// computed as max(x, 0) + log1p(e^−|x|) so that it never overflows.
__device__ __forceinline__ float softplus_f(float x) {
	if (x > 20.0f) return x;
	if (x > 0.0f) return x + log1pf(expf(-x));
	return log1pf(expf(x));
}

// softplus_grad_f is d softplus / dx: σ(x), and 1 above 20.
__device__ __forceinline__ float softplus_grad_f(float x) { return x > 20.0f ? 1.0f : sigmoid_f(x); }

// bf16_to_f32 widens a bfloat16 bit pattern exactly.
__device__ __forceinline__ float bf16_to_f32(unsigned short h) { return __uint_as_float(((unsigned)h) << 16); }

// f32_to_bf16 rounds to the nearest bfloat16 (ties to even), keeping NaN a
// NaN, as tensorfile.Float32ToBF16 does.
__device__ __forceinline__ unsigned short f32_to_bf16(float f) {
	unsigned b = __float_as_uint(f);
	if (f != f) return (unsigned short)((b >> 16) | 0x40);
	b += 0x7fffu + ((b >> 16) & 1u);
	return (unsigned short)(b >> 16);
}

// neg_inf_f is −∞.
__device__ __forceinline__ float neg_inf_f() { return __int_as_float(0xff800000); }

// bf16x is a bfloat16 value in memory: the scans' sequence tensors are float
// or bf16x (T below), widened to float on load and rounded to nearest even on
// store; everything in registers is float.
struct bf16x {
	unsigned short v;
};
struct alignas(8) u32x2 {
	unsigned x, y;
};
struct alignas(16) u32x4 {
	unsigned x, y, z, w;
};

// ldf is p[i] as a float; stf stores v at p[i].
__device__ __forceinline__ float ldf(const float* p, i64 i) { return p[i]; }
__device__ __forceinline__ float ldf(const bf16x* p, i64 i) { return bf16_to_f32(p[i].v); }
__device__ __forceinline__ void stf(float* p, i64 i, float v) { p[i] = v; }
__device__ __forceinline__ void stf(bf16x* p, i64 i, float v) { p[i].v = f32_to_bf16(v); }

// widen2 and widen4 widen two or four bfloat16 packed as in memory (the
// first in the low half of each word) exactly; pack2 and pack4 round floats
// to them (f32_to_bf16).
__device__ __forceinline__ float2 widen2(unsigned q) {
	return float2{__uint_as_float(q << 16), __uint_as_float(q & 0xffff0000u)};
}
__device__ __forceinline__ float4 widen4(u32x2 q) {
	const float2 a = widen2(q.x), b = widen2(q.y);
	return make_float4(a.x, a.y, b.x, b.y);
}
__device__ __forceinline__ unsigned pack2(float a, float b) {
	return (unsigned)f32_to_bf16(a) | ((unsigned)f32_to_bf16(b) << 16);
}
__device__ __forceinline__ u32x2 pack4(float4 v) { return u32x2{pack2(v.x, v.y), pack2(v.z, v.w)}; }

// ld4 reads p[0..3] with one load (16 bytes for float, 8 for bf16x: p must
// be aligned to that); st4 writes them.
__device__ __forceinline__ float4 ld4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 ld4(const bf16x* p) { return widen4(*reinterpret_cast<const u32x2*>(p)); }
__device__ __forceinline__ void st4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
__device__ __forceinline__ void st4(bf16x* p, float4 v) { *reinterpret_cast<u32x2*>(p) = pack4(v); }

// ---------------------------------------------------------------------------
// Reductions. Block reductions need blockDim.x to be a multiple of 32 (at most
// 1024); every thread of the block must call them, and every thread receives
// the result. The sums of the warps' partials are added in warp order, so
// the result does not depend on timing.

__device__ __forceinline__ float warp_sum(float v) {
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
	return v;
}

__device__ __forceinline__ double warp_sum(double v) {
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
	return v;
}

__device__ __forceinline__ float warp_max(float v) {
	for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
	return v;
}

// block_sum returns Σ v over the block; scratch holds 32 values.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* scratch) {
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
	v = warp_sum(v);
	__syncthreads(); // scratch may still be read by a previous reduction
	if (lane == 0) scratch[warp] = v;
	__syncthreads();
	T r = 0;
	for (int w = 0; w < nw; ++w) r += scratch[w];
	return r;
}

// block_max returns max v over the block; scratch holds 32 values.
__device__ __forceinline__ float block_max(float v, float* scratch) {
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
	v = warp_max(v);
	__syncthreads();
	if (lane == 0) scratch[warp] = v;
	__syncthreads();
	float r = scratch[0];
	for (int w = 1; w < nw; ++w) r = fmaxf(r, scratch[w]);
	return r;
}

// ---------------------------------------------------------------------------
// Memory and elementwise kernels (grid-stride loops over n elements).

// axpy_f32: y[i] += alpha·x[i].
extern "C" __global__ void axpy_f32(float alpha, const float* x, float* y, i64 n) {
	GRID_STRIDE(i, n) y[i] += alpha * x[i];
}

// flip_f32: dst[r·L + t] = src[r·L + L−1−t] for rows r of length L.
extern "C" __global__ void flip_f32(float* __restrict__ dst, const float* __restrict__ src, i64 n, i64 L) {
	GRID_STRIDE(i, n) {
		i64 r = i / L, t = i - r * L;
		dst[i] = src[r * L + (L - 1 - t)];
	}
}

// widen_bf16: dst[i] = float(src[i]) for bfloat16 src.
extern "C" __global__ void widen_bf16(float* __restrict__ dst, const unsigned short* __restrict__ src, i64 n) {
	GRID_STRIDE(i, n) dst[i] = bf16_to_f32(src[i]);
}

// round_bf16: dst[i] = bfloat16(src[i]), to nearest even.
extern "C" __global__ void round_bf16(unsigned short* __restrict__ dst, const float* __restrict__ src, i64 n) {
	GRID_STRIDE(i, n) dst[i] = f32_to_bf16(src[i]);
}

// split3_bf16: x[i] = hi[i] + mid[i] + lo[i], with hi, mid and lo bfloat16
// at parts[i], parts[n+i] and parts[2n+i]: hi is x truncated to bfloat16
// (its sign, exponent and 8 leading significant bits), mid the remainder
// x − hi truncated so, lo the rest (at most 8 significant bits remain). The
// sum is exact for |x| ≥ 2^−103; below that the remainders are subnormal
// and lo may lose bits. A non-finite x gives hi = bfloat16(x) (NaN stays
// NaN), mid = lo = 0. Gemm's product of float32 rows by a bfloat16 B uses it.
extern "C" __global__ void split3_bf16(unsigned short* __restrict__ parts, const float* __restrict__ x, i64 n) {
	GRID_STRIDE(i, n) {
		const float v = x[i];
		unsigned short h = f32_to_bf16(v), m = 0, l = 0;
		if (v - v == 0.0f) { // finite (∞ − ∞ and NaN − NaN are NaN)
			const unsigned a = __float_as_uint(v) & 0xffff0000u;
			const float r = v - __uint_as_float(a);
			const unsigned b = __float_as_uint(r) & 0xffff0000u;
			h = (unsigned short)(a >> 16), m = (unsigned short)(b >> 16);
			l = (unsigned short)(__float_as_uint(r - __uint_as_float(b)) >> 16);
		}
		parts[i] = h, parts[n + i] = m, parts[2 * n + i] = l;
	}
}

// sum3_f32: C[i] = alpha·(P[i] + (P[n+i] + P[2n+i])) + beta·C[i] for i < n
// (beta == 0: C is not read, NaN included): the three products of
// split3_bf16's parts folded into C.
extern "C" __global__ void sum3_f32(float* __restrict__ C, const float* __restrict__ P, i64 n, float alpha, float beta) {
	GRID_STRIDE(i, n) {
		const float v = alpha * (P[i] + (P[n + i] + P[2 * n + i]));
		C[i] = beta == 0.0f ? v : v + beta * C[i];
	}
}

// gemv_rows: C[m,n] = alpha·Σ_k A[m,k]·W[n,k] + beta·C[m,n] (beta == 0:
// C is not read, NaN included) for m < M ≤ GEMV_ROWS and n < N, with A (M, K)
// float32 rows, W (N, K) float32 or bfloat16 rows and C (M, N): Gemm with
// TransB for a few rows, as decoding one token per sequence multiplies.
// A warp per n reads W's row once for all M rows of A (its lanes striding
// over k, four float32 or eight bfloat16 at a time with vec, one otherwise)
// and sums the lanes' shares with warp_sum; float32 sums throughout.
#define GEMV_ROWS 8
template <typename T>
__device__ __forceinline__ void gemv_rows(const float* __restrict__ A, const T* __restrict__ W,
                                          float* __restrict__ C, int M, int N, int K, float alpha, float beta,
                                          int vec) {
	const int lane = threadIdx.x & 31;
	const int n = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
	if (n >= N) return; // a whole warp leaves together
	const T* w = W + (i64)n * K;
	float acc[GEMV_ROWS];
#pragma unroll
	for (int m = 0; m < GEMV_ROWS; ++m) acc[m] = 0.0f;
	constexpr int V = sizeof(T) == 4 ? 4 : 8; // elements of W per 16-byte load
	int k0 = 0;
	if (vec) {
		k0 = K / V * V;
		for (int k = lane * V; k < k0; k += 32 * V) {
			float wv[V];
			if constexpr (V == 4) {
				const float4 q = *reinterpret_cast<const float4*>(w + k);
				wv[0] = q.x, wv[1] = q.y, wv[2] = q.z, wv[3] = q.w;
			} else {
				const u32x4 q = *reinterpret_cast<const u32x4*>(w + k);
				const float2 a = widen2(q.x), b = widen2(q.y), c = widen2(q.z), d = widen2(q.w);
				wv[0] = a.x, wv[1] = a.y, wv[2] = b.x, wv[3] = b.y, wv[4] = c.x, wv[5] = c.y, wv[6] = d.x, wv[7] = d.y;
			}
#pragma unroll
			for (int m = 0; m < GEMV_ROWS; ++m) {
				if (m < M) {
#pragma unroll
					for (int v = 0; v < V; v += 4) {
						const float4 a = *reinterpret_cast<const float4*>(A + (i64)m * K + k + v);
						acc[m] += a.x * wv[v] + a.y * wv[v + 1] + a.z * wv[v + 2] + a.w * wv[v + 3];
					}
				}
			}
		}
	}
	for (int k = k0 + lane; k < K; k += 32) {
		const float wk = ldf(w, k);
#pragma unroll
		for (int m = 0; m < GEMV_ROWS; ++m)
			if (m < M) acc[m] += A[(i64)m * K + k] * wk;
	}
#pragma unroll
	for (int m = 0; m < GEMV_ROWS; ++m) {
		if (m < M) {
			const float sum = warp_sum(acc[m]);
			if (lane == 0) {
				float* c = C + (i64)m * N + n;
				*c = beta == 0.0f ? alpha * sum : alpha * sum + beta * *c;
			}
		}
	}
}
extern "C" __global__ void gemv_rows_f32(const float* __restrict__ A, const float* __restrict__ W, float* __restrict__ C,
                                         int M, int N, int K, float alpha, float beta, int vec) {
	gemv_rows<float>(A, W, C, M, N, K, alpha, beta, vec);
}
extern "C" __global__ void gemv_rows_bf16(const float* __restrict__ A, const bf16x* __restrict__ W, float* __restrict__ C,
                                          int M, int N, int K, float alpha, float beta, int vec) {
	gemv_rows<bf16x>(A, W, C, M, N, K, alpha, beta, vec);
}

// scale_strided: for each batch i < total/mn, the mn elements of C_i at
// c + i·stride become beta·C_i, or 0 when beta == 0 (NaN ignored). It is
// Gemm with K = 0.
extern "C" __global__ void scale_strided(float* c, i64 total, i64 mn, i64 stride, float beta) {
	GRID_STRIDE(e, total) {
		i64 i = e / mn, r = e - i * mn;
		float* p = c + i * stride + r;
		*p = beta == 0.0f ? 0.0f : beta * *p;
	}
}

// silu_f32: out[i] = x[i]·σ(x[i]).
extern "C" __global__ void silu_f32(float* out, const float* x, i64 n) {
	GRID_STRIDE(i, n) out[i] = silu_f(x[i]);
}

// silu_bwd_f32: dx[i] = dout[i]·σ(x[i])·(1 + x[i]·(1 − σ(x[i]))).
extern "C" __global__ void silu_bwd_f32(float* dx, const float* x, const float* dout, i64 n) {
	GRID_STRIDE(i, n) dx[i] = dout[i] * silu_grad_f(x[i]);
}

// softplus_f32: out[i] = log(1 + e^x[i]), x[i] above 20.
extern "C" __global__ void softplus_f32(float* out, const float* x, i64 n) {
	GRID_STRIDE(i, n) out[i] = softplus_f(x[i]);
}

// softplus_bwd_f32: dx[i] = dout[i]·σ(x[i]) (dout[i] above 20).
extern "C" __global__ void softplus_bwd_f32(float* dx, const float* x, const float* dout, i64 n) {
	GRID_STRIDE(i, n) dx[i] = dout[i] * softplus_grad_f(x[i]);
}

// adamw_f32: one AdamW step (torch.optim.AdamW), with the bias corrections
// folded into step = LR/(1−β1^t) and inv_sqrt_bc2 = 1/sqrt(1−β2^t) and
// decay = 1 − LR·weight_decay:
//   g = scale·grad,  m = β1·m + (1−β1)·g,  v = β2·v + (1−β2)·g²,
//   p = p·decay − step·m / (sqrt(v)·inv_sqrt_bc2 + eps).
extern "C" __global__ void adamw_f32(float* p, const float* grad, float* m, float* v, i64 n,
                                     float b1, float b2, float step, float inv_sqrt_bc2, float decay,
                                     float eps, float scale) {
	GRID_STRIDE(i, n) {
		float g = scale * grad[i];
		float mi = b1 * m[i] + (1.0f - b1) * g;
		float vi = b2 * v[i] + (1.0f - b2) * g * g;
		m[i] = mi;
		v[i] = vi;
		p[i] = p[i] * decay - step * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
	}
}

// sumsq_partial: part[blockIdx.x] = Σ x[i]² over this block's share of the
// grid-stride loop, accumulated in double.
extern "C" __global__ void sumsq_partial(const float* x, i64 n, double* part) {
	MK_SHARED double scratch[32];
	double s = 0.0;
	GRID_STRIDE(i, n) {
		double v = (double)x[i];
		s += v * v;
	}
	s = block_sum(s, scratch);
	if (threadIdx.x == 0) part[blockIdx.x] = s;
}

// sum_f64 (one block): out[0] = Σ_{i<n} part[i].
extern "C" __global__ void sum_f64(const double* part, int n, double* out) {
	MK_SHARED double scratch[32];
	double s = 0.0;
	for (int i = threadIdx.x; i < n; i += blockDim.x) s += part[i];
	s = block_sum(s, scratch);
	if (threadIdx.x == 0) out[0] = s;
}

// ---------------------------------------------------------------------------
// Embedding (one block per token t).

// embedding_f32: out[t, j] = table[ids[t], j].  out (T, dim), table (V, dim), ids (T).
extern "C" __global__ void embedding_f32(float* __restrict__ out, const float* __restrict__ table,
                                         const int* __restrict__ ids, i64 dim) {
	const i64 t = blockIdx.x;
	const float* row = table + (i64)ids[t] * dim;
	for (i64 j = threadIdx.x; j < dim; j += blockDim.x) out[t * dim + j] = row[j];
}

// embedding_bf16: out[t, j] = float(table[ids[t], j]) for a bfloat16 table.
extern "C" __global__ void embedding_bf16(float* __restrict__ out, const unsigned short* __restrict__ table,
                                          const int* __restrict__ ids, i64 dim) {
	const i64 t = blockIdx.x;
	const unsigned short* row = table + (i64)ids[t] * dim;
	for (i64 j = threadIdx.x; j < dim; j += blockDim.x) out[t * dim + j] = bf16_to_f32(row[j]);
}

// embedding_bwd_f32: dtable[ids[t], j] += dout[t, j] (atomically: ids repeat).
extern "C" __global__ void embedding_bwd_f32(float* dtable, const float* __restrict__ dout,
                                             const int* __restrict__ ids, i64 dim) {
	const i64 t = blockIdx.x;
	float* row = dtable + (i64)ids[t] * dim;
	for (i64 j = threadIdx.x; j < dim; j += blockDim.x) atomicAdd(row + j, dout[t * dim + j]);
}

// ---------------------------------------------------------------------------
// Causal depthwise convolution. x, out (B, D, L); w (D, K); bias (D) or null.

// conv_pre is bias[d] + Σ_{k<K} w[d,k]·x[b,d,t−K+1+k] (x = 0 before t = 0),
// for the row xr = x[b, d, :] and the filter wd = w[d, :].
__device__ __forceinline__ float conv_pre(const float* xr, const float* wd, float b0, int t, int K) {
	float s = b0;
	for (int k = 0; k < K; ++k) {
		int src = t - K + 1 + k;
		if (src >= 0) s += wd[k] * xr[src];
	}
	return s;
}

// conv1d_fwd: out[b,d,t] = act(bias[d] + Σ_{k<K} w[d,k]·x[b,d,t−K+1+k]),
// act = SiLU when silu, else the identity.  n = B·D·L.
extern "C" __global__ void conv1d_fwd(const float* __restrict__ x, const float* __restrict__ w,
                                      const float* __restrict__ bias, float* __restrict__ out,
                                      i64 n, int D, int L, int K, int silu) {
	GRID_STRIDE(i, n) {
		i64 r = i / L;
		int t = (int)(i - r * L), d = (int)(r % D);
		float s = conv_pre(x + r * L, w + (i64)d * K, bias ? bias[d] : 0.0f, t, K);
		out[i] = silu ? silu_f(s) : s;
	}
}

// conv1d_bwd_gpre: gpre[b,d,t] = dout[b,d,t]·SiLU'(pre[b,d,t]) when silu
// (pre recomputed as in conv1d_fwd), else dout[b,d,t].
extern "C" __global__ void conv1d_bwd_gpre(const float* __restrict__ x, const float* __restrict__ w,
                                           const float* __restrict__ bias, const float* __restrict__ dout,
                                           float* __restrict__ gpre, i64 n, int D, int L, int K, int silu) {
	GRID_STRIDE(i, n) {
		float g = dout[i];
		if (silu) {
			i64 r = i / L;
			int t = (int)(i - r * L), d = (int)(r % D);
			g *= silu_grad_f(conv_pre(x + r * L, w + (i64)d * K, bias ? bias[d] : 0.0f, t, K));
		}
		gpre[i] = g;
	}
}

// conv1d_bwd_dx: dx[b,d,s] = Σ_{k<K, s+K−1−k<L} gpre[b,d,s+K−1−k]·w[d,k].
extern "C" __global__ void conv1d_bwd_dx(const float* __restrict__ gpre, const float* __restrict__ w,
                                         float* __restrict__ dx, i64 n, int D, int L, int K) {
	GRID_STRIDE(i, n) {
		i64 r = i / L;
		int s = (int)(i - r * L), d = (int)(r % D);
		const float* g = gpre + r * L;
		const float* wd = w + (i64)d * K;
		float acc = 0.0f;
		for (int k = 0; k < K; ++k) {
			int t = s + K - 1 - k;
			if (t < L) acc += g[t] * wd[k];
		}
		dx[i] = acc;
	}
}

#define CONV_KT 8 // filter taps per conv1d_bwd_dw launch

// conv1d_bwd_dw (one block per channel d, taps k0 ≤ k < min(k0+8, K)):
//   dw[d,k] += Σ_{b,t} gpre[b,d,t]·x[b,d,t−K+1+k],   dbias[d] += Σ_{b,t} gpre[b,d,t] (when k0 == 0).
// dw or dbias may be null.
extern "C" __global__ void conv1d_bwd_dw(const float* __restrict__ gpre, const float* __restrict__ x,
                                         float* dw, float* dbias, int B, int D, int L, int K, int k0) {
	MK_SHARED float scratch[32];
	const int d = blockIdx.x;
	float acc[CONV_KT];
#pragma unroll
	for (int j = 0; j < CONV_KT; ++j) acc[j] = 0.0f;
	float accb = 0.0f;
	const i64 BL = (i64)B * L;
	for (i64 e = threadIdx.x; e < BL; e += blockDim.x) {
		int b = (int)(e / L), t = (int)(e - (i64)b * L);
		i64 r = ((i64)b * D + d) * L;
		float g = gpre[r + t];
		accb += g;
#pragma unroll
		for (int j = 0; j < CONV_KT; ++j) {
			int k = k0 + j, src = t - K + 1 + k;
			if (k < K && src >= 0) acc[j] += g * x[r + src];
		}
	}
	if (dw) {
#pragma unroll
		for (int j = 0; j < CONV_KT; ++j) {
			float s = block_sum(acc[j], scratch);
			if (threadIdx.x == 0 && k0 + j < K) dw[(i64)d * K + k0 + j] += s;
		}
	}
	if (dbias && k0 == 0) {
		float s = block_sum(accb, scratch);
		if (threadIdx.x == 0) dbias[d] += s;
	}
}

// conv_step: for each row r = (b, d) < BD,
//   state[r, :] ← (state[r, 1:], x[r]),   out[r] = act(bias[d] + Σ_k w[d,k]·state[r,k]).
// state (B, D, K), x and out (B, D), w (D, K), bias (D) or null.
extern "C" __global__ void conv_step(float* state, const float* x, const float* w, const float* bias,
                                     float* out, i64 BD, int D, int K, int silu) {
	GRID_STRIDE(r, BD) {
		int d = (int)(r % D);
		float* s = state + r * K;
		for (int k = 0; k + 1 < K; ++k) s[k] = s[k + 1];
		s[K - 1] = x[r];
		float v = bias ? bias[d] : 0.0f;
		for (int k = 0; k < K; ++k) v += w[(i64)d * K + k] * s[k];
		out[r] = silu ? silu_f(v) : v;
	}
}

// ---------------------------------------------------------------------------
// RMSNorm. x, out, dx, dout (rows, dim); w, dw (dim); rstd (rows).

// rmsnorm_fwd (one block per row r):
//   rstd[r] = 1/sqrt(mean_j x[r,j]² + eps),   out[r,j] = x[r,j]·rstd[r]·w[j],
// with the sum of squares accumulated in double.
extern "C" __global__ void rmsnorm_fwd(float* __restrict__ out, float* __restrict__ rstd,
                                       const float* __restrict__ x, const float* __restrict__ w,
                                       int dim, float eps) {
	MK_SHARED double scratch[32];
	const i64 r = blockIdx.x;
	const float* xr = x + r * dim;
	double ss = 0.0;
	for (int j = threadIdx.x; j < dim; j += blockDim.x) {
		double v = (double)xr[j];
		ss += v * v;
	}
	ss = block_sum(ss, scratch);
	const float inv = (float)(1.0 / sqrt(ss / (double)dim + (double)eps));
	if (threadIdx.x == 0) rstd[r] = inv;
	for (int j = threadIdx.x; j < dim; j += blockDim.x) out[r * dim + j] = xr[j] * inv * w[j];
}

// rmsnorm_bwd_dx (one block per row r), in double with rstd recomputed from x
// (the two terms nearly cancel when one x_j dominates its row):
//   inv = 1/sqrt(mean_j x_j² + eps),   c = inv³/dim·Σ_i dout_i·w_i·x_i,
//   dx_j = inv·w_j·dout_j − c·x_j,     rinv[r] = inv (for rmsnorm_bwd_dw_partial).
extern "C" __global__ void rmsnorm_bwd_dx(float* __restrict__ dx, double* __restrict__ rinv,
                                          const float* __restrict__ dout, const float* __restrict__ x,
                                          const float* __restrict__ w, int dim, float eps) {
	MK_SHARED double scratch[32];
	const i64 r = blockIdx.x;
	const float* xr = x + r * dim;
	const float* gr = dout + r * dim;
	double ss = 0.0, dot = 0.0;
	for (int j = threadIdx.x; j < dim; j += blockDim.x) {
		double v = (double)xr[j];
		ss += v * v;
		dot += (double)gr[j] * (double)w[j] * v;
	}
	ss = block_sum(ss, scratch);
	dot = block_sum(dot, scratch);
	const double inv = 1.0 / sqrt(ss / (double)dim + (double)eps);
	const double c = inv * inv * inv / (double)dim * dot;
	if (threadIdx.x == 0) rinv[r] = inv;
	for (int j = threadIdx.x; j < dim; j += blockDim.x)
		dx[r * dim + j] = (float)(inv * (double)w[j] * (double)gr[j] - c * (double)xr[j]);
}

// rmsnorm_bwd_dw_partial (256 threads; block (cb, p) owns columns
// cb·32 ≤ j < cb·32+32 and rows p·rpc ≤ r < min((p+1)·rpc, rows)):
//   part[p, j] = Σ_r dout[r,j]·x[r,j]·rinv[r]   in double.  part (gridDim.y, dim).
extern "C" __global__ void rmsnorm_bwd_dw_partial(double* __restrict__ part, const float* __restrict__ dout,
                                                  const float* __restrict__ x, const double* __restrict__ rinv,
                                                  i64 rows, int dim, i64 rpc) {
	MK_SHARED double acc[8][32];
	const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
	const int j = blockIdx.x * 32 + tx;
	const i64 r0 = (i64)blockIdx.y * rpc;
	i64 r1 = r0 + rpc;
	if (r1 > rows) r1 = rows;
	double s = 0.0;
	if (j < dim)
		for (i64 r = r0 + ty; r < r1; r += 8) s += (double)dout[r * dim + j] * (double)x[r * dim + j] * rinv[r];
	acc[ty][tx] = s;
	__syncthreads();
	if (ty == 0 && j < dim) {
		double t = 0.0;
		for (int k = 0; k < 8; ++k) t += acc[k][tx];
		part[(i64)blockIdx.y * dim + j] = t;
	}
}

// rmsnorm_bwd_dw_final: dw[j] += float(Σ_{p<parts} part[p, j]).
extern "C" __global__ void rmsnorm_bwd_dw_final(float* dw, const double* __restrict__ part, int parts, int dim) {
	GRID_STRIDE(j, dim) {
		double s = 0.0;
		for (int p = 0; p < parts; ++p) s += part[(i64)p * dim + j];
		dw[j] += (float)s;
	}
}

// ---------------------------------------------------------------------------
// Cross-entropy (one block per row t of logits (T, V); targets (T)).

// row_lse returns log Σ_j exp(row[j]) with the maximum taken out and the sum
// of the exponentials accumulated in double: m + log Σ exp(row − m).
__device__ __forceinline__ float row_lse(const float* row, i64 V, float* fscratch, double* dscratch) {
	float m = neg_inf_f();
	for (i64 j = threadIdx.x; j < V; j += blockDim.x) m = fmaxf(m, row[j]);
	m = block_max(m, fscratch);
	double s = 0.0;
	for (i64 j = threadIdx.x; j < V; j += blockDim.x) s += (double)expf(row[j] - m);
	s = block_sum(s, dscratch);
	return m + (float)log(s);
}

// ce_fwd: loss[t] = logsumexp(logits[t, :]) − logits[t, targets[t]], and 0
// when targets[t] < 0.
extern "C" __global__ void ce_fwd(float* __restrict__ loss, const float* __restrict__ logits,
                                  const int* __restrict__ targets, i64 V) {
	MK_SHARED float fscratch[32];
	MK_SHARED double dscratch[32];
	const i64 t = blockIdx.x;
	const int y = targets[t];
	if (y < 0) { // uniform over the block
		if (threadIdx.x == 0) loss[t] = 0.0f;
		return;
	}
	const float* row = logits + t * V;
	const float lse = row_lse(row, V, fscratch, dscratch);
	if (threadIdx.x == 0) loss[t] = lse - row[y];
}

// argmax_rows: out[r] = the index of the largest value of row r of x (R, V),
// as a scan from the left that moves to each strictly larger value: the
// first of equal values, never a NaN, and 0 when x[r, 0] is NaN (or every
// value is). One block per row: each thread keeps the first largest of its
// strided values, then the block keeps the largest, the lowest index among
// equal ones.
__device__ __forceinline__ void argmax_keep(float& bv, int& bi, float v, int i) {
	// (bv, bi) becomes (v, i) when i holds a value and bi none, or a larger
	// value, or an equal one at a lower index (bi < 0: none yet).
	if (i >= 0 && (bi < 0 || v > bv || (v == bv && i < bi))) bv = v, bi = i;
}
extern "C" __global__ void argmax_rows(int* __restrict__ out, const float* __restrict__ x, i64 V) {
	MK_SHARED float sv[32];
	MK_SHARED int si[32];
	const float* row = x + (i64)blockIdx.x * V;
	float bv = 0.0f;
	int bi = -1;
	for (i64 j = threadIdx.x; j < V; j += blockDim.x) {
		const float v = row[j];
		if (v == v) argmax_keep(bv, bi, v, (int)j); // NaN never
	}
	for (int o = 16; o > 0; o >>= 1) {
		const float v = __shfl_xor_sync(FULL_MASK, bv, o);
		const int i = __shfl_xor_sync(FULL_MASK, bi, o);
		argmax_keep(bv, bi, v, i);
	}
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
	if (lane == 0) sv[warp] = bv, si[warp] = bi;
	__syncthreads();
	if (threadIdx.x == 0) {
		for (int w = 1; w < nw; ++w) argmax_keep(bv, bi, sv[w], si[w]);
		const float x0 = row[0];
		out[blockIdx.x] = (x0 != x0 || bi < 0) ? 0 : bi;
	}
}

// ce_bwd: dl[t, j] = scale·(exp(logits[t, j] − lse_t) − [j == targets[t]]),
// and 0 for rows whose target is negative. dl may be logits itself: every
// element is read by the thread that writes it, after the row's reductions.
extern "C" __global__ void ce_bwd(float* dl, const float* logits, const int* __restrict__ targets, i64 V,
                                  float scale) {
	MK_SHARED float fscratch[32];
	MK_SHARED double dscratch[32];
	const i64 t = blockIdx.x;
	const int y = targets[t];
	float* out = dl + t * V;
	if (y < 0) {
		for (i64 j = threadIdx.x; j < V; j += blockDim.x) out[j] = 0.0f;
		return;
	}
	const float* row = logits + t * V;
	const float lse = row_lse(row, V, fscratch, dscratch);
	for (i64 j = threadIdx.x; j < V; j += blockDim.x) {
		float p = expf(row[j] - lse) * scale;
		out[j] = j == y ? p - scale : p;
	}
}

// ---------------------------------------------------------------------------
// The selective scan.
//
// For one channel (b, d), with δ_t = softplus(delta[b,d,t] + delta_bias[d])
// (no softplus unless asked), a_t[n] = exp(δ_t·A[d,n]) and
// β_t[n] = δ_t·B[b,n,t]·u[b,d,t], the state obeys the affine recurrence
//   h_t[n] = a_t[n]·h_{t−1}[n] + β_t[n],     h_{−1} = h0[b,d,n] or 0,
// and y_t = Σ_n C[b,n,t]·h_t[n] + D[d]·u[b,d,t], out = y_t·SiLU(z[b,d,t]).
//
// Organisation (scan_fwd, scan_bwd; PERF.md has the counts): a block of W
// warps serves W·G channels of one batch row b (grid (⌈D/(W·G)⌉, B)); warp w
// owns the G channels d = (blockIdx.x·W + w)·G + g, all in each of its
// threads. The sequence is walked in chunks of CH = 32·I positions, lane l
// owning the I consecutive positions c·CH + l·I + j (a "blocked"
// arrangement, loaded with 16-byte loads when aligned); all warps of the
// block walk the same chunk, so the chunk's rows of B and C (shared by every
// channel of the batch row) are staged once per block in shared memory, a
// batch of NSB states at a time. Within a chunk the states n are visited one
// at a time; for each state and channel:
//   1. each lane composes its I maps h ↦ a·h + β into one pair;
//   2. a butterfly over the warp (warp_scan_x: five exchanges of the pair)
//      gives each lane the composition of the lanes before it and the
//      whole warp's map;
//   3. each lane re-runs its positions from (its prefix)(carry), the carry
//      (the state before the chunk, in shared memory, per warp) advancing by
//      the warp's map.
// No block barrier per state in the forward: only the staging of B and C
// (two per NSB states). Per-position values (δ, δ·u, y, ...) stay in
// registers for the chunk; per-state ones (a, h) for one state.
// Positions past L are padded with δ = 0 and B = C = u = 0 (identity maps),
// channels past D with δ = u = dout = 0 and A = 0 (they never write).
// Carries (h, and in the backward r and the dA sums) live in dynamic shared
// memory, or, for large N, in a global scratch buffer (gcar) that the host
// passes instead.

// LOG2E_F is log2(e): the scans evaluate exp(δ·A) as 2^(δ·(A·log2 e)), as
// mamba_ssm does (the rounding of A·log2 e changes the exponent by a
// relative 6e-8).
#define LOG2E_F 1.4426950408889634f

// ex2_f is 2^x by the hardware's ex2.approx.ftz.f32 (MUFU.EX2, one
// instruction; 2 ulp, as exp2f). Unlike exp2f it flushes results below
// 2^−126 to 0: a decay that small multiplies a state, so the difference is
// below 1e−38 of it. exp2f costs three more instructions per call (the
// subnormal range's scaling), at B·D·L·N calls per scan.
__device__ __forceinline__ float ex2_f(float x) {
#ifdef MK_EMULATION
	return exp2f(x);
#else
	float y;
	asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
	return y;
#endif
}

// ex2v_f is ex2_f that the compiler may not merge with an earlier ex2_f of
// the same argument (asm volatile): for recomputing a value rather than
// keeping it in a register.
__device__ __forceinline__ float ex2v_f(float x) {
#ifdef MK_EMULATION
	return exp2f(x);
#else
	float y;
	asm volatile("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
	return y;
#endif
}

// rcp_f is 1/x by the hardware's rcp.approx.ftz.f32 (1 ulp; 0 for ∞).
__device__ __forceinline__ float rcp_f(float x) {
#ifdef MK_EMULATION
	return 1.0f / x;
#else
	float y;
	asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
	return y;
#endif
}

// sig_s is σ(x) = 1/(1 + e^−x) with ex2_f and rcp_f (a few ulp from
// sigmoid_f, in four instructions instead of expf's and the IEEE division's
// two dozen); the scan's per-position gates use it: silu_s = x·σ(x),
// silu_grad_s as silu_grad_f, softplus_grad_s as softplus_grad_f.
__device__ __forceinline__ float sig_s(float x) { return rcp_f(1.0f + ex2_f(x * -LOG2E_F)); }
__device__ __forceinline__ float silu_s(float x) { return x * sig_s(x); }
__device__ __forceinline__ float silu_grad_s(float x) {
	const float s = sig_s(x);
	return s * (1.0f + x * (1.0f - s));
}
__device__ __forceinline__ float softplus_grad_s(float x) { return x > 20.0f ? 1.0f : sig_s(x); }

// log1p01_s is log(1 + e) for e in [0, 1]: e·P(e) with P a polynomial of
// degree 8 fitted to log(1 + e)/e (weighted least squares towards minimax,
// float32 coefficients, Horner's rule with fused multiply-adds): relative
// error at most 1.8e-7 over [0, 1] against float64 log1p
// (TestSoftplusPolynomial checks these coefficients at 400,000 points).
__device__ __forceinline__ float log1p01_s(float e) {
	float p = 5.232705735e-03f;
	p = fmaf(p, e, -2.950528450e-02f);
	p = fmaf(p, e, 7.822602987e-02f);
	p = fmaf(p, e, -1.366325170e-01f);
	p = fmaf(p, e, 1.910600960e-01f);
	p = fmaf(p, e, -2.484298348e-01f);
	p = fmaf(p, e, 3.331909776e-01f);
	p = fmaf(p, e, -4.999949336e-01f);
	p = fmaf(p, e, 9.999999404e-01f);
	return p * e;
}

// softplus_s is softplus_f, max(x, 0) + log1p(e^−|x|), with ex2_f and
// log1p01_s, in about 13 instructions and no branch instead of expf's and
// log1pf's three dozen, once per position and channel in the scans.
// Relative error (exact 2^x in place of ex2_f, which adds up to 2 ulp;
// TestSoftplusPolynomial): 9e−7 over [−20, 20], growing with |x| below
// (1.8e−6 at −40) from the rounding of |x|·log2 e. Above 20 it is x
// itself, as softplus_f: e^−x < 2.1e−9 is below half an ulp of x there.
__device__ __forceinline__ float softplus_s(float x) {
	return fmaxf(x, 0.0f) + log1p01_s(ex2_f(fabsf(x) * -LOG2E_F));
}

// AB is the affine map h ↦ a·h + b.
struct AB {
	float a, b;
};

// ab_then is the map "p, then q": h ↦ q.a·(p.a·h + p.b) + q.b.
__device__ __forceinline__ AB ab_then(AB p, AB q) {
	AB r;
	r.a = p.a * q.a;
	r.b = q.a * p.b + q.b;
	return r;
}

// warp_scan_x scans the lanes' maps by a butterfly: on return pre is the
// composition of the maps of the lanes that come before this one and tot
// that of all 32 (bitwise the same in every lane). The order is the lanes'
// (REV false: a forward recurrence) or the reverse (REV true: a backward
// one). Five exchanges of two floats; after the step of distance off, tot
// is the map of the aligned block of 2·off lanes holding this one and pre
// that of the block's lanes before this one.
template <bool REV>
__device__ __forceinline__ void warp_scan_x(AB v, int lane, AB& pre, AB& tot) {
	pre = AB{1.0f, 0.0f};
	tot = v;
#pragma unroll
	for (int off = 1; off < 32; off <<= 1) {
		AB p;
		p.a = __shfl_xor_sync(FULL_MASK, tot.a, off);
		p.b = __shfl_xor_sync(FULL_MASK, tot.b, off);
		const bool partner_first = REV ? (lane & off) == 0 : (lane & off) != 0;
		if (partner_first) {
			pre = ab_then(p, pre);
			tot = ab_then(p, tot);
		} else {
			tot = ab_then(tot, p);
		}
	}
}

// warp_scan_fr runs a forward and a reverse warp_scan_x at once over maps
// that share their a (the decays of the positions): the forward maps
// (a, bf) and the reverse ones (a, br). It returns both prefixes (pf, pr)
// and the reverse total (tr); the shared products need one exchange.
__device__ __forceinline__ void warp_scan_fr(float a, float bf, float br, int lane, AB& pf, AB& pr, AB& tr) {
	pf = AB{1.0f, 0.0f};
	pr = AB{1.0f, 0.0f};
	float ta = a, tf = bf, tb = br;
#pragma unroll
	for (int off = 1; off < 32; off <<= 1) {
		const float pa = __shfl_xor_sync(FULL_MASK, ta, off);
		const float pbf = __shfl_xor_sync(FULL_MASK, tf, off);
		const float pbr = __shfl_xor_sync(FULL_MASK, tb, off);
		if (lane & off) { // the partner's lanes come first forward, last backward
			pf.b = pf.a * pbf + pf.b;
			pf.a = pf.a * pa;
			tf = ta * pbf + tf;
			tb = pa * tb + pbr;
		} else {
			pr.b = pr.a * pbr + pr.b;
			pr.a = pr.a * pa;
			tf = pa * tf + pbf;
			tb = ta * pbr + tb;
		}
		ta = ta * pa;
	}
	tr = AB{ta, tb};
}

// warp_total_fwd returns the composition of the 32 lanes' maps in lane
// order, in every lane (warp_scan_x<false> without the prefix).
__device__ __forceinline__ AB warp_total_fwd(AB v, int lane) {
#pragma unroll
	for (int off = 1; off < 32; off <<= 1) {
		AB p;
		p.a = __shfl_xor_sync(FULL_MASK, v.a, off);
		p.b = __shfl_xor_sync(FULL_MASK, v.b, off);
		v = (lane & off) ? ab_then(p, v) : ab_then(v, p);
	}
	return v;
}

// load_items sets v[j] = p[t0 + j] for the ITEMS positions t0 + j (0 past
// L); with vec (p 16-byte aligned, L and t0 multiples of 4) a full group is
// read with 16-byte loads.
template <int ITEMS, typename T>
__device__ __forceinline__ void load_items(float (&v)[ITEMS], const T* p, int t0, int L, bool vec) {
	if (vec && t0 + ITEMS <= L) {
#pragma unroll
		for (int j = 0; j < ITEMS; j += 4) {
			const float4 q = ld4(p + t0 + j);
			v[j] = q.x;
			v[j + 1] = q.y;
			v[j + 2] = q.z;
			v[j + 3] = q.w;
		}
	} else {
#pragma unroll
		for (int j = 0; j < ITEMS; ++j) v[j] = t0 + j < L ? ldf(p, t0 + j) : 0.0f;
	}
}

// store_items sets p[t0 + j] = v[j] for the positions t0 + j < L.
template <int ITEMS, typename T>
__device__ __forceinline__ void store_items(T* p, const float (&v)[ITEMS], int t0, int L, bool vec) {
	if (vec && t0 + ITEMS <= L) {
#pragma unroll
		for (int j = 0; j < ITEMS; j += 4) st4(p + t0 + j, make_float4(v[j], v[j + 1], v[j + 2], v[j + 3]));
	} else {
#pragma unroll
		for (int j = 0; j < ITEMS; ++j)
			if (t0 + j < L) stf(p, t0 + j, v[j]);
	}
}

// load_delta loads the time steps of the thread's positions:
// dt[j] = δ = softplus(delta + bias) (or delta + bias), 0 past L.
template <int ITEMS, typename T>
__device__ __forceinline__ void load_delta(float (&dt)[ITEMS], const T* delta_row, float bias, bool softplus,
                                           int t0, int L, bool vec) {
	load_items<ITEMS>(dt, delta_row, t0, L, vec);
#pragma unroll
	for (int j = 0; j < ITEMS; ++j) {
		const float x = dt[j] + bias;
		dt[j] = t0 + j < L ? (softplus ? softplus_s(x) : x) : 0.0f;
	}
}

// imin is the smaller of two ints.
__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }

// cp_async16 copies 16 bytes from global src to shared dst without going
// through registers (cp.async, sm_80 and later), zero-filling what is past
// the src_bytes first bytes; cp_async_commit closes the group of copies
// issued so far and cp_async_wait_all waits for every group of the thread.
// Elsewhere (and in the CPU emulation) the copy is an ordinary one.
__device__ __forceinline__ void cp_async16(float4* dst, const float* src, int src_bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800 && !defined(MK_EMULATION)
	unsigned long long sa;
	asm("cvta.to.shared.u64 %0, %1;" : "=l"(sa) : "l"(dst));
	asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"((unsigned)sa), "l"(src), "r"(src_bytes)
	             : "memory");
#else
	*dst = src_bytes ? *reinterpret_cast<const float4*>(src) : float4{0.0f, 0.0f, 0.0f, 0.0f};
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800 && !defined(MK_EMULATION)
	asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}
__device__ __forceinline__ void cp_async_wait_all() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800 && !defined(MK_EMULATION)
	asm volatile("cp.async.wait_group 0;" ::: "memory");
#endif
}

// cp_async8 is cp_async16 for 8 bytes (cp.async.ca: through L1).
__device__ __forceinline__ void cp_async8(u32x2* dst, const bf16x* src, int src_bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800 && !defined(MK_EMULATION)
	unsigned long long sa;
	asm("cvta.to.shared.u64 %0, %1;" : "=l"(sa) : "l"(dst));
	asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;" ::"r"((unsigned)sa), "l"(src), "r"(src_bytes)
	             : "memory");
#else
	*dst = src_bytes ? *reinterpret_cast<const u32x2*>(src) : u32x2{0u, 0u};
#endif
}

// A staged row (starting at a multiple of F float4) holds, at group index k,
// four positions: a float4 for float rows, or a u32x2 (four bfloat16, widened
// when read) at element k of the row viewed as u32x2 for bf16 rows, so that
// bf16 staging moves half the bytes, still by cp.async (and uses the first
// half of the row's space). stage4 copies the group of four positions
// t .. t+3 of a global row (all in or all past L; 16-byte aligned for float,
// 8 for bf16x) to group k of staged row S.
__device__ __forceinline__ void stage4(float4* S, int k, const float* src, int t, int L) {
	cp_async16(S + k, t < L ? src + t : src, t < L ? 16 : 0);
}
__device__ __forceinline__ void stage4(float4* S, int k, const bf16x* src, int t, int L) {
	cp_async8(reinterpret_cast<u32x2*>(S) + k, t < L ? src + t : src, t < L ? 8 : 0);
}

// group4 reads group k of a staging buffer as four floats.
template <typename T>
__device__ __forceinline__ float4 group4(const float4* S, int k);
template <>
__device__ __forceinline__ float4 group4<float>(const float4* S, int k) {
	return S[k];
}
template <>
__device__ __forceinline__ float4 group4<bf16x>(const float4* S, int k) {
	return widen4(reinterpret_cast<const u32x2*>(S)[k]);
}

// put4 writes four floats to group k of a staging buffer (the unaligned
// path of stage_rows).
__device__ __forceinline__ void put4(float4* S, int k, float4 v, const float*) { S[k] = v; }
__device__ __forceinline__ void put4(float4* S, int k, float4 v, const bf16x*) {
	reinterpret_cast<u32x2*>(S)[k] = pack4(v);
}

// stage_rows copies rows n0 .. n0+nb−1 of M (N, L), positions c0 .. c0+32·I−1
// (0 past L), into S: rows of 8·I float4, lane l's k-th group of four
// positions (positions c0 + l·I + 4k ..) at group index k·32 + l (stage4), so
// that the lanes' reads of a row (lane_items) are free of bank conflicts.
// The global reads are coalesced; with vec they are asynchronous (cp.async,
// 16 bytes a group for float, 8 for bf16: the caller commits them and waits
// before its block barrier); else element by element.
template <int I, int NT, typename T>
__device__ __forceinline__ void stage_rows(float4* S, const T* M, int n0, int nb, int c0, int L, bool vec) {
	constexpr int F = 8 * I, Q = I / 4;
	for (int q = threadIdx.x; q < nb * F; q += NT) {
		const int r = q / F, f = q % F;
		const T* src = M + (i64)(n0 + r) * L;
		const int t = c0 + 4 * f;
		float4* row = S + r * F; // rows start at multiples of F float4 whatever T
		const int k = (f % Q) * 32 + f / Q;
		if (vec) {
			// L is a multiple of 4: a group is all in or all out.
			stage4(row, k, src, t, L);
		} else {
			float4 v;
			v.x = t < L ? ldf(src, t) : 0.0f;
			v.y = t + 1 < L ? ldf(src, t + 1) : 0.0f;
			v.z = t + 2 < L ? ldf(src, t + 2) : 0.0f;
			v.w = t + 3 < L ? ldf(src, t + 3) : 0.0f;
			put4(row, k, v, src); // bf16 values stay exact: they were bf16
		}
	}
}

// lane_items reads lane's I positions of a staged row.
template <int I, typename T>
__device__ __forceinline__ void lane_items(float (&v)[I], const float4* row, int lane) {
#pragma unroll
	for (int k = 0; k < I / 4; ++k) {
		const float4 q = group4<T>(row, k * 32 + lane);
		v[4 * k] = q.x;
		v[4 * k + 1] = q.y;
		v[4 * k + 2] = q.z;
		v[4 * k + 3] = q.w;
	}
}

// xs_slot is where group f of four positions (positions 4f .. 4f+3 of a
// chunk) lives in a row of scan_bwd's dB, dC sums: the groups of each 8
// rotated by f/8, so that the lanes' 16-byte writes (lane l its groups
// l·I/4 + k) and the block's reads (thread q group q) are both free of bank
// conflicts for I = 8 and 16.
__device__ __forceinline__ int xs_slot(int f) { return (f & ~7) | ((f + (f >> 3)) & 7); }

// red_add4 adds v to p[0..3] (only p[0..n−1] when n < 4) with atomic adds:
// with vec (p 16-byte aligned, n = 4) one vector reduction on sm_90
// (red.global.v4.f32.add: one L2 transaction instead of four).
__device__ __forceinline__ void red_add4(float* p, float4 v, int n, bool vec) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && !defined(MK_EMULATION) && !defined(MK_NO_RED_V4)
	if (vec) {
		asm volatile("red.global.v4.f32.add [%0], {%1, %2, %3, %4};" ::"l"(p), "f"(v.x), "f"(v.y), "f"(v.z),
		             "f"(v.w)
		             : "memory");
		return;
	}
#endif
	(void)vec;
	atomicAdd(p, v.x);
	if (n > 1) atomicAdd(p + 1, v.y);
	if (n > 2) atomicAdd(p + 2, v.z);
	if (n > 3) atomicAdd(p + 3, v.w);
}

// The staging pipeline (scan_fwd, and both phases of scan_bwd): the walk is
// a sequence of batches i = (chunk, rows n0 .. n0+NSB−1), each staged into
// buffer i&1 of the block's two; per batch:
//   wait for my copies of batch i; __syncthreads (every copy of batch i is
//   visible, every warp is done reading buffer (i+1)&1);
//   stage batch i+1 into buffer (i+1)&1 (asynchronously: it lands while
//   batch i is computed); compute batch i.
// One block barrier per batch of NSB states, and the latency of the global
// reads hidden behind a batch's work.

// scan_fwd: the forward scan of the W·G channels of a block (see above):
//   out[b,d,t] = (Σ_n C[b,n,t]·h_t[n] + D[d]·u[b,d,t])·SiLU(z[b,d,t])   (no gate when z is null)
//   hlast[b,d,n] = h_{L−1}[n]                                            (when hlast is not null)
// u, delta, z, out (B, D, L); A (D, N); Bm, Cm (B, N, L); Dp, dbias (D);
// h0, hlast (B, D, N); optional pointers may be null. The carries: gcar
// (B, D, N) when not null, else W·G·N floats of dynamic shared memory.
// Static shared memory: 2 buffers of NSB rows of B and of C (16·NSB·32·I bytes).
template <typename T, int W, int G, int I, int NSB>
__device__ __forceinline__ void scan_fwd(const T* __restrict__ u, const T* __restrict__ delta,
                                         const float* __restrict__ A, const T* __restrict__ Bm,
                                         const T* __restrict__ Cm, const float* __restrict__ Dp,
                                         const T* __restrict__ z, const float* __restrict__ dbias,
                                         const float* __restrict__ h0, T* __restrict__ out,
                                         float* __restrict__ hlast, float* gcar, int D, int L, int N, int softplus,
                                         int vec) {
	constexpr int NT = 32 * W, CH = 32 * I, F = 8 * I, SR = 2 * NSB * F; // SR: float4 per buffer
	static_assert(I % 4 == 0 && 32 % I == 0, "I must be 4, 8, 16 or 32");
	MK_SHARED float4 stg[2 * SR]; // two buffers of NSB rows of B, then NSB rows of C

	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const int b = blockIdx.y;
	const int dw = (blockIdx.x * W + warp) * G; // the warp's first channel
	const i64 chw = (i64)b * D + dw;            // its index in (B, D)
	float* car = gcar ? gcar + chw * N : reinterpret_cast<float*>(mk_dyn_smem) + warp * G * N; // (G, N)
	const float* Ad = A + (i64)dw * N; // A[d, ·] of the warp's channels, row after row
	const T* Bb = Bm + (i64)b * N * L;
	const T* Cb = Cm + (i64)b * N * L;
	const bool vc = vec != 0, sp = softplus != 0;
	bool ok[G];
	float Dd[G], bias[G];
#pragma unroll
	for (int g = 0; g < G; ++g) {
		ok[g] = dw + g < D;
		Dd[g] = ok[g] && Dp ? Dp[dw + g] : 0.0f;
		bias[g] = ok[g] && dbias ? dbias[dw + g] : 0.0f;
	}
	const int nvalid = imin(G, D - dw); // channels of this warp below D (may be ≤ 0)

	for (int q = lane; q < nvalid * N; q += 32) car[q] = h0 ? h0[chw * N + q] : 0.0f;
	__syncwarp();

	const int chunks = (L + CH - 1) / CH, nbat = (N + NSB - 1) / NSB, total = chunks * nbat;
	stage_rows<I, NT>(stg, Bb, 0, imin(NSB, N), 0, L, vc);
	stage_rows<I, NT>(stg + NSB * F, Cb, 0, imin(NSB, N), 0, L, vc);
	cp_async_commit();
	float dt[G][I], dtu[G][I], y[G][I];
	for (int i = 0; i < total; ++i) {
		const int c = i / nbat, n0 = (i - c * nbat) * NSB, nb = imin(NSB, N - n0);
		const int c0 = c * CH, t0 = c0 + lane * I; // this lane's first position
		if (n0 == 0) {
#pragma unroll
			for (int g = 0; g < G; ++g) {
				if (ok[g]) {
					const i64 row = (chw + g) * L;
					float uu[I];
					load_delta<I>(dt[g], delta + row, bias[g], sp, t0, L, vc);
					load_items<I>(uu, u + row, t0, L, vc);
#pragma unroll
					for (int j = 0; j < I; ++j) dtu[g][j] = dt[g][j] * uu[j];
				} else {
#pragma unroll
					for (int j = 0; j < I; ++j) dt[g][j] = dtu[g][j] = 0.0f;
				}
#pragma unroll
				for (int j = 0; j < I; ++j) y[g][j] = 0.0f;
			}
		}
		cp_async_wait_all();
		__syncthreads();
		if (i + 1 < total) {
			const int c1 = (i + 1) / nbat, m0 = (i + 1 - c1 * nbat) * NSB, mb = imin(NSB, N - m0);
			float4* S = stg + ((i + 1) & 1) * SR;
			stage_rows<I, NT>(S, Bb, m0, mb, c1 * CH, L, vc);
			stage_rows<I, NT>(S + NSB * F, Cb, m0, mb, c1 * CH, L, vc);
			cp_async_commit();
		}
		const float4* S = stg + (i & 1) * SR;
		for (int s = 0; s < nb; ++s) {
			const int n = n0 + s;
			float Bv[I], Cv[I], a[G][I];
			lane_items<I, T>(Bv, S + s * F, lane);
			lane_items<I, T>(Cv, S + (NSB + s) * F, lane);
			AB pre[G], tot[G];
#pragma unroll
			for (int g = 0; g < G; ++g) {
				const float An2 = ok[g] ? Ad[g * N + n] * LOG2E_F : 0.0f;
				AB agg = {1.0f, 0.0f};
#pragma unroll
				for (int j = 0; j < I; ++j) {
					a[g][j] = ex2_f(dt[g][j] * An2);
					agg = ab_then(agg, AB{a[g][j], dtu[g][j] * Bv[j]});
				}
				warp_scan_x<false>(agg, lane, pre[g], tot[g]);
			}
			float hin[G];
#pragma unroll
			for (int g = 0; g < G; ++g) hin[g] = ok[g] ? car[g * N + n] : 0.0f;
			__syncwarp(); // every lane has read the carries before lane 0 advances them
#pragma unroll
			for (int g = 0; g < G; ++g) {
				if (lane == 0 && ok[g]) car[g * N + n] = tot[g].a * hin[g] + tot[g].b;
				float h = pre[g].a * hin[g] + pre[g].b; // the state before this lane's first position
#pragma unroll
				for (int j = 0; j < I; ++j) {
					h = a[g][j] * h + dtu[g][j] * Bv[j];
					y[g][j] += Cv[j] * h;
				}
			}
		}
		if (n0 + NSB >= N) { // the chunk's last batch: its outputs
#pragma unroll
			for (int g = 0; g < G; ++g) {
				if (!ok[g]) continue;
				const i64 row = (chw + g) * L;
				float uu[I];
				load_items<I>(uu, u + row, t0, L, vc);
				if (z) {
					float zz[I];
					load_items<I>(zz, z + row, t0, L, vc);
#pragma unroll
					for (int j = 0; j < I; ++j) y[g][j] = (y[g][j] + Dd[g] * uu[j]) * silu_s(zz[j]);
				} else {
#pragma unroll
					for (int j = 0; j < I; ++j) y[g][j] += Dd[g] * uu[j];
				}
				store_items<I>(out + row, y[g], t0, L, vc);
			}
		}
	}
	__syncwarp();
	if (hlast)
		for (int q = lane; q < nvalid * N; q += 32) hlast[chw * N + q] = car[q];
}

// scan_bwd: the gradients of Σ out·dout + Σ hlast·dhlast for the W·G
// channels of a block, with the formulas of core/ref's Scan.Backward. With
// g_t = dL/dh_t and r_t = a_t·g_t = dL/dh_{t−1}:
//   dy_t = dout_t·SiLU(z_t)        (dout_t without z)
//   g_t  = dy_t·C_t + r_{t+1},     r_L = dhlast (or 0),   dh0 = r_0
//   dz_t      = dout_t·y_t·SiLU'(z_t),  y_t = Σ_n C_t·h_t + D·u_t
//   du_t      = δ_t·S1_t + dy_t·D,             S1_t = Σ_n g_t·B_t
//   ddelta_t  = (u_t·S1_t + S2_t)·dδ/d delta,   S2_t = Σ_n A·a_t·g_t·h_{t−1}
//   dA[d,n]  += Σ_t g_t·δ_t·a_t·h_{t−1}         dD[d] += Σ_t dy_t·u_t
//   ddbias[d]+= Σ_t ddelta_t
//   dB[b,n,t]+= g_t·δ_t·u_t,   dC[b,n,t] += dy_t·h_t   (summed over d; the caller zeroes dB, dC)
// Phase 1 runs the forward over the chunks, storing the state before each
// chunk in ckpt (B, D, chunks, N): the lanes' maps are composed and only the
// warp's total kept, unless dz is wanted and YP2 is false, in which case it
// is the full forward scan, giving y and dz (this keeps y out of phase 2's
// registers). Phase 2 walks the chunks backwards; per state it recomputes
// the chunk's h_t from the checkpoint (a forward warp scan) and r from the
// carry of the following chunk (a reverse warp scan of the maps
// r ↦ a_t·r + a_t·dy_t·C_t), then walks the lane's positions forward (h, dC,
// y with YP2) and backward (g and the rest). Each lane sums dB and dC over
// its G channels; the W warps' sums meet in shared memory (one block
// barrier per state, double-buffered), and the block adds each (n, t) to dB
// and dC with one atomicAdd: 1/(W·G) of the atomics of one per channel.
// Memory: O(B·D·L) plus the checkpoints, never B·D·L·N. The carries, per
// channel h (phase 1; then the chunk's checkpoint), r and the dA sums
// (3·N floats): gcar (B, D, 3, N) when not null, else 3·W·G·N floats of
// dynamic shared memory. Static shared memory: 16·NSB·32·I bytes of staging
// and 16·W·32·I of dB, dC sums.
template <typename T, int W, int G, int I, int NSB, bool YP2>
__device__ __forceinline__ void scan_bwd(const T* __restrict__ u, const T* __restrict__ delta,
                                         const float* __restrict__ A, const T* __restrict__ Bm,
                                         const T* __restrict__ Cm, const float* __restrict__ Dp,
                                         const T* __restrict__ z, const float* __restrict__ dbias,
                                         const float* __restrict__ h0, const T* __restrict__ dout,
                                         const float* __restrict__ dhlast, T* __restrict__ du,
                                         T* __restrict__ ddelta, float* __restrict__ dA, float* __restrict__ dB,
                                         float* __restrict__ dC, float* __restrict__ dD, T* __restrict__ dz,
                                         float* __restrict__ ddbias, float* __restrict__ dh0, float* __restrict__ ckpt,
                                         float* gcar, int D, int L, int N, int softplus, int vec) {
	constexpr int NT = 32 * W, CH = 32 * I, F = 8 * I, SR = 2 * NSB * F;
	static_assert(I % 4 == 0 && 32 % I == 0, "I must be 4, 8, 16 or 32");
	MK_SHARED float4 stg[2 * SR];      // two buffers of 2·NSB staged rows
	MK_SHARED float4 xsum[2][2][W][F]; // [parity][dB, dC][warp][group of 4 positions, at xs_slot]

	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const int b = blockIdx.y;
	const int dw = (blockIdx.x * W + warp) * G;
	const i64 chw = (i64)b * D + dw;
	// Channel g's carries: car + g·3N: h (or the checkpoint), then r, then the dA sums.
	float* car = gcar ? gcar + chw * 3 * N : reinterpret_cast<float*>(mk_dyn_smem) + warp * G * 3 * N;
	const float* Ad = A + (i64)dw * N; // A[d, ·] of the warp's channels, row after row
	const T* Bb = Bm + (i64)b * N * L;
	const T* Cb = Cm + (i64)b * N * L;
	const bool vc = vec != 0, sp = softplus != 0;
	const bool needY = dz != nullptr && z != nullptr;
	const bool wantBC = dB != nullptr || dC != nullptr;
	const i64 bNL = (i64)b * N * L;
	bool ok[G];
	float Dd[G], bias[G];
#pragma unroll
	for (int g = 0; g < G; ++g) {
		ok[g] = dw + g < D;
		Dd[g] = ok[g] && Dp ? Dp[dw + g] : 0.0f;
		bias[g] = ok[g] && dbias ? dbias[dw + g] : 0.0f;
	}
	const int nvalid = imin(G, D - dw);
	const int chunks = (L + CH - 1) / CH;

	for (int q = lane; q < nvalid * N; q += 32) {
		const int g = q / N, n = q - g * N;
		car[g * 3 * N + n] = h0 ? h0[chw * N + q] : 0.0f;
		car[g * 3 * N + N + n] = dhlast ? dhlast[chw * N + q] : 0.0f;
		car[g * 3 * N + 2 * N + n] = 0.0f;
	}
	__syncwarp();

	// Phase 1: forward, checkpoints (and, when p1y, y and dz). A batch holds
	// NSB rows of B and NSB of C (p1y), or 2·NSB rows of B.
	{
		const bool p1y = needY && !YP2;
		const int rows = p1y ? NSB : 2 * NSB;
		const int nbat = (N + rows - 1) / rows;
		// The last chunk's end state is not needed: without y it is not walked.
		const int total = (p1y ? chunks : chunks - 1) * nbat;
		if (total > 0) {
			stage_rows<I, NT>(stg, Bb, 0, imin(rows, N), 0, L, vc);
			if (p1y) stage_rows<I, NT>(stg + NSB * F, Cb, 0, imin(rows, N), 0, L, vc);
			cp_async_commit();
		}
		float dt[G][I], dtu[G][I], y[G][I];
		for (int i = 0; i < total; ++i) {
			const int c = i / nbat, n0 = (i - c * nbat) * rows, nb = imin(rows, N - n0);
			const int c0 = c * CH, t0 = c0 + lane * I;
			if (n0 == 0) {
				__syncwarp(); // lane 0's carries are visible to the warp
				for (int q = lane; q < nvalid * N; q += 32) { // the checkpoint: h before chunk c
					const int g = q / N, n = q - g * N;
					ckpt[((chw + g) * chunks + c) * N + n] = car[g * 3 * N + n];
				}
#pragma unroll
				for (int g = 0; g < G; ++g) {
					if (ok[g]) {
						const i64 row = (chw + g) * L;
						float uu[I];
						load_delta<I>(dt[g], delta + row, bias[g], sp, t0, L, vc);
						load_items<I>(uu, u + row, t0, L, vc);
#pragma unroll
						for (int j = 0; j < I; ++j) dtu[g][j] = dt[g][j] * uu[j];
					} else {
#pragma unroll
						for (int j = 0; j < I; ++j) dt[g][j] = dtu[g][j] = 0.0f;
					}
#pragma unroll
					for (int j = 0; j < I; ++j) y[g][j] = 0.0f;
				}
			}
			cp_async_wait_all();
			__syncthreads();
			if (i + 1 < total) {
				const int c1 = (i + 1) / nbat, m0 = (i + 1 - c1 * nbat) * rows, mb = imin(rows, N - m0);
				float4* S = stg + ((i + 1) & 1) * SR;
				stage_rows<I, NT>(S, Bb, m0, mb, c1 * CH, L, vc);
				if (p1y) stage_rows<I, NT>(S + NSB * F, Cb, m0, mb, c1 * CH, L, vc);
				cp_async_commit();
			}
			const float4* S = stg + (i & 1) * SR;
			for (int s = 0; s < nb; ++s) {
				const int n = n0 + s;
				float Bv[I];
				lane_items<I, T>(Bv, S + s * F, lane);
				if (!p1y) {
					AB tot[G];
#pragma unroll
					for (int g = 0; g < G; ++g) {
						const float An2 = ok[g] ? Ad[g * N + n] * LOG2E_F : 0.0f;
						AB agg = {1.0f, 0.0f};
#pragma unroll
						for (int j = 0; j < I; ++j) agg = ab_then(agg, AB{ex2_f(dt[g][j] * An2), dtu[g][j] * Bv[j]});
						tot[g] = warp_total_fwd(agg, lane);
					}
					float hin[G];
#pragma unroll
					for (int g = 0; g < G; ++g) hin[g] = ok[g] ? car[g * 3 * N + n] : 0.0f;
					__syncwarp();
					if (lane == 0) {
#pragma unroll
						for (int g = 0; g < G; ++g)
							if (ok[g]) car[g * 3 * N + n] = tot[g].a * hin[g] + tot[g].b;
					}
				} else {
					float Cv[I], a[G][I];
					lane_items<I, T>(Cv, S + (NSB + s) * F, lane);
					AB pre[G], tot[G];
#pragma unroll
					for (int g = 0; g < G; ++g) {
						const float An2 = ok[g] ? Ad[g * N + n] * LOG2E_F : 0.0f;
						AB agg = {1.0f, 0.0f};
#pragma unroll
						for (int j = 0; j < I; ++j) {
							a[g][j] = ex2_f(dt[g][j] * An2);
							agg = ab_then(agg, AB{a[g][j], dtu[g][j] * Bv[j]});
						}
						warp_scan_x<false>(agg, lane, pre[g], tot[g]);
					}
					float hin[G];
#pragma unroll
					for (int g = 0; g < G; ++g) hin[g] = ok[g] ? car[g * 3 * N + n] : 0.0f;
					__syncwarp();
#pragma unroll
					for (int g = 0; g < G; ++g) {
						if (lane == 0 && ok[g]) car[g * 3 * N + n] = tot[g].a * hin[g] + tot[g].b;
						float h = pre[g].a * hin[g] + pre[g].b;
#pragma unroll
						for (int j = 0; j < I; ++j) {
							h = a[g][j] * h + dtu[g][j] * Bv[j];
							y[g][j] += Cv[j] * h;
						}
					}
				}
			}
			if (p1y && n0 + rows >= N) { // the chunk's dz
#pragma unroll
				for (int g = 0; g < G; ++g) {
					if (!ok[g]) continue;
					const i64 row = (chw + g) * L;
					float uu[I], zz[I], go[I];
					load_items<I>(uu, u + row, t0, L, vc);
					load_items<I>(zz, z + row, t0, L, vc);
					load_items<I>(go, dout + row, t0, L, vc);
#pragma unroll
					for (int j = 0; j < I; ++j) y[g][j] = go[j] * (y[g][j] + Dd[g] * uu[j]) * silu_grad_s(zz[j]);
					store_items<I>(dz + row, y[g], t0, L, vc);
				}
			}
		}
		if (!p1y) { // the last chunk's checkpoint
			__syncwarp();
			for (int q = lane; q < nvalid * N; q += 32) {
				const int g = q / N, n = q - g * N;
				ckpt[((chw + g) * chunks + chunks - 1) * N + n] = car[g * 3 * N + n];
			}
		}
	}

	// Phase 2: backward over the chunks; a batch holds NSB rows of B and of C.
	__syncthreads(); // every warp is done with phase 1's buffers
	float dDp[G], dbp[G]; // this lane's shares of dD and ddelta_bias
#pragma unroll
	for (int g = 0; g < G; ++g) dDp[g] = dbp[g] = 0.0f;
	{
		const int nbat = (N + NSB - 1) / NSB, total = chunks * nbat;
		// batch i: chunk chunks−1 − i/nbat, rows (i % nbat)·NSB ..
		stage_rows<I, NT>(stg, Bb, 0, imin(NSB, N), (chunks - 1) * CH, L, vc);
		stage_rows<I, NT>(stg + NSB * F, Cb, 0, imin(NSB, N), (chunks - 1) * CH, L, vc);
		cp_async_commit();
		int par = 0;
		float dt[G][I], dtu[G][I], dy[G][I], S1[G][I], S2[G][I], y[G][YP2 ? I : 1];
		for (int i = 0; i < total; ++i) {
			const int ci = i / nbat, c = chunks - 1 - ci, n0 = (i - ci * nbat) * NSB, nb = imin(NSB, N - n0);
			const int c0 = c * CH, t0 = c0 + lane * I;
			if (n0 == 0) {
				__syncwarp(); // every lane is done with the previous chunk's checkpoints
				for (int q = lane; q < nvalid * N; q += 32) {
					const int g = q / N, n = q - g * N;
					car[g * 3 * N + n] = ckpt[((chw + g) * chunks + c) * N + n];
				}
#pragma unroll
				for (int g = 0; g < G; ++g) {
					if (ok[g]) {
						const i64 row = (chw + g) * L;
						float uu[I];
						load_delta<I>(dt[g], delta + row, bias[g], sp, t0, L, vc);
						load_items<I>(uu, u + row, t0, L, vc);
						load_items<I>(dy[g], dout + row, t0, L, vc);
						if (z) {
							float zz[I];
							load_items<I>(zz, z + row, t0, L, vc);
#pragma unroll
							for (int j = 0; j < I; ++j) dy[g][j] *= silu_s(zz[j]);
						}
#pragma unroll
						for (int j = 0; j < I; ++j) dtu[g][j] = dt[g][j] * uu[j];
					} else {
#pragma unroll
						for (int j = 0; j < I; ++j) dt[g][j] = dtu[g][j] = dy[g][j] = 0.0f;
					}
#pragma unroll
					for (int j = 0; j < I; ++j) {
						S1[g][j] = S2[g][j] = 0.0f;
						if (YP2) y[g][YP2 ? j : 0] = 0.0f;
					}
				}
				__syncwarp(); // the checkpoints are visible to the warp
			}
			cp_async_wait_all();
			__syncthreads();
			if (i + 1 < total) {
				const int ci1 = (i + 1) / nbat, m0 = (i + 1 - ci1 * nbat) * NSB, mb = imin(NSB, N - m0);
				const int cs = (chunks - 1 - ci1) * CH;
				float4* S = stg + ((i + 1) & 1) * SR;
				stage_rows<I, NT>(S, Bb, m0, mb, cs, L, vc);
				stage_rows<I, NT>(S + NSB * F, Cb, m0, mb, cs, L, vc);
				cp_async_commit();
			}
			const float4* S = stg + (i & 1) * SR;
			for (int s = 0; s < nb; ++s) {
				const int n = n0 + s;
				float Bv[I], Cv[I], a[G][I], An[G];
				lane_items<I, T>(Bv, S + s * F, lane);
				lane_items<I, T>(Cv, S + (NSB + s) * F, lane);
				AB pf[G], pr[G], tr[G];
#pragma unroll
				for (int g = 0; g < G; ++g) {
					An[g] = ok[g] ? Ad[g * N + n] : 0.0f;
					const float An2 = An[g] * LOG2E_F;
					// The lane's maps: forward h ↦ a·h + δ·u·B, composed first to
					// last; reverse r ↦ a·(r + dy·C), composed last to first.
					// Both share the product of the decays.
					float pa = 1.0f, bf = 0.0f, br = 0.0f;
#pragma unroll
					for (int j = 0; j < I; ++j) {
						a[g][j] = ex2_f(dt[g][j] * An2);
						pa *= a[g][j];
						bf = a[g][j] * bf + dtu[g][j] * Bv[j];
					}
#pragma unroll
					for (int j = I - 1; j >= 0; --j) br = a[g][j] * (dy[g][j] * Cv[j] + br);
					warp_scan_fr(pa, bf, br, lane, pf[g], pr[g], tr[g]);
				}
				float hin[G], rin[G];
#pragma unroll
				for (int g = 0; g < G; ++g) {
					hin[g] = ok[g] ? car[g * 3 * N + n] : 0.0f;
					rin[g] = ok[g] ? car[g * 3 * N + N + n] : 0.0f;
				}
				__syncwarp(); // every lane has read the carries before lane 0 moves r on
				if (lane == 0) {
#pragma unroll
					for (int g = 0; g < G; ++g)
						if (ok[g]) car[g * 3 * N + N + n] = tr[g].a * rin[g] + tr[g].b; // r at the chunk's start
				}
				// Forward through the lane's positions: h_t (kept as h_{t−1} for
				// the backward pass), dC summed over the G channels, y (YP2).
				float4* xb = xsum[par][0][warp];
				float4* xc = xsum[par][1][warp];
				float hprev[G][I], h[G], x4[4];
#pragma unroll
				for (int g = 0; g < G; ++g) h[g] = pf[g].a * hin[g] + pf[g].b;
#pragma unroll
				for (int j = 0; j < I; ++j) {
					float dcs = 0.0f;
#pragma unroll
					for (int g = 0; g < G; ++g) {
						hprev[g][j] = h[g];
						h[g] = a[g][j] * h[g] + dtu[g][j] * Bv[j];
						dcs += dy[g][j] * h[g];
						if (YP2 && needY) y[g][YP2 ? j : 0] += Cv[j] * h[g];
					}
					x4[j & 3] = dcs;
					if ((j & 3) == 3) xc[xs_slot(lane * (I / 4) + j / 4)] = float4{x4[0], x4[1], x4[2], x4[3]};
				}
				// Backward through them, from r after the lane's last position.
				float rr[G], dAs[G];
#pragma unroll
				for (int g = 0; g < G; ++g) {
					rr[g] = pr[g].a * rin[g] + pr[g].b;
					dAs[g] = 0.0f;
				}
#pragma unroll
				for (int j = I - 1; j >= 0; --j) {
					float dbs = 0.0f;
#pragma unroll
					for (int g = 0; g < G; ++g) {
						const float gg = dy[g][j] * Cv[j] + rr[g]; // g_t
						dbs += gg * dtu[g][j];
						S1[g][j] += gg * Bv[j];
						rr[g] = a[g][j] * gg; // r_t
						const float gah = rr[g] * hprev[g][j];
						S2[g][j] += An[g] * gah;
						dAs[g] += gah * dt[g][j];
					}
					x4[j & 3] = dbs;
					if ((j & 3) == 0) xb[xs_slot(lane * (I / 4) + j / 4)] = float4{x4[0], x4[1], x4[2], x4[3]};
				}
				if (dA) {
#pragma unroll
					for (int g = 0; g < G; ++g) {
						const float sA = warp_sum(dAs[g]);
						if (lane == 0 && ok[g]) car[g * 3 * N + 2 * N + n] += sA;
					}
				}
				if (wantBC) {
					// The warps' sums meet: thread tid adds groups of four
					// positions tid + k·NT of dB, then of dC, with one vector
					// atomicAdd each (coalesced).
					__syncthreads();
					const float4* xr = &xsum[par][0][0][0];
					const i64 off = bNL + (i64)n * L + c0; // (b, n, c0) in (B, N, L)
#pragma unroll
					for (int k = 0; k < (2 * F + NT - 1) / NT; ++k) {
						const int q = threadIdx.x + k * NT;
						if ((2 * F) % NT != 0 && q >= 2 * F) break;
						const int m = F % NT == 0 ? k * NT >= F : q >= F; // 0: dB, 1: dC
						const int f = q - m * F, p = 4 * f;
						float* dst = m ? dC : dB;
						if (dst && c0 + p < L) {
							const int x = xs_slot(f);
							float4 sum = xr[m * W * F + x];
#pragma unroll
							for (int w = 1; w < W; ++w) {
								const float4 v = xr[(m * W + w) * F + x];
								sum.x += v.x;
								sum.y += v.y;
								sum.z += v.z;
								sum.w += v.w;
							}
							red_add4(dst + off + p, sum, imin(4, L - c0 - p), vc);
						}
					}
					par ^= 1;
				}
			}
			if (n0 + NSB >= N) { // the chunk's last batch: its per-position outputs
#pragma unroll
				for (int g = 0; g < G; ++g) {
					if (!ok[g]) continue;
					const i64 row = (chw + g) * L;
					float uu[I], xd[I], o1[I], o2[I];
					load_items<I>(uu, u + row, t0, L, vc);
					load_items<I>(xd, delta + row, t0, L, vc);
#pragma unroll
					for (int j = 0; j < I; ++j) {
						const float dsp = sp ? softplus_grad_s(xd[j] + bias[g]) : 1.0f;
						o1[j] = dt[g][j] * S1[g][j] + dy[g][j] * Dd[g];
						o2[j] = (uu[j] * S1[g][j] + S2[g][j]) * dsp;
						if (t0 + j < L) {
							dDp[g] += dy[g][j] * uu[j];
							dbp[g] += o2[j];
						}
					}
					if (du) store_items<I>(du + row, o1, t0, L, vc);
					if (ddelta) store_items<I>(ddelta + row, o2, t0, L, vc);
					if (YP2 && needY) {
						float zz[I], go[I];
						load_items<I>(zz, z + row, t0, L, vc);
						load_items<I>(go, dout + row, t0, L, vc);
#pragma unroll
						for (int j = 0; j < I; ++j)
							o1[j] = go[j] * (y[g][YP2 ? j : 0] + Dd[g] * uu[j]) * silu_grad_s(zz[j]);
						store_items<I>(dz + row, o1, t0, L, vc);
					}
				}
			}
		}
	}
	__syncwarp();
	for (int q = lane; q < nvalid * N; q += 32) {
		const int g = q / N, n = q - g * N;
		if (dh0) dh0[chw * N + q] = car[g * 3 * N + N + n];
		if (dA) atomicAdd(dA + (i64)(dw + g) * N + n, car[g * 3 * N + 2 * N + n]);
	}
#pragma unroll
	for (int g = 0; g < G; ++g) {
		const float sD = warp_sum(dDp[g]), sb = warp_sum(dbp[g]);
		if (lane == 0 && ok[g]) {
			if (dD) atomicAdd(dD + dw + g, sD);
			if (ddbias) atomicAdd(ddbias + dw + g, sb);
		}
	}
}

// scan_fwd16: the forward scan of scan_fwd (same formulas, same
// arguments; gcar unused) for N = 16, with a lane per state: half a warp
// serves one channel (b, d), lane n of it state n, and the block (16
// channels of one batch row) walks the whole sequence 16 positions at a
// time. Per step:
//   1. the block's first 128 threads have staged the step's rows of B and C
//      (16 states × 16 positions each, read coalesced) in shared memory, rows
//      padded to 20 floats so that the lanes' 16-byte reads of their own
//      rows are free of bank conflicts; lane n has read u, delta and z at
//      position t0 + n, and writes δ and δ·u to its half's shared memory,
//      where every lane of the half reads all 16 (broadcast);
//   2. lane n advances its state over the 16 positions, h = exp(δ·A[d,n])·h
//      + δ·u·B[b,n,t], and writes C[b,n,t]·h to a 16 × 16 shared tile (row t,
//      column n; rows of 20 floats again);
//   3. lane j sums row j, y at position t0 + j = Σ_n C·h, adds D·u, applies
//      the gate and stores it;
// while the loads of the next step are in flight. No scan across lanes: each
// lane's recurrence is sequential, and the parallelism is B·D·16 lanes, so
// the host uses this kernel when that fills the device.
template <typename T, int W>
__device__ __forceinline__ void scan_fwd16(const T* __restrict__ u, const T* __restrict__ delta,
                                           const float* __restrict__ A, const T* __restrict__ Bm,
                                           const T* __restrict__ Cm, const float* __restrict__ Dp,
                                           const T* __restrict__ z, const float* __restrict__ dbias,
                                           const float* __restrict__ h0, T* __restrict__ out,
                                           float* __restrict__ hlast, int D, int L, int softplus, int vec) {
	static_assert(W >= 4, "staging needs 128 threads");
	constexpr int RS = 20, TS = 16 * RS + 16; // row stride; a half's tile (the halves' tiles 16 banks apart)
	MK_SHARED float4 tile[W * 2 * TS / 4];
	MK_SHARED float4 dts[W * 2 * 8];     // per half: δ (4 float4), then δ·u (4 float4)
	MK_SHARED float4 bc[2 * 2 * 16 * 5]; // two buffers of B's 16 rows, then C's, 5 float4 a row
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, half = lane >> 4, n = lane & 15;
	const int b = blockIdx.y;
	const int d = (blockIdx.x * W + warp) * 2 + half;
	const bool ok = d < D;
	const int dc = ok ? d : D - 1; // channels past D compute on the last one and write nothing
	const i64 row = ((i64)b * D + dc) * L;
	const float An2 = A[(i64)dc * 16 + n] * LOG2E_F;
	const float Dd = Dp ? Dp[dc] : 0.0f, bias = dbias ? dbias[dc] : 0.0f;
	float* red = reinterpret_cast<float*>(tile) + (warp * 2 + half) * TS;
	const float4* sd4 = dts + (warp * 2 + half) * 8;
	float* sdt = reinterpret_cast<float*>(dts + (warp * 2 + half) * 8);
	const bool sp = softplus != 0, vc = vec != 0, gate = z != nullptr;
	// Staging: thread q < 128 moves float4 f = q & 3 of row r = (q >> 2) & 15
	// of B (q < 64) or C.
	const int q = threadIdx.x, sr = (q >> 2) & 15, sf = q & 3, sw = (q >> 6) & 1;
	const T* srow = (sw ? Cm : Bm) + ((i64)b * 16 + sr) * L;
	auto stage_load = [&](int t0) {
		const int t = t0 + 4 * sf;
		if (vc && t + 4 <= L) return ld4(srow + t);
		return make_float4(t < L ? ldf(srow, t) : 0.0f, t + 1 < L ? ldf(srow, t + 1) : 0.0f,
		                   t + 2 < L ? ldf(srow, t + 2) : 0.0f, t + 3 < L ? ldf(srow, t + 3) : 0.0f);
	};
	auto lane_load = [&](int t0, float& uu, float& xd, float& zz) {
		const int t = t0 + n;
		uu = t < L ? ldf(u, row + t) : 0.0f;
		xd = t < L ? ldf(delta, row + t) : 0.0f;
		zz = gate && t < L ? ldf(z, row + t) : 0.0f;
	};
	float h = h0 ? h0[((i64)b * D + dc) * 16 + n] : 0.0f;
	if (q < 128) bc[sw * 80 + sr * 5 + sf] = stage_load(0);
	float uu, xd, zz;
	lane_load(0, uu, xd, zz);
	__syncthreads();
	for (int t0 = 0, buf = 0; t0 < L; t0 += 16, buf ^= 1) {
		// The next step's loads, in flight during this one.
		float4 snext = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
		if (q < 128 && t0 + 16 < L) snext = stage_load(t0 + 16);
		float un, xn, zn;
		lane_load(t0 + 16, un, xn, zn);
		// 1. δ and δ·u of the step, shared within the half.
		const int t = t0 + n;
		float dt = 0.0f;
		if (t < L) {
			const float x = xd + bias;
			dt = sp ? softplus_s(x) : x;
		}
		sdt[n] = dt;
		sdt[16 + n] = dt * uu;
		__syncwarp();
		// 2. The state over the 16 positions; C·h into the tile.
		const float4* Bs = bc + buf * 160 + n * 5;
		const float4* Cs = Bs + 80;
#pragma unroll
		for (int k = 0; k < 4; ++k) {
			const float4 qd = sd4[k], qu = sd4[4 + k], qb = Bs[k], qc = Cs[k];
			const float dv[4] = {qd.x, qd.y, qd.z, qd.w}, duv[4] = {qu.x, qu.y, qu.z, qu.w};
			const float bv[4] = {qb.x, qb.y, qb.z, qb.w}, cv[4] = {qc.x, qc.y, qc.z, qc.w};
#pragma unroll
			for (int m = 0; m < 4; ++m) {
				const float a = ex2_f(dv[m] * An2); // δ = 0 past L: a = 1, and δ·u = 0
				h = a * h + duv[m] * bv[m];
				red[(4 * k + m) * RS + n] = cv[m] * h;
			}
		}
		__syncwarp();
		// 3. y at position t0 + n.
		float y = 0.0f;
#pragma unroll
		for (int k = 0; k < 4; ++k) {
			const float4 r = *reinterpret_cast<const float4*>(red + n * RS + 4 * k);
			y += (r.x + r.y) + (r.z + r.w);
		}
		if (ok && t < L) {
			y += Dd * uu;
			if (gate) y *= silu_s(zz);
			stf(out, row + t, y);
		}
		// The next step's B and C into the other buffer; the barrier also
		// ends every lane's reads of the tile and of δ.
		if (q < 128) bc[(buf ^ 1) * 160 + sw * 80 + sr * 5 + sf] = snext;
		__syncthreads();
		uu = un, xd = xn, zz = zn;
	}
	if (ok && hlast) hlast[((i64)b * D + d) * 16 + n] = h;
}


// Raw4 is four consecutive values of a sequence tensor as loaded (a float4,
// or four bfloat16 in a u32x2) and Raw2 two: a load into registers for a
// later step keeps them so, and is widened (wide4, wide2) when the step
// comes, so that the widening does not wait for the load at once. ld_raw4
// reads positions t .. t+3 of p (0 past L; one load with vec), ld_raw2 t and
// t+1.
template <typename T>
struct Raw4;
template <>
struct Raw4<float> {
	float4 v;
};
template <>
struct Raw4<bf16x> {
	u32x2 v;
};
__device__ __forceinline__ float4 wide4(Raw4<float> r) { return r.v; }
__device__ __forceinline__ float4 wide4(Raw4<bf16x> r) { return widen4(r.v); }
template <bool F = false>
__device__ __forceinline__ Raw4<float> ld_raw4(const float* p, int t, int L, bool vec) {
	if (F || (vec && t + 4 <= L)) return Raw4<float>{ld4(p + t)};
	return Raw4<float>{make_float4(t < L ? p[t] : 0.0f, t + 1 < L ? p[t + 1] : 0.0f, t + 2 < L ? p[t + 2] : 0.0f,
	                               t + 3 < L ? p[t + 3] : 0.0f)};
}
template <bool F = false>
__device__ __forceinline__ Raw4<bf16x> ld_raw4(const bf16x* p, int t, int L, bool vec) {
	if (F || (vec && t + 4 <= L)) return Raw4<bf16x>{*reinterpret_cast<const u32x2*>(p + t)};
	unsigned e[4];
#pragma unroll
	for (int q = 0; q < 4; ++q) e[q] = t + q < L ? p[t + q].v : 0u;
	return Raw4<bf16x>{u32x2{e[0] | (e[1] << 16), e[2] | (e[3] << 16)}}; // as in memory: not rounded again
}
template <typename T>
struct Raw2;
template <>
struct Raw2<float> {
	float x, y;
};
template <>
struct Raw2<bf16x> {
	unsigned v;
};
__device__ __forceinline__ void wide2(Raw2<float> r, float (&v)[2]) { v[0] = r.x, v[1] = r.y; }
__device__ __forceinline__ void wide2(Raw2<bf16x> r, float (&v)[2]) {
	const float2 q = widen2(r.v);
	v[0] = q.x, v[1] = q.y;
}
template <bool F = false>
__device__ __forceinline__ Raw2<float> ld_raw2(const float* p, int t, int L, bool vec) {
	if (F || (vec && t + 2 <= L)) {
		const float2 q = *reinterpret_cast<const float2*>(p + t);
		return Raw2<float>{q.x, q.y};
	}
	return Raw2<float>{t < L ? p[t] : 0.0f, t + 1 < L ? p[t + 1] : 0.0f};
}
template <bool F = false>
__device__ __forceinline__ Raw2<bf16x> ld_raw2(const bf16x* p, int t, int L, bool vec) {
	if (F || (vec && t + 2 <= L)) return Raw2<bf16x>{*reinterpret_cast<const unsigned*>(p + t)};
	const unsigned a = t < L ? p[t].v : 0u, b = t + 1 < L ? p[t + 1].v : 0u;
	return Raw2<bf16x>{a | (b << 16)};
}

// st2 stores v[0], v[1] at p[t], p[t+1] (those below L; one store with vec,
// t even). ld_raw2<true> and st2<true> may assume vec and t + 2 ≤ L.
template <bool F = false>
__device__ __forceinline__ void st2(float* p, int t, int L, const float (&v)[2], bool vec) {
	if (F || (vec && t + 2 <= L)) {
		*reinterpret_cast<float2*>(p + t) = float2{v[0], v[1]};
		return;
	}
	if (t < L) p[t] = v[0];
	if (t + 1 < L) p[t + 1] = v[1];
}
template <bool F = false>
__device__ __forceinline__ void st2(bf16x* p, int t, int L, const float (&v)[2], bool vec) {
	if (F || (vec && t + 2 <= L)) {
		*reinterpret_cast<unsigned*>(p + t) = pack2(v[0], v[1]);
		return;
	}
	if (t < L) stf(p, t, v[0]);
	if (t + 1 < L) stf(p, t + 1, v[1]);
}

// stage_bc is the block's copy of the positions t0 .. t0+4K−1 of rows
// 0..15 of Bb (and of Cb with BC) into staged rows of RW float4: row rr (the
// rows of C follow those of B) at S + rr·RW, K groups of four positions
// (stage4, asynchronous: the caller commits), or element by element (0 past
// L) without vec. Thread q moves the groups q, q+NT, ... (all of one group
// index k = q % K).
template <int NT, int K, int RW, bool BC>
__device__ __forceinline__ void stage_bc(float4* S, const float* Bb, const float* Cb, int t0, int L, bool vec) {
	constexpr int G = (BC ? 32 : 16) * K;
	static_assert(G % NT == 0 && NT % K == 0, "whole groups per thread");
	const int k = threadIdx.x % K, r0 = threadIdx.x / K, t = t0 + 4 * k;
#pragma unroll
	for (int i = 0; i < G / NT; ++i) {
		const int rr = r0 + i * (NT / K);
		const float* src = rr < 16 ? Bb + (i64)rr * L : Cb + (i64)(rr - 16) * L;
		float4* row = S + rr * RW;
		if (vec) {
			stage4(row, k, src, t, L); // L is a multiple of 4: a group is all in or all out
		} else {
			row[k] = ld_raw4(src, t, L, false).v;
		}
	}
}

// Stager moves the rows of B (and C) of a step into float rows laid out as
// stage_bc's, in two halves around the work of the step before: fetch starts
// the reads, put completes them before the block barrier that publishes
// them. Float rows go by cp.async (put does nothing; the caller waits for
// its copies before the barrier); bfloat16 ones are read into registers and
// widened by put, once per block rather than once per lane that reads them.
template <typename T, int NT, int K, int RW, bool BC>
struct Stager;
template <int NT, int K, int RW, bool BC>
struct Stager<float, NT, K, RW, BC> {
	__device__ __forceinline__ void fetch(float4* S, const float* Bb, const float* Cb, int t0, int L, bool vec) {
		stage_bc<NT, K, RW, BC>(S, Bb, Cb, t0, L, vec);
		cp_async_commit();
	}
	__device__ __forceinline__ void put(float4*) {}
};
template <int NT, int K, int RW, bool BC>
struct Stager<bf16x, NT, K, RW, BC> {
	static constexpr int G = (BC ? 32 : 16) * K / NT;
	Raw4<bf16x> v[G]; // group k of row rr, as in memory
	__device__ __forceinline__ void fetch(float4*, const bf16x* Bb, const bf16x* Cb, int t0, int L, bool vec) {
		const int k = threadIdx.x % K, r0 = threadIdx.x / K;
#pragma unroll
		for (int i = 0; i < G; ++i) {
			const int rr = r0 + i * (NT / K);
			v[i] = ld_raw4(rr < 16 ? Bb + (i64)rr * L : Cb + (i64)(rr - 16) * L, t0 + 4 * k, L, vec);
		}
	}
	__device__ __forceinline__ void put(float4* S) {
		const int k = threadIdx.x % K, r0 = threadIdx.x / K;
#pragma unroll
		for (int i = 0; i < G; ++i) S[(r0 + i * (NT / K)) * RW + k] = wide4(v[i]);
	}
};

// PairLanes places a warp's channels and their P lanes each (P = 4 or 8)
// for scan_fwd4 and scan_bwd4. Lane bits, low to high: the channel's low
// bit, j (the lane's states j, j+P, …), the channel's other bits. So the
// two lanes of an adjacent pair serve the same states of two channels and
// read the same B and C: a 16-byte shared load that an adjacent pair reads
// at one address took half the wavefronts of one at two (Nsight Compute,
// PERF.md); with a channel's lanes adjacent, each such read took 4 and the
// forward was bound by them. tr = qd·P + j is the lane's row in the
// per-warp tiles, which stay in channel order.
template <int P>
struct PairLanes {
	static_assert(P == 4 || P == 8, "four or eight lanes per channel");
	static constexpr int LP = P == 4 ? 2 : 3; // log2 P
	int j, qd, tr;                              // state offset, channel in the warp, tile row
	__device__ __forceinline__ explicit PairLanes(int lane)
	    : j((lane >> 1) & (P - 1)), qd((lane & 1) | ((lane >> (1 + LP)) << 1)), tr(qd * P + j) {}
};

// scan_fwd4: the forward scan of scan_fwd (same formulas, same arguments,
// but gcar: the saved states, see below) for N = 16 with S = 4 states per lane: a quad of lanes serves
// one channel (b, d), lane j of it the states n = j, j+4, j+8, j+12, a warp
// eight channels and the block (W warps, 8·W channels of one batch row) walks
// the sequence 32 positions at a time (S = 2: eight lanes per channel, lane
// j the states j and j+8, four channels per warp). Lane j of channels 2c
// and 2c+1 are adjacent lanes, so each pair reads the same rows of B and C
// (PairLanes). Per step:
//   1. lane j has read u, delta and z at its positions, the groups of four
//      t0+4g .. t0+4g+3 for g = j, j+P, … (P lanes per channel), during the
//      previous step (Raw4: widened only now), and writes δ and δ·u there to
//      its channel's shared row; the block has staged the step's rows of B
//      and C (16 states × 32 positions each, double-buffered, Stager);
//   2. each lane advances its states over the 32 positions,
//      h = exp(δ·A[d,n])·h + δ·u·B[b,n,t], summing its share Σ_{its n} C·h of
//      y at every position (S independent recurrences per lane, the decays
//      of the next four positions computed while the current ones advance,
//      and every shared read a broadcast: the channels of a warp read the
//      same rows of B and C, the lanes of a channel the same δ);
//   3. the channel's shares meet in a per-warp tile: lane j sums its
//      positions, adds D·u, applies the gate and stores.
// With SV it also stores the states before every 8th position in saved
// (B, D, ⌈L/8⌉, 16), saved[b,d,c,n] = h_{8c−1}[n], as scan_bwd4's phase 1
// would (core.ScanArgs.Saved); a template flag, not a test of saved: a
// version that tested it at run time (not kept; PERF.md) took the forward
// from 138 to 167 registers and 3 % of its speed.
// Against scan_fwd16 (a lane per state): a quarter of the lanes, each with
// four times the independent work, and per state update a quarter of the
// shared-memory traffic (its partial sums of y are summed over four lanes,
// not sixteen).
// FULL: for L a multiple of 32, D a multiple of the block's channels and
// 16-byte aligned tensors (vec), every step and every block whole: no tests
// against L or D and no scalar fallbacks.
template <typename T, int W, int S, bool SV, bool FULL>
__device__ __forceinline__ void scan_fwd4(const T* __restrict__ u, const T* __restrict__ delta,
                                          const float* __restrict__ A, const T* __restrict__ Bm,
                                          const T* __restrict__ Cm, const float* __restrict__ Dp,
                                          const T* __restrict__ z, const float* __restrict__ dbias,
                                          const float* __restrict__ h0, T* __restrict__ out,
                                          float* __restrict__ hlast, float* __restrict__ saved, int D, int L,
                                          int softplus, int vec) {
	static_assert(S == 2 || S == 4, "two or four states per lane");
	constexpr int P = 16 / S, CW = 32 / P, E = 8 / P; // lanes per channel, channels per warp, groups per lane
	constexpr int NT = 32 * W, CPB = CW * W;
	constexpr int RW = 9;  // float4 per staged row of 32 positions (+1: consecutive rows 4 banks apart)
	constexpr int DW = 20; // float4 per channel row of δ (8), δ·u (8) (+4: a lane pair's two rows 16 banks apart)
	MK_SHARED float4 bc[2 * 2 * 16 * RW]; // [buffer][B, C][state][group of 4 positions]
	MK_SHARED float4 dts[CPB * DW];       // [channel][δ groups 0..7, δ·u groups 8..15]
	MK_SHARED float4 yt[W * 32 * 8];      // [warp][tile row qd·P+j][group g at slot g ^ (row & 7)]: the shares of y
	static_assert(16 * (2 * 2 * 16 * RW + CPB * DW + W * 32 * 8) <= 48 * 1024, "static shared memory over 48 KiB");
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const PairLanes<P> pl(lane);
	const int j = pl.j, qd = pl.qd, tr = pl.tr;
	const int b = blockIdx.y, ch = warp * CW + qd;
	const int d = blockIdx.x * CPB + ch;
	const bool ok = FULL || d < D; // FULL: D a multiple of the block's channels
	const int dc = ok ? d : D - 1; // channels past D compute on the last one and write nothing
	const i64 row = ((i64)b * D + dc) * L;
	const int steps8 = (L + 7) / 8;
	float* sv = SV && ok ? saved + ((i64)b * D + d) * steps8 * 16 : nullptr;
	float An2[S], h[S];
#pragma unroll
	for (int s = 0; s < S; ++s) {
		const int n = j + P * s;
		An2[s] = A[(i64)dc * 16 + n] * LOG2E_F;
		h[s] = h0 ? h0[((i64)b * D + dc) * 16 + n] : 0.0f;
	}
	const float Dd = Dp ? Dp[dc] : 0.0f, bias = dbias ? dbias[dc] : 0.0f;
	const bool sp = softplus != 0, vc = FULL || vec != 0, gate = z != nullptr;
	const T* zl = gate ? z : u; // without a gate the loads read u, unused: no branch around them
	auto inL = [&](int t) { return FULL || t < L; };
	float4* drow = dts + ch * DW;
	float4* ytw = yt + warp * 256;
	const T* Bb = Bm + (i64)b * 16 * L;
	const T* Cb = Cm + (i64)b * 16 * L;
	Stager<T, NT, 8, RW, true> stg;
	// Lane j's positions of a step: the groups g = j + P·e (e < E) of four,
	// t0+4g .. t0+4g+3 (the P lanes of a channel read 16·P contiguous bytes
	// of a float row per load).
	Raw4<T> pu[E], px[E], pz[E]; // the next step's, as loaded
	auto load = [&](int t0) {
#pragma unroll
		for (int e = 0; e < E; ++e) {
			const int t = t0 + 4 * (j + P * e);
			pu[e] = ld_raw4<FULL>(u + row, t, L, vc);
			px[e] = ld_raw4<FULL>(delta + row, t, L, vc);
			pz[e] = ld_raw4<FULL>(zl + row, t, L, vc);
		}
	};
	float uu[E][4], xd[E][4], zz[E][4]; // this step's
	auto take = [&]() {
#pragma unroll
		for (int e = 0; e < E; ++e) {
			const float4 a = wide4(pu[e]), x = wide4(px[e]), g = gate ? wide4(pz[e]) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
			uu[e][0] = a.x, uu[e][1] = a.y, uu[e][2] = a.z, uu[e][3] = a.w;
			xd[e][0] = x.x, xd[e][1] = x.y, xd[e][2] = x.z, xd[e][3] = x.w;
			zz[e][0] = g.x, zz[e][1] = g.y, zz[e][2] = g.z, zz[e][3] = g.w;
		}
	};
	stg.fetch(bc, Bb, Cb, 0, L, vc);
	stg.put(bc);
	load(0);
	take();
	for (int t0 = 0, buf = 0; t0 < L; t0 += 32, buf ^= 1) {
		// The next step's, in flight during this one. FULL: at the last step
		// the last one again, unused (no branch: a branch around the loads
		// measured 6 % slower, PERF.md). Issued before the block barrier,
		// which the compiler does not move them past: after it, they were
		// scheduled three quarters into the step and waited at its end.
		load(FULL ? imin(t0 + 32, L - 32) : t0 + 32);
		// 1. δ and δ·u into the channel's row
#pragma unroll
		for (int e = 0; e < E; ++e) {
			const int g = j + P * e;
			float dv[4], duv[4];
#pragma unroll
			for (int k = 0; k < 4; ++k) {
				const float x = xd[e][k] + bias;
				const float v = sp ? softplus_s(x) : x;
				dv[k] = inL(t0 + 4 * g + k) ? v : 0.0f; // past L: a = 1, δ·u = 0
				duv[k] = dv[k] * uu[e][k];
			}
			drow[g] = make_float4(dv[0], dv[1], dv[2], dv[3]);
			drow[8 + g] = make_float4(duv[0], duv[1], duv[2], duv[3]);
		}
		cp_async_wait_all();
		__syncthreads(); // B, C and δ of the step visible; every warp is done with the other buffer
		float4* next = bc + (buf ^ 1) * 2 * 16 * RW;
		if (t0 + 32 < L) stg.fetch(next, Bb, Cb, t0 + 32, L, vc);
		// 2. The lane's states over the 32 positions; its share of y, four
		// positions at a time into the warp's tile.
		const float4* Bs = bc + (buf * 2 * 16 + j) * RW;
		const float4* Cs = Bs + 16 * RW;
		// The decays of group k+1 are computed while group k's states advance
		// (software pipelining: ex2's latency hidden behind the recurrence).
		float an[4][S];
		{
			const float4 q1 = drow[0];
			const float dv[4] = {q1.x, q1.y, q1.z, q1.w};
#pragma unroll
			for (int m = 0; m < 4; ++m)
#pragma unroll
				for (int s = 0; s < S; ++s) an[m][s] = ex2_f(dv[m] * An2[s]);
		}
#pragma unroll
		for (int k = 0; k < 8; ++k) {
			float ac[4][S];
#pragma unroll
			for (int m = 0; m < 4; ++m)
#pragma unroll
				for (int s = 0; s < S; ++s) ac[m][s] = an[m][s];
			if (k + 1 < 8) {
				const float4 q1 = drow[k + 1];
				const float dv[4] = {q1.x, q1.y, q1.z, q1.w};
#pragma unroll
				for (int m = 0; m < 4; ++m)
#pragma unroll
					for (int s = 0; s < S; ++s) an[m][s] = ex2_f(dv[m] * An2[s]);
			}
			const float4 q2 = drow[8 + k];
			const float duv[4] = {q2.x, q2.y, q2.z, q2.w};
			float bv[S][4], cv[S][4];
#pragma unroll
			for (int s = 0; s < S; ++s) {
				const float4 qb = group4<float>(Bs + P * s * RW, k), qc = group4<float>(Cs + P * s * RW, k);
				bv[s][0] = qb.x, bv[s][1] = qb.y, bv[s][2] = qb.z, bv[s][3] = qb.w;
				cv[s][0] = qc.x, cv[s][1] = qc.y, cv[s][2] = qc.z, cv[s][3] = qc.w;
			}
			if (SV && (k & 1) == 0 && (FULL || sv)) { // the state before positions t0+4k .. t0+4k+7
				const int c = t0 / 8 + k / 2;
				if (FULL || c < steps8) {
#pragma unroll
					for (int s = 0; s < S; ++s) sv[c * 16 + j + P * s] = h[s];
				}
			}
			float yp[4];
#pragma unroll
			for (int m = 0; m < 4; ++m) {
				float y = 0.0f;
#pragma unroll
				for (int s = 0; s < S; ++s) {
					h[s] = ac[m][s] * h[s] + duv[m] * bv[s][m];
					y += cv[s][m] * h[s];
				}
				yp[m] = y;
			}
			ytw[tr * 8 + (k ^ (tr & 7))] = make_float4(yp[0], yp[1], yp[2], yp[3]);
		}
		// 3. The shares of the channel's P lanes meet: lane j sums its groups.
		__syncwarp();
#pragma unroll
		for (int e = 0; e < E; ++e) {
			const int g = j + P * e;
			float4 acc = ytw[(qd * P) * 8 + (g ^ ((qd * P) & 7))];
#pragma unroll
			for (int i = 1; i < P; ++i) {
				const int r = qd * P + i;
				const float4 v = ytw[r * 8 + (g ^ (r & 7))];
				acc.x += v.x, acc.y += v.y, acc.z += v.z, acc.w += v.w;
			}
			float yo[4] = {acc.x, acc.y, acc.z, acc.w};
			if (ok) {
#pragma unroll
				for (int k = 0; k < 4; ++k) {
					yo[k] += Dd * uu[e][k];
					if (gate) yo[k] *= silu_s(zz[e][k]);
				}
				if (FULL)
					st4(out + row + t0 + 4 * g, make_float4(yo[0], yo[1], yo[2], yo[3]));
				else
					store_items<4>(out + row, yo, t0 + 4 * g, L, vc);
			}
		}
		if (t0 + 32 < L) stg.put(next);
		__syncwarp(); // the lanes' reads of the tile and of δ are done before the next step's writes
		take();
	}
	if (ok && hlast) {
#pragma unroll
		for (int s = 0; s < S; ++s) hlast[((i64)b * D + d) * 16 + j + P * s] = h[s];
	}
}

// scan_bwd4: the backward scan of scan_bwd (same formulas, same arguments)
// for N = 16, organised as scan_fwd4: a quad of lanes per channel, lane j
// the states n = j, j+4, j+8, j+12, a warp eight channels, the block 8·W
// channels of one batch row; the sequence goes in steps of 8 positions.
// Phase 1 walks the sequence forwards 32 positions at a time, keeping the
// state before every step of 8 in ckpt (B, D, ⌈L/8⌉, 16), unless saved (the
// same states, which scan_fwd4 stored) is not null. Phase 2 walks the
// steps backwards; per step each lane
//   1. restarts its four states from the checkpoint and runs them over the
//      8 positions, keeping h_{t−1} in registers, with dC = dy·h and its
//      share of y = Σ C·h (for dz);
//   2. runs r backwards over them, a = exp(δ·A) computed again (ex2v_f:
//      keeping the 32 of a step in registers made the kernel spill, 27 %
//      slower): g = dy·C + r, r = a·g, with dB = g·δ·u,
//      its shares of S1 = Σ g·B and S2 = Σ A·r·h_{t−1}, and dA += δ·r·h_{t−1}
//      (in a register, per state, for the whole sequence);
//   3. writes dB and dC (per state and position) to shared memory, where the
//      block sums them over its channels and adds each sum of four positions
//      to dB, dC with one vector atomic add; the quad's shares of y, S1, S2
//      meet in a per-warp tile, lane j taking positions 2j, 2j+1 for du,
//      ddelta, dz and its shares of dD and ddelta_bias.
// Every step's rows of B and C are staged by the block (Stager,
// double-buffered), δ, δ·u and dy by each quad in its channel's row; the
// lanes' inputs are prefetched a step ahead (Raw4, Raw2). Two
// block barriers per step of phase 2, one per 32 positions in phase 1; per
// update, three exponentials (phase 1, and both walks of phase 2) and no
// exchange between lanes.
template <typename T, int W, bool FULL>
__device__ __forceinline__ void scan_bwd4(const T* __restrict__ u, const T* __restrict__ delta,
                                          const float* __restrict__ A, const T* __restrict__ Bm,
                                          const T* __restrict__ Cm, const float* __restrict__ Dp,
                                          const T* __restrict__ z, const float* __restrict__ dbias,
                                          const float* __restrict__ h0, const T* __restrict__ dout,
                                          const float* __restrict__ dhlast, T* __restrict__ du,
                                          T* __restrict__ ddelta, float* __restrict__ dA, float* __restrict__ dB,
                                          float* __restrict__ dC, float* __restrict__ dD, T* __restrict__ dz,
                                          float* __restrict__ ddbias, float* __restrict__ dh0,
                                          float* __restrict__ ckpt, const float* __restrict__ saved, int D,
                                          int L, int softplus, int vec) {
	constexpr int NT = 32 * W, CPB = 8 * W;
	constexpr int RW = 3;  // float4 per staged row of 8 positions (+1: consecutive rows 12 banks apart)
	constexpr int DR = 28; // floats per channel row: δ (8), δ·u (8), dy (8) (+4: the 8 channels' rows apart)
	constexpr int TL = 12; // floats per lane in the tile: 8 positions (+4)
	constexpr int XC = 36; // float4 per channel in the dB, dC sums: [2 groups][16 states] (+4: a quarter-warp's two channels 16 banks apart)
	MK_SHARED float4 bc[2 * 2 * 16 * RW];  // [buffer][B, C][state][group]
	MK_SHARED float4 rows4[CPB * DR / 4];  // [channel][δ, δ·u, dy][position]
	MK_SHARED float4 tile4[W * 3 * 32 * TL / 4]; // [warp][y, S1, S2][tile row tr][position]: the quad's shares
	MK_SHARED float4 xs[2 * CPB * XC];     // [dB, dC][channel][group][state]
	static_assert(16 * (2 * 2 * 16 * RW + CPB * DR / 4 + W * 3 * 32 * TL / 4 + 2 * CPB * XC) <= 48 * 1024,
	              "static shared memory over 48 KiB");
	float* rows = reinterpret_cast<float*>(rows4);
	float* tile = reinterpret_cast<float*>(tile4);
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const PairLanes<4> pl(lane);
	const int j = pl.j, qd = pl.qd, tr = pl.tr;
	const int b = blockIdx.y, ch = warp * 8 + qd;
	const int d = blockIdx.x * CPB + ch;
	const bool ok = d < D;
	const int dc = ok ? d : D - 1; // channels past D run with dy = 0 and r = 0: every gradient 0
	const i64 bd = (i64)b * D + dc, row = bd * L;
	const int steps = (L + 7) / 8;
	float* ck = ckpt ? ckpt + bd * steps * 16 : nullptr; // phase 1 writes it, phase 2 reads ckr
	const float* ckr = saved ? saved + bd * steps * 16 : ck;
	float An[4], An2[4];
#pragma unroll
	for (int s = 0; s < 4; ++s) {
		An[s] = A[(i64)dc * 16 + j + 4 * s];
		An2[s] = An[s] * LOG2E_F;
	}
	const float Dd = Dp ? Dp[dc] : 0.0f, bias = dbias ? dbias[dc] : 0.0f;
	const bool sp = softplus != 0, vc = FULL || vec != 0, gate = z != nullptr, needY = dz != nullptr && z != nullptr;
	auto inL = [&](int t) { return FULL || t < L; }; // FULL: L a multiple of 8, every step whole
	float* crow = rows + ch * DR;
	float* tw = tile + warp * 3 * 32 * TL;
	const T* Bb = Bm + (i64)b * 16 * L;
	const T* Cb = Cm + (i64)b * 16 * L;
	auto timestep = [&](float x, int t) { // δ at position t (0 past L)
		x += bias;
		const float v = sp ? softplus_s(x) : x;
		return inL(t) ? v : 0.0f;
	};

	// Phase 1 (unless the forward saved them): the checkpoints, in steps of
	// 32 positions as scan_fwd4 (lane j
	// of a quad loads the positions t0+4j .. and t0+16+4j ..), its staged
	// rows of B (two buffers of 16 rows of 9 float4) and its rows of δ, δ·u
	// (17 float4 per channel) in the space of phase 2's dB, dC sums.
	if (!saved) {
		constexpr int RW1 = 9, DW1 = 17;
		static_assert(2 * 16 * RW1 + CPB * DW1 <= 2 * CPB * XC, "phase 1's buffers fit in xs");
		float4* bc1 = xs;
		float4* drow = xs + 2 * 16 * RW1 + ch * DW1;
		float h[4];
#pragma unroll
		for (int s = 0; s < 4; ++s) h[s] = h0 ? h0[bd * 16 + j + 4 * s] : 0.0f;
		Raw4<T> pu[2], px[2]; // the next step's, as loaded
		float uu[2][4], xd[2][4];
		auto load1 = [&](int t0) {
#pragma unroll
			for (int e = 0; e < 2; ++e) {
				pu[e] = ld_raw4(u + row, t0 + 16 * e + 4 * j, L, vc);
				px[e] = ld_raw4(delta + row, t0 + 16 * e + 4 * j, L, vc);
			}
		};
		auto take1 = [&]() {
#pragma unroll
			for (int e = 0; e < 2; ++e) {
				const float4 a = wide4(pu[e]), x = wide4(px[e]);
				uu[e][0] = a.x, uu[e][1] = a.y, uu[e][2] = a.z, uu[e][3] = a.w;
				xd[e][0] = x.x, xd[e][1] = x.y, xd[e][2] = x.z, xd[e][3] = x.w;
			}
		};
		load1(0);
		take1();
		Stager<T, NT, 8, RW1, false> stg;
		stg.fetch(bc1, Bb, Cb, 0, L, vc);
		stg.put(bc1);
		for (int t0 = 0, buf = 0; t0 < L; t0 += 32, buf ^= 1) {
#pragma unroll
			for (int e = 0; e < 2; ++e) {
				float dv[4], duv[4];
#pragma unroll
				for (int k = 0; k < 4; ++k) {
					dv[k] = timestep(xd[e][k], t0 + 16 * e + 4 * j + k);
					duv[k] = dv[k] * uu[e][k];
				}
				drow[4 * e + j] = make_float4(dv[0], dv[1], dv[2], dv[3]);
				drow[8 + 4 * e + j] = make_float4(duv[0], duv[1], duv[2], duv[3]);
			}
			cp_async_wait_all();
			__syncthreads();
			float4* next = bc1 + (buf ^ 1) * 16 * RW1;
			if (t0 + 32 < L) {
				stg.fetch(next, Bb, Cb, t0 + 32, L, vc);
				load1(t0 + 32);
			}
			const float4* Bs = bc1 + (buf * 16 + j) * RW1;
#pragma unroll
			for (int k = 0; k < 8; ++k) {
				if ((k & 1) == 0) { // the state before positions t0+4k .. t0+4k+7: checkpoint t0/8 + k/2
					const int c = t0 / 8 + k / 2;
					if (ok && c < steps) {
#pragma unroll
						for (int s = 0; s < 4; ++s) ck[c * 16 + j + 4 * s] = h[s];
					}
				}
				const float4 q1 = drow[k], q2 = drow[8 + k];
				const float dv[4] = {q1.x, q1.y, q1.z, q1.w}, duv[4] = {q2.x, q2.y, q2.z, q2.w};
				float bv[4][4];
#pragma unroll
				for (int s = 0; s < 4; ++s) {
					const float4 qb = group4<float>(Bs + 4 * s * RW1, k);
					bv[s][0] = qb.x, bv[s][1] = qb.y, bv[s][2] = qb.z, bv[s][3] = qb.w;
				}
#pragma unroll
				for (int m = 0; m < 4; ++m)
#pragma unroll
					for (int s = 0; s < 4; ++s) h[s] = ex2_f(dv[m] * An2[s]) * h[s] + duv[m] * bv[s][m];
			}
			if (t0 + 32 < L) {
				stg.put(next);
				take1();
			}
			__syncwarp(); // the quad's reads of its row are done before the next step's writes
		}
	}
	cp_async_wait_all();
	__syncthreads(); // phase 1's checkpoints and buffers are done with

	// Phase 2: backwards over the steps.
	float r[4], dAa[4];
#pragma unroll
	for (int s = 0; s < 4; ++s) {
		r[s] = ok && dhlast ? dhlast[bd * 16 + j + 4 * s] : 0.0f;
		dAa[s] = 0.0f;
	}
	float dDp = 0.0f, dbp = 0.0f; // this lane's shares of dD and ddelta_bias
	Raw2<T> pu, px, pg, pz;           // the next step's inputs at the lane's positions, as loaded
	float uu[2], xd[2], go[2], zz[2]; // this step's
	auto load = [&](int t) {
		pu = ld_raw2<FULL>(u + row, t, L, vc);
		px = ld_raw2<FULL>(delta + row, t, L, vc);
		pg = ld_raw2<FULL>(dout + row, t, L, vc);
		pz = ld_raw2<FULL>((gate ? z : u) + row, t, L, vc); // without a gate u, unused: no branch
	};
	auto take = [&]() {
		wide2(pu, uu);
		wide2(px, xd);
		wide2(pg, go);
		if (gate) {
			wide2(pz, zz);
		} else {
			zz[0] = zz[1] = 0.0f;
		}
	};
	load(8 * (steps - 1) + 2 * j);
	take();
	Stager<T, NT, 2, RW, true> stg;
	stg.fetch(bc, Bb, Cb, 8 * (steps - 1), L, vc);
	stg.put(bc);
	for (int c = steps - 1, buf = 0; c >= 0; --c, buf ^= 1) {
		const int t0 = 8 * c, tl = t0 + 2 * j;
		float dtl[2], dyl[2]; // δ and dy at the lane's positions
#pragma unroll
		for (int e = 0; e < 2; ++e) {
			dtl[e] = timestep(xd[e], tl + e);
			dyl[e] = ok ? (gate ? go[e] * silu_s(zz[e]) : go[e]) : 0.0f;
			crow[2 * j + e] = dtl[e];
			crow[8 + 2 * j + e] = dtl[e] * uu[e];
			crow[16 + 2 * j + e] = dyl[e];
		}
		cp_async_wait_all();
		__syncthreads(); // B, C and the rows of the step visible; the sums of the previous step read
		if (c > 0) stg.fetch(bc + (buf ^ 1) * 2 * 16 * RW, Bb, Cb, t0 - 8, L, vc);
		load(c > 0 ? tl - 8 : tl); // at the last step this one's again, unused: no branch around the loads
		const float4* Bs = bc + (buf * 2 * 16 + j) * RW;
		const float4* Cs = Bs + 16 * RW;
		// 1. Forward: a, h_{t−1}, dC, y.
		float hp[8][4], h[4];
#pragma unroll
		for (int s = 0; s < 4; ++s) h[s] = ok ? ckr[c * 16 + j + 4 * s] : 0.0f;
#pragma unroll
		for (int k = 0; k < 2; ++k) {
			const float4 q1 = *reinterpret_cast<const float4*>(crow + 4 * k);
			const float4 q2 = *reinterpret_cast<const float4*>(crow + 8 + 4 * k);
			const float4 q3 = *reinterpret_cast<const float4*>(crow + 16 + 4 * k);
			const float dv[4] = {q1.x, q1.y, q1.z, q1.w}, duv[4] = {q2.x, q2.y, q2.z, q2.w};
			const float dyv[4] = {q3.x, q3.y, q3.z, q3.w};
			float bv[4][4], cv[4][4], dcv[4][4], yv[4];
#pragma unroll
			for (int s = 0; s < 4; ++s) {
				const float4 qb = group4<float>(Bs + 4 * s * RW, k), qc = group4<float>(Cs + 4 * s * RW, k);
				bv[s][0] = qb.x, bv[s][1] = qb.y, bv[s][2] = qb.z, bv[s][3] = qb.w;
				cv[s][0] = qc.x, cv[s][1] = qc.y, cv[s][2] = qc.z, cv[s][3] = qc.w;
			}
#pragma unroll
			for (int m = 0; m < 4; ++m) {
				yv[m] = 0.0f;
#pragma unroll
				for (int s = 0; s < 4; ++s) {
					const int t = 4 * k + m;
					hp[t][s] = h[s];
					h[s] = ex2_f(dv[m] * An2[s]) * h[s] + duv[m] * bv[s][m];
					dcv[s][m] = dyv[m] * h[s];
					yv[m] += cv[s][m] * h[s];
				}
			}
#pragma unroll
			for (int s = 0; s < 4; ++s)
				xs[(CPB + ch) * XC + k * 16 + j + 4 * s] = make_float4(dcv[s][0], dcv[s][1], dcv[s][2], dcv[s][3]);
			if (needY) *reinterpret_cast<float4*>(tw + tr * TL + 4 * k) = make_float4(yv[0], yv[1], yv[2], yv[3]);
		}
		// 2. Backward: g, r, dB, S1, S2, dA.
#pragma unroll
		for (int k = 1; k >= 0; --k) {
			const float4 q1 = *reinterpret_cast<const float4*>(crow + 4 * k);
			const float4 q2 = *reinterpret_cast<const float4*>(crow + 8 + 4 * k);
			const float4 q3 = *reinterpret_cast<const float4*>(crow + 16 + 4 * k);
			const float dv[4] = {q1.x, q1.y, q1.z, q1.w}, duv[4] = {q2.x, q2.y, q2.z, q2.w};
			const float dyv[4] = {q3.x, q3.y, q3.z, q3.w};
			float bv[4][4], cv[4][4], dbv[4][4], s1[4], s2[4];
#pragma unroll
			for (int s = 0; s < 4; ++s) {
				const float4 qb = group4<float>(Bs + 4 * s * RW, k), qc = group4<float>(Cs + 4 * s * RW, k);
				bv[s][0] = qb.x, bv[s][1] = qb.y, bv[s][2] = qb.z, bv[s][3] = qb.w;
				cv[s][0] = qc.x, cv[s][1] = qc.y, cv[s][2] = qc.z, cv[s][3] = qc.w;
			}
#pragma unroll
			for (int m = 3; m >= 0; --m) {
				s1[m] = s2[m] = 0.0f;
#pragma unroll
				for (int s = 0; s < 4; ++s) {
					const int t = 4 * k + m;
					const float g = dyv[m] * cv[s][m] + r[s];
					dbv[s][m] = g * duv[m];
					s1[m] += g * bv[s][m];
					r[s] = ex2v_f(dv[m] * An2[s]) * g;
					const float rh = r[s] * hp[t][s];
					s2[m] += An[s] * rh;
					dAa[s] += rh * dv[m];
				}
			}
#pragma unroll
			for (int s = 0; s < 4; ++s)
				xs[ch * XC + k * 16 + j + 4 * s] = make_float4(dbv[s][0], dbv[s][1], dbv[s][2], dbv[s][3]);
			*reinterpret_cast<float4*>(tw + (32 + tr) * TL + 4 * k) = make_float4(s1[0], s1[1], s1[2], s1[3]);
			*reinterpret_cast<float4*>(tw + (64 + tr) * TL + 4 * k) = make_float4(s2[0], s2[1], s2[2], s2[3]);
		}
		__syncthreads(); // the channels' dB, dC and the quads' shares are in shared memory
		// 3a. The block's sums of dB and dC: thread q adds group (q>>4)&1, state q&15 of dB (q < 32) or dC.
#pragma unroll
		for (int i = 0; i < (64 + NT - 1) / NT; ++i) { // unrolled: one pass for NT = 64, two for 32
			const int q = threadIdx.x + i * NT;
			if (q >= 64) break;
			const int m = q >> 5, k = (q >> 4) & 1, n = q & 15, t = t0 + 4 * k;
			float* dst = m ? dC : dB;
			if (dst && inL(t)) {
				const float4* x = xs + m * CPB * XC + k * 16 + n;
				float4 sum = x[0];
#pragma unroll
				for (int e = 1; e < CPB; ++e) {
					const float4 v = x[e * XC];
					sum.x += v.x, sum.y += v.y, sum.z += v.z, sum.w += v.w;
				}
				red_add4(dst + ((i64)b * 16 + n) * L + t, sum, imin(4, L - t), vc);
			}
		}
		// 3b. The quad's sums at the lane's positions, and the outputs there.
		if (ok) {
			float y[2] = {0.0f, 0.0f}, S1[2] = {0.0f, 0.0f}, S2[2] = {0.0f, 0.0f};
#pragma unroll
			for (int i = 0; i < 4; ++i) {
				const float* src = tw + (qd * 4 + i) * TL + 2 * j;
				const float2 v1 = *reinterpret_cast<const float2*>(src + 32 * TL);
				const float2 v2 = *reinterpret_cast<const float2*>(src + 64 * TL);
				S1[0] += v1.x, S1[1] += v1.y, S2[0] += v2.x, S2[1] += v2.y;
				if (needY) {
					const float2 v0 = *reinterpret_cast<const float2*>(src);
					y[0] += v0.x, y[1] += v0.y;
				}
			}
			float o1[2], o2[2], o3[2];
#pragma unroll
			for (int e = 0; e < 2; ++e) {
				const float dsp = sp ? softplus_grad_s(xd[e] + bias) : 1.0f;
				o1[e] = dtl[e] * S1[e] + dyl[e] * Dd;
				o2[e] = (uu[e] * S1[e] + S2[e]) * dsp;
				o3[e] = needY ? go[e] * (y[e] + Dd * uu[e]) * silu_grad_s(zz[e]) : 0.0f;
				if (inL(tl + e)) { // past L dy = 0 and δ = 0, but u and S2 need not be
					dDp += dyl[e] * uu[e];
					dbp += o2[e];
				}
			}
			if (du) st2<FULL>(du + row, tl, L, o1, vc);
			if (ddelta) st2<FULL>(ddelta + row, tl, L, o2, vc);
			if (needY) st2<FULL>(dz + row, tl, L, o3, vc);
		}
		if (c > 0) {
			stg.put(bc + (buf ^ 1) * 2 * 16 * RW);
			take();
		}
		__syncwarp(); // the quad's reads of the tile and of its row are done before the next step's writes
	}
	// The lane's sums over the sequence.
	if (ok) {
#pragma unroll
		for (int s = 0; s < 4; ++s) {
			if (dh0) dh0[bd * 16 + j + 4 * s] = r[s];
			if (dA) atomicAdd(dA + (i64)dc * 16 + j + 4 * s, dAa[s]);
		}
	}
	dDp += __shfl_xor_sync(FULL_MASK, dDp, 2); // over j: lane bits 1 and 2 (PairLanes)
	dDp += __shfl_xor_sync(FULL_MASK, dDp, 4);
	dbp += __shfl_xor_sync(FULL_MASK, dbp, 2);
	dbp += __shfl_xor_sync(FULL_MASK, dbp, 4);
	if (ok && j == 0) {
		if (dD) atomicAdd(dD + dc, dDp);
		if (ddbias) atomicAdd(ddbias + dc, dbp);
	}
}

// The kernels' parameters, with TY the element type of the sequence tensors.
#define SCAN_FWD_PARAMS(TY)                                                                                   \
	const TY *u, const TY *delta, const float *A, const TY *Bm, const TY *Cm, const float *Dp, const TY *z,   \
	    const float *dbias, const float *h0, TY *out, float *hlast, float *gcar, int D, int L, int N,         \
	    int softplus, int vec
#define SCAN_FWD_ARGS u, delta, A, Bm, Cm, Dp, z, dbias, h0, out, hlast, gcar, D, L, N, softplus, vec

#define SCAN_BWD_PARAMS(TY)                                                                                   \
	const TY *u, const TY *delta, const float *A, const TY *Bm, const TY *Cm, const float *Dp, const TY *z,   \
	    const float *dbias, const float *h0, const TY *dout, const float *dhlast, TY *du, TY *ddelta,         \
	    float *dA, float *dB, float *dC, float *dD, TY *dz, float *ddbias, float *dh0, float *ckpt,           \
	    float *gcar, int D, int L, int N, int softplus, int vec
#define SCAN_BWD_ARGS                                                                                          \
	u, delta, A, Bm, Cm, Dp, z, dbias, h0, dout, dhlast, du, ddelta, dA, dB, dC, dD, dz, ddbias, dh0, ckpt, gcar, \
	    D, L, N, softplus, vec

// scan_fwd_<NT>x<IT> and scan_bwd_<NT>x<IT> (float sequence tensors) and
// their _bf16 twins: the instantiations the Go side chooses from (scan.go:
// fwdConfigs and bwdConfigs repeat every argument): NT = 32·W threads,
// IT = G·I items per thread (G channels per warp, I positions per lane), NSB
// staged rows of B and of C per batch, YP2 (backward) y and dz in phase 2; at
// least MINB blocks of NT threads per SM (a register bound: 65536/(MINB·NT)
// per thread).
#define SCAN_FWD_KERNEL(NT, IT, G, I, NSB, MINB)                                                          \
	extern "C" __global__ void __launch_bounds__(NT, MINB) scan_fwd_##NT##x##IT(SCAN_FWD_PARAMS(float)) { \
		static_assert(IT == G * I, "items per thread");                                           \
		scan_fwd<float, NT / 32, G, I, NSB>(SCAN_FWD_ARGS);                                       \
	}                                                                                                 \
	extern "C" __global__ void __launch_bounds__(NT, MINB)                                            \
	    scan_fwd_##NT##x##IT##_bf16(SCAN_FWD_PARAMS(bf16x)) {                                         \
		scan_fwd<bf16x, NT / 32, G, I, NSB>(SCAN_FWD_ARGS);                                       \
	}
#define SCAN_BWD_KERNEL(NT, IT, G, I, NSB, YP2, MINB)                                                     \
	extern "C" __global__ void __launch_bounds__(NT, MINB) scan_bwd_##NT##x##IT(SCAN_BWD_PARAMS(float)) { \
		static_assert(IT == G * I, "items per thread");                                           \
		scan_bwd<float, NT / 32, G, I, NSB, YP2>(SCAN_BWD_ARGS);                                  \
	}                                                                                                 \
	extern "C" __global__ void __launch_bounds__(NT, MINB)                                            \
	    scan_bwd_##NT##x##IT##_bf16(SCAN_BWD_PARAMS(bf16x)) {                                         \
		scan_bwd<bf16x, NT / 32, G, I, NSB, YP2>(SCAN_BWD_ARGS);                                  \
	}

SCAN_FWD_KERNEL(32, 16, 1, 16, 4, 16)
SCAN_FWD_KERNEL(64, 16, 1, 16, 4, 8)
SCAN_FWD_KERNEL(128, 16, 1, 16, 4, 4)
SCAN_FWD_KERNEL(256, 16, 1, 16, 4, 2)
SCAN_FWD_KERNEL(512, 16, 1, 16, 4, 1)
SCAN_FWD_KERNEL(512, 8, 1, 8, 4, 2)

// scan_fwd16_<NT>_<MINB>: scan_fwd16 with NT threads (NT/16 channels) per
// block and at least MINB blocks per SM (a register bound); scan.go's
// fwd16Configs repeat the pairs.
#define SCAN_FWD16_KERNEL(NT, MINB)                                                                        \
	extern "C" __global__ void __launch_bounds__(NT, MINB)                                             \
	    scan_fwd16_##NT##_##MINB(SCAN_FWD_PARAMS(float)) {                                             \
		(void)gcar;                                                                                \
		(void)N;                                                                                   \
		scan_fwd16<float, NT / 32>(u, delta, A, Bm, Cm, Dp, z, dbias, h0, out, hlast, D, L, softplus, vec); \
	}                                                                                                  \
	extern "C" __global__ void __launch_bounds__(NT, MINB)                                             \
	    scan_fwd16_##NT##_##MINB##_bf16(SCAN_FWD_PARAMS(bf16x)) {                                      \
		(void)gcar;                                                                                \
		(void)N;                                                                                   \
		scan_fwd16<bf16x, NT / 32>(u, delta, A, Bm, Cm, Dp, z, dbias, h0, out, hlast, D, L, softplus, vec); \
	}
SCAN_FWD16_KERNEL(256, 2)

// scan_fwd<S>_<NT>_<MINB>: scan_fwd4 with S states per lane, NT threads
// (NT·S/16 channels) per block and at least MINB blocks per SM (scan.go's
// fwd16Configs repeat them); scan_fwd<S>_<NT>_<MINB>_save also stores the
// states in gcar (scan_fwd4's saved); the _full and _save_full twins (only
// for the configuration the backend chooses, fwd16Configs' full) are scan_fwd4's FULL,
// for L a multiple of 32 and 16-byte aligned tensors.
#define SCAN_FWD4_VARIANT(S, NT, MINB, SV, FULL, NAME)                                                    \
	extern "C" __global__ void __launch_bounds__(NT, MINB) NAME(SCAN_FWD_PARAMS(float)) {              \
		(void)N;                                                                                   \
		scan_fwd4<float, NT / 32, S, SV, FULL>(u, delta, A, Bm, Cm, Dp, z, dbias, h0, out, hlast, gcar, D, \
		                                       L, softplus, vec);                                  \
	}                                                                                                  \
	extern "C" __global__ void __launch_bounds__(NT, MINB) NAME##_bf16(SCAN_FWD_PARAMS(bf16x)) {       \
		(void)N;                                                                                   \
		scan_fwd4<bf16x, NT / 32, S, SV, FULL>(u, delta, A, Bm, Cm, Dp, z, dbias, h0, out, hlast, gcar, D, \
		                                       L, softplus, vec);                                  \
	}
#define SCAN_FWD4_KERNEL(S, NT, MINB)                                                                      \
	SCAN_FWD4_VARIANT(S, NT, MINB, false, false, scan_fwd##S##_##NT##_##MINB)                         \
	SCAN_FWD4_VARIANT(S, NT, MINB, true, false, scan_fwd##S##_##NT##_##MINB##_save)
#define SCAN_FWD4_FULL_KERNEL(S, NT, MINB)                                                                 \
	SCAN_FWD4_VARIANT(S, NT, MINB, false, true, scan_fwd##S##_##NT##_##MINB##_full)                   \
	SCAN_FWD4_VARIANT(S, NT, MINB, true, true, scan_fwd##S##_##NT##_##MINB##_save_full)
SCAN_FWD4_KERNEL(4, 64, 6)
SCAN_FWD4_KERNEL(4, 128, 3)
SCAN_FWD4_FULL_KERNEL(4, 128, 3)
SCAN_FWD4_KERNEL(2, 128, 6)

// scan_bwd4_<NT>_<MINB>: scan_bwd4 with NT threads (NT/4 channels) per
// block and at least MINB blocks per SM, gcar passed as saved; scan.go's
// bwd16Configs repeat them. scan_bwd4_<NT>_<MINB>_full: the same for L a
// multiple of 8 and 16-byte aligned tensors (vec), without the bounds tests
// and scalar fallbacks of phase 2.
#define SCAN_BWD4_VARIANT(NT, MINB, FULL, NAME)                                                            \
	extern "C" __global__ void __launch_bounds__(NT, MINB) NAME(SCAN_BWD_PARAMS(float)) {              \
		(void)N;                                                                                   \
		scan_bwd4<float, NT / 32, FULL>(u, delta, A, Bm, Cm, Dp, z, dbias, h0, dout, dhlast, du, ddelta, dA, \
		                                dB, dC, dD, dz, ddbias, dh0, ckpt, gcar, D, L, softplus, vec);     \
	}                                                                                                  \
	extern "C" __global__ void __launch_bounds__(NT, MINB) NAME##_bf16(SCAN_BWD_PARAMS(bf16x)) {       \
		(void)N;                                                                                   \
		scan_bwd4<bf16x, NT / 32, FULL>(u, delta, A, Bm, Cm, Dp, z, dbias, h0, dout, dhlast, du, ddelta, dA, \
		                                dB, dC, dD, dz, ddbias, dh0, ckpt, gcar, D, L, softplus, vec);     \
	}
#define SCAN_BWD4_KERNEL(NT, MINB)                                                                         \
	SCAN_BWD4_VARIANT(NT, MINB, false, scan_bwd4_##NT##_##MINB)                                       \
	SCAN_BWD4_VARIANT(NT, MINB, true, scan_bwd4_##NT##_##MINB##_full)
SCAN_BWD4_KERNEL(32, 12)
SCAN_BWD4_KERNEL(64, 6)
SCAN_BWD_KERNEL(32, 8, 1, 8, 4, false, 8)
SCAN_BWD_KERNEL(128, 8, 1, 8, 4, false, 4)
SCAN_BWD_KERNEL(256, 8, 1, 8, 2, false, 2)
SCAN_BWD_KERNEL(64, 16, 2, 8, 4, false, 4)
SCAN_BWD_KERNEL(128, 16, 2, 8, 4, false, 2)

// scan_step: one position of the scan for every channel r = (b, d) < BD,
// with state (B, D, N) read as h_{t−1} and overwritten with h_t:
//   δ = softplus(delta[r] + dbias[d]),  h[n] = exp(δ·A[d,n])·h[n] + δ·u[r]·B[b,n],
//   out[r] = (Σ_n C[b,n]·h[n] + D[d]·u[r])·SiLU(z[r]).
// u, delta, z, out (B, D); A (D, N); Bm, Cm (B, N); Dp, dbias (D) or null.
extern "C" __global__ void scan_step(float* state, const float* u, const float* delta, const float* z,
                                     const float* A, const float* Bm, const float* Cm, const float* Dp,
                                     const float* dbias, float* out, i64 BD, int D, int N, int softplus) {
	GRID_STRIDE(r, BD) {
		const int d = (int)(r % D);
		const i64 b = r / D;
		float dt = delta[r];
		if (dbias) dt += dbias[d];
		if (softplus) dt = softplus_s(dt);
		const float x = u[r], dtu = dt * x;
		float* h = state + r * N;
		const float* Ad = A + (i64)d * N;
		const float* Bv = Bm + b * N;
		const float* Cv = Cm + b * N;
		float y = 0.0f;
		for (int n = 0; n < N; ++n) {
			const float hn = expf(dt * Ad[n]) * h[n] + dtu * Bv[n];
			h[n] = hn;
			y += Cv[n] * hn;
		}
		if (Dp) y += Dp[d] * x;
		if (z) y *= silu_f(z[r]);
		out[r] = y;
	}
}
