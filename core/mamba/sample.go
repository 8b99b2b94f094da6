package mamba

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Sampler chooses the next token from logits, with the logits processors of
// transformers' generate applied in its order: repetition penalty, then
// temperature, top-k, top-p and min-p, then a draw from the softmax. With
// Greedy (or Temperature 0) it takes the most likely token after the
// repetition penalty.
type Sampler struct {
	Greedy            bool
	Temperature       float64 // > 0; 1 leaves the distribution as it is
	TopK              int     // keep the k most likely tokens (0: all)
	TopP              float64 // keep the smallest set whose probability reaches p (1: all)
	MinP              float64 // drop tokens less likely than MinP × the most likely one's probability (0: none)
	RepetitionPenalty float64 // > 0; tokens already present: logit/p if positive, logit·p if not (1: off)
	Rand              *rand.Rand
}

// greedy reports whether s takes the most likely token (after the
// repetition penalty) rather than drawing one.
func (s *Sampler) greedy() bool { return s.Greedy || s.Temperature == 0 }

// penalises reports whether s applies a repetition penalty.
func (s *Sampler) penalises() bool { return s.RepetitionPenalty > 0 && s.RepetitionPenalty != 1 }

// Next returns the chosen token id for one row of logits, given the tokens
// so far (for the repetition penalty). It does not change logits.
func (s *Sampler) Next(logits []float32, history []int32) int32 {
	l := make([]float64, len(logits))
	for i, v := range logits {
		l[i] = float64(v)
	}
	if p := s.RepetitionPenalty; s.penalises() {
		seen := map[int32]bool{}
		for _, id := range history {
			if id < 0 || int(id) >= len(l) || seen[id] {
				continue
			}
			seen[id] = true
			if l[id] > 0 {
				l[id] /= p
			} else {
				l[id] *= p
			}
		}
	}
	if s.greedy() {
		best := 0
		for i, v := range l {
			if v > l[best] {
				best = i
			}
		}
		return int32(best)
	}
	if s.Temperature > 0 && s.Temperature != 1 {
		for i := range l {
			l[i] /= s.Temperature
		}
	}
	idx := make([]int, len(l))
	for i := range idx {
		idx[i] = i
	}
	// Stable order: by logit descending, ties by id.
	sort.SliceStable(idx, func(a, b int) bool { return l[idx[a]] > l[idx[b]] })
	keep := len(idx)
	if s.TopK > 0 && s.TopK < keep {
		keep = s.TopK
	}
	probs := softmaxOf(l, idx[:keep])
	if s.TopP > 0 && s.TopP < 1 {
		cum := 0.0
		for i, p := range probs {
			cum += p
			if cum >= s.TopP {
				keep = i + 1
				break
			}
		}
		probs = softmaxOf(l, idx[:keep])
	}
	if s.MinP > 0 {
		thr := s.MinP * probs[0]
		k := 0
		for k < len(probs) && probs[k] >= thr {
			k++
		}
		keep = max(k, 1)
		probs = softmaxOf(l, idx[:keep])
	}
	r := s.Rand
	if r == nil {
		r = rand.New(rand.NewPCG(0, 0))
		s.Rand = r
	}
	u := r.Float64()
	cum := 0.0
	for i, p := range probs {
		cum += p
		if u < cum {
			return int32(idx[i])
		}
	}
	return int32(idx[keep-1])
}

// softmaxOf returns the softmax of l over the ids in order, in that order.
func softmaxOf(l []float64, ids []int) []float64 {
	m := math.Inf(-1)
	for _, i := range ids {
		m = math.Max(m, l[i])
	}
	out := make([]float64, len(ids))
	sum := 0.0
	for k, i := range ids {
		out[k] = math.Exp(l[i] - m)
		sum += out[k]
	}
	for k := range out {
		out[k] /= sum
	}
	return out
}
