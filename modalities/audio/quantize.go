package audio

import (
	"fmt"
	"math"
)

// MuLawClasses is the number of token classes of both quantisers: 8 bits.
const MuLawClasses = 256

// mu is the μ of the μ-law (MuLawClasses − 1).
const mu = MuLawClasses - 1

// quantEps is SaShiMi's quantisation epsilon: u ∈ [0, 1] maps to
// ⌊u·(256 − ε) + ε/2⌋, which puts u = 0 and u = 1 in the end classes 0 and
// 255 with bins otherwise 1/(256 − ε) wide.
const quantEps = 0.01

// quantize maps v ∈ [-1, 1] (clipped) to a class as SaShiMi's quantize does
// for u = (v+1)/2, written as 128 + (v/2)·(256 − ε) (the same number) so
// that v = 0 lands exactly on class 128. It panics on NaN.
func quantize(v float64, what string, i int) int32 {
	if v != v {
		panic(fmt.Sprintf("audio.%s: sample %d is NaN", what, i))
	}
	v = max(-1, min(1, v))
	return int32(min(mu, math.Floor(128+v/2*(MuLawClasses-quantEps))))
}

// centre is the middle of the bin of class id in [-1, 1]: the bins of
// quantize are [2(k−128), 2(k−127)) / (256 − ε), clipped to [-1, 1]. It
// panics on an id outside 0 … 255.
func centre(id int32, what string, i int) float64 {
	if id < 0 || id > mu {
		panic(fmt.Sprintf("audio.%s: id %d at %d is outside 0…%d", what, id, i, mu))
	}
	return float64(2*id-mu) / (MuLawClasses - quantEps)
}

// MuLawEncode quantises samples to μ-law classes as WaveNet and SaShiMi do:
// each x, clipped to [-1, 1], is companded with μ = 255,
//
//	F(x) = sign(x) · ln(1 + μ|x|) / ln(1 + μ),
//
// and F ∈ [-1, 1] is cut into 256 equal bins, class ⌊(F+1)/2 · (256 − 0.01)
// + 0.005⌋ — exactly SaShiMi's mu_law_encode + quantize (state-spaces,
// src/dataloaders/audio.py) without its per-clip min-max scaling, so the
// ids match that code's for the same input. -1 → 0, 0 → 128, +1 → 255.
// (WaveNet rounds (F+1)/2·255 instead, a grid of 255 steps; the classes
// differ by at most one.) It panics on NaN.
func MuLawEncode(x []float32) []int32 {
	ids := make([]int32, len(x))
	lnMu := math.Log1p(mu)
	for i, s := range x {
		v := max(-1, min(1, float64(s)))
		f := math.Copysign(math.Log1p(mu*math.Abs(v))/lnMu, v)
		if s != s {
			f = math.NaN()
		}
		ids[i] = quantize(f, "MuLawEncode", i)
	}
	return ids
}

// MuLawDecode maps μ-law classes back to samples: the centre of each class's
// bin in the companded domain, F_k = (2k − 255)/(256 − 0.01), expanded by
// the inverse law x = sign(F)·((1+μ)^|F| − 1)/μ. It is increasing in k, and
// MuLawDecode(MuLawEncode(x)) is within half a bin of x in the companded
// domain. (SaShiMi decodes to the bin's lower edge k/128 − 1 instead.) It
// panics on an id outside 0 … 255.
func MuLawDecode(ids []int32) []float32 {
	x := make([]float32, len(ids))
	for i, id := range ids {
		f := centre(id, "MuLawDecode", i)
		x[i] = float32(math.Copysign(math.Expm1(math.Abs(f)*math.Log1p(mu))/mu, f))
	}
	return x
}

// LinearEncode quantises samples linearly to 8 bits: x, clipped to
// [-1, 1], into 256 equal bins, class ⌊(x+1)/2 · (256 − 0.01) + 0.005⌋ as
// SaShiMi's linear_encode + quantize do. -1 → 0, 0 → 128, +1 → 255. It
// panics on NaN.
func LinearEncode(x []float32) []int32 {
	ids := make([]int32, len(x))
	for i, s := range x {
		ids[i] = quantize(float64(s), "LinearEncode", i)
	}
	return ids
}

// LinearDecode maps linear classes to the centres of their bins,
// (2k − 255)/(256 − 0.01): every x in [-1, 1] comes back within half a bin,
// 1/(256 − 0.01). It panics on an id outside 0 … 255.
func LinearDecode(ids []int32) []float32 {
	x := make([]float32, len(ids))
	for i, id := range ids {
		x[i] = float32(centre(id, "LinearDecode", i))
	}
	return x
}

// Units is the number of audio samples token id stands for: always 1, one
// sample per token, so that a loss summed over tokens and divided by the
// summed Units is per sample (bits per sample when in bits).
func Units(id int32) float64 { return 1 }
