package text

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The tokenizer.json parts of Hugging Face's "gpt2" tokenizer.
const (
	gpt2PreTokenizer  = `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`
	gpt2PostProcessor = `{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true}`
	gpt2Decoder       = `{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}`
)

// FromGPT2Files reads GPT-2's original tokenizer files, encoder.json (token
// → id) and vocab.bpe (the merges, one "a b" per line after a "#version"
// line), into the same tokenizer as Hugging Face's "gpt2": ByteLevel
// pre-tokenization without a prefix space, and "<|endoftext|>" as a special
// added token. Its Name is encoder.json's base name.
func FromGPT2Files(encoderJSON, vocabBPE string) (*BPE, error) {
	data, err := os.ReadFile(encoderJSON)
	if err != nil {
		return nil, err
	}
	var enc map[string]int64
	if err := json.Unmarshal(data, &enc); err != nil {
		return nil, fmt.Errorf("%s: %w", encoderJSON, jsonError(data, err))
	}
	var mergeLines []int
	sp := bpeSpec{name: filepath.Base(encoderJSON), vocab: make(map[string]int32, len(enc)),
		vocabWhere: encoderJSON, mergeWhere: func(i int) string { return fmt.Sprintf("%s:%d", vocabBPE, mergeLines[i]) },
		stages:           []stage{{useRegex: true}},
		preTokenizerJSON: json.RawMessage(gpt2PreTokenizer), postProcessorJSON: json.RawMessage(gpt2PostProcessor),
		decoderJSON: json.RawMessage(gpt2Decoder)}
	for tok, id := range enc {
		if id < 0 || id > maxID {
			return nil, fmt.Errorf("%s: token %q has id %d, outside [0, %d]", encoderJSON, tok, id, maxID)
		}
		sp.vocab[tok] = int32(id)
	}
	if id, ok := sp.vocab["<|endoftext|>"]; ok {
		sp.added = []addedToken{{ID: id, Content: "<|endoftext|>", Special: true, Normalized: true}}
	}
	merges, err := os.ReadFile(vocabBPE)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(merges))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		t := sc.Text()
		if (line == 1 && strings.HasPrefix(t, "#version")) || strings.TrimSpace(t) == "" {
			continue
		}
		f := strings.Fields(t)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: %q is not a merge (two tokens separated by a space)", vocabBPE, line, t)
		}
		sp.merges = append(sp.merges, [2]string{f[0], f[1]})
		mergeLines = append(mergeLines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", vocabBPE, err)
	}
	b, err := newBPE(sp)
	if err != nil {
		return nil, err
	}
	return b, nil
}
