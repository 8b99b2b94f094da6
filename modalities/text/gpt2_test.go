package text

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mambakit/mambakit/datasets"
)

// gpt2 returns GPT-2's tokenizer read from the real encoder.json and
// vocab.bpe (once per test binary).
func gpt2(t testing.TB) *BPE {
	t.Helper()
	enc := datasets.NeedFetched(t, "gpt2/encoder.json")
	merges := datasets.NeedFetched(t, "gpt2/vocab.bpe")
	gpt2Once.Do(func() { gpt2Tok, gpt2Err = FromGPT2Files(enc, merges) })
	if gpt2Err != nil {
		t.Fatal(gpt2Err)
	}
	return gpt2Tok
}

var (
	gpt2Once sync.Once
	gpt2Tok  *BPE
	gpt2Err  error
)

// gpt2JSON writes GPT-2's tokenizer as a tokenizer.json and reads it back.
func gpt2JSON(t testing.TB) (*BPE, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := gpt2(t).WriteTokenizerJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := LoadTokenizerJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	return b, path
}

// corpus returns the real texts: Moby-Dick and every State of the Union
// address, by their path relative to data/text.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	moby := datasets.NeedFetched(t, "text/moby-dick.txt")
	dir := datasets.NeedFetched(t, "text/sotu")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) < 200 {
		t.Fatalf("SOTU texts in %s: %d files, %v", dir, len(files), err)
	}
	out := map[string][]byte{}
	for _, f := range append(files, moby) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(filepath.Dir(moby), f)
		out[filepath.ToSlash(rel)] = data
	}
	return out
}

func TestGPT2HelloWorld(t *testing.T) {
	want := []int32{15496, 995}
	fromJSON, _ := gpt2JSON(t)
	for _, tok := range []*BPE{gpt2(t), fromJSON} {
		if got := tok.Encode("Hello world"); !slices.Equal(got, want) {
			t.Errorf("%s: Encode(%q) = %v, want %v", tok.Name(), "Hello world", got, want)
		}
		if got := tok.Decode(want); got != "Hello world" {
			t.Errorf("%s: Decode(%v) = %q", tok.Name(), want, got)
		}
		if tok.VocabSize() != 50257 || tok.EOS() != 50256 {
			t.Errorf("%s: VocabSize %d, EOS %d; want 50257, 50256", tok.Name(), tok.VocabSize(), tok.EOS())
		}
	}
	if n := fromJSON.Name(); n != "tokenizer.json" {
		t.Errorf("Name() = %q, want tokenizer.json", n)
	}
}

// golden is testdata/gpt2_golden.json, made from the module root with
//
//	node modalities/text/testdata/gen_golden.js data > modalities/text/testdata/gpt2_golden.json
//
// (see gen_golden.js; check_golden.py there checks it against OpenAI's
// encoder.py algorithm).
type golden struct {
	Cases []struct {
		Text   *string `json:"text"`
		File   string  `json:"file"`
		Offset int     `json:"offset"`
		Length int     `json:"length"`
		IDs    []int32 `json:"ids"`
	} `json:"cases"`
	Files []struct {
		File   string `json:"file"`
		Bytes  int    `json:"bytes"`
		Tokens int    `json:"tokens"`
		SHA256 string `json:"sha256"`
	} `json:"files"`
}

