// Package mambatest holds the checks of a Mamba model against the reference
// fixtures made with transformers' MambaForCausalLM (testdata/mamba1-*, see
// testdata/README.md), for any backend: each backend's tests call them.
package mambatest

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/checkpoint"
	"github.com/mambakit/mambakit/core/conformance"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// Names are the fixture models under testdata.
var Names = []string{"mamba1-tiny", "mamba1-bias-untied", "mamba1-original-tiny"}

// Fixtures holds the model on be to transformers' MambaForCausalLM on every
// fixture under testdata: logits and hidden states within 1e-5 (RelErr),
// the loss within 1e-5 relative, every gradient within 1e-4 in relative L2
// norm, and greedy generation through the recurrent state identical.
func Fixtures(t *testing.T, be core.Backend, testdata string) {
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			f := load(t, be, filepath.Join(testdata, name))
			m := f.model
			pass, err := m.Forward(f.ids, f.B, f.L, mamba.ForwardOptions{Train: true, Hidden: true})
			if err != nil {
				t.Fatal(err)
			}
			e := conformance.RelErr(F64(m.Ops.ToHost(pass.Logits)), f.want(t, "logits"))
			if !(e <= 1e-5) {
				t.Errorf("logits: relative error %.3g", e)
			}
			t.Logf("logits: relative error %.3g", e)
			if len(pass.Hidden) != m.Cfg.NLayer+1 {
				t.Fatalf("%d hidden states, want %d", len(pass.Hidden), m.Cfg.NLayer+1)
			}
			for i, h := range pass.Hidden {
				if e := conformance.RelErr(F64(m.Ops.ToHost(h)), f.want(t, fmt.Sprintf("hidden_states.%d", i))); !(e <= 1e-5) {
					t.Errorf("hidden_states.%d: relative error %.3g", i, e)
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
				e := RelL2(F64(m.Ops.ToHost(p.T)), f.want(t, "grad."+p.Name))
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
			for i, v := range prompt {
				p32[i] = int32(v)
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
			for i := range want {
				if int64(got[i]) != want[i] {
					t.Fatalf("greedy generation %v, want %v", got, want)
				}
			}
		})
	}
}

// FixturesRecurrent feeds every fixture's tokens one at a time through Step
// on be and holds the logits to the same 1e-5 as the full forward.
func FixturesRecurrent(t *testing.T, be core.Backend, testdata string) {
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			f := load(t, be, filepath.Join(testdata, name))
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

type fixture struct {
	model *mamba.Model
	ref   *tensorfile.File
	ids   []int32 // (B, L)
	B, L  int
}

func load(t *testing.T, be core.Backend, dir string) fixture {
	t.Helper()
	m, _, err := checkpoint.Load(dir, be)
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
	for i, v := range raw {
		ids[i] = int32(v)
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
		if strings.HasPrefix(name, "grad.") {
			n++
		}
	}
	return n
}

// F64 widens v.
func F64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// RelL2 is ‖got − want‖₂ / ‖want‖₂ (‖got‖₂ when want is zero).
func RelL2(got, want []float64) float64 {
	var num, den float64
	for i := range want {
		d := got[i] - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}
