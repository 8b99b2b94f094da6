//go:build cuda

package cuda

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/mambakit/mambakit/core"
)

// fillRandom fills t with normal values times scale plus shift, uploading a
// random tile of up to 1 Mi values over and over (so that multi-GiB tensors
// fill quickly).
func fillRandom(be *Backend, r *rand.Rand, t core.Tensor, scale, shift float32) {
	flat := t.Reshape(t.Numel())
	tile := make([]float32, min(t.Numel(), 1<<20))
	for j := range tile {
		tile[j] = scale*float32(r.NormFloat64()) + shift
	}
	for lo := 0; lo < flat.Numel(); lo += len(tile) {
		hi := min(lo+len(tile), flat.Numel())
		be.Upload(flat.Slice(lo, hi), tile[:hi-lo])
	}
}

// BenchmarkScan times the selective scan at B = 8, D = 1536, N = 16 (a
// mamba-130m layer at batch 8) with delta_softplus, the z gate, D and
// delta_bias, in float32, for L = 2048, 8192 and 32768: forward and
// backward (all gradients) separately, with CUDA events around each
// iteration after a warm-up. It reports ms/fwd and ms/bwd (inference
// forward; backward recomputing every state) and, where the backend saves
// states (ScanSaves, as training does), ms/fwd-saving and ms/bwd-saved (the
// forward storing the states before every 8th position, the backward
// starting from them), and prints a line per size. Memory: about 13 GiB at
// L = 32768, and the saved states 3.2 GB more (8·1536·4096·16 floats).
func BenchmarkScan(b *testing.B) {
	be := backend(b)
	for _, L := range []int{2048, 8192, 32768} {
		b.Run(fmt.Sprintf("L=%d", L), func(b *testing.B) { benchScan(b, be, L, false) })
	}
}

// BenchmarkScanBF16 is BenchmarkScan with bfloat16 sequence tensors (u,
// delta, B, C, z, out and dout, du, ddelta, dz; the state, A, D, the biases
// and dA, dB, dC, dD in float32), as mamba_ssm's bf16 rows.
func BenchmarkScanBF16(b *testing.B) {
	be := backend(b)
	for _, L := range []int{2048, 8192, 32768} {
		b.Run(fmt.Sprintf("L=%d", L), func(b *testing.B) { benchScan(b, be, L, true) })
	}
}

// BenchmarkScanConfigs is BenchmarkScan for every scan kernel configuration
// in turn (see MAMBAKIT_CUDA_SCAN_CONFIG), to tune the choice by length.
func BenchmarkScanConfigs(b *testing.B) {
	be := backend(b)
	defer func(c int) { be.scanCfg = c }(be.scanCfg)
	for c := 0; c < max(len(fwdConfigs), len(bwdConfigs)); c++ {
		fc, bc := fwdConfigs[min(c, len(fwdConfigs)-1)], bwdConfigs[min(c, len(bwdConfigs)-1)]
		for _, L := range []int{2048, 8192, 32768} {
			b.Run(fmt.Sprintf("fwd=%dx%d/bwd=%dx%d/L=%d", fc.threads, fc.items, bc.threads, bc.items, L), func(b *testing.B) {
				be.scanCfg = c
				benchScan(b, be, L, false)
			})
		}
	}
}

// BenchmarkScanLanes is BenchmarkScan with each instantiation of the
// scans that give each lane its own states (pair c of fwd16Configs and
// bwd16Configs, forceLanes) in turn.
func BenchmarkScanLanes(b *testing.B) {
	be := backend(b)
	defer be.autoLanes()
	for c := range lanePairs() {
		for _, L := range []int{2048, 8192, 32768} {
			be.forceLanes(c)
			b.Run(fmt.Sprintf("%s/%s/L=%d", fwd16Configs[be.fwd16Cfg].kernelName(), bwd16Configs[be.bwd16Cfg].kernelName(), L),
				func(b *testing.B) { benchScan(b, be, L, false) })
		}
	}
}

