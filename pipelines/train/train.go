// Package train is the modality-agnostic pretraining loop: next-token
// prediction (or masked-token prediction, Masked) with AdamW, gradient accumulation, optional sequence-length
// warm-up, periodic evaluation, atomic checkpoints with exact resume, a
// progress bar, a JSONL metrics log and a loss-curve PNG.
package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mambakit/mambakit/core/checkpoint"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/optim"
	"github.com/mambakit/mambakit/pipelines/report"
)

// Data supplies training batches and held-out sequences.
type Data interface {
	// Batch returns the inputs and their targets (the next tokens, or those
	// of Masked; −1 where there is none), (B, L) each, of
	// micro-batch `micro` of step `step`. It must depend only on its
	// arguments (and the data), so that a resumed run sees the same batches.
	// The slices Batch and Eval return are the caller's: wrappers such as
	// Masked change them in place.
	Batch(step, micro, B, L int) (ids, targets []int32)
	// Eval returns up to max held-out sequences of L inputs: inputs and
	// targets, (n, L) each.
	Eval(L, max int) (ids, targets []int32, n int)
}

// Config is a training run. The fields under "the run" must stay the same
// across a resume; Steps may grow.
type Config struct {
	// The run.
	Batch, SeqLen, Accum int
	SeqWarmupStart       int // sequence-length warm-up: first length (0: off)
	SeqWarmupSteps       int // steps over which the length doubles up to SeqLen
	Seed                 uint64
	Optim                optim.Config
	// Objective names what the data's targets are, for a resumed run to
	// check: "" for next-token prediction, else e.g. "masked 0.15" (Masked).
	Objective string
	// How long and what to keep.
	Steps     int
	EvalEvery int // steps between evaluations (0: only at the end)
	EvalSeqs  int // held-out sequences per evaluation
	SaveEvery int // steps between checkpoints (0: only at the end)
	Keep      int // checkpoints kept (at least 1)
	TimeLimit time.Duration
	OutDir    string
	Resume    bool
	// Reporting.
	Unit  string                 // what a target stands for: "byte", "base", "sample", "token"
	Units func(id int32) float64 // units a target token stands for (nil: 1)
	Extra map[string][]byte      // files to put in every checkpoint (tokenizer, metadata)
	Out   io.Writer              // progress and messages (nil: silent)
}

// runKey is the part of Config a resumed run must share.
type runKey struct {
	Batch, SeqLen, Accum           int
	SeqWarmupStart, SeqWarmupSteps int
	Seed                           uint64
	LR, MinLR, WeightDecay         float64
	WarmupSteps                    int
	Objective                      string `json:",omitempty"` // absent for next-token prediction, as before it existed
}

func (c Config) key() runKey {
	return runKey{c.Batch, c.SeqLen, c.Accum, c.SeqWarmupStart, c.SeqWarmupSteps, c.Seed,
		c.Optim.LR, c.Optim.MinLR, c.Optim.WeightDecay, c.Optim.WarmupSteps, c.Objective}
}

// ErrInterrupted is returned when the context is cancelled (Ctrl-C): a
// checkpoint has been saved and the run can be resumed.
var ErrInterrupted = errors.New("training interrupted")

// Result summarises a run.
type Result struct {
	Steps        int     // last step done
	Tokens       int64   // tokens trained on (this run and resumed ones)
	Seconds      float64 // wall time (including resumed runs)
	TokensPerSec float64 // over this invocation
	TrainLoss    float64 // last step's loss
	ValLoss      float64 // last evaluation: mean loss (nats per token)
	ValBits      float64 // last evaluation: bits per unit
	Checkpoint   string
	CurvePNG     string
	Metrics      string
}

