/*
 * cuda.h shim for building gorgonia.org/cu v0.9.6 against CUDA 13 headers.
 *
 * Put this directory ahead of the toolkit's include directory, e.g.
 *   CGO_CFLAGS="-I$PWD/kernels/cuda/cuda13 -I/usr/local/cuda/include"
 * It includes the real cuda.h and, for CUDA >= 13, undoes five of its
 * renamings: CUDA 13 maps cuCtxCreate, cuMemAdvise, cuMemPrefetchAsync,
 * cuGraphGetEdges and cuGraphAddDependencies to new entry points with new
 * signatures, which gorgonia.org/cu does not know. The driver library still
 * exports the old entry points (cuCtxCreate_v2 and the unsuffixed others),
 * whose prototypes the real header only declares under
 * __CUDA_API_VERSION_INTERNAL; they are declared here. With older toolkits
 * (11.x, 12.x) this header only includes the real one.
 */
#ifndef MAMBAKIT_CUDA13_SHIM_H
#define MAMBAKIT_CUDA13_SHIM_H

#include_next <cuda.h>

#if defined(CUDA_VERSION) && CUDA_VERSION >= 13000

#undef cuCtxCreate
#undef cuMemAdvise
#undef cuMemPrefetchAsync
#undef cuGraphGetEdges
#undef cuGraphAddDependencies

#define cuCtxCreate cuCtxCreate_v2

#ifdef __cplusplus
extern "C" {
#endif

CUresult CUDAAPI cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev);
CUresult CUDAAPI cuMemAdvise(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUdevice device);
CUresult CUDAAPI cuMemPrefetchAsync(CUdeviceptr devPtr, size_t count, CUdevice dstDevice, CUstream hStream);
CUresult CUDAAPI cuGraphGetEdges(CUgraph hGraph, CUgraphNode *from, CUgraphNode *to, size_t *numEdges);
CUresult CUDAAPI cuGraphAddDependencies(CUgraph hGraph, const CUgraphNode *from, const CUgraphNode *to,
                                        size_t numDependencies);

#ifdef __cplusplus
}
#endif

#endif /* CUDA_VERSION >= 13000 */

#endif /* MAMBAKIT_CUDA13_SHIM_H */
