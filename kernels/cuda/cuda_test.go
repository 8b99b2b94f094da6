//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/conformance"
	"github.com/mambakit/mambakit/core/ref"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// testBE is the one backend of the test binary (New compiles the kernels,
// which takes seconds without the cache).
var (
	testBE  *Backend
	testErr error
)

// TestMain opens the backend with the switches of BUILD.md's debugging
// knobs (MAMBAKIT_CUDA_SYNC, _TF32, _NOCACHE, _SCAN_CONFIG), as the command
// line does.
func TestMain(m *testing.M) {
	o := Options{ScanConfig: -1, TF32: os.Getenv("MAMBAKIT_CUDA_TF32") == "1",
		SyncEach: os.Getenv("MAMBAKIT_CUDA_SYNC") == "1", NoCache: os.Getenv("MAMBAKIT_CUDA_NOCACHE") == "1"}
	if v := os.Getenv("MAMBAKIT_CUDA_SCAN_CONFIG"); v != "" {
		if c, err := strconv.Atoi(v); err == nil && c >= 0 {
			o.ScanConfig = c
		} else {
			testErr = fmt.Errorf("MAMBAKIT_CUDA_SCAN_CONFIG=%q: want an index ≥ 0", v)
		}
	}
	if testErr == nil {
		testBE, testErr = NewWith(o)
	}
	if testErr == nil {
		fmt.Fprintf(os.Stderr, "cuda backend on %s\n", testBE.Device())
	}
	os.Exit(m.Run())
}

// backend returns the test binary's backend or fails the test.
func backend(t testing.TB) *Backend {
	t.Helper()
	if testErr != nil {
		t.Fatalf("cuda.New: %v", testErr)
	}
	return testBE
}

// TestConformance holds every operation to the float64 reference.
func TestConformance(t *testing.T) {
	conformance.Run(t, backend(t), conformance.Float32)
}

// putF64 uploads float64 values (already float32-representable) into a new
// device tensor.
func putF64(be *Backend, v []float64, shape ...int) core.Tensor {
	return upload(be, be.Alloc(shape...), v)
}

// upload copies v into t (rounding as Upload does) and returns t.
func upload(be *Backend, t core.Tensor, v []float64) core.Tensor {
	h := make([]float32, len(v))
	for j, x := range v {
		h[j] = float32(x)
	}
	be.Upload(t, h)
	return t
}

func putOptF64(be *Backend, v []float64, shape ...int) core.Tensor {
	if v == nil {
		return core.Tensor{}
	}
	return putF64(be, v, shape...)
}

func getF64(be *Backend, t core.Tensor) []float64 {
	h := make([]float32, t.Numel())
	be.Download(h, t)
	out := make([]float64, len(h))
	for j, x := range h {
		out[j] = float64(x)
	}
	return out
}

// putBF16F64 uploads float64 values into a new bfloat16 device tensor
// (rounding to nearest even).
func putBF16F64(be *Backend, v []float64, shape ...int) core.Tensor {
	return upload(be, be.AllocBF16(shape...), v)
}

// checkScan runs the forward and backward of sc on be and compares every
// output with the float64 reference: float32 within 1e-5 (outputs) and 1e-4
// (gradients) of max |ref|; with bf, the sequence tensors bfloat16 (sc's
// inputs rounded to it first, so that the reference sees what the kernels
// see) within mamba_ssm's bf16 tolerances.
func checkScan(t *testing.T, be *Backend, r *rand.Rand, sc *ref.Scan, name string, bf bool) {
	t.Helper()
	checkScanSaved(t, be, r, sc, name, bf, false)
}

