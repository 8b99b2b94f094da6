package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/mambakit/mambakit/core/checkpoint"
	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/modalities/text"
)

const generateSynopsis = `generate --model DIR (--prompt "text" | --prompt-ids 1,2,3) [--max-new-tokens N]
         [--greedy | --temperature T --top-k K --top-p P --min-p P] [--repetition-penalty R] [--format text|ids]

Continues the prompt through the recurrent state (the prompt is prefilled in
parallel, then each new token is one recurrent Step) and streams the result:
as text (the default with --prompt), or as the prompt's and the generated
ids on one line separated by spaces (--format ids, the default with
--prompt-ids). Sampling applies, in transformers' order, the repetition
penalty, temperature, top-k, top-p and min-p. Generation stops after
--max-new-tokens or once the end-of-sequence token is produced (unless
--ignore-eos). DIR is a model directory or a training run.`

func runGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", generateSynopsis, stdout)
	model := fs.String("model", "", "model directory or training run")
	promptText := fs.String("prompt", "", "prompt text (tokenized with the model's tokenizer)")
	promptIDs := fs.String("prompt-ids", "", "comma-separated token ids of the prompt")
	maxNew := fs.Int("max-new-tokens", 200, "number of tokens to generate at most")
	greedy := fs.Bool("greedy", false, "always take the most likely token")
	temperature := fs.Float64("temperature", 1, "divide the logits by this (0: greedy)")
	topK := fs.Int("top-k", 0, "sample among the k most likely tokens (0: all)")
	topP := fs.Float64("top-p", 1, "sample among the smallest set of tokens whose probability reaches p")
	minP := fs.Float64("min-p", 0, "drop tokens less likely than this fraction of the most likely one")
	repPenalty := fs.Float64("repetition-penalty", 1, "penalise tokens already present (transformers' rule; 1: off)")
	seed := fs.Uint64("seed", 0, "seed of the sampling (0: from the clock)")
	format := fs.String("format", "", "output: text or ids (default: text with --prompt, ids with --prompt-ids)")
	tokFlag := fs.String("tokenizer", "", "tokenizer for models without mambakit.json: byte or a tokenizer.json")
	seconds := fs.Float64("seconds", 2, "audio models: seconds of audio to generate")
	promptWav := fs.String("prompt-wav", "", "audio models: a clip to continue (default: start from silence)")
	outWav := fs.String("out", "", "audio models: the WAV file to write (a PNG of its waveform and spectrogram goes beside it)")
	ignoreEOS := fs.Bool("ignore-eos", false, "do not stop at the end-of-sequence token")
	modality := fs.String("modality", "", "text, dna or audio: checked against the model's own (default: the model's)")
	device := deviceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model"); err != nil {
		return err
	}
	if dir, err := checkpoint.Resolve(*model); err == nil {
		meta, _ := readMeta(dir)
		if *modality != "" {
			have, _ := meta["modality"].(string)
			if have == "" {
				have = "text"
			}
			if have != *modality {
				return usagef("generate: --modality %s, but %s is a model for %s", *modality, dir, have)
			}
		}
		if meta != nil && meta["modality"] == "audio" {
			return generateAudio(dir, meta, *promptWav, *outWav, *seconds, *temperature, *topK, *topP, *minP, *seed, device, stdout, stderr)
		}
	}
	if (*promptText == "") == (*promptIDs == "") {
		return usagef("generate: give exactly one of --prompt and --prompt-ids")
	}
	if *format == "" {
		*format = "ids"
		if *promptText != "" {
			*format = "text"
		}
	}
	if *format != "ids" && *format != "text" {
		return usagef("generate: --format %q: text or ids", *format)
	}
	if *maxNew < 0 {
		return usagef("generate: --max-new-tokens %d must not be negative", *maxNew)
	}
	if *temperature < 0 || *topK < 0 || !(*topP > 0 && *topP <= 1) || *minP < 0 || *minP >= 1 || !(*repPenalty > 0) {
		return usagef("generate: need --temperature ≥ 0, --top-k ≥ 0, 0 < --top-p ≤ 1, 0 ≤ --min-p < 1, --repetition-penalty > 0")
	}
	dir, err := checkpoint.Resolve(*model)
	if err != nil {
		return err
	}
	be, err := device.open()
	if err != nil {
		return err
	}
	m, _, err := checkpoint.Load(dir, be)
	if err != nil {
		return err
	}
	var tok text.Tokenizer
	if *promptText != "" || *format == "text" {
		if tok, err = modelTokenizer(dir, *tokFlag); err != nil {
			return err
		}
	}
	var prompt []int32
	if *promptText != "" {
		prompt = tok.Encode(*promptText)
		if len(prompt) == 0 {
			return usagef("generate: --prompt encodes to no tokens")
		}
	} else if prompt, err = parseIDs(*promptIDs); err != nil {
		return usagef("generate: --prompt-ids: %v", err)
	}
	if err := m.CheckIDs(prompt); err != nil {
		return fmt.Errorf("generate: prompt: %w", err)
	}
	s := &mamba.Sampler{Greedy: *greedy, Temperature: *temperature, TopK: *topK, TopP: *topP, MinP: *minP,
		RepetitionPenalty: *repPenalty}
	if !*greedy && *temperature > 0 {
		sd := *seed
		if sd == 0 {
			sd = uint64(time.Now().UnixNano())
		}
		s.Rand = rand.New(rand.NewPCG(sd, 0))
	}
	w := bufio.NewWriter(stdout)
	if *format == "text" {
		w.WriteString(tok.Decode(prompt))
		w.Flush()
		eos := int32(-1)
		if !*ignoreEOS {
			eos = tok.EOS()
		}
		_, err = m.Generate(prompt, 1, len(prompt), mamba.GenerateOptions{MaxNew: *maxNew, EOS: eos, Sampler: s,
			OnToken: func(_ int, id int32) { w.Write(tok.TokenBytes(id)); w.Flush() }})
		fmt.Fprintln(w)
		w.Flush()
		return err
	}
	for i, id := range prompt {
		if i > 0 {
			w.WriteByte(' ')
		}
		fmt.Fprint(w, id)
	}
	w.Flush()
	eos := int32(m.Cfg.EOSTokenID)
	if *ignoreEOS {
		eos = -1
	}
	_, err = m.Generate(prompt, 1, len(prompt), mamba.GenerateOptions{MaxNew: *maxNew, EOS: eos, Sampler: s,
		OnToken: func(_ int, id int32) { fmt.Fprintf(w, " %d", id); w.Flush() }})
	fmt.Fprintln(w)
	w.Flush()
	return err
}

// parseIDs parses "1,2, 3" into token ids.
func parseIDs(s string) ([]int32, error) {
	var ids []int32
	for i, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("item %d (%q) is not a token id", i+1, f)
		}
		ids = append(ids, int32(v))
	}
	return ids, nil
}
