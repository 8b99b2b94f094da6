package audio

import (
	"math"
	"testing"
)

// sine returns n samples of amp·sin(2π·f·i/rate + phase).
func sine(f, amp, phase float64, rate, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*f*float64(i)/float64(rate)+phase))
	}
	return x
}

// edge is how many output samples at each end see the zero padding.
func edge(from, to int) int {
	return int(math.Ceil(newSincFilter(from, to).w*float64(to)/float64(from))) + 2
}

// project returns the amplitude of the component of y[lo:hi] at frequency f
// (Hz, at rate), by least squares against sin and cos over the window.
func project(y []float32, f float64, rate, lo, hi int) float64 {
	var ss, sc, cc, ys, yc float64
	for n := lo; n < hi; n++ {
		w := 2 * math.Pi * f * float64(n) / float64(rate)
		s, c := math.Sin(w), math.Cos(w)
		ss += s * s
		cc += c * c
		sc += s * c
		ys += float64(y[n]) * s
		yc += float64(y[n]) * c
	}
	// Solve [ss sc; sc cc] [a b]ᵀ = [ys yc]ᵀ.
	det := ss*cc - sc*sc
	a := (ys*cc - yc*sc) / det
	b := (yc*ss - ys*sc) / det
	return math.Hypot(a, b)
}

func TestResampleSineKeepsFrequencyAndAmplitude(t *testing.T) {
	cases := []struct {
		from, to int
		f        float64
	}{
		{44100, 16000, 1000},
		{8000, 16000, 1000},
		{16000, 8000, 1000},
		{22050, 16000, 440},
		{16000, 44100, 3000},
		{44100, 8000, 3500}, // near the pass-band edge 0.9·4000 = 3600 Hz
	}
	const amp, phase = 0.5, 0.7
	for _, c := range cases {
		x := sine(c.f, amp, phase, c.from, c.from) // 1 s
		y := Resample(x, c.from, c.to)
		if len(y) != c.to {
			t.Fatalf("%d → %d: %d samples from 1 s, want %d", c.from, c.to, len(y), c.to)
		}
		e := edge(c.from, c.to)
		// Sample by sample against the analytic sine at the output instants:
		// the filter has zero phase, so only the pass-band ripple (≤ 1e-4
		// relative by design) and float32 rounding remain.
		var worst float64
		for n := e; n < len(y)-e; n++ {
			want := amp * math.Sin(2*math.Pi*c.f*float64(n)/float64(c.to)+phase)
			worst = max(worst, math.Abs(float64(y[n])-want))
		}
		if worst > amp*1e-4 {
			t.Errorf("%d → %d, %g Hz: max deviation from the ideal sine %.3g, want ≤ %.3g", c.from, c.to, c.f, worst, amp*1e-4)
		}
		// Amplitude by projection, and frequency by zero crossings.
		a := project(y, c.f, c.to, e, len(y)-e)
		if math.Abs(a/amp-1) > 1e-4 {
			t.Errorf("%d → %d, %g Hz: amplitude %.6f, want %.6f (relative error %.2g)", c.from, c.to, c.f, a, amp, a/amp-1)
		}
		crossings := 0
		for n := e + 1; n < len(y)-e; n++ {
			if (y[n-1] < 0) != (y[n] < 0) {
				crossings++
			}
		}
		dur := float64(len(y)-2*e-1) / float64(c.to)
		if want := 2 * c.f * dur; math.Abs(float64(crossings)-want) > 2 {
			t.Errorf("%d → %d, %g Hz: %d zero crossings in %.4f s, want %.1f", c.from, c.to, c.f, crossings, dur, want)
		}
	}
}

// attenuationDB returns how far below a unit sine's RMS the interior of y is.
func attenuationDB(y []float32, lo, hi int) float64 {
	var s float64
	for _, v := range y[lo:hi] {
		s += float64(v) * float64(v)
	}
	return 20 * math.Log10(math.Sqrt(0.5)/math.Sqrt(s/float64(hi-lo)))
}

func TestResampleStopBand(t *testing.T) {
	// Downsampling: a tone above the new Nyquist must not fold back.
	cases := []struct {
		from, to int
		fs       []float64
	}{
		{44100, 8000, []float64{4000, 4100, 4500, 5000, 7000, 8000, 11025, 15000, 20000, 22000}},
		{44100, 16000, []float64{8000, 8100, 9000, 12000, 16000, 20000, 22000}},
		{16000, 8000, []float64{4000, 4050, 5000, 6000, 7900}},
	}
	for _, c := range cases {
		e := edge(c.from, c.to)
		least := math.Inf(1)
		for _, f := range c.fs {
			y := Resample(sine(f, 1, 0.3, c.from, c.from), c.from, c.to)
			a := attenuationDB(y, e, len(y)-e)
			if a < StopbandDB {
				t.Errorf("%d → %d: a %g Hz tone is attenuated by %.2f dB, want ≥ %g", c.from, c.to, f, a, StopbandDB)
			}
			least = min(least, a)
		}
		t.Logf("%d → %d: least attenuation over %v Hz: %.2f dB", c.from, c.to, c.fs, least)
	}
	// Upsampling: a tone at the pass-band edge, 3.6 kHz at 8 kHz, has an
	// image at 4.4 kHz, which the filter must remove from the 16 kHz output.
	// The window is a whole number of periods of both (40 samples) so that
	// the tone does not leak into the image's projection.
	y := Resample(sine(3600, 1, 0.3, 8000, 8000), 8000, 16000)
	e := edge(8000, 16000)
	img := project(y, 4400, 16000, e, e+(len(y)-2*e)/40*40)
	t.Logf("8 → 16 kHz: the 4.4 kHz image of a 3.6 kHz tone is at %.1f dB", 20*math.Log10(img))
	if 20*math.Log10(1/img) < StopbandDB {
		t.Errorf("8 → 16 kHz: the 4.4 kHz image of a unit 3.6 kHz tone has amplitude %.3g (%.1f dB), want ≤ -%g dB", img, 20*math.Log10(img), StopbandDB)
	}
	// The meter itself: keeping every 5.5125th sample without filtering
	// (nearest neighbour) lets the 7 kHz tone through as a 1 kHz alias.
	x := sine(7000, 1, 0.3, 44100, 44100)
	naive := make([]float32, 8000)
	for n := range naive {
		naive[n] = x[int(math.Round(float64(n)*44100/8000))%len(x)]
	}
	if a := attenuationDB(naive, e, len(naive)-e); a > 3 {
		t.Fatalf("the attenuation meter gives %.1f dB for unfiltered decimation; it cannot see aliasing", a)
	}
}

