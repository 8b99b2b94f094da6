package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mambakit/mambakit/core/tensorfile"
	"github.com/mambakit/mambakit/datasets"
	"github.com/mambakit/mambakit/modalities/audio"
	"github.com/mambakit/mambakit/pipelines/classify"
)

// digitWords name the classes of the spoken-digit task; file d.wav of an
// Asterisk voice is the word digitWords[d].
var digitWords = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// audioFiles expands files and folders into .wav and .flac files.
func audioFiles(paths []string) ([]string, error) { return expandFiles(paths, ".wav", ".flac") }

// readAt reads an audio file resampled to rate.
func readAt(path string, rate int) ([]float32, error) {
	x, r, err := datasets.ReadAudio(path)
	if err != nil {
		return nil, err
	}
	if r != rate {
		x = audio.Resample(x, r, rate)
	}
	return x, nil
}

// prepareAudio reads recordings, holds out 5 % of the files, and turns
// them into 8-bit μ-law token streams for next-sample prediction.
func prepareAudio(o modalityOptions) (*prepared, error) {
	if len(o.data) == 0 {
		return nil, usagef("pretrain: --modality audio needs --data (WAV/FLAC files or folders)")
	}
	files, err := audioFiles(o.data)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(o.seed, 0xa0d))
	order := r.Perm(len(files))
	nVal := max(1, int(float64(len(files))*o.valFrac+0.5))
	var trainIDs, valIDs []int32
	var held []float32
	var seconds float64
	var empty []string
	for k, i := range order {
		x, err := readAt(files[i], o.rate)
		if errors.Is(err, datasets.ErrNoSamples) {
			empty = append(empty, files[i]) // reported below; nothing to learn from
			continue
		}
		if err != nil {
			return nil, err
		}
		seconds += float64(len(x)) / float64(o.rate)
		ids := audio.MuLawEncode(x)
		if k < nVal {
			valIDs = append(valIDs, ids...)
			held = append(held, audio.MuLawDecode(ids)...)
		} else {
			trainIDs = append(trainIDs, ids...)
		}
	}
	if len(trainIDs) < o.seqLen+1 || len(valIDs) < o.seqLen+1 {
		return nil, fmt.Errorf("the audio is too short for --seq-len %d: %d training and %d held-out samples", o.seqLen, len(trainIDs), len(valIDs))
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, err
	}
	// The held-out audio, for comparisons: its μ-law codes (one byte per
	// sample, what the model predicts) and the same audio as a WAV.
	codes := make([]byte, len(valIDs))
	for i, v := range valIDs {
		codes[i] = byte(v)
	}
	mu := filepath.Join(o.out, "heldout.mulaw")
	if err := tensorfile.WriteAtomic(mu, func(f *os.File) error { _, err := f.Write(codes); return err }); err != nil {
		return nil, err
	}
	if err := datasets.WriteWAV16(filepath.Join(o.out, "heldout.wav"), held, o.rate); err != nil {
		return nil, err
	}
	if len(empty) > 0 {
		fmt.Fprintf(o.stderr, "%d file(s) hold no samples and add nothing: %s\n", len(empty), strings.Join(empty, ", "))
	}
	return &prepared{
		data:  &datasets.StreamData{Train: trainIDs, Val: valIDs, Seed: o.seed},
		vocab: audio.MuLawClasses,
		unit:  "sample",
		units: audio.Units,
		extra: map[string][]byte{"mambakit.json": writeMeta(map[string]any{"modality": "audio", "encoding": "mulaw8", "rate": o.rate})},
		summary: fmt.Sprintf("data: %d files (%.1f minutes) at %d Hz, 8-bit μ-law; %d files held out: %d training and %d held-out samples (held-out codes in %s)",
			len(files), seconds/60, o.rate, nVal, len(trainIDs), len(valIDs), mu),
	}, nil
}

// fitLength crops (centrally) or pads (with silence) x to n samples.
func fitLength(x []float32, n int) []float32 {
	out := make([]float32, n)
	if len(x) >= n {
		off := (len(x) - n) / 2
		copy(out, x[off:off+n])
		return out
	}
	copy(out[(n-len(x))/2:], x)
	return out
}

// audioExample reads one clip as μ-law tokens of exactly seconds·rate
// samples, first scaled to RMS level (when level > 0).
func audioExample(path string, rate int, seconds, level float64, label int32) (classify.Example, error) {
	x, err := readAt(path, rate)
	if err != nil {
		return classify.Example{}, err
	}
	if level > 0 {
		normalizeRMS(x, level)
	}
	x = fitLength(x, int(seconds*float64(rate)))
	return classify.Example{ID: path, IDs: audio.MuLawEncode(x), Label: label}, nil
}

// normalizeRMS scales x in place so that its root mean square is level,
// clipping to [-1, 1]; silence stays silence.
func normalizeRMS(x []float32, level float64) {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if s == 0 {
		return
	}
	g := level / math.Sqrt(s/float64(len(x)))
	for i, v := range x {
		x[i] = float32(max(-1, min(1, float64(v)*g)))
	}
}

// clipAugment is the training augmentation of audio classification: a
// random gain of ±6 dB, a random shift of up to an eighth of the crop
// (filled with silence) and white noise of a random level up to 0.01 RMS,
// applied to the decoded waveform and quantised again.
func clipAugment(ids []int32, r *rand.Rand) []int32 {
	gain := math.Pow(10, (12*r.Float64()-6)/20)
	maxShift := len(ids) / 8
	shift := r.IntN(2*maxShift+1) - maxShift
	return audio.MuLawEncode(shiftGainNoise(audio.MuLawDecode(ids), gain, shift, 0.01*r.Float64(), r))
}

