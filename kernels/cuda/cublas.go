//go:build cuda && !cudaemu

package cuda

/*
#cgo LDFLAGS: -lcublas
#cgo linux CFLAGS: -I/usr/local/cuda/include
#cgo linux LDFLAGS: -L/usr/local/cuda/lib64
#include <stdint.h>
#include <cublas_v2.h>

// mk_gemm runs C_i = alpha·op(X_i)·op(Y_i) + beta·C_i (column-major, cuBLAS's
// own convention) for i < batch, each operand at its pointer plus i·stride.
// With bf16, X and Y hold bfloat16 (CUDA_R_16BF), C float32, and the
// products accumulate in FP32 (CUBLAS_COMPUTE_32F); otherwise all three are
// float32 (cublasSgemm, or cublasSgemmStridedBatched for batch > 1).
// Addresses travel as integers so that no Go code converts them to pointers.
static cublasStatus_t mk_gemm(cublasHandle_t h, int bf16, int tx, int ty, int m, int n, int k, float alpha,
                              uintptr_t x, int ldx, long long sx, uintptr_t y, int ldy, long long sy,
                              float beta, uintptr_t c, int ldc, long long sc, int batch) {
	cublasOperation_t ox = tx ? CUBLAS_OP_T : CUBLAS_OP_N, oy = ty ? CUBLAS_OP_T : CUBLAS_OP_N;
	if (bf16)
		return cublasGemmStridedBatchedEx(h, ox, oy, m, n, k, &alpha, (const void *)x, CUDA_R_16BF, ldx, sx,
		                                  (const void *)y, CUDA_R_16BF, ldy, sy, &beta, (void *)c, CUDA_R_32F,
		                                  ldc, sc, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
	if (batch == 1)
		return cublasSgemm(h, ox, oy, m, n, k, &alpha, (const float *)x, ldx, (const float *)y, ldy, &beta,
		                   (float *)c, ldc);
	return cublasSgemmStridedBatched(h, ox, oy, m, n, k, &alpha, (const float *)x, ldx, sx, (const float *)y,
	                                 ldy, sy, &beta, (float *)c, ldc, sc, batch);
}
*/
import "C"

import "fmt"

// cublasHandle is a cuBLAS handle, bound to the context current when it was
// created. It uses the legacy default stream and host-side scalars.
type cublasHandle struct{ h C.cublasHandle_t }

// cublasError describes a cuBLAS status.
type cublasError C.cublasStatus_t

func (e cublasError) Error() string {
	return fmt.Sprintf("cuBLAS: %s (status %d)", C.GoString(C.cublasGetStatusString(C.cublasStatus_t(e))), int(e))
}

func cublasResult(s C.cublasStatus_t) error {
	if s == C.CUBLAS_STATUS_SUCCESS {
		return nil
	}
	return cublasError(s)
}

// newCublas creates a handle in the current context.
func newCublas() (cublasHandle, error) {
	var h cublasHandle
	if err := cublasResult(C.cublasCreate(&h.h)); err != nil {
		return cublasHandle{}, fmt.Errorf("cuda: creating the cuBLAS handle: %w", err)
	}
	return h, nil
}

func (h cublasHandle) ok() bool { return h.h != nil }

// setTF32 selects CUBLAS_TF32_TENSOR_OP_MATH when on, else
// CUBLAS_DEFAULT_MATH (float32 products in full FP32).
func (h cublasHandle) setTF32(on bool) error {
	mode := C.cublasMath_t(C.CUBLAS_DEFAULT_MATH)
	if on {
		mode = C.CUBLAS_TF32_TENSOR_OP_MATH
	}
	if err := cublasResult(C.cublasSetMathMode(h.h, mode)); err != nil {
		return fmt.Errorf("setting the cuBLAS math mode: %w", err)
	}
	return nil
}

// sgemm runs g with float32 operands.
func (h cublasHandle) sgemm(g colGemm) error { return h.gemm(g, false) }

// gemmBF16 runs g with bfloat16 X and Y and float32 C.
func (h cublasHandle) gemmBF16(g colGemm) error { return h.gemm(g, true) }

func (h cublasHandle) gemm(g colGemm, bf16 bool) error {
	bf := C.int(0)
	if bf16 {
		bf = 1
	}
	tx, ty := C.int(0), C.int(0)
	if g.transX {
		tx = 1
	}
	if g.transY {
		ty = 1
	}
	return cublasResult(C.mk_gemm(h.h, bf, tx, ty, C.int(g.m), C.int(g.n), C.int(g.k), C.float(g.alpha),
		C.uintptr_t(g.x), C.int(g.ldx), C.longlong(g.strideX), C.uintptr_t(g.y), C.int(g.ldy), C.longlong(g.strideY),
		C.float(g.beta), C.uintptr_t(g.c), C.int(g.ldc), C.longlong(g.strideC), C.int(g.batch)))
}

// destroy releases the handle.
func (h *cublasHandle) destroy() error {
	err := cublasResult(C.cublasDestroy(h.h))
	h.h = nil
	return err
}
