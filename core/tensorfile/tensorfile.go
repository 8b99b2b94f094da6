// Package tensorfile reads and writes safetensors files
// (github.com/nlpodyssey/safetensors does the parsing and serialising) with
// conversions between the stored dtypes and the float32/float64/int64 slices
// the rest of mambakit uses. Every error names the file and, where there is
// one, the tensor.
package tensorfile

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	st "github.com/nlpodyssey/safetensors"
)

// File is a safetensors file read into memory.
type File struct {
	Path string
	st   st.SafeTensors
}

// Open reads and validates the safetensors file at path.
func Open(path string) (*File, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, buf)
}

// Parse validates buf as the contents of a safetensors file; path is used in
// error messages only.
func Parse(path string, buf []byte) (*File, error) {
	s, err := st.Deserialize(buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", path, diagnose(buf, err))
	}
	return &File{Path: path, st: s}, nil
}

// diagnose turns the parser's error into one that says which tensor is
// affected when the header can be read.
func diagnose(buf []byte, err error) string {
	if len(buf) < 8 {
		return fmt.Sprintf("not a safetensors file: %d bytes, shorter than the 8-byte header length", len(buf))
	}
	n := binary.LittleEndian.Uint64(buf[:8])
	if n > uint64(len(buf)-8) {
		return fmt.Sprintf("truncated or not a safetensors file: header of %d bytes announced, file has %d", n, len(buf))
	}
	var hdr map[string]json.RawMessage
	if json.Unmarshal(buf[8:8+n], &hdr) != nil {
		return err.Error()
	}
	data := uint64(len(buf)) - 8 - n
	type info struct {
		Offsets [2]uint64 `json:"data_offsets"`
	}
	var worst string
	var end uint64
	for name, raw := range hdr {
		var i info
		if name == "__metadata__" || json.Unmarshal(raw, &i) != nil {
			continue
		}
		if i.Offsets[1] > data && i.Offsets[1] > end {
			worst, end = name, i.Offsets[1]
		}
	}
	if worst != "" {
		return fmt.Sprintf("truncated: tensor %q ends at data byte %d but the file holds %d data bytes", worst, end, data)
	}
	return err.Error()
}

// Names lists the tensors in the order they are stored.
func (f *File) Names() []string {
	names := f.st.Names()
	return names
}

// Has reports whether the file holds a tensor called name.
func (f *File) Has(name string) bool {
	_, ok := f.st.Tensor(name)
	return ok
}

// Shape returns a tensor's shape and dtype name.
func (f *File) Shape(name string) ([]int, string, error) {
	v, ok := f.st.Tensor(name)
	if !ok {
		return nil, "", fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	return ints(v.Shape()), v.DType().String(), nil
}

func ints(s []uint64) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = int(v)
	}
	return out
}

