//go:build cuda && cudaemu

package cuda

// driver_emu.go: the driver of the CPU emulation (build tags cuda and
// cudaemu, in place of driver.go, nvrtc.go and cublas.go): memory is host
// memory, launches run emu.cpp's compiled kernels block by block with a
// thread per CUDA thread, GEMMs are plain loops accumulating in double. Slow
// (minutes for the scan tests) but needs neither a GPU nor the CUDA toolkit.

/*
#cgo CXXFLAGS: -std=c++20 -O2 -Wno-unknown-pragmas
#cgo LDFLAGS: -lstdc++ -lpthread -lm
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
int emu_find(const char* name);
int emu_launch(int k, unsigned gx, unsigned gy, unsigned bx, size_t smem, const uint64_t* args, int nargs);
int emu_gemm(int bf16, int tx, int ty, int m, int n, int k, float alpha, uintptr_t x, int ldx, long long sx,
             uintptr_t y, int ldy, long long sy, float beta, uintptr_t c, int ldc, long long sc, int batch);
static void* emu_malloc(size_t n) { void* p = NULL; if (posix_memalign(&p, 256, n)) return NULL; memset(p, 0xA5, n); return p; }
static void emu_set32(uintptr_t p, uint32_t v, long long n) { for (long long i = 0; i < n; ++i) ((uint32_t*)p)[i] = v; }
static void emu_set16(uintptr_t p, uint16_t v, long long n) { for (long long i = 0; i < n; ++i) ((uint16_t*)p)[i] = v; }
static void emu_copy(uintptr_t d, uintptr_t s, long long n) { memcpy((void*)d, (void*)s, n); }
static void emu_htod(uintptr_t d, void* s, long long n) { memcpy((void*)d, s, n); }
static void emu_dtoh(void* d, uintptr_t s, long long n) { memcpy(d, (void*)s, n); }
static void emu_free(uintptr_t p) { free((void*)p); }
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"
)

type kernelFn = int
type event = *time.Time

type driver struct{}

var emuTotal int64 = 8 << 30

func openDriver() (*driver, error)                                     { return &driver{}, nil }
func (d *driver) bind() error                                          { return nil }
func (d *driver) computeCapability() (int, int)                        { return 9, 0 }
func (d *driver) multiprocessors() int                                 { return 4 }
func (d *driver) deviceName() string                                   { return "CPU emulator" }
func (d *driver) totalMemory() int64                                   { return emuTotal }
func (d *driver) loadKernels(src string, a, b int, noCache bool) error { return nil }
func (d *driver) function(name string) (kernelFn, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	k := int(C.emu_find(cs))
	if k < 0 {
		return 0, fmt.Errorf("no kernel %s", name)
	}
	return k, nil
}
func (d *driver) launch(fn kernelFn, gx, gy, bx, smem int, args []uint64) error {
	ca := C.malloc(C.size_t(8 * max(len(args), 1)))
	defer C.free(ca)
	copy(unsafe.Slice((*uint64)(ca), len(args)), args)
	if r := C.emu_launch(C.int(fn), C.uint(gx), C.uint(gy), C.uint(bx), C.size_t(smem), (*C.uint64_t)(ca), C.int(len(args))); r != 0 {
		return fmt.Errorf("emu launch error %d", int(r))
	}
	return nil
}

var errOOM = errors.New("emu: out of memory")
var emuLive int64

func (d *driver) malloc(bytes int64) (uintptr, error) {
	if emuLive+bytes > emuTotal {
		return 0, errOOM
	}
	p := C.emu_malloc(C.size_t(bytes))
	if p == nil {
		return 0, errOOM
	}
	emuLive += bytes
	emuSizes[uintptr(p)] = bytes
	return uintptr(p), nil
}

var emuSizes = map[uintptr]int64{}

func (d *driver) isOOM(err error) bool { return err == errOOM }
func (d *driver) free(ptr uintptr) error {
	emuLive -= emuSizes[ptr]
	delete(emuSizes, ptr)
	C.emu_free(C.uintptr_t(ptr))
	return nil
}
func (d *driver) memsetZero(ptr uintptr, bytes int64) error {
	C.emu_set16(C.uintptr_t(ptr), 0, C.longlong(bytes/2))
	if bytes%2 != 0 {
		panic("odd memset")
	}
	return nil
}
func (d *driver) memset32(ptr uintptr, v uint32, n int64) error {
	C.emu_set32(C.uintptr_t(ptr), C.uint32_t(v), C.longlong(n))
	return nil
}
func (d *driver) memset16(ptr uintptr, v uint16, n int64) error {
	C.emu_set16(C.uintptr_t(ptr), C.uint16_t(v), C.longlong(n))
	return nil
}
func (d *driver) htod(dst uintptr, src unsafe.Pointer, bytes int64) error {
	C.emu_htod(C.uintptr_t(dst), src, C.longlong(bytes))
	return nil
}
func (d *driver) dtoh(dst unsafe.Pointer, src uintptr, bytes int64) error {
	C.emu_dtoh(dst, C.uintptr_t(src), C.longlong(bytes))
	return nil
}
func (d *driver) dtod(dst, src uintptr, bytes int64) error {
	C.emu_copy(C.uintptr_t(dst), C.uintptr_t(src), C.longlong(bytes))
	return nil
}
func (d *driver) sync() error              { return nil }
func (d *driver) newEvent() (event, error) { t := time.Now(); return &t, nil }
func (d *driver) record(e event) error     { *e = time.Now(); return nil }
func (d *driver) elapsed(a, b event) (float64, error) {
	return float64(b.Sub(*a).Microseconds()) / 1000, nil
}
func (d *driver) destroyEvent(e event)     {}
func (d *driver) setTF32(on bool) error    { return nil }
func (d *driver) sgemm(g colGemm) error    { return d.gemm(g, 0) }
func (d *driver) gemmBF16(g colGemm) error { return d.gemm(g, 1) }
func (d *driver) gemm(g colGemm, bf int) error {
	tx, ty := 0, 0
	if g.transX {
		tx = 1
	}
	if g.transY {
		ty = 1
	}
	if r := C.emu_gemm(C.int(bf), C.int(tx), C.int(ty), C.int(g.m), C.int(g.n), C.int(g.k), C.float(g.alpha), C.uintptr_t(g.x), C.int(g.ldx), C.longlong(g.strideX), C.uintptr_t(g.y), C.int(g.ldy), C.longlong(g.strideY), C.float(g.beta), C.uintptr_t(g.c), C.int(g.ldc), C.longlong(g.strideC), C.int(g.batch)); r != 0 {
		return fmt.Errorf("emu gemm status %d", int(r))
	}
	return nil
}
func (d *driver) close() error                                     { return nil }
func (d *driver) kernelInfo(fn kernelFn) (regs, local, shared int) { return 0, 0, 0 }
