//go:build cuda

package cuda

import (
	"fmt"
	"runtime"

	"github.com/mambakit/mambakit/core"
)

// scanConfig is one compiled instantiation of the scan kernels
// (scan_fwd_<threads>x<items>, scan_bwd_<threads>x<items> in kernels.cu):
// threads per block (one block per channel (b, d)) and consecutive
// positions per thread; a chunk is threads·items positions.
type scanConfig struct{ threads, items int }

func (c scanConfig) chunk() int { return c.threads * c.items }

// fwdConfigs and bwdConfigs are the instantiations, smallest chunk first.
// The backward keeps fewer positions per thread: it holds about twelve
// values per position in registers against the forward's six.
var (
	fwdConfigs = [...]scanConfig{{32, 8}, {64, 8}, {128, 8}, {128, 16}}
	bwdConfigs = [...]scanConfig{{32, 8}, {64, 8}, {128, 8}}
)

// maxScanN bounds the state size: the kernels keep 3·N floats of carries and
// sums in shared memory (48 KiB per block without opting in to more).
const maxScanN = 2048

// pickFwd chooses the forward instantiation for length L: the smallest
// chunk that covers L, up to 2048 positions per chunk.
func (be *Backend) pickFwd(L int) int {
	if be.scanCfg >= 0 {
		return min(be.scanCfg, len(fwdConfigs)-1)
	}
	switch {
	case L <= 256:
		return 0
	case L <= 512:
		return 1
	case L <= 2048:
		return 2
	default:
		return 3
	}
}

// pickBwd chooses the backward instantiation for length L.
func (be *Backend) pickBwd(L int) int {
	if be.scanCfg >= 0 {
		return min(be.scanCfg, len(bwdConfigs)-1)
	}
	switch {
	case L <= 256:
		return 0
	case L <= 512:
		return 1
	default:
		return 2
	}
}

// scanDims returns B, D, L, N and checks what the kernels support beyond
// core's validation.
func scanDims(s core.ScanArgs) (B, D, L, N int) {
	B, D, L, N = s.U.Shape[0], s.U.Shape[1], s.U.Shape[2], s.A.Shape[1]
	if N > maxScanN {
		panic(fmt.Sprintf("cuda: selective scan with state size N = %d: at most %d is supported", N, maxScanN))
	}
	if B > 65535 {
		panic(fmt.Sprintf("cuda: selective scan with batch %d: at most 65535 is supported", B))
	}
	return
}

// aligned16 reports whether the (B, ·, L) rows at these addresses can be
// read with 16-byte loads: every address a multiple of 16 (absent tensors,
// 0, are) and L a multiple of 4.
func aligned16(L int, ptrs ...uintptr) bool {
	if L%4 != 0 {
		return false
	}
	for _, q := range ptrs {
		if q%16 != 0 {
			return false
		}
	}
	return true
}

// SelectiveScan implements core.Backend with scan_fwd (kernels.cu): one block
// per channel (b, d), the sequence in chunks of threads·items positions
// scanned in parallel within the block, the state carried between chunks.
func (be *Backend) SelectiveScan(s core.ScanArgs) {
	B, D, L, N := scanDims(s)
	if B == 0 || D == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	u, delta, z, out := be.ptr(s.U), be.ptr(s.Delta), be.ptr(s.Z), be.ptr(s.Out)
	bm, cm := be.ptr(s.B), be.ptr(s.C)
	c := be.pickFwd(L)
	cfg := fwdConfigs[c]
	be.launch(be.k.scanFwd[c], D, B, cfg.threads, 4*N,
		p(u), p(delta), p(be.ptr(s.A)), p(bm), p(cm), p(be.ptr(s.D)), p(z), p(be.ptr(s.DeltaBias)),
		p(be.ptr(s.H0)), p(out), p(be.ptr(s.HLast)), i(D), i(L), i(N), b(s.DeltaSoftplus),
		b(aligned16(L, u, delta, z, out, bm, cm)))
}

// SelectiveScanBackward implements core.Backend with scan_bwd (kernels.cu):
// per channel, a forward pass keeps the state before each chunk in a
// (B, D, chunks, N) scratch buffer (and computes dz), then the chunks are
// walked backwards, recomputing their states from those checkpoints. dB and
// dC, which sum over the channels, are cleared here and accumulated with
// atomic adds; dA, dD and dDeltaBias are added to.
func (be *Backend) SelectiveScanBackward(s core.ScanArgs, g core.ScanGrads) {
	B, D, L, N := scanDims(s)
	if B == 0 || D == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	defer runtime.KeepAlive(s)
	defer runtime.KeepAlive(g)
	u, delta, z, bm, cm := be.ptr(s.U), be.ptr(s.Delta), be.ptr(s.Z), be.ptr(s.B), be.ptr(s.C)
	dout, du, ddelta, dz := be.ptr(g.DOut), be.ptr(g.DU), be.ptr(g.DDelta), be.ptr(g.DZ)
	dB, dC := be.ptr(g.DB), be.ptr(g.DC)
	bnl := int64(B) * int64(N) * int64(L)
	if dB != 0 && bnl > 0 {
		check("clearing dB", be.drv.memsetZero(dB, 4*bnl))
	}
	if dC != 0 && bnl > 0 {
		check("clearing dC", be.drv.memsetZero(dC, 4*bnl))
	}
	c := be.pickBwd(L)
	cfg := bwdConfigs[c]
	chunks := (L + cfg.chunk() - 1) / cfg.chunk()
	ckpt := be.temp(B*D*chunks*N, 4)
	defer be.done(ckpt)
	be.launch(be.k.scanBwd[c], D, B, cfg.threads, 12*N,
		p(u), p(delta), p(be.ptr(s.A)), p(bm), p(cm), p(be.ptr(s.D)), p(z), p(be.ptr(s.DeltaBias)),
		p(be.ptr(s.H0)), p(dout), p(be.ptr(g.DHLast)), p(du), p(ddelta), p(be.ptr(g.DA)), p(dB), p(dC),
		p(be.ptr(g.DD)), p(dz), p(be.ptr(g.DDeltaBias)), p(be.ptr(g.DH0)), p(ckpt.ptr),
		i(D), i(L), i(N), b(s.DeltaSoftplus), b(aligned16(L, u, delta, z, dout, du, ddelta, dz, bm, cm)))
}

// ScanStep implements core.Backend with scan_step: one thread per (b, d)
// advances its N states by one position.
func (be *Backend) ScanStep(s core.StepArgs) {
	B, D, N := s.State.Shape[0], s.State.Shape[1], s.State.Shape[2]
	n := int64(B) * int64(D)
	if n == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	be.launch(be.k.scanStep, be.blocksFor(n, 128), 1, 128, 0,
		p(be.ptr(s.State)), p(be.ptr(s.U)), p(be.ptr(s.Delta)), p(be.ptr(s.Z)), p(be.ptr(s.A)), p(be.ptr(s.B)),
		p(be.ptr(s.C)), p(be.ptr(s.D)), p(be.ptr(s.DeltaBias)), p(be.ptr(s.Out)), uint64(n), i(D), i(N),
		b(s.DeltaSoftplus))
}
