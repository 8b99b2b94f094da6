// emu.h: a CPU emulation of the subset of CUDA that kernels.cu uses, for
// testing the kernels without a GPU (build tag cudaemu; see BUILD.md). Each
// block's threads are std::threads; __syncthreads, __syncwarp and the warp
// shuffles are barriers; __shared__ arrays are static (one block runs at a
// time); the hardware's approximate ex2/rcp are exact (MK_EMULATION). It
// checks results, not timing.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <atomic>
#include <barrier>
#include <memory>
#include <vector>
#include <cstdio>
#include <cstdlib>

#define MK_EMULATION 1
#define MK_SHARED static
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)

struct dim3 { unsigned x = 1, y = 1, z = 1; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) float2 { float x, y; };
inline float4 make_float4(float a, float b, float c, float d) { return float4{a, b, c, d}; }

extern thread_local dim3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;
extern float4 mk_dyn_smem[];

struct EmuBlock {
	std::unique_ptr<std::barrier<>> block;
	std::vector<std::unique_ptr<std::barrier<>>> warps;
	std::vector<uint64_t> slots;
};
extern EmuBlock* emu_block;

inline void __syncthreads() { emu_block->block->arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu_block->warps[threadIdx.x / 32]->arrive_and_wait(); }

template <class T> inline T emu_exchange(T v, int src) {
	static_assert(sizeof(T) <= 8, "slot");
	int tid = threadIdx.x, base = tid & ~31;
	uint64_t bits = 0;
	memcpy(&bits, &v, sizeof(T));
	emu_block->slots[tid] = bits;
	__syncwarp();
	uint64_t r = emu_block->slots[base + src];
	__syncwarp();
	T out;
	memcpy(&out, &r, sizeof(T));
	return out;
}
template <class T> inline T __shfl_up_sync(unsigned, T v, int d) { int l = threadIdx.x & 31; return emu_exchange(v, l - d < 0 ? l : l - d); }
template <class T> inline T __shfl_down_sync(unsigned, T v, int d) { int l = threadIdx.x & 31; return emu_exchange(v, l + d > 31 ? l : l + d); }
template <class T> inline T __shfl_xor_sync(unsigned, T v, int m) { int l = threadIdx.x & 31; return emu_exchange(v, l ^ m); }
template <class T> inline T __shfl_sync(unsigned, T v, int s) { return emu_exchange(v, s & 31); }

inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline double atomicAdd(double* p, double v) { return std::atomic_ref<double>(*p).fetch_add(v); }

inline float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
inline float __int_as_float(int u) { float f; memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
