package classify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/optim"
	"github.com/mambakit/mambakit/kernels/cpu"
)

// testClassifier is a small classifier with the same weights every time.
func testClassifier(t *testing.T) *mamba.Classifier { return testClassifierSeeded(t, 1) }

// testClassifierSeeded is testClassifier with the weights of seed.
func testClassifierSeeded(t *testing.T, seed uint64) *mamba.Classifier {
	t.Helper()
	be := cpu.New()
	m, err := mamba.New(mamba.DefaultConfig(16, 2, 8), be)
	if err != nil {
		t.Fatal(err)
	}
	m.P.Init(m.Cfg, be, rand.New(rand.NewPCG(seed, 2)))
	c, err := mamba.NewClassifier(m, []string{"a", "b"}, mamba.PoolMean, rand.New(rand.NewPCG(seed+2, 4)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testExamples are sequences of class 0 (mostly ids 1-3) and 1 (mostly 4-6).
func testExamples(n int) []Example {
	r := rand.New(rand.NewPCG(5, 6))
	ex := make([]Example, n)
	for i := range ex {
		label := int32(i % 2)
		ids := make([]int32, 20+r.IntN(20))
		for j := range ids {
			ids[j] = 1 + 3*label + int32(r.IntN(3))
			if r.Float64() < 0.3 {
				ids[j] = int32(r.IntN(8))
			}
		}
		ex[i] = Example{ID: fmt.Sprint(i), IDs: ids, Label: label}
	}
	return ex
}

// stepLosses reads the per-step training losses of a metrics log, with
// every bit of each value.
func stepLosses(t *testing.T, path string) map[int]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var step int
		json.Unmarshal(m["step"], &step)
		if l, ok := m["loss"]; ok {
			if _, dup := out[step]; dup {
				t.Fatalf("%s: step %d logged twice", path, step)
			}
			out[step] = string(l)
		}
	}
	return out
}

// TestTrainResume interrupts a run, resumes it, and checks that losses and
// final weights equal those of an uninterrupted run bit for bit.
func TestTrainResume(t *testing.T) {
	train, val := testExamples(40), testExamples(10)
	oc := optim.DefaultConfig(3e-3, 12)
	oc.WarmupSteps = 2
	cfg := func(out string) Config {
		return Config{SeqLen: 24, Pad: 0, Batch: 4, Steps: 12, Optim: oc, Seed: 7, EvalEvery: 5, OutDir: out,
			SaveEvery: 4, Keep: 10, Augment: func(ids []int32, r *rand.Rand) []int32 {
				if r.IntN(2) == 0 { // a random-dependent transform, as real augmentations are
					for i := range ids {
						ids[i] = 7 - ids[i]
					}
				}
				return ids
			}}
	}
	full := filepath.Join(t.TempDir(), "full")
	cFull := testClassifier(t)
	if _, err := Train(context.Background(), cFull, train, val, cfg(full)); err != nil {
		t.Fatal(err)
	}

	// Interrupt after step 6: the context is cancelled from the augmentation
	// of step 7's batch, so step 7 completes and is logged, then the run
	// saves checkpoint-7 and stops. Dropping that checkpoint leaves what a
	// kill after step 7 would: checkpoint-4, and metrics beyond it.
	part := filepath.Join(t.TempDir(), "part")
	ctx, cancel := context.WithCancel(context.Background())
	pc := cfg(part)
	aug, calls := pc.Augment, 0
	pc.Augment = func(ids []int32, r *rand.Rand) []int32 {
		if calls++; calls == 6*pc.Batch+1 {
			cancel()
		}
		return aug(ids, r)
	}
	if _, err := Train(ctx, testClassifier(t), train, val, pc); err != ErrInterrupted {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(part, "checkpoint-7")); err != nil {
		t.Fatalf("no checkpoint on interruption: %v", err)
	}
	os.RemoveAll(filepath.Join(part, "checkpoint-7"))
	if _, err := Train(context.Background(), testClassifier(t), train, val, cfg(part)); err == nil {
		t.Fatal("a new run over a run's checkpoints was accepted")
	}
	rc := cfg(part)
	rc.Resume = true
	var said strings.Builder
	rc.Out = &said
	resumedBatches := 0
	rc.Augment = func(ids []int32, r *rand.Rand) []int32 { resumedBatches++; return aug(ids, r) }
	cPart := testClassifier(t)
	if _, err := Train(context.Background(), cPart, train, val, rc); err != nil {
		t.Fatal(err)
	}
	// It went on from step 4: eight steps of four examples.
	if !strings.Contains(said.String(), "checkpoint-4 (step 4)") || resumedBatches != 8*rc.Batch {
		t.Fatalf("resumed with %d augmented examples, want %d; said:\n%s", resumedBatches, 8*rc.Batch, said.String())
	}

	a, b := stepLosses(t, filepath.Join(full, "metrics.jsonl")), stepLosses(t, filepath.Join(part, "metrics.jsonl"))
	if len(a) != 12 || len(b) != 12 {
		t.Fatalf("logged %d and %d steps, want 12", len(a), len(b))
	}
	for s := 1; s <= 12; s++ {
		if a[s] != b[s] {
			t.Errorf("step %d: loss %s uninterrupted, %s resumed", s, a[s], b[s])
		}
	}
	for i, p := range cFull.List() {
		x, y := cFull.M.Ops.ToHost(p.T), cPart.M.Ops.ToHost(cPart.List()[i].T)
		for j := range x {
			if x[j] != y[j] {
				t.Fatalf("%s[%d]: %v uninterrupted, %v resumed", p.Name, j, x[j], y[j])
			}
		}
	}
	// A resume that asks for another run is refused.
	other := cfg(part)
	other.Resume, other.Seed = true, 8
	if _, err := Train(context.Background(), testClassifier(t), train, val, other); err == nil {
		t.Error("resumed a run with another seed")
	}
}

// TestTrainTimeLimit stops a run by its time limit: after at least one step
// and before the last, with a validation and a checkpoint of the step it
// stopped at.
func TestTrainTimeLimit(t *testing.T) {
	train, val := testExamples(40), testExamples(10)
	out := filepath.Join(t.TempDir(), "run")
	cfg := Config{SeqLen: 24, Batch: 4, Steps: 50, Optim: optim.DefaultConfig(3e-3, 50), Seed: 7, OutDir: out,
		SaveEvery: 100, TimeLimit: 150 * time.Millisecond,
		Augment: func(ids []int32, _ *rand.Rand) []int32 { time.Sleep(10 * time.Millisecond); return ids }}
	res, err := Train(context.Background(), testClassifier(t), train, val, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimeLimited || res.Steps < 1 || res.Steps >= cfg.Steps || res.Val == nil {
		t.Fatalf("time-limited run: limited %v after %d steps, validation %v", res.TimeLimited, res.Steps, res.Val)
	}
	if _, err := os.Stat(filepath.Join(out, fmt.Sprintf("checkpoint-%d", res.Steps))); err != nil {
		t.Errorf("no checkpoint of the last step: %v", err)
	}
	if n := len(stepLosses(t, filepath.Join(out, "metrics.jsonl"))); n != res.Steps {
		t.Errorf("%d steps logged, %d run", n, res.Steps)
	}
}

// TestPredictBoth checks PredictBoth against separate plain predictions of
// the central crops and of their transforms: plain is the first, conjoined
// the mean of both.
func TestPredictBoth(t *testing.T) {
	c := testClassifier(t)
	ex := testExamples(11) // lengths 20 … 39, around L = 30
	const L = 30
	rev := func(ids []int32) []int32 {
		out := make([]int32, len(ids))
		for i, v := range ids {
			out[len(ids)-1-i] = 7 - v
		}
		return out
	}
	plain, conj, err := PredictBoth(c, ex, L, 0, 4, rev, nil)
	if err != nil {
		t.Fatal(err)
	}
	tx := make([]Example, len(ex))
	for i, e := range ex {
		cr, n := crop(e.IDs, L, 0, nil)
		tx[i] = Example{IDs: rev(cr[:n])}
	}
	p, err1 := Predict(c, ex, L, 0, 4, nil, nil)
	q, err2 := Predict(c, tx, L, 0, 4, nil, nil)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i := range ex {
		for k := range p[i] {
			if want := (p[i][k] + q[i][k]) / 2; plain[i][k] != p[i][k] || math.Abs(conj[i][k]-want) > 1e-12 {
				t.Fatalf("example %d class %d: PredictBoth %v / %v, want %v / %v", i, k, plain[i][k], conj[i][k], p[i][k], want)
			}
		}
	}
}

// TestPredictEnsemble checks an ensemble's probabilities against the mean of
// its members' own, each read at its own L; and that a one-member ensemble
// is that member.
func TestPredictEnsemble(t *testing.T) {
	c1, c2 := testClassifier(t), testClassifierSeeded(t, 7)
	ex := testExamples(9)
	rev := func(ids []int32) []int32 {
		out := slices.Clone(ids)
		slices.Reverse(out)
		return out
	}
	p1, q1, err1 := PredictBoth(c1, ex, 30, 0, 4, rev, nil)
	p2, q2, err2 := PredictBoth(c2, ex, 24, 0, 4, rev, nil)
	pe, qe, err3 := PredictEnsemble([]Member{{c1, 30}, {c2, 24}}, ex, 0, 4, rev, nil)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	differ := false
	for i := range ex {
		for k := range pe[i] {
			if math.Abs(pe[i][k]-(p1[i][k]+p2[i][k])/2) > 1e-12 || math.Abs(qe[i][k]-(q1[i][k]+q2[i][k])/2) > 1e-12 {
				t.Fatalf("example %d class %d: ensemble %v / %v, members %v, %v / %v, %v", i, k, pe[i][k], qe[i][k], p1[i][k], p2[i][k], q1[i][k], q2[i][k])
			}
			differ = differ || math.Abs(p1[i][k]-p2[i][k]) > 1e-3
		}
	}
	if !differ {
		t.Error("the two members predict the same: the test shows nothing")
	}
	one, _, err := PredictEnsemble([]Member{{c2, 24}}, ex, 0, 4, nil, nil)
	if err != nil || !slices.EqualFunc(one, p2, slices.Equal[[]float64]) {
		t.Errorf("a one-member ensemble differs from its member (%v)", err)
	}
}
