package mamba_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mambakit/mambakit/core/conformance"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/mamba/mambatest"
	"github.com/mambakit/mambakit/core/ref"
	"github.com/mambakit/mambakit/kernels/cpu"
)

// refModel is an independent float64 Mamba-1 forward written with core/ref's
// operations in the plainest layout, (B·L, features) between them. It shares
// nothing with model.go but the parameter names.
type refModel struct {
	cfg mamba.Config
	p   map[string][]float64
}

func (r *refModel) get(name string) []float64 { return r.p[name] }

// forward returns logits (B, L, V) and the residual stream after each block
// followed by the output of norm_f.
func (r *refModel) forward(ids []int32, B, L int) ([]float64, [][]float64) {
	c := r.cfg
	D, dm, V := c.DInner, c.DModel, c.Vocab
	T := B * L
	resid := make([]float64, T*dm)
	ref.Embedding(resid, r.get("backbone.embeddings.weight"), ids, dm)
	// toBDL turns (B·L, width) columns [off, off+n) into (B, n, L).
	toBDL := func(src []float64, width, off, n int) []float64 {
		out := make([]float64, B*n*L)
		for b := 0; b < B; b++ {
			for t := 0; t < L; t++ {
				for j := 0; j < n; j++ {
					out[(b*n+j)*L+t] = src[(b*L+t)*width+off+j]
				}
			}
		}
		return out
	}
	fromBDL := func(src []float64, n int) []float64 {
		out := make([]float64, T*n)
		for b := 0; b < B; b++ {
			for j := 0; j < n; j++ {
				for t := 0; t < L; t++ {
					out[(b*L+t)*n+j] = src[(b*n+j)*L+t]
				}
			}
		}
		return out
	}
	addBias := func(x []float64, bias []float64) {
		if bias == nil {
			return
		}
		for i := range x {
			x[i] += bias[i%len(bias)]
		}
	}
	var hidden [][]float64
	for i := 0; i < c.NLayer; i++ {
		pre := fmt.Sprintf("backbone.layers.%d.", i)
		normed := make([]float64, T*dm)
		ref.RMSNorm(normed, nil, resid, r.get(pre+"norm.weight"), T, dm, c.Eps)
		xz := make([]float64, T*2*D)
		ref.Gemm(false, true, T, 2*D, dm, 1, normed, r.get(pre+"mixer.in_proj.weight"), 0, xz)
		addBias(xz, r.get(pre+"mixer.in_proj.bias"))
		x, z := toBDL(xz, 2*D, 0, D), toBDL(xz, 2*D, D, D)
		y := r.mixer(pre+"mixer.", x, z, B, L)
		if c.Bidirectional {
			flip := func(v []float64) []float64 {
				out := make([]float64, len(v))
				ref.Flip(out, v, L)
				return out
			}
			yr := flip(r.mixer(pre+"mixer.rev.", flip(x), flip(z), B, L))
			for j := range y {
				y[j] += yr[j]
			}
		}
		out := make([]float64, T*dm)
		ref.Gemm(false, true, T, dm, D, 1, fromBDL(y, D), r.get(pre+"mixer.out_proj.weight"), 0, out)
		addBias(out, r.get(pre+"mixer.out_proj.bias"))
		if c.Bidirectional { // the bias of each direction's out_proj
			addBias(out, r.get(pre+"mixer.out_proj.bias"))
		}
		for j := range resid {
			resid[j] += out[j]
		}
		hidden = append(hidden, append([]float64(nil), resid...))
	}
	final := make([]float64, T*dm)
	ref.RMSNorm(final, nil, resid, r.get("backbone.norm_f.weight"), T, dm, c.Eps)
	hidden = append(hidden, final)
	head := r.get("lm_head.weight")
	if head == nil {
		head = r.get("backbone.embeddings.weight")
	}
	logits := make([]float64, T*V)
	ref.Gemm(false, true, T, V, dm, 1, final, head, 0, logits)
	return logits, hidden
}

