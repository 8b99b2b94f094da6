package checkpoint

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mambakit/mambakit/core/tensorfile"
	"github.com/mambakit/mambakit/kernels/cpu"
)

const tiny = "../../testdata/mamba1-tiny"

type stored struct {
	shape []int
	v     []float32
}

// readAll returns the fixture's tensors by name.
func readAll(t *testing.T, path string) (map[string]stored, []string) {
	t.Helper()
	f, err := tensorfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]stored{}
	for _, n := range f.Names() {
		v, shape, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = stored{shape, v}
	}
	return out, f.Names()
}

// writeDir writes a checkpoint directory with the tiny fixture's config and
// the given tensors, and returns it.
func writeDir(t *testing.T, ts []tensorfile.Tensor) string {
	t.Helper()
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(tiny, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tensorfile.Write(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// variant rewrites the tiny fixture with edit applied to each tensor; edit
// returns false to drop a tensor.
func variant(t *testing.T, edit func(name string, s *stored) bool, extra ...tensorfile.Tensor) string {
	t.Helper()
	all, names := readAll(t, filepath.Join(tiny, "model.safetensors"))
	var ts []tensorfile.Tensor
	for _, n := range names {
		s := all[n]
		if edit != nil && !edit(n, &s) {
			continue
		}
		ts = append(ts, tensorfile.F32(n, s.shape, s.v))
	}
	return writeDir(t, append(ts, extra...))
}

func wantErr(t *testing.T, dir string, parts ...string) {
	t.Helper()
	_, _, err := Load(dir, cpu.New())
	t.Log(err)
	if err == nil {
		t.Fatalf("loaded without error; want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, src := range []string{tiny, "../../testdata/mamba1-bias-untied", "../../testdata/mamba1-original-tiny"} {
		m, info, err := Load(src, cpu.New())
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := Save(dir, m); err != nil {
			t.Fatal(err)
		}
		m2, info2, err := Load(dir, cpu.New())
		if err != nil {
			t.Fatal(err)
		}
		if info2.Layout != HF || m2.Cfg != m.Cfg {
			t.Errorf("%s (%s): reloaded config %+v, want %+v", src, info.Layout, m2.Cfg, m.Cfg)
		}
		a, b := m.P.List(), m2.P.List()
		if len(a) != len(b) {
			t.Fatalf("%s: %d tensors after the round trip, want %d", src, len(b), len(a))
		}
		for i := range a {
			x, y := m.Ops.ToHost(a[i].T), m2.Ops.ToHost(b[i].T)
			for j := range x {
				if x[j] != y[j] {
					t.Fatalf("%s: %s[%d] = %g after the round trip, want %g", src, a[i].Name, j, y[j], x[j])
				}
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 2 {
			t.Errorf("save left %d files, want config.json and model.safetensors", len(entries))
		}
	}
}

func TestOriginalLayout(t *testing.T) {
	m, info, err := Load("../../testdata/mamba1-original-tiny", cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	if info.Layout != Original || info.RawVocab != 61 || m.Cfg.Vocab != 64 || m.Cfg.DtRank != 2 || !m.Cfg.TieEmbeddings {
		t.Errorf("info %+v config %+v: want the state-spaces layout, vocabulary 61 padded to 64, dt_rank 2, tied", info, m.Cfg)
	}
}

func TestMissingTensor(t *testing.T) {
	dir := variant(t, func(n string, _ *stored) bool { return n != "backbone.layers.1.mixer.D" })
	wantErr(t, dir, `missing tensor "backbone.layers.1.mixer.D"`)
}

func TestExtraTensor(t *testing.T) {
	dir := variant(t, nil, tensorfile.F32("backbone.layers.2.mixer.D", []int{2}, []float32{1, 2}))
	wantErr(t, dir, "unexpected tensors", "backbone.layers.2.mixer.D")
}

func TestWrongShape(t *testing.T) {
	dir := variant(t, func(n string, s *stored) bool {
		if n == "backbone.layers.0.mixer.x_proj.weight" {
			s.shape = []int{s.shape[1], s.shape[0]}
		}
		return true
	})
	wantErr(t, dir, `"backbone.layers.0.mixer.x_proj.weight" has shape [64 20]`, "[20 64]")
}

func TestNonFinite(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		dir := variant(t, func(n string, s *stored) bool {
			if n == "backbone.layers.1.mixer.in_proj.weight" {
				s.v = append([]float32(nil), s.v...)
				s.v[3*32+5] = bad
			}
			return true
		})
		wantErr(t, dir, `"backbone.layers.1.mixer.in_proj.weight"`, "[3 5]")
	}
}

func TestIntegerDType(t *testing.T) {
	dir := variant(t, func(n string, _ *stored) bool { return n != "backbone.norm_f.weight" },
		tensorfile.I32("backbone.norm_f.weight", []int{32}, make([]int32, 32)))
	wantErr(t, dir, `"backbone.norm_f.weight" has dtype I32`)
}

func TestUnknownDType(t *testing.T) {
	dir := variant(t, nil)
	path := filepath.Join(dir, "model.safetensors")
	raw, _ := os.ReadFile(path)
	// Rename a dtype in the header to one no reader knows, same length.
	s := strings.Replace(string(raw), `"backbone.layers.0.mixer.D":{"dtype":"F32"`, `"backbone.layers.0.mixer.D":{"dtype":"F99"`, 1)
	if s == string(raw) {
		t.Fatal("could not find the tensor in the header")
	}
	os.WriteFile(path, []byte(s), 0o644)
	wantErr(t, dir, `"backbone.layers.0.mixer.D"`, "F99")
}

func TestTruncated(t *testing.T) {
	dir := variant(t, nil)
	path := filepath.Join(dir, "model.safetensors")
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, raw[:len(raw)-100], 0o644)
	wantErr(t, dir, "model.safetensors", "truncated", "tensor")
	os.WriteFile(path, raw[:5], 0o644)
	wantErr(t, dir, "model.safetensors", "not a safetensors file")
}

func TestBF16Weights(t *testing.T) {
	all, names := readAll(t, filepath.Join(tiny, "model.safetensors"))
	var ts []tensorfile.Tensor
	for _, n := range names {
		ts = append(ts, tensorfile.BF16(n, all[n].shape, all[n].v))
	}
	m, info, err := Load(writeDir(t, ts), cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	if info.DType != "BF16" {
		t.Errorf("dtype %q, want BF16", info.DType)
	}
	got := m.Ops.ToHost(m.P.Layers[0].D)
	want := all["backbone.layers.0.mixer.D"].v
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1.0/128*math.Abs(float64(want[i])) {
			t.Fatalf("D[%d] = %g from bfloat16, want about %g", i, got[i], want[i])
		}
	}
}

func TestSharded(t *testing.T) {
	all, names := readAll(t, filepath.Join(tiny, "model.safetensors"))
	dir := t.TempDir()
	cfg, _ := os.ReadFile(filepath.Join(tiny, "config.json"))
	os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
	shards := [][]tensorfile.Tensor{nil, nil}
	wm := map[string]string{}
	for i, n := range names {
		shards[i%2] = append(shards[i%2], tensorfile.F32(n, all[n].shape, all[n].v))
		wm[n] = []string{"a.safetensors", "b.safetensors"}[i%2]
	}
	tensorfile.Write(filepath.Join(dir, "a.safetensors"), shards[0], nil)
	tensorfile.Write(filepath.Join(dir, "b.safetensors"), shards[1], nil)
	idx, _ := json.Marshal(map[string]any{"weight_map": wm})
	os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644)
	if _, info, err := Load(dir, cpu.New()); err != nil || len(info.Files) != 2 {
		t.Fatalf("sharded load: %v (%v)", err, info)
	}
}

func TestCorruptPickle(t *testing.T) {
	src := "../../testdata/mamba1-original-tiny"
	raw, err := os.ReadFile(filepath.Join(src, "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(src, "config.json"))
	for _, cut := range []int{len(raw) / 2, len(raw) - 30, 10} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
		os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), raw[:cut], 0o644)
		wantErr(t, dir, "pytorch_model.bin")
	}
}

func TestBadConfig(t *testing.T) {
	cases := map[string]string{
		`{"hidden_size": 32,`:                          "config.json",
		`{"model_type": "mamba2", "hidden_size": 32}`:  "mamba2",
		`{"hidden_size": 0}`:                           "hidden_size",
		`{"hidden_size": 32, "time_step_rank": "big"}`: "time_step_rank",
		`{"d_model": 32, "n_layer": 2, "vocab_size": 61, "ssm_cfg": {"layer": "Mamba2"}}`: "Mamba1",
		`{"d_model": 32, "n_layer": 2, "vocab_size": 61, "rms_norm": false}`:              "LayerNorm",
		`{"d_model": 32, "n_layer": 2, "vocab_size": 61, "attn_layer_idx": [1]}`:          "attention",
		`{"d_model": 32, "n_layer": 2}`:                                                   "vocab_size",
	}
	for cfg, want := range cases {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)
		_, _, err := ReadConfig(dir)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %s: error %v, want one mentioning %q", cfg, err, want)
		}
	}
	if _, _, err := Load(t.TempDir(), cpu.New()); err == nil {
		t.Error("empty directory: no error")
	}
	dir := t.TempDir()
	cfg, _ := os.ReadFile(filepath.Join(tiny, "config.json"))
	os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
	wantErr(t, dir, "no weights")
}

func TestTiedHeadMustMatch(t *testing.T) {
	all, _ := readAll(t, filepath.Join(tiny, "model.safetensors"))
	emb := all["backbone.embeddings.weight"]
	same := variant(t, nil, tensorfile.F32("lm_head.weight", emb.shape, emb.v))
	if _, _, err := Load(same, cpu.New()); err != nil {
		t.Errorf("tied model with an identical lm_head.weight: %v", err)
	}
	diff := append([]float32(nil), emb.v...)
	diff[7]++
	wantErr(t, variant(t, nil, tensorfile.F32("lm_head.weight", emb.shape, diff)), "lm_head.weight", "differs")
}
