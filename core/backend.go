package core

// Backend is the set of coarse operations a compute backend provides. Its
// methods are unchecked kernels: callers go through Ops, which validates every
// shape in Go first. Every formula below is what the float64 reference in
// core/ref computes and what every backend must reproduce (see
// core/conformance).
//
// Gradient convention: gradients of parameters (tensors whose shape does not
// involve the batch B or length L: weights, biases, A, D, delta_bias) are
// added to what the destination already holds, so that tied weights and
// gradient accumulation work; gradients of activations are overwritten.
type Backend interface {
	// Name identifies the backend ("cpu", "cuda").
	Name() string

	// Alloc returns a zero-filled tensor in the backend's memory.
	Alloc(shape ...int) Tensor
	// AllocBF16 returns a zero-filled tensor stored as bfloat16, for weights
	// that Gemm reads (as A or B) and Embedding tables. Upload rounds to the
	// nearest bfloat16 (ties to even); Download widens exactly.
	AllocBF16(shape ...int) Tensor
	// Upload copies len(src) == dst.Numel() host values into dst.
	Upload(dst Tensor, src []float32)
	// Download copies src into the host slice dst (len(dst) == src.Numel()).
	Download(dst []float32, src Tensor)
	// Fill sets every element of t to v.
	Fill(t Tensor, v float32)
	// Copy sets dst = src (equal element counts); either may be bfloat16:
	// into bfloat16 it rounds to nearest even, out of it it widens exactly.
	Copy(dst, src Tensor)
	// Axpy computes y += alpha·x elementwise (equal element counts).
	Axpy(alpha float32, x, y Tensor)
	// Flip reverses the innermost dimension: dst[..., t] = src[..., L−1−t]
	// for src and dst of one shape (..., L). dst and src must not overlap.
	Flip(dst, src Tensor)

	// Gemm computes, for each batch i, C_i = Alpha·op(A_i)·op(B_i) + Beta·C_i
	// with row-major storage; see GemmArgs.
	Gemm(g GemmArgs)

	// Embedding gathers out[t, :] = table[ids[t], :].
	// out (T, dim), table (V, dim), ids (T).
	Embedding(out, table Tensor, ids []int32)
	// EmbeddingBackward scatters dtable[ids[t], :] += dout[t, :].
	EmbeddingBackward(dtable, dout Tensor, ids []int32)

	// Conv1d is the causal depthwise convolution
	//   pre[b,d,t] = bias[d] + Σ_{k<K} w[d,k]·x[b,d,t-K+1+k]   (x = 0 before t = 0)
	//   out[b,d,t] = SiLU(pre) if c.SiLU, else pre.
	Conv1d(c ConvArgs)
	// Conv1dBackward computes dx (overwritten), dw and dbias (added to) from
	// dout, recomputing pre when c.SiLU is set.
	Conv1dBackward(c ConvArgs, g ConvGrads)
	// ConvStep advances a causal depthwise convolution by one position:
	//   state[b,d,:] ← (state[b,d,1:], x[b,d])      (state holds the last K inputs, oldest first)
	//   out[b,d] = act(bias[d] + Σ_k w[d,k]·state[b,d,k])
	// state (B, D, K), x and out (B, D), w (D, K), bias (D) or nil.
	ConvStep(state, x, w, bias, out Tensor, silu bool)

	// SelectiveScan computes, for every b, d (see ScanArgs for shapes):
	//   δ_t   = softplus(delta[b,d,t] + delta_bias[d])   (without softplus if not DeltaSoftplus)
	//   h_t[n] = exp(δ_t·A[d,n])·h_{t-1}[n] + δ_t·B[b,n,t]·u[b,d,t]     h_{-1} = H0[b,d] or 0
	//   y_t   = Σ_n C[b,n,t]·h_t[n] + D[d]·u[b,d,t]
	//   out[b,d,t] = y_t·SiLU(z[b,d,t])   (y_t when Z is nil)
	//   HLast[b,d,n] = h_{L-1}[n]          (when HLast is set)
	//   Saved[b,d,c,n] = h_{8c-1}[n]        (when Saved is set: the state before
	//                                        every 8th position, c < ⌈L/8⌉)
	SelectiveScan(s ScanArgs)
	// SelectiveScanBackward computes the gradients of Σ out·DOut with respect to
	// every input given in s. It does not keep B·D·L·N states: it recomputes
	// them chunk by chunk, so its memory is O(B·D·L). When s.Saved is set it
	// holds what SelectiveScan wrote there for the same s, and a backend may
	// restart from those states instead of recomputing them.
	SelectiveScanBackward(s ScanArgs, g ScanGrads)
	// ScanSaves reports whether SelectiveScanBackward runs faster for a scan
	// of these dimensions when given the states of ScanArgs.Saved (callers
	// that run the backward then pass a Saved tensor to both; others need not).
	ScanSaves(B, D, L, N int) bool
	// ScanStep advances the selective scan by one position for every b, d:
	// the formulas of SelectiveScan with L = 1, state (B, D, N) read as h_{t-1}
	// and overwritten with h_t. u, delta, z, out (B, D); B, C (B, N).
	ScanStep(s StepArgs)

	// RMSNorm computes, for each row r of x (rows, dim),
	//   rstd[r] = 1 / sqrt(mean_j x[r,j]² + eps),   out[r,j] = x[r,j]·rstd[r]·w[j].
	RMSNorm(out, rstd, x, w Tensor, eps float32)
	// RMSNormBackward computes dx (overwritten) and dw (added to) from dout,
	// given the x, w, rstd and eps of the forward:
	//   dx_j = rstd·w_j·dout_j − rstd³/dim·x_j·Σ_i dout_i·w_i·x_i,   dw_j += dout_j·x_j·rstd.
	RMSNormBackward(dx, dw, dout, x, w, rstd Tensor, eps float32)

	// SiLU computes out = x·σ(x) elementwise; SiLUBackward dx = dout·σ(x)·(1 + x·(1−σ(x))).
	SiLU(out, x Tensor)
	SiLUBackward(dx, x, dout Tensor)
	// Softplus computes out = log(1 + exp(x)) (x when x > 20, as PyTorch and
	// mamba_ssm do); SoftplusBackward dx = dout·σ(x).
	Softplus(out, x Tensor)
	SoftplusBackward(dx, x, dout Tensor)

	// AdamW applies one AdamW step (PyTorch's torch.optim.AdamW) to the
	// parameter p with gradient grad and moments m, v, all of one shape:
	//   g = GradScale·grad
	//   m = β1·m + (1−β1)·g,   v = β2·v + (1−β2)·g²
	//   p = p·(1 − LR·WeightDecay)
	//   p = p − LR·(m/(1−β1^Step)) / (sqrt(v/(1−β2^Step)) + Eps)
	AdamW(p, grad, m, v Tensor, a AdamWArgs)
	// SumSquares returns Σ x² over the tensor, accumulated in float64.
	SumSquares(x Tensor) float64

	// CrossEntropy computes losses[t] = logsumexp(logits[t,:]) − logits[t, targets[t]]
	// for logits (T, V); rows whose target is negative are ignored (loss 0).
	CrossEntropy(losses, logits Tensor, targets []int32)
	// CrossEntropyBackward computes dlogits[t,:] = scale·(softmax(logits[t,:]) − onehot(targets[t])),
	// and 0 for ignored rows. dlogits may be the same tensor as logits.
	CrossEntropyBackward(dlogits, logits Tensor, targets []int32, scale float32)
	// ArgmaxRows sets dst[r] to the index of the largest value of row r of
	// x (R, V), V ≥ 1, as a scan from the left that moves to each strictly
	// larger value: the first of equal values; a NaN is never chosen, but a
	// row whose value 0 is NaN gives 0 (as does a row of NaN). Greedy
	// decoding reads only the R indices back, not the logits.
	ArgmaxRows(dst []int32, x Tensor)
}

