package mamba

import (
	"errors"
	"fmt"

	"github.com/mambakit/mambakit/core"
)

// State is the recurrent state of B sequences: per block, the last K inputs
// of the convolution and the SSM state.
type State struct {
	B    int
	Conv []core.Tensor // per block (B, D, K), oldest input first
	SSM  []core.Tensor // per block (B, D, N)

	// scratch for one step
	resid, normed, x, z, u, dtr, bm, cm, delta, y core.Tensor
	rstd, final, logits                           core.Tensor
	a                                             []core.Tensor // per block (D, N) A = −exp(A_log)
	// For one sequence (B = 1): x and z are the halves of xz (1, 2D), and
	// dtr, bm, cm the parts of dbc (1, R + 2N), so that one product fills
	// each (a step is a few hundred small products; fewer pay on a GPU).
	xz, dbc core.Tensor
}

var errBidirectional = errors.New("a bidirectional model has no recurrent form: it reads every sequence both ways")

// NewState returns a zero state for B sequences: the state before any token.
func (m *Model) NewState(B int) *State {
	cfg := m.Cfg
	D, N, R, dm := cfg.DInner, cfg.DState, cfg.DtRank, cfg.DModel
	s := &State{B: B}
	for _, l := range m.P.Layers {
		s.Conv = append(s.Conv, m.Ops.Alloc(B, D, cfg.DConv))
		s.SSM = append(s.SSM, m.Ops.Alloc(B, D, N))
		s.a = append(s.a, m.negExp(m.Ops.Alloc(D, N), l.ALog))
	}
	al := m.Ops.Alloc
	s.resid, s.normed, s.rstd = al(B, dm), al(B, dm), al(B)
	s.u, s.delta, s.y = al(B, D), al(B, D), al(B, D)
	if B == 1 {
		s.xz, s.dbc = al(1, 2*D), al(1, R+2*N)
		part := func(t core.Tensor, lo, hi int) core.Tensor {
			return t.Reshape(t.Numel()).Slice(lo, hi).Reshape(1, hi-lo)
		}
		s.x, s.z = part(s.xz, 0, D), part(s.xz, D, 2*D)
		s.dtr, s.bm, s.cm = part(s.dbc, 0, R), part(s.dbc, R, R+N), part(s.dbc, R+N, R+2*N)
	} else {
		s.x, s.z = al(B, D), al(B, D)
		s.dtr, s.bm, s.cm = al(B, R), al(B, N), al(B, N)
	}
	s.final, s.logits = al(B, dm), al(B, cfg.Vocab)
	return s
}

