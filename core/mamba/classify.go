package mamba

import (
	"fmt"
	"math/rand/v2"

	"github.com/mambakit/mambakit/core"
)

// Pooling names how a classifier reduces a sequence's final hidden states
// (B, L, d_model) to one vector per sequence.
type Pooling string

const (
	PoolMean  Pooling = "mean"  // the mean over the sequence's positions
	PoolLast  Pooling = "last"  // the last position (sees the whole sequence in a causal model)
	PoolFirst Pooling = "first" // the first position, a [CLS] token for bidirectional models
)

// Classifier is a sequence classifier: the backbone of a Mamba model, a
// pooling of its final norm's output, and a linear head.
type Classifier struct {
	M      *Model
	W      core.Tensor // (C, d_model) classifier.weight
	Bias   core.Tensor // (C) classifier.bias
	Pool   Pooling
	Labels []string // class names, C of them
}

// ClassifierGrads are the gradients of a classifier's parameters.
type ClassifierGrads struct {
	Backbone *Params
	W, Bias  core.Tensor
}

// NewClassifier puts a head with one output per label on m: weights
// N(0, initializer_range²), bias 0.
func NewClassifier(m *Model, labels []string, pool Pooling, r *rand.Rand) (*Classifier, error) {
	switch pool {
	case PoolMean, PoolLast, PoolFirst:
	default:
		return nil, fmt.Errorf("pooling %q: mean, last or first", pool)
	}
	if len(labels) < 2 {
		return nil, fmt.Errorf("a classifier needs at least 2 classes, have %d", len(labels))
	}
	c := &Classifier{M: m, W: m.Ops.Alloc(len(labels), m.Cfg.DModel), Bias: m.Ops.Alloc(len(labels)), Pool: pool,
		Labels: append([]string(nil), labels...)}
	w := make([]float32, c.W.Numel())
	for i := range w {
		w[i] = float32(m.Cfg.InitializerRange * r.NormFloat64())
	}
	m.Ops.Upload(c.W, w)
	return c, nil
}

// NewGrads allocates zeroed gradients for c.
func (c *Classifier) NewGrads() *ClassifierGrads {
	return &ClassifierGrads{Backbone: NewParams(c.M.Cfg, c.M.Ops.Backend),
		W: c.M.Ops.Alloc(c.W.Shape...), Bias: c.M.Ops.Alloc(c.Bias.Shape...)}
}

// List returns the classifier's parameters: the backbone's under their
// Hugging Face names, then classifier.weight and classifier.bias.
func (c *Classifier) List() []Named {
	return append(c.M.P.List(), Named{Name: "classifier.weight", T: c.W, HFShape: c.W.Shape},
		Named{Name: "classifier.bias", T: c.Bias, HFShape: c.Bias.Shape})
}

// List returns the gradients in the order of Classifier.List.
func (g *ClassifierGrads) List() []Named {
	return append(g.Backbone.List(), Named{Name: "classifier.weight", T: g.W, HFShape: g.W.Shape},
		Named{Name: "classifier.bias", T: g.Bias, HFShape: g.Bias.Shape})
}

// ClassPass is a classifier's forward pass.
type ClassPass struct {
	pass   *Pass
	B, L   int
	weight core.Tensor // (B, L) pooling weights
	pooled core.Tensor // (B, d_model)
	Logits core.Tensor // (B, C)
}

// poolWeights returns the pooling weights of B sequences padded to L, whose
// real lengths are lens: (B, L) with the weights of each position.
func poolWeights(pool Pooling, lens []int, B, L int) ([]float32, error) {
	w := make([]float32, B*L)
	for b, n := range lens {
		if n < 1 || n > L {
			return nil, fmt.Errorf("sequence %d has length %d, outside [1, %d]", b, n, L)
		}
		switch pool {
		case PoolMean:
			for t := 0; t < n; t++ {
				w[b*L+t] = 1 / float32(n)
			}
		case PoolLast:
			w[b*L+n-1] = 1
		case PoolFirst:
			w[b*L] = 1
		}
	}
	return w, nil
}

