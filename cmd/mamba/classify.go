package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/checkpoint"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/optim"
	"github.com/mambakit/mambakit/core/tensorfile"
	"github.com/mambakit/mambakit/modalities/dna"
	"github.com/mambakit/mambakit/pipelines/classify"
	"github.com/mambakit/mambakit/pipelines/report"
)

const classifySynopsis = `classify train|eval|predict [flags]

  train    train a sequence classifier (from scratch or from a pretrained --init)
           and report accuracy, MCC, macro-F1 and AUROC on the test split,
           with a confusion-matrix PNG;
  eval     score a trained classifier on a task's test split;
  predict  write a TSV of id, class and class probabilities for a FASTA file
           (DNA) or a folder of audio files.

Run 'mamba classify train --help' for each one's flags.`

// classOptions are the flags that choose a classification dataset.
type classOptions struct {
	modality, task, data, test, label string
	fragLen, perClass, testPerClass   int
	baselineK                         int    // DNA: k-mer size of the baselines
	split                             string // phylum task: genus or sequence
	rcAugment                         bool
	seed                              uint64
	holdoutVoices                     string
	rate                              int     // audio: sample rate the clips are resampled to
	seconds                           float64 // audio: clip length
	rmsLevel                          float64 // audio: RMS each clip is scaled to (0: as recorded)
	audioAugment                      bool    // audio: random gain, shift and noise on training clips
	scoreOnly                         bool    // eval: only the test split is scored (no training, so no training counts in about)
}

// classData is a modality's classification dataset.
type classData struct {
	train, test []classify.Example
	extraTests  map[string][]classify.Example // further test sets, by name
	classes     []string
	vocab       int
	pad         int32
	about       string
	augment     func([]int32, *rand.Rand) []int32
	conjoin     func([]int32) []int32 // a transform whose prediction should equal the input's (DNA: reverse complement)
	// baseline fits and scores the baselines on the test split (log:
	// progress messages): their metrics and their misses (misses reports),
	// by name; info says how they were fitted, for results.json.
	baseline    func(log io.Writer) (scores map[string]classify.Metrics, misses map[string]any, info map[string]any)
	readPredict func(path string) ([]classify.Example, error)
}

var classModalities = map[string]func(classOptions) (*classData, error){
	"dna":   dnaClassData,
	"audio": audioClassData,
}

func classDataFlags(fs interface {
	String(string, string, string) *string
	Int(string, int, string) *int
	Bool(string, bool, string) *bool
	Float64(string, float64, string) *float64
}, o *classOptions) func() {
	modality := fs.String("modality", "dna", "dna or audio")
	task := fs.String("task", "", "DNA built-in task: species (ragout genomes, held-out strains) or phylum (16S, 5 phyla)")
	data := fs.String("data", "", "dataset: a Genomic Benchmarks folder, a CSV/TSV table, a labelled FASTA (with --label), or an audio folder <class>/*.wav")
	test := fs.String("test", "", "a separate test set in the same form (default: every 5th example of each class held out)")
	label := fs.String("label", "", "labelled FASTA: field:K or re:<regexp> locating the label in each header")
	fragLen := fs.Int("frag-len", 0, "species task: fragment length (0: 1000); phylum task: cut the test sequences into reads of this length, and train the baselines on such reads (0: whole sequences; give --seq-len the same length so that training crops are reads too)")
	split := fs.String("split", "genus", "phylum task: genus (every 5th genus of each phylum held out whole) or sequence (every 5th sequence)")
	baselineK := fs.Int("baseline-k", 6, "DNA: k-mer size of the naive Bayes and logistic-regression baselines (1 … 8; canonical k-mers, 4^k/2 dense features per example)")
	perClass := fs.Int("per-class", 2000, "species task: training fragments per species")
	testPerClass := fs.Int("test-per-class", 500, "species task: test fragments per species")
	voices := fs.String("holdout-voices", "", "audio: comma-separated substrings of file names whose synthetic voices are held out for testing")
	rate := fs.Int("rate", 8000, "audio: sample rate clips are resampled to")
	seconds := fs.Float64("seconds", 1, "audio: clips are cropped or padded to this length")
	return func() {
		o.modality, o.task, o.data, o.test, o.label = *modality, *task, *data, *test, *label
		o.fragLen, o.perClass, o.testPerClass, o.holdoutVoices = *fragLen, *perClass, *testPerClass, *voices
		o.split, o.baselineK = *split, *baselineK
		o.rate, o.seconds = *rate, *seconds
	}
}