// mixer runs one direction's mixer from x and z (B, D, L) to y (B, D, L),
// reading the parameters under prefix.
func (r *refModel) mixer(prefix string, x, z []float64, B, L int) []float64 {
	c := r.cfg
	D, N, R, K := c.DInner, c.DState, c.DtRank, c.DConv
	T := B * L
	toBDL := func(src []float64, width, off, n int) []float64 {
		out := make([]float64, B*n*L)
		for b := 0; b < B; b++ {
			for t := 0; t < L; t++ {
				for j := 0; j < n; j++ {
					out[(b*n+j)*L+t] = src[(b*L+t)*width+off+j]
				}
			}
		}
		return out
	}
	u := make([]float64, B*D*L)
	ref.Conv1d(u, x, r.get(prefix+"conv1d.weight"), r.get(prefix+"conv1d.bias"), B, D, L, K, true)
	uT := make([]float64, T*D)
	for b := 0; b < B; b++ {
		for d := 0; d < D; d++ {
			for t := 0; t < L; t++ {
				uT[(b*L+t)*D+d] = u[(b*D+d)*L+t]
			}
		}
	}
	xdbl := make([]float64, T*(R+2*N))
	ref.Gemm(false, true, T, R+2*N, D, 1, uT, r.get(prefix+"x_proj.weight"), 0, xdbl)
	dtr := make([]float64, T*R)
	for t := 0; t < T; t++ {
		copy(dtr[t*R:(t+1)*R], xdbl[t*(R+2*N):])
	}
	delta := make([]float64, T*D)
	ref.Gemm(false, true, T, D, R, 1, dtr, r.get(prefix+"dt_proj.weight"), 0, delta)
	aLog := r.get(prefix + "A_log")
	A := make([]float64, len(aLog))
	for j, v := range aLog {
		A[j] = -math.Exp(v)
	}
	s := &ref.Scan{Bsz: B, D: D, L: L, N: N, Softplus: true, U: u, Delta: toBDL(delta, D, 0, D), A: A,
		B: toBDL(xdbl, R+2*N, R, N), C: toBDL(xdbl, R+2*N, R+N, N),
		Dskip: r.get(prefix + "D"), Z: z, DeltaBias: r.get(prefix + "dt_proj.bias")}
	y, _ := s.Forward()
	return y
}

// loss is the mean next-token cross-entropy of the reference forward.
func (r *refModel) loss(ids []int32, B, L int) float64 {
	logits, _ := r.forward(ids, B, L)
	targets := mamba.NextTokenTargets(ids, B, L)
	losses := make([]float64, B*L)
	ref.CrossEntropy(losses, logits, targets, r.cfg.Vocab)
	s := 0.0
	for _, v := range losses {
		s += v
	}
	return s / float64(B*(L-1))
}

// randomModel initialises a model as mamba_ssm would, then perturbs the
// parameters that start constant (norms, D, biases) so that a mistake in any
// of them shows, and the time-step bias, and returns it with its float64 twin.
func randomModel(t *testing.T, cfg mamba.Config, seed uint64) (*mamba.Model, *refModel) {
	t.Helper()
	m, err := mamba.New(cfg, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 77))
	m.P.Init(m.Cfg, m.Ops.Backend, r)
	rm := &refModel{cfg: m.Cfg, p: map[string][]float64{}}
	for _, p := range m.P.List() {
		h := m.Ops.ToHost(p.T)
		for i := range h {
			switch {
			case strings.HasSuffix(p.Name, "norm.weight") || strings.HasSuffix(p.Name, "norm_f.weight"):
				h[i] = float32(1 + 0.2*r.NormFloat64())
			case strings.HasSuffix(p.Name, ".D"):
				h[i] = float32(1 + 0.3*r.NormFloat64())
			case strings.HasSuffix(p.Name, "A_log"):
				h[i] += float32(0.1 * r.NormFloat64())
			case strings.HasSuffix(p.Name, "proj.bias") && !strings.Contains(p.Name, "dt_proj"):
				h[i] = float32(0.1 * r.NormFloat64())
			case strings.HasSuffix(p.Name, "dt_proj.bias"):
				// Time steps of order 1 rather than Mamba's initial 0.001–0.1,
				// so that Δ's gradients are large enough for finite
				// differences to check.
				h[i] = float32(0.5 * r.NormFloat64())
			}
		}
		m.Ops.Upload(p.T, h)
		rm.p[p.Name] = f64(h)
	}
	return m, rm
}

