package mamba

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/mambakit/mambakit/core"
)

// Layer holds one Mamba block's parameters. D = d_inner, R = dt_rank,
// N = d_state, K = d_conv.
type Layer struct {
	Norm    core.Tensor // (d_model) RMSNorm weight
	InProj  core.Tensor // (2·D, d_model): rows [0, D) make x, rows [D, 2D) make the gate z
	InBias  core.Tensor // (2·D) or nil
	ConvW   core.Tensor // (D, K) depthwise filters; Hugging Face stores (D, 1, K)
	ConvB   core.Tensor // (D) or nil
	XProj   core.Tensor // (R + 2·N, D): rows [0, R) make Δ's low-rank input, then B, then C
	DtProj  core.Tensor // (D, R)
	DtBias  core.Tensor // (D) dt_proj.bias, the scan's delta_bias
	ALog    core.Tensor // (D, N) A = −exp(A_log)
	D       core.Tensor // (D) skip connection
	OutProj core.Tensor // (d_model, D)
	OutBias core.Tensor // (d_model) or nil
	Rev     *RevMixer   // the reverse direction of a bidirectional block, or nil
}

// RevMixer is the reverse direction of a bidirectional (BiMamba) block, as
// in Caduceus with weight tying: its own convolution, projections of Δ, B
// and C, A and D, while in_proj and out_proj are the forward direction's.
type RevMixer struct {
	ConvW  core.Tensor // (D, K)
	ConvB  core.Tensor // (D) or nil
	XProj  core.Tensor // (R + 2·N, D)
	DtProj core.Tensor // (D, R)
	DtBias core.Tensor // (D)
	ALog   core.Tensor // (D, N)
	D      core.Tensor // (D)
}

// Params holds every parameter of a model. With tied embeddings Head is the
// same tensor as Embed, so gradients of both uses accumulate in one place.
type Params struct {
	Embed  core.Tensor // (V, d_model)
	Layers []Layer
	NormF  core.Tensor // (d_model)
	Head   core.Tensor // (V, d_model)
	Tied   bool        // Head is Embed
}

// Named is a parameter with its Hugging Face name and stored shape.
type Named struct {
	Name    string
	T       core.Tensor
	HFShape []int // the shape Hugging Face stores (conv1d.weight is (D, 1, K))
}

// NewParams allocates zeroed parameters for cfg on the backend.
func NewParams(cfg Config, be core.Backend) *Params {
	D, N, R, dm, K := cfg.DInner, cfg.DState, cfg.DtRank, cfg.DModel, cfg.DConv
	p := &Params{Embed: be.Alloc(cfg.Vocab, dm), NormF: be.Alloc(dm), Layers: make([]Layer, cfg.NLayer)}
	for i := range p.Layers {
		l := &p.Layers[i]
		l.Norm = be.Alloc(dm)
		l.InProj = be.Alloc(2*D, dm)
		l.ConvW = be.Alloc(D, K)
		l.XProj = be.Alloc(R+2*N, D)
		l.DtProj = be.Alloc(D, R)
		l.DtBias = be.Alloc(D)
		l.ALog = be.Alloc(D, N)
		l.D = be.Alloc(D)
		l.OutProj = be.Alloc(dm, D)
		if cfg.UseBias {
			l.InBias = be.Alloc(2 * D)
			l.OutBias = be.Alloc(dm)
		}
		if cfg.UseConvBias {
			l.ConvB = be.Alloc(D)
		}
		if cfg.Bidirectional {
			l.Rev = &RevMixer{ConvW: be.Alloc(D, K), XProj: be.Alloc(R+2*N, D), DtProj: be.Alloc(D, R),
				DtBias: be.Alloc(D), ALog: be.Alloc(D, N), D: be.Alloc(D)}
			if cfg.UseConvBias {
				l.Rev.ConvB = be.Alloc(D)
			}
		}
	}
	if cfg.TieEmbeddings {
		p.Head, p.Tied = p.Embed, true
	} else {
		p.Head = be.Alloc(cfg.Vocab, dm)
	}
	return p
}

// List returns every distinct parameter under its Hugging Face name, in a
// fixed order. The tied head is not listed separately.
func (p *Params) List() []Named {
	var out []Named
	add := func(name string, t core.Tensor, hf ...int) {
		if t.IsNil() {
			return
		}
		if hf == nil {
			hf = t.Shape
		}
		out = append(out, Named{Name: name, T: t, HFShape: hf})
	}
	add("backbone.embeddings.weight", p.Embed)
	for i, l := range p.Layers {
		pre := fmt.Sprintf("backbone.layers.%d.", i)
		add(pre+"norm.weight", l.Norm)
		add(pre+"mixer.in_proj.weight", l.InProj)
		add(pre+"mixer.in_proj.bias", l.InBias)
		add(pre+"mixer.conv1d.weight", l.ConvW, l.ConvW.Shape[0], 1, l.ConvW.Shape[1])
		add(pre+"mixer.conv1d.bias", l.ConvB)
		add(pre+"mixer.x_proj.weight", l.XProj)
		add(pre+"mixer.dt_proj.weight", l.DtProj)
		add(pre+"mixer.dt_proj.bias", l.DtBias)
		add(pre+"mixer.A_log", l.ALog)
		add(pre+"mixer.D", l.D)
		add(pre+"mixer.out_proj.weight", l.OutProj)
		add(pre+"mixer.out_proj.bias", l.OutBias)
		if r := l.Rev; r != nil {
			add(pre+"mixer.rev.conv1d.weight", r.ConvW, r.ConvW.Shape[0], 1, r.ConvW.Shape[1])
			add(pre+"mixer.rev.conv1d.bias", r.ConvB)
			add(pre+"mixer.rev.x_proj.weight", r.XProj)
			add(pre+"mixer.rev.dt_proj.weight", r.DtProj)
			add(pre+"mixer.rev.dt_proj.bias", r.DtBias)
			add(pre+"mixer.rev.A_log", r.ALog)
			add(pre+"mixer.rev.D", r.D)
		}
	}
	add("backbone.norm_f.weight", p.NormF)
	if !p.Tied {
		add("lm_head.weight", p.Head)
	}
	return out
}