// AdamWArgs are the hyperparameters of one AdamW step.
type AdamWArgs struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Step                               int     // 1 for the first update
	GradScale                          float32 // multiplies the gradient first (clipping, averaging)
}

// GemmArgs describes a batched, strided matrix product in row-major storage.
// For batch i (0 ≤ i < Batch), matrix A_i starts at element A.Off+i·StrideA of
// A's storage and is stored as (M, K), or as (K, M) when TransA; likewise B_i
// is (K, N) or (N, K) when TransB, and C_i is (M, N). A stride of 0 shares one
// matrix across the batch. C_i = Alpha·op(A_i)·op(B_i) + Beta·C_i; with Beta
// == 0, C's previous contents are ignored (NaN included).
type GemmArgs struct {
	TransA, TransB            bool
	M, N, K                   int
	Batch                     int // 0 means 1
	Alpha, Beta               float32
	A, B, C                   Tensor
	StrideA, StrideB, StrideC int
}

// ConvArgs are the tensors of a causal depthwise convolution.
type ConvArgs struct {
	X    Tensor // (B, D, L) input
	W    Tensor // (D, K) one filter per channel
	Bias Tensor // (D) or nil
	Out  Tensor // (B, D, L)
	SiLU bool   // apply SiLU to the output
}

// ConvGrads are the gradients of a causal depthwise convolution.
type ConvGrads struct {
	DOut  Tensor // (B, D, L) upstream gradient
	DX    Tensor // (B, D, L) overwritten
	DW    Tensor // (D, K) added to
	DBias Tensor // (D) added to; nil when Bias is nil or not wanted
}