// checkScanSaved is checkScan, with saved passing core.ScanArgs.Saved to
// both directions (the backend must save states for the shape): the forward's
// saved states are checked against the reference's, and the backward reads
// them.
func checkScanSaved(t *testing.T, be *Backend, r *rand.Rand, sc *ref.Scan, name string, bf, saved bool) {
	t.Helper()
	B, D, L, N := sc.Bsz, sc.D, sc.L, sc.N
	opt := sc.Z != nil
	ops := core.Ops{Backend: be}
	seq, seqOpt, alloc := putF64, putOptF64, be.Alloc
	if bf {
		name = "bf16 " + name
		sc.U, sc.Delta, sc.B, sc.C = conformance.RoundBF16(sc.U), conformance.RoundBF16(sc.Delta),
			conformance.RoundBF16(sc.B), conformance.RoundBF16(sc.C)
		if opt {
			sc.Z = conformance.RoundBF16(sc.Z)
		}
		seq, alloc = putBF16F64, be.AllocBF16
		seqOpt = func(be *Backend, v []float64, shape ...int) core.Tensor {
			if v == nil {
				return core.Tensor{}
			}
			return putBF16F64(be, v, shape...)
		}
	}
	args := core.ScanArgs{
		U: seq(be, sc.U, B, D, L), Delta: seq(be, sc.Delta, B, D, L), A: putF64(be, sc.A, D, N),
		B: seq(be, sc.B, B, N, L), C: seq(be, sc.C, B, N, L),
		D: putOptF64(be, sc.Dskip, D), Z: seqOpt(be, sc.Z, B, D, L), DeltaBias: putOptF64(be, sc.DeltaBias, D),
		DeltaSoftplus: sc.Softplus, H0: putOptF64(be, sc.H0, B, D, N),
		Out: alloc(B, D, L), HLast: be.Alloc(B, D, N),
	}
	if saved {
		if !be.ScanSaves(B, D, L, N) {
			t.Fatalf("%s: the backend does not save states for this shape", name)
		}
		name += " saved"
		args.Saved = be.Alloc(B, D, (L+core.ScanSaveEvery-1)/core.ScanSaveEvery, N)
	}
	ops.SelectiveScan(args)
	wantOut, wantLast := sc.Forward()
	check := func(what string, tol float64, got, want []float64) {
		t.Helper()
		if bf {
			if w, at := conformance.CloseBF16(got, want); w > 1 {
				t.Errorf("%s %s: element %d is %v, want %v (rtol %g, atol %g)", name, what, at, got[at], want[at],
					conformance.BF16RTol, conformance.BF16ATol)
			}
			return
		}
		if e := conformance.RelErr(got, want); !(e <= tol) {
			t.Errorf("%s %s: relative error %.3g > %g", name, what, e, tol)
		}
	}
	check("out", 1e-5, getF64(be, args.Out), wantOut)
	check("last state", 1e-5, getF64(be, args.HLast), wantLast)
	if saved {
		check("saved states", 1e-5, getF64(be, args.Saved), sc.Saved(core.ScanSaveEvery))
	}

	dout := make([]float64, B*D*L)
	for j := range dout {
		dout[j] = float64(float32(r.NormFloat64()))
	}
	if bf {
		dout = conformance.RoundBF16(dout)
	}
	var dh []float64
	if opt {
		dh = make([]float64, B*D*N)
		for j := range dh {
			dh[j] = float64(float32(r.NormFloat64()))
		}
	}
	want := sc.Backward(dout, dh)
	g := core.ScanGrads{DOut: seq(be, dout, B, D, L), DHLast: putOptF64(be, dh, B, D, N),
		DU: alloc(B, D, L), DDelta: alloc(B, D, L), DA: be.Alloc(D, N), DB: be.Alloc(B, N, L), DC: be.Alloc(B, N, L)}
	if opt {
		g.DD, g.DZ, g.DDeltaBias, g.DH0 = be.Alloc(D), alloc(B, D, L), be.Alloc(D), be.Alloc(B, D, N)
	}
	ops.SelectiveScanBackward(args, g)
	check("du", 1e-4, getF64(be, g.DU), want.U)
	check("ddelta", 1e-4, getF64(be, g.DDelta), want.Delta)
	check("dA", 1e-4, getF64(be, g.DA), want.A)
	check("dB", 1e-4, getF64(be, g.DB), want.B)
	check("dC", 1e-4, getF64(be, g.DC), want.C)
	if opt {
		check("dD", 1e-4, getF64(be, g.DD), want.Dskip)
		check("dz", 1e-4, getF64(be, g.DZ), want.Z)
		check("ddelta_bias", 1e-4, getF64(be, g.DDeltaBias), want.DeltaBias)
		check("dh0", 1e-4, getF64(be, g.DH0), want.H0)
	}
}

