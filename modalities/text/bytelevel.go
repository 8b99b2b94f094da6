package text

import "unicode/utf8"

// byteToRune is GPT-2's bytes_to_unicode: every byte gets a printable
// character, the printable Latin-1 bytes themselves and the others
// U+0100 onwards in order. runeToByte is its inverse.
var (
	byteToRune [256]rune
	runeToByte = map[rune]byte{}
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// byteLevel maps raw bytes to their byte-level string.
func byteLevel(b []byte) string {
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = utf8.AppendRune(out, byteToRune[c])
	}
	return string(out)
}

// unByteLevel maps a byte-level token back to the bytes it stands for. A
// token with a character outside the mapping stands for its own UTF-8 bytes,
// as Hugging Face's ByteLevel decoder has it.
func unByteLevel(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		b, ok := runeToByte[r]
		if !ok {
			return []byte(tok)
		}
		out = append(out, b)
	}
	return out
}
