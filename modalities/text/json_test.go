package text

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixture is a small byte-level BPE tokenizer.json: the 256 byte tokens with
// id = byte value, then these merged tokens, then added tokens.
//
//	256 he  257 ll  258 hell  259 hello  260 Ġw  261 or  262 Ġwor  263 ld
//	264 Ġworld  265 xyz (no merge makes it)  266 x1  267 <unk>
//	added: 268 <|endoftext|> (special)  269 [SW] (single_word)
//	       270 <L> (lstrip)  271 <R> (rstrip)  272 "  " (normalized, as GPT-NeoX's)
func fixture() map[string]any {
	vocab := map[string]any{}
	// GPT-2's bytes_to_unicode, written out independently of bytelevel.go.
	n := 0
	for b := range 256 {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE) {
			r = rune(256 + n)
			n++
		}
		vocab[string(r)] = b
	}
	for i, tok := range []string{"he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "ld", "Ġworld", "xyz", "x1", "<unk>"} {
		vocab[tok] = 256 + i
	}
	added := []any{}
	for i, a := range []struct {
		content                 string
		special, sw, l, r, norm bool
	}{
		{"<|endoftext|>", true, false, false, false, false},
		{"[SW]", false, true, false, false, false},
		{"<L>", false, false, true, false, false},
		{"<R>", false, false, false, true, false},
		{"  ", false, false, false, false, true},
	} {
		added = append(added, map[string]any{"id": 268 + i, "content": a.content, "special": a.special,
			"single_word": a.sw, "lstrip": a.l, "rstrip": a.r, "normalized": a.norm})
	}
	return map[string]any{
		"version":        "1.0",
		"added_tokens":   added,
		"normalizer":     nil,
		"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"post_processor": map[string]any{"type": "ByteLevel", "trim_offsets": false},
		"decoder":        map[string]any{"type": "ByteLevel"},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "vocab": vocab,
			"merges": []any{"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "x 1"}},
	}
}

func model(f map[string]any) map[string]any { return f["model"].(map[string]any) }