func TestResampleLengthsAndEdges(t *testing.T) {
	for _, c := range []struct{ n, from, to, want int }{
		{0, 8000, 16000, 0}, {1, 8000, 16000, 2}, {3, 16000, 8000, 2}, {8000, 8000, 16000, 16000},
		{44100, 44100, 16000, 16000}, {44101, 44100, 16000, 16001}, {1000, 44100, 8000, 182},
	} {
		if got := len(Resample(make([]float32, c.n), c.from, c.to)); got != c.want {
			t.Errorf("%d samples %d → %d: %d out, want %d (⌈n·to/from⌉)", c.n, c.from, c.to, got, c.want)
		}
	}
	// Same rate: a copy, not the same array.
	x := []float32{0.1, -0.2, 0.3}
	y := Resample(x, 16000, 16000)
	y[0] = 9
	if x[0] != 0.1 || len(y) != 3 || y[2] != 0.3 {
		t.Errorf("Resample at the same rate must return a copy: x=%v y=%v", x, y)
	}
	// DC passes with unit gain (away from the edges).
	dc := make([]float32, 8000)
	for i := range dc {
		dc[i] = 0.25
	}
	out := Resample(dc, 8000, 16000)
	e := edge(8000, 16000)
	for n := e; n < len(out)-e; n++ {
		if math.Abs(float64(out[n])-0.25) > 0.25*1e-4 {
			t.Fatalf("DC 0.25 at 8 → 16 kHz: sample %d is %v", n, out[n])
		}
	}
	for _, r := range [][2]int{{0, 16000}, {16000, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Resample(%d → %d) did not panic", r[0], r[1])
				}
			}()
			Resample(dc, r[0], r[1])
		}()
	}
}

// The taps computed per output sample (used when the polyphase table would
// be too large) must equal the table's.
func TestResampleWithoutBank(t *testing.T) {
	x := sine(1234, 0.8, 0.1, 44100, 5000)
	for _, r := range [][2]int{{44100, 16000}, {8000, 16000}, {22050, 16000}} {
		f := newSincFilter(r[0], r[1])
		if f.bank == nil {
			t.Fatalf("%d → %d: expected a polyphase table", r[0], r[1])
		}
		n := len(Resample(x, r[0], r[1]))
		a, b := make([]float32, n), make([]float32, n)
		f.run(x, a, 0)
		f.bank = nil
		f.run(x, b, 0)
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > 1e-6 {
				t.Fatalf("%d → %d: sample %d is %v from the table, %v computed directly", r[0], r[1], i, a[i], b[i])
			}
		}
	}
	// A ratio with a large denominator takes the direct path: 44100 → 44101.
	if f := newSincFilter(44100, 44101); f.bank != nil {
		t.Fatalf("44100 → 44101 built a table of %d taps", len(f.bank))
	}
	y := Resample(sine(1000, 0.5, 0, 44100, 4410), 44100, 44101)
	e := edge(44100, 44101)
	for n := e; n < len(y)-e; n++ {
		want := 0.5 * math.Sin(2*math.Pi*1000*float64(n)/44101)
		if math.Abs(float64(y[n])-want) > 0.5e-4 {
			t.Fatalf("44100 → 44101: sample %d is %v, want %v", n, y[n], want)
		}
	}
}

func TestBesselI0(t *testing.T) {
	// I0(x) = (1/π)∫₀^π exp(x·cos θ) dθ, evaluated by the trapezoid rule with
	// 2000 panels (exponentially accurate for this periodic integrand), agrees
	// with these to 1e-15; they are also Abramowitz & Stegun's table 9.8.
	for _, c := range []struct{ x, want float64 }{
		{0, 1}, {1, 1.266065877752008}, {2, 2.279585302336067}, {5, 27.23987182360445}, {8, 427.5641157218048},
	} {
		if got := besselI0(c.x); math.Abs(got/c.want-1) > 1e-14 {
			t.Errorf("I0(%g) = %.16g, want %.16g", c.x, got, c.want)
		}
	}
}
