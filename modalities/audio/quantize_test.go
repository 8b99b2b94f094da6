package audio

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestEndClassesExact(t *testing.T) {
	in := []float32{-1, 0, 1, -3, 2, float32(math.Inf(1)), float32(math.Inf(-1))}
	want := []int32{0, 128, 255, 0, 255, 255, 0}
	for name, enc := range map[string]func([]float32) []int32{"MuLawEncode": MuLawEncode, "LinearEncode": LinearEncode} {
		got := enc(in)
		for i := range in {
			if got[i] != want[i] {
				t.Errorf("%s(%v) = %d, want %d", name, in[i], got[i], want[i])
			}
		}
	}
}

// companded is the μ-law F(x) = sign(x)·ln(1+μ|x|)/ln(1+μ) in float64.
func companded(x float64) float64 {
	return math.Copysign(math.Log(1+255*math.Abs(x))/math.Log(256), x)
}

func TestMuLawMatchesSaShiMiAndWaveNet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		x := float32(2*r.Float64() - 1)
		got := MuLawEncode([]float32{x})[0]
		// SaShiMi (state-spaces src/dataloaders/audio.py): encoded =
		// (F + 1)/2; quantize: (encoded·(256 − 0.01) + 0.005).long().
		u := (companded(float64(x)) + 1) / 2
		sashimi := int32(u*(256-0.01) + 0.005)
		// WaveNet (ibab/tensorflow-wavenet): ((F + 1)/2·μ + 0.5) as int.
		wavenet := int32(u*255 + 0.5)
		if got != sashimi {
			t.Fatalf("MuLawEncode(%v) = %d, SaShiMi's formula gives %d", x, got, sashimi)
		}
		if d := got - wavenet; d < -1 || d > 1 {
			t.Fatalf("MuLawEncode(%v) = %d, WaveNet's rounding gives %d", x, got, wavenet)
		}
	}
}

func TestLinearMatchesSaShiMi(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		x := float32(2*r.Float64() - 1)
		u := (float64(x) + 1) / 2
		if got, want := LinearEncode([]float32{x})[0], int32(u*(256-0.01)+0.005); got != want {
			t.Fatalf("LinearEncode(%v) = %d, SaShiMi's quantize gives %d", x, got, want)
		}
	}
}

func TestDecodeMonotonicAndRoundTrip(t *testing.T) {
	ids := make([]int32, MuLawClasses)
	for i := range ids {
		ids[i] = int32(i)
	}
	halfBin := 1 / (256 - 0.01) // half of a bin 2/(256 − ε) wide
	for name, dec := range map[string]func([]int32) []float32{"MuLawDecode": MuLawDecode, "LinearDecode": LinearDecode} {
		v := dec(ids)
		for i := 1; i < len(v); i++ {
			if !(v[i] > v[i-1]) {
				t.Errorf("%s is not increasing at %d: %v then %v", name, i, v[i-1], v[i])
			}
		}
		if v[0] < -1 || v[255] > 1 {
			t.Errorf("%s: end classes decode to %v and %v, outside [-1, 1]", name, v[0], v[255])
		}
	}
	// Over a fine sweep of [-1, 1]: decode(encode(x)) never decreases, and
	// lies within half a bin of x — in the companded domain for μ-law, in x
	// for linear. float32 rounding of the decoded value adds at most 6e-8.
	var prevMu, prevLin float32 = -2, -2
	var worstMu, worstLin float64
	const steps = 200000
	for i := 0; i <= steps; i++ {
		x := float32(-1 + 2*float64(i)/steps)
		m := MuLawDecode(MuLawEncode([]float32{x}))[0]
		l := LinearDecode(LinearEncode([]float32{x}))[0]
		if m < prevMu || l < prevLin {
			t.Fatalf("decode(encode(x)) decreases at x = %v: μ-law %v after %v, linear %v after %v", x, m, prevMu, l, prevLin)
		}
		prevMu, prevLin = m, l
		worstMu = max(worstMu, math.Abs(companded(float64(m))-companded(float64(x))))
		worstLin = max(worstLin, math.Abs(float64(l)-float64(x)))
	}
	if worstMu > halfBin+1e-6 {
		t.Errorf("μ-law round trip: %.7f from x in the companded domain, want ≤ half a bin %.7f", worstMu, halfBin)
	}
	if worstLin > halfBin+6e-8 {
		t.Errorf("linear round trip: max error %.7f, want ≤ half a bin %.7f", worstLin, halfBin)
	}
	if worstLin < 0.9*halfBin {
		t.Errorf("linear round trip: max error %.7f is well under half a bin %.7f: the bins are not what they claim", worstLin, halfBin)
	}
}