func writeFixture(t *testing.T, f map[string]any) string {
	t.Helper()
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadFixture(t *testing.T, mutate func(f map[string]any)) *BPE {
	t.Helper()
	f := fixture()
	if mutate != nil {
		mutate(f)
	}
	b, err := LoadTokenizerJSON(writeFixture(t, f))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type encodeCase struct {
	in   string
	want []int32
}

func checkEncode(t *testing.T, what string, b *BPE, cases []encodeCase) {
	t.Helper()
	for _, c := range cases {
		if got := b.Encode(c.in); !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(%q) = %v, want %v", what, c.in, got, c.want)
		}
	}
}

func TestFixtureEncode(t *testing.T) {
	b := loadFixture(t, nil)
	if b.VocabSize() != 273 || b.EOS() != 268 {
		t.Errorf("VocabSize %d, EOS %d; want 273, 268", b.VocabSize(), b.EOS())
	}
	checkEncode(t, "plain", b, []encodeCase{
		{"hello world", []int32{259, 264}},
		{"hello<|endoftext|>world", []int32{259, 268, 'w', 261, 263}},
		{"<|endoftext|><|endoftext|>", []int32{268, 268}},
		{"hello  world", []int32{259, 272, 'w', 261, 263}}, // "  " is an added token
		{"a <L> b", []int32{'a', 270, ' ', 'b'}},           // lstrip takes the space before
		{"a  <L>", []int32{'a', 270}},
		{"a <R> b", []int32{'a', ' ', 271, 'b'}}, // rstrip takes the space after
		{"x[SW]y", []int32{'x', '[', 'S', 'W', ']', 'y'}},
		{"x [SW] y", []int32{'x', ' ', 269, ' ', 'y'}},
		{"[SW]", []int32{269}},
		{"x1", []int32{'x', '1'}}, // letters and digits are different words
		{"xyz", []int32{'x', 'y', 'z'}},
		{"e\u0301", []int32{'e', 0xCC, 0x81}},
	})
	for _, c := range []struct {
		id   int32
		want string
	}{{259, "hello"}, {264, " world"}, {'\n', "\n"}, {0xCC, "\xcc"}, {268, "<|endoftext|>"}, {272, "  "}, {267, "<unk>"}} {
		if got := string(b.TokenBytes(c.id)); got != c.want {
			t.Errorf("TokenBytes(%d) = %q, want %q", c.id, got, c.want)
		}
	}
	if got := b.Decode([]int32{259, 272, 'w', 261, 263, 268, 99999, -1}); got != "hello  world<|endoftext|>" {
		t.Errorf("Decode = %q", got)
	}
}

func TestFixtureOptions(t *testing.T) {
	prefix := loadFixture(t, func(f map[string]any) {
		f["pre_tokenizer"].(map[string]any)["add_prefix_space"] = true
	})
	checkEncode(t, "add_prefix_space", prefix, []encodeCase{
		{"hello", []int32{' ', 259}},
		{" world", []int32{264}},
		{"<|endoftext|>hello", []int32{268, ' ', 259}},
	})
	noRegex := loadFixture(t, func(f map[string]any) {
		f["pre_tokenizer"].(map[string]any)["use_regex"] = false
	})
	checkEncode(t, "use_regex false", noRegex, []encodeCase{{"x1", []int32{266}}, {"hello world", []int32{259, 264}}})
	ignore := loadFixture(t, func(f map[string]any) { model(f)["ignore_merges"] = true })
	checkEncode(t, "ignore_merges", ignore, []encodeCase{{"xyz", []int32{265}}, {"hello", []int32{259}}})
	nfc := loadFixture(t, func(f map[string]any) {
		f["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "NFC"}}}
		f["added_tokens"] = append(f["added_tokens"].([]any), map[string]any{"id": 273, "content": "cafe\u0301", "normalized": true})
	})
	checkEncode(t, "NFC", nfc, []encodeCase{
		{"e\u0301", []int32{0xC3, 0xA9}},
		{"caf\u00e9", []int32{273}}, // the added token's content is normalised too
		{"cafe\u0301!", []int32{273, '!'}},
	})
	unk := loadFixture(t, func(f map[string]any) {
		delete(model(f)["vocab"].(map[string]any), "ÿ") // byte 0xFF
		model(f)["unk_token"] = "<unk>"
	})
	checkEncode(t, "unk_token", unk, []encodeCase{{"a\xff\xff", []int32{'a', 267, 267}}})
	fused := loadFixture(t, func(f map[string]any) {
		delete(model(f)["vocab"].(map[string]any), "ÿ")
		model(f)["unk_token"] = "<unk>"
		model(f)["fuse_unk"] = true
	})
	checkEncode(t, "fuse_unk", fused, []encodeCase{{"a\xff\xff", []int32{'a', 267}}})
	pairs := loadFixture(t, func(f map[string]any) {
		var ms []any
		for _, m := range model(f)["merges"].([]any) {
			a, b, _ := strings.Cut(m.(string), " ")
			ms = append(ms, []any{a, b})
		}
		model(f)["merges"] = ms
	})
	checkEncode(t, "merges as pairs", pairs, []encodeCase{{"hello world", []int32{259, 264}}})
	for _, tok := range []*BPE{prefix, noRegex, ignore, nfc, unk, fused, pairs} {
		path := filepath.Join(t.TempDir(), "tokenizer.json")
		if err := tok.WriteTokenizerJSON(path); err != nil {
			t.Fatal(err)
		}
		back, err := LoadTokenizerJSON(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"hello", "x1 xyz hello world<|endoftext|> [SW] a <L> b <R> c", "cafe\u0301 e\u0301", "a\xff\xff", " world  x"} {
			if got, want := back.Encode(s), tok.Encode(s); !slices.Equal(got, want) {
				t.Errorf("written and read back: Encode(%q) = %v, want %v", s, got, want)
			}
		}
	}
}

// TestMalformed: every kind of bad file is an error that names the file and
// the problem, never a panic.
func TestMalformed(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(f map[string]any)
		raw    string // the file's text instead of the mutated fixture
		want   string
	}{
		{name: "empty file", raw: "", want: "bad JSON"},
		{name: "truncated", raw: "{\n  \"model\": {\"type\": \"BPE\",\n", want: "bad JSON"},
		{name: "syntax", raw: "{\n  \"model\": {\"type\": BPE}}", want: "line 2, column"},
		{name: "vocab id is a string", raw: `{"model": {"type": "BPE", "vocab": {"a": "1"}, "merges": []}}`, want: "bad JSON at line 1"},
		{name: "not an object", raw: `[1, 2]`, want: "bad JSON"},
		{name: "no model", mutate: func(f map[string]any) { delete(f, "model") }, want: "no model"},
		{name: "model type", mutate: func(f map[string]any) { model(f)["type"] = "WordPiece" }, want: `model type "WordPiece" is not supported`},
		{name: "unigram", mutate: func(f map[string]any) { model(f)["type"] = "Unigram" }, want: `"Unigram"`},
		{name: "merge token missing", mutate: func(f map[string]any) { model(f)["merges"].([]any)[1] = "l qq" },
			want: `model.merges[1] ("l" "qq"): "qq" is not in the vocabulary`},
		{name: "merged token missing", mutate: func(f map[string]any) { model(f)["merges"].([]any)[2] = "ll he" },
			want: `model.merges[2] ("ll" "he"): the merged token "llhe" is not in the vocabulary`},
		{name: "merge with three parts", mutate: func(f map[string]any) { model(f)["merges"].([]any)[0] = "h e l" }, want: `model.merges[0] is "h e l"`},
		{name: "merge one part", mutate: func(f map[string]any) { model(f)["merges"].([]any)[3] = "hello" }, want: `model.merges[3]`},
		{name: "merge a number", mutate: func(f map[string]any) { model(f)["merges"].([]any)[0] = 7 }, want: `model.merges[0] is 7`},
		{name: "merge triple", mutate: func(f map[string]any) { model(f)["merges"] = []any{[]any{"h", "e", "l"}} }, want: `model.merges[0]`},
		{name: "merges not a list", mutate: func(f map[string]any) { model(f)["merges"] = "h e" }, want: "bad JSON"},
		{name: "duplicate id", mutate: func(f map[string]any) { model(f)["vocab"].(map[string]any)["xyz"] = 259 },
			want: `model.vocab: tokens "hello" and "xyz" have the same id 259`},
		{name: "negative id", mutate: func(f map[string]any) { model(f)["vocab"].(map[string]any)["xyz"] = -3 }, want: `"xyz" has id -3`},
		{name: "huge id", mutate: func(f map[string]any) { model(f)["vocab"].(map[string]any)["xyz"] = 1 << 40 }, want: `outside`},
		{name: "empty vocab", mutate: func(f map[string]any) { model(f)["vocab"] = map[string]any{}; model(f)["merges"] = []any{} }, want: "model.vocab is empty"},
		{name: "byte_fallback", mutate: func(f map[string]any) { model(f)["byte_fallback"] = true }, want: "byte_fallback"},
		{name: "dropout", mutate: func(f map[string]any) { model(f)["dropout"] = 0.1 }, want: "model.dropout is 0.1"},
		{name: "subword prefix", mutate: func(f map[string]any) { model(f)["continuing_subword_prefix"] = "##" }, want: `continuing_subword_prefix "##"`},
		{name: "word suffix", mutate: func(f map[string]any) { model(f)["end_of_word_suffix"] = "</w>" }, want: `end_of_word_suffix "</w>"`},
		{name: "unk not in vocab", mutate: func(f map[string]any) { model(f)["unk_token"] = "[UNK]" }, want: `unk_token "[UNK]" is not in the vocabulary`},
		{name: "normalizer", mutate: func(f map[string]any) { f["normalizer"] = map[string]any{"type": "Lowercase"} }, want: `normalizer type "Lowercase" is not supported`},
		{name: "normalizer in sequence", mutate: func(f map[string]any) {
			f["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "NFC"}, map[string]any{"type": "NFKC"}}}
		}, want: `normalizer.normalizers[1] type "NFKC"`},
		{name: "normalizer without type", mutate: func(f map[string]any) { f["normalizer"] = map[string]any{} }, want: "normalizer has no type"},
		{name: "pre_tokenizer", mutate: func(f map[string]any) { f["pre_tokenizer"] = map[string]any{"type": "Whitespace"} }, want: `pre_tokenizer type "Whitespace" is not supported`},
		{name: "no pre_tokenizer", mutate: func(f map[string]any) { f["pre_tokenizer"] = nil }, want: "pre_tokenizer is null"},
		{name: "split pattern", mutate: func(f map[string]any) {
			f["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `\s+`}, "behavior": "Isolated"},
				map[string]any{"type": "ByteLevel", "use_regex": false}}}
		}, want: `pre_tokenizer.pretokenizers[0]: Split pattern Regex "\\s+" is not supported`},
		{name: "split behavior", mutate: func(f map[string]any) {
			f["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": gpt2Pattern}, "behavior": "Removed"},
				map[string]any{"type": "ByteLevel", "use_regex": false}}}
		}, want: `Split behavior "Removed"`},
		{name: "split only", mutate: func(f map[string]any) {
			f["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": gpt2Pattern}, "behavior": "Isolated"}
		}, want: "no ByteLevel"},
		{name: "bytelevel twice", mutate: func(f map[string]any) {
			f["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "ByteLevel"}, map[string]any{"type": "ByteLevel"}}}
		}, want: "ByteLevel must be the last"},
		{name: "decoder", mutate: func(f map[string]any) { f["decoder"] = map[string]any{"type": "WordPiece"} }, want: `decoder type "WordPiece" is not supported`},
		{name: "added without id", mutate: func(f map[string]any) { delete(f["added_tokens"].([]any)[2].(map[string]any), "id") }, want: "added_tokens[2] has no id"},
		{name: "added without content", mutate: func(f map[string]any) { delete(f["added_tokens"].([]any)[0].(map[string]any), "content") }, want: "added_tokens[0] has no content"},
		{name: "added empty", mutate: func(f map[string]any) { f["added_tokens"].([]any)[0].(map[string]any)["content"] = "" }, want: "empty content"},
		{name: "added same id", mutate: func(f map[string]any) { f["added_tokens"].([]any)[1].(map[string]any)["id"] = 268 },
			want: `added tokens "<|endoftext|>" and "[SW]" have the same id 268`},
		{name: "added negative id", mutate: func(f map[string]any) { f["added_tokens"].([]any)[1].(map[string]any)["id"] = -1 }, want: "added_tokens[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			if c.mutate != nil {
				path = func() string { f := fixture(); c.mutate(f); return writeFixture(t, f) }()
			} else if err := os.WriteFile(path, []byte(c.raw), 0o644); err != nil {
				t.Fatal(err)
			}
			b, err := LoadTokenizerJSON(path)
			if err == nil {
				t.Fatalf("no error (VocabSize %d)", b.VocabSize())
			}
			if !strings.Contains(err.Error(), path+": ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q; want the path and %q", err, c.want)
			}
		})
	}
	if _, err := LoadTokenizerJSON(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("a missing file gives no error")
	}
}