// Step feeds one token per sequence (ids has B entries) through the model,
// advancing s, and returns the logits for the next token, (B, V). The
// returned tensor is reused by the next Step.
func (m *Model) Step(s *State, ids []int32) (core.Tensor, error) {
	if m.Cfg.Bidirectional {
		return core.Tensor{}, errBidirectional
	}
	if len(ids) != s.B {
		return core.Tensor{}, fmt.Errorf("step: %d ids for a state of %d sequences", len(ids), s.B)
	}
	if err := m.CheckIDs(ids); err != nil {
		return core.Tensor{}, err
	}
	cfg, ops := m.Cfg, m.Ops
	B, D, dm := s.B, cfg.DInner, cfg.DModel
	ops.Embedding(s.resid, m.P.Embed, ids)
	for i := range m.P.Layers {
		l := &m.P.Layers[i]
		ops.RMSNorm(s.normed, s.rstd, s.resid, l.Norm, float32(cfg.Eps))
		// in_proj: x = normed·W[0:D]ᵀ, z = normed·W[D:2D]ᵀ, each (B, D).
		if !s.xz.IsNil() {
			ops.Gemm(core.GemmArgs{TransB: true, M: 1, N: 2 * D, K: dm, Alpha: 1, A: s.normed, B: l.InProj, C: s.xz})
			if !l.InBias.IsNil() {
				ops.Gemm(core.GemmArgs{M: 1, N: 2 * D, K: 1, Alpha: 1, Beta: 1, A: m.onesVec(1), B: l.InBias, C: s.xz})
			}
		} else {
			for h, dst := range []core.Tensor{s.x, s.z} {
				ops.Gemm(core.GemmArgs{TransB: true, M: B, N: D, K: dm, Alpha: 1,
					A: s.normed, B: l.InProj.Slice(h*D, (h+1)*D), C: dst})
				if !l.InBias.IsNil() {
					ops.Gemm(core.GemmArgs{M: B, N: D, K: 1, Alpha: 1, Beta: 1,
						A: m.onesVec(B), B: l.InBias.Slice(h*D, (h+1)*D), C: dst})
				}
			}
		}
		ops.ConvStep(s.Conv[i], s.x, l.ConvW, l.ConvB, s.u, true)
		// x_proj: (dtr, B, C) = u·W_xᵀ, split by columns.
		if !s.dbc.IsNil() {
			ops.Gemm(core.GemmArgs{TransB: true, M: 1, N: s.dbc.Shape[1], K: D, Alpha: 1, A: s.u, B: l.XProj, C: s.dbc})
		} else {
			row := 0
			for _, dst := range []core.Tensor{s.dtr, s.bm, s.cm} {
				rows := dst.Shape[1]
				ops.Gemm(core.GemmArgs{TransB: true, M: B, N: rows, K: D, Alpha: 1,
					A: s.u, B: l.XProj.Slice(row, row+rows), C: dst})
				row += rows
			}
		}
		ops.Gemm(core.GemmArgs{TransB: true, M: B, N: D, K: cfg.DtRank, Alpha: 1,
			A: s.dtr, B: l.DtProj, C: s.delta})
		ops.ScanStep(core.StepArgs{State: s.SSM[i], U: s.u, Delta: s.delta, Z: s.z, A: s.a[i],
			B: s.bm, C: s.cm, D: l.D, DeltaBias: l.DtBias, DeltaSoftplus: true, Out: s.y})
		// resid += y·W_outᵀ (+ bias)
		ops.Gemm(core.GemmArgs{TransB: true, M: B, N: dm, K: D, Alpha: 1, Beta: 1,
			A: s.y, B: l.OutProj, C: s.resid})
		if !l.OutBias.IsNil() {
			ops.Gemm(core.GemmArgs{M: B, N: dm, K: 1, Alpha: 1, Beta: 1,
				A: m.onesVec(B), B: l.OutBias, C: s.resid})
		}
	}
	ops.RMSNorm(s.final, s.rstd, s.resid, m.P.NormF, float32(cfg.Eps))
	ops.Gemm(core.GemmArgs{TransB: true, M: B, N: cfg.Vocab, K: dm, Alpha: 1,
		A: s.final, B: m.P.Head, C: s.logits})
	return s.logits, nil
}