// shiftGainNoise returns y[i] = gain·x[i−shift] (0 outside x) + sigma·n[i],
// n standard normal from r, clipped to [-1, 1].
func shiftGainNoise(x []float32, gain float64, shift int, sigma float64, r *rand.Rand) []float32 {
	y := make([]float32, len(x))
	for i := range y {
		var v float64
		if j := i - shift; j >= 0 && j < len(x) {
			v = gain * float64(x[j])
		}
		if sigma > 0 {
			v += sigma * r.NormFloat64()
		}
		y[i] = float32(max(-1, min(1, v)))
	}
	return y
}

// audioClassData loads a labelled audio folder (<root>/<class>/*.wav) for
// training, holding out the synthetic voices named by --holdout-voices (or
// every 5th clip of each class), and, when the real Asterisk digits have
// been fetched, tests on each of their speakers.
func audioClassData(o classOptions) (*classData, error) {
	root := o.data
	if root == "" {
		p, ok := datasets.Fetched("audio/digits")
		if !ok {
			return nil, usagef("classify: --modality audio needs --data (a folder <class>/*.wav; scripts/make-digits.sh builds the spoken digits)")
		}
		root = p
	}
	items, classes, err := datasets.ReadAudioFolder(root)
	if err != nil {
		return nil, err
	}
	index := map[string]int32{}
	for i, c := range classes {
		index[c] = int32(i)
	}
	var held []string
	if o.holdoutVoices != "" {
		held = strings.Split(o.holdoutVoices, ",")
	}
	isHeld := func(path string, k int) bool {
		if held == nil {
			return k%5 == 4
		}
		base := filepath.Base(path)
		for _, h := range held {
			if strings.Contains(base, h) {
				return true
			}
		}
		return false
	}
	cd := &classData{classes: classes, vocab: audio.MuLawClasses, pad: 128, extraTests: map[string][]classify.Example{}}
	seen := map[string]int{}
	for _, it := range items {
		e, err := audioExample(it.Path, o.rate, o.seconds, o.rmsLevel, index[it.Label])
		if err != nil {
			return nil, err
		}
		if isHeld(it.Path, seen[it.Label]) {
			cd.test = append(cd.test, e)
		} else {
			cd.train = append(cd.train, e)
		}
		seen[it.Label]++
	}
	if len(cd.test) == 0 || len(cd.train) == 0 {
		return nil, fmt.Errorf("%s: the split left %d training and %d test clips (check --holdout-voices)", root, len(cd.train), len(cd.test))
	}
	about := fmt.Sprintf("%s: %d training clips, %d held-out synthetic clips", root, len(cd.train), len(cd.test))
	// The real recordings: every Asterisk voice with digits 0..9.
	if ast, ok := datasets.Fetched("audio/asterisk"); ok && isDigitClasses(classes) {
		voices, _ := os.ReadDir(ast)
		for _, v := range voices {
			if !v.IsDir() {
				continue
			}
			var set []classify.Example
			for d, w := range digitWords {
				p := filepath.Join(ast, v.Name(), fmt.Sprintf("%d.wav", d))
				if _, err := os.Stat(p); err != nil {
					continue
				}
				e, err := audioExample(p, o.rate, o.seconds, o.rmsLevel, index[w])
				if err != nil {
					return nil, err
				}
				set = append(set, e)
			}
			if len(set) > 0 {
				cd.extraTests["asterisk-"+v.Name()] = set
			}
		}
		about += fmt.Sprintf("; real recordings: %d Asterisk voices", len(cd.extraTests))
	}
	if o.audioAugment {
		cd.augment = clipAugment
		about += "; training clips augmented (gain ±6 dB, shift ±1/8, noise)"
	}
	cd.about = about
	cd.readPredict = func(path string) ([]classify.Example, error) {
		return audioPredict(path, o.rate, o.seconds, o.rmsLevel)
	}
	return cd, nil
}

func isDigitClasses(classes []string) bool {
	if len(classes) != 10 {
		return false
	}
	want := append([]string(nil), digitWords...)
	sort.Strings(want)
	return strings.Join(want, ",") == strings.Join(classes, ",")
}

// audioPredict reads every audio file under path for prediction.
func audioPredict(path string, rate int, seconds, level float64) ([]classify.Example, error) {
	files, err := audioFiles([]string{path})
	if err != nil {
		return nil, err
	}
	var ex []classify.Example
	for _, f := range files {
		e, err := audioExample(f, rate, seconds, level, -1)
		if err != nil {
			return nil, err
		}
		ex = append(ex, e)
	}
	return ex, nil
}

// audioEvalStream reads audio files at rate as one μ-law token stream.
func audioEvalStream(paths []string, rate int) ([]int32, string, error) {
	if rate <= 0 {
		return nil, "", fmt.Errorf("the model's mambakit.json gives no sample rate")
	}
	files, err := audioFiles(paths)
	if err != nil {
		return nil, "", err
	}
	var stream []int32
	for _, f := range files {
		x, err := readAt(f, rate)
		if err != nil {
			return nil, "", err
		}
		stream = append(stream, audio.MuLawEncode(x)...)
	}
	return stream, fmt.Sprintf("%d files, %d samples at %d Hz", len(files), len(stream), rate), nil
}
