package text

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func splitAll(s string) []string {
	var out []string
	splitGPT2(s, func(w string) { out = append(out, w) })
	return out
}

// TestGPT2Split checks the scanner against matches of GPT-2's pattern worked
// out by hand (the golden test checks it on real text against the JavaScript
// regex).
func TestGPT2Split(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello world", []string{"Hello", " world"}},
		{"a  b", []string{"a", " ", " b"}},
		{"a   b", []string{"a", "  ", " b"}},
		{"a \tb", []string{"a", " ", "\t", "b"}},
		{"x \n y", []string{"x", " \n", " y"}},
		{"trailing  ", []string{"trailing", "  "}},
		{"\n\nHello", []string{"\n", "\n", "Hello"}},
		{"end\n\n", []string{"end", "\n\n"}},
		{"  leading", []string{" ", " leading"}},
		{" ", []string{" "}},
		{"don't", []string{"don", "'t"}},
		{"I'LL", []string{"I", "'", "LL"}},
		{"we've they're I'm she'd it's", []string{"we", "'ve", " they", "'re", " I", "'m", " she", "'d", " it", "'s"}},
		{"'''s", []string{"'''", "s"}},
		{" 's", []string{" '", "s"}},
		{"'", []string{"'"}},
		{"'r", []string{"'", "r"}},
		{"12345 3.14", []string{"12345", " 3", ".", "14"}},
		{"x²½", []string{"x", "²½"}},
		{"?!?! ...", []string{"?!?!", " ..."}},
		{"naïve café 日本語 🙂", []string{"naïve", " café", " 日本語", " 🙂"}},
		// U+0085 is White_Space, as in Unicode, Oniguruma (Hugging Face) and Go.
		{"a\u0085\u0085b", []string{"a", "\u0085", "\u0085", "b"}},
		// Bytes that are not UTF-8 are single characters of class "other".
		{"a\xffb", []string{"a", "\xff", "b"}},
		{" \xff\xfe!", []string{" \xff\xfe!"}},
		{"é\xc3", []string{"é", "\xc3"}},
	} {
		if got := splitAll(c.in); !slices.Equal(got, c.want) {
			t.Errorf("split(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestGPT2SplitTiles: the words tile the text, none is empty, and each
// whitespace-only word is followed by a non-space only when the pattern
// allows it (a single whitespace character, or a space before a word).
func TestGPT2SplitTiles(t *testing.T) {
	alphabet := []string{" ", "  ", "\n", "\t", "a", "Z", "é", "日", "1", "٣", "'", "s", "ll", "!", ".", "\xff", "🙂", "\u00a0", "\u0301"}
	rng := uint64(7)
	for range 5000 {
		var sb strings.Builder
		for range int(rng>>59) + 1 {
			rng = rng*6364136223846793005 + 1442695040888963407
			sb.WriteString(alphabet[int(rng>>33)%len(alphabet)])
		}
		s := sb.String()
		words := splitAll(s)
		if strings.Join(words, "") != s {
			t.Fatalf("split(%q) = %q does not tile it", s, words)
		}
		for i, w := range words {
			if w == "" {
				t.Fatalf("split(%q) has an empty word", s)
			}
			if strings.TrimSpace(w) == "" && i+1 < len(words) && utf8.RuneCountInString(w) > 1 {
				if next, _ := classAt(words[i+1], 0); next != clsSpace && !strings.HasPrefix(words[i+1], " ") {
					t.Fatalf("split(%q): whitespace %q is followed by %q", s, w, words[i+1])
				}
			}
		}
	}
}

// TestBytesToUnicode checks the byte-level mapping against GPT-2's
// definition written out again, and some well-known characters.
func TestBytesToUnicode(t *testing.T) {
	var bs []int
	for b := '!'; b <= '~'; b++ {
		bs = append(bs, int(b))
	}
	for b := '¡'; b <= '¬'; b++ {
		bs = append(bs, int(b))
	}
	for b := '®'; b <= 'ÿ'; b++ {
		bs = append(bs, int(b))
	}
	cs := map[int]rune{}
	for _, b := range bs {
		cs[b] = rune(b)
	}
	n := 0
	for b := range 256 {
		if !slices.Contains(bs, b) {
			cs[b] = rune(256 + n)
			n++
		}
	}
	for b := range 256 {
		if byteToRune[b] != cs[b] {
			t.Errorf("byte %#x maps to %q, want %q", b, byteToRune[b], cs[b])
		}
	}
	if byteToRune[' '] != 'Ġ' || byteToRune['\n'] != 'Ċ' || byteToRune['\t'] != 'ĉ' {
		t.Errorf("space, newline, tab map to %q %q %q", byteToRune[' '], byteToRune['\n'], byteToRune['\t'])
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if got := unByteLevel(byteLevel(all)); !slices.Equal(got, all) {
		t.Error("byteLevel does not round-trip all bytes")
	}
}
