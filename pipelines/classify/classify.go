// Package classify trains and evaluates sequence classifiers on any
// modality: fixed-length crops of token sequences, a Mamba backbone, a
// pooled linear head; accuracy, MCC, macro-F1 and AUROC; optional test-time
// conjoining of a sequence with a transformed copy (the reverse complement,
// for DNA).
package classify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/checkpoint"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/optim"
	"github.com/mambakit/mambakit/pipelines/report"
)

// Example is one labelled sequence of token ids.
type Example struct {
	ID    string
	IDs   []int32
	Label int32
}

// Config is a classifier training run.
type Config struct {
	SeqLen    int   // longer sequences are cropped (randomly in training, centrally otherwise), shorter padded
	Pad       int32 // the padding token
	Batch     int
	Steps     int
	Optim     optim.Config
	Seed      uint64
	EvalEvery int // steps between validations (0: at the end)
	// Augment, when set, transforms a training crop (e.g. reverse complement
	// at random); it gets the step's random source.
	Augment func(ids []int32, r *rand.Rand) []int32
	OutDir  string    // metrics.jsonl, loss.png and checkpoint-<step>/ go here
	Out     io.Writer // progress (nil: silent)
	// SaveEvery > 0 writes a training checkpoint (classifier, optimizer
	// state, step) to OutDir every SaveEvery steps, at the end and on
	// interruption; Keep (default 2) of them are kept. Resume continues the
	// newest complete one exactly: the same batches, the same updates.
	SaveEvery, Keep int
	Resume          bool
	// TimeLimit > 0 stops training once this much time has passed in this
	// run (after a validation and, with SaveEvery, a checkpoint that Resume
	// continues); Result.TimeLimited tells.
	TimeLimit time.Duration
}

// runKey is what must match for a checkpoint to continue this run.
type runKey struct {
	SeqLen, Batch, Steps int
	Seed                 uint64
	LR                   float64
	Train, Labels        int
}

// Result summarises training.
type Result struct {
	Steps        int
	Seconds      float64
	TokensPerSec float64
	TrainLoss    float64
	Val          *Metrics // last validation (nil without validation data)
	Metrics      string
	CurvePNG     string
	TimeLimited  bool // stopped by Config.TimeLimit before Steps
}

// ErrInterrupted is returned when training was stopped by the context.
var ErrInterrupted = errors.New("classifier training interrupted")

// crop returns ids cut or padded to L, with the real length; random crops
// when r is set, central ones otherwise.
func crop(ids []int32, L int, pad int32, r *rand.Rand) ([]int32, int) {
	out := make([]int32, L)
	if len(ids) >= L {
		off := (len(ids) - L) / 2
		if r != nil {
			off = r.IntN(len(ids) - L + 1)
		}
		copy(out, ids[off:off+L])
		return out, L
	}
	copy(out, ids)
	for i := len(ids); i < L; i++ {
		out[i] = pad
	}
	return out, len(ids)
}

// batchOf lays out examples as (B, L) ids with their lengths and labels.
func batchOf(ex []Example, L int, pad int32, r *rand.Rand, augment func([]int32, *rand.Rand) []int32) ([]int32, []int, []int32) {
	ids := make([]int32, 0, len(ex)*L)
	lens := make([]int, len(ex))
	labels := make([]int32, len(ex))
	for i, e := range ex {
		seq := e.IDs
		c, n := crop(seq, L, pad, r)
		if augment != nil {
			a := augment(c[:n], r)
			copy(c, a)
		}
		ids = append(ids, c...)
		lens[i], labels[i] = n, e.Label
	}
	return ids, lens, labels
}

