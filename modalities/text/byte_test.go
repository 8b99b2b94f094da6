package text

import (
	"slices"
	"testing"
)

func TestByte(t *testing.T) {
	b := NewByte()
	if b.VocabSize() != 258 || b.EOS() != 256 || b.Name() != "byte" {
		t.Fatalf("VocabSize %d, EOS %d, Name %q", b.VocabSize(), b.EOS(), b.Name())
	}
	for _, c := range []struct {
		in   string
		want []int32
	}{
		{"", []int32{}},
		{"a<|endoftext|>b", []int32{97, 256, 98}},
		{"<|pad|><|pad|>", []int32{257, 257}},
		{"<|endoftext|", []int32{'<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|'}},
		{"é\xff\x00", []int32{0xC3, 0xA9, 0xFF, 0}},
	} {
		got := b.Encode(c.in)
		if !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
		}
		if d := b.Decode(got); d != c.in {
			t.Errorf("Decode(%v) = %q, want %q", got, d, c.in)
		}
	}
	for id, want := range map[int32]string{0: "\x00", 'A': "A", 255: "\xff", 256: "<|endoftext|>", 257: "<|pad|>"} {
		if got := b.TokenBytes(id); string(got) != want {
			t.Errorf("TokenBytes(%d) = %q, want %q", id, got, want)
		}
	}
	if b.TokenBytes(258) != nil || b.TokenBytes(-1) != nil {
		t.Error("TokenBytes of an id out of range is not nil")
	}
	if got := b.Decode([]int32{104, -5, 105, 999}); got != "hi" {
		t.Errorf("Decode skipping bad ids = %q", got)
	}
}

// FuzzRoundTrip: any bytes round-trip through the byte tokenizer and GPT-2.
func FuzzRoundTrip(f *testing.F) {
	tok := gpt2(f)
	for _, s := range []string{"Hello world", "a  b\n\n c", "don't I'LL", "\xff\xfe<|endoftext|>", "🙂 日本語", "\u0085\t \u3000x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tk := range []Tokenizer{tok, NewByte()} {
			if got := tk.Decode(tk.Encode(s)); got != s {
				t.Fatalf("%s: Decode(Encode(%q)) = %q", tk.Name(), s, got)
			}
		}
	})
}
