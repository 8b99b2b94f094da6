package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/mambakit/mambakit/core/checkpoint"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/datasets"
	"github.com/mambakit/mambakit/modalities/audio"
	"github.com/mambakit/mambakit/pipelines/report"
)

// generateAudio continues a clip (or silence) with an audio model, sample by
// sample through the recurrent state, and writes the WAV and its PNG.
func generateAudio(dir string, meta map[string]any, promptWav, out string, seconds, temperature float64, topK int,
	topP, minP float64, seed uint64, device *deviceSpec, stdout, stderr io.Writer) error {
	if out == "" {
		return usagef("generate: an audio model needs --out FILE.wav")
	}
	if !(seconds > 0) {
		return usagef("generate: --seconds must be positive")
	}
	rateF, _ := meta["rate"].(float64)
	rate := int(rateF)
	if rate <= 0 {
		return fmt.Errorf("%s: mambakit.json gives no sample rate", dir)
	}
	be, err := device.open()
	if err != nil {
		return err
	}
	m, _, err := checkpoint.Load(dir, be)
	if err != nil {
		return err
	}
	prompt := []int32{audio.MuLawEncode([]float32{0})[0]} // silence
	if promptWav != "" {
		x, err := readAt(promptWav, rate)
		if err != nil {
			return err
		}
		if len(x) == 0 {
			return fmt.Errorf("%s: empty clip", promptWav)
		}
		prompt = audio.MuLawEncode(x)
	}
	n := int(seconds * float64(rate))
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	s := &mamba.Sampler{Temperature: temperature, TopK: topK, TopP: topP, MinP: minP, Rand: rand.New(rand.NewPCG(seed, 0))}
	bar := report.Progress(stderr, n, "samples", "generating")
	done := 0
	gen, err := m.Generate(prompt, 1, len(prompt), mamba.GenerateOptions{MaxNew: n, EOS: -1, Sampler: s,
		OnToken: func(int, int32) {
			done++
			if done%256 == 0 || done == n {
				bar.Set(done)
			}
		}})
	if err != nil {
		return err
	}
	bar.Finish()
	fmt.Fprintln(stderr)
	wave := audio.MuLawDecode(gen[0])
	if err := datasets.WriteWAV16(out, wave, rate); err != nil {
		return err
	}
	png := strings.TrimSuffix(out, ".wav") + ".png"
	title := fmt.Sprintf("%.1f s generated at %d Hz (temperature %g)", seconds, rate, temperature)
	if promptWav != "" {
		title = fmt.Sprintf("%.2f s prompt + %.1f s generated at %d Hz", float64(len(prompt))/float64(rate), seconds, rate)
	}
	if err := report.Waveform(wave, rate, png, title); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d samples at %d Hz) and %s\n", out, len(wave), rate, png)
	return nil
}