func idDigest(ids []int32) string {
	var b []byte
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestGPT2Golden checks the encoder token for token against the JavaScript
// reference encoder (gpt-3-encoder's Encoder.js, cross-checked with OpenAI's
// encoder.py): tricky strings, Moby-Dick paragraphs and SOTU addresses with
// their full ids, and the whole of Moby-Dick and every SOTU address by token
// count and SHA-256 of the ids.
func TestGPT2Golden(t *testing.T) {
	data, err := os.ReadFile("testdata/gpt2_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	texts := corpus(t)
	fromJSON, _ := gpt2JSON(t)
	if len(g.Cases) < 250 || len(g.Files) != len(texts) {
		t.Fatalf("golden file has %d cases and %d files; want ≥ 250 and %d", len(g.Cases), len(g.Files), len(texts))
	}
	for _, tok := range []*BPE{gpt2(t), fromJSON} {
		var cases, files, tokens int
		for i, c := range g.Cases {
			var s string
			if c.Text != nil {
				s = *c.Text
			} else {
				data, ok := texts[c.File]
				if !ok || c.Offset < 0 || c.Offset+c.Length > len(data) {
					t.Fatalf("case %d: no text %s[%d:+%d]", i, c.File, c.Offset, c.Length)
				}
				s = string(data[c.Offset : c.Offset+c.Length])
			}
			got := tok.Encode(s)
			if !slices.Equal(got, c.IDs) {
				k := 0
				for k < min(len(got), len(c.IDs)) && got[k] == c.IDs[k] {
					k++
				}
				t.Errorf("%s: case %d (%.40q): %d ids, want %d; first difference at %d: got %v, want %v",
					tok.Name(), i, s, len(got), len(c.IDs), k, got[k:min(k+5, len(got))], c.IDs[k:min(k+5, len(c.IDs))])
				continue
			}
			cases++
			tokens += len(got)
		}
		for _, f := range g.Files {
			data, ok := texts[f.File]
			if !ok || len(data) != f.Bytes {
				t.Errorf("golden file %s (%d bytes) does not match the data (%d bytes)", f.File, f.Bytes, len(data))
				continue
			}
			got := tok.Encode(string(data))
			if len(got) != f.Tokens || idDigest(got) != f.SHA256 {
				t.Errorf("%s: %s: %d tokens, SHA-256 %s; want %d, %s", tok.Name(), f.File, len(got), idDigest(got), f.Tokens, f.SHA256)
				continue
			}
			files++
			tokens += len(got)
		}
		t.Logf("%s: %d cases and %d whole files match the reference: %d tokens", tok.Name(), cases, files, tokens)
	}
}

// TestRoundTrip: Decode(Encode(x)) == x on all the real texts, for GPT-2
// (read both ways) and the byte tokenizer.
func TestRoundTrip(t *testing.T) {
	fromJSON, _ := gpt2JSON(t)
	toks := []Tokenizer{gpt2(t), fromJSON, NewByte()}
	var bytes int
	for name, data := range corpus(t) {
		s := string(data)
		bytes += len(s)
		for _, tok := range toks {
			ids := tok.Encode(s)
			if got := tok.Decode(ids); got != s {
				k := 0
				for k < min(len(got), len(s)) && got[k] == s[k] {
					k++
				}
				t.Errorf("%s: %s: Decode(Encode(text)) differs from byte %d", tok.Name(), name, k)
			}
			var streamed []byte
			for _, id := range ids {
				streamed = append(streamed, tok.TokenBytes(id)...)
			}
			if string(streamed) != s {
				t.Errorf("%s: %s: the TokenBytes of its tokens are not the text", tok.Name(), name)
			}
		}
	}
	t.Logf("%d bytes round-tripped by each of %d tokenizers", bytes, len(toks))
}

// TestRoundTripBytes: any bytes, valid UTF-8 or not, round-trip exactly.
func TestRoundTripBytes(t *testing.T) {
	tok := gpt2(t)
	cases := []string{"\xff\xfe", "a\x80b", "caf\xc3", "\xed\xa0\x80 surrogate", "\x00\x01\x02 nul", " \xe2\x82 x",
		"\u0085 nel\u0085\u0085x", "\ufeffbom", "\r\n\r\n", strings.Repeat("\xc3", 100)}
	rng := uint64(1)
	for n := range 300 {
		b := make([]byte, n%97)
		for i := range b {
			rng = rng*6364136223846793005 + 1442695040888963407
			b[i] = byte(rng >> 56)
			if n%3 == 0 { // mostly ASCII
				b[i] = " aZ'\n\t9.e"[int(rng>>40)%9]
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		for _, tk := range []Tokenizer{tok, NewByte()} {
			ids := tk.Encode(s)
			if got := tk.Decode(ids); got != s {
				t.Errorf("%s: Decode(Encode(%q)) = %q (ids %v)", tk.Name(), s, got, ids)
			}
			for _, id := range ids {
				if id < 0 || int(id) >= tk.VocabSize() {
					t.Errorf("%s: Encode(%q) gave id %d", tk.Name(), s, id)
				}
			}
		}
	}
}

func TestGPT2Specials(t *testing.T) {
	fromJSON, _ := gpt2JSON(t)
	for _, tok := range []*BPE{gpt2(t), fromJSON} {
		for _, c := range []struct {
			in   string
			want []int32
		}{
			{"a<|endoftext|>b", []int32{64, 50256, 65}},
			{"<|endoftext|>", []int32{50256}},
			{"Hello world<|endoftext|><|endoftext|> Hello", []int32{15496, 995, 50256, 50256, 18435}},
			{"<|endoftext|", []int32{27, 91, 437, 1659, 5239, 91}},
		} {
			if got := tok.Encode(c.in); !slices.Equal(got, c.want) {
				t.Errorf("%s: Encode(%q) = %v, want %v", tok.Name(), c.in, got, c.want)
			}
			if got := tok.Decode(c.want); got != c.in {
				t.Errorf("%s: Decode(%v) = %q, want %q", tok.Name(), c.want, got, c.in)
			}
		}
		if got := string(tok.TokenBytes(50256)); got != "<|endoftext|>" {
			t.Errorf("TokenBytes(50256) = %q", got)
		}
		if got := tok.TokenBytes(50257); got != nil {
			t.Errorf("TokenBytes(50257) = %q, want nil", got)
		}
		if got := string(tok.TokenBytes(198)); got != "\n" {
			t.Errorf("TokenBytes(198) = %q, want \"\\n\"", got)
		}
	}
}

// TestWriteTokenizerJSON: the file written is read back as the same
// tokenizer, is stable when written again, and has Hugging Face's layout.
func TestWriteTokenizerJSON(t *testing.T) {
	orig := gpt2(t)
	back, path := gpt2JSON(t)
	if !slices.Equal(back.merges, orig.merges) || len(back.vocab) != len(orig.vocab) {
		t.Fatalf("read back %d merges and %d tokens; want %d and %d", len(back.merges), len(back.vocab), len(orig.merges), len(orig.vocab))
	}
	for tok, id := range orig.vocab {
		if back.vocab[tok] != id {
			t.Fatalf("token %q: id %d read back as %d", tok, id, back.vocab[tok])
		}
	}
	again := filepath.Join(t.TempDir(), "again.json")
	if err := back.WriteTokenizerJSON(again); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(again)
	if string(a) != string(b) {
		t.Error("writing the read-back tokenizer gives a different file")
	}
	var f struct {
		AddedTokens []map[string]any `json:"added_tokens"`
		Model       struct {
			Type   string           `json:"type"`
			Vocab  map[string]int32 `json:"vocab"`
			Merges []string         `json:"merges"`
		} `json:"model"`
		PreTokenizer map[string]any `json:"pre_tokenizer"`
		Decoder      map[string]any `json:"decoder"`
	}
	if err := json.Unmarshal(a, &f); err != nil {
		t.Fatal(err)
	}
	if f.Model.Type != "BPE" || f.Model.Vocab["Ġthe"] != 262 || f.Model.Merges[0] != "Ġ t" || len(f.Model.Merges) != 50000 ||
		f.PreTokenizer["type"] != "ByteLevel" || f.PreTokenizer["add_prefix_space"] != false || f.Decoder["type"] != "ByteLevel" ||
		len(f.AddedTokens) != 1 || f.AddedTokens[0]["content"] != "<|endoftext|>" || f.AddedTokens[0]["id"] != 50256.0 {
		t.Errorf("unexpected tokenizer.json: type %q, Ġthe=%d, merges[0]=%q (%d merges), pre_tokenizer %v, decoder %v, added %v",
			f.Model.Type, f.Model.Vocab["Ġthe"], f.Model.Merges[0], len(f.Model.Merges), f.PreTokenizer, f.Decoder, f.AddedTokens)
	}
	if !strings.Contains(string(a), `"<|endoftext|>"`) {
		t.Error("special token content is HTML-escaped")
	}
}

// TestSplitSequence: a Split with GPT-2's pattern followed by ByteLevel
// without regex (as GPT-NeoX-style files have it) is the same tokenizer.
func TestSplitSequence(t *testing.T) {
	_, path := gpt2JSON(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	f["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
		map[string]any{"type": "Split", "pattern": map[string]any{"Regex": gpt2Pattern}, "behavior": "Isolated", "invert": false},
		map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
	}}
	out, _ := json.Marshal(f)
	seqPath := filepath.Join(t.TempDir(), "seq.json")
	os.WriteFile(seqPath, out, 0o644)
	seq, err := LoadTokenizerJSON(seqPath)
	if err != nil {
		t.Fatal(err)
	}
	ref := gpt2(t)
	moby := corpus(t)["moby-dick.txt"]
	for _, s := range []string{string(moby), "Hello  world\n\n  x ", "don't I'LL 12345 3.14 🙂"} {
		if got, want := seq.Encode(s), ref.Encode(s); !slices.Equal(got, want) {
			t.Errorf("Split+ByteLevel: %.30q: %d ids differ from ByteLevel's %d", s, len(got), len(want))
		}
	}
}

// TestMergeHeap: the heap merge (long words) gives exactly what GPT-2's
// round-by-round merge gives, on every word of Moby-Dick and on long words.
func TestMergeHeap(t *testing.T) {
	tok := gpt2(t)
	words := map[string]bool{}
	splitGPT2(string(corpus(t)["moby-dick.txt"]), func(w string) { words[w] = true })
	for _, w := range []string{strings.Repeat("a", 300), strings.Repeat("=", 200), strings.Repeat("ab", 100),
		strings.Repeat("0123456789", 20), strings.Repeat("supercalifragilisticexpialidocious", 5),
		strings.Repeat(" ", 77), strings.Repeat("\xe2\x80\x94", 33)} {
		words[w] = true
	}
	n := 0
	for w := range words {
		simple := tok.mergeSimple(tok.symbols(w))
		heaped := tok.mergeHeap(tok.symbols(w))
		if !slices.Equal(simple, heaped) {
			t.Errorf("%q: heap merge %v, GPT-2 merge %v", w, heaped, simple)
		}
		n++
	}
	if n < 10000 {
		t.Errorf("only %d distinct words", n)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok, _ := gpt2JSON(t) // a fresh cache
	moby := string(corpus(t)["moby-dick.txt"])
	want := gpt2(t).Encode(moby)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := moby[g*len(moby)/16:]
			i := strings.Index(s, "\n\n") + 2 // start at a paragraph
			got := tok.Encode(s[i:])
			if !slices.Equal(got, tok.Encode(s[i:])) {
				errs <- "two encodings differ"
			}
			if g == 0 && !slices.Equal(tok.Encode(moby), want) {
				errs <- "concurrent encoding of Moby-Dick differs"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// BenchmarkEncodeMobyDick encodes all of Moby-Dick with GPT-2's BPE: "warm"
// with the word cache filled by earlier iterations (the steady state),
// "cold" with an empty cache each time.
func BenchmarkEncodeMobyDick(b *testing.B) {
	tok := gpt2(b)
	moby := string(corpus(b)["moby-dick.txt"])
	b.Run("warm", func(b *testing.B) {
		tok.Encode(moby)
		b.SetBytes(int64(len(moby)))
		for b.Loop() {
			tok.Encode(moby)
		}
	})
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(int64(len(moby)))
		for b.Loop() {
			tok.mu.Lock()
			clear(tok.cache)
			tok.mu.Unlock()
			tok.Encode(moby)
		}
	})
	b.Run("byte", func(b *testing.B) {
		bt := NewByte()
		b.SetBytes(int64(len(moby)))
		for b.Loop() {
			bt.Encode(moby)
		}
	})
}

func BenchmarkDecodeMobyDick(b *testing.B) {
	tok := gpt2(b)
	moby := string(corpus(b)["moby-dick.txt"])
	ids := tok.Encode(moby)
	b.SetBytes(int64(len(moby)))
	for b.Loop() {
		tok.Decode(ids)
	}
}
