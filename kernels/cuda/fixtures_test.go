//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/mambakit/mambakit/core/checkpoint"
	"github.com/mambakit/mambakit/core/conformance"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// The fixture tests of core/mamba (fixtures_test.go), on the CUDA backend.

var fixtureDirs = []string{"mamba1-tiny", "mamba1-bias-untied", "mamba1-original-tiny"}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for j, x := range v {
		out[j] = float64(x)
	}
	return out
}

// relL2 is ‖got − want‖₂ / ‖want‖₂.
func relL2(got, want []float64) float64 {
	var num, den float64
	for j := range want {
		d := got[j] - want[j]
		num += d * d
		den += want[j] * want[j]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

type fixture struct {
	model *mamba.Model
	ref   *tensorfile.File
	ids   []int32
	B, L  int
}

func loadFixture(t *testing.T, name string) fixture {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", name)
	m, _, err := checkpoint.Load(dir, backend(t))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := tensorfile.Open(filepath.Join(dir, "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	raw, shape, err := ref.Int64("input_ids")
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int32, len(raw))
	for j, v := range raw {
		ids[j] = int32(v)
	}
	return fixture{model: m, ref: ref, ids: ids, B: shape[0], L: shape[1]}
}

func (f fixture) want(t *testing.T, name string) []float64 {
	t.Helper()
	v, _, err := f.ref.Float64(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func countGrads(f *tensorfile.File) int {
	n := 0
	for _, name := range f.Names() {
		if len(name) > 5 && name[:5] == "grad." {
			n++
		}
	}
	return n
}

// TestFixtures holds the model on the CUDA backend to transformers'
// MambaForCausalLM on every reference model: logits, hidden states, loss,
// every gradient, and greedy generation through the recurrent state.
func TestFixtures(t *testing.T) {
	for _, name := range fixtureDirs {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			m := f.model
			pass, err := m.Forward(f.ids, f.B, f.L, mamba.ForwardOptions{Train: true, Hidden: true})
			if err != nil {
				t.Fatal(err)
			}
			logits := f64(m.Ops.ToHost(pass.Logits))
			e := conformance.RelErr(logits, f.want(t, "logits"))
			if !(e <= 1e-5) {
				t.Errorf("logits: relative error %.3g", e)
			}
			t.Logf("logits: relative error %.3g", e)
			if len(pass.Hidden) != m.Cfg.NLayer+1 {
				t.Fatalf("%d hidden states, want %d", len(pass.Hidden), m.Cfg.NLayer+1)
			}
			for j, h := range pass.Hidden {
				if e := conformance.RelErr(f64(m.Ops.ToHost(h)), f.want(t, fmt.Sprintf("hidden_states.%d", j))); !(e <= 1e-5) {
					t.Errorf("hidden_states.%d: relative error %.3g", j, e)
				}
			}
			targets := mamba.NextTokenTargets(f.ids, f.B, f.L)
			loss, n := m.Loss(pass, targets)
			wantLoss := f.want(t, "loss")[0]
			if n != f.B*(f.L-1) || !(math.Abs(loss-wantLoss) <= 1e-5*math.Abs(wantLoss)) {
				t.Errorf("loss %.8g over %d targets, want %.8g over %d", loss, n, wantLoss, f.B*(f.L-1))
			}
			t.Logf("loss %.8g, reference %.8g", loss, wantLoss)
			grads := mamba.NewParams(m.Cfg, m.Ops.Backend)
			m.Backward(pass, targets, grads)
			worst := 0.0
			for _, p := range grads.List() {
				want := f.want(t, "grad."+p.Name)
				e := relL2(f64(m.Ops.ToHost(p.T)), want)
				if !(e <= 1e-4) {
					t.Errorf("grad.%s: relative L2 error %.3g", p.Name, e)
				}
				worst = math.Max(worst, e)
			}
			t.Logf("gradients: worst relative L2 error %.3g", worst)
			if got, want := len(grads.List()), countGrads(f.ref); got != want {
				t.Errorf("%d gradients, reference has %d", got, want)
			}

			prompt, _, _ := f.ref.Int64("generate.prompt")
			want, wshape, _ := f.ref.Int64("generate.output")
			p32 := make([]int32, len(prompt))
			for j, v := range prompt {
				p32[j] = int32(v)
			}
			gen, err := m.Generate(p32, 1, len(p32), mamba.GenerateOptions{
				MaxNew: wshape[1] - len(p32), EOS: int32(m.Cfg.EOSTokenID)})
			if err != nil {
				t.Fatal(err)
			}
			got := gen[0]
			if len(got) != len(want) {
				t.Fatalf("greedy generation %v, want %v", got, want)
			}
			for j := range want {
				if int64(got[j]) != want[j] {
					t.Fatalf("greedy generation %v, want %v", got, want)
				}
			}
		})
	}
}

// TestFixturesRecurrent feeds the fixtures' tokens one at a time through
// Step (ConvStep, ScanStep) and holds the logits to the full forward's bar.
func TestFixturesRecurrent(t *testing.T) {
	for _, name := range fixtureDirs {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			m := f.model
			V := m.Cfg.Vocab
			s := m.NewState(f.B)
			got := make([]float64, f.B*f.L*V)
			col := make([]int32, f.B)
			for tt := 0; tt < f.L; tt++ {
				for b := 0; b < f.B; b++ {
					col[b] = f.ids[b*f.L+tt]
				}
				lt, err := m.Step(s, col)
				if err != nil {
					t.Fatal(err)
				}
				h := m.Ops.ToHost(lt)
				for b := 0; b < f.B; b++ {
					for v := 0; v < V; v++ {
						got[(b*f.L+tt)*V+v] = float64(h[b*V+v])
					}
				}
			}
			if e := conformance.RelErr(got, f.want(t, "logits")); !(e <= 1e-5) {
				t.Errorf("recurrent logits: relative error %.3g", e)
			}
		})
	}
}
