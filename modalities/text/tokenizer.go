package text

import (
	"os"
	"path/filepath"
)

// Tokenizer turns text into token ids and back.
type Tokenizer interface {
	// Encode returns the token ids of s. Special tokens written in the text
	// (e.g. "<|endoftext|>") become their ids, as Hugging Face tokenizers
	// does.
	Encode(s string) []int32
	// Decode returns the text of ids; for byte-level tokenizers it is the
	// inverse of Encode (a lossless round trip of any text, valid UTF-8 or
	// not).
	Decode(ids []int32) string
	// TokenBytes returns the raw bytes one token stands for (for streaming
	// output); special tokens give their text. It returns nil for an id that
	// stands for no token.
	TokenBytes(id int32) []byte
	// VocabSize returns the number of ids (the largest id plus one).
	VocabSize() int
	// EOS returns the end-of-text id, or -1.
	EOS() int32
	// Name returns "byte", or the base name of the tokenizer's file.
	Name() string
}

var (
	_ Tokenizer = (*Byte)(nil)
	_ Tokenizer = (*BPE)(nil)
)

// Load returns the tokenizer spec names: "byte" for [NewByte], otherwise the
// path of a Hugging Face tokenizer.json (or of a directory holding one, such
// as a model directory).
func Load(spec string) (Tokenizer, error) {
	if spec == "byte" {
		return NewByte(), nil
	}
	if fi, err := os.Stat(spec); err == nil && fi.IsDir() {
		spec = filepath.Join(spec, "tokenizer.json")
	}
	return LoadTokenizerJSON(spec)
}
