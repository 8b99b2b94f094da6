package tensorfile

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestRoundTripDTypes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	f32 := []float32{1, -2.5, 3e-8, float32(math.Inf(1))}
	err := Write(path, []Tensor{
		F32("a", []int{2, 2}, f32), F64("b", []int{3}, []float64{1, 2, math.Pi}),
		I64("c", []int{2}, []int64{-7, 1 << 40}), I32("d", []int{1}, []int32{-3}), BF16("e", []int{4}, f32),
	}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a, shape, _ := f.Float32("a")
	if shape[0] != 2 || shape[1] != 2 || a[1] != -2.5 || a[2] != 3e-8 {
		t.Errorf("a = %v %v", a, shape)
	}
	b, _, _ := f.Float64("b")
	if b[2] != math.Pi {
		t.Errorf("b = %v", b)
	}
	c, _, _ := f.Int64("c")
	if c[0] != -7 || c[1] != 1<<40 {
		t.Errorf("c = %v", c)
	}
	d, _, _ := f.Int64("d")
	if d[0] != -3 {
		t.Errorf("d = %v", d)
	}
	e, _, _ := f.Float32("e")
	if e[0] != 1 || e[1] != -2.5 || !math.IsInf(float64(e[3]), 1) || math.Abs(float64(e[2]-3e-8)) > 3e-8/128 {
		t.Errorf("e = %v", e)
	}
	if _, _, err := f.Float32("c"); err == nil {
		t.Error("an integer tensor read as float: no error")
	}
	if _, _, err := f.Int64("a"); err == nil {
		t.Error("a float tensor read as integer: no error")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("write left %d files, want 1 (no temporaries)", len(entries))
	}
}

func TestHalfConversions(t *testing.T) {
	cases := map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: 1.0 / (1 << 24), 0x8000: 0, 0x3555: 0.333251953125}
	for h, want := range cases {
		if got := F16ToFloat32(h); got != want {
			t.Errorf("F16ToFloat32(%#04x) = %g, want %g", h, got, want)
		}
	}
	if !math.IsInf(float64(F16ToFloat32(0x7c00)), 1) || !math.IsNaN(float64(F16ToFloat32(0x7e00))) {
		t.Error("half infinities or NaN")
	}
	// bfloat16 rounds to nearest, ties to even.
	if got := Float32ToBF16(math.Float32frombits(0x3f808000)); got != 0x3f80 {
		t.Errorf("tie below: %#04x", got)
	}
	if got := Float32ToBF16(math.Float32frombits(0x3f818000)); got != 0x3f82 {
		t.Errorf("tie above: %#04x", got)
	}
	if got := Float32ToBF16(float32(math.NaN())); BF16ToFloat32(got) == BF16ToFloat32(got) {
		t.Error("NaN did not stay NaN")
	}
}

// FuzzParse feeds arbitrary bytes to the reader: it must return an error or
// a file, never panic.
func FuzzParse(f *testing.F) {
	good, _ := os.ReadFile("../../testdata/scan/scan-small.safetensors")
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse("fuzz", b)
		if err != nil {
			return
		}
		for _, n := range file.Names() {
			file.Float64(n)
			file.Int64(n)
		}
	})
}
