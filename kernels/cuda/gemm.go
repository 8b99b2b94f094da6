//go:build cuda

package cuda

import (
	"runtime"

	"github.com/mambakit/mambakit/core"
)

// colGemm is one cuBLAS product in cuBLAS's column-major terms: for each
// i < batch, C_i = alpha·op(X_i)·op(Y_i) + beta·C_i with op(X_i) (m, k),
// op(Y_i) (k, n), C_i (m, n); X_i at x + i·strideX elements, and so on.
type colGemm struct {
	transX, transY bool
	m, n, k        int
	alpha, beta    float32
	x              uintptr
	ldx            int
	strideX        int64
	y              uintptr
	ldy            int
	strideY        int64
	c              uintptr
	ldc            int
	strideC        int64
	batch          int
}

// toColumnMajor maps the row-major product of g onto cuBLAS. A row-major
// matrix is the column-major storage of its transpose, so the row-major
// C(M, N) = op(A)·op(B) is the column-major Cᵀ(N, M) = op(B)ᵀ·op(A)ᵀ:
//
//	cublasSgemm(opB, opA, N, M, K, alpha, B, ldb, A, lda, beta, C, N)
//
// where each leading dimension is the stored matrix's row length (B: N, or K
// when TransB; A: K, or M when TransA) and opB, opA transpose exactly when
// TransB, TransA do.
func toColumnMajor(g core.GemmArgs, a, b, c uintptr) colGemm {
	lda, ldb := g.K, g.N
	if g.TransA {
		lda = g.M
	}
	if g.TransB {
		ldb = g.K
	}
	return colGemm{
		transX: g.TransB, transY: g.TransA,
		m: g.N, n: g.M, k: g.K,
		alpha: g.Alpha, beta: g.Beta,
		x: b, ldx: ldb, strideX: int64(g.StrideB),
		y: a, ldy: lda, strideY: int64(g.StrideA),
		c: c, ldc: g.N, strideC: int64(g.StrideC),
		batch: max(g.Batch, 1),
	}
}

// Gemm implements core.Backend through cuBLAS (and gemv_rows for a product
// of at most 8 rows of float32 A by a transposed B): for each batch i,
// C_i = Alpha·op(A_i)·op(B_i) + Beta·C_i (row-major; a stride of 0 shares a
// matrix across the batch; Beta = 0 ignores C, NaN included). float32
// operands use cublasSgemm / cublasSgemmStridedBatched in FP32 (TF32 only
// with MAMBAKIT_CUDA_TF32=1); when A and B are both bfloat16,
// cublasGemmStridedBatchedEx multiplies them in FP32; float32 A (at most
// splitRows rows, not transposed) by bfloat16 B goes through gemmSplit;
// any other single bfloat16 factor is widened (exactly) into a float32
// scratch copy first. K = 0 gives C = Beta·C.
func (be *Backend) Gemm(g core.GemmArgs) {
	batch := max(g.Batch, 1)
	if g.M == 0 || g.N == 0 || batch == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	defer runtime.KeepAlive(g)
	c := be.ptr(g.C)
	if g.K == 0 {
		mn := int64(g.M) * int64(g.N)
		stride := int64(g.StrideC)
		if batch == 1 {
			stride = mn
		}
		total := mn * int64(batch)
		be.launch(be.k.scaleStrided, be.blocksFor(total, 256), 1, 256, 0,
			p(c), uint64(total), uint64(mn), uint64(stride), f(g.Beta))
		return
	}
	aBF, bBF := g.A.IsBF16(), g.B.IsBF16()
	if batch == 1 && !g.TransA && g.TransB && g.M <= gemvRows && !aBF {
		be.gemv(g, c, bBF)
		return
	}
	if aBF && bBF {
		check("cublasGemmStridedBatchedEx", be.drv.gemmBF16(toColumnMajor(g, be.ptrBF16(g.A), be.ptrBF16(g.B), c)))
		return
	}
	if batch == 1 && !aBF && bBF && !g.TransA && g.M <= splitRows {
		be.gemmSplit(g, c)
		return
	}
	a, b := uintptr(0), uintptr(0)
	if aBF {
		var tmp block
		a, tmp = be.widened(g.A, batch, g.StrideA, g.M*g.K)
		defer be.done(tmp)
	} else {
		a = be.ptr(g.A)
	}
	if bBF {
		var tmp block
		b, tmp = be.widened(g.B, batch, g.StrideB, g.K*g.N)
		defer be.done(tmp)
	} else {
		b = be.ptr(g.B)
	}
	check("cublasSgemm", be.drv.sgemm(toColumnMajor(g, a, b, c)))
}

