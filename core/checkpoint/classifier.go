package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// A classifier checkpoint is a Hugging Face model directory whose
// config.json adds num_labels, id2label, label2id and classifier_pooling to
// the MambaConfig fields, and whose model.safetensors adds classifier.weight
// (C, d_model) and classifier.bias (C) to the backbone's tensors.

type classifierConfig struct {
	NumLabels int               `json:"num_labels"`
	ID2Label  map[string]string `json:"id2label"`
	Pooling   string            `json:"classifier_pooling"`
}

// IsClassifier reports whether dir holds a classifier checkpoint.
func IsClassifier(dir string) bool {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return false
	}
	var c classifierConfig
	return json.Unmarshal(raw, &c) == nil && c.NumLabels > 0
}

// SaveClassifier writes c to dir: config.json and model.safetensors, each
// atomically.
func SaveClassifier(dir string, c *mamba.Classifier) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []tensorfile.Tensor
	for _, p := range c.List() {
		ts = append(ts, tensorfile.F32(p.Name, p.HFShape, c.M.Ops.ToHost(p.T)))
	}
	if err := tensorfile.Write(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	var cfg map[string]any
	json.Unmarshal(ConfigJSON(c.M.Cfg), &cfg)
	id2label, label2id := map[string]string{}, map[string]int{}
	for i, l := range c.Labels {
		id2label[strconv.Itoa(i)] = l
		label2id[l] = i
	}
	cfg["architectures"] = []string{"MambaForSequenceClassification"}
	cfg["num_labels"] = len(c.Labels)
	cfg["id2label"] = id2label
	cfg["label2id"] = label2id
	cfg["classifier_pooling"] = string(c.Pool)
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return tensorfile.WriteAtomic(filepath.Join(dir, "config.json"), func(f *os.File) error {
		_, err := f.Write(append(b, '\n'))
		return err
	})
}

// LoadClassifier reads a classifier checkpoint from dir onto be.
func LoadClassifier(dir string, be core.Backend) (*mamba.Classifier, *Info, error) {
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var cc classifierConfig
	if err := json.Unmarshal(raw, &cc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if cc.NumLabels < 2 || len(cc.ID2Label) != cc.NumLabels {
		return nil, nil, fmt.Errorf("%s: not a classifier (num_labels %d, %d id2label entries)", path, cc.NumLabels, len(cc.ID2Label))
	}
	labels := make([]string, cc.NumLabels)
	keys := make([]string, 0, len(cc.ID2Label))
	for k := range cc.ID2Label {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= cc.NumLabels || labels[i] != "" {
			return nil, nil, fmt.Errorf("%s: bad id2label key %q", path, k)
		}
		labels[i] = cc.ID2Label[k]
	}
	cfg, info, err := ReadConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	m, err := mamba.New(cfg, be)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	src, files, err := openWeights(dir)
	if err != nil {
		return nil, nil, err
	}
	info.Files = files
	head := map[string]bool{"classifier.weight": true, "classifier.bias": true}
	if err := fill(m, src, info, head); err != nil {
		return nil, nil, err
	}
	c := &mamba.Classifier{M: m, W: be.Alloc(cc.NumLabels, cfg.DModel), Bias: be.Alloc(cc.NumLabels),
		Pool: mamba.Pooling(cc.Pooling), Labels: labels}
	for name, t := range map[string]core.Tensor{"classifier.weight": c.W, "classifier.bias": c.Bias} {
		file, ok := src.file[name]
		if !ok {
			return nil, nil, fmt.Errorf("%s: missing tensor %q", dir, name)
		}
		shape, _, err := src.shape(name)
		if err != nil {
			return nil, nil, err
		}
		if !core.SameShape(shape, t.Shape) {
			return nil, nil, fmt.Errorf("%s: tensor %q has shape %v, want %v", file, name, shape, t.Shape)
		}
		v, err := src.read(name)
		if err != nil {
			return nil, nil, err
		}
		if err := checkFinite(file, name, v, shape); err != nil {
			return nil, nil, err
		}
		c.M.Ops.Upload(t, v)
	}
	switch c.Pool {
	case mamba.PoolMean, mamba.PoolLast, mamba.PoolFirst:
	default:
		return nil, nil, fmt.Errorf("%s: classifier_pooling %q: mean, last or first", path, cc.Pooling)
	}
	return c, info, nil
}