// Init fills p as mamba_ssm initialises a fresh model (and as transformers'
// MambaPreTrainedModel does):
//   - embeddings ~ N(0, initializer_range²);
//   - in_proj, x_proj, out_proj: PyTorch's nn.Linear default, U(±1/sqrt(fan_in)),
//     out_proj then divided by sqrt(n_layer) when RescalePrenormResidual;
//   - conv1d: nn.Conv1d default, U(±1/sqrt(K)) for weight and bias;
//   - dt_proj.weight ~ U(±dt_rank^-0.5·dt_scale);
//   - dt_proj.bias = softplus⁻¹(dt), dt = exp(U(log dt_min, log dt_max)) floored at dt_init_floor;
//   - A_log[d, n] = log(n+1) (S4D-real), D = 1, norms = 1, other biases 0.
//
// An untied head is drawn like the embedding.
func (p *Params) Init(cfg Config, be core.Backend, r *rand.Rand) {
	ops := core.Ops{Backend: be}
	set := func(t core.Tensor, f func(i int) float64) {
		h := make([]float32, t.Numel())
		for i := range h {
			h[i] = float32(f(i))
		}
		ops.Upload(t, h)
	}
	normal := func(std float64) func(int) float64 { return func(int) float64 { return std * r.NormFloat64() } }
	uniform := func(a float64) func(int) float64 { return func(int) float64 { return a * (2*r.Float64() - 1) } }
	one := func(int) float64 { return 1 }
	set(p.Embed, normal(cfg.InitializerRange))
	if !cfg.TieEmbeddings {
		set(p.Head, normal(cfg.InitializerRange))
	}
	set(p.NormF, one)
	D, N := cfg.DInner, cfg.DState
	initMixer := func(mp mixerParams) {
		set(mp.ConvW, uniform(1/math.Sqrt(float64(cfg.DConv))))
		if !mp.ConvB.IsNil() {
			set(mp.ConvB, uniform(1/math.Sqrt(float64(cfg.DConv))))
		}
		set(mp.XProj, uniform(1/math.Sqrt(float64(D))))
		set(mp.DtProj, uniform(math.Pow(float64(cfg.DtRank), -0.5)*cfg.DtScale))
		set(mp.DtBias, func(int) float64 {
			lo, hi := math.Log(cfg.DtMin), math.Log(cfg.DtMax)
			dt := math.Max(math.Exp(lo+r.Float64()*(hi-lo)), cfg.DtInitFloor)
			return dt + math.Log(-math.Expm1(-dt)) // softplus⁻¹(dt)
		})
		set(mp.ALog, func(i int) float64 { return math.Log(float64(i%N + 1)) })
		set(mp.D, one)
	}
	for _, l := range p.Layers {
		set(l.Norm, one)
		set(l.InProj, uniform(1/math.Sqrt(float64(cfg.DModel))))
		initMixer(l.mixer())
		if l.Rev != nil {
			initMixer(l.Rev.mixer())
		}
		scale := 1 / math.Sqrt(float64(D))
		if cfg.RescalePrenormResidual {
			scale /= math.Sqrt(float64(cfg.NLayer))
		}
		set(l.OutProj, uniform(scale))
	}
}

// ToBF16 replaces the projection matrices and the embedding (and an untied
// head) by bfloat16 copies, halving the bytes that decoding reads per token;
// norms, A_log, D, the convolution and biases stay float32. Values are
// rounded to nearest even. Meant for inference: gradients flow through such
// weights, but optimisers keep float32 masters.
func (p *Params) ToBF16(be core.Backend) {
	ops := core.Ops{Backend: be}
	conv := func(t *core.Tensor) {
		if t.IsNil() || t.IsBF16() {
			return
		}
		h := ops.ToHost(*t)
		nt := be.AllocBF16(t.Shape...)
		ops.Upload(nt, h)
		*t = nt
	}
	conv(&p.Embed)
	if p.Tied {
		p.Head = p.Embed
	} else {
		conv(&p.Head)
	}
	for i := range p.Layers {
		l := &p.Layers[i]
		conv(&l.InProj)
		conv(&l.XProj)
		conv(&l.DtProj)
		conv(&l.OutProj)
	}
}