// Float64 returns a floating-point tensor (F16, BF16, F32 or F64) converted to float64.
func (f *File) Float64(name string) ([]float64, []int, error) {
	v, ok := f.st.Tensor(name)
	if !ok {
		return nil, nil, fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	b := v.Data()
	shape := ints(v.Shape())
	var out []float64
	switch v.DType() {
	case st.F64:
		out = make([]float64, len(b)/8)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case st.F32:
		out = make([]float64, len(b)/4)
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case st.BF16:
		out = make([]float64, len(b)/2)
		for i := range out {
			out[i] = float64(BF16ToFloat32(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case st.F16:
		out = make([]float64, len(b)/2)
		for i := range out {
			out[i] = float64(F16ToFloat32(binary.LittleEndian.Uint16(b[2*i:])))
		}
	default:
		return nil, nil, fmt.Errorf("%s: tensor %q has dtype %s, want a floating-point dtype (F16, BF16, F32, F64)", f.Path, name, v.DType())
	}
	return out, shape, nil
}

// Float32 returns a floating-point tensor converted to float32.
func (f *File) Float32(name string) ([]float32, []int, error) {
	v, ok := f.st.Tensor(name)
	if !ok {
		return nil, nil, fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	if v.DType() == st.F32 {
		b := v.Data()
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, ints(v.Shape()), nil
	}
	d, shape, err := f.Float64(name)
	if err != nil {
		return nil, nil, err
	}
	out := make([]float32, len(d))
	for i, x := range d {
		out[i] = float32(x)
	}
	return out, shape, nil
}

// Int64 returns an integer tensor (I64, I32, I16, I8, U8, U16, U32) as int64.
func (f *File) Int64(name string) ([]int64, []int, error) {
	v, ok := f.st.Tensor(name)
	if !ok {
		return nil, nil, fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	b := v.Data()
	shape := ints(v.Shape())
	var out []int64
	switch v.DType() {
	case st.I64:
		out = make([]int64, len(b)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case st.I32:
		out = make([]int64, len(b)/4)
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case st.U32:
		out = make([]int64, len(b)/4)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case st.I16:
		out = make([]int64, len(b)/2)
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case st.U16:
		out = make([]int64, len(b)/2)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case st.I8:
		out = make([]int64, len(b))
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case st.U8:
		out = make([]int64, len(b))
		for i := range out {
			out[i] = int64(b[i])
		}
	default:
		return nil, nil, fmt.Errorf("%s: tensor %q has dtype %s, want an integer dtype", f.Path, name, v.DType())
	}
	return out, shape, nil
}

// BF16ToFloat32 widens a bfloat16 bit pattern.
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBF16 rounds to the nearest bfloat16 (ties to even), keeping NaN a NaN.
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if f != f {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// F16ToFloat32 widens an IEEE half-precision bit pattern.
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: man·2^-24
		v := float32(man) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// Tensor is one tensor to write.
type Tensor struct {
	Name  string
	dtype st.DType
	shape []uint64
	data  []byte
}

func (t Tensor) DType() st.DType { return t.dtype }
func (t Tensor) Shape() []uint64 { return t.shape }
func (t Tensor) Data() []byte    { return t.data }
func (t Tensor) DataLen() uint64 { return uint64(len(t.data)) }

func u64(shape []int, n int) []uint64 {
	out := make([]uint64, len(shape))
	p := 1
	for i, s := range shape {
		out[i] = uint64(s)
		p *= s
	}
	if p != n {
		panic(fmt.Sprintf("tensorfile: shape %v does not hold %d values", shape, n))
	}
	return out
}

// F32 makes a float32 tensor.
func F32(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, dtype: st.F32, shape: u64(shape, len(v)), data: b}
}

// BF16 makes a bfloat16 tensor from float32 values (rounded to nearest even).
func BF16(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], Float32ToBF16(x))
	}
	return Tensor{Name: name, dtype: st.BF16, shape: u64(shape, len(v)), data: b}
}

// F64 makes a float64 tensor.
func F64(name string, shape []int, v []float64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return Tensor{Name: name, dtype: st.F64, shape: u64(shape, len(v)), data: b}
}

// I64 makes an int64 tensor.
func I64(name string, shape []int, v []int64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Tensor{Name: name, dtype: st.I64, shape: u64(shape, len(v)), data: b}
}

// I32 makes an int32 tensor.
func I32(name string, shape []int, v []int32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return Tensor{Name: name, dtype: st.I32, shape: u64(shape, len(v)), data: b}
}

// Write writes tensors to path atomically: into a temporary file in the same
// folder, synced, then renamed over path. A crash leaves either the old file
// or the new one, never a partial one.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	m := make(map[string]Tensor, len(tensors))
	for _, t := range tensors {
		if _, dup := m[t.Name]; dup {
			return fmt.Errorf("%s: tensor %q given twice", path, t.Name)
		}
		m[t.Name] = t
	}
	return WriteAtomic(path, func(f *os.File) error {
		return st.SerializeToWriter(m, metadata, f)
	})
}

// WriteAtomic creates path by calling fill on a temporary file in the same
// folder, syncing it and renaming it over path.
func WriteAtomic(path string, fill func(*os.File) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = fill(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