func runClassify(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintf(stdout, "Usage: mamba %s\n\nFlags: see 'mamba classify train --help' (and eval, predict).\n", classifySynopsis)
		if len(args) == 0 {
			return usagef("classify: give train, eval or predict")
		}
		return nil
	}
	switch args[0] {
	case "train":
		return runClassifyTrain(args[1:], stdout, stderr)
	case "eval":
		return runClassifyEval(args[1:], stdout, stderr)
	case "predict":
		return runClassifyPredict(args[1:], stdout, stderr)
	}
	return usagef("classify: unknown subcommand %q (train, eval or predict)", args[0])
}

func loadClassData(o classOptions) (*classData, error) {
	f, ok := classModalities[o.modality]
	if !ok {
		return nil, usagef("classify: --modality %q: not available (have %s)", o.modality, strings.Join(sortedKeys(classModalities), ", "))
	}
	return f(o)
}

func runClassifyTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("classify train", "classify train --modality dna|audio (--task T | --data PATH) [--init DIR | --size S] [--out DIR] ...", stdout)
	var o classOptions
	finish := classDataFlags(fs, &o)
	initDir := fs.String("init", "", "pretrained model directory or training run to fine-tune (default: train from scratch)")
	size := fs.String("size", "small", "from scratch: model size preset (tiny, small, base, medium, large)")
	bidir := fs.Bool("bidirectional", false, "from scratch: BiMamba blocks (a reverse mixer per block, Caduceus-style)")
	pool := fs.String("pool", "mean", "pooling of the final hidden states: mean, last or first")
	rcAug := fs.Bool("rc-augment", false, "DNA: replace training crops by their reverse complement half of the time")
	rmsLevel := fs.Float64("rms-level", 0.1, "audio: scale every clip (training, test, predict) to this RMS level; 0 keeps recorded levels")
	audioAug := fs.Bool("audio-augment", true, "audio: random gain (±6 dB), shift (±1/8 clip) and noise on training clips")
	seqLen := fs.Int("seq-len", 1024, "sequences are cropped (random in training, central otherwise) or padded to this")
	batch := fs.Int("batch", 16, "sequences per step")
	steps := fs.Int("steps", 1000, "optimizer steps")
	lr := fs.Float64("lr", 1e-3, "peak learning rate")
	wd := fs.Float64("weight-decay", 0.1, "AdamW weight decay")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, the task's sampling and the batches")
	evalEvery := fs.Int("eval-every", 0, "steps between test-set evaluations during training (0: at the end)")
	baseline := fs.Bool("baseline", true, "DNA: also fit and score the k-mer (--baseline-k) naive Bayes and logistic-regression baselines")
	out := fs.String("out", "runs/classify", "output folder: model/, checkpoint-<step>/, metrics.jsonl, loss.png, confusion.png, results.json")
	saveEvery := fs.Int("save-every", 100, "steps between training checkpoints in --out (0: none); also at the end and on Ctrl-C")
	keep := fs.Int("keep", 2, "training checkpoints to keep")
	resume := fs.Bool("resume", false, "continue the run in --out from its newest complete checkpoint, exactly")
	timeLimit := fs.Duration("time-limit", 0, "stop training after this long (validate, save, then score as usual), e.g. 30m")
	device := deviceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	finish()
	o.rcAugment, o.seed = *rcAug, *seed
	o.rmsLevel, o.audioAugment = *rmsLevel, *audioAug
	if *saveEvery < 0 || *keep < 1 {
		return usagef("classify train: need --save-every ≥ 0 and --keep ≥ 1")
	}
	if o.rmsLevel < 0 || o.rmsLevel > 1 {
		return usagef("classify train: --rms-level %g is outside 0 … 1", o.rmsLevel)
	}
	be, err := device.open()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "preparing %s data…\n", o.modality)
	cd, err := loadClassData(o)
	if err != nil {
		return err
	}
	var m *mamba.Model
	if *initDir != "" {
		dir, err := checkpoint.Resolve(*initDir)
		if err != nil {
			return err
		}
		if m, _, err = checkpoint.Load(dir, be); err != nil {
			return err
		}
		if m.Cfg.Vocab < cd.vocab {
			return fmt.Errorf("--init %s has a vocabulary of %d, the %s tokens need %d", dir, m.Cfg.Vocab, o.modality, cd.vocab)
		}
	} else {
		sz, ok := sizes[*size]
		if !ok {
			return usagef("classify train: --size %q", *size)
		}
		cfg := mamba.DefaultConfig(sz[0], sz[1], cd.vocab)
		cfg.Bidirectional = *bidir
		if m, err = mamba.New(cfg, be); err != nil {
			return err
		}
		m.P.Init(m.Cfg, be, rand.New(rand.NewPCG(*seed, 0x1417)))
	}
	c, err := mamba.NewClassifier(m, cd.classes, mamba.Pooling(*pool), rand.New(rand.NewPCG(*seed, 0xc1a)))
	if err != nil {
		return usagef("classify train: %v", err)
	}
	oc := optim.DefaultConfig(*lr, *steps)
	oc.WeightDecay = *wd
	fmt.Fprintf(stderr, "%s\nclasses: %s\nmodel: d_model %d, %d layers, bidirectional %v: %.2fM parameters; pooling %s\n",
		cd.about, strings.Join(cd.classes, ", "), m.Cfg.DModel, m.Cfg.NLayer, m.Cfg.Bidirectional,
		float64(m.Cfg.ParamCount())/1e6, *pool)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := classify.Train(ctx, c, cd.train, cd.test, classify.Config{SeqLen: *seqLen, Pad: cd.pad, Batch: *batch,
		Steps: *steps, Optim: oc, Seed: *seed, EvalEvery: *evalEvery, Augment: cd.augment, OutDir: *out, Out: stderr,
		SaveEvery: *saveEvery, Keep: *keep, Resume: *resume, TimeLimit: *timeLimit})
	if err != nil && !errors.Is(err, classify.ErrInterrupted) {
		return err
	}
	modelDir := filepath.Join(*out, "model")
	if serr := checkpoint.SaveClassifier(modelDir, c); serr != nil {
		return serr
	}
	if merr := writeMetaFile(modelDir, map[string]any{"modality": o.modality, "seq_len": *seqLen, "rate": o.rate, "seconds": o.seconds, "rms_level": o.rmsLevel}); merr != nil {
		return merr
	}
	if err != nil {
		fmt.Fprintf(stderr, "interrupted at step %d; model saved to %s", res.Steps, modelDir)
		if *saveEvery > 0 {
			fmt.Fprintf(stderr, "; the same command with --resume continues the run")
		}
		fmt.Fprintln(stderr)
		return err
	}
	if res.TimeLimited {
		fmt.Fprintf(stdout, "stopped by --time-limit %v at step %d of %d", *timeLimit, res.Steps, *steps)
		if *saveEvery > 0 {
			fmt.Fprintf(stdout, " (the same command with --resume continues the run)")
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "trained %d steps in %s (%.0f tokens/s); model: %s\n", res.Steps,
		time.Duration(res.Seconds*float64(time.Second)).Round(time.Second), res.TokensPerSec, modelDir)
	results, err := scoreAndReport([]classify.Member{{C: c, L: *seqLen}}, cd, *batch, *out, stdout, stderr, *baseline && cd.baseline != nil)
	if err != nil {
		return err
	}
	tr := map[string]any{"steps": res.Steps, "seconds": res.Seconds, "tokens_per_s": res.TokensPerSec,
		"params": m.Cfg.ParamCount(), "d_model": m.Cfg.DModel, "n_layer": m.Cfg.NLayer, "bidirectional": m.Cfg.Bidirectional,
		"init": *initDir, "seq_len": *seqLen, "batch": *batch, "lr": *lr, "pool": *pool}
	switch o.modality {
	case "dna":
		tr["rc_augment"] = *rcAug
	case "audio":
		tr["audio_augment"], tr["rms_level"], tr["rate"], tr["clip_seconds"] = *audioAug, *rmsLevel, o.rate, o.seconds
	}
	results["train"] = tr
	return writeResults(*out, results, stdout)
}

