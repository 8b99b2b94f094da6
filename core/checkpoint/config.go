// Package checkpoint reads and writes Mamba-1 checkpoints: Hugging Face
// directories (config.json with MambaConfig fields + model.safetensors,
// possibly sharded, or pytorch_model.bin) and the original
// state-spaces/mamba layout (config.json with d_model, n_layer, ssm_cfg and a
// vocabulary padded to pad_vocab_size_multiple, + pytorch_model.bin). Every
// error names the file and, where there is one, the tensor; nothing panics
// on bad input.
package checkpoint

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/mambakit/mambakit/core/mamba"
)

// Layout names a checkpoint layout.
type Layout string

const (
	HF       Layout = "huggingface"
	Original Layout = "state-spaces"
)

// Info describes what was read.
type Info struct {
	Dir      string
	Layout   Layout
	Files    []string // weight files read
	DType    string   // stored dtype of the weights (of the embedding)
	RawVocab int      // original layout: vocab_size before padding
}

// hfConfig is transformers' MambaConfig as config.json stores it. Pointers
// distinguish absent fields, which take MambaConfig's defaults.
type hfConfig struct {
	ModelType              string          `json:"model_type"`
	HiddenSize             *int            `json:"hidden_size"`
	NumHiddenLayers        *int            `json:"num_hidden_layers"`
	VocabSize              *int            `json:"vocab_size"`
	StateSize              *int            `json:"state_size"`
	ConvKernel             *int            `json:"conv_kernel"`
	Expand                 *int            `json:"expand"`
	IntermediateSize       *int            `json:"intermediate_size"`
	TimeStepRank           json.RawMessage `json:"time_step_rank"`
	UseBias                *bool           `json:"use_bias"`
	UseConvBias            *bool           `json:"use_conv_bias"`
	LayerNormEpsilon       *float64        `json:"layer_norm_epsilon"`
	TieWordEmbeddings      *bool           `json:"tie_word_embeddings"`
	HiddenAct              *string         `json:"hidden_act"`
	TimeStepMin            *float64        `json:"time_step_min"`
	TimeStepMax            *float64        `json:"time_step_max"`
	TimeStepFloor          *float64        `json:"time_step_floor"`
	TimeStepScale          *float64        `json:"time_step_scale"`
	InitializerRange       *float64        `json:"initializer_range"`
	RescalePrenormResidual *bool           `json:"rescale_prenorm_residual"`
	Bidirectional          *bool           `json:"bidirectional"`
	BOSTokenID             *int            `json:"bos_token_id"`
	EOSTokenID             *int            `json:"eos_token_id"`
	PadTokenID             *int            `json:"pad_token_id"`
}

// originalConfig is mamba_ssm's MambaConfig as its config.json stores it.
type originalConfig struct {
	DModel               *int           `json:"d_model"`
	DIntermediate        int            `json:"d_intermediate"`
	NLayer               *int           `json:"n_layer"`
	VocabSize            *int           `json:"vocab_size"`
	SSMCfg               map[string]any `json:"ssm_cfg"`
	AttnLayerIdx         []int          `json:"attn_layer_idx"`
	RMSNorm              *bool          `json:"rms_norm"`
	NormEpsilon          *float64       `json:"norm_epsilon"`
	PadVocabSizeMultiple *int           `json:"pad_vocab_size_multiple"`
	TieEmbeddings        *bool          `json:"tie_embeddings"`
}

func intOr(p *int, d int) int {
	if p != nil {
		return *p
	}
	return d
}

func floatOr(p *float64, d float64) float64 {
	if p != nil {
		return *p
	}
	return d
}

func boolOr(p *bool, d bool) bool {
	if p != nil {
		return *p
	}
	return d
}