// generalConfigs are shapes no fixture has: conv widths 1 and 2, expand 3,
// N = 1 and 17, dt_rank 1, d_inner not a multiple of expand·d_model, biases,
// untied heads, and lengths shorter than the convolution.
func generalConfigs() []struct {
	cfg  mamba.Config
	B, L int
} {
	mk := func(dm, layers, vocab, N, K, expand, R int, bias, tie bool) mamba.Config {
		c := mamba.DefaultConfig(dm, layers, vocab)
		c.DState, c.DConv, c.Expand, c.DtRank, c.UseBias, c.TieEmbeddings = N, K, expand, R, bias, tie
		c.DInner = expand * dm
		return c
	}
	odd := mk(10, 2, 13, 3, 3, 2, 2, true, false)
	odd.DInner = 15
	odd.UseConvBias = false
	odd.Eps = 1e-6
	bi1 := mk(8, 2, 11, 4, 3, 2, 2, true, false)
	bi1.Bidirectional = true
	bi2 := mk(10, 1, 9, 3, 4, 2, 1, false, true)
	bi2.Bidirectional = true
	return []struct {
		cfg  mamba.Config
		B, L int
	}{
		{mk(8, 1, 11, 1, 1, 2, 1, false, true), 2, 5},
		{mk(12, 2, 19, 17, 2, 3, 3, true, false), 3, 9},
		{mk(16, 3, 7, 5, 4, 2, 2, false, true), 1, 2},
		{mk(6, 2, 5, 4, 4, 1, 1, true, true), 2, 1},
		{odd, 2, 70},
		{bi1, 2, 7},
		{bi2, 2, 3},
	}
}

// TestModelMatchesReference holds the float32 CPU model to the float64
// reference forward on configurations the fixtures do not cover.
func TestModelMatchesReference(t *testing.T) {
	for i, c := range generalConfigs() {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			m, rm := randomModel(t, c.cfg, uint64(i))
			ids := mambatest.RandomIDs(rand.New(rand.NewPCG(uint64(i), 1)), c.B*c.L, c.cfg.Vocab)
			pass, err := m.Forward(ids, c.B, c.L, mamba.ForwardOptions{Hidden: true})
			if err != nil {
				t.Fatal(err)
			}
			want, hidden := rm.forward(ids, c.B, c.L)
			if e := conformance.RelErr(f64(m.Ops.ToHost(pass.Logits)), want); e > 1e-5 {
				t.Errorf("logits: relative error %.3g", e)
			}
			for j, h := range pass.Hidden {
				if e := conformance.RelErr(f64(m.Ops.ToHost(h)), hidden[j]); e > 1e-5 {
					t.Errorf("hidden state %d: relative error %.3g", j, e)
				}
			}
		})
	}
}

