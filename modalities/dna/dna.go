package dna

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Token ids, as HyenaDNA's and Caduceus' character tokenizers number them.
const (
	CLS      int32 = 0  // [CLS], classification token
	SEP      int32 = 1  // [SEP], separator
	BOS      int32 = 2  // [BOS], beginning of sequence
	MASK     int32 = 3  // [MASK], masked position for masked-language training
	PAD      int32 = 4  // [PAD], padding
	RESERVED int32 = 5  // [RESERVED], unused
	UNK      int32 = 6  // [UNK], unknown
	A        int32 = 7  // adenine
	C        int32 = 8  // cytosine
	G        int32 = 9  // guanine
	T        int32 = 10 // thymine (and uracil, see Encode)
	N        int32 = 11 // any base: N and the IUPAC ambiguity codes
)

// VocabSize is the number of token ids, specials included.
const VocabSize = 12

// specialNames are the renderings of the special ids by Decode.
var specialNames = [...]string{"[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]"}

// letters are the renderings of the base ids A..N by Decode.
const letters = "ACGTN"

// encodeTable maps a byte to its id, with ambiguous marking IUPAC codes and
// invalid every byte Encode rejects.
var encodeTable = func() (t [256]int32) {
	const (
		invalid   = -1
		ambiguous = -2
	)
	for i := range t {
		t[i] = invalid
	}
	set := func(chars string, v int32) {
		for _, c := range []byte(chars) {
			t[c] = v
			t[c|0x20] = v // lower case
		}
	}
	set("A", A)
	set("C", C)
	set("G", G)
	set("T", T)
	set("U", T)
	set("N", N)
	set("RYSWKMBDHV", ambiguous)
	return t
}()

// Encode turns DNA letters into token ids. Case is ignored. A, C, G, T and N
// map to their ids; U (RNA) is read as T; the IUPAC ambiguity codes R Y S W
// K M B D H V become N and are counted in ambiguous (N itself is not
// counted). Any other byte, including newlines, spaces, '-' and '*', is an
// error naming its 0-based position and the byte (quoted by QuoteByte):
// `invalid base 'x' at position 12`.
func Encode(seq []byte) (ids []int32, ambiguous int, err error) {
	ids = make([]int32, len(seq))
	for i, c := range seq {
		switch v := encodeTable[c]; v {
		case -1:
			return nil, 0, fmt.Errorf("invalid base %s at position %d", QuoteByte(c), i)
		case -2:
			ids[i] = N
			ambiguous++
		default:
			ids[i] = v
		}
	}
	return ids, ambiguous, nil
}

// QuoteByte quotes a byte for an error message as Go would write it in a
// rune literal: 'x', '\n', and '\xff' for a byte that is not ASCII (which
// %q would misrender as the rune U+00FF).
func QuoteByte(c byte) string {
	if c < utf8.RuneSelf {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf(`'\x%02x'`, c)
}

// Decode renders ids as text: bases as the upper-case letters A C G T N,
// specials by their bracketed names, and an id outside the vocabulary as its
// number in brackets with a question mark:
//
//	[CLS] [SEP] [BOS] [MASK] [PAD] [RESERVED] [UNK]   ids 0 to 6
//	[12?] [-1?]                                       ids 12 and -1
func Decode(ids []int32) []byte {
	out := make([]byte, 0, len(ids))
	for _, id := range ids {
		switch {
		case id >= A && id <= N:
			out = append(out, letters[id-A])
		case id >= 0 && id < A:
			out = append(out, specialNames[id]...)
		default:
			out = append(out, '[')
			out = strconv.AppendInt(out, int64(id), 10)
			out = append(out, '?', ']')
		}
	}
	return out
}

// complementID maps an id to the id of its complementary base.
func complementID(id int32) int32 {
	switch id {
	case A:
		return T
	case T:
		return A
	case C:
		return G
	case G:
		return C
	}
	return id // N, specials and ids outside the vocabulary
}

// ReverseComplement returns the reverse complement of ids in a new slice:
// the order reversed, A↔T and C↔G swapped. N, the specials and ids outside
// the vocabulary map to themselves.
func ReverseComplement(ids []int32) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = complementID(id)
	}
	return out
}

// complementByte maps each byte to its IUPAC complement, case preserved.
var complementByte = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	pairs := []string{"AT", "CG", "RY", "KM", "BV", "DH", "UA"}
	for _, p := range pairs {
		x, y := p[0], p[1]
		t[x], t[x|0x20] = y, y|0x20
		if x != 'U' { // A's complement stays T: the output is DNA
			t[y], t[y|0x20] = x, x|0x20
		}
	}
	return t
}()

// ReverseComplementBytes returns the reverse complement of DNA letters in a
// new slice, case preserved: A↔T, C↔G and the IUPAC codes R↔Y, K↔M, B↔V,
// D↔H, while S, W and N are their own complements. U (RNA) becomes A. Every
// other byte (gaps '-', '.', '*', digits) is copied unchanged; use Encode to
// validate.
func ReverseComplementBytes(seq []byte) []byte {
	out := make([]byte, len(seq))
	for i, c := range seq {
		out[len(seq)-1-i] = complementByte[c]
	}
	return out
}

// Units is how many bases id stands for: 1 for A, C, G, T and N, 0 for the
// specials (and ids outside the vocabulary). Summed over the targets of a
// loss it gives the divisor of bits per base.
func Units(id int32) float64 {
	if id >= A && id <= N {
		return 1
	}
	return 0
}