// ReadConfig reads dir/config.json in either layout.
func ReadConfig(dir string) (mamba.Config, *Info, error) {
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return mamba.Config{}, nil, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return mamba.Config{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	var cfg mamba.Config
	info := &Info{Dir: dir}
	if _, ok := probe["d_model"]; ok {
		info.Layout = Original
		cfg, info.RawVocab, err = parseOriginal(raw)
	} else {
		info.Layout = HF
		cfg, err = parseHF(raw)
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return mamba.Config{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, info, nil
}

func parseHF(raw []byte) (mamba.Config, error) {
	var h hfConfig
	if err := json.Unmarshal(raw, &h); err != nil {
		return mamba.Config{}, err
	}
	if h.ModelType != "" && h.ModelType != "mamba" {
		return mamba.Config{}, fmt.Errorf("model_type %q is not supported (only Mamba-1, \"mamba\")", h.ModelType)
	}
	if h.HiddenAct != nil && *h.HiddenAct != "silu" {
		return mamba.Config{}, fmt.Errorf("hidden_act %q is not supported (only \"silu\")", *h.HiddenAct)
	}
	c := mamba.Config{
		DModel: intOr(h.HiddenSize, 768), NLayer: intOr(h.NumHiddenLayers, 32), Vocab: intOr(h.VocabSize, 50280),
		DState: intOr(h.StateSize, 16), DConv: intOr(h.ConvKernel, 4), Expand: intOr(h.Expand, 2),
		UseBias: boolOr(h.UseBias, false), UseConvBias: boolOr(h.UseConvBias, true),
		Eps: floatOr(h.LayerNormEpsilon, 1e-5), TieEmbeddings: boolOr(h.TieWordEmbeddings, true),
		DtMin: floatOr(h.TimeStepMin, 0.001), DtMax: floatOr(h.TimeStepMax, 0.1),
		DtInitFloor: floatOr(h.TimeStepFloor, 1e-4), DtScale: floatOr(h.TimeStepScale, 1),
		InitializerRange: floatOr(h.InitializerRange, 0.1), RescalePrenormResidual: boolOr(h.RescalePrenormResidual, false),
		BOSTokenID: intOr(h.BOSTokenID, 0), EOSTokenID: intOr(h.EOSTokenID, 0), PadTokenID: intOr(h.PadTokenID, 0),
		Bidirectional: boolOr(h.Bidirectional, false),
	}
	c.DInner = intOr(h.IntermediateSize, c.Expand*c.DModel)
	r, err := rank(h.TimeStepRank, c.DModel)
	if err != nil {
		return c, fmt.Errorf("time_step_rank: %w", err)
	}
	c.DtRank = r
	return c, nil
}

// rank decodes a dt_rank that is an integer or "auto" (ceil(d_model/16)).
func rank(raw json.RawMessage, dModel int) (int, error) {
	auto := int(math.Ceil(float64(dModel) / 16))
	if len(raw) == 0 || string(raw) == "null" {
		return auto, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "auto" {
			return auto, nil
		}
		return 0, fmt.Errorf("%q is neither an integer nor \"auto\"", s)
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("%s is neither an integer nor \"auto\"", raw)
	}
	return n, nil
}

func parseOriginal(raw []byte) (mamba.Config, int, error) {
	var o originalConfig
	if err := json.Unmarshal(raw, &o); err != nil {
		return mamba.Config{}, 0, err
	}
	if o.DModel == nil || o.NLayer == nil || o.VocabSize == nil {
		return mamba.Config{}, 0, fmt.Errorf("d_model, n_layer and vocab_size are required")
	}
	if o.DIntermediate != 0 {
		return mamba.Config{}, 0, fmt.Errorf("d_intermediate = %d: MLP blocks are not supported", o.DIntermediate)
	}
	if len(o.AttnLayerIdx) > 0 {
		return mamba.Config{}, 0, fmt.Errorf("attn_layer_idx %v: attention layers are not supported", o.AttnLayerIdx)
	}
	if !boolOr(o.RMSNorm, true) {
		return mamba.Config{}, 0, fmt.Errorf("rms_norm = false: LayerNorm models are not supported")
	}
	ssm := o.SSMCfg
	num := func(key string, d float64) (float64, error) {
		v, ok := ssm[key]
		if !ok {
			return d, nil
		}
		f, ok := v.(float64)
		if !ok {
			return 0, fmt.Errorf("ssm_cfg.%s = %v is not a number", key, v)
		}
		return f, nil
	}
	flag := func(key string, d bool) (bool, error) {
		v, ok := ssm[key]
		if !ok {
			return d, nil
		}
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("ssm_cfg.%s = %v is not a boolean", key, v)
		}
		return b, nil
	}
	if l, ok := ssm["layer"]; ok && l != "Mamba1" {
		return mamba.Config{}, 0, fmt.Errorf("ssm_cfg.layer = %v: only Mamba1 is supported", l)
	}
	c := mamba.Config{DModel: *o.DModel, NLayer: *o.NLayer, Eps: floatOr(o.NormEpsilon, 1e-5),
		TieEmbeddings: boolOr(o.TieEmbeddings, true), InitializerRange: 0.02, RescalePrenormResidual: true}
	var errs []error
	get := func(dst *int, key string, d float64) {
		f, err := num(key, d)
		errs = append(errs, err)
		*dst = int(f)
	}
	getF := func(dst *float64, key string, d float64) {
		f, err := num(key, d)
		errs = append(errs, err)
		*dst = f
	}
	get(&c.DState, "d_state", 16)
	get(&c.DConv, "d_conv", 4)
	get(&c.Expand, "expand", 2)
	getF(&c.DtMin, "dt_min", 0.001)
	getF(&c.DtMax, "dt_max", 0.1)
	getF(&c.DtInitFloor, "dt_init_floor", 1e-4)
	getF(&c.DtScale, "dt_scale", 1)
	var err error
	c.UseConvBias, err = flag("conv_bias", true)
	errs = append(errs, err)
	c.UseBias, err = flag("bias", false)
	errs = append(errs, err)
	for _, e := range errs {
		if e != nil {
			return c, 0, e
		}
	}
	c.DInner = c.Expand * c.DModel
	rr, _ := json.Marshal(ssm["dt_rank"])
	if ssm["dt_rank"] == nil {
		rr = nil
	}
	if c.DtRank, err = rank(rr, c.DModel); err != nil {
		return c, 0, fmt.Errorf("ssm_cfg.dt_rank: %w", err)
	}
	rawVocab := *o.VocabSize
	c.Vocab = rawVocab
	if pad := intOr(o.PadVocabSizeMultiple, 8); pad > 1 && c.Vocab%pad != 0 {
		c.Vocab += pad - c.Vocab%pad
	}
	return c, rawVocab, nil
}

// ConfigJSON renders cfg as a Hugging Face config.json (MambaConfig fields).
func ConfigJSON(cfg mamba.Config) []byte {
	m := map[string]any{
		"architectures": []string{"MambaForCausalLM"}, "model_type": "mamba",
		"hidden_size": cfg.DModel, "num_hidden_layers": cfg.NLayer, "vocab_size": cfg.Vocab,
		"state_size": cfg.DState, "conv_kernel": cfg.DConv, "expand": cfg.Expand,
		"intermediate_size": cfg.DInner, "time_step_rank": cfg.DtRank,
		"use_bias": cfg.UseBias, "use_conv_bias": cfg.UseConvBias, "layer_norm_epsilon": cfg.Eps,
		"tie_word_embeddings": cfg.TieEmbeddings, "hidden_act": "silu", "residual_in_fp32": true,
		"time_step_min": cfg.DtMin, "time_step_max": cfg.DtMax, "time_step_floor": cfg.DtInitFloor,
		"time_step_scale": cfg.DtScale, "time_step_init_scheme": "random",
		"initializer_range": cfg.InitializerRange, "rescale_prenorm_residual": cfg.RescalePrenormResidual,
		"bos_token_id": cfg.BOSTokenID, "eos_token_id": cfg.EOSTokenID, "pad_token_id": cfg.PadTokenID,
		"use_cache": true, "dtype": "float32",
	}
	if cfg.Bidirectional {
		m["bidirectional"] = true // mambakit's BiMamba (Caduceus-style, in/out projections tied)
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}
