//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// Storage is float32 device memory: Len() elements from the device address
// DevicePtr(). A tensor on it starts at DevicePtr() + 4·Tensor.Off. The
// memory returns to the backend's allocator when the storage becomes
// unreachable.
type Storage struct {
	ptr uintptr
	n   int
}

// Len implements core.Storage.
func (s *Storage) Len() int { return s.n }

// DevicePtr is the device address of element 0. It stays valid only while
// the storage is reachable (use runtime.KeepAlive).
func (s *Storage) DevicePtr() uintptr { return s.ptr }

// BF16Storage is bfloat16 device memory (2 bytes per element); it implements
// core.BF16Storage. A tensor on it starts at DevicePtr() + 2·Tensor.Off.
type BF16Storage struct {
	ptr uintptr
	n   int
}

// Len implements core.Storage.
func (s *BF16Storage) Len() int { return s.n }

// IsBF16 implements core.BF16Storage.
func (*BF16Storage) IsBF16() {}

// DevicePtr is the device address of element 0 (see Storage.DevicePtr).
func (s *BF16Storage) DevicePtr() uintptr { return s.ptr }

// ptr returns the device address of a float32 tensor's first element, or 0
// for an absent (nil) tensor.
func (be *Backend) ptr(t core.Tensor) uintptr {
	switch s := t.Store.(type) {
	case nil:
		return 0
	case *Storage:
		return s.ptr + uintptr(t.Off)*4
	case *BF16Storage:
		panic(fmt.Sprintf("cuda: tensor %v is bfloat16 where float32 is required", t))
	default:
		panic(fmt.Sprintf("cuda: tensor %v is in %T, not in CUDA memory: allocate it with the cuda backend", t, t.Store))
	}
}

// ptrSeq returns the device address of a float32 or bfloat16 tensor's first
// element (0 for the zero Tensor): a scan's sequence tensors, whose type the
// kernel choice follows (core.ScanArgs).
func (be *Backend) ptrSeq(t core.Tensor) uintptr {
	if _, ok := t.Store.(*BF16Storage); ok {
		return be.ptrBF16(t)
	}
	return be.ptr(t)
}

// ptrBF16 returns the device address of a bfloat16 tensor's first element.
func (be *Backend) ptrBF16(t core.Tensor) uintptr {
	s, ok := t.Store.(*BF16Storage)
	if !ok {
		panic(fmt.Sprintf("cuda: tensor %v is in %T, not CUDA bfloat16 memory", t, t.Store))
	}
	return s.ptr + uintptr(t.Off)*2
}

// block is one allocation of the driver, of a size class's bytes.
type block struct {
	ptr   uintptr
	class int64
}

// allocator is a caching allocator over cuMemAlloc. Blocks are kept per size
// class; a block freed (explicitly, or by the cleanup of an unreachable
// storage) goes back to its class's list and is handed out again. All work
// runs on one stream, so a block can be reused while kernels that used it
// are still queued: they run before anything queued later.
//
// Storages' cleanups run on a goroutine of the runtime: they only append to
// pending, under pmu; pending blocks join the free lists at the next public
// Alloc, when no method can still be using their address.
type allocator struct {
	free     map[int64][]uintptr // size class → free blocks (under the backend's lock)
	reserved int64               // bytes held from the driver, in use or free
	sinceGC  int64               // bytes obtained from the driver since the last collection
	gcEvery  int64               // run the garbage collector after this many new bytes

	pmu     sync.Mutex
	pending []block
}

func (a *allocator) init(total int64) {
	a.free = map[int64][]uintptr{}
	a.gcEvery = max(total/4, 1<<30)
}

// sizeClass rounds a request up to its class: a multiple of 512 bytes, and
// of an eighth of the next power of two for large requests (≤ 12.5% waste).
func sizeClass(bytes int64) int64 {
	if bytes <= 512 {
		return 512
	}
	step := max(int64(1)<<bits.Len64(uint64(bytes-1))/8, 512)
	return (bytes + step - 1) / step * step
}

// release is the cleanup of an unreachable storage (any goroutine).
func (a *allocator) release(b block) {
	a.pmu.Lock()
	a.pending = append(a.pending, b)
	a.pmu.Unlock()
}