// TestScanConfigs runs every compiled instantiation of the scan kernels
// (forward and backward configuration c together) on lengths around and
// across its chunk size (the conformance shapes fit in one chunk of the
// smallest), odd lengths (no 16-byte loads), N = 1, 3, 4, 5, 16, 33, and
// channel counts that leave a block's last warps past D, against the
// float64 reference.
func TestScanConfigs(t *testing.T) {
	be := backend(t)
	defer func() { be.scanCfg = -1 }()
	r := rand.New(rand.NewPCG(7, 11))
	for c := 0; c < max(len(fwdConfigs), len(bwdConfigs)); c++ {
		be.scanCfg = c
		fc, bc := fwdConfigs[min(c, len(fwdConfigs)-1)], bwdConfigs[min(c, len(bwdConfigs)-1)]
		chunk := max(fc.chunk(), bc.chunk())
		ch := max(fc.channels(), bc.channels())
		for _, sh := range [][4]int{{1, 2, 1, 3}, {2, 2, chunk, 16}, {1, 3, chunk + 1, 5}, {2, 1, 2*chunk + 7, 1},
			{1, 2, 3*chunk - 4, 33}, {2, 2*ch + 3, chunk/2 + 4, 4}} {
			B, D, L, N := sh[0], sh[1], sh[2], sh[3]
			for _, opt := range []bool{false, true} {
				name := fmt.Sprintf("fwd %v bwd %v B%d D%d L%d N%d optional=%v", fc, bc, B, D, L, N, opt)
				checkScan(t, be, r, conformance.RandomScan(r, B, D, L, N, opt, opt), name, false)
				checkScan(t, be, r, conformance.RandomScan(r, B, D, L, N, opt, opt), name, true)
			}
		}
	}
}

// TestScanLanes runs the scans for N = 16 that give each lane its own
// states (scan_fwd16, scan_fwd4, scan_fwd2, scan_bwd4; instantiation c of each list
// together) on lengths around their 8-, 16- and 32-position steps, odd
// lengths (no 16-byte loads), and channel counts that leave lanes and
// blocks past D, against the float64 reference, half of the cases with the
// forward's saved states (checked too) feeding the backward.
// MAMBAKIT_CUDA_LANES = c runs that pair only (the CPU emulation is slow).
func TestScanLanes(t *testing.T) {
	be := backend(t)
	defer be.autoLanes()
	r := rand.New(rand.NewPCG(9, 17))
	only := -1
	if v := os.Getenv("MAMBAKIT_CUDA_LANES"); v != "" {
		only, _ = strconv.Atoi(v)
	}
	for c := range lanePairs() {
		if only >= 0 && c != only {
			continue
		}
		be.forceLanes(c)
		names := fwd16Configs[be.fwd16Cfg].kernelName() + ", " + bwd16Configs[be.bwd16Cfg].kernelName()
		for _, sh := range [][3]int{{1, 1, 1}, {1, 3, 15}, {2, 2, 16}, {1, 5, 17}, {2, 17, 64}, {1, 33, 203}, {1, 67, 96}, {2, 32, 64}, {2, 2, 1000}, {1, 9, 1004}, {1, 18, 2051}} {
			B, D, L := sh[0], sh[1], sh[2]
			for _, opt := range []bool{false, true} {
				for _, bf := range []bool{false, true} {
					// The backward with and without the forward's saved states
					// (scan_fwd2 and scan_fwd4 save them; scan_fwd16 does not).
					saved := opt != bf && fwd16Configs[be.fwd16Cfg].states > 1
					checkScanSaved(t, be, r, conformance.RandomScan(r, B, D, L, 16, opt, opt),
						fmt.Sprintf("%s B%d D%d L%d optional=%v", names, B, D, L, opt), bf, saved)
				}
			}
		}
	}
}

// TestScanGlobalCarries runs every instantiation with its carries in global
// memory (as for a state size whose carries do not fit in shared memory),
// and one scan whose N is too large for shared memory in any case.
func TestScanGlobalCarries(t *testing.T) {
	be := backend(t)
	defer func() { be.scanCfg, scanGlobalCarries = -1, false }()
	r := rand.New(rand.NewPCG(5, 13))
	scanGlobalCarries = true
	for c := 0; c < max(len(fwdConfigs), len(bwdConfigs)); c++ {
		be.scanCfg = c
		fc, bc := fwdConfigs[min(c, len(fwdConfigs)-1)], bwdConfigs[min(c, len(bwdConfigs)-1)]
		chunk := max(fc.chunk(), bc.chunk())
		ch := max(fc.channels(), bc.channels())
		B, D, L, N := 2, ch+1, chunk+5, 6
		name := fmt.Sprintf("global carries: fwd %v bwd %v B%d D%d L%d N%d", fc, bc, B, D, L, N)
		checkScan(t, be, r, conformance.RandomScan(r, B, D, L, N, true, true), name, false)
		checkScan(t, be, r, conformance.RandomScan(r, B, D, L, N, true, true), name, true)
	}
	scanGlobalCarries = false
	be.scanCfg = -1
	checkScan(t, be, r, conformance.RandomScan(r, 1, 2, 37, 3000, true, true), "N=3000", false)
}

// TestScanFixtures runs the scan on the inputs of testdata/scan (made by
// PyTorch in float64) and compares outputs, final state and every gradient.
func TestScanFixtures(t *testing.T) {
	conformance.ScanFixtures(t, backend(t), filepath.Join("..", "..", "testdata", "scan"))
}

// TestViews runs operations on tensors that start at odd offsets of their
// storage (as the model's slices do): addresses not 16-byte aligned.
func TestViews(t *testing.T) {
	be := backend(t)
	ops := core.Ops{Backend: be}
	r := rand.New(rand.NewPCG(3, 9))
	const B, D, L, N = 2, 3, 64, 4
	sc := conformance.RandomScan(r, B, D, L, N, true, true)
	// Every input lives one element into a larger storage.
	view := func(v []float64, shape ...int) core.Tensor {
		n := core.Numel(shape...)
		big := be.Alloc(n + 1)
		h := make([]float32, n+1)
		for j, x := range v {
			h[j+1] = float32(x)
		}
		be.Upload(big, h)
		return big.Slice(1, n+1).Reshape(shape...)
	}
	args := core.ScanArgs{U: view(sc.U, B, D, L), Delta: view(sc.Delta, B, D, L), A: view(sc.A, D, N),
		B: view(sc.B, B, N, L), C: view(sc.C, B, N, L), D: view(sc.Dskip, D), Z: view(sc.Z, B, D, L),
		DeltaBias: view(sc.DeltaBias, D), DeltaSoftplus: true, H0: view(sc.H0, B, D, N),
		Out: view(make([]float64, B*D*L), B, D, L), HLast: view(make([]float64, B*D*N), B, D, N)}
	ops.SelectiveScan(args)
	want, _ := sc.Forward()
	if e := conformance.RelErr(getF64(be, args.Out), want); !(e <= 1e-5) {
		t.Errorf("scan on offset views: relative error %.3g", e)
	}
	// A product whose A is a row slice of a larger matrix.
	a, bm := make([]float64, 5*7), make([]float64, 7*3)
	for j := range a {
		a[j] = float64(float32(r.NormFloat64()))
	}
	for j := range bm {
		bm[j] = float64(float32(r.NormFloat64()))
	}
	big := view(append(make([]float64, 7), a...), 6, 7)
	c := be.Alloc(5, 3)
	ops.Gemm(core.GemmArgs{M: 5, N: 3, K: 7, Alpha: 1, A: big.Slice(1, 6), B: putF64(be, bm, 7, 3), C: c})
	wantC := make([]float64, 15)
	ref.Gemm(false, false, 5, 3, 7, 1, a, bm, 0, wantC)
	if e := conformance.RelErr(getF64(be, c), wantC); !(e <= 1e-5) {
		t.Errorf("gemm on a row slice: relative error %.3g", e)
	}
}

