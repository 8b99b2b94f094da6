package datasets

import (
	"testing"
)

func TestPacked(t *testing.T) {
	s := make([]int32, 23)
	for i := range s {
		s[i] = int32(i)
	}
	ids, tg, n := Packed(s, 5, 0)
	if n != 4 {
		t.Fatalf("%d windows of 5 in 23 tokens, want 4", n)
	}
	for i := 0; i < 20; i++ {
		if ids[i] != int32(i) || tg[i] != int32(i+1) {
			t.Fatalf("window layout: ids %v targets %v", ids, tg)
		}
	}
	// Two of four, spread: windows 0 and 2.
	ids, _, n = Packed(s, 5, 2)
	if n != 2 || ids[0] != 0 || ids[5] != 10 {
		t.Fatalf("spread windows %v (n %d), want starts 0 and 10", ids, n)
	}
}

func TestWindowsDeterministic(t *testing.T) {
	s := make([]int32, 100)
	for i := range s {
		s[i] = int32(i)
	}
	a, at := Windows(s, 7, 3, 10, 42)
	b, _ := Windows(s, 7, 3, 10, 42)
	c, _ := Windows(s, 8, 3, 10, 42)
	same := func(x, y []int32) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) || same(a, c) {
		t.Error("windows must depend on (seed, draw) only")
	}
	for i := range a {
		if at[i] != a[i]+1 {
			t.Fatalf("targets are not the next tokens: %v / %v", a, at)
		}
	}
}

func TestSplitText(t *testing.T) {
	var docs []Document
	total := 0
	for i := 0; i < 30; i++ {
		txt := []byte{}
		for j := 0; j < 50+i; j++ {
			txt = append(txt, []byte("line of text\n")...)
		}
		docs = append(docs, Document{Name: "d", Text: txt})
		total += len(txt)
	}
	train, val := SplitText(docs, 300, 0.1, 1)
	n, v := 0, 0
	for _, d := range train {
		n += len(d.Text)
		if len(d.Text) > 300 {
			t.Fatalf("chunk of %d bytes", len(d.Text))
		}
	}
	for _, d := range val {
		v += len(d.Text)
	}
	if n+v != total || float64(v) < 0.1*float64(total) || float64(v) > 0.1*float64(total)+300 {
		t.Errorf("split %d + %d of %d bytes", n, v, total)
	}
	train2, _ := SplitText(docs, 300, 0.1, 1)
	if len(train2) != len(train) || string(train2[0].Text) != string(train[0].Text) || train2[0].Name != train[0].Name {
		t.Error("the split is not deterministic")
	}
}