// SeqLenAt returns the sequence length and batch size of a step: with
// warm-up, the length starts at SeqWarmupStart and doubles in equal stages
// over SeqWarmupSteps up to SeqLen, and the batch grows as the length
// shrinks so that every step trains on the same number of tokens.
func (c Config) SeqLenAt(step int) (L, B int) {
	if c.SeqWarmupStart <= 0 || c.SeqWarmupStart >= c.SeqLen || c.SeqWarmupSteps <= 0 {
		return c.SeqLen, c.Batch
	}
	stages := 0
	for l := c.SeqWarmupStart; l < c.SeqLen; l *= 2 {
		stages++
	}
	k := (step - 1) * stages / c.SeqWarmupSteps
	L = c.SeqWarmupStart << min(k, stages)
	L = min(L, c.SeqLen)
	return L, max(1, c.Batch*c.SeqLen/L)
}

type metric struct {
	Step      int      `json:"step"`
	Loss      *float64 `json:"loss,omitempty"`
	LR        *float64 `json:"lr,omitempty"`
	GradNorm  *float64 `json:"grad_norm,omitempty"`
	SeqLen    int      `json:"seq_len,omitempty"`
	Batch     int      `json:"batch,omitempty"`
	Tokens    int64    `json:"tokens"`
	TokPerSec float64  `json:"tokens_per_s,omitempty"`
	Elapsed   float64  `json:"elapsed_s"`
	ValLoss   *float64 `json:"val_loss,omitempty"`
	ValBits   *float64 `json:"val_bits_per_unit,omitempty"`
	Unit      string   `json:"unit,omitempty"`
}

func ptr(v float64) *float64 { return &v }

