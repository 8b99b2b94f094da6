//go:build cuda && cudaemu

// emu.cpp: the kernels of kernels.cu compiled for the CPU with emu.h, and the
// launcher and GEMM that driver_emu.go calls in place of the CUDA driver and
// cuBLAS.
#include "emu.h"
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <type_traits>

thread_local dim3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
float4 mk_dyn_smem[48 * 1024 / 16];
EmuBlock* emu_block;

#include "kernels.cu"

template <class T> T emu_arg(uint64_t v) {
	if constexpr (std::is_pointer_v<T>) return reinterpret_cast<T>(v);
	else if constexpr (std::is_same_v<T, float>) { uint32_t b = (uint32_t)v; float f; memcpy(&f, &b, 4); return f; }
	else if constexpr (std::is_same_v<T, double>) { double f; memcpy(&f, &v, 8); return f; }
	else return (T)(int64_t)v;
}
template <class... P, size_t... I> void emu_call(void (*f)(P...), const uint64_t* a, std::index_sequence<I...>) { f(emu_arg<P>(a[I])...); }
struct Kern { std::string name; int nparams; std::function<void(const uint64_t*)> run; };
template <class... P> Kern mk(const char* name, void (*f)(P...)) {
	return Kern{name, (int)sizeof...(P), [f](const uint64_t* a) { emu_call(f, a, std::index_sequence_for<P...>{}); }};
}
#define K(n) mk(#n, n)
// kerns lists every kernel of kernels.cu by name: a kernel added there must
// be added here too (the backend looks kernels up by name and fails to start
// without them).
static std::vector<Kern> kerns = {
	K(axpy_f32), K(flip_f32), K(widen_bf16), K(round_bf16), K(scale_strided), K(silu_f32), K(silu_bwd_f32),
	K(softplus_f32), K(softplus_bwd_f32), K(adamw_f32), K(sumsq_partial), K(sum_f64), K(embedding_f32), K(embedding_bf16),
	K(embedding_bwd_f32), K(conv1d_fwd), K(conv1d_bwd_gpre), K(conv1d_bwd_dx), K(conv1d_bwd_dw), K(conv_step),
	K(rmsnorm_fwd), K(rmsnorm_bwd_dx), K(rmsnorm_bwd_dw_partial), K(rmsnorm_bwd_dw_final), K(ce_fwd), K(ce_bwd),
	K(scan_step), K(argmax_rows), K(gemv_rows_f32), K(gemv_rows_bf16), K(split3_bf16), K(sum3_f32), K(scan_fwd_32x16), K(scan_fwd_64x16), K(scan_fwd_128x16), K(scan_fwd_256x16), K(scan_fwd_512x16), K(scan_fwd_512x8), K(scan_fwd16_256_2), K(scan_fwd4_64_6), K(scan_fwd4_128_3), K(scan_fwd2_128_6), K(scan_fwd4_64_6_save), K(scan_fwd4_128_3_save), K(scan_fwd4_128_3_full), K(scan_fwd4_128_3_save_full), K(scan_fwd2_128_6_save), K(scan_bwd4_32_12), K(scan_bwd4_64_6), K(scan_bwd4_32_12_full), K(scan_bwd4_64_6_full),
	K(scan_bwd_32x8), K(scan_bwd_128x8), K(scan_bwd_256x8), K(scan_bwd_64x16), K(scan_bwd_128x16),
	K(scan_fwd_32x16_bf16), K(scan_fwd_64x16_bf16), K(scan_fwd_128x16_bf16), K(scan_fwd_256x16_bf16), K(scan_fwd_512x16_bf16),
	K(scan_fwd_512x8_bf16), K(scan_fwd16_256_2_bf16), K(scan_fwd4_64_6_bf16), K(scan_fwd4_128_3_bf16), K(scan_fwd2_128_6_bf16), K(scan_fwd4_64_6_save_bf16), K(scan_fwd4_128_3_save_bf16), K(scan_fwd4_128_3_full_bf16), K(scan_fwd4_128_3_save_full_bf16), K(scan_fwd2_128_6_save_bf16), K(scan_bwd4_32_12_bf16), K(scan_bwd4_64_6_bf16), K(scan_bwd4_32_12_full_bf16), K(scan_bwd4_64_6_full_bf16), K(scan_bwd_32x8_bf16), K(scan_bwd_128x8_bf16), K(scan_bwd_256x8_bf16),
	K(scan_bwd_64x16_bf16), K(scan_bwd_128x16_bf16),
};

