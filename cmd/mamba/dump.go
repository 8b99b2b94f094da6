package main

import (
	"fmt"
	"io"
	"math"

	"github.com/mambakit/mambakit/core/checkpoint"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/tensorfile"
)

const dumpSynopsis = `dump --model DIR --tokens FILE --out FILE [--recurrent]

Runs the model on the token ids in tensor input_ids ((B, L), int64 or int32) of
the safetensors FILE and writes a safetensors file with
  logits           (B, L, V) float32
  loss             (1)  mean next-token cross-entropy of logits[:, :-1] against input_ids[:, 1:]
  hidden_states.i  (B, L, d_model) the residual stream after block i, for i < n_layer,
                   and hidden_states.<n_layer> the output of the final norm
  grad.<name>      d loss / d parameter for every parameter, under its Hugging Face name
With --recurrent the logits come from feeding the tokens one at a time through
the recurrent Step (no hidden states, no gradients).`

func runDump(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dump", dumpSynopsis, stdout)
	model := fs.String("model", "", "checkpoint directory (Hugging Face or state-spaces layout)")
	tokens := fs.String("tokens", "", "safetensors file holding input_ids (B, L)")
	out := fs.String("out", "", "safetensors file to write")
	recurrent := fs.Bool("recurrent", false, "compute logits through the recurrent Step, one token at a time")
	device := deviceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", "tokens", "out"); err != nil {
		return err
	}
	be, err := device.open()
	if err != nil {
		return err
	}
	m, _, err := checkpoint.Load(*model, be)
	if err != nil {
		return err
	}
	ids, B, L, err := readTokens(*tokens)
	if err != nil {
		return err
	}
	if err := m.CheckIDs(ids); err != nil {
		return fmt.Errorf("%s: input_ids: %w", *tokens, err)
	}
	var ts []tensorfile.Tensor
	if *recurrent {
		ts, err = dumpRecurrent(m, ids, B, L)
	} else {
		ts, err = dumpFull(m, ids, B, L)
	}
	if err != nil {
		return err
	}
	return tensorfile.Write(*out, ts, map[string]string{"format": "pt", "producer": "mambakit"})
}

// readTokens reads input_ids (B, L) from a safetensors file.
func readTokens(path string) ([]int32, int, int, error) {
	f, err := tensorfile.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	shape, dtype, err := f.Shape("input_ids")
	if err != nil {
		return nil, 0, 0, err
	}
	if dtype != "I64" && dtype != "I32" {
		return nil, 0, 0, fmt.Errorf("%s: input_ids has dtype %s, want I64 or I32", path, dtype)
	}
	if len(shape) != 2 || shape[0] < 1 || shape[1] < 1 {
		return nil, 0, 0, fmt.Errorf("%s: input_ids has shape %v, want (B, L) with B, L ≥ 1", path, shape)
	}
	raw, _, err := f.Int64("input_ids")
	if err != nil {
		return nil, 0, 0, err
	}
	ids := make([]int32, len(raw))
	for i, v := range raw {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, 0, 0, fmt.Errorf("%s: input_ids[%d, %d] = %d is out of range", path, i/shape[1], i%shape[1], v)
		}
		ids[i] = int32(v)
	}
	return ids, shape[0], shape[1], nil
}

func dumpFull(m *mamba.Model, ids []int32, B, L int) ([]tensorfile.Tensor, error) {
	pass, err := m.Forward(ids, B, L, mamba.ForwardOptions{Train: true, Hidden: true})
	if err != nil {
		return nil, err
	}
	V := m.Cfg.Vocab
	ts := []tensorfile.Tensor{tensorfile.F32("logits", []int{B, L, V}, m.Ops.ToHost(pass.Logits))}
	for i, h := range pass.Hidden {
		ts = append(ts, tensorfile.F32(fmt.Sprintf("hidden_states.%d", i), []int{B, L, m.Cfg.DModel}, m.Ops.ToHost(h)))
	}
	targets := mamba.NextTokenTargets(ids, B, L)
	loss, _ := m.Loss(pass, targets)
	ts = append(ts, tensorfile.F32("loss", []int{1}, []float32{float32(loss)}))
	grads := mamba.NewParams(m.Cfg, m.Ops.Backend)
	m.Backward(pass, targets, grads)
	for _, p := range grads.List() {
		ts = append(ts, tensorfile.F32("grad."+p.Name, p.HFShape, m.Ops.ToHost(p.T)))
	}
	return ts, nil
}

func dumpRecurrent(m *mamba.Model, ids []int32, B, L int) ([]tensorfile.Tensor, error) {
	V := m.Cfg.Vocab
	logits := make([]float32, B*L*V)
	s := m.NewState(B)
	col := make([]int32, B)
	for t := 0; t < L; t++ {
		for b := 0; b < B; b++ {
			col[b] = ids[b*L+t]
		}
		lt, err := m.Step(s, col)
		if err != nil {
			return nil, err
		}
		h := m.Ops.ToHost(lt)
		for b := 0; b < B; b++ {
			copy(logits[(b*L+t)*V:(b*L+t+1)*V], h[b*V:(b+1)*V])
		}
	}
	lt := m.Ops.Alloc(B*L, V)
	m.Ops.Upload(lt, logits)
	loss, _ := m.MeanCrossEntropy(lt, mamba.NextTokenTargets(ids, B, L))
	return []tensorfile.Tensor{
		tensorfile.F32("logits", []int{B, L, V}, logits),
		tensorfile.F32("loss", []int{1}, []float32{float32(loss)}),
	}, nil
}
