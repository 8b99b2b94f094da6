//go:build cuda

package cuda

import (
	_ "embed"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/mambakit/mambakit/core"
)

// kernelSource is the CUDA C of every kernel, compiled by NVRTC in New.
//
//go:embed kernels.cu
var kernelSource string

// Backend is the CUDA backend on device 0. Create it with New; the zero value
// is not usable. Its methods implement core.Backend (see there for every
// formula) and may be called from any goroutine.
type Backend struct {
	mu  sync.Mutex // serialises the methods (the allocator, the default stream)
	drv *driver
	k   kernelSet
	mem allocator

	info     string // device name, compute capability and memory, for messages
	sms      int    // streaming multiprocessors
	tf32     bool   // MAMBAKIT_CUDA_TF32=1: cuBLAS may use TF32
	syncEach bool   // MAMBAKIT_CUDA_SYNC=1: synchronize after every launch
	closed   bool

	// scanCfg, when ≥ 0, forces the scan kernels' configuration (an index
	// into fwdConfigs and bwdConfigs, clamped to each): tests use it to reach
	// every instantiation on short sequences, Options.ScanConfig sets it for
	// tuning.
	scanCfg int
	// fwd16 chooses the forwards for N = 16 that give each lane its own
	// states (fwd16Configs: scan_fwd4 and others): -1 when they fill the
	// device (and no configuration is forced), 0 never, 1 always (tests);
	// fwd16Cfg is the instantiation it runs (an index into fwd16Configs).
	fwd16, fwd16Cfg int
	// bwd16 and bwd16Cfg are the same for the backward (scan_bwd4,
	// bwd16Configs).
	bwd16, bwd16Cfg int
}

var _ core.Backend = (*Backend)(nil)

// Options are the backend's debugging and tuning switches (the command line
// sets them from MAMBAKIT_CUDA_* variables; see BUILD.md).
type Options struct {
	TF32       bool // let cuBLAS use TF32 tensor cores for float32 GEMMs
	SyncEach   bool // synchronize after every launch, so that a failing kernel is named
	ScanConfig int  // ≥ 0: force this scan kernel configuration (an index into the instantiations); -1: choose
	NoCache    bool // always compile the kernels; never read or write the on-disk cache
}

// New creates the backend with the default options: the primary context of
// device 0, the kernels (compiled by NVRTC, or read from the on-disk cache)
// and a cuBLAS handle. It returns an error, and never panics, when any of
// these fails.
func New() (*Backend, error) { return NewWith(Options{ScanConfig: -1}) }

// NewWith is New with options.
func NewWith(o Options) (*Backend, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	drv, err := openDriver()
	if err != nil {
		return nil, err
	}
	be := &Backend{drv: drv, scanCfg: max(o.ScanConfig, -1), fwd16: -1, fwd16Cfg: fwd16Auto, bwd16: -1, bwd16Cfg: bwd16Auto, tf32: o.TF32, syncEach: o.SyncEach}
	major, minor := drv.computeCapability()
	be.sms = max(drv.multiprocessors(), 1)
	be.info = fmt.Sprintf("%s (sm_%d%d, %d SMs, %.1f GiB)", drv.deviceName(), major, minor, be.sms,
		float64(drv.totalMemory())/(1<<30))
	if err := drv.loadKernels(kernelSource, major, minor, o.NoCache); err != nil {
		drv.close()
		return nil, fmt.Errorf("cuda: %s: %w", be.info, err)
	}
	if err := be.k.load(drv); err != nil {
		drv.close()
		return nil, fmt.Errorf("cuda: %s: %w", be.info, err)
	}
	if err := drv.setTF32(be.tf32); err != nil {
		drv.close()
		return nil, fmt.Errorf("cuda: %s: %w", be.info, err)
	}
	be.mem.init(drv.totalMemory())
	return be, nil
}

// Name implements core.Backend.
func (*Backend) Name() string { return "cuda" }

// Device describes the device: name, compute capability, SM count, memory.
func (be *Backend) Device() string { return be.info }

// Sync waits for every queued operation to finish and returns the first
// error a kernel reported.
func (be *Backend) Sync() error {
	be.lock()
	defer be.unlock()
	return be.drv.sync()
}