func TestFromGPT2FilesErrors(t *testing.T) {
	dir := t.TempDir()
	enc := filepath.Join(dir, "encoder.json")
	bpe := filepath.Join(dir, "vocab.bpe")
	os.WriteFile(enc, []byte(`{"a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3}`), 0o644)
	for _, c := range []struct{ merges, want string }{
		{"#version: 0.2\na b\n", ""},
		{"#version: 0.2\na b\na b c\n", bpe + `:3: "a b c" is not a merge`},
		{"#version: 0.2\na b\nb a\n", bpe + `:3 ("b" "a"): the merged token "ba" is not in the vocabulary`},
		{"#version: 0.2\n\na c\n", bpe + `:3 ("a" "c"): "c" is not in the vocabulary`},
	} {
		os.WriteFile(bpe, []byte(c.merges), 0o644)
		b, err := FromGPT2Files(enc, bpe)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.merges, err)
		case c.want == "" && (!slices.Equal(b.Encode("ab<|endoftext|>"), []int32{2, 3}) || b.EOS() != 3):
			t.Errorf("Encode(ab<|endoftext|>) = %v, EOS %d", b.Encode("ab<|endoftext|>"), b.EOS())
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: error %v, want %q", c.merges, err, c.want)
		}
	}
	os.WriteFile(enc, []byte(`{"a": 0, "b": 0}`), 0o644)
	if _, err := FromGPT2Files(enc, bpe); err == nil || !strings.Contains(err.Error(), enc+`: tokens "a" and "b" have the same id 0`) {
		t.Errorf("duplicate ids: %v", err)
	}
	os.WriteFile(enc, []byte(`{"a": 0,`), 0o644)
	if _, err := FromGPT2Files(enc, bpe); err == nil || !strings.Contains(err.Error(), enc+": bad JSON") {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestLoad(t *testing.T) {
	tok, err := Load("byte")
	if err != nil || tok.Name() != "byte" || tok.VocabSize() != 258 {
		t.Fatalf("Load(byte) = %v, %v", tok, err)
	}
	path := writeFixture(t, fixture())
	for _, spec := range []string{path, filepath.Dir(path)} {
		tok, err := Load(spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Encode("hello world"); tok.Name() != "tokenizer.json" || !slices.Equal(got, []int32{259, 264}) {
			t.Errorf("Load(%s): %s encodes %v", spec, tok.Name(), got)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nothing")); err == nil {
		t.Error("Load of a missing path gives no error")
	}
}

// FuzzTokenizerJSON: no file makes loading or encoding panic.
func FuzzTokenizerJSON(f *testing.F) {
	data, _ := json.Marshal(fixture())
	f.Add(data, "hello world<|endoftext|> [SW] <L> x")
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"ByteLevel"}}`), "abab")
	f.Add([]byte(`{"model":{"vocab":{"a":0},"merges":[["a","a"]]}}`), "aa")
	f.Add([]byte(`{"added_tokens":[{"id":5,"content":"x","lstrip":true,"rstrip":true}],"model":{"vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"ByteLevel","add_prefix_space":true}]}}`), " x a x ")
	f.Fuzz(func(t *testing.T, data []byte, s string) {
		b, err := parseTokenizerJSON("fuzz", data)
		if err != nil {
			return
		}
		ids := b.Encode(s)
		for _, id := range ids {
			if id < 0 || int(id) >= b.VocabSize() {
				t.Fatalf("Encode(%q) gave id %d of %d", s, id, b.VocabSize())
			}
		}
		b.Decode(ids)
	})
}
