package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mambakit/mambakit/datasets"
	"github.com/mambakit/mambakit/modalities/text"
)

// tokenize runs `mamba tokenize args` with input on standard input.
func tokenize(t *testing.T, input string, args ...string) (string, error) {
	t.Helper()
	old := stdin
	stdin = strings.NewReader(input)
	defer func() { stdin = old }()
	var out, errb bytes.Buffer
	err := runTokenize(args, &out, &errb)
	return out.String(), err
}

// gpt2TokenizerJSON writes GPT-2's tokenizer (from the real encoder.json and
// vocab.bpe) as a tokenizer.json.
func gpt2TokenizerJSON(t *testing.T) string {
	t.Helper()
	b, err := text.FromGPT2Files(datasets.NeedFetched(t, "gpt2/encoder.json"), datasets.NeedFetched(t, "gpt2/vocab.bpe"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := b.WriteTokenizerJSON(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTokenizeByte(t *testing.T) {
	in := "a<|endoftext|>b\xff\n"
	out, err := tokenize(t, in, "--tokenizer", "byte")
	if err != nil || out != "97 256 98 255 10\n" {
		t.Fatalf("tokenize = %q, %v; want \"97 256 98 255 10\\n\"", out, err)
	}
	back, err := tokenize(t, out, "--tokenizer", "byte", "--decode")
	if err != nil || back != in {
		t.Fatalf("decode = %q, %v; want %q", back, err, in)
	}
	if out, err := tokenize(t, "", "--tokenizer", "byte"); err != nil || out != "\n" {
		t.Errorf("empty input: %q, %v", out, err)
	}
	if out, err := tokenize(t, " \n\t", "--tokenizer", "byte", "--decode"); err != nil || out != "" {
		t.Errorf("decoding no ids: %q, %v", out, err)
	}
}

func TestTokenizeGPT2(t *testing.T) {
	path := gpt2TokenizerJSON(t)
	for _, spec := range []string{path, filepath.Dir(path)} {
		out, err := tokenize(t, "Hello world", "--tokenizer", spec)
		if err != nil || out != "15496 995\n" {
			t.Fatalf("tokenize --tokenizer %s = %q, %v; want \"15496 995\\n\"", spec, out, err)
		}
	}
	out, err := tokenize(t, "Hello world<|endoftext|>\n\n", "--tokenizer", path)
	if err != nil || out != "15496 995 50256 628\n" {
		t.Fatalf("tokenize = %q, %v", out, err)
	}
	back, err := tokenize(t, "15496   995\n50256\t628", "--tokenizer", path, "--decode")
	if err != nil || back != "Hello world<|endoftext|>\n\n" {
		t.Fatalf("decode = %q, %v", back, err)
	}
	moby := datasets.NeedFetched(t, "text/moby-dick.txt")
	raw, err := os.ReadFile(moby)
	if err != nil {
		t.Fatal(err)
	}
	data := string(raw)
	ids, err := tokenize(t, data, "--tokenizer", path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(ids)); n != 317756 || strings.Count(ids, "\n") != 1 || strings.Contains(ids, "  ") {
		t.Errorf("Moby-Dick: %d ids on %d lines; want 317756 on one line, single spaces", n, strings.Count(ids, "\n"))
	}
	if back, err := tokenize(t, ids, "--tokenizer", path, "--decode"); err != nil || back != data {
		t.Errorf("Moby-Dick does not round-trip through tokenize and tokenize --decode (%v)", err)
	}
}

func TestTokenizeErrors(t *testing.T) {
	var ue usageError
	if _, err := tokenize(t, "x"); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--tokenizer is required") {
		t.Errorf("no --tokenizer: %v", err)
	}
	if _, err := tokenize(t, "x", "--tokenizer", "byte", "extra"); !errors.As(err, &ue) {
		t.Errorf("extra argument: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "tokenizer.json")
	if _, err := tokenize(t, "x", "--tokenizer", missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing tokenizer: %v", err)
	}
	for _, c := range []struct{ in, want string }{
		{"97 98 258", "id 3 (byte 6 of the input): 258 is out of range: the tokenizer has ids 0 to 257"},
		{"97\n-1", "id 2 (byte 3 of the input): -1 is out of range"},
		{"97 9x 98", `id 2 (byte 3 of the input): "9x" is not a token id`},
		{"1 2 99999999999", "id 3 (byte 4 of the input): 99999999999 is out of range"},
	} {
		out, err := tokenize(t, c.in, "--tokenizer", "byte", "--decode")
		if err == nil || !strings.Contains(err.Error(), c.want) || out != "" {
			t.Errorf("decode %q: output %q, error %v; want %q", c.in, out, err, c.want)
		}
	}
	gaps := filepath.Join(t.TempDir(), "gaps.json")
	os.WriteFile(gaps, []byte(`{"model":{"type":"BPE","vocab":{"a":0,"c":2},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}`), 0o644)
	if out, err := tokenize(t, "0 2", "--tokenizer", gaps, "--decode"); err != nil || out != "ac" {
		t.Errorf("decode 0 2 = %q, %v", out, err)
	}
	if _, err := tokenize(t, "0 1 2", "--tokenizer", gaps, "--decode"); err == nil || !strings.Contains(err.Error(), "id 2 (byte 2 of the input): 1 is not the id of any token") {
		t.Errorf("decode of an unused id: %v", err)
	}
	var out bytes.Buffer
	if err := runTokenize([]string{"--help"}, &out, &out); !strings.Contains(out.String(), "Usage: mamba tokenize") {
		t.Errorf("--help printed %q (%v)", out.String(), err)
	}
}