// Forward runs B sequences of ids, each padded to L (real lengths in lens),
// through the backbone, pools and applies the head. With train it keeps what
// Backward needs. The pass lives in the model's workspace until its next
// forward.
func (c *Classifier) Forward(ids []int32, lens []int, B, L int, train bool) (*ClassPass, error) {
	if len(lens) != B {
		return nil, fmt.Errorf("classifier: %d lengths for %d sequences", len(lens), B)
	}
	w, err := poolWeights(c.Pool, lens, B, L)
	if err != nil {
		return nil, err
	}
	m, ops := c.M, c.M.Ops
	p, err := m.Forward(ids, B, L, ForwardOptions{Train: train, NoHead: true})
	if err != nil {
		return nil, err
	}
	dm, C := m.Cfg.DModel, len(c.Labels)
	cp := &ClassPass{pass: p, B: B, L: L, weight: m.tensor(B, L), pooled: m.tensor(B, dm), Logits: m.tensor(B, C)}
	ops.Upload(cp.weight, w)
	// pooled_b (1, dm) = weight_b (1, L) · final_b (L, dm)
	ops.Gemm(core.GemmArgs{M: 1, N: dm, K: L, Batch: B, Alpha: 1, A: cp.weight, StrideA: L,
		B: p.final, StrideB: L * dm, C: cp.pooled, StrideC: dm})
	// logits = pooled · Wᵀ + bias
	ops.Gemm(core.GemmArgs{TransB: true, M: B, N: C, K: dm, Alpha: 1, A: cp.pooled, B: c.W, C: cp.Logits})
	ops.Gemm(core.GemmArgs{M: B, N: C, K: 1, Alpha: 1, Beta: 1, A: m.onesVec(B), B: c.Bias, C: cp.Logits})
	return cp, nil
}

// Loss returns the mean cross-entropy of the pass's logits against labels.
func (c *Classifier) Loss(cp *ClassPass, labels []int32) float64 {
	losses := c.M.tensor(cp.B)
	c.M.Ops.CrossEntropy(losses, cp.Logits, labels)
	h := c.M.Ops.ToHost(losses)
	s := 0.0
	for _, v := range h {
		s += float64(v)
	}
	return s / float64(cp.B)
}

// Backward adds the gradients of the mean cross-entropy to g. It consumes
// cp: the logits are overwritten by their gradient.
func (c *Classifier) Backward(cp *ClassPass, labels []int32, g *ClassifierGrads) {
	m, ops := c.M, c.M.Ops
	B, L, dm, C := cp.B, cp.L, m.Cfg.DModel, len(c.Labels)
	dlogits := cp.Logits
	ops.CrossEntropyBackward(dlogits, dlogits, labels, float32(1/float64(B)))
	ops.Gemm(core.GemmArgs{TransA: true, M: C, N: dm, K: B, Alpha: 1, Beta: 1, A: dlogits, B: cp.pooled, C: g.W})
	ops.Gemm(core.GemmArgs{TransA: true, M: 1, N: C, K: B, Alpha: 1, Beta: 1, A: m.onesVec(B), B: dlogits, C: g.Bias})
	dpooled := m.tensor(B, dm)
	ops.Gemm(core.GemmArgs{M: B, N: dm, K: C, Alpha: 1, A: dlogits, B: c.W, C: dpooled})
	// dfinal_b (L, dm) = weight_bᵀ (L, 1) · dpooled_b (1, dm)
	dfinal := m.tensor(B, L, dm)
	ops.Gemm(core.GemmArgs{TransA: true, M: L, N: dm, K: 1, Batch: B, Alpha: 1, A: cp.weight, StrideA: L,
		B: dpooled, StrideB: dm, C: dfinal, StrideC: L * dm})
	cp.Logits = core.Tensor{}
	m.BackwardHidden(cp.pass, dfinal, g.Backbone)
}
