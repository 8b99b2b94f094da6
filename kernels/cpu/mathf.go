package cpu

import "math"

// Fast float32 elementary functions for the kernels. Go's math package works
// in float64 and was the bulk of the scan's time; these are the classic
// Cephes-style range reductions with short polynomials, in float32, accurate
// to a few ulp (mathf_test.go measures and bounds the error).

const (
	expHi  = 88.72283  // above: +Inf
	expLo  = -87.33654 // below: 0 (results that would be subnormal flush to zero)
	log2e  = 1.44269504088896341
	ln2Hi  = 0.693359375 // ln 2 split so that n·ln2Hi is exact
	ln2Lo  = -2.12194440e-4
	sqrt1h = 0.70710678118654752440

	roundMagic = 12582912 // 1.5·2^23
)

// expf is e^x in float32: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-7
// polynomial (Cephes expf), then scaled by 2^n. Maximum relative error
// 1.2e-7 over [−87.3, 88.7] (TestExpfAccuracy); 0 below −87.34 and +Inf
// above 88.72; NaN stays NaN.
func expf(x float32) float32 {
	if x > expHi {
		return float32(math.Inf(1))
	}
	if x < expLo {
		return 0
	}
	if x != x {
		return x
	}
	// Round x·log2e to the nearest integer by the 1.5·2^23 trick (exact in
	// float32, and Go does not reassociate it away).
	fn := x*log2e + roundMagic
	fn -= roundMagic
	r := x - fn*ln2Hi - fn*ln2Lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	n := int32(fn)
	if n > 127 { // only for x in (88.38, 88.72]: scale in two steps
		return y * 2 * math.Float32frombits(uint32(n-1+127)<<23)
	}
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// logf is the natural logarithm in float32 for x > 0 (Cephes logf: x = m·2^e
// with m in [√½, √2), log m by a degree-9 polynomial). Maximum relative
// error 1.5e-7 away from 1 and absolute error 1e-7 near it
// (TestLogfAccuracy). Non-positive x give NaN or −Inf as math.Log would.
func logf(x float32) float32 {
	if !(x > 0) || x > math.MaxFloat32 {
		return float32(math.Log(float64(x))) // NaN, −Inf, +Inf: rare paths
	}
	bits := math.Float32bits(x)
	e := int32(bits>>23) - 126
	if bits>>23 == 0 { // subnormal
		x *= 1 << 23
		bits = math.Float32bits(x)
		e = int32(bits>>23) - 126 - 23
	}
	m := math.Float32frombits(bits&0x807fffff | 0x3f000000) // m in [0.5, 1)
	if m < sqrt1h {
		e--
		m = m + m - 1
	} else {
		m = m - 1
	}
	z := m * m
	p := float32(7.0376836292e-2)
	p = p*m - 1.1514610310e-1
	p = p*m + 1.1676998740e-1
	p = p*m - 1.2420140846e-1
	p = p*m + 1.4249322787e-1
	p = p*m - 1.6668057665e-1
	p = p*m + 2.0000714765e-1
	p = p*m - 2.4999993993e-1
	p = p*m + 3.3333331174e-1
	y := p * m * z
	fe := float32(e)
	y += fe * ln2Lo
	y -= 0.5 * z
	return m + y + fe*ln2Hi
}

// log1pf is log(1 + x) for x ≥ 0, accurate for tiny x: below 1e-4 by its
// series, above through logf with the rounding of 1 + x corrected.
func log1pf(x float32) float32 {
	if x < 1e-4 {
		return x * (1 - x*(0.5-x*(1.0/3)))
	}
	u := 1 + x
	return logf(u) - ((u-1)-x)/u
}

// softplusf is log(1 + e^x), and x itself above 20 as PyTorch and mamba_ssm
// do; computed as max(x, 0) + log1p(e^−|x|) so that it never overflows.
func softplusf(x float32) float32 {
	if x > 20 {
		return x
	}
	if x > 0 {
		return x + log1pf(expf(-x))
	}
	return log1pf(expf(x))
}

// sigmoidf is 1/(1 + e^−x).
func sigmoidf(x float32) float32 { return 1 / (1 + expf(-x)) }

func softplusVecGo(dst, src []float32) {
	for i, x := range src {
		dst[i] = softplusf(x)
	}
}

func sigmoidVecGo(dst, src []float32) {
	for i, x := range src {
		dst[i] = sigmoidf(x)
	}
}