extern "C" int emu_find(const char* name) {
	for (size_t i = 0; i < kerns.size(); ++i) if (kerns[i].name == name) return (int)i;
	return -1;
}

long long emu_launches = 0;
extern "C" int emu_launch(int k, unsigned gx, unsigned gy, unsigned bx, size_t smem, const uint64_t* args, int nargs) {
	if (k < 0 || k >= (int)kerns.size()) return 1;
	if (nargs != kerns[k].nparams) { fprintf(stderr, "emu: %s takes %d params, got %d\n", kerns[k].name.c_str(), kerns[k].nparams, nargs); return 2; }
	if (bx == 0 || bx > 1024 || bx % 32 != 0) { fprintf(stderr, "emu: %s block %u\n", kerns[k].name.c_str(), bx); return 3; }
	if (smem > sizeof(mk_dyn_smem)) { fprintf(stderr, "emu: %s smem %zu\n", kerns[k].name.c_str(), smem); return 4; }
	if (gy > 65535) return 5;
	emu_launches++;
	EmuBlock eb;
	eb.block = std::make_unique<std::barrier<>>(bx);
	for (unsigned w = 0; w < bx / 32; ++w) eb.warps.push_back(std::make_unique<std::barrier<>>(32));
	eb.slots.assign(bx, 0);
	emu_block = &eb;
	blockDim = dim3{bx, 1, 1};
	gridDim = dim3{gx, gy, 1};
	// poison dynamic shared memory: kernels must not rely on its contents
	memset(mk_dyn_smem, 0x7f, smem);
	std::vector<uint64_t> a(args, args + nargs);
	auto& run = kerns[k].run;
	std::barrier<> between(bx);
	std::vector<std::thread> ts;
	for (unsigned t = 0; t < bx; ++t)
		ts.emplace_back([&, t] {
			threadIdx = dim3{t, 0, 0};
			for (unsigned by = 0; by < gy; ++by)
				for (unsigned bxi = 0; bxi < gx; ++bxi) {
					blockIdx = dim3{bxi, by, 0};
					run(a.data());
					between.arrive_and_wait();
				}
		});
	for (auto& t : ts) t.join();
	return 0;
}

static float ld(uintptr_t base, long long idx, int bf16) {
	if (bf16) { uint16_t h = ((const uint16_t*)base)[idx]; return __uint_as_float(((unsigned)h) << 16); }
	return ((const float*)base)[idx];
}

// Column-major C_i = alpha·op(X_i)·op(Y_i) + beta·C_i, as cuBLAS, with cuBLAS's argument checks.
extern "C" int emu_gemm(int bf16, int tx, int ty, int m, int n, int k, float alpha, uintptr_t x, int ldx, long long sx,
                        uintptr_t y, int ldy, long long sy, float beta, uintptr_t c, int ldc, long long sc, int batch) {
	if (m < 0 || n < 0 || k < 0 || batch < 1) return 7;
	if (ldx < (tx ? (k > 1 ? k : 1) : (m > 1 ? m : 1))) { fprintf(stderr, "emu gemm: ldx %d\n", ldx); return 7; }
	if (ldy < (ty ? (n > 1 ? n : 1) : (k > 1 ? k : 1))) { fprintf(stderr, "emu gemm: ldy %d\n", ldy); return 7; }
	if (ldc < (m > 1 ? m : 1)) { fprintf(stderr, "emu gemm: ldc %d\n", ldc); return 7; }
	for (int b = 0; b < batch; ++b)
		for (int i = 0; i < m; ++i)
			for (int j = 0; j < n; ++j) {
				double s = 0;
				for (int p = 0; p < k; ++p) {
					float xv = ld(x, b * sx + (tx ? p + (long long)i * ldx : i + (long long)p * ldx), bf16);
					float yv = ld(y, b * sy + (ty ? j + (long long)p * ldy : p + (long long)j * ldy), bf16);
					s += (double)xv * yv;
				}
				float* cp = (float*)c + b * sc + i + (long long)j * ldc;
				*cp = beta == 0 ? (float)(alpha * s) : (float)(alpha * s) + beta * *cp;
			}
	return 0;
}
extern "C" long long emu_launch_count() { return emu_launches; }