// Close releases the cached device memory, the kernels, the cuBLAS handle
// and the context reference. Tensors of the backend must not be used after.
func (be *Backend) Close() error {
	be.lock()
	defer be.unlock()
	if be.closed {
		return nil
	}
	err := be.drv.sync()
	be.mem.releaseCache(be.drv)
	be.closed = true
	if e := be.drv.close(); err == nil {
		err = e
	}
	return err
}

// lock serialises a method and makes the context current on the calling
// goroutine's OS thread, which stays locked to it until unlock.
func (be *Backend) lock() {
	runtime.LockOSThread()
	be.mu.Lock()
	if be.closed {
		be.mu.Unlock()
		runtime.UnlockOSThread()
		panic("cuda: backend used after Close")
	}
	if err := be.drv.bind(); err != nil {
		be.mu.Unlock()
		runtime.UnlockOSThread()
		panic(fmt.Sprintf("cuda: making the context current: %v", err))
	}
}

func (be *Backend) unlock() {
	be.mu.Unlock()
	runtime.UnlockOSThread()
}

// check panics with a message naming what failed.
func check(what string, err error) {
	if err != nil {
		panic(fmt.Sprintf("cuda: %s: %v (kernels run asynchronously: an earlier launch may be the cause; "+
			"MAMBAKIT_CUDA_SYNC=1 checks after each)", what, err))
	}
}

// kernel is a compiled kernel and its name, for messages.
type kernel struct {
	fn   kernelFn
	name string
}

// launch runs k on a grid of gx × gy blocks of bx threads with smem bytes of
// dynamic shared memory. Every argument travels in an 8-byte slot: use p, i
// and f to encode pointers, integers and floats.
func (be *Backend) launch(k kernel, gx, gy, bx, smem int, args ...uint64) {
	if gx == 0 || gy == 0 {
		return
	}
	if err := be.drv.launch(k.fn, gx, gy, bx, smem, args); err != nil {
		panic(fmt.Sprintf("cuda: launching %s (grid %d×%d, block %d, shared %d B): %v", k.name, gx, gy, bx, smem, err))
	}
	if be.syncEach {
		check("kernel "+k.name, be.drv.sync())
	}
}

// p encodes a device pointer argument (0 for an absent optional tensor).
func p(ptr uintptr) uint64 { return uint64(ptr) }

// i encodes an integer argument (int or long long on the device side).
func i(v int) uint64 { return uint64(int64(v)) }

// f encodes a float argument.
func f(v float32) uint64 { return uint64(math.Float32bits(v)) }

