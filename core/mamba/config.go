package mamba

import (
	"fmt"
	"math"
)

// Config is the shape of a Mamba-1 language model. Field comments give the
// Hugging Face MambaConfig name and the paper's symbol.
type Config struct {
	DModel        int     // hidden_size
	NLayer        int     // num_hidden_layers
	Vocab         int     // vocab_size: rows of the embedding (V)
	DState        int     // state_size (N)
	DConv         int     // conv_kernel (K)
	Expand        int     // expand
	DInner        int     // intermediate_size, expand·d_model (D)
	DtRank        int     // time_step_rank (R)
	UseBias       bool    // use_bias: biases on in_proj and out_proj
	UseConvBias   bool    // use_conv_bias
	Eps           float64 // layer_norm_epsilon of every RMSNorm
	TieEmbeddings bool    // tie_word_embeddings: the LM head is the embedding
	Bidirectional bool    // bidirectional: BiMamba blocks (Caduceus), a reverse mixer per block

	// Initialisation (used when a model is created rather than loaded).
	DtMin, DtMax, DtInitFloor, DtScale float64 // time_step_min, time_step_max, time_step_floor, time_step_scale
	InitializerRange                   float64 // initializer_range (std of the embedding)
	RescalePrenormResidual             bool    // rescale_prenorm_residual: out_proj scaled by 1/sqrt(n_layer)

	// Token ids carried through to config.json.
	BOSTokenID, EOSTokenID, PadTokenID int
}

// DefaultConfig returns a config with mamba_ssm's and transformers' defaults
// for the given size; d_inner and dt_rank are derived.
func DefaultConfig(dModel, nLayer, vocab int) Config {
	c := Config{
		DModel: dModel, NLayer: nLayer, Vocab: vocab,
		DState: 16, DConv: 4, Expand: 2, UseConvBias: true, Eps: 1e-5, TieEmbeddings: true,
		DtMin: 0.001, DtMax: 0.1, DtInitFloor: 1e-4, DtScale: 1, InitializerRange: 0.02,
		RescalePrenormResidual: true,
	}
	c.Derive()
	return c
}

// Derive fills DInner = Expand·DModel and DtRank = ceil(DModel/16) where they
// are zero, as mamba_ssm's "auto" does.
func (c *Config) Derive() {
	if c.DInner == 0 {
		c.DInner = c.Expand * c.DModel
	}
	if c.DtRank == 0 {
		c.DtRank = int(math.Ceil(float64(c.DModel) / 16))
	}
}

// Validate reports the first impossible field.
func (c Config) Validate() error {
	pos := []struct {
		name string
		v    int
	}{{"hidden_size", c.DModel}, {"num_hidden_layers", c.NLayer}, {"vocab_size", c.Vocab},
		{"state_size", c.DState}, {"conv_kernel", c.DConv}, {"intermediate_size", c.DInner}, {"time_step_rank", c.DtRank}}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("config: %s = %d, must be positive", p.name, p.v)
		}
	}
	if !(c.Eps > 0) {
		return fmt.Errorf("config: layer_norm_epsilon = %g, must be positive", c.Eps)
	}
	return nil
}

// ParamCount is the number of distinct parameters (the tied head counted once).
func (c Config) ParamCount() int {
	D, N, R, dm := c.DInner, c.DState, c.DtRank, c.DModel
	mixer := D*c.DConv + (R+2*N)*D + D*R + D + D*N + D
	if c.UseConvBias {
		mixer += D
	}
	layer := dm + 2*D*dm + mixer + dm*D
	if c.Bidirectional {
		layer += mixer
	}
	if c.UseBias {
		layer += 2*D + dm
	}
	n := c.Vocab*dm + c.NLayer*layer + dm
	if !c.TieEmbeddings {
		n += c.Vocab * dm
	}
	return n
}
