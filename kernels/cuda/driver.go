//go:build cuda && !cudaemu

package cuda

import (
	"errors"
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// This file is the backend's only contact with the CUDA driver API
// (through gorgonia.org/cu); cublas.go and nvrtc.go hold the cgo bindings
// of cuBLAS and NVRTC. Everything runs on the legacy default stream
// (cu.NoStream), which orders all operations. Every method expects the
// context to be current on the calling OS thread (Backend.lock).

// kernelFn is a compiled kernel.
type kernelFn = cu.Function

// event is a CUDA event, for timing.
type event = cu.Event

// driver is device 0's primary context, the kernels' module and a cuBLAS
// handle.
type driver struct {
	dev  cu.Device
	ctx  cu.CUContext
	mod  cu.Module
	blas cublasHandle

	hasCtx, hasMod bool
}

// openDriver retains device 0's primary context, makes it current on the
// calling (locked) OS thread and creates a cuBLAS handle in it.
func openDriver() (*driver, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: counting devices: %w", err)
	}
	if n < 1 {
		return nil, errors.New("cuda: no CUDA device")
	}
	d := &driver{}
	if d.dev, err = cu.GetDevice(0); err != nil {
		return nil, fmt.Errorf("cuda: device 0: %w", err)
	}
	if d.ctx, err = d.dev.RetainPrimaryCtx(); err != nil {
		return nil, fmt.Errorf("cuda: retaining the primary context of device 0: %w", err)
	}
	d.hasCtx = true
	if err := d.bind(); err != nil {
		d.close()
		return nil, fmt.Errorf("cuda: making the context current: %w", err)
	}
	if d.blas, err = newCublas(); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// bind makes the context current on the calling OS thread.
func (d *driver) bind() error { return cu.SetCurrentContext(d.ctx) }

// computeCapability returns the device's compute capability.
func (d *driver) computeCapability() (major, minor int) {
	major, _ = d.dev.Attribute(cu.ComputeCapabilityMajor)
	minor, _ = d.dev.Attribute(cu.ComputeCapabilityMinor)
	return major, minor
}

func (d *driver) multiprocessors() int {
	n, _ := d.dev.Attribute(cu.MultiprocessorCount)
	return n
}

func (d *driver) deviceName() string {
	name, err := d.dev.Name()
	if err != nil {
		return "device 0"
	}
	return name
}

func (d *driver) totalMemory() int64 {
	n, _ := d.dev.TotalMem()
	return n
}

// loadKernels compiles the kernels' source for sm_<major><minor> (or reads
// the cubin from the cache, unless noCache) and loads it as the module.
func (d *driver) loadKernels(src string, major, minor int, noCache bool) error {
	image, cached, err := compileKernels(src, major, minor, noCache)
	if err != nil {
		return err
	}
	mod, err := cu.LoadData(string(image))
	if err != nil && cached {
		// A damaged cache entry: compile afresh.
		forgetCached(src, major, minor)
		if image, _, err = compileKernels(src, major, minor, noCache); err != nil {
			return err
		}
		mod, err = cu.LoadData(string(image))
	}
	if err != nil {
		return fmt.Errorf("loading the compiled kernels: %w", err)
	}
	d.mod, d.hasMod = mod, true
	return nil
}

// function returns the kernel of the module named name.
func (d *driver) function(name string) (kernelFn, error) { return d.mod.Function(name) }

// launch runs fn on the default stream; args are the kernel's parameters,
// one 8-byte slot each (gorgonia.org/cu copies 8 bytes per parameter, and
// the driver reads each parameter's own size from its slot).
func (d *driver) launch(fn kernelFn, gx, gy, bx, smem int, args []uint64) error {
	params := make([]unsafe.Pointer, len(args))
	for j := range args {
		params[j] = unsafe.Pointer(&args[j])
	}
	return fn.Launch(gx, gy, 1, bx, 1, 1, smem, cu.NoStream, params)
}

// kernelInfo returns a kernel's registers per thread, local memory per
// thread in bytes (register spills) and static shared memory in bytes.
func (d *driver) kernelInfo(fn kernelFn) (regs, local, shared int) {
	regs, _ = fn.Attribute(cu.NumRegs)
	local, _ = fn.Attribute(cu.LocalSizeBytes)
	shared, _ = fn.Attribute(cu.SharedSizeBytes)
	return regs, local, shared
}

// malloc allocates device memory.
func (d *driver) malloc(bytes int64) (uintptr, error) {
	ptr, err := cu.MemAlloc(bytes)
	return uintptr(ptr), err
}

// isOOM reports whether err is CUDA_ERROR_OUT_OF_MEMORY.
func (d *driver) isOOM(err error) bool { return errors.Is(err, cu.OutOfMemory) }

// free releases device memory.
func (d *driver) free(ptr uintptr) error { return cu.MemFree(cu.DevicePtr(ptr)) }

// memsetZero clears bytes bytes (in stream order).
func (d *driver) memsetZero(ptr uintptr, bytes int64) error {
	if bytes%4 == 0 && ptr%4 == 0 {
		return cu.MemsetD32(cu.DevicePtr(ptr), 0, bytes/4)
	}
	return cu.MemsetD8(cu.DevicePtr(ptr), 0, bytes)
}

// memset32 sets n 32-bit words to v.
func (d *driver) memset32(ptr uintptr, v uint32, n int64) error {
	return cu.MemsetD32(cu.DevicePtr(ptr), v, n)
}

// memset16 sets n 16-bit words to v.
func (d *driver) memset16(ptr uintptr, v uint16, n int64) error {
	return cu.MemsetD16(cu.DevicePtr(ptr), v, n)
}

// htod copies host memory to the device (after the queued work).
func (d *driver) htod(dst uintptr, src unsafe.Pointer, bytes int64) error {
	return cu.MemcpyHtoD(cu.DevicePtr(dst), src, bytes)
}

// dtoh copies device memory to the host, waiting for the queued work.
func (d *driver) dtoh(dst unsafe.Pointer, src uintptr, bytes int64) error {
	return cu.MemcpyDtoH(dst, cu.DevicePtr(src), bytes)
}

// dtod copies device memory to device memory (in stream order).
func (d *driver) dtod(dst, src uintptr, bytes int64) error {
	return cu.MemcpyDtoD(cu.DevicePtr(dst), cu.DevicePtr(src), bytes)
}

// sync waits for all queued work and returns its first error.
func (d *driver) sync() error { return cu.Synchronize() }

// newEvent creates a timing event.
func (d *driver) newEvent() (event, error) { return cu.MakeEvent(cu.DefaultEvent) }

// record queues the event on the default stream.
func (d *driver) record(e event) error { return e.Record(cu.NoStream) }

// elapsed waits for end and returns the milliseconds from start to end.
func (d *driver) elapsed(start, end event) (float64, error) {
	if err := end.Synchronize(); err != nil {
		return 0, err
	}
	return start.Elapsed(end)
}

// destroyEvent releases an event.
func (d *driver) destroyEvent(e event) { _ = cu.DestroyEvent(&e) }

// setTF32 chooses cuBLAS's math mode: FP32 (default) or TF32 tensor cores.
func (d *driver) setTF32(on bool) error { return d.blas.setTF32(on) }

// sgemm runs cuBLAS's column-major product (see cublasHandle.sgemm).
func (d *driver) sgemm(g colGemm) error { return d.blas.sgemm(g) }

// gemmBF16 runs the product with bfloat16 A and B (see cublasHandle.gemmBF16).
func (d *driver) gemmBF16(g colGemm) error { return d.blas.gemmBF16(g) }

// close releases the module, the cuBLAS handle and the context reference.
func (d *driver) close() error {
	var first error
	keep := func(err error) {
		if first == nil && err != nil {
			first = err
		}
	}
	if d.blas.ok() {
		keep(d.blas.destroy())
	}
	if d.hasMod {
		keep(d.mod.Unload())
		d.hasMod = false
	}
	if d.hasCtx {
		keep(d.dev.ReleasePrimaryCtx())
		d.hasCtx = false
	}
	return first
}
