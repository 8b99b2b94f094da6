package mambatest

import (
	"math/rand/v2"
	"testing"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/mamba"
)

// RandomIDs returns n token ids drawn uniformly below vocab.
func RandomIDs(r *rand.Rand, n, vocab int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(r.IntN(vocab))
	}
	return ids
}

// Pass is what one training pass of a model gives: the mean loss, the logits
// (B, L, V) and every parameter's gradient by name.
type Pass struct {
	Loss   float64
	Logits []float32
	Grads  map[string][]float32
}

// TrainPass creates the model of cfg on be with mamba_ssm's initialisation
// from seed, runs its forward over ids (B, L) and its backward for the
// next-token loss, and returns what it gives, for comparing backends or
// precisions.
func TrainPass(t testing.TB, be core.Backend, cfg mamba.Config, ids []int32, B, L int, seed uint64) Pass {
	t.Helper()
	m, err := mamba.New(cfg, be)
	if err != nil {
		t.Fatal(err)
	}
	m.P.Init(m.Cfg, be, rand.New(rand.NewPCG(seed, 6)))
	pass, err := m.Forward(ids, B, L, mamba.ForwardOptions{Train: true})
	if err != nil {
		t.Fatal(err)
	}
	targets := mamba.NextTokenTargets(ids, B, L)
	out := Pass{Logits: m.Ops.ToHost(pass.Logits), Grads: map[string][]float32{}}
	out.Loss, _ = m.Loss(pass, targets)
	g := mamba.NewParams(m.Cfg, be)
	m.Backward(pass, targets, g)
	for _, p := range g.List() {
		out.Grads[p.Name] = m.Ops.ToHost(p.T)
	}
	return out
}

// Diff returns the relative error of got's loss and the relative L2 errors
// of its logits and of its worst gradient (named) against want.
func Diff(got, want Pass) (loss, logits, grad float64, gradName string) {
	loss = (got.Loss - want.Loss) / want.Loss
	if loss < 0 {
		loss = -loss
	}
	logits = RelL2(F64(got.Logits), F64(want.Logits))
	for name, w := range want.Grads {
		if e := RelL2(F64(got.Grads[name]), F64(w)); e > grad {
			grad, gradName = e, name
		}
	}
	return
}
