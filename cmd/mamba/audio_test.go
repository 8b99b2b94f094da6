package main

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestNormalizeRMS(t *testing.T) {
	x := []float32{0.5, -0.5, 0.25, -0.25}
	normalizeRMS(x, 0.1)
	// RMS was sqrt((0.25+0.25+0.0625+0.0625)/4) = sqrt(0.15625); gain 0.1/that.
	g := 0.1 / math.Sqrt(0.15625)
	for i, want := range []float64{0.5 * g, -0.5 * g, 0.25 * g, -0.25 * g} {
		if math.Abs(float64(x[i])-want) > 1e-7 {
			t.Errorf("x[%d] = %g, want %g", i, x[i], want)
		}
	}
	loud := []float32{0.9, -0.01}
	normalizeRMS(loud, 0.9) // the gain of about 1.41 clips the first sample
	if loud[0] != 1 {
		t.Errorf("loud[0] = %g, want 1 (clipped)", loud[0])
	}
	silent := []float32{0, 0, 0}
	normalizeRMS(silent, 0.1)
	for _, v := range silent {
		if v != 0 {
			t.Fatalf("silence became %v", silent)
		}
	}
}

func TestShiftGainNoise(t *testing.T) {
	x := []float32{0.1, 0.2, 0.3, 0.4, 0.5}
	y := shiftGainNoise(x, 2, 2, 0, nil)
	want := []float32{0, 0, 0.2, 0.4, 0.6}
	for i := range want {
		if math.Abs(float64(y[i]-want[i])) > 1e-7 {
			t.Fatalf("shift 2, gain 2: %v, want %v", y, want)
		}
	}
	y = shiftGainNoise(x, 3, -1, 0, nil)
	want = []float32{0.6, 0.90000004, 1, 1, 0} // 1.2 and 1.5 clip to 1
	for i := range want {
		if math.Abs(float64(y[i]-want[i])) > 1e-6 {
			t.Fatalf("shift -1, gain 3: %v, want %v", y, want)
		}
	}
	// Noise: zero input, sigma 0.01 → sample standard deviation near 0.01.
	z := shiftGainNoise(make([]float32, 20000), 1, 0, 0.01, rand.New(rand.NewPCG(1, 2)))
	var s float64
	for _, v := range z {
		s += float64(v) * float64(v)
	}
	if sd := math.Sqrt(s / float64(len(z))); math.Abs(sd-0.01) > 0.0003 {
		t.Errorf("noise RMS %g, want 0.01 ± 3 %%", sd)
	}
	// The augmentation keeps the length and the ids in range.
	ids := make([]int32, 800)
	for i := range ids {
		ids[i] = int32(128 + 60*math.Sin(float64(i)/7))
	}
	a := clipAugment(ids, rand.New(rand.NewPCG(3, 4)))
	if len(a) != len(ids) {
		t.Fatalf("augmented %d ids, want %d", len(a), len(ids))
	}
	for i, v := range a {
		if v < 0 || v > 255 {
			t.Fatalf("id %d at %d", v, i)
		}
	}
}