// TestAllocZeroAndReuse checks that memory handed out again by the caching
// allocator is zero-filled, and that dropped storages are reclaimed rather
// than leaked: it allocates, in 1/16ths, twice the device's memory while
// holding none of it.
func TestAllocZeroAndReuse(t *testing.T) {
	be := backend(t)
	x := be.Alloc(1000)
	be.Fill(x, 3)
	x = core.Tensor{}
	runtime.GC()
	total := be.drv.totalMemory()
	chunk := int(total / 16 / 4)
	for j := 0; j < 32; j++ {
		y := be.Alloc(chunk)
		if j == 0 {
			z := be.Alloc(1000)
			h := make([]float32, 1000)
			be.Download(h, z)
			for _, v := range h {
				if v != 0 {
					t.Fatalf("Alloc returned memory holding %g", v)
				}
			}
		}
		be.Fill(y.Slice(0, 1), float32(j))
	}
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	be.lock()
	reserved := be.mem.reserved
	be.unlock()
	t.Logf("allocated %d × %d MiB on a %d MiB device; %d MiB held", 32, chunk*4>>20, total>>20, reserved>>20)
	if reserved > total {
		t.Errorf("holding %d bytes of a %d-byte device", reserved, total)
	}
}

// TestSumSquaresLarge checks the two-level double reduction on more
// elements than one pass of the grid covers.
func TestSumSquaresLarge(t *testing.T) {
	be := backend(t)
	const n = 3_000_017
	h := make([]float32, n)
	want := 0.0
	for j := range h {
		h[j] = float32(j%1013) * 1e-3
		want += float64(h[j]) * float64(h[j])
	}
	x := be.Alloc(n)
	be.Upload(x, h)
	if got := be.SumSquares(x); math.Abs(got-want) > 1e-9*want {
		t.Errorf("SumSquares %.17g, want %.17g", got, want)
	}
}

// lanePairs is the number of pairs of fwd16Configs and bwd16Configs that
// forceLanes can choose (the shorter list repeats its last entry).
func lanePairs() int { return max(len(fwd16Configs), len(bwd16Configs)) }

// forceLanes makes every N = 16 scan run pair c of fwd16Configs and
// bwd16Configs; autoLanes restores the automatic choice.
func (be *Backend) forceLanes(c int) {
	be.fwd16, be.fwd16Cfg = 1, min(c, len(fwd16Configs)-1)
	be.bwd16, be.bwd16Cfg = 1, min(c, len(bwd16Configs)-1)
}
func (be *Backend) autoLanes() {
	be.fwd16, be.fwd16Cfg = -1, fwd16Auto
	be.bwd16, be.bwd16Cfg = -1, bwd16Auto
}

