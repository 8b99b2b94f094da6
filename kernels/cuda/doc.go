// Package cuda is mambakit's CUDA backend: a core.Backend whose tensors live
// in the memory of an NVIDIA GPU (device 0). It is built only with the build
// tag cuda; without it this file is all the package holds, and the default
// (pure Go) build neither imports nor links anything of CUDA.
//
//	go build -tags cuda ./cmd/mamba      # then: mamba ... --device cuda
//
// See BUILD.md for the exact build commands (cgo flags, the CUDA 13 header
// shim in cuda13/) and for running the tests and benchmarks on a GPU machine.
//
// # What it uses
//
//   - gorgonia.org/cu (the CUDA driver API): the primary context of device 0,
//     device memory, modules, kernel launches, events. All work goes to the
//     legacy default stream, so operations run in the order they are issued.
//   - NVRTC: the kernels (kernels.cu, embedded) are compiled when New runs,
//     for the device's exact architecture (--gpu-architecture=sm_XY from its
//     compute capability), without --use_fast_math, and the cubin is cached
//     under os.UserCacheDir()/mambakit/cuda/<sha256>.cubin keyed by the
//     source, the options and the NVRTC version.
//   - cuBLAS: every Gemm (cublasSgemm, cublasSgemmStridedBatched, and
//     cublasGemmStridedBatchedEx with CUDA_R_16BF inputs when both factors
//     are bfloat16), in true FP32 by default; MAMBAKIT_CUDA_TF32=1 allows
//     TF32 tensor cores (faster, about 1e-3 relative error: it fails the
//     conformance bar). The exception is a single product of at most 8
//     float32 rows by a transposed float32 or bfloat16 B (a decoding step's
//     products): our gemv_rows kernel, in FP32, without cuBLAS's host cost.
//     Up to 64 float32 rows by a bfloat16 B: the rows split exactly into
//     three bfloat16 parts (split3_bf16), one cuBLAS bfloat16 product, the three
//     products summed (sum3_f32), so B is never widened.
//   - The selective scan in float32 or, when its sequence tensors are
//     bfloat16 (core.ScanArgs), the _bf16 twins of the same kernels: u, δ,
//     B, C, z read as bfloat16 and widened in registers, out, du, dδ, dz
//     rounded to nearest even once; the state and every sum stay float32.
//
// # Failure modes
//
// Importing gorgonia.org/cu runs cuInit in that package's init; when it fails
// (no driver, no GPU) the process prints a message and exits with status 1
// before main or any test runs. This is why the backend sits behind a build
// tag. Past that point New returns an error (never panics) when the device,
// the context, NVRTC, the module or cuBLAS cannot be set up. The Backend
// methods have no error results: a failing driver call panics with a message
// naming the operation. Kernels run asynchronously, so a fault inside one
// surfaces at a later call (usually the next Download); set
// MAMBAKIT_CUDA_SYNC=1 to synchronize after every launch and name the
// failing kernel.
//
// # Memory
//
// Alloc and AllocBF16 return zero-filled device memory (cuMemAlloc through a
// caching allocator with power-of-two-ish size classes). A storage's memory
// returns to the allocator's cache when the garbage collector finds the
// storage unreachable (runtime.AddCleanup, the successor of finalizers);
// because the Go heap does not see device memory, the allocator runs the
// garbage collector itself after every quarter of the device's memory
// allocated, and on cuMemAlloc failing with out-of-memory it collects,
// empties its cache and retries before panicking. Blocks are reused in
// stream order, so a block can be handed out again while kernels that used
// it are still queued.
//
// # Concurrency
//
// The methods may be called from any goroutine: each takes the backend's
// mutex and makes its context current on the calling OS thread (locked for
// the call's duration).
//
// # Environment
//
//	MAMBAKIT_CUDA_TF32=1       allow TF32 in cuBLAS products
//	MAMBAKIT_CUDA_SYNC=1       synchronize and check after every kernel launch (debugging)
//	MAMBAKIT_CUDA_NOCACHE=1    do not read or write the compiled-kernel cache
//	MAMBAKIT_CUDA_SCAN_CONFIG=i  force scan kernel configuration i (0: 32×8, 1: 64×8,
//	                           2: 128×8, 3: 128×16 threads × positions; the
//	                           backward has no 128×16 and uses 128×8), for tuning
package cuda
