package text

import (
	"unicode"
	"unicode/utf8"
)

// gpt2Pattern is the regular expression GPT-2 cuts text into words with.
// Go's regexp has no lookahead, so gpt2Next implements it by hand.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// Character classes of the pattern.
const (
	clsOther  = iota // [^\s\p{L}\p{N}], and bytes that are not UTF-8
	clsLetter        // \p{L}
	clsNumber        // \p{N}
	clsSpace         // \s: Unicode White_Space
)

var asciiClass [128]uint8

func init() {
	for c := 0; c < 128; c++ {
		asciiClass[c] = classOf(rune(c))
	}
}

func classOf(r rune) uint8 {
	switch {
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r):
		return clsSpace
	}
	return clsOther
}

// classAt returns the class and width of the character starting s[i]. A byte
// that does not start valid UTF-8 is one character of class other.
func classAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w <= 1 {
		return clsOther, 1
	}
	return classOf(r), w
}

// gpt2Next returns the length of the first match of gpt2Pattern in s, which
// starts at s[0] (the pattern matches every character, so matches tile the
// text). s must not be empty. Alternatives are tried in the pattern's order,
// as a backtracking regex engine does.
func gpt2Next(s string) int {
	if s[0] == '\'' && len(s) > 1 {
		switch s[1] {
		case 's', 't', 'm', 'd':
			return 2
		case 'r', 'v':
			if len(s) > 2 && s[2] == 'e' {
				return 3
			}
		case 'l':
			if len(s) > 2 && s[2] == 'l' {
				return 3
			}
		}
	}
	cls, w := classAt(s, 0)
	start := 0
	if s[0] == ' ' && len(s) > 1 {
		// " ?X+" takes the space when a letter, number or other follows.
		if c, _ := classAt(s, 1); c != clsSpace {
			cls, start = c, 1
		}
	}
	if cls != clsSpace {
		i := start
		for i < len(s) {
			c, cw := classAt(s, i)
			if c != cls {
				break
			}
			i += cw
		}
		return i
	}
	// \s+(?!\S): the whitespace run up to the end of the text, or without its
	// last character when a non-space follows; \s+ when that leaves nothing.
	i, last := w, 0
	for i < len(s) {
		c, cw := classAt(s, i)
		if c != clsSpace {
			if last > 0 {
				return last
			}
			return i
		}
		last = i
		i += cw
	}
	return i
}

// splitGPT2 calls f with each match of gpt2Pattern in s, in order.
func splitGPT2(s string, f func(string)) {
	for len(s) > 0 {
		n := gpt2Next(s)
		f(s[:n])
		s = s[n:]
	}
}
