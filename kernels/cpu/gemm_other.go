//go:build !amd64 || purego

package cpu

const hasAVX2FMA = false

func microKernel(k int, a, b, c []float32, ldc int) { microKernelGo(k, a, b, c, ldc) }

func dot(a, b []float32) float32 { return dotGo(a, b) }
