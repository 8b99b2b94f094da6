package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPretrainMaskedBidirectional pretrains a bidirectional DNA model by
// masked-base prediction through the command line, checks what it wrote
// (a bidirectional config, validation in bits per masked base), that a
// resume with another mask rate is refused, and the usage errors of the
// objective flags.
func TestPretrainMaskedBidirectional(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	seq := make([]byte, 4000)
	for i := range seq {
		seq[i] = "ACGT"[r.IntN(4)]
	}
	fa := filepath.Join(t.TempDir(), "g.fa")
	if err := os.WriteFile(fa, []byte(">g\n"+string(seq)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"pretrain", "--modality", "dna", "--data", fa, "--size", "tiny", "--bidirectional", "--objective", "masked",
		"--steps", "2", "--batch", "2", "--seq-len", "64", "--eval-every", "1", "--save-every", "1", "--eval-seqs", "2", "--out", out}
	code, stdout, stderr := cli(args...)
	if code != 0 {
		t.Fatalf("pretrain: status %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "bidirectional true") || !strings.Contains(stderr, "objective masked") ||
		!strings.Contains(stdout, "bits per masked base") {
		t.Errorf("the run does not say it is bidirectional and masked:\nstdout %s\nstderr %s", stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "checkpoint-2", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Bidirectional bool `json:"bidirectional"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil || !cfg.Bidirectional {
		t.Errorf("checkpoint config: bidirectional %v (%v)", cfg.Bidirectional, err)
	}
	metrics, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil || !strings.Contains(string(metrics), `"unit":"masked base"`) {
		t.Errorf("metrics.jsonl has no validation in masked bases (%v)", err)
	}
	if code, _, stderr := cli("eval", "--model", out, "--data", fa); code == 0 || !strings.Contains(stderr, "is bidirectional") {
		t.Errorf("eval of the bidirectional model: status %d, stderr %q; want a refusal", code, stderr)
	}
	resume := append(append([]string{}, args...), "--resume", "--mask-rate", "0.3")
	if code, _, stderr := cli(resume...); code == 0 || !strings.Contains(stderr, `"Objective":"masked 0.15"`) {
		t.Errorf("resume with another mask rate: status %d, stderr %q; want a refusal naming the run's objective", code, stderr)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--modality", "dna", "--data", fa, "--bidirectional"}, "cannot learn next-token prediction"},
		{[]string{"--modality", "text", "--objective", "masked"}, "the text tokens have no mask token"},
		{[]string{"--modality", "dna", "--data", fa, "--objective", "bert"}, `--objective "bert"`},
		{[]string{"--modality", "dna", "--data", fa, "--objective", "masked", "--mask-rate", "1"}, "--mask-rate 1 must be in (0, 1)"},
		{[]string{"--modality", "dna", "--data", fa, "--mask-rate", "0.2"}, "--mask-rate is for --objective masked"},
	} {
		code, _, stderr := cli(append([]string{"pretrain", "--steps", "1", "--out", filepath.Join(t.TempDir(), "e")}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: status %d, stderr %q; want usage status 2 mentioning %q", c.args, code, stderr, c.msg)
		}
	}
}
