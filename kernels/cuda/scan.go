//go:build cuda

package cuda

import (
	"fmt"
	"runtime"

	"github.com/mambakit/mambakit/core"
)

// scanConfig is one compiled instantiation of the scan kernels
// (scan_fwd_<threads>x<items>, scan_bwd_<threads>x<items> in kernels.cu,
// whose SCAN_FWD_KERNEL and SCAN_BWD_KERNEL lines repeat these fields): a
// block of threads/32 warps serves threads/32·chans channels (b, d) of one
// batch row b, each warp chans of them, each thread items = chans·I values
// of a chunk: the sequence goes in chunks of 32·I positions, I consecutive
// ones per lane, with B and C staged in shared memory rows states at a
// time. late (backward only) computes y and dz in phase 2 rather than in
// phase 1 (more registers, less work). Names must be unique within each
// list.
type scanConfig struct {
	threads, items int
	chans, rows    int
	late           bool
}

func (c scanConfig) String() string {
	late := ""
	if c.late {
		late = ", y late"
	}
	return fmt.Sprintf("%dx%d (%d channels per block, %d positions per lane, %d rows%s)",
		c.threads, c.items, c.channels(), c.lanePositions(), c.rows, late)
}

// lanePositions is I, the consecutive positions of a lane.
func (c scanConfig) lanePositions() int { return c.items / c.chans }

// chunk is the number of positions a warp walks at a time.
func (c scanConfig) chunk() int { return 32 * c.lanePositions() }

// channels is the number of channels of a block.
func (c scanConfig) channels() int { return c.threads / 32 * c.chans }

// fwdStatic and bwdStatic are the kernels' static shared memory in bytes
// (the staging buffers, and the backward's dB, dC sums; see scan_fwd and
// scan_bwd).
func (c scanConfig) fwdStatic() int { return 512 * c.rows * c.lanePositions() }
func (c scanConfig) bwdStatic() int {
	return 512*c.rows*c.lanePositions() + 512*(c.threads/32)*c.lanePositions()
}

// fwdConfigs and bwdConfigs are the instantiations. The backward keeps
// fewer positions per lane: it holds about five values per position and
// channel in registers through a chunk against the forward's three, and two
// per state.
var (
	fwdConfigs = [...]scanConfig{
		{threads: 32, items: 16, chans: 1, rows: 4},
		{threads: 64, items: 16, chans: 1, rows: 4},
		{threads: 128, items: 16, chans: 1, rows: 4},
		{threads: 256, items: 16, chans: 1, rows: 4},
		{threads: 512, items: 16, chans: 1, rows: 4},
		{threads: 512, items: 8, chans: 1, rows: 4},
	}
	bwdConfigs = [...]scanConfig{
		{threads: 32, items: 8, chans: 1, rows: 4},
		{threads: 128, items: 8, chans: 1, rows: 4},
		{threads: 256, items: 8, chans: 1, rows: 2},
		{threads: 64, items: 16, chans: 2, rows: 4},
		{threads: 128, items: 16, chans: 2, rows: 4},
	}
	// fwdOrder and bwdOrder are the automatic choice's preferences, most
	// channels per block first (B and C are read from L2 once per block,
	// dB and dC receive one atomic add per block); see pickScan.
	fwdOrder = []int{5, 3, 2, 0}
	bwdOrder = []int{2, 1, 0}
)

// maxSharedBytes is the shared memory a block may use without opting in to
// more (static and dynamic together).
const maxSharedBytes = 48 << 10

// scanGlobalCarries makes every scan keep its carries in global memory, as
// it does when they do not fit in shared memory (tests).
var scanGlobalCarries = false

// pickScan returns the first configuration of order whose grid has at
// least two blocks per SM (so that the device fills evenly), else the last
// of order.
func (be *Backend) pickScan(cfgs []scanConfig, order []int, B, D int) int {
	for _, c := range order {
		if B*((D+cfgs[c].channels()-1)/cfgs[c].channels()) >= 2*be.sms {
			return c
		}
	}
	return order[len(order)-1]
}

// pickFwd chooses the forward instantiation for a scan of B×D channels
// (MAMBAKIT_CUDA_SCAN_CONFIG or the tests may force one).
func (be *Backend) pickFwd(B, D int) int {
	if be.scanCfg >= 0 {
		return min(be.scanCfg, len(fwdConfigs)-1)
	}
	return be.pickScan(fwdConfigs[:], fwdOrder, B, D)
}