// Train fits c on train, validating on val (may be empty), and returns the
// run's summary. Batches are drawn with replacement, seeded by (Seed, step).
func Train(ctx context.Context, c *mamba.Classifier, train, val []Example, cfg Config) (Result, error) {
	res := Result{}
	if len(train) == 0 {
		return res, fmt.Errorf("no training examples")
	}
	if cfg.SaveEvery > 0 && cfg.OutDir == "" {
		panic("classify: SaveEvery needs an OutDir")
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 2
	}
	if cfg.OutDir != "" {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return res, err
		}
		res.Metrics = filepath.Join(cfg.OutDir, "metrics.jsonl")
		res.CurvePNG = filepath.Join(cfg.OutDir, "loss.png")
	}
	g := c.NewGrads()
	opt := newAdamW(cfg.Optim, c, g)
	key := runKey{SeqLen: cfg.SeqLen, Batch: cfg.Batch, Steps: cfg.Steps, Seed: cfg.Seed, LR: cfg.Optim.LR,
		Train: len(train), Labels: len(c.Labels)}
	start := 0
	var tokens int64
	var elapsedBefore float64
	var metricsOffset int64
	if cfg.Resume {
		if cfg.OutDir == "" {
			panic("classify: Resume needs an OutDir")
		}
		dir, st, state, skipped, err := checkpoint.ResumeFrom(cfg.OutDir, key)
		for _, e := range skipped {
			if cfg.Out != nil {
				fmt.Fprintf(cfg.Out, "resume: skipping %v\n", e)
			}
		}
		if err != nil {
			return res, fmt.Errorf("--resume: %w", err)
		}
		if err := loadInto(c, dir); err != nil {
			return res, err
		}
		if err := opt.SetState(state, st.Step); err != nil {
			return res, fmt.Errorf("%s: %w", dir, err)
		}
		start, tokens, elapsedBefore, metricsOffset = st.Step, st.Tokens, st.ElapsedSeconds, st.MetricsOffset
		if cfg.Out != nil {
			fmt.Fprintf(cfg.Out, "resuming from %s (step %d)\n", dir, st.Step)
		}
	} else if cfg.SaveEvery > 0 {
		if _, _, _, err := checkpoint.LatestTraining(cfg.OutDir); err == nil {
			return res, fmt.Errorf("%s already holds checkpoints of a run: pass --resume to continue it, or choose another output folder", cfg.OutDir)
		}
	}
	var mlog *checkpoint.MetricsLog
	if res.Metrics != "" {
		// The metrics log continues exactly where the checkpoint left it.
		var err error
		if mlog, err = checkpoint.OpenMetrics(res.Metrics, metricsOffset); err != nil {
			return res, err
		}
		defer mlog.Close()
	}
	logMetric := func(v any) error {
		if mlog == nil {
			return nil
		}
		return mlog.Log(v)
	}
	began := time.Now()
	elapsed := func() float64 { return elapsedBefore + time.Since(began).Seconds() }
	save := func(step int) error {
		if cfg.SaveEvery <= 0 || step == 0 {
			return nil
		}
		k, _ := json.Marshal(key)
		if _, err := checkpoint.SaveClassifierTraining(cfg.OutDir, c, opt.State(), opt.Shapes(), nil, checkpoint.TrainState{
			Step: step, Tokens: tokens, ElapsedSeconds: elapsed(), MetricsOffset: mlog.Offset(), Pipeline: k}); err != nil {
			return fmt.Errorf("saving the checkpoint of step %d: %w", step, err)
		}
		return checkpoint.PruneTraining(cfg.OutDir, cfg.Keep)
	}
	var bar *progressbar.ProgressBar
	if cfg.Out != nil {
		bar = report.Progress(cfg.Out, cfg.Steps, "steps", "training")
		bar.Set(start)
	}
	var runTokens int64
	res.Steps = start
	validate := func(step int) error {
		if len(val) == 0 {
			return nil
		}
		probs, err := Predict(c, val, cfg.SeqLen, cfg.Pad, cfg.Batch, nil, nil)
		if err != nil {
			return err
		}
		m := Score(probs, labelsOf(val), len(c.Labels))
		res.Val = &m
		return logMetric(map[string]any{"step": step, "val_loss": m.Loss, "val_accuracy": m.Accuracy, "val_mcc": m.MCC,
			"val_macro_f1": m.MacroF1, "elapsed_s": elapsed()})
	}
	for step := start + 1; step <= cfg.Steps; step++ {
		select {
		case <-ctx.Done():
			if err := save(step - 1); err != nil {
				return res, err
			}
			return res, ErrInterrupted
		default:
		}
		if cfg.TimeLimit > 0 && time.Since(began) >= cfg.TimeLimit && step > start+1 {
			res.TimeLimited = true
			if cfg.EvalEvery == 0 || (step-1)%cfg.EvalEvery != 0 {
				if err := validate(step - 1); err != nil {
					return res, err
				}
			}
			if cfg.SaveEvery > 0 && (step-1)%cfg.SaveEvery != 0 {
				if err := save(step - 1); err != nil {
					return res, err
				}
			}
			break
		}
		r := rand.New(rand.NewPCG(cfg.Seed, uint64(step)))
		ex := make([]Example, cfg.Batch)
		for i := range ex {
			ex[i] = train[r.IntN(len(train))]
		}
		ids, lens, labels := batchOf(ex, cfg.SeqLen, cfg.Pad, r, cfg.Augment)
		cp, err := c.Forward(ids, lens, cfg.Batch, cfg.SeqLen, true)
		if err != nil {
			return res, fmt.Errorf("step %d: %w", step, err)
		}
		loss := c.Loss(cp, labels)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return res, fmt.Errorf("step %d: the loss is %v; stopping", step, loss)
		}
		opt.ZeroGrad()
		c.Backward(cp, labels, g)
		lr, norm := opt.Update(1)
		tokens += int64(cfg.Batch * cfg.SeqLen)
		runTokens += int64(cfg.Batch * cfg.SeqLen)
		res.Steps, res.TrainLoss = step, loss
		if err := logMetric(map[string]any{"step": step, "loss": loss, "lr": lr, "grad_norm": norm, "elapsed_s": elapsed()}); err != nil {
			return res, err
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("loss %.4f  %.0f tok/s", loss, float64(runTokens)/time.Since(began).Seconds()))
			bar.Set(step)
		}
		if (cfg.EvalEvery > 0 && step%cfg.EvalEvery == 0) || step == cfg.Steps {
			if err := validate(step); err != nil {
				return res, err
			}
			if bar != nil && res.Val != nil && step != cfg.Steps {
				fmt.Fprintf(cfg.Out, "\nstep %d: validation accuracy %.4f, MCC %.4f\n", step, res.Val.Accuracy, res.Val.MCC)
			}
		}
		if cfg.SaveEvery > 0 && (step%cfg.SaveEvery == 0 || step == cfg.Steps) {
			if err := save(step); err != nil {
				return res, err
			}
		}
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(cfg.Out)
	}
	res.Seconds = elapsed()
	if s := time.Since(began).Seconds(); s > 0 {
		res.TokensPerSec = float64(runTokens) / s
	}
	if mlog != nil {
		if err := report.LossCurve(res.Metrics, res.CurvePNG, "classifier training loss"); err != nil {
			if cfg.Out != nil {
				fmt.Fprintf(cfg.Out, "loss curve: %v\n", err)
			}
			res.CurvePNG = ""
		}
	}
	return res, nil
}