// gemvRows is GEMV_ROWS in kernels.cu: the most rows of A that gemv_rows
// takes.
const gemvRows = 8

// gemv runs g (one product, A float32 with at most gemvRows rows, B
// transposed, float32 or bfloat16) with gemv_rows: a warp per column of C,
// reading B once. A step of decoding multiplies so; cuBLAS's host side costs
// more than the product there (PERF.md).
func (be *Backend) gemv(g core.GemmArgs, c uintptr, bBF bool) {
	a := be.ptr(g.A)
	k, w, per := be.k.gemvF32, uintptr(0), 4
	if bBF {
		k, w, per = be.k.gemvBF16, be.ptrBF16(g.B), 8
	} else {
		w = be.ptr(g.B)
	}
	vec := g.K%per == 0 && a%16 == 0 && w%16 == 0
	const warps = 8
	be.launch(k, (g.N+warps-1)/warps, 1, 32*warps, 0, p(a), p(w), p(c), i(g.M), i(g.N), i(g.K),
		f(g.Alpha), f(g.Beta), b(vec))
}

// splitRows is the most rows of a float32 A that Gemm multiplies by a
// bfloat16 B through gemmSplit: decoding batches of up to 64 sequences.
// Its scratch grows with the rows (3M·N float32) while widening B costs
// the same for any M; where the two cross was not measured.
const splitRows = 64

// gemmSplit runs g (one product of float32 A, not transposed, with at most
// splitRows rows, by bfloat16 B) on the tensor cores, reading B once as
// bfloat16: split3_bf16 writes A as hi + mid + lo, three bfloat16 matrices
// stacked as one (3M, K) operand; one cublasGemmStridedBatchedEx (batch 1)
// multiplies it by B into a (3M, N) float32 scratch (bfloat16 products are
// exact in float32, the sums float32); sum3_f32 folds the three into C. Decoding a batch with
// bfloat16 weights multiplies so; widening B instead wrote and read the
// whole weight matrix again as float32 at every step (PERF.md).
func (be *Backend) gemmSplit(g core.GemmArgs, c uintptr) {
	mk, mn := g.M*g.K, g.M*g.N
	parts := be.temp(3*mk, 2)
	defer be.done(parts)
	prod := be.temp(3*mn, 4)
	defer be.done(prod)
	be.launch(be.k.split3BF16, be.blocksFor(int64(mk), 256), 1, 256, 0, p(parts.ptr), p(be.ptr(g.A)), i(mk))
	g3 := core.GemmArgs{TransB: g.TransB, M: 3 * g.M, N: g.N, K: g.K, Alpha: 1}
	check("cublasGemmStridedBatchedEx", be.drv.gemmBF16(toColumnMajor(g3, parts.ptr, be.ptrBF16(g.B), prod.ptr)))
	be.launch(be.k.sum3F32, be.blocksFor(int64(mn), 256), 1, 256, 0, p(c), p(prod.ptr), i(mn), f(g.Alpha), f(g.Beta))
}

// widened copies the span of a bfloat16 operand that batch products of
// size-element matrices at the given stride read, widened to float32, into
// scratch memory, and returns its address (the same offsets apply).
func (be *Backend) widened(t core.Tensor, batch, stride, size int) (uintptr, block) {
	n := (batch-1)*stride + size
	tmp := be.temp(n, 4)
	be.launch(be.k.widenBF16, be.blocksFor(int64(n), 256), 1, 256, 0, p(tmp.ptr), p(be.ptrBF16(t)), i(n))
	return tmp.ptr, tmp
}
