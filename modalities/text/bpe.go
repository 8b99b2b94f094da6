package text

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"
)

// BPE is a byte-level byte-pair-encoding tokenizer (GPT-2's scheme), read
// from a Hugging Face tokenizer.json by [LoadTokenizerJSON] or from GPT-2's
// files by [FromGPT2Files]. It is safe for concurrent use.
type BPE struct {
	name string

	vocab    map[string]int32 // the model's vocabulary: byte-level token → id
	merges   [][2]string      // the merge list in rank order, as read
	ranks    map[uint64]merge // (left id, right id) → rank and merged id
	byteIDs  [256]int32       // id of each byte's one-character token, -1 if none
	unk      int32            // id of unk_token, -1 if none
	unkToken string           // unk_token, "" if none
	fuseUnk  bool
	ignore   bool // ignore_merges: a word in the vocabulary is one token

	nfc    bool    // the normaliser: NFC or nothing
	stages []stage // the pre-tokenizer

	added     []addedToken
	rawAdded  *matcher // added tokens matched in the raw text
	normAdded *matcher // added tokens matched in the normalised text

	bytes [][]byte // id → the bytes it stands for; nil for unused ids
	eos   int32

	// The tokenizer.json parts that are written back as they were read.
	normalizerJSON, preTokenizerJSON, postProcessorJSON, decoderJSON json.RawMessage

	mu    sync.RWMutex
	cache map[string][]int32 // word → ids
}

// merge is one entry of the merge table.
type merge struct{ rank, id int32 }

// stage is one step of the pre-tokenizer: GPT-2's split, or ByteLevel.
type stage struct {
	split    bool // Split with the GPT-2 pattern (else ByteLevel)
	prefix   bool // ByteLevel add_prefix_space
	useRegex bool // ByteLevel use_regex
}

const (
	maxCachedWord = 128     // longer words are not cached
	maxCache      = 1 << 18 // the cache is emptied when it grows past this
	heapMin       = 48      // words of this many bytes or more merge with a heap
)

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpeSpec is what a BPE is built from.
type bpeSpec struct {
	name     string
	vocab    map[string]int32
	merges   [][2]string
	unkToken string
	fuseUnk  bool
	ignore   bool
	nfc      bool
	stages   []stage
	added    []addedToken

	normalizerJSON, preTokenizerJSON, postProcessorJSON, decoderJSON json.RawMessage

	vocabWhere string             // how errors name the vocabulary
	mergeWhere func(i int) string // how errors name merge i
}

// maxID bounds token ids, so that a bad file cannot make us allocate
// gigabytes.
const maxID = 1<<24 - 1

// newBPE checks a spec and builds the tokenizer. Errors do not name the
// file; the callers add it.
func newBPE(sp bpeSpec) (*BPE, error) {
	b := &BPE{
		name: sp.name, vocab: sp.vocab, merges: sp.merges, unk: -1, unkToken: sp.unkToken,
		fuseUnk: sp.fuseUnk, ignore: sp.ignore, nfc: sp.nfc, stages: sp.stages, added: sp.added,
		normalizerJSON: sp.normalizerJSON, preTokenizerJSON: sp.preTokenizerJSON,
		postProcessorJSON: sp.postProcessorJSON, decoderJSON: sp.decoderJSON,
		cache: map[string][]int32{}, eos: -1,
	}
	if len(b.vocab) == 0 {
		return nil, fmt.Errorf("%s is empty", sp.vocabWhere)
	}
	// id → token, checking ids.
	size := int32(0)
	for tok, id := range b.vocab {
		if id < 0 || id > maxID {
			return nil, fmt.Errorf("%s: token %q has id %d, outside [0, %d]", sp.vocabWhere, tok, id, maxID)
		}
		size = max(size, id+1)
	}
	for _, a := range b.added {
		if a.ID < 0 || a.ID > maxID {
			return nil, fmt.Errorf("added token %q has id %d, outside [0, %d]", a.Content, a.ID, maxID)
		}
		size = max(size, a.ID+1)
	}
	tokens := make([]string, size)
	has := make([]bool, size)
	for tok, id := range b.vocab {
		if has[id] {
			other := tokens[id]
			if other > tok {
				tok, other = other, tok
			}
			return nil, fmt.Errorf("%s: tokens %q and %q have the same id %d", sp.vocabWhere, other, tok, id)
		}
		tokens[id], has[id] = tok, true
	}
	b.bytes = make([][]byte, size)
	for id := range tokens {
		if has[id] {
			b.bytes[id] = unByteLevel(tokens[id])
		}
	}
	seen := map[int32]string{}
	for _, a := range b.added {
		if a.Content == "" {
			return nil, fmt.Errorf("added token %d has empty content", a.ID)
		}
		if c, ok := seen[a.ID]; ok && c != a.Content {
			return nil, fmt.Errorf("added tokens %q and %q have the same id %d", c, a.Content, a.ID)
		}
		seen[a.ID] = a.Content
		b.bytes[a.ID] = []byte(a.Content) // an added token stands for its text
	}
	if b.unkToken != "" {
		id, ok := b.vocab[b.unkToken]
		if !ok {
			return nil, fmt.Errorf("unk_token %q is not in the vocabulary", b.unkToken)
		}
		b.unk = id
	}
	for c := 0; c < 256; c++ {
		b.byteIDs[c] = -1
		if id, ok := b.vocab[string(byteToRune[c])]; ok {
			b.byteIDs[c] = id
		}
	}
	b.ranks = make(map[uint64]merge, len(b.merges))
	for i, m := range b.merges {
		l, lok := b.vocab[m[0]]
		r, rok := b.vocab[m[1]]
		id, ok := b.vocab[m[0]+m[1]]
		switch {
		case m[0] == "" || m[1] == "":
			return nil, fmt.Errorf("%s (%q %q) has an empty token", sp.mergeWhere(i), m[0], m[1])
		case !lok:
			return nil, fmt.Errorf("%s (%q %q): %q is not in the vocabulary", sp.mergeWhere(i), m[0], m[1], m[0])
		case !rok:
			return nil, fmt.Errorf("%s (%q %q): %q is not in the vocabulary", sp.mergeWhere(i), m[0], m[1], m[1])
		case !ok:
			return nil, fmt.Errorf("%s (%q %q): the merged token %q is not in the vocabulary", sp.mergeWhere(i), m[0], m[1], m[0]+m[1])
		}
		// A pair listed twice keeps its last rank, as GPT-2's dict(zip(...)) and
		// Hugging Face do.
		b.ranks[pairKey(l, r)] = merge{int32(i), id}
	}
	var raw, normed []matchEntry
	for i := range b.added {
		a := &b.added[i]
		if a.Normalized {
			normed = append(normed, matchEntry{b.normalize(a.Content), a})
		} else {
			raw = append(raw, matchEntry{a.Content, a})
		}
	}
	b.rawAdded, b.normAdded = newMatcher(raw), newMatcher(normed)
	if id, ok := b.tokenID("<|endoftext|>"); ok {
		b.eos = id
	}
	return b, nil
}