func benchScan(b *testing.B, be *Backend, L int, bf bool) {
	const B, D, N = 8, 1536, 16
	runtime.GC() // let the previous size's memory return to the allocator
	r := rand.New(rand.NewPCG(1, uint64(L)))
	alloc := func(scale, shift float32, shape ...int) core.Tensor {
		t := be.Alloc(shape...)
		fillRandom(be, r, t, scale, shift)
		return t
	}
	seqNew := be.Alloc
	if bf {
		seqNew = be.AllocBF16
	}
	seq := func(scale, shift float32, shape ...int) core.Tensor {
		t := seqNew(shape...)
		fillRandom(be, r, t, scale, shift)
		return t
	}
	A := be.Alloc(D, N)
	ah := make([]float32, D*N)
	for j := range ah {
		ah[j] = -float32(j%N + 1)
	}
	be.Upload(A, ah)
	s := core.ScanArgs{U: seq(1, 0, B, D, L), Delta: seq(0.5, -1, B, D, L), A: A,
		B: seq(1, 0, B, N, L), C: seq(1, 0, B, N, L), D: alloc(1, 0, D), Z: seq(1, 0, B, D, L),
		DeltaBias: alloc(0.3, 0, D), DeltaSoftplus: true, Out: seqNew(B, D, L)}
	g := core.ScanGrads{DOut: seq(1, 0, B, D, L), DU: seqNew(B, D, L), DDelta: seqNew(B, D, L),
		DA: be.Alloc(D, N), DB: be.Alloc(B, N, L), DC: be.Alloc(B, N, L), DD: be.Alloc(D), DZ: seqNew(B, D, L),
		DDeltaBias: be.Alloc(D)}
	ops := core.Ops{Backend: be}
	saves := be.ScanSaves(B, D, L, N)
	ss := s // the scan as training runs it
	if saves {
		ss.Saved = be.Alloc(B, D, (L+core.ScanSaveEvery-1)/core.ScanSaveEvery, N)
	}
	// Warm-up (and the first use of each kernel).
	ops.SelectiveScan(s)
	ops.SelectiveScanBackward(s, g)
	if saves {
		ops.SelectiveScan(ss)
		ops.SelectiveScanBackward(ss, g)
	}
	if err := be.Sync(); err != nil {
		b.Fatal(err)
	}
	// Three events around each pair: forward between the first two,
	// backward between the last two.
	var ev [3]event
	be.lock()
	for i := range ev {
		e, err := be.drv.newEvent()
		if err != nil {
			be.unlock()
			b.Fatal(err)
		}
		ev[i] = e
	}
	be.unlock()
	defer func() {
		be.lock()
		for _, e := range ev {
			be.drv.destroyEvent(e)
		}
		be.unlock()
	}()
	record := func(e event) {
		be.lock()
		defer be.unlock()
		check("recording an event", be.drv.record(e))
	}
	elapsed := func(a, c event) float64 {
		be.lock()
		defer be.unlock()
		ms, err := be.drv.elapsed(a, c)
		check("timing", err)
		return ms
	}
	// pass runs s forward and backward, adding their times to f and bw.
	pass := func(s core.ScanArgs, f, bw *float64) {
		record(ev[0])
		ops.SelectiveScan(s)
		record(ev[1])
		ops.SelectiveScanBackward(s, g)
		record(ev[2])
		*f += elapsed(ev[0], ev[1])
		*bw += elapsed(ev[1], ev[2])
	}
	var fwd, bwd, fwdS, bwdS float64
	iters := 0
	for b.Loop() {
		pass(s, &fwd, &bwd)
		if saves {
			pass(ss, &fwdS, &bwdS)
		}
		iters++
	}
	n := float64(iters)
	fwd, bwd, fwdS, bwdS = fwd/n, bwd/n, fwdS/n, bwdS/n
	// The events of pass bracket one launch on an idle GPU, so its figures
	// include the host's time to launch. Forwards queued back to back, as a
	// training step issues them, leave that time out but for the first
	// launch's share (1/queued of it).
	const queued = 10
	record(ev[0])
	for range queued {
		ops.SelectiveScan(s)
	}
	record(ev[1])
	fwdQ := elapsed(ev[0], ev[1]) / queued
	b.ReportMetric(fwdQ, "ms/fwd-queued")
	b.ReportMetric(fwd, "ms/fwd")
	b.ReportMetric(bwd, "ms/bwd")
	if saves {
		b.ReportMetric(fwdS, "ms/fwd-saving")
		b.ReportMetric(bwdS, "ms/bwd-saved")
	}
	fc, bc := fwdConfigs[be.pickFwd(B, D)].String(), bwdConfigs[be.pickBwd(B, D)].String()
	if be.useFwd16(B, D, N) {
		fc = fwd16Configs[be.fwd16Cfg].kernelName()
	}
	if be.useBwd16(B, D, N) {
		bc = bwd16Configs[be.bwd16Cfg].kernelName()
	}
	if bf {
		fc = "bf16, " + fc
	}
	elems := float64(B) * D * float64(L) * N
	fmt.Fprintf(os.Stdout, "scan B=%d D=%d L=%d N=%d (fwd %s, bwd %s): forward %.3f ms (%.1f G state-updates/s; %.3f ms queued %d back to back), backward %.3f ms (%.1f G/s), %d iterations\n",
		B, D, L, N, fc, bc, fwd, elems/fwd/1e6, fwdQ, queued, bwd, elems/bwd/1e6, iters)
	if saves {
		fmt.Fprintf(os.Stdout, "  with saved states: forward %.3f ms, backward %.3f ms\n", fwdS, bwdS)
	}
}
