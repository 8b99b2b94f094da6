package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/datasets"
	"github.com/mambakit/mambakit/modalities/text"
)

// textChunk is the size of the pieces text documents are cut into before the
// train/validation split, so that one long book spreads over both.
const textChunk = 64 << 10

// prepareText reads, splits and tokenizes a text corpus for pretrain.
func prepareText(o modalityOptions) (*prepared, error) {
	var docs []datasets.Document
	var what string
	if len(o.data) == 0 {
		docs = []datasets.Document{{Name: "Moby-Dick (embedded)", Text: datasets.MobyDick()}}
		what = "Moby-Dick (embedded)"
	} else {
		var err error
		if docs, err = datasets.ReadTextCorpus(o.data, o.field); err != nil {
			return nil, err
		}
		what = fmt.Sprintf("%d documents from %v", len(docs), o.data)
	}
	tok, err := text.Load(o.tokenizer)
	if err != nil {
		return nil, err
	}
	trainIDs, valIDs, heldPath, err := splitEncode(docs, textChunk, o, tok.Encode, tok.EOS(), "heldout.txt", "token")
	if err != nil {
		return nil, err
	}
	meta := map[string]any{"modality": "text", "tokenizer": "byte"}
	extra := map[string][]byte{}
	if bpe, ok := tok.(*text.BPE); ok {
		tmp := filepath.Join(o.out, ".tokenizer.json")
		if err := bpe.WriteTokenizerJSON(tmp); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(tmp)
		os.Remove(tmp)
		if err != nil {
			return nil, err
		}
		extra["tokenizer.json"] = b
		meta["tokenizer"] = "tokenizer.json"
	}
	extra["mambakit.json"] = writeMeta(meta)
	return &prepared{
		data:  &datasets.StreamData{Train: trainIDs, Val: valIDs, Seed: o.seed},
		vocab: tok.VocabSize(),
		unit:  "byte",
		units: func(id int32) float64 { return float64(len(tok.TokenBytes(id))) },
		extra: extra,
		sample: func(m *mamba.Model, w io.Writer) error {
			fmt.Fprintf(w, "\nsample (temperature 0.8, top-p 0.95):\n")
			prompt := tok.Encode("The ")
			if err := streamText(m, tok, prompt, 300, &mamba.Sampler{Temperature: 0.8, TopP: 0.95,
				Rand: rand.New(rand.NewPCG(o.seed, 7))}, w); err != nil {
				return err
			}
			fmt.Fprintln(w)
			return nil
		},
		summary: fmt.Sprintf("data: %s; %s tokenizer; %d training and %d held-out tokens (held-out text in %s)",
			what, tok.Name(), len(trainIDs), len(valIDs), heldPath),
	}, nil
}

// streamText writes the prompt and its continuation as text while it is
// generated.
func streamText(m *mamba.Model, tok text.Tokenizer, prompt []int32, n int, s *mamba.Sampler, w io.Writer) error {
	if len(prompt) == 0 {
		return fmt.Errorf("empty prompt")
	}
	w.Write([]byte(tok.Decode(prompt)))
	_, err := m.Generate(prompt, 1, len(prompt), mamba.GenerateOptions{MaxNew: n, EOS: tok.EOS(), Sampler: s,
		OnToken: func(_ int, id int32) { w.Write(tok.TokenBytes(id)) }})
	return err
}