// drain moves the pending blocks to the free lists.
func (a *allocator) drain() int {
	a.pmu.Lock()
	p := a.pending
	a.pending = nil
	a.pmu.Unlock()
	for _, b := range p {
		a.free[b.class] = append(a.free[b.class], b.ptr)
	}
	return len(p)
}

// take returns a free block of the class, if any.
func (a *allocator) take(class int64) (uintptr, bool) {
	l := a.free[class]
	if len(l) == 0 {
		return 0, false
	}
	ptr := l[len(l)-1]
	a.free[class] = l[:len(l)-1]
	return ptr, true
}

// put returns a block to its free list (for the backend's own temporaries).
func (a *allocator) put(b block) {
	if b.class > 0 {
		a.free[b.class] = append(a.free[b.class], b.ptr)
	}
}

// collect runs the garbage collector so that the cleanups of unreachable
// storages run; with wait it waits (briefly) for them and drains them.
func (a *allocator) collect(wait bool) {
	a.sinceGC = 0
	runtime.GC()
	if !wait {
		return
	}
	// Cleanups run on their own goroutine after the collection: wait until
	// no new block has arrived for a few milliseconds (at most ~0.5 s).
	last, quiet := -1, 0
	for tries := 0; tries < 500 && quiet < 5; tries++ {
		a.pmu.Lock()
		n := len(a.pending)
		a.pmu.Unlock()
		if n == last {
			quiet++
		} else {
			quiet, last = 0, n
		}
		time.Sleep(time.Millisecond)
	}
	a.drain()
}

// releaseCache returns every free block to the driver (after the queued work
// finishes).
func (a *allocator) releaseCache(drv *driver) {
	_ = drv.sync()
	for class, l := range a.free {
		for _, ptr := range l {
			_ = drv.free(ptr)
			a.reserved -= class
		}
	}
	clear(a.free)
}

// alloc returns a block of at least bytes bytes (not cleared). public says
// that the caller is Alloc/AllocBF16, which may take the pending blocks.
func (a *allocator) alloc(drv *driver, bytes int64, public bool) block {
	class := sizeClass(bytes)
	if public {
		a.drain()
	}
	if ptr, ok := a.take(class); ok {
		return block{ptr, class}
	}
	if public && a.sinceGC >= a.gcEvery {
		a.collect(false) // the cleanups will have run by a later Alloc
	}
	for attempt := 0; ; attempt++ {
		ptr, err := drv.malloc(class)
		if err == nil {
			a.reserved += class
			a.sinceGC += class
			return block{ptr, class}
		}
		if !drv.isOOM(err) || attempt == 2 {
			panic(fmt.Sprintf("cuda: allocating %d bytes (%d held by mambakit): %v", class, a.reserved, err))
		}
		if attempt == 0 {
			a.releaseCache(drv) // free blocks of other classes
		} else {
			a.collect(true) // unreachable storages
			if ptr, ok := a.take(class); ok {
				return block{ptr, class}
			}
			a.releaseCache(drv)
		}
	}
}

// temp returns scratch device memory of n elements of size bytes each, for
// use within one method; give it back with done.
func (be *Backend) temp(n int, size int) block {
	if n <= 0 {
		return block{}
	}
	return be.mem.alloc(be.drv, int64(n)*int64(size), false)
}

// done returns a temporary block to the allocator. Later work reuses it only
// after the kernels queued before, which may still read it.
func (be *Backend) done(b block) { be.mem.put(b) }

// newStorage allocates n zeroed elements of size bytes each.
func (be *Backend) newStorage(n, size int) block {
	if n == 0 {
		return block{}
	}
	blk := be.mem.alloc(be.drv, int64(n)*int64(size), true)
	check("clearing new memory", be.drv.memsetZero(blk.ptr, int64(n)*int64(size)))
	return blk
}

// Alloc implements core.Backend: zero-filled float32 device memory.
func (be *Backend) Alloc(shape ...int) core.Tensor {
	n := core.Numel(shape...)
	be.lock()
	defer be.unlock()
	blk := be.newStorage(n, 4)
	st := &Storage{ptr: blk.ptr, n: n}
	if blk.class > 0 {
		runtime.AddCleanup(st, be.mem.release, blk)
	}
	return core.Tensor{Shape: append([]int(nil), shape...), Store: st}
}