// loadInto copies the weights of the classifier checkpoint dir into c,
// whose shape and labels must match.
func loadInto(c *mamba.Classifier, dir string) error {
	saved, _, err := checkpoint.LoadClassifier(dir, c.M.Ops.Backend)
	if err != nil {
		return err
	}
	if fmt.Sprint(saved.Labels) != fmt.Sprint(c.Labels) || saved.Pool != c.Pool {
		return fmt.Errorf("%s: a classifier of %v (%s pooling), not of %v (%s pooling)", dir, saved.Labels, saved.Pool, c.Labels, c.Pool)
	}
	src, dst := saved.List(), c.List()
	if len(src) != len(dst) {
		return fmt.Errorf("%s: %d tensors, this classifier has %d", dir, len(src), len(dst))
	}
	for i := range dst {
		if src[i].Name != dst[i].Name || !core.SameShape(src[i].T.Shape, dst[i].T.Shape) {
			return fmt.Errorf("%s: tensor %s %v where this classifier has %s %v", dir, src[i].Name, src[i].T.Shape, dst[i].Name, dst[i].T.Shape)
		}
		c.M.Ops.Copy(dst[i].T, src[i].T)
	}
	return nil
}

func labelsOf(ex []Example) []int32 {
	out := make([]int32, len(ex))
	for i, e := range ex {
		out[i] = e.Label
	}
	return out
}

// Predict returns class probabilities for each example (central crops of
// L). With conjoin set, each example's probabilities are the mean of those
// of its crop and of conjoin(crop) — for DNA the reverse complement, which
// makes the prediction for a sequence and its reverse complement identical.
// progress, when set, is told the number of examples of each finished batch.
func Predict(c *mamba.Classifier, ex []Example, L int, pad int32, batch int, conjoin func([]int32) []int32, progress func(done int)) ([][]float64, error) {
	plain, conjoined, err := PredictBoth(c, ex, L, pad, batch, conjoin, progress)
	if conjoin == nil {
		return plain, err
	}
	return conjoined, err
}