// fwd16Configs are the instantiations of the forwards for N = 16 that give
// each lane its own states (kernels.cu): scan_fwd16_<threads>_<minBlocks>
// (states 1: a lane per state), scan_fwd4_<threads>_<minBlocks> (states 4:
// a quad of lanes per channel) and scan_fwd2_… (states 2): threads per
// block, and the blocks per SM the registers are bounded for. fwd16Auto is
// the one the backend chooses: scan_fwd4_128_3, the fastest at B = 8,
// D = 1536 (PERF.md); the others are kept for comparison
// (BenchmarkScanLanes).
var fwd16Configs = [...]lanesConfig{
	{threads: 256, minBlocks: 2, states: 1},
	{threads: 64, minBlocks: 6, states: 4},
	{threads: 128, minBlocks: 3, states: 4, full: true},
	{threads: 128, minBlocks: 6, states: 2},
}

const fwd16Auto = 2

// lanesConfig is one instantiation of scan_fwd16, scan_fwd4, scan_fwd2 or
// (bwd) scan_bwd4.
type lanesConfig struct {
	threads, minBlocks, states int
	bwd                        bool
	// full: a forward with _full twins (kernels.cu: scan_fwd4's FULL, for
	// L a multiple of fwd4Step, D of the block's channels, and aligned
	// tensors); every backward has them.
	full bool
}

// kernelName is the instantiation's name in kernels.cu (without _bf16).
func (c lanesConfig) kernelName() string {
	dir := "fwd"
	if c.bwd {
		dir = "bwd"
	}
	if c.states == 1 {
		return fmt.Sprintf("scan_%s16_%d_%d", dir, c.threads, c.minBlocks)
	}
	return fmt.Sprintf("scan_%s%d_%d_%d", dir, c.states, c.threads, c.minBlocks)
}

// channels is the number of channels of a block.
func (c lanesConfig) channels() int { return c.threads * c.states / 16 }

// bwd16Configs are the instantiations of scan_bwd4 (scan_bwd4_<threads>_<minBlocks>
// in kernels.cu), the backward for N = 16 with four states per lane;
// bwd16Auto is the one the backend chooses (PERF.md).
var bwd16Configs = [...]lanesConfig{
	{threads: 32, minBlocks: 12, states: 4, bwd: true},
	{threads: 64, minBlocks: 6, states: 4, bwd: true},
}

const bwd16Auto = 1

// bwd4Step is the number of positions of a step of scan_bwd4: it keeps the
// state before every step, (B, D, ⌈L/bwd4Step⌉, 16) floats, as
// core.ScanArgs.Saved holds them.
const bwd4Step = core.ScanSaveEvery

// fwd4Step is the number of positions of a step of scan_fwd4.
const fwd4Step = 32

// ScanSaves implements core.Backend: true where both directions run the
// kernels with four states per lane (scan_fwd4 stores the states scan_bwd4
// would otherwise recompute in its phase 1).
func (be *Backend) ScanSaves(B, D, L, N int) bool {
	return be.useFwd16(B, D, N) && be.useBwd16(B, D, N) && fwd16Configs[be.fwd16Cfg].states > 1
}

// useFwd16 and useBwd16 report whether the forward (backward) runs one of
// fwd16Configs (bwd16Configs) rather than the chunked kernels: see lanes.
func (be *Backend) useFwd16(B, D, N int) bool { return be.lanes(be.fwd16, B, D, N) }
func (be *Backend) useBwd16(B, D, N int) bool { return be.lanes(be.bwd16, B, D, N) }

// lanes is the choice of the N = 16 kernels that give each lane its own
// states, given the mode (Backend.fwd16, bwd16: -1 automatic, 0 never, 1
// always): automatically when B·D ≥ 64 per SM (their lanes then fill the
// device) and no chunked configuration is forced.
func (be *Backend) lanes(mode, B, D, N int) bool {
	if N != 16 || mode == 0 {
		return false
	}
	return mode == 1 || (be.scanCfg < 0 && B*D >= 64*be.sms)
}

// pickBwd chooses the backward instantiation.
func (be *Backend) pickBwd(B, D int) int {
	if be.scanCfg >= 0 {
		return min(be.scanCfg, len(bwdConfigs)-1)
	}
	return be.pickScan(bwdConfigs[:], bwdOrder, B, D)
}

