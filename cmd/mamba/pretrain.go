package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/optim"
	"github.com/mambakit/mambakit/pipelines/train"
)

const pretrainSynopsis = `pretrain [--modality text] [--data PATH,...] [--size small] [--steps N] [--out DIR] [--resume] ...

Trains a Mamba model from scratch by next-token prediction (or, with
--objective masked, by masked-token prediction, as Caduceus pretrains its
bidirectional models: --bidirectional needs it) and writes, in
--out: checkpoint-<step>/ folders (Hugging Face config.json + model.safetensors,
optimizer state, tokenizer), metrics.jsonl (every step), loss.png, and for
text heldout.txt (the held-out text). Ctrl-C saves a checkpoint and stops;
--resume continues the newest complete checkpoint exactly.

With no --data, text trains on Moby-Dick, embedded in the binary.`

// sizes are the model presets of pretrain: d_model and layers.
var sizes = map[string][2]int{
	"tiny":   {64, 2},
	"small":  {128, 4},
	"base":   {256, 6},
	"medium": {384, 8},
	"large":  {512, 12},
}

// prepared is what a modality hands the training loop.
type prepared struct {
	data    train.Data
	vocab   int
	unit    string                 // what a target stands for
	units   func(id int32) float64 // nil: 1 per token
	extra   map[string][]byte      // files for every checkpoint
	sample  func(m *mamba.Model, w io.Writer) error
	summary string // what the data is
	// masking is the modality's mask token and the ids it may mask (nil:
	// no masked-token training); pretrain sets its rate and seed.
	masking *train.Masking
}

// modalityOptions are the flags a modality reads.
type modalityOptions struct {
	data      []string
	field     string
	tokenizer string
	valFrac   float64
	seed      uint64
	seqLen    int
	out       string
	bed       string // DNA: train on these intervals of the FASTA
	rcAugment bool   // DNA: reverse-complement augmentation
	task      string // DNA: "species" trains on that task's training strains
	rate      int    // audio: sample rate
	stderr    io.Writer
}

// modalities prepare their data for pretrain; each modality adds itself.
var modalities = map[string]func(o modalityOptions) (*prepared, error){
	"text":  prepareText,
	"dna":   prepareDNA,
	"audio": prepareAudio,
}

func runPretrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("pretrain", pretrainSynopsis, stdout)
	modality := fs.String("modality", "text", "what to model: text, dna or audio")
	bed := fs.String("bed", "", "dna: BED intervals of the --data FASTA to train on")
	rcAug := fs.Bool("rc-augment", false, "dna: train on the reverse complement of half the windows")
	task := fs.String("task", "", "dna: species trains on the training strains of classify's species task only (every strain but each species' held-out one), from --data (the genomes' root folder) or the fetched ragout genomes")
	rate := fs.Int("rate", 16000, "audio: sample rate the recordings are resampled to")
	data := fs.String("data", "", "comma-separated files or folders (text: .txt/.md/.jsonl; default: embedded Moby-Dick)")
	field := fs.String("text-field", "text", "JSONL field holding the text")
	tokenizer := fs.String("tokenizer", "byte", "text tokenizer: byte, or a Hugging Face tokenizer.json")
	size := fs.String("size", "small", "model size preset: tiny (64×2), small (128×4), base (256×6), medium (384×8), large (512×12)")
	dModel := fs.Int("d-model", 0, "override the preset's d_model")
	nLayer := fs.Int("n-layer", 0, "override the preset's number of layers")
	dState := fs.Int("d-state", 16, "SSM state size N")
	steps := fs.Int("steps", 600, "optimizer steps")
	batch := fs.Int("batch", 16, "sequences per micro-batch")
	seqLen := fs.Int("seq-len", 256, "sequence length (tokens)")
	accum := fs.Int("accum", 1, "micro-batches accumulated per step")
	seqWarm := fs.Int("seq-warmup", 0, "sequence-length warm-up: start at this length and double up to --seq-len (0: off)")
	seqWarmSteps := fs.Int("seq-warmup-steps", 0, "steps over which the warm-up reaches --seq-len (default: a third of --steps)")
	lr := fs.Float64("lr", 3e-3, "peak learning rate")
	minLR := fs.Float64("min-lr", 0, "final learning rate (default: lr/10)")
	warmup := fs.Int("warmup", 0, "learning-rate warm-up steps (default: steps/10, at most 1000)")
	wd := fs.Float64("weight-decay", 0.1, "AdamW weight decay (matrices and embeddings only)")
	clip := fs.Float64("clip", 1, "gradient-norm clipping (0: off)")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, the data split and the batches")
	valFrac := fs.Float64("val-frac", 0.05, "fraction of the data held out for validation")
	out := fs.String("out", "runs/pretrain", "output folder")
	resume := fs.Bool("resume", false, "continue the newest complete checkpoint in --out")
	saveEvery := fs.Int("save-every", 200, "steps between checkpoints")
	evalEvery := fs.Int("eval-every", 200, "steps between validations")
	evalSeqs := fs.Int("eval-seqs", 64, "held-out sequences per validation")
	keep := fs.Int("keep", 2, "checkpoints to keep")
	timeLimit := fs.Duration("time-limit", 0, "stop (and save) after this long, e.g. 15m")
	objective := fs.String("objective", "next", "next (next-token prediction) or masked (masked-token prediction: dna)")
	maskRate := fs.Float64("mask-rate", 0.15, "masked: fraction of the positions predicted (80 % of them shown as the mask token, 10 % as a random token, 10 % unchanged)")
	bidir := fs.Bool("bidirectional", false, "BiMamba blocks (Caduceus): every block reads the sequence both ways; needs --objective masked")
	device := deviceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch *objective {
	case "next":
		if *bidir {
			return usagef("pretrain: --bidirectional reads every sequence both ways, so it cannot learn next-token prediction: add --objective masked")
		}
		maskRateSet := false
		fs.Visit(func(f *flag.Flag) { maskRateSet = maskRateSet || f.Name == "mask-rate" })
		if maskRateSet {
			return usagef("pretrain: --mask-rate is for --objective masked")
		}
	case "masked":
		if !(*maskRate > 0 && *maskRate < 1) {
			return usagef("pretrain: --mask-rate %g must be in (0, 1)", *maskRate)
		}
	default:
		return usagef("pretrain: --objective %q: next or masked", *objective)
	}
	setup, ok := modalities[*modality]
	if !ok {
		return usagef("pretrain: --modality %q: not available (have %s)", *modality, strings.Join(sortedKeys(modalities), ", "))
	}
	if *task != "" && *modality != "dna" {
		return usagef("pretrain: --task is for --modality dna")
	}
	sz, ok := sizes[*size]
	if !ok {
		return usagef("pretrain: --size %q: tiny, small, base, medium or large", *size)
	}
	if *dModel > 0 {
		sz[0] = *dModel
	}
	if *nLayer > 0 {
		sz[1] = *nLayer
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"steps", *steps}, {"batch", *batch}, {"seq-len", *seqLen}, {"accum", *accum}, {"d-state", *dState}, {"keep", *keep}} {
		if c.v < 1 {
			return usagef("pretrain: --%s %d must be at least 1", c.name, c.v)
		}
	}
	if !(*valFrac > 0 && *valFrac < 1) {
		return usagef("pretrain: --val-frac %g must be in (0, 1)", *valFrac)
	}
	be, err := device.open()
	if err != nil {
		return err
	}
	var paths []string
	if *data != "" {
		paths = strings.Split(*data, ",")
	}
	fmt.Fprintf(stderr, "preparing %s data…\n", *modality)
	prep, err := setup(modalityOptions{data: paths, field: *field, tokenizer: *tokenizer, valFrac: *valFrac,
		seed: *seed, seqLen: *seqLen, out: *out, bed: *bed, rcAugment: *rcAug, task: *task, rate: *rate, stderr: stderr})
	if err != nil {
		return err
	}
	tdata, unit, tcObjective := prep.data, prep.unit, ""
	if *objective == "masked" {
		if prep.masking == nil {
			return usagef("pretrain: --objective masked: the %s tokens have no mask token", *modality)
		}
		mk := *prep.masking
		mk.Rate, mk.Seed = *maskRate, *seed
		tdata, unit, tcObjective = train.Masked(prep.data, mk), "masked "+prep.unit, mk.Objective()
	}
	cfg := mamba.DefaultConfig(sz[0], sz[1], prep.vocab)
	cfg.DState = *dState
	cfg.Bidirectional = *bidir
	m, err := mamba.New(cfg, be)
	if err != nil {
		return err
	}
	m.P.Init(m.Cfg, be, rand.New(rand.NewPCG(*seed, 0x1417)))
	oc := optim.DefaultConfig(*lr, *steps)
	if *minLR > 0 {
		oc.MinLR = *minLR
	}
	if *warmup > 0 {
		oc.WarmupSteps = *warmup
	}
	oc.WeightDecay, oc.ClipNorm = *wd, *clip
	tc := train.Config{Batch: *batch, SeqLen: *seqLen, Accum: *accum, SeqWarmupStart: *seqWarm,
		SeqWarmupSteps: *seqWarmSteps, Seed: *seed, Optim: oc, Objective: tcObjective, Steps: *steps, EvalEvery: *evalEvery,
		EvalSeqs: *evalSeqs, SaveEvery: *saveEvery, Keep: *keep, TimeLimit: *timeLimit, OutDir: *out,
		Resume: *resume, Unit: unit, Units: prep.units, Extra: prep.extra, Out: stderr}
	if tc.SeqWarmupStart > 0 && tc.SeqWarmupSteps == 0 {
		tc.SeqWarmupSteps = max(1, *steps/3)
	}
	fmt.Fprintf(stderr, "%s\nmodel: d_model %d, %d layers, d_state %d, vocab %d, bidirectional %v: %.2fM parameters; objective %s\n",
		prep.summary, cfg.DModel, cfg.NLayer, cfg.DState, cfg.Vocab, cfg.Bidirectional, float64(cfg.ParamCount())/1e6, *objective)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := train.Run(ctx, m, tdata, tc)
	if errors.Is(err, train.ErrInterrupted) {
		fmt.Fprintf(stderr, "stopped at step %d; checkpoint %s; continue with the same command and --resume\n", res.Steps, res.Checkpoint)
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained %d steps, %d tokens in %s (%.0f tokens/s this run)\n", res.Steps, res.Tokens,
		time.Duration(res.Seconds*float64(time.Second)).Round(time.Second), res.TokensPerSec)
	fmt.Fprintf(stdout, "validation: loss %.4f nats/token, %.4f bits per %s, perplexity %.2f\n",
		res.ValLoss, res.ValBits, unit, math.Exp(res.ValLoss))
	fmt.Fprintf(stdout, "checkpoint: %s\nmetrics:    %s\n", res.Checkpoint, res.Metrics)
	if res.CurvePNG != "" {
		fmt.Fprintf(stdout, "loss curve: %s\n", res.CurvePNG)
	}
	if prep.sample != nil && *objective == "next" {
		return prep.sample(m, stdout)
	}
	return nil
}

// writeMeta renders mambakit.json, which tells eval and generate how the
// model's tokens map to data.
func writeMeta(meta map[string]any) []byte {
	b, _ := json.MarshalIndent(meta, "", "  ")
	return append(b, '\n')
}

// readMeta reads dir/mambakit.json (nil when absent).
func readMeta(dir string) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(dir, "mambakit.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "mambakit.json"), err)
	}
	return m, nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
