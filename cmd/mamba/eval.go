package main

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/mambakit/mambakit/core/checkpoint"
	"github.com/mambakit/mambakit/datasets"
	"github.com/mambakit/mambakit/modalities/audio"
	"github.com/mambakit/mambakit/modalities/dna"
	"github.com/mambakit/mambakit/pipelines/train"
)

const evalSynopsis = `eval --model DIR --data PATH,... [--seq-len 1024] [--batch 8]

Evaluates a text, DNA or audio model: the documents (text files; FASTA files
and raw sequence files for DNA; WAV/FLAC files for audio, resampled to the
model's rate and μ-law encoded) are tokenized, joined with a separator token, cut
into consecutive sequences of --seq-len tokens (every token but the first is
predicted once), and the mean next-token loss is printed with the perplexity
and the bits per byte (text), base (DNA) or sample (audio). DIR is a model directory or a
training run (its newest checkpoint).`

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", evalSynopsis, stdout)
	model := fs.String("model", "", "model directory or training run")
	data := fs.String("data", "", "comma-separated text files or folders")
	field := fs.String("text-field", "text", "JSONL field holding the text")
	tokFlag := fs.String("tokenizer", "", "tokenizer (byte or a tokenizer.json) for models without mambakit.json")
	seqLen := fs.Int("seq-len", 1024, "tokens per evaluated sequence")
	batch := fs.Int("batch", 8, "sequences per forward pass")
	maxSeqs := fs.Int("max-seqs", 0, "evaluate at most this many sequences (0: all)")
	device := deviceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", "data"); err != nil {
		return err
	}
	if *seqLen < 1 || *batch < 1 {
		return usagef("eval: --seq-len and --batch must be at least 1")
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
	if m.Cfg.Bidirectional {
		return fmt.Errorf("eval: %s is bidirectional (it reads every sequence both ways), so next-token prediction cannot score it; its pretraining reports its masked-token loss", dir)
	}
	meta, err := readMeta(dir)
	if err != nil {
		return err
	}
	var stream []int32
	var units func(int32) float64
	unit, what := "byte", ""
	switch mod, _ := meta["modality"].(string); mod {
	case "dna":
		if stream, what, err = dnaEvalStream(strings.Split(*data, ",")); err != nil {
			return err
		}
		units, unit = dna.Units, "base"
	case "audio":
		rate, _ := meta["rate"].(float64)
		if stream, what, err = audioEvalStream(strings.Split(*data, ","), int(rate)); err != nil {
			return err
		}
		units, unit = audio.Units, "sample"
	default:
		tok, err := modelTokenizer(dir, *tokFlag)
		if err != nil {
			return err
		}
		if tok.VocabSize() > m.Cfg.Vocab {
			return fmt.Errorf("the tokenizer has %d ids but the model only %d", tok.VocabSize(), m.Cfg.Vocab)
		}
		docs, err := datasets.ReadTextCorpus(strings.Split(*data, ","), *field)
		if err != nil {
			return err
		}
		stream = datasets.EncodeStream(docs, tok.Encode, tok.EOS())
		units = func(id int32) float64 { return float64(len(tok.TokenBytes(id))) }
		what = fmt.Sprintf("%d document(s), %d tokens (%s tokenizer)", len(docs), len(stream), tok.Name())
	}
	var loss, bits float64
	var scored string
	if *maxSeqs > 0 {
		// Evaluate refuses data shorter than one sequence.
		d := &datasets.StreamData{Val: stream}
		if loss, bits, err = train.Evaluate(m, d, *seqLen, *maxSeqs, *batch, units); err != nil {
			return err
		}
		scored = fmt.Sprintf("%d sequences of %d evaluated", min((len(stream)-1)/(*seqLen), *maxSeqs), *seqLen)
	} else {
		var n int
		bar := progressBar(stderr, len(stream)-1, "tokens", "evaluating")
		if loss, bits, n, err = train.EvaluateStream(m, stream, *seqLen, *batch, units, bar); err != nil {
			return err
		}
		scored = fmt.Sprintf("all %d next-token predictions scored, in windows of %d", n, *seqLen)
	}
	fmt.Fprintf(stdout, "model      %s\ndata       %s; %s\n", dir, what, scored)
	fmt.Fprintf(stdout, "loss       %.4f nats per token\nperplexity %.3f\nbits/%s  %.4f\n", loss, math.Exp(loss), unit, bits)
	return nil
}
