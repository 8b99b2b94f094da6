// Package bench measures a model's forward, training step and recurrent
// decode on random weights, for `mamba bench` and `make bench`.
package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"syscall"
	"time"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/mamba"
)

// Presets are the shapes of the published Mamba-1 checkpoints (GPT-NeoX
// vocabulary of 50,280, tied embeddings, d_state 16, expand 2) and a tiny one
// for quick checks.
var Presets = map[string]mamba.Config{
	"tiny": mamba.DefaultConfig(64, 2, 256),
	"130m": mamba.DefaultConfig(768, 24, 50280),
	"370m": mamba.DefaultConfig(1024, 48, 50280),
	"790m": mamba.DefaultConfig(1536, 48, 50280),
	"1.4b": mamba.DefaultConfig(2048, 48, 50280),
	"2.8b": mamba.DefaultConfig(2560, 64, 50280),
}

// PresetNames lists the presets in size order.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return Presets[names[i]].ParamCount() < Presets[names[j]].ParamCount() })
	return names
}

// Options choose what to measure.
type Options struct {
	Preset string
	Mode   string // forward, train or decode
	Batch  int
	Seq    int // sequence length for forward and train
	Tokens int // decode steps
	Iters  int // timed repetitions (forward and train)
	Warmup int // untimed repetitions first (forward and train), so that the
	// model's workspace is allocated and touched as in a steady state
	Seed uint64
	BF16 bool // store the projection and embedding weights as bfloat16
	// Progress, when set, is told about each timed repetition.
	Progress func(format string, args ...any)
}

// Result is one measurement; its JSON form is the line `mamba bench --json` prints.
type Result struct {
	Mode         string  `json:"mode"`
	Weights      string  `json:"weights,omitempty"`
	Preset       string  `json:"preset"`
	Device       string  `json:"device"`
	Params       int     `json:"params"`
	Batch        int     `json:"batch"`
	Seq          int     `json:"seq,omitempty"`
	Tokens       int     `json:"tokens"`
	Seconds      float64 `json:"seconds"`
	TokensPerS   float64 `json:"tokens_per_s"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	Threads      int     `json:"threads"`
	Loss         float64 `json:"loss,omitempty"`
	// Decode: where a step's time goes, in seconds per step. Issue is
	// Model.Step's own time (on an asynchronous device, issuing the work);
	// Choose is choosing the next tokens greedily with Ops.ArgmaxRows (on a
	// device: its kernel, waiting for the step's work to finish, and copying
	// the ids back).
	Issue  float64 `json:"issue_s_per_step,omitempty"`
	Choose float64 `json:"choose_s_per_step,omitempty"`
}

// Run builds the preset with random (mamba_ssm-style) weights on be and
// measures the chosen mode.
func Run(be core.Backend, o Options) (Result, error) {
	cfg, ok := Presets[o.Preset]
	if !ok {
		return Result{}, fmt.Errorf("unknown preset %q (have %v)", o.Preset, PresetNames())
	}
	if o.Batch < 1 || o.Seq < 1 || o.Tokens < 1 || o.Iters < 1 || o.Warmup < 0 {
		return Result{}, fmt.Errorf("batch, seq, tokens and iters must be positive, warmup not negative")
	}
	m, err := mamba.New(cfg, be)
	if err != nil {
		return Result{}, err
	}
	r := rand.New(rand.NewPCG(o.Seed, 1))
	m.P.Init(m.Cfg, be, r)
	if o.BF16 {
		m.P.ToBF16(be)
	}
	ids := make([]int32, o.Batch*o.Seq)
	for i := range ids {
		ids[i] = int32(r.IntN(cfg.Vocab))
	}
	res := Result{Mode: o.Mode, Preset: o.Preset, Device: be.Name(), Params: cfg.ParamCount(), Batch: o.Batch,
		Threads: runtime.GOMAXPROCS(0), Weights: "f32"}
	if o.BF16 {
		res.Weights = "bf16"
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	var total time.Duration
	switch o.Mode {
	case "forward", "train":
		res.Seq = o.Seq
		var grads *mamba.Params
		if o.Mode == "train" {
			grads = mamba.NewParams(cfg, be)
		}
		for it := -o.Warmup; it < o.Iters; it++ {
			start := time.Now()
			pass, err := m.Forward(ids, o.Batch, o.Seq, mamba.ForwardOptions{Train: o.Mode == "train"})
			if err != nil {
				return res, err
			}
			if o.Mode == "train" {
				targets := mamba.NextTokenTargets(ids, o.Batch, o.Seq)
				res.Loss, _ = m.Loss(pass, targets)
				m.Backward(pass, targets, grads)
			}
			d := time.Since(start)
			if it < 0 {
				progress("%s warm-up: %.2f s", o.Mode, d.Seconds())
				continue
			}
			total += d
			progress("%s %d/%d: %.2f s, %.1f tokens/s", o.Mode, it+1, o.Iters, d.Seconds(), float64(o.Batch*o.Seq)/d.Seconds())
		}
		res.Tokens = o.Batch * o.Seq * o.Iters
	case "decode":
		s := m.NewState(o.Batch)
		next := ids[:o.Batch]
		var issue, choose time.Duration
		step := func() error {
			t0 := time.Now()
			lt, err := m.Step(s, next)
			if err != nil {
				return err
			}
			t1 := time.Now()
			next = m.Ops.ArgmaxRows(lt)
			issue, choose = issue+t1.Sub(t0), choose+time.Since(t1)
			return nil
		}
		for i := 0; i < 2; i++ { // warm-up, untimed
			if err := step(); err != nil {
				return res, err
			}
		}
		issue, choose = 0, 0
		start := time.Now()
		for i := 0; i < o.Tokens; i++ {
			if err := step(); err != nil {
				return res, err
			}
			if (i+1)%16 == 0 || i+1 == o.Tokens {
				el := time.Since(start).Seconds()
				progress("decode %d/%d tokens: %.2f tokens/s", i+1, o.Tokens, float64(o.Batch*(i+1))/el)
			}
		}
		total = time.Since(start)
		res.Tokens = o.Batch * o.Tokens
		n := float64(o.Tokens)
		res.Issue, res.Choose = issue.Seconds()/n, choose.Seconds()/n
	default:
		return res, fmt.Errorf("unknown mode %q (forward, train or decode)", o.Mode)
	}
	res.Seconds = total.Seconds()
	res.TokensPerS = float64(res.Tokens) / res.Seconds
	res.PeakRSSBytes = PeakRSS()
	return res, nil
}

// MemoryBandwidth measures how fast be's decode path streams weights: it
// repeats a one-row product against a (rows, cols) float32 matrix of about
// 1 GiB, which reads the matrix once, and returns bytes read per second.
func MemoryBandwidth(be core.Backend, reps int) float64 {
	const rows, cols = 32768, 8192
	ops := core.Ops{Backend: be}
	w := ops.Alloc(rows, cols)
	ops.Fill(w, 0.5)
	x, y := ops.Alloc(1, cols), ops.Alloc(1, rows)
	ops.Fill(x, 1)
	g := core.GemmArgs{TransB: true, M: 1, N: rows, K: cols, Alpha: 1, A: x, B: w, C: y}
	ops.Gemm(g) // warm-up: touch every page
	start := time.Now()
	for i := 0; i < reps; i++ {
		ops.Gemm(g)
	}
	return float64(reps) * rows * cols * 4 / time.Since(start).Seconds()
}

// PeakRSS returns the process's peak resident set size in bytes (0 where the
// system does not say).
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}
