//go:build amd64 && !purego

package cpu

import "golang.org/x/sys/cpu"

// hasAVX2FMA selects the assembly kernels; without AVX2 and FMA (or with the
// purego build tag) the portable Go ones run.
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int, store bool)

//go:noescape
func axpyAVX(y, x *float32, alpha float32, n int)

//go:noescape
func dotBF16AVX(a *float32, b *uint16, n int) float32

// dotBF16 is Σ a[i]·widen(b[i]) over len(a).
func dotBF16(a []float32, b []uint16) float32 {
	if hasAVX2FMA && len(a) > 0 {
		_ = b[len(a)-1]
		return dotBF16AVX(&a[0], &b[0], len(a))
	}
	return dotBF16Go(a, b)
}

//go:noescape
func dotAVX(a, b *float32, n int) float32

// microKernel is C[r][j] (+)= Σ_p a[p·mr + r]·b[p·nr + j] (see microKernelGo).
func microKernel(k int, a, b, c []float32, ldc int, store bool) {
	if hasAVX2FMA && k > 0 {
		_ = a[k*mr-1]
		_ = b[k*nr-1]
		_ = c[(mr-1)*ldc+nr-1]
		kernel6x16(k, &a[0], &b[0], &c[0], ldc, store)
		return
	}
	microKernelGo(k, a, b, c, ldc, store)
}

// axpy is y += alpha·x over len(x) (y at least as long).
func axpy(y, x []float32, alpha float32) {
	if hasAVX2FMA && len(x) > 0 {
		_ = y[len(x)-1]
		axpyAVX(&y[0], &x[0], alpha, len(x))
		return
	}
	axpyGo(y, x, alpha)
}

// dot is Σ a[i]·b[i] over len(a) (b at least as long).
func dot(a, b []float32) float32 {
	if hasAVX2FMA && len(a) > 0 {
		_ = b[len(a)-1]
		return dotAVX(&a[0], &b[0], len(a))
	}
	return dotGo(a, b)
}
