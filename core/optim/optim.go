// Package optim trains parameters: AdamW with decoupled weight decay, the
// learning-rate schedule (linear warm-up, cosine decay), gradient-norm
// clipping and gradient accumulation, all on a core.Backend.
package optim

import (
	"fmt"
	"math"
	"strings"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/mamba"
)

// Config holds AdamW's hyperparameters.
type Config struct {
	LR, MinLR         float64 // peak and final learning rate
	WarmupSteps       int     // linear warm-up from 0 to LR
	TotalSteps        int     // cosine decay from LR to MinLR ends here
	Beta1, Beta2, Eps float64
	WeightDecay       float64
	ClipNorm          float64 // clip the global gradient norm to this (0: off)
}

// DefaultConfig is the recipe of the Mamba paper's language-model runs
// (AdamW β = (0.9, 0.95), weight decay 0.1, clipping at 1, warm-up then
// cosine decay to 1/10 of the peak).
func DefaultConfig(lr float64, steps int) Config {
	return Config{LR: lr, MinLR: lr / 10, WarmupSteps: min(steps/10, 1000), TotalSteps: steps,
		Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, ClipNorm: 1}
}

// LRAt returns the learning rate of step (1-based): linear warm-up over
// WarmupSteps, then cosine decay to MinLR at TotalSteps, MinLR after.
func (c Config) LRAt(step int) float64 {
	if step <= c.WarmupSteps && c.WarmupSteps > 0 {
		return c.LR * float64(step) / float64(c.WarmupSteps)
	}
	if step >= c.TotalSteps {
		return c.MinLR
	}
	span := c.TotalSteps - c.WarmupSteps
	if span <= 0 {
		return c.LR
	}
	frac := float64(step-c.WarmupSteps) / float64(span)
	return c.MinLR + 0.5*(c.LR-c.MinLR)*(1+math.Cos(math.Pi*frac))
}

// Decays reports whether a parameter takes weight decay. Matrices do:
// in_proj, x_proj, dt_proj, out_proj, the convolution filters, the
// embedding and an untied head (the embedding decays as in nanoGPT and
// transformers' Trainer, which exempt only biases and norms). A_log and D
// do not (mamba_ssm marks them _no_weight_decay), nor do norms or any bias
// (dt_proj.bias included).
func Decays(name string) bool {
	switch {
	case strings.HasSuffix(name, ".A_log"), strings.HasSuffix(name, ".D"),
		strings.HasSuffix(name, ".bias"), strings.Contains(name, "norm"):
		return false
	}
	return true
}

// AdamW holds the moments of every parameter of a model.
type AdamW struct {
	Cfg  Config
	Step int // updates applied so far
	ops  core.Ops
	p    []mamba.Named // the parameters
	g    []mamba.Named // their gradients, same order
	m, v []core.Tensor
}

// NewAdamW prepares AdamW for params with gradients grads (same layout).
func NewAdamW(cfg Config, be core.Backend, params, grads *mamba.Params) *AdamW {
	return NewAdamWNamed(cfg, be, params.List(), grads.List())
}

// NewAdamWNamed prepares AdamW for named parameters and their gradients,
// listed in the same order (a model with a task head, say).
func NewAdamWNamed(cfg Config, be core.Backend, params, grads []mamba.Named) *AdamW {
	o := &AdamW{Cfg: cfg, ops: core.Ops{Backend: be}, p: params, g: grads}
	if len(o.p) != len(o.g) {
		panic("optim: parameters and gradients differ in layout")
	}
	for _, p := range o.p {
		o.m = append(o.m, be.Alloc(p.T.Shape...))
		o.v = append(o.v, be.Alloc(p.T.Shape...))
	}
	return o
}

// GradNorm returns the global L2 norm of the gradients times scale.
func (o *AdamW) GradNorm(scale float64) float64 {
	s := 0.0
	for _, g := range o.g {
		s += o.ops.SumSquares(g.T)
	}
	return math.Sqrt(s) * math.Abs(scale)
}

// Update applies one step with the gradients multiplied by scale (1/the
// number of accumulated micro-batches), clipping their global norm, and
// returns the learning rate used and the norm before clipping.
func (o *AdamW) Update(scale float64) (lr, norm float64) {
	o.Step++
	lr = o.Cfg.LRAt(o.Step)
	norm = o.GradNorm(scale)
	if o.Cfg.ClipNorm > 0 && norm > o.Cfg.ClipNorm {
		scale *= o.Cfg.ClipNorm / norm
	}
	for i, p := range o.p {
		wd := 0.0
		if Decays(p.Name) {
			wd = o.Cfg.WeightDecay
		}
		o.ops.AdamW(p.T, o.g[i].T, o.m[i], o.v[i], core.AdamWArgs{LR: lr, Beta1: o.Cfg.Beta1, Beta2: o.Cfg.Beta2,
			Eps: o.Cfg.Eps, WeightDecay: wd, Step: o.Step, GradScale: float32(scale)})
	}
	return lr, norm
}

// ZeroGrad clears the gradients.
func (o *AdamW) ZeroGrad() {
	for _, g := range o.g {
		o.ops.Fill(g.T, 0)
	}
}

// State is the optimizer's moments under the names "exp_avg.<param>" and
// "exp_avg_sq.<param>" (PyTorch's), as host tensors, for checkpoints.
func (o *AdamW) State() map[string][]float32 {
	out := map[string][]float32{}
	for i, p := range o.p {
		out["exp_avg."+p.Name] = o.ops.ToHost(o.m[i])
		out["exp_avg_sq."+p.Name] = o.ops.ToHost(o.v[i])
	}
	return out
}

// Shapes returns the shape of each state tensor, by name.
func (o *AdamW) Shapes() map[string][]int {
	out := map[string][]int{}
	for _, p := range o.p {
		out["exp_avg."+p.Name] = p.T.Shape
		out["exp_avg_sq."+p.Name] = p.T.Shape
	}
	return out
}

// SetState restores the moments saved by State; every tensor must be there
// with the right length.
func (o *AdamW) SetState(st map[string][]float32, step int) error {
	for i, p := range o.p {
		for _, kv := range []struct {
			name string
			t    core.Tensor
		}{{"exp_avg." + p.Name, o.m[i]}, {"exp_avg_sq." + p.Name, o.v[i]}} {
			v, ok := st[kv.name]
			if !ok {
				return fmt.Errorf("optimizer state: missing %q", kv.name)
			}
			if len(v) != kv.t.Numel() {
				return fmt.Errorf("optimizer state: %q has %d values, want %d", kv.name, len(v), kv.t.Numel())
			}
			o.ops.Upload(kv.t, v)
		}
	}
	o.Step = step
	return nil
}
