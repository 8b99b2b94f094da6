package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mambakit/mambakit/core/tensorfile"
	"github.com/mambakit/mambakit/datasets"
	"github.com/mambakit/mambakit/modalities/audio"
	"github.com/mambakit/mambakit/pipelines/classify"
)

var fixtures = []string{"mamba1-tiny", "mamba1-bias-untied", "mamba1-original-tiny"}

func fixture(name string) string { return filepath.Join("..", "..", "testdata", name) }

// mamba runs the command line and returns its status, stdout and stderr.
func cli(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func relErr(got, want []float64) float64 {
	m, e := 0.0, 0.0
	for i := range want {
		m = math.Max(m, math.Abs(want[i]))
		e = math.Max(e, math.Abs(got[i]-want[i]))
	}
	return e / m
}

func relL2(got, want []float64) float64 {
	var n, d float64
	for i := range want {
		n += (got[i] - want[i]) * (got[i] - want[i])
		d += want[i] * want[i]
	}
	return math.Sqrt(n / d)
}

// TestDumpMatchesTransformers runs `mamba dump` on each fixture, reading the
// token ids from the reference file itself, and compares every tensor it
// writes with transformers' reference.
func TestDumpMatchesTransformers(t *testing.T) {
	for _, name := range fixtures {
		for _, recurrent := range []bool{false, true} {
			out := filepath.Join(t.TempDir(), "dump.safetensors")
			refPath := filepath.Join(fixture(name), "reference.safetensors")
			args := []string{"dump", "--model", fixture(name), "--tokens", refPath, "--out", out}
			if recurrent {
				args = append(args, "--recurrent")
			}
			if code, _, stderr := cli(args...); code != 0 {
				t.Fatalf("%v: status %d: %s", args, code, stderr)
			}
			got, err := tensorfile.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			ref, _ := tensorfile.Open(refPath)
			n := 0
			for _, tn := range got.Names() {
				g, gs, err := got.Float64(tn)
				if err != nil {
					t.Fatal(err)
				}
				w, ws, err := ref.Float64(tn)
				if err != nil {
					t.Fatalf("%s: dump wrote %q, which the reference lacks", name, tn)
				}
				if fmt.Sprint(gs) != fmt.Sprint(ws) {
					t.Fatalf("%s %s: shape %v, reference %v", name, tn, gs, ws)
				}
				var e, tol float64
				switch {
				case strings.HasPrefix(tn, "grad."):
					e, tol = relL2(g, w), 1e-4
				default:
					e, tol = relErr(g, w), 1e-5
				}
				if e > tol {
					t.Errorf("%s %s (recurrent %v): error %.3g > %g", name, tn, recurrent, e, tol)
				}
				n++
			}
			want := 2
			if !recurrent {
				want = 0
				for _, rn := range ref.Names() {
					if rn != "input_ids" && !strings.HasPrefix(rn, "generate.") {
						want++
					}
				}
			}
			if n != want {
				t.Errorf("%s (recurrent %v): dump wrote %d tensors, want %d", name, recurrent, n, want)
			}
		}
	}
}

func TestGenerateMatchesTransformers(t *testing.T) {
	for _, name := range fixtures {
		ref, err := tensorfile.Open(filepath.Join(fixture(name), "reference.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		prompt, _, _ := ref.Int64("generate.prompt")
		want, _, _ := ref.Int64("generate.output")
		ids := make([]string, len(prompt))
		for i, v := range prompt {
			ids[i] = fmt.Sprint(v)
		}
		code, stdout, stderr := cli("generate", "--model", fixture(name), "--prompt-ids", strings.Join(ids, ","),
			"--max-new-tokens", fmt.Sprint(len(want)-len(prompt)), "--greedy", "--format", "ids")
		if code != 0 {
			t.Fatalf("status %d: %s", code, stderr)
		}
		ws := make([]string, len(want))
		for i, v := range want {
			ws[i] = fmt.Sprint(v)
		}
		if got := strings.TrimSpace(stdout); got != strings.Join(ws, " ") {
			t.Errorf("%s: generated %q, want %q", name, got, strings.Join(ws, " "))
		}
	}
}

func TestInfo(t *testing.T) {
	code, out, stderr := cli("info", "--model", fixture("mamba1-bias-untied"))
	if code != 0 {
		t.Fatalf("status %d: %s", code, stderr)
	}
	// 40·24 embedding + 24 norm_f + 40·24 head, and per layer 24 + 96·24 + 96 +
	// 48·3 + 48 + 11·48 + 48·3 + 48 + 48·4 + 48 + 24·48 + 24.
	layer := 24 + 96*24 + 96 + 48*3 + 48 + 11*48 + 48*3 + 48 + 48*4 + 48 + 24*48 + 24
	want := fmt.Sprintf("parameters     %d", 40*24*2+24+3*layer)
	if !strings.Contains(out, want) || !strings.Contains(out, "huggingface layout") {
		t.Errorf("info printed\n%s\nwant a line %q", out, want)
	}
}

func TestHelpAndUsageErrors(t *testing.T) {
	for name := range commands {
		code, out, _ := cli(name, "--help")
		if code != 0 || !strings.Contains(out, "Usage: mamba "+name) || !strings.Contains(out, "Flags:") {
			t.Errorf("%s --help: status %d, output %q", name, code, out)
		}
	}
	if code, out, _ := cli("help"); code != 0 || !strings.Contains(out, "dump") {
		t.Errorf("help: status %d, output %q", code, out)
	}
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"dump", "--model", "x"}, 2, "--tokens is required"},
		{[]string{"dump", "--bogus"}, 2, "bogus"},
		{[]string{"generate", "--model", fixture("mamba1-tiny"), "--prompt-ids", "1,x", "--greedy"}, 2, `item 2 ("x")`},
		{[]string{"generate", "--model", fixture("mamba1-tiny"), "--prompt-ids", "1,99", "--greedy"}, 1, "position 1"},
		{[]string{"generate", "--model", fixture("mamba1-tiny"), "--prompt-ids", "1", "--prompt", "a"}, 2, "exactly one"},
		{[]string{"generate", "--model", fixture("mamba1-tiny"), "--prompt", "a"}, 1, "--tokenizer"},
		{[]string{"generate", "--model", fixture("mamba1-tiny"), "--prompt-ids", "1", "--top-p", "0"}, 2, "top-p"},
		{[]string{"info", "--model", t.TempDir()}, 1, "config.json"},
		{[]string{"dump", "--model", fixture("mamba1-tiny"), "--tokens", filepath.Join(fixture("mamba1-tiny"), "model.safetensors"), "--out", "x"}, 1, `no tensor "input_ids"`},
		{[]string{"bench", "--preset", "huge"}, 2, "unknown preset"},
		{[]string{"dump", "--device", "tpu", "--model", "a", "--tokens", "b", "--out", "c"}, 2, "unknown backend"},
		{[]string{"pretrain", "--precision", "fp16"}, 2, `--precision "fp16"`},
	}
	for _, c := range cases {
		code, _, stderr := cli(c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: status %d, stderr %q; want status %d mentioning %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}

// TestPretrainEvalGenerate runs the text pipeline end to end through the
// command line on a few steps of a tiny model.
func TestPretrainEvalGenerate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := cli("pretrain", "--size", "tiny", "--steps", "4", "--batch", "2", "--seq-len", "32",
		"--eval-every", "2", "--save-every", "2", "--eval-seqs", "4", "--out", out)
	if code != 0 {
		t.Fatalf("pretrain: status %d: %s", code, stderr)
	}
	for _, want := range []string{"trained 4 steps", "bits per byte", "checkpoint-4", "loss.png", "sample"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("pretrain output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = cli("eval", "--model", out, "--data", filepath.Join(out, "heldout.txt"), "--seq-len", "64", "--max-seqs", "4")
	if code != 0 || !strings.Contains(stdout, "bits/byte") || !strings.Contains(stdout, "4 sequences of 64 evaluated") {
		t.Fatalf("eval: status %d: %s%s", code, stdout, stderr)
	}
	// Without --max-seqs every token but the first is scored, though the
	// stream is no whole number of windows.
	code, stdout, stderr = cli("eval", "--model", out, "--data", filepath.Join(out, "heldout.txt"), "--seq-len", "64")
	var tokens, scored int
	if _, err := fmt.Sscanf(stdout[strings.Index(stdout, "data"):], "data 1 document(s), %d tokens (byte tokenizer); all %d next-token", &tokens, &scored); code != 0 ||
		err != nil || scored != tokens-1 || tokens%64 == 1 {
		t.Fatalf("eval of the whole text: status %d, %d tokens, %d scored (%v): %s%s", code, tokens, scored, err, stdout, stderr)
	}
	if code, stdout, stderr = cli("info", "--model", out); code != 0 || !strings.Contains(stdout, "checkpoint-4") {
		t.Errorf("info on a training run: status %d: %s%s", code, stdout, stderr)
	}
	code, stdout, stderr = cli("generate", "--model", out, "--prompt", "Call me", "--max-new-tokens", "10", "--top-k", "1")
	code2, stdout2, _ := cli("generate", "--model", out, "--prompt", "Call me", "--max-new-tokens", "10", "--greedy")
	if code != 0 || code2 != 0 || !strings.HasPrefix(stdout, "Call me") || stdout != stdout2 {
		t.Fatalf("generate: top-k 1 %q (status %d, %s) differs from greedy %q", stdout, code, stderr, stdout2)
	}
	// Mixed precision: the same run in bf16 trains, and its checkpoints are
	// the float32 ones eval reads.
	outBF := filepath.Join(t.TempDir(), "run-bf16")
	code, stdout, stderr = cli("pretrain", "--size", "tiny", "--steps", "4", "--batch", "2", "--seq-len", "32",
		"--eval-seqs", "4", "--precision", "bf16", "--out", outBF)
	if code != 0 || !strings.Contains(stdout, "trained 4 steps") {
		t.Fatalf("pretrain --precision bf16: status %d: %s%s", code, stdout, stderr)
	}
	if code, stdout, stderr = cli("eval", "--model", outBF, "--data", filepath.Join(outBF, "heldout.txt"), "--seq-len", "64",
		"--max-seqs", "4", "--precision", "bf16"); code != 0 || !strings.Contains(stdout, "bits/byte") {
		t.Fatalf("eval --precision bf16: status %d: %s%s", code, stdout, stderr)
	}
	// Resuming a finished run changes nothing but is accepted; a fresh run
	// into the same folder is refused.
	if code, _, stderr := cli("pretrain", "--size", "tiny", "--steps", "4", "--batch", "2", "--seq-len", "32", "--out", out); code == 0 ||
		!strings.Contains(stderr, "--resume") {
		t.Errorf("a second run into %s: status %d, %s", out, code, stderr)
	}
}

// TestClassifyDNA trains a tiny DNA classifier through the command line on a
// Genomic Benchmarks folder whose classes differ in composition, then
// evaluates and predicts with it.
func TestClassifyDNA(t *testing.T) {
	root := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	seq := func(gc float64) string {
		b := make([]byte, 60)
		for i := range b {
			if r.Float64() < gc {
				b[i] = "GC"[r.IntN(2)]
			} else {
				b[i] = "AT"[r.IntN(2)]
			}
		}
		return string(b)
	}
	var fasta strings.Builder
	for _, split := range []string{"train", "test"} {
		for _, c := range []struct {
			cls string
			gc  float64
		}{{"gc_rich", 0.8}, {"at_rich", 0.2}} { // in order: the same data every run
			cls, gc := c.cls, c.gc
			dir := filepath.Join(root, split, cls)
			os.MkdirAll(dir, 0o755)
			for i := 0; i < 12; i++ {
				s := seq(gc)
				os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.txt", i)), []byte(s+"\n"), 0o644)
				if split == "test" && i < 2 {
					fmt.Fprintf(&fasta, ">%s_%d\n%s\n", cls, i, s)
				}
			}
		}
	}
	out := filepath.Join(t.TempDir(), "cls")
	code, stdout, stderr := cli("classify", "train", "--modality", "dna", "--data", root, "--size", "tiny", "--steps", "40",
		"--seq-len", "60", "--batch", "8", "--lr", "3e-3", "--rc-augment", "--out", out)
	if code != 0 {
		t.Fatalf("classify train: status %d: %s", code, stderr)
	}
	// The run left training checkpoints: a new run over them is refused, the
	// same command with --resume finds the run complete and scores it again.
	args := []string{"classify", "train", "--modality", "dna", "--data", root, "--size", "tiny", "--steps", "40",
		"--seq-len", "60", "--batch", "8", "--lr", "3e-3", "--rc-augment", "--out", out}
	if code, _, stderr := cli(args...); code == 0 || !strings.Contains(stderr, "--resume") {
		t.Errorf("classify train over a run's checkpoints: status %d: %s", code, stderr)
	}
	if code, stdout, stderr := cli(append(args, "--resume")...); code != 0 || !strings.Contains(stderr, "checkpoint-40 (step 40)") ||
		!strings.Contains(stdout, "test      mamba") {
		t.Errorf("classify train --resume of a finished run: status %d: %s%s", code, stdout, stderr)
	}
	for _, want := range []string{"mamba, conjoined", "6-mer naive Bayes", "100.00% (conjoined)", "confusion-test.png"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("classify train output lacks %q:\n%s", want, stdout)
		}
	}
	// --baseline-k picks the baselines' k-mer size, within 1 … 8.
	out4 := filepath.Join(t.TempDir(), "cls4")
	if code, stdout, stderr := cli("classify", "train", "--modality", "dna", "--data", root, "--size", "tiny", "--steps", "2",
		"--seq-len", "60", "--batch", "8", "--baseline-k", "4", "--save-every", "0", "--out", out4); code != 0 ||
		!strings.Contains(stdout, "4-mer naive Bayes") || !strings.Contains(stdout, "4-mer logistic regression") ||
		strings.Contains(stdout, "6-mer") {
		t.Errorf("classify train --baseline-k 4: status %d: %s%s", code, stdout, stderr)
	}
	if code, _, stderr := cli("classify", "train", "--modality", "dna", "--data", root, "--baseline-k", "9",
		"--out", filepath.Join(t.TempDir(), "cls9")); code != 2 || !strings.Contains(stderr, "--baseline-k 9") {
		t.Errorf("classify train --baseline-k 9: status %d (want 2, a usage error): %s", code, stderr)
	}
	var res map[string]any
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil || json.Unmarshal(b, &res) != nil {
		t.Fatalf("results.json: %v", err)
	}
	acc := res["test"].(map[string]any)["mamba"].(map[string]any)["Accuracy"].(float64)
	if acc < 0.9 {
		t.Errorf("accuracy %.3f on an easy composition task", acc)
	}
	// Every model's misses are listed (this task is easy: none, so far;
	// TestMissesReport checks a list with misses in it).
	checkMisses(t, out, "6")
	checkMisses(t, out4, "4")
	// The baselines record how they were fitted: the L2 chosen on validation.
	bl, _ := res["test"].(map[string]any)["baselines"].(map[string]any)
	if l2, ok := bl["logistic_l2"].(float64); !ok || !slices.Contains([]float64{1e-3, 1e-2, 1e-1}, l2) || bl["k"] != 6.0 {
		t.Errorf("results.json baselines: %v", bl)
	}
	evalOut := filepath.Join(t.TempDir(), "new", "eval")
	code, stdout, stderr = cli("classify", "eval", "--model", filepath.Join(out, "model"), "--data", root, "--out", evalOut)
	if code != 0 || !strings.Contains(stdout, "mamba") {
		t.Fatalf("classify eval: status %d: %s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(evalOut, "results.json")); err != nil {
		t.Errorf("classify eval --out a new folder: %v", err)
	}
	// An ensemble of a model with itself scores as the model; with the
	// 2-step model of --baseline-k 4 it is an ensemble of two.
	single, ens := readTestMetrics(t, evalOut), filepath.Join(t.TempDir(), "ens")
	m1, m4 := filepath.Join(out, "model"), filepath.Join(out4, "model")
	if code, stdout, stderr := cli("classify", "eval", "--model", m1+","+m1, "--data", root, "--out", ens); code != 0 ||
		!strings.Contains(stdout, "mamba ×2, conjoined") {
		t.Fatalf("classify eval of an ensemble: status %d: %s%s", code, stdout, stderr)
	}
	if twice := readTestMetrics(t, ens); math.Abs(twice["Loss"]-single["Loss"]) > 1e-9 || twice["Accuracy"] != single["Accuracy"] {
		t.Errorf("a model ensembled with itself: %v, alone %v", twice, single)
	}
	if code, _, stderr := cli("classify", "eval", "--model", m1+","+m4, "--data", root, "--out", ens); code != 0 {
		t.Errorf("classify eval of two models: status %d: %s", code, stderr)
	} else if two := readTestMetrics(t, ens); two["Loss"] == single["Loss"] {
		t.Errorf("an ensemble with another model scores exactly as one model: %v", two)
	}
	if code, _, stderr := cli("classify", "eval", "--model", m1+","+m4, "--data", root); code != 2 || !strings.Contains(stderr, "needs --out") {
		t.Errorf("classify eval of an ensemble without --out: status %d: %s", code, stderr)
	}
	if code, _, stderr := cli("classify", "eval", "--model", m1+",", "--data", root, "--out", ens); code != 2 || !strings.Contains(stderr, "an empty directory") {
		t.Errorf("classify eval --model with an empty entry: status %d: %s", code, stderr)
	}
	fa := filepath.Join(t.TempDir(), "x.fa")
	os.WriteFile(fa, []byte(fasta.String()), 0o644)
	tsv := filepath.Join(t.TempDir(), "p.tsv")
	code, _, stderr = cli("classify", "predict", "--model", filepath.Join(out, "model"), "--input", fa, "--out", tsv, "--conjoin")
	if code != 0 {
		t.Fatalf("classify predict: %s", stderr)
	}
	p, _ := os.ReadFile(tsv)
	tsv2 := filepath.Join(t.TempDir(), "p2.tsv")
	if code, _, stderr := cli("classify", "predict", "--model", m1+","+m1, "--input", fa, "--out", tsv2, "--conjoin"); code != 0 {
		t.Errorf("classify predict with an ensemble: %s", stderr)
	} else if p2, _ := os.ReadFile(tsv2); string(p2) != string(p) {
		t.Errorf("predictions of a model ensembled with itself differ from its own:\n%s\n%s", p2, p)
	}
	lines := strings.Split(strings.TrimSpace(string(p)), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "id\tclass\tp_at_rich\tp_gc_rich") {
		t.Fatalf("predictions:\n%s", p)
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if !strings.HasPrefix(f[0], f[1]) {
			t.Errorf("prediction %q: the class should match the name", l)
		}
	}
}

// checkMisses checks the misses results.json in dir lists for the test set
// of each model (baselines of k-mers): as many as its confusion matrix has
// off the diagonal, each with a true class other than the predicted one and
// the example's ID.
func checkMisses(t *testing.T, dir, k string) {
	t.Helper()
	var res map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil || json.Unmarshal(b, &res) != nil {
		t.Fatalf("%s/results.json: %v", dir, err)
	}
	test := res["test"].(map[string]any)
	misses := test["misses"].(map[string]any)
	for _, name := range []string{"mamba", "mamba_conjoined", k + "-mer naive Bayes", k + "-mer logistic regression"} {
		mm, ok := misses[name].(map[string]any)
		if !ok {
			t.Errorf("%s: no misses for %q", dir, name)
			continue
		}
		off := 0
		for i, row := range test[name].(map[string]any)["Confusion"].([]any) {
			for j, v := range row.([]any) {
				if i != j {
					off += int(v.(float64))
				}
			}
		}
		ex, _ := mm["examples"].([]any)
		if int(mm["n"].(float64)) != off || len(ex) != off {
			t.Errorf("%s, %s: %v misses (%d listed), the confusion matrix has %d", dir, name, mm["n"], len(ex), off)
		}
		for _, e := range ex {
			if e := e.(map[string]any); e["class"] == e["predicted"] || !strings.Contains(e["id"].(string), "/"+e["class"].(string)+"/") {
				t.Errorf("%s, %s: miss %v", dir, name, e)
			}
		}
	}
}

// TestMissesReport checks results.json's record of misses on probabilities
// with known wrong predictions, a tie (the first class predicted) and more
// misses than classify.MaxMisses.
func TestMissesReport(t *testing.T) {
	classes := []string{"a", "b", "c"}
	probs := [][]float64{{0.7, 0.2, 0.1}, {0.2, 0.3, 0.5}, {0.4, 0.4, 0.2}, {0.1, 0.8, 0.1}}
	labels := []int32{0, 1, 1, 1}
	got := missesReport([]string{"x0", "x1", "x2", "x3"}, probs, labels, classes)
	want := map[string]any{"n": 2, "examples": []map[string]any{
		{"id": "x1", "class": "b", "predicted": "c", "p_class": 0.3, "p_predicted": 0.5},
		{"id": "x2", "class": "b", "predicted": "a", "p_class": 0.4, "p_predicted": 0.4},
	}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("misses %v, want %v", got, want)
	}
	n := classify.MaxMisses + 5
	many, ids, wrong := make([][]float64, n), make([]string, n), make([]int32, n)
	for i := range many {
		many[i], ids[i], wrong[i] = []float64{0.9, 0.1, 0}, fmt.Sprint(i), 1
	}
	if r := missesReport(ids, many, wrong, classes); r["n"] != n || len(r["examples"].([]map[string]any)) != classify.MaxMisses {
		t.Errorf("%d misses: n %v, %d listed; want all counted and %d listed", n, r["n"], len(r["examples"].([]map[string]any)), classify.MaxMisses)
	}
}

// readTestMetrics reads the plain metrics of the test set from a
// results.json in dir.
func readTestMetrics(t *testing.T, dir string) map[string]float64 {
	t.Helper()
	var res struct {
		Test struct {
			Mamba map[string]any `json:"mamba"`
		} `json:"test"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err == nil {
		err = json.Unmarshal(b, &res)
	}
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	out := map[string]float64{}
	for k, v := range res.Test.Mamba {
		if f, ok := v.(float64); ok {
			out[k] = f
		}
	}
	return out
}

// TestAudioPipeline pretrains a tiny audio model, generates from it, and
// trains a classifier on a folder of two kinds of tones, through the
// command line.
func TestAudioPipeline(t *testing.T) {
	root := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	for cls, f0 := range map[string]float64{"low": 220, "high": 1500} {
		dir := filepath.Join(root, cls)
		os.MkdirAll(dir, 0o755)
		for i := 0; i < 10; i++ {
			x := make([]float32, 4000)
			f := f0 * (1 + 0.1*r.Float64())
			for j := range x {
				x[j] = float32(0.5*math.Sin(2*math.Pi*f*float64(j)/8000) + 0.02*r.NormFloat64())
			}
			if err := datasets.WriteWAV16(filepath.Join(dir, fmt.Sprintf("v%d_%d.wav", i%5, i)), x, 8000); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A recording with a header and no samples is reported and passed over.
	extra := t.TempDir()
	hdr := []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00")
	if err := os.WriteFile(filepath.Join(extra, "empty.wav"), hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "apre")
	code, stdout, stderr := cli("pretrain", "--modality", "audio", "--data", root+","+extra, "--rate", "8000", "--size", "tiny",
		"--steps", "3", "--batch", "2", "--seq-len", "400", "--eval-seqs", "4", "--out", run)
	if code != 0 || !strings.Contains(stdout, "bits per sample") || !strings.Contains(stderr, "empty.wav") {
		t.Fatalf("pretrain audio: status %d: %s%s", code, stdout, stderr)
	}
	wav := filepath.Join(t.TempDir(), "gen.wav")
	if code, _, stderr := cli("generate", "--modality", "text", "--model", run, "--prompt", "x"); code == 0 ||
		!strings.Contains(stderr, "is a model for audio") {
		t.Errorf("generate --modality text on an audio model: status %d: %s", code, stderr)
	}
	code, stdout, stderr = cli("generate", "--modality", "audio", "--model", run, "--seconds", "0.05", "--out", wav, "--seed", "3")
	if code != 0 {
		t.Fatalf("generate audio: %s%s", stdout, stderr)
	}
	x, rate, err := datasets.ReadAudio(wav)
	if err != nil || rate != 8000 || len(x) != 401 {
		t.Fatalf("generated %d samples at %d Hz (%v), want 1 + 400 at 8000", len(x), rate, err)
	}
	if _, err := os.Stat(strings.TrimSuffix(wav, ".wav") + ".png"); err != nil {
		t.Errorf("no PNG beside the WAV: %v", err)
	}
	// Continuing a prompt: the WAV holds the prompt (μ-law quantised) and
	// then the new samples.
	clip := make([]float32, 300)
	for j := range clip {
		clip[j] = float32(0.5 * math.Sin(float64(j)/5))
	}
	promptWav := filepath.Join(t.TempDir(), "prompt.wav")
	if err := datasets.WriteWAV16(promptWav, clip, 8000); err != nil {
		t.Fatal(err)
	}
	cont := filepath.Join(t.TempDir(), "cont.wav")
	if code, stdout, stderr := cli("generate", "--modality", "audio", "--model", run, "--prompt-wav", promptWav,
		"--seconds", "0.02", "--out", cont, "--seed", "3"); code != 0 {
		t.Fatalf("generate audio from a prompt: %s%s", stdout, stderr)
	}
	y, _, err := datasets.ReadAudio(cont)
	if err != nil || len(y) != 300+160 {
		t.Fatalf("continued clip: %d samples (%v), want 300 + 160", len(y), err)
	}
	p, _, _ := datasets.ReadAudio(promptWav)
	want := audio.MuLawDecode(audio.MuLawEncode(p))
	for j := range want {
		if math.Abs(float64(y[j]-want[j])) > 1.0/32768 {
			t.Fatalf("sample %d of the prompt became %g, want %g", j, y[j], want[j])
		}
	}
	out := filepath.Join(t.TempDir(), "acls")
	code, stdout, stderr = cli("classify", "train", "--modality", "audio", "--data", root, "--rate", "8000",
		"--seconds", "0.25", "--holdout-voices", "v4_", "--size", "tiny", "--steps", "30", "--seq-len", "2000",
		"--batch", "4", "--lr", "3e-3", "--out", out)
	if code != 0 {
		t.Fatalf("classify audio: status %d: %s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "test      mamba") || !strings.Contains(stdout, "confusion-test.png") {
		t.Errorf("classify audio output:\n%s", stdout)
	}
	tsv := filepath.Join(t.TempDir(), "p.tsv")
	code, _, stderr = cli("classify", "predict", "--model", filepath.Join(out, "model"), "--input", filepath.Join(root, "low"), "--out", tsv)
	if code != 0 {
		t.Fatalf("classify predict audio: %s", stderr)
	}
	if b, _ := os.ReadFile(tsv); strings.Count(string(b), "\n") != 11 {
		t.Errorf("predictions:\n%s", b)
	}
}
