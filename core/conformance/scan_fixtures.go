package conformance

import (
	"path/filepath"
	"testing"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// ScanFixtures runs be's selective scan on the inputs of the PyTorch fixtures
// in dir (testdata/scan: scan-small and scan-long, made by PyTorch in
// float64) and holds out and last_state to 1e-5 and every input gradient to
// 1e-4 (RelErr).
func ScanFixtures(t *testing.T, be core.Backend, dir string) {
	ops := core.Ops{Backend: be}
	put := func(v []float32, shape ...int) core.Tensor {
		x := be.Alloc(shape...)
		be.Upload(x, v)
		return x
	}
	for _, name := range []string{"scan-small", "scan-long"} {
		f, err := tensorfile.Open(filepath.Join(dir, name+".safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		in := func(n string) core.Tensor {
			v, shape, err := f.Float32(n)
			if err != nil {
				t.Fatal(err)
			}
			return put(v, shape...)
		}
		want := func(n string) []float64 {
			v, _, err := f.Float64(n)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		s := core.ScanArgs{U: in("u"), Delta: in("delta"), A: in("A"), B: in("B"), C: in("C"), D: in("D"),
			Z: in("z"), DeltaBias: in("delta_bias"), DeltaSoftplus: true}
		B, D, L, N := s.Dims()
		s.Out, s.HLast = be.Alloc(B, D, L), be.Alloc(B, D, N)
		ops.SelectiveScan(s)
		check := func(what string, tol float64, g core.Tensor, w []float64) {
			got := make([]float64, g.Numel())
			for i, v := range ops.ToHost(g) {
				got[i] = float64(v)
			}
			if e := RelErr(got, w); !(e <= tol) {
				t.Errorf("%s %s: relative error %.3g > %g", name, what, e, tol)
			}
		}
		check("out", 1e-5, s.Out, want("out"))
		check("last_state", 1e-5, s.HLast, want("last_state"))
		g := core.ScanGrads{DOut: in("dout"), DU: be.Alloc(B, D, L), DDelta: be.Alloc(B, D, L), DA: be.Alloc(D, N),
			DB: be.Alloc(B, N, L), DC: be.Alloc(B, N, L), DD: be.Alloc(D), DZ: be.Alloc(B, D, L), DDeltaBias: be.Alloc(D)}
		ops.SelectiveScanBackward(s, g)
		for n, x := range map[string]core.Tensor{"u": g.DU, "delta": g.DDelta, "A": g.DA, "B": g.DB, "C": g.DC,
			"D": g.DD, "z": g.DZ, "delta_bias": g.DDeltaBias} {
			check("grad."+n, 1e-4, x, want("grad."+n))
		}
	}
}
