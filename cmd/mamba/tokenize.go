package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/mambakit/mambakit/modalities/text"
)

const tokenizeSynopsis = `tokenize --tokenizer FILE|byte [--decode] < input

Reads all of standard input, byte for byte, as one text and prints its token
ids on one line, separated by single spaces. Special tokens written in the
text (e.g. <|endoftext|>) become their ids. FILE is a Hugging Face
tokenizer.json (byte-level BPE, as GPT-2's and GPT-NeoX's) or a directory
holding one; byte is the byte tokenizer (ids 0-255 are the bytes, 256 is
<|endoftext|>, 257 <|pad|>).

With --decode it does the reverse: it reads whitespace-separated token ids
and writes the text they stand for exactly, with no newline added.`

func runTokenize(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tokenize", tokenizeSynopsis, stdout)
	spec := fs.String("tokenizer", "", "tokenizer.json file (or directory holding one), or byte")
	decode := fs.Bool("decode", false, "read token ids and write their text")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "tokenizer"); err != nil {
		return err
	}
	tok, err := text.Load(*spec)
	if err != nil {
		return err
	}
	input, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("tokenize: reading standard input: %w", err)
	}
	w := bufio.NewWriter(stdout)
	if *decode {
		ids, err := readTokenIDs(input, tok.VocabSize(), tok.TokenBytes)
		if err != nil {
			return err
		}
		w.WriteString(tok.Decode(ids))
		return w.Flush()
	}
	var buf []byte
	for i, id := range tok.Encode(string(input)) {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = strconv.AppendInt(buf, int64(id), 10)
		if len(buf) > 1<<16 {
			w.Write(buf)
			buf = buf[:0]
		}
	}
	buf = append(buf, '\n')
	w.Write(buf)
	return w.Flush()
}

// readTokenIDs parses whitespace-separated token ids, each of which must stand
// for a token; errors name the id's position (its number and byte offset in
// the input).
func readTokenIDs(input []byte, vocab int, tokenBytes func(int32) []byte) ([]int32, error) {
	var ids []int32
	for off := 0; ; {
		for off < len(input) && tokIsSpace(input[off]) {
			off++
		}
		if off == len(input) {
			return ids, nil
		}
		end := off
		for end < len(input) && !tokIsSpace(input[end]) {
			end++
		}
		f := input[off:end]
		pos := fmt.Sprintf("id %d (byte %d of the input)", len(ids)+1, off)
		v, err := strconv.ParseInt(string(f), 10, 64)
		switch {
		case err != nil:
			return nil, fmt.Errorf("tokenize: %s: %q is not a token id", pos, tokClip(f))
		case v < 0 || v >= int64(vocab):
			return nil, fmt.Errorf("tokenize: %s: %d is out of range: the tokenizer has ids 0 to %d", pos, v, vocab-1)
		case tokenBytes(int32(v)) == nil:
			return nil, fmt.Errorf("tokenize: %s: %d is not the id of any token", pos, v)
		}
		ids = append(ids, int32(v))
		off = end
	}
}

func tokIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func tokClip(b []byte) []byte {
	if len(b) > 40 {
		return append(bytes.Clone(b[:40]), "..."...)
	}
	return b
}
