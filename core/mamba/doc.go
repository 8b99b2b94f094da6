// Package mamba is the Mamba-1 language model of transformers'
// MambaForCausalLM and mamba_ssm's MambaLMHeadModel, on any core.Backend.
//
// One block, for the residual stream x (B, L, d_model):
//
//	h      = RMSNorm(x)                              (B, L, d_model)
//	x', z  = in_proj(h), split in halves             (B, D, L) each
//	u      = SiLU(causal depthwise conv(x'))         (B, D, L)
//	dtr, B, C = x_proj(u), split (R, N, N)           (B, R, L), (B, N, L), (B, N, L)
//	delta  = dt_proj.weight · dtr                    (B, D, L)
//	y      = selective_scan(u, delta, A = −exp(A_log), B, C, D, z,
//	                        delta_bias = dt_proj.bias, softplus)
//	x      = x + out_proj(y)
//
// and logits = norm_f(x)·Headᵀ. Inside the mixer tensors are channel-major,
// (B, D, L), as mamba_ssm's selective_scan_fn takes them; the projections are
// batched GEMMs that read and write that layout directly.
//
// Code names: DModel d_model, DInner D, DState N, DConv K, DtRank R;
// Layer.ALog A_log, Layer.D the skip D, Layer.DtBias dt_proj.bias (delta_bias).
// Forward keeps, per block, what Backward needs (layerActs); Backward replays
// the blocks in reverse (blockBackward mirrors blockForward line by line).
// Step is the recurrent form: per block a conv state (B, D, K) and an SSM
// state h (B, D, N).
package mamba