// Run trains m on data. With cfg.Resume it continues from the newest
// complete checkpoint in cfg.OutDir, reproducing the loss sequence an
// uninterrupted run would have had. It stops after cfg.Steps, at the time
// limit (saving), on a cancelled ctx (saving, ErrInterrupted) or on a
// non-finite loss (not saving: the last good checkpoint stays).
func Run(ctx context.Context, m *mamba.Model, data Data, cfg Config) (Result, error) {
	if cfg.Keep < 1 {
		cfg.Keep = 1
	}
	if cfg.Accum < 1 {
		cfg.Accum = 1
	}
	say := func(format string, a ...any) {
		if cfg.Out != nil {
			fmt.Fprintf(cfg.Out, format+"\n", a...)
		}
	}
	res := Result{Metrics: filepath.Join(cfg.OutDir, "metrics.jsonl"), CurvePNG: filepath.Join(cfg.OutDir, "loss.png")}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return res, err
	}
	grads := mamba.NewParams(m.Cfg, m.Ops.Backend)
	opt := optim.NewAdamW(cfg.Optim, m.Ops.Backend, m.P, grads)
	start := 0
	var tokens int64
	var elapsedBefore float64
	var metricsOffset int64
	if cfg.Resume {
		dir, st, state, skipped, err := checkpoint.ResumeFrom(cfg.OutDir, cfg.key())
		for _, e := range skipped {
			say("resume: skipping %v", e)
		}
		if err != nil {
			return res, fmt.Errorf("--resume: %w", err)
		}
		if err := checkpoint.LoadWeights(dir, m); err != nil {
			return res, err
		}
		if err := opt.SetState(state, st.Step); err != nil {
			return res, fmt.Errorf("%s: %w", dir, err)
		}
		start, tokens, elapsedBefore, metricsOffset = st.Step, st.Tokens, st.ElapsedSeconds, st.MetricsOffset
		say("resuming from %s (step %d)", dir, st.Step)
	} else if _, _, _, err := checkpoint.LatestTraining(cfg.OutDir); err == nil {
		return res, fmt.Errorf("%s already holds checkpoints of a run: pass --resume to continue it, or choose another output folder", cfg.OutDir)
	}
	// The metrics log continues exactly where the checkpoint left it.
	mlog, err := checkpoint.OpenMetrics(res.Metrics, metricsOffset)
	if err != nil {
		return res, err
	}
	defer mlog.Close()
	logMetric := func(x metric) error { return mlog.Log(x) }

	began := time.Now()
	var runTokens int64
	elapsed := func() float64 { return elapsedBefore + time.Since(began).Seconds() }
	save := func(step int) error {
		if step == 0 {
			return nil
		}
		key, _ := json.Marshal(cfg.key())
		dir, err := checkpoint.SaveTraining(cfg.OutDir, m, opt.State(), opt.Shapes(), cfg.Extra, checkpoint.TrainState{
			Step: step, Tokens: tokens, ElapsedSeconds: elapsed(), MetricsOffset: mlog.Offset(), Pipeline: key})
		if err != nil {
			return fmt.Errorf("saving the checkpoint of step %d: %w", step, err)
		}
		res.Checkpoint = dir
		return checkpoint.PruneTraining(cfg.OutDir, cfg.Keep)
	}
	evaluate := func(step int) error {
		loss, bits, err := Evaluate(m, data, cfg.SeqLen, cfg.EvalSeqs, cfg.Batch, cfg.Units)
		if err != nil {
			return err
		}
		res.ValLoss, res.ValBits = loss, bits
		return logMetric(metric{Step: step, Tokens: tokens, Elapsed: elapsed(), ValLoss: ptr(loss), ValBits: ptr(bits), Unit: cfg.Unit})
	}
	finish := func(step int, cause error) (Result, error) {
		res.Steps, res.Tokens, res.Seconds = step, tokens, elapsed()
		if s := time.Since(began).Seconds(); s > 0 {
			res.TokensPerSec = float64(runTokens) / s
		}
		if cause == nil || errors.Is(cause, ErrInterrupted) {
			if err := save(step); err != nil {
				return res, err
			}
		}
		if err := report.LossCurve(res.Metrics, res.CurvePNG, "training loss"); err != nil {
			say("loss curve: %v", err)
			res.CurvePNG = ""
		}
		return res, cause
	}

	var bar *progressbar.ProgressBar
	if cfg.Out != nil {
		bar = report.Progress(cfg.Out, cfg.Steps, "steps", "training")
		bar.Set(start)
	}
	for step := start + 1; step <= cfg.Steps; step++ {
		select {
		case <-ctx.Done():
			say("\ninterrupted: saving step %d", step-1)
			return finish(step-1, ErrInterrupted)
		default:
		}
		if cfg.TimeLimit > 0 && time.Since(began) >= cfg.TimeLimit {
			say("\ntime limit %v reached at step %d", cfg.TimeLimit, step-1)
			if err := evaluate(step - 1); err != nil {
				return res, err
			}
			return finish(step-1, nil)
		}
		t0 := time.Now()
		L, B := cfg.SeqLenAt(step)
		opt.ZeroGrad()
		lossSum := 0.0
		for micro := 0; micro < cfg.Accum; micro++ {
			ids, targets := data.Batch(step, micro, B, L)
			pass, err := m.Forward(ids, B, L, mamba.ForwardOptions{Train: true})
			if err != nil {
				return res, fmt.Errorf("step %d: %w", step, err)
			}
			loss, _ := m.Loss(pass, targets)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return finish(step-1, fmt.Errorf("step %d: the loss is %v; stopping (the last good checkpoint is %s)",
					step, loss, lastGood(cfg.OutDir)))
			}
			m.Backward(pass, targets, grads)
			lossSum += loss
		}
		loss := lossSum / float64(cfg.Accum)
		lr, norm := opt.Update(1 / float64(cfg.Accum))
		if math.IsNaN(norm) || math.IsInf(norm, 0) {
			return finish(step-1, fmt.Errorf("step %d: the gradient norm is %v; stopping (the last good checkpoint is %s)",
				step, norm, lastGood(cfg.OutDir)))
		}
		n := int64(B * L * cfg.Accum)
		tokens += n
		runTokens += n
		dt := time.Since(t0).Seconds()
		res.TrainLoss = loss
		if err := logMetric(metric{Step: step, Loss: ptr(loss), LR: ptr(lr), GradNorm: ptr(norm), SeqLen: L, Batch: B,
			Tokens: tokens, TokPerSec: float64(n) / dt, Elapsed: elapsed()}); err != nil {
			return res, err
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("loss %.4f  %.0f tok/s  L %d", loss, float64(runTokens)/time.Since(began).Seconds(), L))
			bar.Set(step)
		}
		last := step == cfg.Steps
		if (cfg.EvalEvery > 0 && step%cfg.EvalEvery == 0) || last {
			if err := evaluate(step); err != nil {
				return res, err
			}
			if !last {
				say("\nstep %d: validation loss %.4f, %.4f bits per %s", step, res.ValLoss, res.ValBits, cfg.Unit)
			}
		}
		if !last && cfg.SaveEvery > 0 && step%cfg.SaveEvery == 0 {
			if err := save(step); err != nil {
				return res, err
			}
		}
	}
	if bar != nil {
		bar.Finish()
		say("")
	}
	return finish(cfg.Steps, nil)
}

