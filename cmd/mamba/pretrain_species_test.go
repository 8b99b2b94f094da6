package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPretrainSpeciesSplit checks that `pretrain --task species` reads the
// species task's training strains and never its held-out ones: the
// held-out genomes hold bases the tokenizer rejects, so reading one would
// fail the run.
func TestPretrainSpeciesSplit(t *testing.T) {
	root := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	genome := func(rel, seq string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(">chr\n"+seq+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bases := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ACGT"[r.IntN(4)]
		}
		return string(b)
	}
	genome("A/a1.fa", bases(3000))
	genome("A/a2.fa", "ACGT!") // held out
	genome("B/b1.fa", bases(3000))
	genome("B/b2.fa", bases(3000))
	genome("B/b3.fa", "ACGT!") // held out
	out := filepath.Join(t.TempDir(), "run")
	code, _, stderr := cli("pretrain", "--modality", "dna", "--task", "species", "--data", root, "--size", "tiny",
		"--steps", "1", "--batch", "2", "--seq-len", "32", "--eval-every", "1", "--save-every", "1", "--eval-seqs", "2", "--out", out)
	if code != 0 {
		t.Fatalf("pretrain: status %d: %s", code, stderr)
	}
	for _, want := range []string{"pretraining on the 3 training genomes", "held out, never read: A: a2.fa, B: b3.fa", "data: 3 FASTA file(s)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// Without --task the same folder reads every genome, held-out ones included.
	if code, _, stderr := cli("pretrain", "--modality", "dna", "--data", root, "--size", "tiny", "--steps", "1",
		"--out", filepath.Join(t.TempDir(), "all")); code == 0 || !strings.Contains(stderr, "a2.fa") {
		t.Errorf("without --task: status %d, stderr %q; want the held-out genome's bad base reported", code, stderr)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--modality", "text", "--task", "species"}, "--task is for --modality dna"},
		{[]string{"--modality", "dna", "--task", "genus", "--data", root}, `--task "genus"`},
		{[]string{"--modality", "dna", "--task", "species", "--data", root + "," + root}, "takes one --data folder"},
		{[]string{"--modality", "dna", "--task", "species", "--data", root, "--bed", "x.bed"}, "takes no --bed"},
	} {
		code, _, stderr := cli(append([]string{"pretrain", "--steps", "1", "--out", filepath.Join(t.TempDir(), "e")}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: status %d, stderr %q; want an error mentioning %q", c.args, code, stderr, c.msg)
		}
	}
}

// TestClassifySpeciesAbout checks results.json's description of the species
// task: classify train states its training and test counts and the seed;
// classify eval, which trains nothing, states only the test set it scored
// (its --per-class default is not what the model was trained on).
func TestClassifySpeciesAbout(t *testing.T) {
	root := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	for _, f := range []string{"A/a1.fa", "A/a2.fa", "B/b1.fa", "B/b2.fa"} {
		b := make([]byte, 2000)
		for i := range b {
			b[i] = "ACGT"[r.IntN(4)]
		}
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(">chr\n"+string(b)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	about := func(dir string) string {
		t.Helper()
		var res struct{ About string }
		b, err := os.ReadFile(filepath.Join(dir, "results.json"))
		if err != nil || json.Unmarshal(b, &res) != nil {
			t.Fatalf("results.json: %v %s", err, b)
		}
		return res.About
	}
	run := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := cli("classify", "train", "--modality", "dna", "--task", "species", "--data", root, "--frag-len", "50",
		"--per-class", "6", "--test-per-class", "3", "--seq-len", "50", "--size", "tiny", "--steps", "1", "--batch", "4",
		"--baseline=false", "--save-every", "0", "--seed", "5", "--out", run); code != 0 {
		t.Fatalf("classify train: status %d: %s", code, stderr)
	}
	if got, want := about(run), "species task: 50-base fragments, 6 per species for training from the other strains, 3 per species for testing from held-out strains (A: a2.fa; B: b2.fa), seed 5"; got != want {
		t.Errorf("train's about:\n got %q\nwant %q", got, want)
	}
	ev := filepath.Join(t.TempDir(), "eval")
	if code, _, stderr := cli("classify", "eval", "--model", filepath.Join(run, "model"), "--task", "species", "--data", root,
		"--frag-len", "50", "--test-per-class", "4", "--out", ev); code != 0 {
		t.Fatalf("classify eval: status %d: %s", code, stderr)
	}
	if got, want := about(ev), "species task: 50-base fragments, 4 per species for testing from held-out strains (A: a2.fa; B: b2.fa), seed 1"; got != want {
		t.Errorf("eval's about:\n got %q\nwant %q", got, want)
	}
}