// tokenID returns the id of an added token or vocabulary token by its text.
func (b *BPE) tokenID(s string) (int32, bool) {
	for _, a := range b.added {
		if a.Content == s {
			return a.ID, true
		}
	}
	id, ok := b.vocab[byteLevel([]byte(s))]
	if !ok {
		id, ok = b.vocab[s]
	}
	return id, ok
}

func (b *BPE) normalize(s string) string {
	if b.nfc {
		return norm.NFC.String(s)
	}
	return s
}

// Name returns the base name of the file the tokenizer was read from
// (tokenizer.json's, or encoder.json's for FromGPT2Files).
func (b *BPE) Name() string { return b.name }

// VocabSize returns the number of ids: the largest id, of the vocabulary and
// the added tokens, plus one.
func (b *BPE) VocabSize() int { return len(b.bytes) }

// EOS returns the id of "<|endoftext|>", or -1 if the tokenizer has none.
func (b *BPE) EOS() int32 { return b.eos }

// TokenBytes returns a copy of the bytes token id stands for: its
// byte-level characters mapped back to bytes, or an added token's text. It
// returns nil for an id that is out of range or not used by any token.
func (b *BPE) TokenBytes(id int32) []byte {
	if id < 0 || int(id) >= len(b.bytes) || b.bytes[id] == nil {
		return nil
	}
	return append([]byte{}, b.bytes[id]...)
}

// Decode returns the text of the tokens: the concatenation of their bytes.
// Ids that stand for no token are skipped.
func (b *BPE) Decode(ids []int32) string {
	n := 0
	for _, id := range ids {
		if id >= 0 && int(id) < len(b.bytes) {
			n += len(b.bytes[id])
		}
	}
	out := make([]byte, 0, n)
	for _, id := range ids {
		if id >= 0 && int(id) < len(b.bytes) {
			out = append(out, b.bytes[id]...)
		}
	}
	return string(out)
}

// Encode returns the token ids of s. Added tokens written in s (such as
// "<|endoftext|>") become their ids; the post-processor is not applied.
func (b *BPE) Encode(s string) []int32 {
	out := make([]int32, 0, len(s)/4+1)
	onID := func(id int32) { out = append(out, id) }
	onPiece := func(p string) { out = b.preTokenize(0, p, out) }
	b.rawAdded.split(s, func(seg string) {
		b.normAdded.split(b.normalize(seg), onPiece, onID)
	}, onID)
	return out
}

// preTokenize runs the pre-tokenizer's stages from k on piece and encodes
// the words, appending their ids to out.
func (b *BPE) preTokenize(k int, piece string, out []int32) []int32 {
	if k == len(b.stages) {
		return b.encodeWord(piece, out)
	}
	st := b.stages[k]
	if !st.split && st.prefix && !strings.HasPrefix(piece, " ") {
		piece = " " + piece
	}
	if !st.split && !st.useRegex {
		return b.preTokenize(k+1, piece, out)
	}
	for len(piece) > 0 {
		n := gpt2Next(piece)
		out = b.preTokenize(k+1, piece[:n], out)
		piece = piece[n:]
	}
	return out
}