// TestKernelResources logs the registers, spills and static shared memory of
// the scan kernels (the ones whose speed matters) and of the others with
// -test.v; spills are worth a look, not a failure.
func TestKernelResources(t *testing.T) {
	be := backend(t)
	be.lock()
	defer be.unlock()
	var ks []kernel
	for ty := range 2 {
		ks = append(ks, be.k.scanFwd[ty][:]...)
		ks = append(ks, be.k.scanFwd16[ty][:]...)
		for _, k := range slices.Concat(be.k.scanFwd16Save[ty][:], be.k.scanFwd16Full[ty][:], be.k.scanFwd16SaveFull[ty][:]) {
			if k.name != "" {
				ks = append(ks, k)
			}
		}
		ks = append(ks, be.k.scanBwd16[ty][:]...)
		ks = append(ks, be.k.scanBwd16Full[ty][:]...)
		ks = append(ks, be.k.scanBwd[ty][:]...)
	}
	ks = append(ks, be.k.scanStep, be.k.rmsFwd, be.k.rmsBwdDx, be.k.ceBwd, be.k.convDw)
	for _, k := range ks {
		regs, local, shared := be.drv.kernelInfo(k.fn)
		t.Logf("%-27s %3d registers, %4d B local (spilled) per thread, %5d B static shared", k.name, regs, local, shared)
	}
}

// TestCopyConvert copies between float32 and bfloat16 tensors (rounding to
// nearest even, widening exactly) and fills both kinds.
func TestCopyConvert(t *testing.T) {
	be := backend(t)
	src := []float32{1, -2.5, 3.14159, 1e-30, 65504, float32(math.Inf(-1)), 1.00390625, 1.01171875}
	x := be.Alloc(len(src))
	be.Upload(x, src)
	h := be.AllocBF16(len(src))
	be.Copy(h, x)
	y := be.Alloc(len(src))
	be.Copy(y, h)
	got := make([]float32, len(src))
	be.Download(got, y)
	for j, v := range src {
		if want := tensorfile.BF16ToFloat32(tensorfile.Float32ToBF16(v)); got[j] != want {
			t.Errorf("float32 → bfloat16 → float32 of %g: %g, want %g", v, got[j], want)
		}
	}
	be.Fill(h, 0.3)
	be.Download(got, h)
	for _, v := range got {
		if want := tensorfile.BF16ToFloat32(tensorfile.Float32ToBF16(0.3)); v != want {
			t.Fatalf("bfloat16 Fill: %g, want %g", v, want)
		}
	}
	be.Fill(x.Slice(2, 5), -7)
	be.Download(got, x)
	for j, v := range got {
		want := src[j]
		if j >= 2 && j < 5 {
			want = -7
		}
		if v != want {
			t.Errorf("Fill of a slice: element %d is %g, want %g", j, v, want)
		}
	}
}

// TestSoftplusPolynomial checks the log1p polynomial of kernels.cu
// (log1p01_s, its coefficients read from the source the backend compiles)
// evaluated as the device does (float32 Horner with fused multiply-adds)
// against float64 log1p at 400,000 points of (0, 1], and softplus_s built on
// it against float64 softplus, with an exact 2^x standing in for ex2_f
// (which adds at most 2 ulp). No GPU needed.
func TestSoftplusPolynomial(t *testing.T) {
	body := regexp.MustCompile(`(?s)float log1p01_s\(float e\) \{(.*?)\n\}`).FindStringSubmatch(kernelSource)
	if body == nil {
		t.Fatal("log1p01_s not found in kernels.cu")
	}
	var c []float32
	for _, m := range regexp.MustCompile(`(-?[0-9.]+e[-+][0-9]+)f\)?;`).FindAllStringSubmatch(body[1], -1) {
		v, err := strconv.ParseFloat(m[1], 32)
		if err != nil {
			t.Fatal(err)
		}
		c = append(c, float32(v))
	}
	if len(c) != 9 {
		t.Fatalf("log1p01_s: %d coefficients, want 9 (degree 8)", len(c))
	}
	log1p01 := func(e float32) float32 {
		p := c[0]
		for _, k := range c[1:] {
			p = float32(math.FMA(float64(p), float64(e), float64(k)))
		}
		return p * e
	}
	worst := 0.0
	for i := 1; i <= 400000; i++ {
		e := float32(float64(i) / 400000)
		ref := math.Log1p(float64(e))
		worst = max(worst, math.Abs(float64(log1p01(e))-ref)/ref)
	}
	if worst > 1.8e-7 { // the bound kernels.cu states
		t.Errorf("log1p01_s: relative error %.3g over (0, 1], want ≤ 1.8e-7", worst)
	}
	const log2e = float32(1.4426950408889634)
	softplus := func(x float32) float32 {
		e := float32(math.Exp2(float64(float32(math.Abs(float64(x))) * -log2e)))
		return float32(math.Max(float64(x), 0)) + log1p01(e)
	}
	// The rounding of |x|·log2 e grows the error with |x| below 0 (softplus_s's
	// comment gives these bounds).
	for _, b := range []struct{ lo, bound float64 }{{-20, 1e-6}, {-40, 2e-6}} {
		worst := 0.0
		for i := 0; i <= 200000; i++ {
			x := float32(b.lo + (20-b.lo)*float64(i)/200000)
			ref := math.Max(float64(x), 0) + math.Log1p(math.Exp(-math.Abs(float64(x))))
			worst = max(worst, math.Abs(float64(softplus(x))-ref)/ref)
		}
		if worst > b.bound {
			t.Errorf("softplus_s on [%g, 20]: relative error %.3g, want ≤ %g", b.lo, worst, b.bound)
		}
		t.Logf("softplus_s on [%g, 20]: relative error %.3g", b.lo, worst)
	}
}

