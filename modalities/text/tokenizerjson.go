package text

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The parts of a Hugging Face tokenizer.json that are read.
type tjFile struct {
	AddedTokens   []tjAdded       `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         *tjModel        `json:"model"`
}

type tjAdded struct {
	ID         *int64  `json:"id"`
	Content    *string `json:"content"`
	Special    bool    `json:"special"`
	SingleWord bool    `json:"single_word"`
	LStrip     bool    `json:"lstrip"`
	RStrip     bool    `json:"rstrip"`
	Normalized bool    `json:"normalized"`
}

type tjModel struct {
	Type                    string            `json:"type"`
	Vocab                   map[string]int64  `json:"vocab"`
	Merges                  []json.RawMessage `json:"merges"`
	UnkToken                *string           `json:"unk_token"`
	Dropout                 *float64          `json:"dropout"`
	ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
	FuseUnk                 bool              `json:"fuse_unk"`
	ByteFallback            bool              `json:"byte_fallback"`
	IgnoreMerges            bool              `json:"ignore_merges"`
}

// tjComponent is a normalizer, pre-tokenizer or decoder.
type tjComponent struct {
	Type           string            `json:"type"`
	Normalizers    []json.RawMessage `json:"normalizers"`
	Pretokenizers  []json.RawMessage `json:"pretokenizers"`
	Decoders       []json.RawMessage `json:"decoders"`
	AddPrefixSpace bool              `json:"add_prefix_space"`
	UseRegex       *bool             `json:"use_regex"`
	Pattern        *struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior string `json:"behavior"`
	Invert   bool   `json:"invert"`
}

// LoadTokenizerJSON reads a Hugging Face tokenizer.json holding a byte-level
// BPE tokenizer: model "BPE" (merges as "a b" strings or ["a", "b"] pairs;
// no byte_fallback, dropout, subword prefix or suffix), normaliser null or
// NFC (or a Sequence of NFC), pre-tokenizer ByteLevel, possibly after a
// Split with GPT-2's pattern, decoder ByteLevel or null. Anything else is an
// error naming the file and what is wrong. The post-processor is kept (for
// WriteTokenizerJSON) but not applied by Encode.
func LoadTokenizerJSON(path string) (*BPE, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, err := parseTokenizerJSON(filepath.Base(path), data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// parseTokenizerJSON builds a BPE from tokenizer.json's bytes; errors say
// where in the file the problem is but not the file's name.
func parseTokenizerJSON(name string, data []byte) (*BPE, error) {
	var f tjFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, jsonError(data, err)
	}
	m := f.Model
	if m == nil {
		return nil, errors.New("no model")
	}
	if m.Type == "" && m.Merges == nil {
		return nil, errors.New("model has no type")
	}
	if m.Type != "" && m.Type != "BPE" {
		return nil, fmt.Errorf("model type %q is not supported (only BPE)", m.Type)
	}
	switch {
	case m.ByteFallback:
		return nil, errors.New("model.byte_fallback is true: byte-fallback BPE is not supported (only byte-level BPE)")
	case m.Dropout != nil && *m.Dropout != 0:
		return nil, fmt.Errorf("model.dropout is %v: BPE dropout is not supported", *m.Dropout)
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return nil, fmt.Errorf("model.continuing_subword_prefix %q is not supported", *m.ContinuingSubwordPrefix)
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return nil, fmt.Errorf("model.end_of_word_suffix %q is not supported", *m.EndOfWordSuffix)
	}
	sp := bpeSpec{name: name, fuseUnk: m.FuseUnk, ignore: m.IgnoreMerges, vocabWhere: "model.vocab",
		mergeWhere: func(i int) string { return fmt.Sprintf("model.merges[%d]", i) }}
	if m.UnkToken != nil {
		sp.unkToken = *m.UnkToken
	}
	sp.vocab = make(map[string]int32, len(m.Vocab))
	for tok, id := range m.Vocab {
		if id < 0 || id > maxID {
			return nil, fmt.Errorf("model.vocab: token %q has id %d, outside [0, %d]", tok, id, maxID)
		}
		sp.vocab[tok] = int32(id)
	}
	sp.merges = make([][2]string, len(m.Merges))
	for i, raw := range m.Merges {
		var s string
		var pair []string
		if err := json.Unmarshal(raw, &s); err == nil {
			parts := strings.Split(s, " ")
			if len(parts) != 2 {
				return nil, fmt.Errorf("model.merges[%d] is %q: want two tokens separated by one space", i, s)
			}
			sp.merges[i] = [2]string{parts[0], parts[1]}
		} else if err := json.Unmarshal(raw, &pair); err == nil && len(pair) == 2 {
			sp.merges[i] = [2]string{pair[0], pair[1]}
		} else {
			return nil, fmt.Errorf("model.merges[%d] is %s: want a string \"a b\" or a pair [\"a\", \"b\"]", i, clip(raw))
		}
	}
	for i, a := range f.AddedTokens {
		switch {
		case a.ID == nil:
			return nil, fmt.Errorf("added_tokens[%d] has no id", i)
		case a.Content == nil:
			return nil, fmt.Errorf("added_tokens[%d] has no content", i)
		case *a.ID < 0 || *a.ID > maxID:
			return nil, fmt.Errorf("added_tokens[%d] (%q) has id %d, outside [0, %d]", i, *a.Content, *a.ID, maxID)
		}
		sp.added = append(sp.added, addedToken{ID: int32(*a.ID), Content: *a.Content, Special: a.Special,
			SingleWord: a.SingleWord, LStrip: a.LStrip, RStrip: a.RStrip, Normalized: a.Normalized})
	}
	var err error
	if sp.nfc, err = parseNormalizer(f.Normalizer, "normalizer"); err != nil {
		return nil, err
	}
	if sp.stages, err = parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if err := checkDecoder(f.Decoder, "decoder"); err != nil {
		return nil, err
	}
	sp.normalizerJSON, sp.preTokenizerJSON = f.Normalizer, f.PreTokenizer
	sp.postProcessorJSON, sp.decoderJSON = f.PostProcessor, f.Decoder
	return newBPE(sp)
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

func component(raw json.RawMessage, where string) (*tjComponent, error) {
	var c tjComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", where, err)
	}
	if c.Type == "" {
		return nil, fmt.Errorf("%s has no type", where)
	}
	return &c, nil
}

// parseNormalizer reports whether the normaliser is NFC (else none).
func parseNormalizer(raw json.RawMessage, where string) (bool, error) {
	if isNull(raw) {
		return false, nil
	}
	c, err := component(raw, where)
	if err != nil {
		return false, err
	}
	switch c.Type {
	case "NFC":
		return true, nil
	case "Sequence":
		nfc := false
		for i, r := range c.Normalizers {
			n, err := parseNormalizer(r, fmt.Sprintf("%s.normalizers[%d]", where, i))
			if err != nil {
				return false, err
			}
			nfc = nfc || n
		}
		return nfc, nil
	}
	return false, fmt.Errorf("%s type %q is not supported (only NFC, or a Sequence of NFC)", where, c.Type)
}

// flatPreTokenizers lists the pre-tokenizers in order, opening Sequences.
func flatPreTokenizers(raw json.RawMessage, where string, out *[]*tjComponent, wheres *[]string) error {
	c, err := component(raw, where)
	if err != nil {
		return err
	}
	if c.Type != "Sequence" {
		*out, *wheres = append(*out, c), append(*wheres, where)
		return nil
	}
	for i, r := range c.Pretokenizers {
		if err := flatPreTokenizers(r, fmt.Sprintf("%s.pretokenizers[%d]", where, i), out, wheres); err != nil {
			return err
		}
	}
	return nil
}

// parsePreTokenizer accepts ByteLevel, optionally after a Split with GPT-2's
// pattern, as the stages of the pre-tokenizer.
func parsePreTokenizer(raw json.RawMessage) ([]stage, error) {
	if isNull(raw) {
		return nil, errors.New("pre_tokenizer is null: only byte-level BPE (a ByteLevel pre-tokenizer) is supported")
	}
	var cs []*tjComponent
	var wheres []string
	if err := flatPreTokenizers(raw, "pre_tokenizer", &cs, &wheres); err != nil {
		return nil, err
	}
	var stages []stage
	for i, c := range cs {
		where := wheres[i]
		switch c.Type {
		case "ByteLevel":
			if i != len(cs)-1 {
				return nil, fmt.Errorf("%s: ByteLevel must be the last pre-tokenizer", where)
			}
			stages = append(stages, stage{prefix: c.AddPrefixSpace, useRegex: c.UseRegex == nil || *c.UseRegex})
		case "Split":
			switch {
			case c.Pattern == nil || c.Pattern.Regex == nil || *c.Pattern.Regex != gpt2Pattern:
				p := "none"
				if c.Pattern != nil && c.Pattern.Regex != nil {
					p = fmt.Sprintf("Regex %q", *c.Pattern.Regex)
				} else if c.Pattern != nil && c.Pattern.String != nil {
					p = fmt.Sprintf("String %q", *c.Pattern.String)
				}
				return nil, fmt.Errorf("%s: Split pattern %s is not supported (only GPT-2's %q)", where, p, gpt2Pattern)
			case c.Behavior != "Isolated":
				return nil, fmt.Errorf("%s: Split behavior %q is not supported (only Isolated)", where, c.Behavior)
			case c.Invert:
				return nil, fmt.Errorf("%s: Split with invert true is not supported", where)
			}
			stages = append(stages, stage{split: true})
		default:
			return nil, fmt.Errorf("%s type %q is not supported (only ByteLevel, possibly after a Split with GPT-2's pattern)", where, c.Type)
		}
	}
	if len(stages) == 0 || stages[len(stages)-1].split {
		return nil, errors.New("pre_tokenizer has no ByteLevel: only byte-level BPE is supported")
	}
	return stages, nil
}

// checkDecoder accepts ByteLevel, a Sequence of ByteLevel, or null.
func checkDecoder(raw json.RawMessage, where string) error {
	if isNull(raw) {
		return nil
	}
	c, err := component(raw, where)
	if err != nil {
		return err
	}
	switch c.Type {
	case "ByteLevel":
		return nil
	case "Sequence":
		for i, r := range c.Decoders {
			if err := checkDecoder(r, fmt.Sprintf("%s.decoders[%d]", where, i)); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s type %q is not supported (only ByteLevel)", where, c.Type)
}

// jsonError turns a decoding error into one with the line and column.
func jsonError(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return fmt.Errorf("bad JSON: %v", err)
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("bad JSON at line %d, column %d: %v", line, col, err)
}

func clip(raw json.RawMessage) string {
	s := string(raw)
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}

// WriteTokenizerJSON writes b as a Hugging Face tokenizer.json that
// LoadTokenizerJSON (and Hugging Face tokenizers) read back as the same
// tokenizer: the vocabulary in id order, the merges in rank order, the added
// tokens, and the normaliser, pre-tokenizer, post-processor and decoder as
// they were read.
func (b *BPE) WriteTokenizerJSON(path string) error {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	w.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, a := range b.added {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, "\n    {\"id\": %d, \"content\": %s, \"single_word\": %t, \"lstrip\": %t, \"rstrip\": %t, \"normalized\": %t, \"special\": %t}",
			a.ID, quote(a.Content), a.SingleWord, a.LStrip, a.RStrip, a.Normalized, a.Special)
	}
	if len(b.added) > 0 {
		w.WriteString("\n  ")
	}
	w.WriteString("],\n")
	for _, part := range []struct {
		name string
		raw  json.RawMessage
	}{{"normalizer", b.normalizerJSON}, {"pre_tokenizer", b.preTokenizerJSON},
		{"post_processor", b.postProcessorJSON}, {"decoder", b.decoderJSON}} {
		fmt.Fprintf(w, "  %q: %s,\n", part.name, compact(part.raw))
	}
	unk := "null"
	if b.unkToken != "" {
		unk = quote(b.unkToken)
	}
	fmt.Fprintf(w, "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": %s,\n"+
		"    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": %t,\n"+
		"    \"byte_fallback\": false,\n    \"ignore_merges\": %t,\n    \"vocab\": {", unk, b.fuseUnk, b.ignore)
	toks := make([]string, 0, len(b.vocab))
	for t := range b.vocab {
		toks = append(toks, t)
	}
	slices.SortFunc(toks, func(x, y string) int { return int(b.vocab[x]) - int(b.vocab[y]) })
	for i, t := range toks {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, "\n      %s: %d", quote(t), b.vocab[t])
	}
	w.WriteString("\n    },\n    \"merges\": [")
	pairs := false // the old "a b" form cannot hold tokens with spaces
	for _, m := range b.merges {
		pairs = pairs || strings.Contains(m[0], " ") || strings.Contains(m[1], " ")
	}
	for i, m := range b.merges {
		if i > 0 {
			w.WriteByte(',')
		}
		if pairs {
			fmt.Fprintf(w, "\n      [%s, %s]", quote(m[0]), quote(m[1]))
		} else {
			fmt.Fprintf(w, "\n      %s", quote(m[0]+" "+m[1]))
		}
	}
	w.WriteString("\n    ]\n  }\n}\n")
	if err := w.Flush(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// quote writes s as a JSON string, without HTML escapes.
func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}

func compact(raw json.RawMessage) string {
	if isNull(raw) {
		return "null"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "null" // cannot happen: raw was decoded from valid JSON
	}
	return buf.String()
}
