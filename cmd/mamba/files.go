package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mambakit/mambakit/core/tensorfile"
	"github.com/mambakit/mambakit/datasets"
)

// expandFiles turns files and folders into files: a file is taken as it is,
// a folder gives (recursively) the files whose name, less a ".gz", ends in
// one of exts (lower case). The result is sorted; none at all is an error.
func expandFiles(paths []string, exts ...string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.Walk(p, func(path string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			name := strings.TrimSuffix(strings.ToLower(fi.Name()), ".gz")
			for _, ext := range exts {
				if strings.HasSuffix(name, ext) {
					out = append(out, path)
					break
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s files in %v", strings.Join(exts, ", "), paths)
	}
	sort.Strings(out)
	return out, nil
}

// splitEncode cuts documents into pieces (the modality's default size, or
// smaller for a small corpus), holds out valFrac of them, encodes both sides
// into token streams joined by sep, and writes the held-out documents, as
// they were read, to o.out/heldName for comparisons with compressors.
func splitEncode(docs []datasets.Document, defChunk int, o modalityOptions, encode func(string) []int32, sep int32,
	heldName, unit string) (train, val []int32, heldPath string, err error) {
	trainDocs, valDocs := datasets.SplitText(docs, chunkSize(docs, defChunk, o.seqLen), o.valFrac, o.seed)
	train = datasets.EncodeStream(trainDocs, encode, sep)
	val = datasets.EncodeStream(valDocs, encode, sep)
	if len(train) < o.seqLen+1 || len(val) < o.seqLen+1 {
		return nil, nil, "", fmt.Errorf("the data is too short for --seq-len %d: %d training and %d held-out %ss", o.seqLen, len(train), len(val), unit)
	}
	var held bytes.Buffer
	for _, d := range valDocs {
		held.Write(d.Text)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, nil, "", err
	}
	heldPath = filepath.Join(o.out, heldName)
	err = tensorfile.WriteAtomic(heldPath, func(f *os.File) error { _, err := f.Write(held.Bytes()); return err })
	return train, val, heldPath, err
}

// chunkSize picks the size of the pieces a corpus is cut into before the
// train/validation split: the modality's default, but small enough for a
// small corpus to make at least about 50 pieces, and at least two
// sequences long.
func chunkSize(docs []datasets.Document, def, seqLen int) int {
	total := 0
	for _, d := range docs {
		total += len(d.Text)
	}
	return max(min(def, total/50), 2*(seqLen+1))
}