// AllocBF16 implements core.Backend: zero-filled bfloat16 device memory.
func (be *Backend) AllocBF16(shape ...int) core.Tensor {
	n := core.Numel(shape...)
	be.lock()
	defer be.unlock()
	blk := be.newStorage(n, 2)
	st := &BF16Storage{ptr: blk.ptr, n: n}
	if blk.class > 0 {
		runtime.AddCleanup(st, be.mem.release, blk)
	}
	return core.Tensor{Shape: append([]int(nil), shape...), Store: st}
}

// Upload implements core.Backend; into a bfloat16 tensor it rounds to the
// nearest bfloat16 (ties to even) on the host.
func (be *Backend) Upload(dst core.Tensor, src []float32) {
	if len(src) == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	if dst.IsBF16() {
		h := make([]uint16, len(src))
		for j, v := range src {
			h[j] = tensorfile.Float32ToBF16(v)
		}
		check("Upload", be.drv.htod(be.ptrBF16(dst), unsafe.Pointer(&h[0]), int64(len(h))*2))
		return
	}
	check("Upload", be.drv.htod(be.ptr(dst), unsafe.Pointer(&src[0]), int64(len(src))*4))
}

// Download implements core.Backend. It waits for the queued work.
func (be *Backend) Download(dst []float32, src core.Tensor) {
	if len(dst) == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	if src.IsBF16() {
		h := make([]uint16, len(dst))
		check("Download", be.drv.dtoh(unsafe.Pointer(&h[0]), be.ptrBF16(src), int64(len(h))*2))
		for j, v := range h {
			dst[j] = math.Float32frombits(uint32(v) << 16)
		}
		return
	}
	check("Download", be.drv.dtoh(unsafe.Pointer(&dst[0]), be.ptr(src), int64(len(dst))*4))
}

// Fill implements core.Backend (a 32-bit memset of v's bits).
func (be *Backend) Fill(t core.Tensor, v float32) {
	n := t.Numel()
	if n == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	if t.IsBF16() {
		check("Fill", be.drv.memset16(be.ptrBF16(t), tensorfile.Float32ToBF16(v), int64(n)))
		return
	}
	check("Fill", be.drv.memset32(be.ptr(t), math.Float32bits(v), int64(n)))
}

// Copy implements core.Backend: dst = src, converting when one of them is
// bfloat16.
func (be *Backend) Copy(dst, src core.Tensor) {
	n := src.Numel()
	if n == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	switch db, sb := dst.IsBF16(), src.IsBF16(); {
	case db && sb:
		check("Copy", be.drv.dtod(be.ptrBF16(dst), be.ptrBF16(src), int64(n)*2))
	case !db && !sb:
		check("Copy", be.drv.dtod(be.ptr(dst), be.ptr(src), int64(n)*4))
	case sb:
		be.launch(be.k.widenBF16, be.blocksFor(int64(n), 256), 1, 256, 0, p(be.ptr(dst)), p(be.ptrBF16(src)), i(n))
	default:
		be.launch(be.k.roundBF16, be.blocksFor(int64(n), 256), 1, 256, 0, p(be.ptrBF16(dst)), p(be.ptr(src)), i(n))
	}
}

// Axpy implements core.Backend: y += alpha·x.
func (be *Backend) Axpy(alpha float32, x, y core.Tensor) {
	n := y.Numel()
	if n == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	be.launch(be.k.axpy, be.blocksFor(int64(n), 256), 1, 256, 0, f(alpha), p(be.ptr(x)), p(be.ptr(y)), i(n))
}

// Flip implements core.Backend: dst[..., t] = src[..., L−1−t].
func (be *Backend) Flip(dst, src core.Tensor) {
	n := src.Numel()
	L := src.Shape[len(src.Shape)-1]
	if n == 0 || L == 0 {
		return
	}
	be.lock()
	defer be.unlock()
	be.launch(be.k.flip, be.blocksFor(int64(n), 256), 1, 256, 0, p(be.ptr(dst)), p(be.ptr(src)), i(n), i(L))
}
