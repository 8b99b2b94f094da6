package cpu

import (
	"math/rand/v2"
	"testing"

	"github.com/mambakit/mambakit/core"
)

func randHost(r *rand.Rand, scale float32, shape ...int) core.Tensor {
	t := core.NewHost(shape...)
	for i, h := 0, t.Host(); i < len(h); i++ {
		h[i] = scale * float32(r.NormFloat64())
	}
	return t
}

// scanBench makes the scan of one mamba-130m layer at batch 1 × 2048:
// D = 1536, N = 16.
func scanBench() core.ScanArgs {
	const B, D, L, N = 1, 1536, 2048, 16
	r := rand.New(rand.NewPCG(1, 2))
	A := randHost(r, 1, D, N)
	for i, h := 0, A.Host(); i < len(h); i++ {
		h[i] = -float32(i%N + 1)
	}
	return core.ScanArgs{U: randHost(r, 1, B, D, L), Delta: randHost(r, 0.5, B, D, L), A: A,
		B: randHost(r, 1, B, N, L), C: randHost(r, 1, B, N, L), D: randHost(r, 1, D), Z: randHost(r, 1, B, D, L),
		DeltaBias: randHost(r, 0.3, D), DeltaSoftplus: true, Out: core.NewHost(B, D, L)}
}

func reportPerElement(b *testing.B, s core.ScanArgs) {
	n := float64(s.U.Numel() * s.A.Shape[1])
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
}

// BenchmarkScanForward reports ns per (B·D·L·N) element.
func BenchmarkScanForward(b *testing.B) {
	s := scanBench()
	be := New()
	for b.Loop() {
		be.SelectiveScan(s)
	}
	reportPerElement(b, s)
}

// BenchmarkScanBackward reports ns per (B·D·L·N) element.
func BenchmarkScanBackward(b *testing.B) {
	s := scanBench()
	r := rand.New(rand.NewPCG(3, 4))
	B, D, L, N := 1, 1536, 2048, 16
	g := core.ScanGrads{DOut: randHost(r, 1, B, D, L), DU: core.NewHost(B, D, L), DDelta: core.NewHost(B, D, L),
		DA: core.NewHost(D, N), DB: core.NewHost(B, N, L), DC: core.NewHost(B, N, L), DD: core.NewHost(D),
		DZ: core.NewHost(B, D, L), DDeltaBias: core.NewHost(D)}
	be := New()
	for b.Loop() {
		be.SelectiveScanBackward(s, g)
	}
	reportPerElement(b, s)
}

// BenchmarkGemmInProj is mamba-130m's in_proj at batch 1 × 2048:
// (3072 × 768) · (768 × 2048), reported in GFLOP/s.
func BenchmarkGemmInProj(b *testing.B) {
	const M, N, K = 3072, 2048, 768
	r := rand.New(rand.NewPCG(5, 6))
	g := core.GemmArgs{TransB: true, M: M, N: N, K: K, Alpha: 1,
		A: randHost(r, 1, M, K), B: randHost(r, 1, N, K), C: core.NewHost(M, N)}
	be := New()
	for b.Loop() {
		be.Gemm(g)
	}
	b.ReportMetric(2*M*N*K*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkScanExpOnly times the exponentials a scan forward of the same
// shape evaluates (B·D·L·N of them) through the same 8-lane exp, to estimate
// the share of the scan's time spent in exp.
func BenchmarkScanExpOnly(b *testing.B) {
	s := scanBench()
	n := s.U.Numel() * s.A.Shape[1]
	x := make([]float32, n)
	for i := range x {
		x[i] = -float32(i%16+1) * 0.01
	}
	for b.Loop() {
		parallelFor(n, 1<<16, func(lo, hi int) { expVec(x[lo:hi], x[lo:hi]) })
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
}
