package train

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/optim"
	"github.com/mambakit/mambakit/datasets"
	"github.com/mambakit/mambakit/kernels/cpu"
)

const vocab = 32

// stream is a learnable token sequence: mostly next = 3·prev + 1 mod 32,
// sometimes a random token.
func stream(n int, seed uint64) []int32 {
	r := rand.New(rand.NewPCG(seed, 9))
	s := make([]int32, n)
	for i := 1; i < n; i++ {
		if r.Float64() < 0.2 {
			s[i] = int32(r.IntN(vocab))
		} else {
			s[i] = (3*s[i-1] + 1) % vocab
		}
	}
	return s
}

// slowData delays every batch, so that a child process can be killed
// between two checkpoints.
type slowData struct {
	datasets.StreamData
	delay time.Duration
}

func (d *slowData) Batch(step, micro, B, L int) ([]int32, []int32) {
	time.Sleep(d.delay)
	return d.StreamData.Batch(step, micro, B, L)
}

func testConfig(out string) Config {
	oc := optim.DefaultConfig(1e-2, 40)
	oc.WarmupSteps = 5
	return Config{Batch: 4, SeqLen: 16, Accum: 2, Seed: 3, Optim: oc, Steps: 40, EvalEvery: 20, EvalSeqs: 8,
		SaveEvery: 10, Keep: 2, OutDir: out, Unit: "token"}
}

func testModel(t testing.TB) *mamba.Model {
	m, err := mamba.New(mamba.DefaultConfig(16, 2, vocab), cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	m.P.Init(m.Cfg, m.Ops.Backend, rand.New(rand.NewPCG(11, 12)))
	return m
}

func testData(delay time.Duration) Data {
	return &slowData{StreamData: datasets.StreamData{Train: stream(5000, 1), Val: stream(1000, 2), Seed: 5}, delay: delay}
}

// losses reads the per-step training losses and validation losses of a
// metrics log, as "step:loss" strings with every bit of the value.
func losses(t testing.TB, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m struct {
			Step    int
			Loss    *float64
			ValLoss *float64 `json:"val_loss"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if m.Loss != nil {
			out = append(out, fmt.Sprintf("%d:%x", m.Step, math.Float64bits(*m.Loss)))
		}
		if m.ValLoss != nil {
			out = append(out, fmt.Sprintf("%d:val:%x", m.Step, math.Float64bits(*m.ValLoss)))
		}
	}
	return out
}

// TestMain lets the test binary act as a training process that the kill
// test can SIGKILL.
func TestMain(m *testing.M) {
	if out := os.Getenv("MAMBAKIT_TRAIN_CHILD"); out != "" {
		cfg := testConfig(out)
		cfg.Resume = os.Getenv("MAMBAKIT_TRAIN_RESUME") != ""
		if _, err := Run(context.Background(), testModel(nil), testData(40*time.Millisecond), cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKillAndResume kills a training process with SIGKILL after its first
// checkpoints, resumes it, and requires the same loss sequence, bit for bit,
// as an uninterrupted run.
func TestKillAndResume(t *testing.T) {
	ref := t.TempDir()
	if _, err := Run(context.Background(), testModel(t), testData(0), testConfig(ref)); err != nil {
		t.Fatal(err)
	}
	want := losses(t, filepath.Join(ref, "metrics.jsonl"))
	if len(want) != 42 {
		t.Fatalf("uninterrupted run logged %d losses, want 40 steps + 2 validations", len(want))
	}

	out := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "MAMBAKIT_TRAIN_CHILD="+out)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once checkpoint-20 exists and step 23 is logged: mid-way
	// between two checkpoints.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("the child never reached step 23")
		}
		if _, err := os.Stat(filepath.Join(out, "checkpoint-20")); err == nil {
			if l := losses(t, filepath.Join(out, "metrics.jsonl")); len(l) > 0 && strings.HasPrefix(l[len(l)-1], "23:") {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := child.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	if got := losses(t, filepath.Join(out, "metrics.jsonl")); len(got) < 24 || len(got) >= len(want) {
		t.Fatalf("the killed run logged %d losses; the kill did not land mid-run", len(got))
	}
	// Resume in another process, as a user would.
	again := exec.Command(os.Args[0], "-test.run=^$")
	again.Env = append(os.Environ(), "MAMBAKIT_TRAIN_CHILD="+out, "MAMBAKIT_TRAIN_RESUME=1")
	again.Stderr = os.Stderr
	if err := again.Run(); err != nil {
		t.Fatalf("resumed run: %v", err)
	}
	got := losses(t, filepath.Join(out, "metrics.jsonl"))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("resumed losses differ from the uninterrupted run:\n got  %v\n want %v", got, want)
	}
}

// TestCorruptCheckpointSkipped damages the newest checkpoint: resuming must
// fall back to the previous one and still reproduce the run.
func TestCorruptCheckpointSkipped(t *testing.T) {
	ref := t.TempDir()
	if _, err := Run(context.Background(), testModel(t), testData(0), testConfig(ref)); err != nil {
		t.Fatal(err)
	}
	want := losses(t, filepath.Join(ref, "metrics.jsonl"))

	out := t.TempDir()
	cfg := testConfig(out)
	cfg.Steps = 30 // checkpoints 20 and 30 kept
	cfg.Keep = 2
	cfg.Optim.TotalSteps = 40
	if _, err := Run(context.Background(), testModel(t), testData(0), cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, "checkpoint-30", "model.safetensors")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-3] ^= 0x40
	os.WriteFile(path, b, 0o644)
	cfg = testConfig(out)
	cfg.Resume = true
	var msgs strings.Builder
	cfg.Out = &msgs
	if _, err := Run(context.Background(), testModel(t), testData(0), cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msgs.String(), "checkpoint-30") || !strings.Contains(msgs.String(), "SHA-256") {
		t.Errorf("resume did not report the corrupt checkpoint: %q", msgs.String())
	}
	got := losses(t, filepath.Join(out, "metrics.jsonl"))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("losses after resuming from the older checkpoint differ:\n got  %v\n want %v", got, want)
	}
}

func TestInterruptSavesAndResumes(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	d := &cancelAfter{Data: testData(0), step: 7, cancel: cancel}
	res, err := Run(ctx, testModel(t), d, testConfig(out))
	if err != ErrInterrupted {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if res.Steps != 7 || !strings.HasSuffix(res.Checkpoint, "checkpoint-7") {
		t.Fatalf("interrupted at step %d with checkpoint %q, want step 7", res.Steps, res.Checkpoint)
	}
	cfg := testConfig(out)
	if _, err := Run(context.Background(), testModel(t), testData(0), cfg); err == nil ||
		!strings.Contains(err.Error(), "--resume") {
		t.Errorf("a second run into the same folder without --resume: %v", err)
	}
	cfg.Resume = true
	if _, err := Run(context.Background(), testModel(t), testData(0), cfg); err != nil {
		t.Fatal(err)
	}
	ref := t.TempDir()
	Run(context.Background(), testModel(t), testData(0), testConfig(ref))
	if a, b := losses(t, filepath.Join(out, "metrics.jsonl")), losses(t, filepath.Join(ref, "metrics.jsonl")); strings.Join(a, " ") != strings.Join(b, " ") {
		t.Errorf("interrupted-and-resumed losses differ from an uninterrupted run")
	}
	if _, err := os.Stat(filepath.Join(out, "loss.png")); err != nil {
		t.Errorf("no loss curve: %v", err)
	}
}

// cancelAfter cancels the context while step `step` is being trained.
type cancelAfter struct {
	Data
	step   int
	cancel func()
}

func (c *cancelAfter) Batch(step, micro, B, L int) ([]int32, []int32) {
	if step == c.step && micro == 1 {
		c.cancel()
	}
	return c.Data.Batch(step, micro, B, L)
}

func TestNaNLossStops(t *testing.T) {
	m := testModel(t)
	h := m.Ops.ToHost(m.P.NormF)
	h[3] = float32(math.NaN())
	m.Ops.Upload(m.P.NormF, h)
	_, err := Run(context.Background(), m, testData(0), testConfig(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "step 1: the loss is NaN") {
		t.Fatalf("err = %v, want one naming step 1 and NaN", err)
	}
}

func TestTrainingLearnsAndIsDeterministic(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Steps, cfg.Optim.TotalSteps = 60, 60
	res, err := Run(context.Background(), testModel(t), testData(0), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// An untrained model scores about log 32 = 3.47 nats; the source's
	// entropy is about 0.8·0 + (mixing) ≈ 0.9 nats.
	if res.ValLoss > 1.6 {
		t.Errorf("validation loss %.3f after 60 steps; the model did not learn", res.ValLoss)
	}
	cfg2 := testConfig(t.TempDir())
	cfg2.Steps, cfg2.Optim.TotalSteps = 60, 60
	res2, _ := Run(context.Background(), testModel(t), testData(0), cfg2)
	if math.Float64bits(res.ValLoss) != math.Float64bits(res2.ValLoss) {
		t.Errorf("two runs with one seed differ: %v vs %v", res.ValLoss, res2.ValLoss)
	}
}

func TestSeqLenWarmup(t *testing.T) {
	c := Config{Batch: 4, SeqLen: 256, SeqWarmupStart: 32, SeqWarmupSteps: 30}
	want := map[int][2]int{1: {32, 32}, 10: {32, 32}, 11: {64, 16}, 21: {128, 8}, 30: {128, 8}, 31: {256, 4}, 100: {256, 4}}
	for step, w := range want {
		if L, B := c.SeqLenAt(step); L != w[0] || B != w[1] {
			t.Errorf("step %d: length %d batch %d, want %v", step, L, B, w)
		}
	}
}

// TestEvaluateStream scores every prediction of a stream whose length is not
// a whole number of windows, against the same windows scored one by one.
func TestEvaluateStream(t *testing.T) {
	m := testModel(t)
	s := stream(2*7+4, 9) // windows of 7: two whole ones and a last of 3
	units := func(id int32) float64 { return float64(1 + id%3) }
	done := 0
	loss, bits, n, err := EvaluateStream(m, s, 7, 2, units, func(k int) { done += k })
	if err != nil {
		t.Fatal(err)
	}
	if n != len(s)-1 || done != n {
		t.Fatalf("scored %d predictions (progress told %d), want %d", n, done, len(s)-1)
	}
	var nats, u float64
	for _, w := range [][2]int{{0, 7}, {7, 14}, {14, 17}} {
		pass, err := m.Forward(s[w[0]:w[1]], 1, w[1]-w[0], mamba.ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mean, c := m.Loss(pass, s[w[0]+1:w[1]+1])
		nats += mean * float64(c)
		for _, id := range s[w[0]+1 : w[1]+1] {
			u += units(id)
		}
	}
	if want := nats / 17; math.Abs(loss-want) > 1e-6*want {
		t.Errorf("loss %.9g, want %.9g", loss, want)
	}
	if want := nats / math.Ln2 / u; math.Abs(bits-want) > 1e-6*want {
		t.Errorf("bits per unit %.9g, want %.9g", bits, want)
	}
	if _, _, _, err := EvaluateStream(m, s[:1], 7, 2, nil, nil); err == nil {
		t.Error("a one-token stream was scored")
	}
}
