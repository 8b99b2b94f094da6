package main

import (
	"fmt"
	"path/filepath"

	"github.com/mambakit/mambakit/modalities/text"
)

// modelTokenizer returns the tokenizer a model directory names in its
// mambakit.json ("byte" or a tokenizer.json beside it), or override when
// given.
func modelTokenizer(dir, override string) (text.Tokenizer, error) {
	if override != "" {
		return text.Load(override)
	}
	meta, err := readMeta(dir)
	if err != nil {
		return nil, err
	}
	spec, _ := meta["tokenizer"].(string)
	switch spec {
	case "":
		return nil, fmt.Errorf("%s has no mambakit.json naming its tokenizer: pass --tokenizer (byte or a tokenizer.json)", dir)
	case "byte":
		return text.NewByte(), nil
	default:
		return text.Load(filepath.Join(dir, filepath.Base(spec)))
	}
}