func lastGood(dir string) string {
	if d, _, _, err := checkpoint.LatestTraining(dir); err == nil {
		return d
	}
	return "none"
}

// Evaluate returns the mean next-token loss (nats per token) of m over up to
// max held-out sequences of length L, evaluated batch at a time, and the
// bits per unit (units counted by units, 1 per token when nil).
func Evaluate(m *mamba.Model, data Data, L, max, batch int, units func(int32) float64) (loss, bits float64, err error) {
	ids, targets, n := data.Eval(L, max)
	if n == 0 {
		return 0, 0, fmt.Errorf("evaluation: the held-out data is shorter than one sequence of %d", L+1)
	}
	var s evalSums
	for i := 0; i < n; i += batch {
		b := min(batch, n-i)
		if err := s.add(m, ids[i*L:(i+b)*L], targets[i*L:(i+b)*L], b, L, units); err != nil {
			return 0, 0, err
		}
	}
	return s.nats / s.count, s.nats / math.Ln2 / s.units, nil
}

// EvaluateStream scores every next-token prediction of stream, all
// len(stream)−1 of them: consecutive windows of L inputs (each window's
// targets reach one token into the next), batch windows at a time, then the
// positions left over as one shorter window. It returns the mean loss in
// nats per token, the bits per unit (units counted by units, 1 per token
// when nil) and the number of predictions scored. progress, when set, is
// told the number of predictions of each finished forward pass.
func EvaluateStream(m *mamba.Model, stream []int32, L, batch int, units func(int32) float64, progress func(done int)) (loss, bits float64, scored int, err error) {
	if len(stream) < 2 {
		return 0, 0, 0, fmt.Errorf("evaluation: %d tokens hold no prediction to score", len(stream))
	}
	var s evalSums
	full := (len(stream) - 1) / L
	for i := 0; i < full; i += batch {
		b := min(batch, full-i)
		lo := i * L
		if err := s.add(m, stream[lo:lo+b*L], stream[lo+1:lo+b*L+1], b, L, units); err != nil {
			return 0, 0, 0, err
		}
		if progress != nil {
			progress(b * L)
		}
	}
	if r := len(stream) - 1 - full*L; r > 0 {
		lo := full * L
		if err := s.add(m, stream[lo:lo+r], stream[lo+1:], 1, r, units); err != nil {
			return 0, 0, 0, err
		}
		if progress != nil {
			progress(r)
		}
	}
	return s.nats / s.count, s.nats / math.Ln2 / s.units, int(s.count), nil
}

// evalSums accumulates the summed loss, targets and units of an evaluation.
type evalSums struct{ nats, count, units float64 }

// add scores b sequences of L inputs (ids and targets laid out (b, L));
// negative targets are ignored.
func (s *evalSums) add(m *mamba.Model, ids, targets []int32, b, L int, units func(int32) float64) error {
	pass, err := m.Forward(ids, b, L, mamba.ForwardOptions{})
	if err != nil {
		return err
	}
	mean, c := m.Loss(pass, targets)
	s.nats += mean * float64(c)
	s.count += float64(c)
	for _, t := range targets {
		if t < 0 {
			continue
		}
		if units != nil {
			s.units += units(t)
		} else {
			s.units++
		}
	}
	return nil
}
