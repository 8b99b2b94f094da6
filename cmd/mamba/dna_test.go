package main

import (
	"testing"

	"github.com/mambakit/mambakit/datasets"
)

func TestGenusOf(t *testing.T) {
	for id, want := range map[string]string{
		"gi_1;tax=d:Bacteria,p:Firmicutes,c:Bacilli,o:Bacillales,f:Alicyclobacillaceae,g:Alicyclobacillus;": "Alicyclobacillus",
		"gi_2;tax=d:Bacteria,p:Firmicutes,c:Bacilli,o:Bacillales,f:Alicyclobacillaceae,g:Alicyclobacillus":  "Alicyclobacillus",
		"gi_3;tax=d:Bacteria,p:Firmicutes,c:Bacilli;":                                                       "", // no genus
		"gi_4;tax=d:Bacteria,p:Firmicutes,org:x;":                                                           "", // "g:" inside another field
		"g:Start,p:Firmicutes": "Start",
	} {
		if got := genusOf(datasets.LabelledSeq{ID: id}); got != want {
			t.Errorf("genusOf(%q) = %q, want %q", id, got, want)
		}
	}
}