// encodeWord appends the ids of one pre-token (raw bytes) to out.
func (b *BPE) encodeWord(w string, out []int32) []int32 {
	if w == "" {
		return out
	}
	cacheable := len(w) <= maxCachedWord
	if cacheable {
		b.mu.RLock()
		ids, ok := b.cache[w]
		b.mu.RUnlock()
		if ok {
			return append(out, ids...)
		}
	}
	var ids []int32
	if b.ignore {
		if id, ok := b.vocab[byteLevel([]byte(w))]; ok {
			ids = []int32{id}
		}
	}
	if ids == nil {
		ids = b.mergeWord(b.symbols(w))
	}
	if cacheable {
		b.mu.Lock()
		if len(b.cache) >= maxCache {
			clear(b.cache)
		}
		b.cache[w] = ids
		b.mu.Unlock()
	}
	return append(out, ids...)
}

// symbols returns the one-byte tokens of w, with unk_token for bytes the
// vocabulary lacks (dropped when there is no unk_token, as Hugging Face does).
func (b *BPE) symbols(w string) []int32 {
	syms := make([]int32, 0, len(w))
	for i := 0; i < len(w); i++ {
		id := b.byteIDs[w[i]]
		if id < 0 {
			if b.unk < 0 || (b.fuseUnk && len(syms) > 0 && syms[len(syms)-1] == b.unk) {
				continue
			}
			id = b.unk
		}
		syms = append(syms, id)
	}
	return syms
}

// mergeWord applies the merges to a word's symbols in place.
func (b *BPE) mergeWord(w []int32) []int32 {
	if len(w) >= heapMin {
		return b.mergeHeap(w)
	}
	return b.mergeSimple(w)
}

// mergeSimple is GPT-2's bpe(): find the adjacent pair of lowest rank and
// merge all its occurrences left to right; repeat while some pair merges.
func (b *BPE) mergeSimple(w []int32) []int32 {
	for len(w) > 1 {
		best := merge{rank: -1}
		var left, right int32
		for i := 0; i+1 < len(w); i++ {
			if m, ok := b.ranks[pairKey(w[i], w[i+1])]; ok && (best.rank < 0 || m.rank < best.rank) {
				best, left, right = m, w[i], w[i+1]
			}
		}
		if best.rank < 0 {
			break
		}
		j := 0
		for i := 0; i < len(w); j++ {
			if i+1 < len(w) && w[i] == left && w[i+1] == right {
				w[j] = best.id
				i += 2
			} else {
				w[j] = w[i]
				i++
			}
		}
		w = w[:j]
	}
	return w
}

// mergeHeap gives the same result as mergeSimple in O(n log n), for long
// words: the symbols are a linked list, candidate pairs sit in a heap by
// (rank, position), and all pairs of the lowest rank are taken out and
// merged left to right before pairs they create are considered, as in
// GPT-2's rounds.
func (b *BPE) mergeHeap(w []int32) []int32 {
	n := len(w)
	next := make([]int32, n)
	prev := make([]int32, n)
	for i := range n {
		next[i], prev[i] = int32(i+1), int32(i-1)
	}
	next[n-1] = -1
	alive := make([]bool, n)
	for i := range alive {
		alive[i] = true
	}
	h := &pairHeap{}
	push := func(i int32) {
		if j := next[i]; j >= 0 {
			if m, ok := b.ranks[pairKey(w[i], w[j])]; ok {
				heap.Push(h, pairAt{m.rank, i})
			}
		}
	}
	for i := 0; i+1 < n; i++ {
		push(int32(i))
	}
	var round []pairAt
	for h.Len() > 0 {
		rank := (*h)[0].rank
		round = round[:0]
		for h.Len() > 0 && (*h)[0].rank == rank {
			round = append(round, heap.Pop(h).(pairAt))
		}
		// round is in position order: the heap breaks ties by position.
		var created []int32
		for _, p := range round {
			i := p.pos
			if !alive[i] || next[i] < 0 {
				continue
			}
			j := next[i]
			m, ok := b.ranks[pairKey(w[i], w[j])]
			if !ok || m.rank != rank { // stale: the pair here has changed
				continue
			}
			w[i] = m.id
			alive[j] = false
			next[i] = next[j]
			if next[j] >= 0 {
				prev[next[j]] = i
			}
			created = append(created, i)
		}
		for _, i := range created {
			if !alive[i] {
				continue
			}
			if prev[i] >= 0 {
				push(prev[i])
			}
			push(i)
		}
	}
	out := w[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, w[i])
	}
	return out
}

// pairAt is a candidate merge of the symbol at pos with the next one.
type pairAt struct{ rank, pos int32 }

type pairHeap []pairAt

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	return h[i].rank < h[j].rank || (h[i].rank == h[j].rank && h[i].pos < h[j].pos)
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairAt)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