// PredictBoth returns Predict's probabilities without and (when conjoin is
// set; else nil) with conjoining, from one pass over the crops and one over
// their transforms.
func PredictBoth(c *mamba.Classifier, ex []Example, L int, pad int32, batch int, conjoin func([]int32) []int32, progress func(done int)) (plain, conjoined [][]float64, err error) {
	C := len(c.Labels)
	plain = make([][]float64, len(ex))
	if conjoin != nil {
		conjoined = make([][]float64, len(ex))
	}
	run := func(ids []int32, lens []int, n int) ([]float32, error) {
		cp, err := c.Forward(ids, lens, n, L, false)
		if err != nil {
			return nil, err
		}
		return c.M.Ops.ToHost(cp.Logits), nil
	}
	for i := 0; i < len(ex); i += batch {
		part := ex[i:min(i+batch, len(ex))]
		ids, lens, _ := batchOf(part, L, pad, nil, nil)
		logits, err := run(ids, lens, len(part))
		if err != nil {
			return nil, nil, err
		}
		var logits2 []float32
		if conjoin != nil {
			ids2 := make([]int32, len(ids))
			for b, n := range lens {
				copy(ids2[b*L:], conjoin(ids[b*L:b*L+n]))
				for t := n; t < L; t++ {
					ids2[b*L+t] = pad
				}
			}
			if logits2, err = run(ids2, lens, len(part)); err != nil {
				return nil, nil, err
			}
		}
		for b := range part {
			p := softmax(logits[b*C : (b+1)*C])
			plain[i+b] = p
			if conjoin != nil {
				q := softmax(logits2[b*C : (b+1)*C])
				m := make([]float64, C)
				for k := range p {
					m[k] = (p[k] + q[k]) / 2
				}
				conjoined[i+b] = m
			}
		}
		if progress != nil {
			progress(len(part))
		}
	}
	return plain, conjoined, nil
}

// Member is one classifier of an ensemble and the sequence length it reads
// (its training crops).
type Member struct {
	C *mamba.Classifier
	L int
}

// PredictEnsemble is PredictBoth for an ensemble: each probability is the
// mean of the members' (each run with its own L), plain and, with conjoin,
// conjoined. The members must have the same labels, in the same order
// (a programmer error otherwise). progress gets every member's counts.
func PredictEnsemble(ms []Member, ex []Example, pad int32, batch int, conjoin func([]int32) []int32, progress func(done int)) (plain, conjoined [][]float64, err error) {
	if len(ms) == 0 {
		panic("classify.PredictEnsemble: no members")
	}
	for _, m := range ms[1:] {
		if !slices.Equal(m.C.Labels, ms[0].C.Labels) {
			panic(fmt.Sprintf("classify.PredictEnsemble: labels %v and %v differ", ms[0].C.Labels, m.C.Labels))
		}
	}
	if len(ms) == 1 {
		return PredictBoth(ms[0].C, ex, ms[0].L, pad, batch, conjoin, progress)
	}
	add := func(sum, p [][]float64) [][]float64 {
		if sum == nil {
			return p
		}
		for i := range sum {
			for k := range sum[i] {
				sum[i][k] += p[i][k]
			}
		}
		return sum
	}
	for _, m := range ms {
		p, q, err := PredictBoth(m.C, ex, m.L, pad, batch, conjoin, progress)
		if err != nil {
			return nil, nil, err
		}
		plain, conjoined = add(plain, p), add(conjoined, q)
	}
	n := float64(len(ms))
	for _, ps := range [][][]float64{plain, conjoined} {
		for _, p := range ps {
			for k := range p {
				p[k] /= n
			}
		}
	}
	return plain, conjoined, nil
}

func softmax(l []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range l {
		m = math.Max(m, float64(v))
	}
	out := make([]float64, len(l))
	s := 0.0
	for i, v := range l {
		out[i] = math.Exp(float64(v) - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// newAdamW builds the optimizer over the classifier's parameters (backbone
// and head).
func newAdamW(cfg optim.Config, c *mamba.Classifier, g *mamba.ClassifierGrads) *optim.AdamW {
	return optim.NewAdamWNamed(cfg, c.M.Ops.Backend, c.List(), g.List())
}