// TestGemmSplitExact holds gemmSplit (float32 rows by bfloat16 B, split
// into three bfloat16 parts) to what exactness promises: with K = 1 each
// output is one product a·b, which it must return to within two float32
// ulps of its terms (the parts' products are exact, then the additions
// round), far inside the 2^−16 that dropping the last part would cost. It
// covers full 24-bit significands, values near the float32 maximum (hi
// truncated, so finite), tiny normal ones, ±∞ and NaN (which must pass
// through as in a float32 product), and Beta.
func TestGemmSplitExact(t *testing.T) {
	be := backend(t)
	r := rand.New(rand.NewPCG(7, 8))
	const M, N = 40, 5
	a := make([]float64, M)
	for i := range a {
		a[i] = float64(float32((r.Float64()*2 - 1) * math.Pow(2, float64(r.IntN(40)-20))))
	}
	a[0], a[1], a[2] = float64(math.MaxFloat32), -float64(math.Nextafter32(math.MaxFloat32, 0)), 1.2345678e-30
	a[3], a[4], a[5] = math.Inf(1), math.Inf(-1), math.NaN()
	b := []float64{1, -0.75, 1.5, 0.0078125, 3}
	c0 := make([]float64, M*N)
	for j := range c0 {
		c0[j] = r.Float64()
	}
	for _, beta := range []float32{0, 0.5} {
		A, B, C := putF64(be, a, M, 1), putBF16F64(be, b, N, 1), putF64(be, c0, M, N)
		be.Gemm(core.GemmArgs{TransB: true, M: M, N: N, K: 1, Alpha: 1, Beta: beta, A: A, B: B, C: C})
		got := getF64(be, C)
		for m := range M {
			for n := range N {
				want := float64(float32(a[m] * b[n]))
				scale := math.Abs(want) // the rounding errors allowed are relative to the terms
				if beta != 0 {
					bc := float64(beta) * float64(float32(c0[m*N+n]))
					want = float64(float32(want + bc))
					scale += math.Abs(bc)
				}
				g := got[m*N+n]
				switch {
				case math.IsNaN(want) || math.IsInf(want, 0):
					if !(math.IsNaN(want) && math.IsNaN(g)) && g != want {
						t.Errorf("beta %g: C[%d,%d] = %g, want %g (a %g, b %g)", beta, m, n, g, want, a[m], b[n])
					}
				case math.Abs(g-want) > 2.5e-7*scale:
					t.Errorf("beta %g: C[%d,%d] = %.9g, want %.9g (a %.9g, b %g): relative error %.2g",
						beta, m, n, g, want, a[m], b[n], math.Abs(g-want)/math.Abs(want))
				}
			}
		}
	}
}
