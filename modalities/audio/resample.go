package audio

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// The resampling filter's design. Resample low-passes at the lower of the
// two Nyquist frequencies, fN = min(from, to)/2:
//
//   - pass band 0 … PassbandEdge·fN, where the gain is 1 within ±δ,
//   - transition band PassbandEdge·fN … fN,
//   - stop band fN and above, attenuated by at least StopbandDB (δ = 10^(-StopbandDB/20)),
//
// so that when downsampling nothing above the new Nyquist folds back into
// the band, and when upsampling no image of the old band appears above it.
const (
	PassbandEdge = 0.9  // end of the pass band, as a fraction of the lower Nyquist frequency
	StopbandDB   = 80.0 // least attenuation in the stop band, in dB; also the pass-band ripple δ = 1e-4
)

// Resample converts x, sampled at `from` Hz, to a rate of `to` Hz with a
// band-limited windowed-sinc filter evaluated exactly at every output
// instant (a polyphase bank when the rates' ratio has a small denominator):
//
//	y[n] = Σ_k x[k] · h(n·from/to − k)
//	h(τ) = 2fc · sinc(2fc·τ) · I0(β·√(1 − (τ/W)²)) / I0(β),   |τ| < W   (τ in input samples)
//
// with the cut-off fc halfway through the transition band (0.95·fN, as a
// fraction of `from`), a Kaiser window whose β = 0.1102·(A − 8.7) and
// half-width W follow Kaiser's formulas for A = StopbandDB + 2 dB of margin
// and the transition width (1 − PassbandEdge)·fN: pass band to 0.9·fN with
// // ripple ≤ 1e-4, stop band from fN on at ≥ 80 dB. The half-width comes to
// W ≈ 51.6·from/min(from, to) input samples: 285 for 44.1 → 8 kHz, 143 for
// 44.1 → 16 kHz, 52.5 for 8 → 16 kHz. The filter has zero phase (no
// delay). Samples before the start and after the end count as zeros, so the
// first and last W input samples' worth of output see the edges.
//
// The output has ⌈len(x)·to/from⌉ samples: output n is the signal at time
// n/to s, for every such time before the end of x. from == to returns a
// copy. Rates must be positive: Resample panics otherwise (a programming
// error, since ReadAudio never returns such a rate).
func Resample(x []float32, from, to int) []float32 {
	if from <= 0 || to <= 0 {
		panic(fmt.Sprintf("audio.Resample: sample rates must be positive, got %d → %d", from, to))
	}
	if from == to {
		return append([]float32(nil), x...)
	}
	nOut := int((int64(len(x))*int64(to) + int64(from) - 1) / int64(from))
	y := make([]float32, nOut)
	if nOut == 0 {
		return y
	}
	f := newSincFilter(from, to)
	// Split the output among the cores when there is enough of it.
	workers := min(runtime.GOMAXPROCS(0), max(1, nOut/8192))
	var wg sync.WaitGroup
	chunk := (nOut + workers - 1) / workers
	for lo := 0; lo < nOut; lo += chunk {
		hi := min(nOut, lo+chunk)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.run(x, y[lo:hi], lo)
		}()
	}
	wg.Wait()
	return y
}

// sincFilter is Resample's filter for one pair of rates.
type sincFilter struct {
	from, to int64
	l        int64   // phases: to / gcd(from, to)
	fc       float64 // cut-off, cycles per input sample
	w        float64 // half-width, input samples
	beta     float64 // Kaiser β
	i0beta   float64 // I0(β)
	j        int     // taps span offsets -j … j+1 around floor(t)
	bank     []float64
}

// designMargin is added to StopbandDB in Kaiser's formulas, which are
// estimates: with it the measured stop band and ripple meet the documented
// figures with room (see resample_test.go).
const designMargin = 2.0

// maxBank bounds the polyphase table (in float64 taps); beyond it the taps
// are computed for each output sample instead.
const maxBank = 1 << 22

func newSincFilter(from, to int) *sincFilter {
	g := gcd(from, to)
	fN := float64(min(from, to)) / 2
	a := StopbandDB + designMargin
	dw := 2 * math.Pi * (1 - PassbandEdge) * fN / float64(from) // transition width, radians per input sample
	taps := math.Ceil((a-7.95)/(2.285*dw)) + 1                  // Kaiser's estimate of the filter length
	f := &sincFilter{
		from: int64(from), to: int64(to), l: int64(to / g),
		fc:   (1 + PassbandEdge) / 2 * fN / float64(from),
		w:    taps / 2,
		beta: 0.1102 * (a - 8.7),
	}
	f.i0beta = besselI0(f.beta)
	f.j = int(math.Ceil(f.w)) + 1
	if f.l*int64(2*f.j+2) <= maxBank {
		width := 2*f.j + 2
		f.bank = make([]float64, int(f.l)*width)
		for q := range int(f.l) {
			f.taps(float64(q)/float64(f.l), f.bank[q*width:(q+1)*width])
		}
	}
	return f
}

// taps fills t[i] = h(frac − (i − j)) for offsets i − j = -j … j+1 from
// floor of the output instant, frac being its fractional part.
func (f *sincFilter) taps(frac float64, t []float64) {
	for i := range t {
		tau := frac - float64(i-f.j)
		if math.Abs(tau) >= f.w {
			t[i] = 0
			continue
		}
		r := tau / f.w
		win := besselI0(f.beta*math.Sqrt(1-r*r)) / f.i0beta
		t[i] = 2 * f.fc * sinc(2*f.fc*tau) * win
	}
}

// run computes y[n - first] for output samples n = first … first+len(y)-1.
func (f *sincFilter) run(x []float32, y []float32, first int) {
	width := 2*f.j + 2
	var scratch []float64
	if f.bank == nil {
		scratch = make([]float64, width)
	}
	for i := range y {
		num := int64(first+i) * f.from // output instant × to, in input samples
		base := int(num / f.to)
		rem := num % f.to // phase, in units of 1/to; rem·l/to is whole
		var t []float64
		if f.bank != nil {
			q := int(rem * f.l / f.to)
			t = f.bank[q*width : (q+1)*width]
		} else {
			f.taps(float64(rem)/float64(f.to), scratch)
			t = scratch
		}
		lo := base - f.j
		k0, k1 := max(0, lo), min(len(x), lo+width)
		var s float64
		for k := k0; k < k1; k++ {
			s += float64(x[k]) * t[k-lo]
		}
		y[i] = float32(s)
	}
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0, by
// its power series Σ ((x/2)^k / k!)², summed until the terms stop counting.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	h := x / 2
	for k := 1; k < 500; k++ {
		term *= h / float64(k)
		t2 := term * term
		sum += t2
		if t2 < sum*1e-17 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