// scoreAndReport scores a classifier, or the mean of an ensemble's
// probabilities, on the test split (and extra test sets), with and without
// conjoining when the modality has a conjoining transform, draws the
// confusion matrix and prints a table.
func scoreAndReport(ms []classify.Member, cd *classData, batch int, out string, w, stderr io.Writer, baseline bool) (map[string]any, error) {
	results := map[string]any{"classes": cd.classes, "about": cd.about}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "\ntest set\tmodel\tn\taccuracy\tMCC\tmacro-F1\tAUROC\n")
	row := func(set, name string, m classify.Metrics) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.4f\t%.4f\t%.4f\t%.4f\n", set, name, m.N, m.Accuracy, m.MCC, m.MacroF1, m.AUROC)
	}
	labels := func(ex []classify.Example) []int32 {
		out := make([]int32, len(ex))
		for i, e := range ex {
			out[i] = e.Label
		}
		return out
	}
	sets := map[string][]classify.Example{"test": cd.test}
	for k, v := range cd.extraTests {
		sets[k] = v
	}
	names := sortedKeys(sets)
	work := 0 // forward passes per example: 1, or 4 with conjoining (x, its transform, and theirs)
	for _, ex := range sets {
		work += len(ex)
	}
	perEx := 1
	if cd.conjoin != nil {
		perEx = 2 // a PredictBoth pass runs the crops and their transforms
		work *= 4
	}
	work *= len(ms)
	name := "mamba"
	if len(ms) > 1 {
		name = fmt.Sprintf("mamba ×%d", len(ms))
		results["ensemble"] = len(ms)
	}
	bar := progressBar(stderr, work, "sequences", "scoring")
	for _, set := range names {
		ex := sets[set]
		probs, conj, err := classify.PredictEnsemble(ms, ex, cd.pad, batch, cd.conjoin, func(k int) { bar(perEx * k) })
		if err != nil {
			return nil, err
		}
		ys := labels(ex)
		m := classify.Score(probs, ys, len(cd.classes))
		row(set, name, m)
		ids := make([]string, len(ex))
		for i, e := range ex {
			ids[i] = e.ID
		}
		// The misses go by the keys of the metrics they belong to.
		misses := map[string]any{"mamba": missesReport(ids, probs, ys, cd.classes)}
		entry := map[string]any{"mamba": m, "misses": misses}
		png := filepath.Join(out, "confusion-"+set+".png")
		if cd.conjoin != nil {
			// Agreement of the predictions for x and its transform, before
			// and after conjoining.
			tx := make([]classify.Example, len(ex))
			for i, e := range ex {
				tx[i] = classify.Example{ID: e.ID, IDs: cd.conjoin(e.IDs), Label: e.Label}
			}
			probsT, conjT, err := classify.PredictEnsemble(ms, tx, cd.pad, batch, cd.conjoin, func(k int) { bar(2 * k) })
			if err != nil {
				return nil, err
			}
			entry["agreement"] = agreement(probs, probsT)
			mc := classify.Score(conj, ys, len(cd.classes))
			row(set, name+", conjoined", mc)
			misses["mamba_conjoined"] = missesReport(ids, conj, ys, cd.classes)
			entry["mamba_conjoined"] = mc
			entry["agreement_conjoined"] = agreement(conj, conjT)
			m = mc
		}
		if err := report.ConfusionMatrix(m.Confusion, cd.classes, png, "confusion on "+set); err != nil {
			return nil, err
		}
		entry["confusion_png"] = png
		if set == "test" && baseline {
			scores, bm, info := cd.baseline(stderr)
			for _, name := range sortedKeys(scores) {
				row(set, name, scores[name])
				entry[name] = scores[name]
				misses[name] = bm[name]
			}
			if info != nil {
				entry["baselines"] = info
			}
		}
		results[set] = entry
	}
	tw.Flush()
	if cd.conjoin != nil {
		for _, set := range names {
			e := results[set].(map[string]any)
			fmt.Fprintf(w, "%s: prediction for x equals prediction for its reverse complement on %.2f%% (plain), %.2f%% (conjoined)\n",
				set, 100*e["agreement"].(float64), 100*e["agreement_conjoined"].(float64))
		}
	}
	for _, set := range names {
		fmt.Fprintf(w, "confusion matrix (%s): %s\n", set, results[set].(map[string]any)["confusion_png"])
	}
	return results, nil
}

