// Package core is the modality-free heart of mambakit: float32 tensors,
// the Backend interface of coarse operations that every compute backend
// implements, and Ops, which validates arguments in Go before calling a
// backend's unchecked kernels. Subpackages hold the float64 reference of
// every operation (ref), the conformance suite that holds backends to it
// (conformance), the Mamba-1 model (mamba), checkpoints (checkpoint) and
// safetensors I/O (tensorfile).
//
// Names in code and the symbols of the Mamba paper (Gu & Dao, 2023):
//
//	B            batch size (also the input matrix B, by context)
//	L            sequence length
//	D            channels of the SSM, d_inner = expand·d_model (also the skip vector D)
//	N            state size, d_state
//	K            convolution width, d_conv
//	R            rank of Δ's projection, dt_rank
//	V            vocabulary size
//	Delta, δ     the time step Δ; delta is its value before delta_bias and softplus
//	A            (D, N) the state matrix, A = −exp(A_log)
//	B, C         (B, N, L) the input-dependent input and output matrices
//	deltaA       exp(δ·A), the discretised A (Ā)
//	deltaBu      δ·B·u, the discretised input (B̄u)
//	h            the SSM state, (B, D, N)
//	Saved        (B, D, ⌈L/8⌉, N) h before every 8th position, kept by the
//	             forward for the backward where a backend asks (ScanSaves)
//	u, z         the scan input (B, D, L) and its gate
//	dX           the gradient of the loss with respect to X
//
// Shapes are written outermost first, e.g. (B, D, L): element [b, d, t] is
// at b·D·L + d·L + t.
package core
