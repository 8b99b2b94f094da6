// Package cpu is mambakit's default backend: pure Go, float32, using every
// core (goroutines over batch × channels, or over rows). Each kernel computes
// exactly the formula documented on core.Backend; core/conformance holds it
// to the float64 reference in core/ref.
//
// Symbols: B batch, D channels (d_inner), L length, N state size, K conv
// width, V vocabulary; δ (delta) the time step, A, B, C the SSM matrices.
package cpu

import (
	"math"
	"runtime"
	"sync"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// Backend is the CPU backend. The zero value is ready to use.
type Backend struct{}

// New returns the CPU backend.
func New() *Backend { return &Backend{} }

var _ core.Backend = (*Backend)(nil)

// Name implements core.Backend.
func (*Backend) Name() string { return "cpu" }

// Alloc implements core.Backend.
func (*Backend) Alloc(shape ...int) core.Tensor { return core.NewHost(shape...) }

// AllocBF16 implements core.Backend.
func (*Backend) AllocBF16(shape ...int) core.Tensor {
	return core.Tensor{Shape: append([]int(nil), shape...), Store: make(core.HostBF16, core.Numel(shape...))}
}

// Upload implements core.Backend; into a bfloat16 tensor it rounds to
// nearest even.
func (*Backend) Upload(dst core.Tensor, src []float32) {
	if dst.IsBF16() {
		h := dst.BF16()
		for i, v := range src {
			h[i] = tensorfile.Float32ToBF16(v)
		}
		return
	}
	copy(dst.Host(), src)
}

// Download implements core.Backend.
func (*Backend) Download(dst []float32, src core.Tensor) {
	if src.IsBF16() {
		widenBF16(dst, src.BF16())
		return
	}
	copy(dst, src.Host())
}

// widenBF16 sets dst[i] to the float32 value of the bfloat16 src[i].
func widenBF16(dst []float32, src []uint16) {
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

// f32 returns a tensor's elements as float32: the tensor's own memory, or
// for bfloat16 a widened copy in a pooled buffer (release it with putBuf
// when owned is true).
func f32(t core.Tensor) (v []float32, owned bool) {
	if !t.IsBF16() {
		return t.Host(), false
	}
	v = getBuf(t.Numel())
	h := t.BF16()
	parallelFor(len(h), 1<<16, func(lo, hi int) { widenBF16(v[lo:hi], h[lo:hi]) })
	return v, true
}

// Fill implements core.Backend.
func (*Backend) Fill(t core.Tensor, v float32) {
	h := t.Host()
	for i := range h {
		h[i] = v
	}
}

// Copy implements core.Backend, converting when one side is bfloat16.
func (*Backend) Copy(dst, src core.Tensor) {
	switch db, sb := dst.IsBF16(), src.IsBF16(); {
	case db && sb:
		copy(dst.BF16(), src.BF16())
	case !db && !sb:
		copy(dst.Host(), src.Host())
	case sb:
		d, h := dst.Host(), src.BF16()
		parallelFor(len(h), 1<<16, func(lo, hi int) { widenBF16(d[lo:hi], h[lo:hi]) })
	default:
		h, v := dst.BF16(), src.Host()
		parallelFor(len(v), 1<<16, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				h[i] = tensorfile.Float32ToBF16(v[i])
			}
		})
	}
}

// Flip implements core.Backend: reverses the innermost dimension.
func (*Backend) Flip(dst, src core.Tensor) {
	L := src.Shape[len(src.Shape)-1]
	d, s := dst.Host(), src.Host()
	parallelFor(len(s)/max(L, 1), 64, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			sr, dr := s[r*L:(r+1)*L], d[r*L:(r+1)*L]
			for t := range sr {
				dr[t] = sr[L-1-t]
			}
		}
	})
}

// Axpy implements core.Backend: y += alpha·x.
func (*Backend) Axpy(alpha float32, x, y core.Tensor) {
	xs, ys := x.Host(), y.Host()
	parallelFor(len(ys), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ys[i] += alpha * xs[i]
		}
	})
}

// parallelFor splits [0, n) into contiguous ranges of at least grain items
// and runs fn on them concurrently, one range per available core at most.
func parallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	if grain < 1 {
		grain = 1
	}
	if w := (n + grain - 1) / grain; w < workers {
		workers = w
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// parallelWorkers runs fn(w, lo, hi) like parallelFor but also passes the
// worker's index w in [0, workers), so that workers can own scratch buffers.
// It returns the number of workers it used.
func parallelWorkers(n int, fn func(w, lo, hi int)) int {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		fn(0, 0, n)
		return 1
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	w := 0
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			fn(w, lo, hi)
		}(w)
		w++
	}
	wg.Wait()
	return w
}

func exp32(x float32) float32 { return expf(x) }

func sigmoid32(x float32) float32 { return sigmoidf(x) }

func silu32(x float32) float32 { return x * sigmoidf(x) }

func siluGrad32(x float32) float32 {
	s := sigmoidf(x)
	return s * (1 + x*(1-s))
}

func softplus32(x float32) float32 { return softplusf(x) }

func softplusGrad32(x float32) float32 {
	if x > 20 {
		return 1
	}
	return sigmoidf(x)
}

// hostOrNil returns t's elements, or nil for an absent optional tensor.
func hostOrNil(t core.Tensor) []float32 {
	if t.IsNil() {
		return nil
	}
	return t.Host()
}