// scanDims returns B, D, L, N and checks what the kernels support beyond
// core's validation.
func scanDims(s core.ScanArgs) (B, D, L, N int) {
	B, D, L, N = s.U.Shape[0], s.U.Shape[1], s.U.Shape[2], s.A.Shape[1]
	if B > 65535 {
		panic(fmt.Sprintf("cuda: selective scan with batch %d: at most 65535 is supported", B))
	}
	return
}

// seqType is the index of the scan kernels for the element type of the
// sequence tensors: 0 float32, 1 bfloat16 (core.ScanArgs).
func seqType(s core.ScanArgs) int {
	if s.IsBF16() {
		return 1
	}
	return 0
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

// carries returns the dynamic shared memory of a scan launch whose carries
// (per floats per channel and state) fit beside static bytes of static
// shared memory, or 0 and a global scratch buffer of B·D·per·N floats for
// them (give it back with done).
func (be *Backend) carries(cfg scanConfig, static, per, B, D, N int) (smem int, gcar block) {
	smem = 4 * per * cfg.channels() * N
	if static+smem <= maxSharedBytes && !scanGlobalCarries {
		return smem, block{}
	}
	return 0, be.temp(B*D*per*N, 4)
}

// SelectiveScan implements core.Backend: for N = 16 with enough channels
// (useFwd16) with scan_fwd4 (kernels.cu: four states per lane, each lane's
// recurrences run sequentially), else with scan_fwd: a block per group of
// channels (b, d) of one batch row, a warp per channel or two, the sequence
// walked in chunks that each warp scans with shuffles, the chunk's rows of B
// and C staged once per block.
func (be *Backend) SelectiveScan(s core.ScanArgs) {
	B, D, L, N := scanDims(s)
	if B == 0 || D == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	u, delta, z, out := be.ptrSeq(s.U), be.ptrSeq(s.Delta), be.ptrSeq(s.Z), be.ptrSeq(s.Out)
	bm, cm := be.ptrSeq(s.B), be.ptrSeq(s.C)
	ty := seqType(s)
	if be.useFwd16(B, D, N) {
		cfg := fwd16Configs[be.fwd16Cfg]
		vec := aligned16(L, bm, cm)
		if cfg.states > 1 { // scan_fwd4 reads u, delta, z and writes out 16 bytes at a time too
			vec = aligned16(L, u, delta, z, out, bm, cm)
		}
		full := cfg.full && vec && L%fwd4Step == 0 && D%cfg.channels() == 0
		k := be.k.scanFwd16[ty][be.fwd16Cfg]
		switch {
		case full && !s.Saved.IsNil():
			k = be.k.scanFwd16SaveFull[ty][be.fwd16Cfg]
		case full:
			k = be.k.scanFwd16Full[ty][be.fwd16Cfg]
		case !s.Saved.IsNil():
			k = be.k.scanFwd16Save[ty][be.fwd16Cfg]
		}
		be.launch(k, (D+cfg.channels()-1)/cfg.channels(), B, cfg.threads, 0,
			p(u), p(delta), p(be.ptr(s.A)), p(bm), p(cm), p(be.ptr(s.D)), p(z), p(be.ptr(s.DeltaBias)),
			p(be.ptr(s.H0)), p(out), p(be.ptr(s.HLast)), p(be.ptr(s.Saved)), i(D), i(L), i(N), b(s.DeltaSoftplus), b(vec))
		return
	}
	c := be.pickFwd(B, D)
	cfg := fwdConfigs[c]
	smem, gcar := be.carries(cfg, cfg.fwdStatic(), 1, B, D, N)
	defer be.done(gcar)
	be.launch(be.k.scanFwd[ty][c], (D+cfg.channels()-1)/cfg.channels(), B, cfg.threads, smem,
		p(u), p(delta), p(be.ptr(s.A)), p(bm), p(cm), p(be.ptr(s.D)), p(z), p(be.ptr(s.DeltaBias)),
		p(be.ptr(s.H0)), p(out), p(be.ptr(s.HLast)), p(gcar.ptr), i(D), i(L), i(N), b(s.DeltaSoftplus),
		b(aligned16(L, u, delta, z, out, bm, cm)))
}

// SelectiveScanBackward implements core.Backend: for N = 16 with enough
// channels (useBwd16) with scan_bwd4 (kernels.cu: four states per lane,
// checkpoints every 8 positions), else with scan_bwd, organised as the
// forward: per channel, a forward pass keeps the state
// before each chunk in a (B, D, chunks, N) scratch buffer (and computes dz,
// unless the configuration leaves it to the second pass), then the chunks
// are walked backwards, recomputing their states from those checkpoints.
// dB and dC, which sum over the channels, are cleared here; each block adds
// its channels' sum to them with atomic adds. dA, dD and dDeltaBias are
// added to.
func (be *Backend) SelectiveScanBackward(s core.ScanArgs, g core.ScanGrads) {
	B, D, L, N := scanDims(s)
	if B == 0 || D == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	defer runtime.KeepAlive(s)
	defer runtime.KeepAlive(g)
	u, delta, z, bm, cm := be.ptrSeq(s.U), be.ptrSeq(s.Delta), be.ptrSeq(s.Z), be.ptrSeq(s.B), be.ptrSeq(s.C)
	ty := seqType(s)
	dout, du, ddelta, dz := be.ptrSeq(g.DOut), be.ptrSeq(g.DU), be.ptrSeq(g.DDelta), be.ptrSeq(g.DZ)
	dB, dC := be.ptr(g.DB), be.ptr(g.DC)
	bnl := int64(B) * int64(N) * int64(L)
	if dB != 0 && bnl > 0 {
		check("clearing dB", be.drv.memsetZero(dB, 4*bnl))
	}
	if dC != 0 && bnl > 0 {
		check("clearing dC", be.drv.memsetZero(dC, 4*bnl))
	}
	if be.useBwd16(B, D, N) {
		cfg := bwd16Configs[be.bwd16Cfg]
		var ckpt block // phase 1's checkpoints, unless the forward saved them
		if s.Saved.IsNil() {
			ckpt = be.temp(B*D*((L+bwd4Step-1)/bwd4Step)*16, 4)
			defer be.done(ckpt)
		}
		vec := aligned16(L, u, delta, z, dout, du, ddelta, dz, bm, cm, dB, dC)
		k := be.k.scanBwd16[ty][be.bwd16Cfg]
		if vec && L%bwd4Step == 0 {
			k = be.k.scanBwd16Full[ty][be.bwd16Cfg]
		}
		be.launch(k, (D+cfg.channels()-1)/cfg.channels(), B, cfg.threads, 0,
			p(u), p(delta), p(be.ptr(s.A)), p(bm), p(cm), p(be.ptr(s.D)), p(z), p(be.ptr(s.DeltaBias)),
			p(be.ptr(s.H0)), p(dout), p(be.ptr(g.DHLast)), p(du), p(ddelta), p(be.ptr(g.DA)), p(dB), p(dC),
			p(be.ptr(g.DD)), p(dz), p(be.ptr(g.DDeltaBias)), p(be.ptr(g.DH0)), p(ckpt.ptr), p(be.ptr(s.Saved)),
			i(D), i(L), i(N), b(s.DeltaSoftplus), b(vec))
		return
	}
	c := be.pickBwd(B, D)
	cfg := bwdConfigs[c]
	chunks := (L + cfg.chunk() - 1) / cfg.chunk()
	ckpt := be.temp(B*D*chunks*N, 4)
	defer be.done(ckpt)
	smem, gcar := be.carries(cfg, cfg.bwdStatic(), 3, B, D, N)
	defer be.done(gcar)
	be.launch(be.k.scanBwd[ty][c], (D+cfg.channels()-1)/cfg.channels(), B, cfg.threads, smem,
		p(u), p(delta), p(be.ptr(s.A)), p(bm), p(cm), p(be.ptr(s.D)), p(z), p(be.ptr(s.DeltaBias)),
		p(be.ptr(s.H0)), p(dout), p(be.ptr(g.DHLast)), p(du), p(ddelta), p(be.ptr(g.DA)), p(dB), p(dC),
		p(be.ptr(g.DD)), p(dz), p(be.ptr(g.DDeltaBias)), p(be.ptr(g.DH0)), p(ckpt.ptr), p(gcar.ptr),
		i(D), i(L), i(N), b(s.DeltaSoftplus), b(aligned16(L, u, delta, z, dout, du, ddelta, dz, bm, cm, dB, dC)))
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
