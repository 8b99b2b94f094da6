package train

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Masking is masked-token training, as BERT and Caduceus pretrain
// bidirectional models: in every sequence a fraction Rate of the eligible
// positions (those holding one of Fill: for DNA the bases A, C, G, T, never
// N or a separator) is chosen, at least one where there is any; the model
// sees the sequence with a chosen position replaced by Mask (80 % of them),
// by a random id of Fill (10 %) or left as it is (10 %), and is trained to
// give the original id there. Every other position's target is −1
// (ignored).
type Masking struct {
	Rate float64 // fraction of the eligible positions chosen, in (0, 1)
	Mask int32   // the mask token's id
	Fill []int32 // the eligible ids, and the random replacements
	Seed uint64  // seed of the choices (with the step and micro-batch)
}

// Objective is the Config.Objective of a run trained on Masked(…, mk): it
// names the rate, so that a resume with another rate is refused.
func (mk Masking) Objective() string { return fmt.Sprintf("masked %g", mk.Rate) }

// Validate reports a Masking that cannot be used.
func (mk Masking) Validate() error {
	if !(mk.Rate > 0 && mk.Rate < 1) {
		return fmt.Errorf("mask rate %g: give a fraction in (0, 1)", mk.Rate)
	}
	if len(mk.Fill) == 0 {
		return fmt.Errorf("masking needs the ids it may mask")
	}
	if slices.Contains(mk.Fill, mk.Mask) {
		return fmt.Errorf("the mask id %d is one of the ids it masks", mk.Mask)
	}
	return nil
}

// Masked returns data for masked-token training: its batches and held-out
// sequences are d's inputs, masked as mk says, with the original ids as
// targets at the chosen positions (d's next-token targets are not used).
// The choices depend only on mk.Seed, the step and the micro-batch (Eval:
// the same every time), so a resumed run sees the same batches. It panics
// on a Masking that Validate rejects.
func Masked(d Data, mk Masking) Data {
	if err := mk.Validate(); err != nil {
		panic("train.Masked: " + err.Error())
	}
	return masked{d, mk}
}

type masked struct {
	d  Data
	mk Masking
}

func (m masked) Batch(step, micro, B, L int) (ids, targets []int32) {
	ids, _ = m.d.Batch(step, micro, B, L)
	return m.mask(ids, B, L, rand.New(rand.NewPCG(m.mk.Seed^0x3a5c, uint64(step)<<16|uint64(micro))))
}

func (m masked) Eval(L, max int) (ids, targets []int32, n int) {
	ids, _, n = m.d.Eval(L, max)
	ids, targets = m.mask(ids, n, L, rand.New(rand.NewPCG(m.mk.Seed^0x3a5c, 1<<63)))
	return ids, targets, n
}

// mask masks ids (B, L) in place and returns them with their targets (B, L).
func (m masked) mask(ids []int32, B, L int, r *rand.Rand) ([]int32, []int32) {
	mk := m.mk
	targets := make([]int32, B*L)
	for i := range targets {
		targets[i] = -1
	}
	var eligible []int
	for b := 0; b < B; b++ {
		row := ids[b*L : (b+1)*L]
		eligible = eligible[:0]
		chosen := 0
		for t, id := range row {
			if !slices.Contains(mk.Fill, id) {
				continue
			}
			eligible = append(eligible, t)
			if r.Float64() < mk.Rate {
				targets[b*L+t] = id
				chosen++
			}
		}
		if chosen == 0 && len(eligible) > 0 {
			t := eligible[r.IntN(len(eligible))]
			targets[b*L+t] = row[t]
		}
		for t := range row {
			if targets[b*L+t] < 0 {
				continue
			}
			switch p := r.Float64(); {
			case p < 0.8:
				row[t] = mk.Mask
			case p < 0.9:
				row[t] = mk.Fill[r.IntN(len(mk.Fill))]
			}
		}
	}
	return ids, targets
}