// agreement is the fraction of examples whose most probable class is the
// same under two predictions.
func agreement(a, b [][]float64) float64 {
	same := 0
	for i := range a {
		if classify.Predicted(a[i]) == classify.Predicted(b[i]) {
			same++
		}
	}
	return float64(same) / float64(max(len(a), 1))
}

// missesReport is results.json's record of a model's wrong predictions:
// how many, and (up to classify.MaxMisses) which, with class names.
func missesReport(ids []string, probs [][]float64, labels []int32, classes []string) map[string]any {
	list, n := classify.Misses(ids, probs, labels)
	examples := make([]map[string]any, len(list))
	for i, m := range list {
		examples[i] = map[string]any{"id": m.ID, "class": classes[m.Label], "predicted": classes[m.Predicted],
			"p_class": m.PLabel, "p_predicted": m.PPred}
	}
	return map[string]any{"n": n, "examples": examples}
}

func writeResults(out string, results map[string]any, w io.Writer) error {
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(out, "results.json")
	if err := tensorfile.WriteAtomic(path, func(f *os.File) error { _, err := f.Write(append(b, '\n')); return err }); err != nil {
		return err
	}
	fmt.Fprintf(w, "results: %s\n", path)
	return nil
}

func writeMetaFile(dir string, meta map[string]any) error {
	return tensorfile.WriteAtomic(filepath.Join(dir, "mambakit.json"), func(f *os.File) error {
		_, err := f.Write(writeMeta(meta))
		return err
	})
}

