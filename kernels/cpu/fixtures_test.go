package cpu

import (
	"path/filepath"
	"testing"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/conformance"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// TestScanFixtures runs the CPU scan on the inputs of testdata/scan (made by
// PyTorch in float64) and compares outputs, final state and every input
// gradient.
func TestScanFixtures(t *testing.T) {
	for _, name := range []string{"scan-small", "scan-long"} {
		f, err := tensorfile.Open(filepath.Join("..", "..", "testdata", "scan", name+".safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		in := func(n string) core.Tensor {
			v, shape, err := f.Float32(n)
			if err != nil {
				t.Fatal(err)
			}
			return core.FromHost(v, shape...)
		}
		want := func(n string) []float64 {
			v, _, err := f.Float64(n)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		got := func(x core.Tensor) []float64 {
			out := make([]float64, x.Numel())
			for i, v := range x.Host() {
				out[i] = float64(v)
			}
			return out
		}
		s := core.ScanArgs{U: in("u"), Delta: in("delta"), A: in("A"), B: in("B"), C: in("C"), D: in("D"),
			Z: in("z"), DeltaBias: in("delta_bias"), DeltaSoftplus: true}
		B, D, L, N := s.Dims()
		s.Out, s.HLast = core.NewHost(B, D, L), core.NewHost(B, D, N)
		ops := core.Ops{Backend: New()}
		ops.SelectiveScan(s)
		check := func(what string, tol float64, g core.Tensor, w []float64) {
			if e := conformance.RelErr(got(g), w); e > tol {
				t.Errorf("%s %s: relative error %.3g > %g", name, what, e, tol)
			}
		}
		check("out", 1e-5, s.Out, want("out"))
		check("last_state", 1e-5, s.HLast, want("last_state"))
		douts := want("dout")
		dout := core.NewHost(B, D, L)
		for i, v := range douts {
			dout.Host()[i] = float32(v)
		}
		g := core.ScanGrads{DOut: dout, DU: core.NewHost(B, D, L), DDelta: core.NewHost(B, D, L), DA: core.NewHost(D, N),
			DB: core.NewHost(B, N, L), DC: core.NewHost(B, N, L), DD: core.NewHost(D), DZ: core.NewHost(B, D, L),
			DDeltaBias: core.NewHost(D)}
		ops.SelectiveScanBackward(s, g)
		for n, x := range map[string]core.Tensor{"u": g.DU, "delta": g.DDelta, "A": g.DA, "B": g.DB, "C": g.DC,
			"D": g.DD, "z": g.DZ, "delta_bias": g.DDeltaBias} {
			check("grad."+n, 1e-4, x, want("grad."+n))
		}
	}
}
