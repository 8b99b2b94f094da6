package core

import "fmt"

// Storage is a flat run of float32 elements owned by a backend. The CPU
// backend and all host-side code use HostStorage; a device backend supplies
// its own implementation and only it may look inside.
type Storage interface {
	// Len is the number of float32 elements.
	Len() int
}

// HostStorage is Storage in ordinary Go memory.
type HostStorage []float32

// Len implements Storage.
func (h HostStorage) Len() int { return len(h) }

// BF16Storage is implemented by storage that holds bfloat16 values (the
// upper 16 bits of a float32) rather than float32. Only weights read by
// Gemm (as A or B) and Embedding tables may be bfloat16; everything else is
// float32.
type BF16Storage interface {
	Storage
	IsBF16()
}

// HostBF16 is bfloat16 storage in Go memory.
type HostBF16 []uint16

// Len implements Storage.
func (h HostBF16) Len() int { return len(h) }

// IsBF16 implements BF16Storage.
func (HostBF16) IsBF16() {}

// Tensor is a dense, row-major float32 view of Numel() elements of a Storage,
// starting at element Off. Views never carry strides: slicing is only along
// the outermost dimension, so every Tensor is contiguous.
type Tensor struct {
	Shape []int   // outermost first
	Store Storage // backing memory
	Off   int     // first element in Store
}

// Numel is the product of the shape (1 for a scalar with an empty shape).
func Numel(shape ...int) int {
	n := 1
	for _, s := range shape {
		if s < 0 {
			panic(fmt.Sprintf("core: negative dimension in shape %v", shape))
		}
		n *= s
	}
	return n
}

// FromHost wraps a Go slice as a tensor of the given shape. It panics if the
// lengths disagree.
func FromHost(data []float32, shape ...int) Tensor {
	if Numel(shape...) != len(data) {
		panic(fmt.Sprintf("core: FromHost: shape %v needs %d elements, have %d", shape, Numel(shape...), len(data)))
	}
	return Tensor{Shape: append([]int(nil), shape...), Store: HostStorage(data)}
}

// NewHost allocates a zeroed host tensor.
func NewHost(shape ...int) Tensor {
	return FromHost(make([]float32, Numel(shape...)), shape...)
}

// Numel is the number of elements the tensor views.
func (t Tensor) Numel() int { return Numel(t.Shape...) }

// IsNil reports whether the tensor has no storage (an absent optional input).
func (t Tensor) IsNil() bool { return t.Store == nil }

// IsBF16 reports whether the tensor's elements are stored as bfloat16.
func (t Tensor) IsBF16() bool {
	_, ok := t.Store.(BF16Storage)
	return ok
}

// BF16 returns the elements of a host bfloat16 tensor, sharing its memory.
func (t Tensor) BF16() []uint16 {
	h, ok := t.Store.(HostBF16)
	if !ok {
		panic(fmt.Sprintf("core: tensor of shape %v is not host bfloat16 (%T)", t.Shape, t.Store))
	}
	return h[t.Off : t.Off+t.Numel() : t.Off+t.Numel()]
}

// Dim returns dimension i; negative i counts from the end.
func (t Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// Host returns the tensor's elements as a Go slice sharing its memory. It
// panics if the tensor does not live in host memory.
func (t Tensor) Host() []float32 {
	h, ok := t.Store.(HostStorage)
	if !ok {
		panic(fmt.Sprintf("core: tensor of shape %v is not in host memory (%T)", t.Shape, t.Store))
	}
	return h[t.Off : t.Off+t.Numel() : t.Off+t.Numel()]
}

// Reshape returns a view with a new shape of the same element count.
func (t Tensor) Reshape(shape ...int) Tensor {
	if Numel(shape...) != t.Numel() {
		panic(fmt.Sprintf("core: cannot reshape %v to %v", t.Shape, shape))
	}
	return Tensor{Shape: append([]int(nil), shape...), Store: t.Store, Off: t.Off}
}

// Slice returns rows [lo, hi) of the outermost dimension.
func (t Tensor) Slice(lo, hi int) Tensor {
	if len(t.Shape) == 0 || lo < 0 || hi < lo || hi > t.Shape[0] {
		panic(fmt.Sprintf("core: slice [%d:%d] of shape %v", lo, hi, t.Shape))
	}
	inner := Numel(t.Shape[1:]...)
	shape := append([]int{hi - lo}, t.Shape[1:]...)
	return Tensor{Shape: shape, Store: t.Store, Off: t.Off + lo*inner}
}

// Index returns row i of the outermost dimension, with that dimension dropped.
func (t Tensor) Index(i int) Tensor {
	s := t.Slice(i, i+1)
	s.Shape = s.Shape[1:]
	return s
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// String describes the tensor briefly.
func (t Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }
