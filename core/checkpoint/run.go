package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/core/tensorfile"
)

// A training run directory holds checkpoint-<step>/ folders. Each is a
// Hugging Face model directory (config.json + model.safetensors, so every
// command that takes --model reads it) plus optimizer.safetensors, the
// pipeline's own files, and trainer_state.json, written last, which records
// the SHA-256 of every other file. A folder is built under a temporary name
// and renamed into place, so a killed run leaves either a whole checkpoint or
// none; one whose files do not match their hashes is skipped on resume.

// TrainState is what a checkpoint records besides weights and moments.
type TrainState struct {
	Step           int               `json:"step"`
	Tokens         int64             `json:"tokens"`
	ElapsedSeconds float64           `json:"elapsed_seconds"`
	MetricsOffset  int64             `json:"metrics_offset"` // bytes of the metrics log at this step
	Pipeline       json.RawMessage   `json:"pipeline,omitempty"`
	Files          map[string]string `json:"files"` // SHA-256 of each other file
}

const stateFile = "trainer_state.json"

// SaveTraining writes checkpoint-<step> in runDir atomically: the model, the
// optimizer state (float32 tensors by name, with their shapes), extra files
// (name → contents) and st. It returns the checkpoint's path.
func SaveTraining(runDir string, m *mamba.Model, opt map[string][]float32, optShapes map[string][]int,
	extra map[string][]byte, st TrainState) (string, error) {
	return saveTraining(runDir, func(dir string) error { return Save(dir, m) }, opt, optShapes, extra, st)
}

// SaveClassifierTraining is SaveTraining for a classifier: its checkpoints
// are classifier directories (SaveClassifier) that LoadClassifier reads.
func SaveClassifierTraining(runDir string, c *mamba.Classifier, opt map[string][]float32, optShapes map[string][]int,
	extra map[string][]byte, st TrainState) (string, error) {
	return saveTraining(runDir, func(dir string) error { return SaveClassifier(dir, c) }, opt, optShapes, extra, st)
}

// saveTraining writes a checkpoint whose weights save writes into a folder.
func saveTraining(runDir string, save func(dir string) error, opt map[string][]float32, optShapes map[string][]int,
	extra map[string][]byte, st TrainState) (string, error) {
	final := filepath.Join(runDir, fmt.Sprintf("checkpoint-%d", st.Step))
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(runDir, fmt.Sprintf(".checkpoint-%d.tmp-", st.Step))
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // no-op once renamed
	if err := save(tmp); err != nil {
		return "", err
	}
	names := make([]string, 0, len(opt))
	for n := range opt {
		names = append(names, n)
	}
	sort.Strings(names)
	var ts []tensorfile.Tensor
	for _, n := range names {
		ts = append(ts, tensorfile.F32(n, optShapes[n], opt[n]))
	}
	if err := tensorfile.Write(filepath.Join(tmp, "optimizer.safetensors"), ts, nil); err != nil {
		return "", err
	}
	for name, b := range extra {
		if err := tensorfile.WriteAtomic(filepath.Join(tmp, name), func(f *os.File) error {
			_, err := f.Write(b)
			return err
		}); err != nil {
			return "", err
		}
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return "", err
	}
	st.Files = map[string]string{}
	for _, e := range entries {
		sum, err := fileHash(filepath.Join(tmp, e.Name()))
		if err != nil {
			return "", err
		}
		st.Files[e.Name()] = sum
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := tensorfile.WriteAtomic(filepath.Join(tmp, stateFile), func(f *os.File) error {
		_, err := f.Write(append(b, '\n'))
		return err
	}); err != nil {
		return "", err
	}
	if _, err := os.Stat(final); err == nil {
		// A checkpoint of this step exists (a save on interrupt right after a
		// periodic one): keep a valid one, replace a broken one.
		if _, verr := VerifyTraining(final); verr == nil {
			return final, nil
		}
		if err := os.RemoveAll(final); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	syncDir(runDir)
	return final, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func fileHash(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// VerifyTraining reads a checkpoint's trainer_state.json and checks every
// file it lists against its hash.
func VerifyTraining(dir string) (TrainState, error) {
	var st TrainState
	raw, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, fmt.Errorf("%s: incomplete checkpoint: %w", dir, err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	if len(st.Files) == 0 {
		return st, fmt.Errorf("%s: %s lists no files", dir, stateFile)
	}
	for name, want := range st.Files {
		got, err := fileHash(filepath.Join(dir, name))
		if err != nil {
			return st, fmt.Errorf("%s: %w", dir, err)
		}
		if got != want {
			return st, fmt.Errorf("%s: %s does not match its recorded SHA-256 (corrupt or partly written)", dir, name)
		}
	}
	return st, nil
}

// checkpointSteps lists the checkpoint-<step> folders of runDir, newest first.
func checkpointSteps(runDir string) ([]int, error) {
	entries, err := os.ReadDir(runDir)
	if err != nil {
		return nil, err
	}
	var steps []int
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "checkpoint-") {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "checkpoint-")); err == nil {
			steps = append(steps, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(steps)))
	return steps, nil
}

// LatestTraining returns the newest checkpoint of runDir that verifies, its
// state, and the problems of any newer ones it passed over. It returns an
// error if there is none.
func LatestTraining(runDir string) (string, TrainState, []error, error) {
	steps, err := checkpointSteps(runDir)
	if err != nil {
		return "", TrainState{}, nil, err
	}
	var skipped []error
	for _, s := range steps {
		dir := filepath.Join(runDir, fmt.Sprintf("checkpoint-%d", s))
		st, err := VerifyTraining(dir)
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		return dir, st, skipped, nil
	}
	return "", TrainState{}, skipped, fmt.Errorf("%s: no complete checkpoint", runDir)
}

// ResumeFrom finds the checkpoint a run continues from: the newest of
// runDir that verifies (newer broken ones are returned in skipped, to be
// reported), which must have been written by the same run — its recorded
// pipeline key equal to key, compared as JSON — and returns it with its
// state and optimizer tensors.
func ResumeFrom(runDir string, key any) (dir string, st TrainState, opt map[string][]float32, skipped []error, err error) {
	dir, st, skipped, err = LatestTraining(runDir)
	if err != nil {
		return "", st, nil, skipped, err
	}
	want, err := json.Marshal(key)
	if err != nil {
		panic(fmt.Sprintf("checkpoint.ResumeFrom: key %+v: %v", key, err))
	}
	var have bytes.Buffer // trainer_state.json holds the key indented
	if err := json.Compact(&have, st.Pipeline); err != nil || !bytes.Equal(have.Bytes(), want) {
		return "", st, nil, skipped, fmt.Errorf("%s was trained with %s, this run asks for %s; resuming would not continue the same run (use another output folder)",
			dir, have.Bytes(), want)
	}
	if opt, err = ReadOptimizer(dir); err != nil {
		return "", st, nil, skipped, err
	}
	return dir, st, opt, skipped, nil
}

// PruneTraining removes all but the keep newest checkpoints of runDir, and
// leftovers of interrupted saves.
func PruneTraining(runDir string, keep int) error {
	steps, err := checkpointSteps(runDir)
	if err != nil {
		return err
	}
	for i, s := range steps {
		if i >= keep {
			if err := os.RemoveAll(filepath.Join(runDir, fmt.Sprintf("checkpoint-%d", s))); err != nil {
				return err
			}
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(runDir, ".checkpoint-*.tmp-*"))
	for _, t := range tmps {
		os.RemoveAll(t)
	}
	return nil
}

// Resolve turns a --model argument into a model directory: dir itself when
// it holds config.json, else the newest complete checkpoint of the training
// run dir.
func Resolve(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		return dir, nil
	}
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	ck, _, _, err := LatestTraining(dir)
	if err != nil {
		return "", fmt.Errorf("%s: neither a model directory (no config.json) nor a training run with a checkpoint", dir)
	}
	return ck, nil
}

// ReadOptimizer reads optimizer.safetensors of a checkpoint.
func ReadOptimizer(dir string) (map[string][]float32, error) {
	f, err := tensorfile.Open(filepath.Join(dir, "optimizer.safetensors"))
	if err != nil {
		return nil, err
	}
	out := map[string][]float32{}
	for _, n := range f.Names() {
		v, _, err := f.Float32(n)
		if err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, nil
}

// MetricsLog is a training run's metrics.jsonl, one JSON object a line,
// written through line by line. It continues from the offset a checkpoint
// recorded (TrainState.MetricsOffset) and cuts what followed, so that a
// resumed run's log reads as if the run had never stopped.
type MetricsLog struct {
	f   *os.File
	off int64
}

// OpenMetrics opens the log at path to continue at offset (0: a new log).
func OpenMetrics(path string, offset int64) (*MetricsLog, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(offset); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &MetricsLog{f: f, off: offset}, nil
}

// Log appends v as one line.
func (l *MetricsLog) Log(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	n, err := l.f.Write(append(b, '\n'))
	l.off += int64(n)
	if err != nil {
		return fmt.Errorf("%s: %w", l.f.Name(), err)
	}
	return nil
}

// Offset is the log's length: what the next checkpoint records.
func (l *MetricsLog) Offset() int64 { return l.off }

// Close closes the log.
func (l *MetricsLog) Close() error { return l.f.Close() }
