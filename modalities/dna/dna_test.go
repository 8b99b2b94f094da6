package dna

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestEncodeBasesAndCase(t *testing.T) {
	ids, amb, err := Encode([]byte("ACGTNacgtn"))
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{7, 8, 9, 10, 11, 7, 8, 9, 10, 11}
	if !slices.Equal(ids, want) || amb != 0 {
		t.Fatalf("got %v, %d ambiguous; want %v, 0", ids, amb, want)
	}
	// RNA: U reads as T and is not ambiguous.
	ids, amb, err = Encode([]byte("ACGUu"))
	if err != nil || !slices.Equal(ids, []int32{A, C, G, T, T}) || amb != 0 {
		t.Fatalf("RNA: %v %d %v", ids, amb, err)
	}
	ids, amb, err = Encode(nil)
	if err != nil || len(ids) != 0 || amb != 0 {
		t.Fatalf("empty: %v %d %v", ids, amb, err)
	}
}

func TestEncodeAmbiguous(t *testing.T) {
	ids, amb, err := Encode([]byte("ArYsWkMbDhVNn"))
	if err != nil {
		t.Fatal(err)
	}
	// 10 IUPAC codes; the two Ns are not counted.
	if amb != 10 {
		t.Fatalf("ambiguous = %d, want 10", amb)
	}
	want := []int32{A, N, N, N, N, N, N, N, N, N, N, N, N}
	if !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, c := range []struct{ in, msg string }{
		{"ACG\nT", `invalid base '\n' at position 3`},
		{"AC-GT", `invalid base '-' at position 2`},
		{"*", `invalid base '*' at position 0`},
		{"ACGTX", `invalid base 'X' at position 4`},
		{"AC GT", `invalid base ' ' at position 2`},
		{"ACGTE", `invalid base 'E' at position 4`}, // a letter that is no IUPAC code
		{"AC\xffG", `invalid base '\xff' at position 2`},
		{"acgt\r", `invalid base '\r' at position 4`},
	} {
		ids, _, err := Encode([]byte(c.in))
		if err == nil || err.Error() != c.msg {
			t.Errorf("Encode(%q): err %v, want %q", c.in, err, c.msg)
		}
		if ids != nil {
			t.Errorf("Encode(%q) returned ids with an error", c.in)
		}
	}
}

func TestDecode(t *testing.T) {
	ids := []int32{CLS, A, C, G, T, N, SEP, BOS, MASK, PAD, RESERVED, UNK, 12, -1}
	got := string(Decode(ids))
	want := "[CLS]ACGTN[SEP][BOS][MASK][PAD][RESERVED][UNK][12?][-1?]"
	if got != want {
		t.Fatalf("Decode = %q, want %q", got, want)
	}
}

func randomSeq(r *rand.Rand, n int, alphabet string) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = alphabet[r.IntN(len(alphabet))]
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		s := randomSeq(r, r.IntN(300), "ACGTNacgtn")
		ids, amb, err := Encode(s)
		if err != nil || amb != 0 {
			t.Fatal(err, amb)
		}
		if got := Decode(ids); !bytes.Equal(got, bytes.ToUpper(s)) {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
	}
}

func TestReverseComplementIDs(t *testing.T) {
	ids, _, _ := Encode([]byte("AACGTN"))
	if got := string(Decode(ReverseComplement(ids))); got != "NACGTT" {
		t.Fatalf("RC(AACGTN) = %s, want NACGTT", got)
	}
	withSpecials := []int32{CLS, A, A, G, MASK, N, SEP}
	if got := ReverseComplement(withSpecials); !slices.Equal(got, []int32{SEP, N, MASK, C, T, T, CLS}) {
		t.Fatalf("RC with specials = %v", got)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		x := make([]int32, r.IntN(100))
		for i := range x {
			x[i] = int32(r.IntN(VocabSize + 2)) // ids outside the vocabulary too
		}
		if got := ReverseComplement(ReverseComplement(x)); !slices.Equal(got, x) {
			t.Fatalf("RC(RC(%v)) = %v", x, got)
		}
	}
}

func TestReverseComplementBytes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ACGT", "ACGT"},
		{"AAcgN", "NcgTT"},
		{"RYKMBVDHSWN", "NWSDHBVKMRY"},
		{"rykmbvdhswn", "nwsdhbvkmry"},
		{"AC-G.T*", "*A.C-GT"},
		{"ACGU", "ACGT"}, // U complements to A, output is DNA
	} {
		if got := string(ReverseComplementBytes([]byte(c.in))); got != c.want {
			t.Errorf("ReverseComplementBytes(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	const iupac = "ACGTNRYSWKMBDHVacgtnryswkmbdhv"
	for range 100 {
		s := randomSeq(r, r.IntN(200), iupac)
		rc := ReverseComplementBytes(s)
		if got := ReverseComplementBytes(rc); !bytes.Equal(got, s) {
			t.Fatalf("RC(RC(%q)) = %q", s, got)
		}
		// The letter and the id reverse complements agree.
		a, ambA, err1 := Encode(rc)
		b, ambB, err2 := Encode(s)
		if err1 != nil || err2 != nil || ambA != ambB {
			t.Fatal(err1, err2, ambA, ambB)
		}
		if !slices.Equal(a, ReverseComplement(b)) {
			t.Fatalf("Encode(RCB(%q)) != RC(Encode)", s)
		}
	}
}

func TestUnits(t *testing.T) {
	var total float64
	for id := int32(-1); id <= VocabSize; id++ {
		total += Units(id)
	}
	if total != 5 {
		t.Fatalf("units over all ids = %v, want 5 (A C G T N)", total)
	}
	for _, id := range []int32{A, C, G, T, N} {
		if Units(id) != 1 {
			t.Errorf("Units(%d) = %v", id, Units(id))
		}
	}
	ids, _, _ := Encode([]byte("ACGTNRY"))
	ids = append([]int32{BOS}, append(ids, SEP, PAD, PAD)...)
	var n float64
	for _, id := range ids {
		n += Units(id)
	}
	if n != 7 {
		t.Fatalf("units of %s = %v, want 7", Decode(ids), n)
	}
	if !strings.HasPrefix(string(Decode(ids)), "[BOS]ACGTNNN[SEP]") {
		t.Fatal(string(Decode(ids)))
	}
}