// snrDB is the signal-to-noise ratio of y as a copy of x.
func snrDB(x, y []float32) float64 {
	var s, e float64
	for i := range x {
		s += float64(x[i]) * float64(x[i])
		d := float64(y[i]) - float64(x[i])
		e += d * d
	}
	return 10 * math.Log10(s/e)
}

func TestQuantisationSNR(t *testing.T) {
	// Textbook figures: 8-bit μ-law (μ = 255) gives about 6.02·8 + 4.77 −
	// 20·log10(ln 256) = 38.0 dB over a wide range of levels; 8-bit linear
	// 6.02·8 + 1.76 = 49.9 dB for a full-scale sine, 20 dB less for each
	// tenth of the amplitude. Measured on a 440 Hz sine at 16 kHz (1 s):
	// μ-law 37.44 / 37.24 / 38.28 / 34.05 dB at amplitude 1 / 0.5 / 0.1 /
	// 0.01, linear 49.45 / 43.11 / 30.18 / 9.34 dB.
	for _, c := range []struct {
		amp, muMin, muMax, linMin float64
	}{
		{1, 37, 39, 49},
		{0.5, 37, 39, 43},
		{0.1, 37, 39, 29.5},
	} {
		x := sine(440, c.amp, 0.3, 16000, 16000)
		mu := snrDB(x, MuLawDecode(MuLawEncode(x)))
		lin := snrDB(x, LinearDecode(LinearEncode(x)))
		if mu < c.muMin || mu > c.muMax {
			t.Errorf("amplitude %g: μ-law SNR %.2f dB, want %g…%g", c.amp, mu, c.muMin, c.muMax)
		}
		if lin < c.linMin {
			t.Errorf("amplitude %g: linear SNR %.2f dB, want ≥ %g", c.amp, lin, c.linMin)
		}
	}
	// Quiet audio is what μ-law is for: at 1 % of full scale it keeps > 20 dB more.
	x := sine(440, 0.01, 0.3, 16000, 16000)
	if mu, lin := snrDB(x, MuLawDecode(MuLawEncode(x))), snrDB(x, LinearDecode(LinearEncode(x))); mu < 33 || mu-lin < 20 {
		t.Errorf("amplitude 0.01: μ-law SNR %.2f dB, linear %.2f dB; want μ-law ≥ 33 dB and ≥ 20 dB above linear", mu, lin)
	}
}

func TestBadInputPanicsWithMessage(t *testing.T) {
	for name, f := range map[string]func(){
		"MuLawDecode(256)":  func() { MuLawDecode([]int32{0, 256}) },
		"MuLawDecode(-1)":   func() { MuLawDecode([]int32{-1}) },
		"LinearDecode(300)": func() { LinearDecode([]int32{300}) },
		"MuLawEncode(NaN)":  func() { MuLawEncode([]float32{0, float32(math.NaN())}) },
		"LinearEncode(NaN)": func() { LinearEncode([]float32{float32(math.NaN())}) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestUnits(t *testing.T) {
	for _, id := range []int32{0, 128, 255} {
		if Units(id) != 1 {
			t.Errorf("Units(%d) = %v, want 1", id, Units(id))
		}
	}
}
