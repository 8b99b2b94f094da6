//go:build cuda && !cudaemu

package cuda

/*
#cgo LDFLAGS: -lnvrtc
#cgo linux CFLAGS: -I/usr/local/cuda/include
#cgo linux LDFLAGS: -L/usr/local/cuda/lib64
#include <stdlib.h>
#include <nvrtc.h>
*/
import "C"

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"
)

// The kernels are compiled with NVRTC straight to a cubin for the device's
// architecture. (gorgonia.org/cu/nvrtc has no nvrtcGetCUBIN, hence this
// small binding.)

// nvrtcOptions are the compiler options for compute capability major.minor:
// the exact architecture, C++17, and no --use_fast_math (expf, log1pf and
// divisions stay accurate; the float32 conformance bar needs them).
func nvrtcOptions(major, minor int) []string {
	return []string{
		fmt.Sprintf("--gpu-architecture=sm_%d%d", major, minor),
		"--std=c++17",
		"--fmad=true",
	}
}

// nvrtcVersion returns NVRTC's version.
func nvrtcVersion() (major, minor int) {
	var ma, mi C.int
	if C.nvrtcVersion(&ma, &mi) != C.NVRTC_SUCCESS {
		return 0, 0
	}
	return int(ma), int(mi)
}

func nvrtcError(what string, r C.nvrtcResult) error {
	return fmt.Errorf("NVRTC %s: %s", what, C.GoString(C.nvrtcGetErrorString(r)))
}

// nvrtcCompile compiles src to a cubin.
func nvrtcCompile(src, name string, opts []string) ([]byte, error) {
	csrc, cname := C.CString(src), C.CString(name)
	defer C.free(unsafe.Pointer(csrc))
	defer C.free(unsafe.Pointer(cname))
	var prog C.nvrtcProgram
	if r := C.nvrtcCreateProgram(&prog, csrc, cname, 0, nil, nil); r != C.NVRTC_SUCCESS {
		return nil, nvrtcError("creating the program", r)
	}
	defer C.nvrtcDestroyProgram(&prog)

	copts := C.malloc(C.size_t(len(opts)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(copts)
	optv := unsafe.Slice((**C.char)(copts), len(opts))
	for j, o := range opts {
		optv[j] = C.CString(o)
		defer C.free(unsafe.Pointer(optv[j]))
	}
	r := C.nvrtcCompileProgram(prog, C.int(len(opts)), (**C.char)(copts))
	if r != C.NVRTC_SUCCESS {
		return nil, fmt.Errorf("%w\n%s", nvrtcError("compiling "+name+" with "+strings.Join(opts, " "), r), nvrtcLog(prog))
	}
	var size C.size_t
	if r := C.nvrtcGetCUBINSize(prog, &size); r != C.NVRTC_SUCCESS {
		return nil, nvrtcError("getting the cubin size", r)
	}
	if size == 0 {
		return nil, fmt.Errorf("NVRTC produced an empty cubin for %s", strings.Join(opts, " "))
	}
	out := make([]byte, int(size))
	if r := C.nvrtcGetCUBIN(prog, (*C.char)(unsafe.Pointer(&out[0]))); r != C.NVRTC_SUCCESS {
		return nil, nvrtcError("getting the cubin", r)
	}
	return out, nil
}

// nvrtcLog returns the compilation log of prog.
func nvrtcLog(prog C.nvrtcProgram) string {
	var size C.size_t
	if C.nvrtcGetProgramLogSize(prog, &size) != C.NVRTC_SUCCESS || size <= 1 {
		return ""
	}
	buf := make([]byte, int(size))
	if C.nvrtcGetProgramLog(prog, (*C.char)(unsafe.Pointer(&buf[0]))) != C.NVRTC_SUCCESS {
		return ""
	}
	return strings.TrimRight(string(buf), "\x00")
}

// cachePath is where the cubin of src for major.minor is cached:
// os.UserCacheDir()/mambakit/cuda/<sha256 of source, options, NVRTC version>.cubin,
// or "" when there is no cache directory or noCache is set.
func cachePath(src string, major, minor int, noCache bool) string {
	if noCache {
		return ""
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	vmaj, vmin := nvrtcVersion()
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00nvrtc %d.%d\x00", src, strings.Join(nvrtcOptions(major, minor), " "), vmaj, vmin)
	return filepath.Join(dir, "mambakit", "cuda", hex.EncodeToString(h.Sum(nil))+".cubin")
}

// compileKernels returns the cubin of src for major.minor, from the cache
// when it is there (cached is then true), else compiled and stored (no
// cache at all with noCache).
func compileKernels(src string, major, minor int, noCache bool) (image []byte, cached bool, err error) {
	path := cachePath(src, major, minor, noCache)
	if path != "" {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			return data, true, nil
		}
	}
	image, err = nvrtcCompile(src, "kernels.cu", nvrtcOptions(major, minor))
	if err != nil {
		return nil, false, err
	}
	if path != "" { // best effort: a failure only costs the next start a compilation
		if os.MkdirAll(filepath.Dir(path), 0o755) == nil {
			if tmp, err := os.CreateTemp(filepath.Dir(path), "tmp-*.cubin"); err == nil {
				_, werr := tmp.Write(image)
				cerr := tmp.Close()
				if werr == nil && cerr == nil {
					_ = os.Rename(tmp.Name(), path)
				} else {
					_ = os.Remove(tmp.Name())
				}
			}
		}
	}
	return image, false, nil
}

// forgetCached removes the cache entry of src for major.minor.
func forgetCached(src string, major, minor int) {
	if path := cachePath(src, major, minor, false); path != "" {
		_ = os.Remove(path)
	}
}