// loadClassifier reads a classifier directory and its mambakit.json, which
// gives its modality, crop length and, for audio, rate and clip length.
func loadClassifier(dir string, be core.Backend) (*mamba.Classifier, map[string]any, int, error) {
	c, _, err := checkpoint.LoadClassifier(dir, be)
	if err != nil {
		return nil, nil, 0, err
	}
	meta, err := readMeta(dir)
	if err != nil {
		return nil, nil, 0, err
	}
	modality, _ := meta["modality"].(string)
	L, _ := meta["seq_len"].(float64)
	if modality == "" || L < 1 {
		return nil, nil, 0, fmt.Errorf("%s: mambakit.json does not give the classifier's modality and seq_len", dir)
	}
	return c, meta, int(L), nil
}

// loadEnsemble loads the classifiers of models, comma-separated model
// directories: one, or an ensemble whose probabilities are averaged, and
// fills o with the data options they were trained with (metaOptions). The
// members must share their classes and those options.
func loadEnsemble(models string, device *deviceSpec, o *classOptions) ([]classify.Member, error) {
	be, err := device.open()
	if err != nil {
		return nil, err
	}
	dirs := strings.Split(models, ",")
	for k, dir := range dirs {
		if dirs[k] = strings.TrimSpace(dir); dirs[k] == "" {
			return nil, usagef("--model %q: an empty directory in the list", models)
		}
	}
	var ms []classify.Member
	var first classOptions // the first member's options, as metaOptions sets them
	for k, dir := range dirs {
		c, meta, L, err := loadClassifier(dir, be)
		if err != nil {
			return nil, err
		}
		var oi classOptions
		metaOptions(&oi, meta)
		if k == 0 {
			first = oi
			metaOptions(o, meta)
		} else if !slices.Equal(c.Labels, ms[0].C.Labels) {
			return nil, fmt.Errorf("ensemble: %s has the classes %v, %s %v", dir, c.Labels, dirs[0], ms[0].C.Labels)
		} else if oi != first {
			return nil, fmt.Errorf("ensemble: %s was trained on other data options than %s (%+v, %+v)", dir, dirs[0], oi, first)
		}
		ms = append(ms, classify.Member{C: c, L: L})
	}
	return ms, nil
}

// metaOptions fills the data options a classifier was trained with.
func metaOptions(o *classOptions, meta map[string]any) {
	o.modality, _ = meta["modality"].(string)
	if r, ok := meta["rate"].(float64); ok && r > 0 {
		o.rate = int(r)
	}
	if s, ok := meta["seconds"].(float64); ok && s > 0 {
		o.seconds = s
	}
	o.rmsLevel, _ = meta["rms_level"].(float64) // absent: clips were not normalised
}

func runClassifyEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("classify eval", "classify eval --model DIR[,DIR...] (--task T | --data PATH) [...]", stdout)
	var o classOptions
	finish := classDataFlags(fs, &o)
	model := fs.String("model", "", "classifier directory (the model/ folder classify train writes), or several, comma-separated: an ensemble, their probabilities averaged")
	batch := fs.Int("batch", 16, "sequences per forward pass")
	seed := fs.Uint64("seed", 1, "seed of the task's sampling (species task)")
	out := fs.String("out", "", "folder for confusion PNGs and results.json (default: the model's folder)")
	device := deviceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	finish()
	if err := required(fs, "model"); err != nil {
		return err
	}
	if *out == "" && strings.Contains(*model, ",") {
		return usagef("classify eval: an ensemble (several --model) needs --out")
	}
	ms, err := loadEnsemble(*model, device, &o)
	if err != nil {
		return err
	}
	o.seed, o.scoreOnly = *seed, true
	cd, err := loadClassData(o)
	if err != nil {
		return err
	}
	if labels := ms[0].C.Labels; !slices.Equal(cd.classes, labels) {
		return fmt.Errorf("the data's classes %v differ from the model's %v", cd.classes, labels)
	}
	if *out == "" {
		*out = *model
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	results, err := scoreAndReport(ms, cd, *batch, *out, stdout, stderr, false)
	if err != nil {
		return err
	}
	return writeResults(*out, results, stdout)
}

func runClassifyPredict(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("classify predict", "classify predict --model DIR[,DIR...] --input FILE|FOLDER --out preds.tsv [--conjoin]", stdout)
	model := fs.String("model", "", "classifier directory, or several, comma-separated: an ensemble, their probabilities averaged")
	input := fs.String("input", "", "DNA: a FASTA file; audio: a folder of audio files")
	outPath := fs.String("out", "", "TSV to write (id, class, one probability column per class)")
	conjoin := fs.Bool("conjoin", false, "DNA: average the predictions for each sequence and its reverse complement")
	batch := fs.Int("batch", 16, "sequences per forward pass")
	device := deviceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", "input", "out"); err != nil {
		return err
	}
	var o classOptions
	ms, err := loadEnsemble(*model, device, &o)
	if err != nil {
		return err
	}
	cd, err := predictReader(o)
	if err != nil {
		return err
	}
	ex, err := cd.readPredict(*input)
	if err != nil {
		return err
	}
	var conj func([]int32) []int32
	if *conjoin {
		if cd.conjoin == nil {
			return usagef("classify predict: --conjoin is for DNA models")
		}
		conj = cd.conjoin
	}
	bar := progressBar(stderr, len(ex)*len(ms), "sequences", "predicting")
	plain, conjoined, err := classify.PredictEnsemble(ms, ex, cd.pad, *batch, conj, bar)
	if err != nil {
		return err
	}
	probs := plain
	if conj != nil {
		probs = conjoined
	}
	labels := ms[0].C.Labels
	var b strings.Builder
	b.WriteString("id\tclass")
	for _, l := range labels {
		b.WriteString("\tp_" + l)
	}
	b.WriteString("\n")
	for i, e := range ex {
		fmt.Fprintf(&b, "%s\t%s", e.ID, labels[classify.Predicted(probs[i])])
		for _, p := range probs[i] {
			fmt.Fprintf(&b, "\t%.6f", p)
		}
		b.WriteString("\n")
	}
	if err := tensorfile.WriteAtomic(*outPath, func(f *os.File) error { _, err := f.WriteString(b.String()); return err }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d predictions written to %s\n", len(ex), *outPath)
	return nil
}

// predictReader returns what a modality needs for prediction without a
// labelled dataset.
func predictReader(o classOptions) (*classData, error) {
	if f, ok := predictReaders[o.modality]; ok {
		return f(o), nil
	}
	return nil, fmt.Errorf("no predictor for modality %q", o.modality)
}

// predictReaders give each modality's reader of unlabelled inputs.
var predictReaders = map[string]func(classOptions) *classData{
	"dna": func(classOptions) *classData {
		return &classData{pad: dna.PAD, conjoin: dna.ReverseComplement, readPredict: dnaReadPredict}
	},
	"audio": func(o classOptions) *classData {
		return &classData{pad: 128, readPredict: func(p string) ([]classify.Example, error) { return audioPredict(p, o.rate, o.seconds, o.rmsLevel) }}
	},
}
