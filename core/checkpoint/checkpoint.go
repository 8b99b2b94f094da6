package checkpoint

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// source is a set of named tensors read from one or more weight files.
type source struct {
	names []string
	file  map[string]string // tensor → file path, for messages
	shape func(name string) ([]int, string, error)
	read  func(name string) ([]float32, error)
}

// Load reads the checkpoint in dir (either layout) into a new model on be.
func Load(dir string, be core.Backend) (*mamba.Model, *Info, error) {
	cfg, info, err := ReadConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	m, err := mamba.New(cfg, be)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	src, files, err := openWeights(dir)
	if err != nil {
		return nil, nil, err
	}
	info.Files = files
	if err := fill(m, src, info, nil); err != nil {
		return nil, nil, err
	}
	return m, info, nil
}

// openWeights finds and opens the weight files of dir.
func openWeights(dir string) (*source, []string, error) {
	try := func(name string) string {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	if p := try("model.safetensors"); p != "" {
		s, err := safetensorsSource([]string{p})
		return s, []string{p}, err
	}
	if p := try("model.safetensors.index.json"); p != "" {
		files, err := shardFiles(p)
		if err != nil {
			return nil, nil, err
		}
		s, err := safetensorsSource(files)
		return s, files, err
	}
	if p := try("pytorch_model.bin"); p != "" {
		s, err := pickleSource(p)
		return s, []string{p}, err
	}
	return nil, nil, fmt.Errorf("%s: no weights: expected model.safetensors, model.safetensors.index.json or pytorch_model.bin", dir)
}

func shardFiles(index string) ([]string, error) {
	raw, err := os.ReadFile(index)
	if err != nil {
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", index, err)
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range idx.WeightMap {
		if strings.Contains(f, "/") || strings.Contains(f, `\`) {
			return nil, fmt.Errorf("%s: shard name %q must be a plain file name", index, f)
		}
		if !seen[f] {
			seen[f] = true
			files = append(files, filepath.Join(filepath.Dir(index), f))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: weight_map is empty", index)
	}
	return files, nil
}

func safetensorsSource(paths []string) (*source, error) {
	byName := map[string]*tensorfile.File{}
	s := &source{file: map[string]string{}}
	for _, p := range paths {
		f, err := tensorfile.Open(p)
		if err != nil {
			return nil, err
		}
		for _, n := range f.Names() {
			if prev, dup := s.file[n]; dup {
				return nil, fmt.Errorf("tensor %q is in both %s and %s", n, prev, p)
			}
			byName[n] = f
			s.file[n] = p
			s.names = append(s.names, n)
		}
	}
	s.shape = func(n string) ([]int, string, error) { return byName[n].Shape(n) }
	s.read = func(n string) ([]float32, error) {
		v, _, err := byName[n].Float32(n)
		return v, err
	}
	return s, nil
}

// pickleSource reads a torch.save state dict (zip or legacy format) with
// github.com/nlpodyssey/gopickle.
func pickleSource(path string) (s *source, err error) {
	defer func() { // the unpickler is not hardened against every corrupt input
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%s: corrupt pickle: %v", path, r)
		}
	}()
	if head, rerr := readHead(path, 4); rerr == nil && string(head) == "PK\x03\x04" {
		// torch.save's zip format: let archive/zip report a cut or damaged
		// archive before the unpickler, which would fall back to the legacy
		// format and say something obscure.
		z, zerr := zip.OpenReader(path)
		if zerr != nil {
			return nil, fmt.Errorf("%s: truncated or corrupt torch zip archive: %w", path, zerr)
		}
		z.Close()
	}
	obj, err := pytorch.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable torch.save state dict: %w", path, err)
	}
	tensors := map[string]*pytorch.Tensor{}
	var order []string
	add := func(k, v any) error {
		name, ok := k.(string)
		if !ok {
			return fmt.Errorf("%s: state dict key %v is not a string", path, k)
		}
		t, ok := v.(*pytorch.Tensor)
		if !ok {
			return fmt.Errorf("%s: entry %q is a %T, not a tensor", path, name, v)
		}
		tensors[name] = t
		order = append(order, name)
		return nil
	}
	switch d := obj.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			if err := add(entry.Key, entry.Value); err != nil {
				return nil, err
			}
		}
	case *types.Dict:
		for _, entry := range *d {
			if err := add(entry.Key, entry.Value); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("%s: holds a %T, not a state dict", path, obj)
	}
	s = &source{names: order, file: map[string]string{}}
	for _, n := range order {
		s.file[n] = path
	}
	s.shape = func(n string) ([]int, string, error) {
		t := tensors[n]
		return append([]int(nil), t.Size...), storageDType(t.Source), nil
	}
	s.read = func(n string) ([]float32, error) { return pickleTensor(path, n, tensors[n]) }
	return s, nil
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	_, err = io.ReadFull(f, b)
	return b, err
}

func storageDType(st pytorch.StorageInterface) string {
	switch st.(type) {
	case *pytorch.FloatStorage:
		return "F32"
	case *pytorch.HalfStorage:
		return "F16"
	case *pytorch.BFloat16Storage:
		return "BF16"
	case *pytorch.DoubleStorage:
		return "F64"
	}
	return fmt.Sprintf("%T", st)
}

// pickleTensor gathers a (possibly strided) torch tensor as dense float32.
func pickleTensor(path, name string, t *pytorch.Tensor) ([]float32, error) {
	var at func(i int) float32
	var size int
	switch st := t.Source.(type) {
	case *pytorch.FloatStorage:
		at, size = func(i int) float32 { return st.Data[i] }, len(st.Data)
	case *pytorch.HalfStorage:
		at, size = func(i int) float32 { return st.Data[i] }, len(st.Data)
	case *pytorch.BFloat16Storage:
		at, size = func(i int) float32 { return st.Data[i] }, len(st.Data)
	case *pytorch.DoubleStorage:
		at, size = func(i int) float32 { return float32(st.Data[i]) }, len(st.Data)
	default:
		return nil, fmt.Errorf("%s: tensor %q has storage %T, want a floating-point dtype (F16, BF16, F32, F64)", path, name, t.Source)
	}
	if len(t.Stride) != len(t.Size) {
		return nil, fmt.Errorf("%s: tensor %q has %d strides for %d dimensions", path, name, len(t.Stride), len(t.Size))
	}
	n := core.Numel(t.Size...)
	out := make([]float32, n)
	idx := make([]int, len(t.Size))
	for i := 0; i < n; i++ {
		off := t.StorageOffset
		for d, v := range idx {
			off += v * t.Stride[d]
		}
		if off < 0 || off >= size {
			return nil, fmt.Errorf("%s: tensor %q reads element %d of a storage of %d (truncated?)", path, name, off, size)
		}
		out[i] = at(off)
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < t.Size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// sourceName maps a Hugging Face parameter name to the name in the file.
func sourceName(hf string, layout Layout) string {
	if layout == Original {
		return strings.Replace(hf, "backbone.embeddings.", "backbone.embedding.", 1)
	}
	return hf
}

// checkFinite returns an error naming the first NaN or Inf.
func checkFinite(file, name string, v []float32, shape []int) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			pos := make([]int, len(shape))
			r := i
			for d := len(shape) - 1; d >= 0; d-- {
				pos[d] = r % shape[d]
				r /= shape[d]
			}
			return fmt.Errorf("%s: tensor %q holds %v at index %v", file, name, x, pos)
		}
	}
	return nil
}

// fill copies every parameter of m from src, checking names, shapes,
// dtypes and values. Tensors named in others belong to the caller (a task
// head) and are not reported as unexpected.
func fill(m *mamba.Model, src *source, info *Info, others map[string]bool) error {
	params := m.P.List()
	want := map[string]bool{}
	var errs []error
	for _, p := range params {
		name := sourceName(p.Name, info.Layout)
		want[name] = true
		file, ok := src.file[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: missing tensor %q (shape %v)", strings.Join(info.Files, ", "), name, p.HFShape))
			continue
		}
		shape, dtype, err := src.shape(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if info.DType == "" && strings.HasPrefix(p.Name, "backbone.embeddings") {
			info.DType = dtype
		}
		if !core.SameShape(shape, p.HFShape) {
			errs = append(errs, fmt.Errorf("%s: tensor %q has shape %v, the config implies %v", file, name, shape, p.HFShape))
			continue
		}
		v, err := src.read(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := checkFinite(file, name, v, shape); err != nil {
			errs = append(errs, err)
			continue
		}
		m.Ops.Upload(p.T, v)
	}
	var extra []string
	for _, n := range src.names {
		if want[n] || others[n] {
			continue
		}
		if n == "lm_head.weight" && m.Cfg.TieEmbeddings {
			if err := sameAsEmbedding(m, src, n); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		extra = append(extra, n)
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		errs = append(errs, fmt.Errorf("%s: unexpected tensors, not part of the Mamba-1 model that config.json describes: %q",
			strings.Join(info.Files, ", "), extra))
	}
	return errors.Join(errs...)
}

// sameAsEmbedding accepts a stored lm_head.weight in a tied model only when it
// equals the embedding, as mamba_ssm's state dicts store it.
func sameAsEmbedding(m *mamba.Model, src *source, name string) error {
	file := src.file[name]
	shape, _, err := src.shape(name)
	if err != nil {
		return err
	}
	if !core.SameShape(shape, m.P.Embed.Shape) {
		return fmt.Errorf("%s: tensor %q has shape %v but the config ties it to the embedding %v", file, name, shape, m.P.Embed.Shape)
	}
	v, err := src.read(name)
	if err != nil {
		return err
	}
	emb := m.Ops.ToHost(m.P.Embed)
	for i := range v {
		if v[i] != emb[i] && !(v[i] != v[i] && emb[i] != emb[i]) {
			return fmt.Errorf("%s: tensor %q differs from the embedding but the config ties them (tie_word_embeddings/tie_embeddings)", file, name)
		}
	}
	return nil
}

// Save writes m to dir as a Hugging Face checkpoint: config.json and
// model.safetensors (float32), each written atomically (temporary file,
// sync, rename). dir is created if needed.
func Save(dir string, m *mamba.Model) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []tensorfile.Tensor
	for _, p := range m.P.List() {
		ts = append(ts, tensorfile.F32(p.Name, p.HFShape, m.Ops.ToHost(p.T)))
	}
	if err := tensorfile.Write(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	return tensorfile.WriteAtomic(filepath.Join(dir, "config.json"), func(f *os.File) error {
		_, err := f.Write(ConfigJSON(m.Cfg))
		return err
	})
}

// LoadWeights reads the weights of the checkpoint in dir into m, whose
// configuration must match the checkpoint's.
func LoadWeights(dir string, m *mamba.Model) error {
	cfg, info, err := ReadConfig(dir)
	if err != nil {
		return err
	}
	if shapeOf(cfg) != shapeOf(m.Cfg) {
		return fmt.Errorf("%s: the checkpoint's model %+v differs from this one's %+v", dir, shapeOf(cfg), shapeOf(m.Cfg))
	}
	src, files, err := openWeights(dir)
	if err != nil {
		return err
	}
	info.Files = files
	return fill(m, src, info, nil)
}

type modelShape struct {
	DModel, NLayer, Vocab, DState, DConv, DInner, DtRank int
	UseBias, UseConvBias, Tied, Bidirectional            bool
	Eps                                                  float64
}

func shapeOf(c mamba.Config) modelShape {
	return modelShape{c.DModel, c.NLayer, c.Vocab, c.DState, c.DConv, c.DInner, c.DtRank, c.UseBias, c.UseConvBias,
		c.TieEmbeddings, c.Bidirectional, c.Eps}
}
