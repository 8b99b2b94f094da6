package text

import "strings"

// Byte is the byte-level tokenizer: ids 0-255 are the bytes of the text,
// 256 is "<|endoftext|>" (the end of text) and 257 is "<|pad|>". Those two
// written in the text become their ids; everything else, valid UTF-8 or not,
// round-trips exactly.
type Byte struct{}

const (
	byteEOS = 256
	bytePad = 257
)

var byteSpecials = [...]string{byteEOS - 256: "<|endoftext|>", bytePad - 256: "<|pad|>"}

// NewByte returns the byte-level tokenizer.
func NewByte() *Byte { return &Byte{} }

// Name returns "byte".
func (*Byte) Name() string { return "byte" }

// VocabSize returns 258.
func (*Byte) VocabSize() int { return 258 }

// EOS returns 256, the id of "<|endoftext|>".
func (*Byte) EOS() int32 { return byteEOS }

// Encode returns the bytes of s as ids, with "<|endoftext|>" and "<|pad|>"
// written in s as 256 and 257.
func (*Byte) Encode(s string) []int32 {
	out := make([]int32, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] == '<' {
			if k := specialAt(s[i:]); k >= 0 {
				out = append(out, int32(256+k))
				i += len(byteSpecials[k])
				continue
			}
		}
		out = append(out, int32(s[i]))
		i++
	}
	return out
}

func specialAt(s string) int {
	for k, sp := range byteSpecials {
		if strings.HasPrefix(s, sp) {
			return k
		}
	}
	return -1
}

// Decode returns the bytes of ids as text, the specials as their text. Ids
// outside [0, 258) are skipped.
func (b *Byte) Decode(ids []int32) string {
	out := make([]byte, 0, len(ids))
	for _, id := range ids {
		switch {
		case id >= 0 && id < 256:
			out = append(out, byte(id))
		case id >= 256 && id < 258:
			out = append(out, byteSpecials[id-256]...)
		}
	}
	return string(out)
}

// TokenBytes returns the byte id stands for, or a special's text; nil for
// ids outside [0, 258).
func (*Byte) TokenBytes(id int32) []byte {
	switch {
	case id >= 0 && id < 256:
		return []byte{byte(id)}
	case id >= 256 && id < 258:
		return []byte(byteSpecials[id-256])
	}
	return nil
}
