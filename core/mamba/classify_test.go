package mamba_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mambakit/mambakit/core/conformance"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/mamba/mambatest"
	"github.com/mambakit/mambakit/core/ref"
)

// refClassLoss is the float64 reference of a classifier's loss: the final
// norm's output of the reference forward, pooled, times the head, softmax
// cross-entropy; it also returns the logits.
func refClassLoss(rm *refModel, w, bias []float64, pool mamba.Pooling, ids []int32, lens []int, labels []int32, B, L, C int) (float64, []float64) {
	_, hidden := rm.forward(ids, B, L)
	final := hidden[len(hidden)-1]
	dm := rm.cfg.DModel
	logits := make([]float64, B*C)
	for b := 0; b < B; b++ {
		pooled := make([]float64, dm)
		n := lens[b]
		for t := 0; t < n; t++ {
			wt := 0.0
			switch pool {
			case mamba.PoolMean:
				wt = 1 / float64(n)
			case mamba.PoolLast:
				if t == n-1 {
					wt = 1
				}
			case mamba.PoolFirst:
				if t == 0 {
					wt = 1
				}
			}
			for j := 0; j < dm; j++ {
				pooled[j] += wt * final[(b*L+t)*dm+j]
			}
		}
		for c := 0; c < C; c++ {
			s := bias[c]
			for j := 0; j < dm; j++ {
				s += w[c*dm+j] * pooled[j]
			}
			logits[b*C+c] = s
		}
	}
	losses := make([]float64, B)
	ref.CrossEntropy(losses, logits, labels, C)
	s := 0.0
	for _, l := range losses {
		s += l
	}
	return s / float64(B), logits
}

// TestClassifier holds the classifier's logits to the float64 reference and
// its gradients (head and backbone) to finite differences of it, for each
// pooling, a causal and a bidirectional backbone, with padded sequences.
func TestClassifier(t *testing.T) {
	cfgs := generalConfigs()
	for ci, c := range []struct {
		idx  int
		pool mamba.Pooling
	}{{1, mamba.PoolMean}, {2, mamba.PoolLast}, {5, mamba.PoolFirst}, {5, mamba.PoolMean}} {
		t.Run(fmt.Sprintf("%d-%s", c.idx, c.pool), func(t *testing.T) {
			gc := cfgs[c.idx]
			m, rm := randomModel(t, gc.cfg, uint64(400+ci))
			r := rand.New(rand.NewPCG(uint64(ci), 8))
			cl, err := mamba.NewClassifier(m, []string{"a", "b", "c"}, c.pool, r)
			if err != nil {
				t.Fatal(err)
			}
			// Non-zero bias, so that a mistake in it shows.
			m.Ops.Upload(cl.Bias, []float32{0.1, -0.2, 0.05})
			B, L, C := 3, 6, 3
			ids := mambatest.RandomIDs(r, B*L, gc.cfg.Vocab)
			lens := []int{6, 4, 1}
			labels := []int32{2, 0, 1}
			w, bias := f64(m.Ops.ToHost(cl.W)), f64(m.Ops.ToHost(cl.Bias))
			want, wantLogits := refClassLoss(rm, w, bias, c.pool, ids, lens, labels, B, L, C)
			cp, err := cl.Forward(ids, lens, B, L, true)
			if err != nil {
				t.Fatal(err)
			}
			if e := conformance.RelErr(f64(m.Ops.ToHost(cp.Logits)), wantLogits); e > 1e-5 {
				t.Errorf("logits: relative error %.3g", e)
			}
			if got := cl.Loss(cp, labels); math.Abs(got-want) > 1e-5*want {
				t.Errorf("loss %.8g, reference %.8g", got, want)
			}
			g := cl.NewGrads()
			cl.Backward(cp, labels, g)
			params := map[string][]float64{"classifier.weight": w, "classifier.bias": bias}
			for k, v := range rm.p {
				params[k] = v
			}
			loss := func() float64 {
				l, _ := refClassLoss(rm, w, bias, c.pool, ids, lens, labels, B, L, C)
				return l
			}
			const h = 1e-3
			pick := rand.New(rand.NewPCG(uint64(ci), 9))
			for _, p := range g.List() {
				x := params[p.Name]
				all := f64(m.Ops.ToHost(p.T))
				idx := pick.Perm(len(x))[:min(len(x), 12)]
				got, num := make([]float64, len(idx)), make([]float64, len(idx))
				central := func(j int, h float64) float64 {
					old := x[j]
					x[j] = old + h
					fp := loss()
					x[j] = old - h
					fm := loss()
					x[j] = old
					return (fp - fm) / (2 * h)
				}
				for k, j := range idx {
					got[k], num[k] = all[j], (4*central(j, h/2)-central(j, h))/3
				}
				if e := relL2(got, num); e > 1e-4 {
					t.Errorf("%s: relative L2 error %.3g against finite differences", p.Name, e)
				}
			}
		})
	}
}