// Prefill runs the full (parallel) forward over ids, B sequences of L tokens,
// and returns the logits of the last position (B, V) with the recurrent state
// after the last token, ready for Step. It gives the same state as feeding
// the tokens one by one through Step.
func (m *Model) Prefill(ids []int32, B, L int) ([]float32, *State, error) {
	if m.Cfg.Bidirectional {
		return nil, nil, errBidirectional
	}
	if L < 1 {
		return nil, nil, fmt.Errorf("prefill: empty prompt")
	}
	s := m.NewState(B)
	acts := &layerActs{}
	cfg, ops := m.Cfg, m.Ops
	m.ws.reset()
	if len(ids) != B*L {
		return nil, nil, fmt.Errorf("prefill: %d ids for batch %d × length %d", len(ids), B, L)
	}
	if err := m.CheckIDs(ids); err != nil {
		return nil, nil, err
	}
	D, K, dm := cfg.DInner, cfg.DConv, cfg.DModel
	resid := m.tensor(B, L, dm)
	ops.Embedding(resid.Reshape(B*L, dm), m.P.Embed, ids)
	for i := range m.P.Layers {
		next := m.tensor(B, L, dm)
		m.blockForward(&m.P.Layers[i], acts, resid, next, B, L, s.SSM[i], false)
		// The conv state is the last K inputs x (zero before the start).
		x := ops.ToHost(acts.fwd.x)
		conv := make([]float32, B*D*K)
		for r := 0; r < B*D; r++ {
			for k := 0; k < K; k++ {
				if t := L - K + k; t >= 0 {
					conv[r*K+k] = x[r*L+t]
				}
			}
		}
		ops.Upload(s.Conv[i], conv)
		resid = next
	}
	last := m.tensor(B, dm)
	h := ops.ToHost(resid)
	lastH := make([]float32, B*dm)
	for b := 0; b < B; b++ {
		copy(lastH[b*dm:(b+1)*dm], h[(b*L+L-1)*dm:(b*L+L)*dm])
	}
	ops.Upload(last, lastH)
	ops.RMSNorm(s.final, s.rstd, last, m.P.NormF, float32(cfg.Eps))
	ops.Gemm(core.GemmArgs{TransB: true, M: B, N: cfg.Vocab, K: dm, Alpha: 1,
		A: s.final, B: m.P.Head, C: s.logits})
	return ops.ToHost(s.logits), s, nil
}

// GenerateOptions control Generate.
type GenerateOptions struct {
	MaxNew int   // tokens to add at most
	EOS    int32 // stop a sequence after it emits this id; negative: never stop
	// Sampler chooses each token; nil means greedy.
	Sampler *Sampler
	// OnToken, when set, is called with each new token as it is chosen.
	OnToken func(seq int, id int32)
}

// Generate continues each of B prompts of length L and returns each prompt
// with its continuation. A sequence ends after MaxNew tokens or once it
// emits EOS (included), as transformers' generate does. The prompts are
// prefilled in parallel, then decoded through Step.
func (m *Model) Generate(prompt []int32, B, L int, o GenerateOptions) ([][]int32, error) {
	out := make([][]int32, B)
	for b := range out {
		out[b] = append([]int32(nil), prompt[b*L:(b+1)*L]...)
	}
	if o.MaxNew <= 0 {
		return out, nil
	}
	logits, s, err := m.Prefill(prompt, B, L)
	if err != nil {
		return nil, err
	}
	sampler := o.Sampler
	if sampler == nil {
		sampler = &Sampler{Greedy: true}
	}
	V := m.Cfg.Vocab
	// Plain greedy decoding chooses on the device (Ops.ArgmaxRows, the
	// sampler's own rule) and reads back B ids instead of B·V logits.
	onDevice := sampler.greedy() && !sampler.penalises()
	var chosen []int32 // onDevice, after the first step: the ids ArgmaxRows chose
	done := make([]bool, B)
	next := make([]int32, B)
	for i := 0; ; i++ {
		live := false
		for b := 0; b < B; b++ {
			if done[b] {
				next[b] = out[b][len(out[b])-1] // keep feeding something valid
				continue
			}
			if chosen != nil {
				next[b] = chosen[b]
			} else {
				next[b] = sampler.Next(logits[b*V:(b+1)*V], out[b])
			}
			out[b] = append(out[b], next[b])
			if o.OnToken != nil {
				o.OnToken(b, next[b])
			}
			done[b] = next[b] == o.EOS || i+1 == o.MaxNew
			live = live || !done[b]
		}
		if !live {
			return out, nil
		}
		lt, err := m.Step(s, next)
		if err != nil {
			return nil, err
		}
		if onDevice {
			chosen = m.Ops.ArgmaxRows(lt)
		} else {
			logits = m.Ops.ToHost(lt)
		}
	}
}