// ScanArgs are the tensors of a selective scan, with the semantics of
// mamba_ssm's selective_scan_fn. Optional tensors are the zero Tensor.
// The sequence tensors U, Delta, B, C, Z and Out are all float32 or all
// bfloat16 (as selective_scan_fn's with bf16 inputs; the state and every sum
// stay float32, and Out is rounded once); A, D, DeltaBias, H0 and HLast are
// always float32.
type ScanArgs struct {
	U             Tensor // (B, D, L) input u
	Delta         Tensor // (B, D, L) time step before bias and softplus
	A             Tensor // (D, N) state matrix (negative for a stable scan)
	B             Tensor // (B, N, L) input-dependent input matrix
	C             Tensor // (B, N, L) input-dependent output matrix
	D             Tensor // (D) skip connection, optional
	Z             Tensor // (B, D, L) gate, optional
	DeltaBias     Tensor // (D) optional
	DeltaSoftplus bool
	H0            Tensor // (B, D, N) initial state, optional
	Out           Tensor // (B, D, L) output
	HLast         Tensor // (B, D, N) final state, optional output
	// Saved, optional, float32 (B, D, ⌈L/ScanSaveEvery⌉, N): the states before
	// positions 0, 8, 16, … (output of SelectiveScan, input of its backward).
	Saved Tensor
}

// ScanSaveEvery is the stride in positions of the states in ScanArgs.Saved.
const ScanSaveEvery = 8

// ScanGrads are the gradients of a selective scan. Only DOut is an input;
// the rest are outputs, each optional except those whose input is present
// and which the caller wants. DA, DD and DDeltaBias are added to; the others
// are overwritten. DOut, DU, DDelta and DZ have the element type of the
// scan's sequence tensors; the rest, DB and DC included (they are sums over
// channels), are float32.
type ScanGrads struct {
	DOut       Tensor // (B, D, L)
	DHLast     Tensor // (B, D, N) gradient flowing into the final state, optional
	DU         Tensor // (B, D, L)
	DDelta     Tensor // (B, D, L)
	DA         Tensor // (D, N)
	DB         Tensor // (B, N, L)
	DC         Tensor // (B, N, L)
	DD         Tensor // (D)
	DZ         Tensor // (B, D, L)
	DDeltaBias Tensor // (D)
	DH0        Tensor // (B, D, N)
}

// StepArgs are the tensors of one recurrent step of the selective scan.
type StepArgs struct {
	State         Tensor // (B, D, N) h_{t-1} in, h_t out
	U, Delta      Tensor // (B, D)
	Z             Tensor // (B, D) optional
	A             Tensor // (D, N)
	B, C          Tensor // (B, N)
	D             Tensor // (D) optional
	DeltaBias     Tensor // (D) optional
	DeltaSoftplus bool
	Out           Tensor // (B, D)
}