// TestModelGradients holds the float32 backward to central finite differences
// of the float64 reference loss, for 40 random entries of every parameter of
// small general models.
func TestModelGradients(t *testing.T) {
	for i, c := range generalConfigs() {
		if c.L < 2 {
			continue // no next-token targets
		}
		c.L = min(c.L, 9)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			m, rm := randomModel(t, c.cfg, uint64(100+i))
			ids := mambatest.RandomIDs(rand.New(rand.NewPCG(uint64(i), 2)), c.B*c.L, c.cfg.Vocab)
			pass, err := m.Forward(ids, c.B, c.L, mamba.ForwardOptions{Train: true})
			if err != nil {
				t.Fatal(err)
			}
			targets := mamba.NextTokenTargets(ids, c.B, c.L)
			loss, _ := m.Loss(pass, targets)
			if want := rm.loss(ids, c.B, c.L); math.Abs(loss-want) > 1e-5*want {
				t.Errorf("loss %.8g, reference %.8g", loss, want)
			}
			grads := mamba.NewParams(m.Cfg, m.Ops.Backend)
			m.Backward(pass, targets, grads)
			// Mamba's initialisation makes the dt_proj and A_log gradients of
			// small models ~1e-9, while the embedding (std 0.02 under an
			// RMSNorm) curves sharply: central differences at h = 1e-3 keep
			// rounding (~1e-16·loss/h) small, and Richardson extrapolation
			// over h and h/2 cancels the h² truncation term.
			const h = 1e-3
			pick := rand.New(rand.NewPCG(uint64(i), 4))
			for _, p := range grads.List() {
				x, all := rm.p[p.Name], f64(m.Ops.ToHost(p.T))
				idx := pick.Perm(len(x))[:min(len(x), 40)]
				got, num := make([]float64, len(idx)), make([]float64, len(idx))
				central := func(j int, h float64) float64 {
					old := x[j]
					x[j] = old + h
					fp := rm.loss(ids, c.B, c.L)
					x[j] = old - h
					fm := rm.loss(ids, c.B, c.L)
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

// TestStepMatchesForward checks that the recurrent Step, alone or after a
// parallel Prefill, gives the logits of the full forward.
func TestStepMatchesForward(t *testing.T) {
	for i, c := range generalConfigs() {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if c.cfg.Bidirectional {
				m, _ := randomModel(t, c.cfg, 1)
				if _, err := m.Step(m.NewState(1), []int32{0}); err == nil {
					t.Error("Step on a bidirectional model: no error")
				}
				return
			}
			m, _ := randomModel(t, c.cfg, uint64(200+i))
			ids := mambatest.RandomIDs(rand.New(rand.NewPCG(uint64(i), 3)), c.B*c.L, c.cfg.Vocab)
			pass, err := m.Forward(ids, c.B, c.L, mamba.ForwardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			full := f64(m.Ops.ToHost(pass.Logits))
			V := c.cfg.Vocab
			column := func(tt int) []int32 {
				col := make([]int32, c.B)
				for b := range col {
					col[b] = ids[b*c.L+tt]
				}
				return col
			}
			fullAt := func(tt int) []float64 {
				out := make([]float64, c.B*V)
				for b := 0; b < c.B; b++ {
					copy(out[b*V:(b+1)*V], full[(b*c.L+tt)*V:(b*c.L+tt+1)*V])
				}
				return out
			}
			s := m.NewState(c.B)
			for tt := 0; tt < c.L; tt++ {
				lt, err := m.Step(s, column(tt))
				if err != nil {
					t.Fatal(err)
				}
				if e := conformance.RelErr(f64(m.Ops.ToHost(lt)), fullAt(tt)); e > 1e-5 {
					t.Fatalf("step %d: relative error %.3g", tt, e)
				}
			}
			// Prefill all but the last token, then one Step.
			if c.L < 2 {
				return
			}
			pre := make([]int32, 0, c.B*(c.L-1))
			for b := 0; b < c.B; b++ {
				pre = append(pre, ids[b*c.L:b*c.L+c.L-1]...)
			}
			last, s2, err := m.Prefill(pre, c.B, c.L-1)
			if err != nil {
				t.Fatal(err)
			}
			if e := conformance.RelErr(f64(last), fullAt(c.L-2)); e > 1e-5 {
				t.Errorf("prefill logits: relative error %.3g", e)
			}
			lt, err := m.Step(s2, column(c.L-1))
			if err != nil {
				t.Fatal(err)
			}
			if e := conformance.RelErr(f64(m.Ops.ToHost(lt)), fullAt(c.L-1)); e > 1e-5 {
				t.Errorf("step after prefill: relative error %.3g", e)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	m, _ := randomModel(t, generalConfigs()[0].cfg, 9)
	if _, err := m.Forward([]int32{1, 2, 99}, 1, 3, mamba.ForwardOptions{}); err == nil ||
		!strings.Contains(err.Error(), "position 2") {
		t.Errorf("out-of-vocabulary id: error %v, want one naming position 2", err)
	}
	if _, err := m.Forward([]int32{1, 2}, 1, 3, mamba.ForwardOptions{}); err == nil {
		t.Error("wrong id count: no error")
	}
	if _, err := m.Step(m.NewState(2), []int32{-1, 0}); err == nil {
		t.Error("negative id in Step: no error")
	}
}

// TestWorkspaceReuse runs the same training step three times, with a pass of
// another shape in between: reused workspace buffers must not leak state, so
// the gradients agree to the bit.
func TestWorkspaceReuse(t *testing.T) {
	c := generalConfigs()[1]
	m, _ := randomModel(t, c.cfg, 300)
	r := rand.New(rand.NewPCG(5, 5))
	ids := mambatest.RandomIDs(r, c.B*c.L, c.cfg.Vocab)
	other := mambatest.RandomIDs(r, 2*5, c.cfg.Vocab)
	step := func() []float32 {
		pass, err := m.Forward(ids, c.B, c.L, mamba.ForwardOptions{Train: true})
		if err != nil {
			t.Fatal(err)
		}
		g := mamba.NewParams(m.Cfg, m.Ops.Backend)
		m.Backward(pass, mamba.NextTokenTargets(ids, c.B, c.L), g)
		var all []float32
		for _, p := range g.List() {
			all = append(all, m.Ops.ToHost(p.T)...)
		}
		return all
	}
	first := step()
	second := step()
	if _, err := m.Forward(other, 2, 5, mamba.ForwardOptions{}); err != nil {
		t.Fatal(err)
	}
	third := step()
	for i := range first {
		if first[i] != second[i] || first[i] != third[i] {
			t.Fatalf("gradient element %d: %g, %g, %g across repeated steps", i, first[i], second[i], third[i])
		}
	}
}
