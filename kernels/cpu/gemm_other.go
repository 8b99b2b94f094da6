//go:build !amd64 || purego

package cpu

const hasAVX2FMA = false

func microKernel(k int, a, b, c []float32, ldc int, store bool) {
	microKernelGo(k, a, b, c, ldc, store)
}

func axpy(y, x []float32, alpha float32) { axpyGo(y, x, alpha) }

func dot(a, b []float32) float32 { return dotGo(a, b) }

func dotBF16(a []float32, b []uint16) float32 { return dotBF16Go(a, b) }