// b encodes a bool as an int argument.
func b(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

// blocksFor returns the grid of a grid-stride kernel over n elements with
// blocks of bx threads: enough blocks for every element, at most 32 per SM.
func (be *Backend) blocksFor(n int64, bx int) int {
	g := (n + int64(bx) - 1) / int64(bx)
	return int(max(min(g, int64(32*be.sms)), 1))
}

// threadsFor returns a block size for a loop of n iterations per block: a
// multiple of 32, at least 32 and at most limit.
func threadsFor(n, limit int) int {
	t := (n + 31) / 32 * 32
	return max(32, min(t, limit))
}

// kernelSet holds every kernel of kernels.cu.
type kernelSet struct {
	axpy, flip, widenBF16, roundBF16, scaleStrided   kernel
	silu, siluBwd, softplus, softplusBwd, adamw      kernel
	sumsqPartial, sumF64                             kernel
	embedF32, embedBF16, embedBwd                    kernel
	convFwd, convGpre, convDx, convDw, convStep      kernel
	rmsFwd, rmsBwdDx, rmsBwdDwPartial, rmsBwdDwFinal kernel
	ceFwd, ceBwd, argmax                             kernel
	scanStep                                         kernel
	gemvF32, gemvBF16, split3BF16, sum3F32           kernel
	// The scans, [0] for float32 sequence tensors, [1] for bfloat16 (the
	// kernels' _bf16 twins).
	scanFwd16 [2][len(fwd16Configs)]kernel
	// scanFwd16Save[ty][c]: configuration c's forward that also saves the
	// states (_save; none for states 1).
	scanFwd16Save [2][len(fwd16Configs)]kernel
	// scanFwd16Full, scanFwd16SaveFull[ty][c]: the forwards for L a multiple
	// of 32 with aligned tensors (_full, _save_full; only where c's full).
	scanFwd16Full, scanFwd16SaveFull [2][len(fwd16Configs)]kernel
	scanBwd16                        [2][len(bwd16Configs)]kernel
	// scanBwd16Full[ty][c]: configuration c's backward for L a multiple of 8
	// with aligned tensors (_full).
	scanBwd16Full [2][len(bwd16Configs)]kernel
	scanFwd       [2][len(fwdConfigs)]kernel
	scanBwd       [2][len(bwdConfigs)]kernel
}

// load looks every kernel up in the driver's module.
func (ks *kernelSet) load(drv *driver) error {
	table := []struct {
		name string
		k    *kernel
	}{
		{"axpy_f32", &ks.axpy}, {"flip_f32", &ks.flip},
		{"widen_bf16", &ks.widenBF16}, {"round_bf16", &ks.roundBF16}, {"scale_strided", &ks.scaleStrided},
		{"silu_f32", &ks.silu}, {"silu_bwd_f32", &ks.siluBwd}, {"softplus_f32", &ks.softplus},
		{"softplus_bwd_f32", &ks.softplusBwd}, {"adamw_f32", &ks.adamw},
		{"sumsq_partial", &ks.sumsqPartial}, {"sum_f64", &ks.sumF64},
		{"embedding_f32", &ks.embedF32}, {"embedding_bf16", &ks.embedBF16}, {"embedding_bwd_f32", &ks.embedBwd},
		{"conv1d_fwd", &ks.convFwd}, {"conv1d_bwd_gpre", &ks.convGpre}, {"conv1d_bwd_dx", &ks.convDx},
		{"conv1d_bwd_dw", &ks.convDw}, {"conv_step", &ks.convStep},
		{"rmsnorm_fwd", &ks.rmsFwd}, {"rmsnorm_bwd_dx", &ks.rmsBwdDx},
		{"rmsnorm_bwd_dw_partial", &ks.rmsBwdDwPartial}, {"rmsnorm_bwd_dw_final", &ks.rmsBwdDwFinal},
		{"ce_fwd", &ks.ceFwd}, {"ce_bwd", &ks.ceBwd}, {"argmax_rows", &ks.argmax},
		{"scan_step", &ks.scanStep},
		{"gemv_rows_f32", &ks.gemvF32}, {"gemv_rows_bf16", &ks.gemvBF16}, {"split3_bf16", &ks.split3BF16}, {"sum3_f32", &ks.sum3F32},
	}
	add := func(k *kernel, format string, a ...any) {
		table = append(table, struct {
			name string
			k    *kernel
		}{fmt.Sprintf(format, a...), k})
	}
	for ty, suffix := range []string{"", "_bf16"} {
		for c, cfg := range fwd16Configs {
			add(&ks.scanFwd16[ty][c], "%s%s", cfg.kernelName(), suffix)
			if cfg.states > 1 {
				add(&ks.scanFwd16Save[ty][c], "%s_save%s", cfg.kernelName(), suffix)
			}
			if cfg.full {
				add(&ks.scanFwd16Full[ty][c], "%s_full%s", cfg.kernelName(), suffix)
				add(&ks.scanFwd16SaveFull[ty][c], "%s_save_full%s", cfg.kernelName(), suffix)
			}
		}
		for c, cfg := range bwd16Configs {
			add(&ks.scanBwd16[ty][c], "%s%s", cfg.kernelName(), suffix)
			add(&ks.scanBwd16Full[ty][c], "%s_full%s", cfg.kernelName(), suffix)
		}
		for c, cfg := range fwdConfigs {
			add(&ks.scanFwd[ty][c], "scan_fwd_%dx%d%s", cfg.threads, cfg.items, suffix)
		}
		for c, cfg := range bwdConfigs {
			add(&ks.scanBwd[ty][c], "scan_bwd_%dx%d%s", cfg.threads, cfg.items, suffix)
		}
	}
	for _, e := range table {
		fn, err := drv.function(e.name)
		if err != nil {
			return fmt.Errorf("kernel %s: %w", e.name, err)
		}
		*e.k = kernel{fn: fn, name: e.name}
	}
	return nil
}
