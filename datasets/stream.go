package datasets

import (
	"fmt"
	"math/rand/v2"
)

// Windows draws B windows of L+1 consecutive tokens from stream for draw
// number `draw` and returns them as inputs ids (B, L) and next-token targets
// (B, L). The windows depend only on (seed, draw), so a resumed run sees the
// same batches as an uninterrupted one. stream must hold at least L+1 tokens.
func Windows(stream []int32, draw uint64, B, L int, seed uint64) (ids, targets []int32) {
	if len(stream) < L+1 {
		panic(fmt.Sprintf("datasets: stream of %d tokens is shorter than a window of %d", len(stream), L+1))
	}
	r := rand.New(rand.NewPCG(seed, draw))
	ids, targets = make([]int32, B*L), make([]int32, B*L)
	for b := 0; b < B; b++ {
		off := r.IntN(len(stream) - L)
		copy(ids[b*L:(b+1)*L], stream[off:off+L])
		copy(targets[b*L:(b+1)*L], stream[off+1:off+L+1])
	}
	return ids, targets
}

// Packed cuts stream into consecutive, non-overlapping windows of L inputs
// (each window's targets reach one token into the next, so every token but
// the first is a target once) and returns them as inputs and targets laid
// out (n, L). With max > 0 and more windows than that, it returns max of
// them spread evenly over the stream, so that a partial evaluation samples
// all of it rather than its beginning.
func Packed(stream []int32, L, max int) (ids, targets []int32, n int) {
	total := (len(stream) - 1) / L
	n = total
	if max > 0 && n > max {
		n = max
	}
	ids, targets = make([]int32, n*L), make([]int32, n*L)
	for i := 0; i < n; i++ {
		w := i * total / n
		copy(ids[i*L:(i+1)*L], stream[w*L:(w+1)*L])
		copy(targets[i*L:(i+1)*L], stream[w*L+1:(w+1)*L+1])
	}
	return ids, targets, n
}

// StreamData trains on random windows of one token stream and evaluates on
// packed sequences of another (it implements pipelines/train's Data).
type StreamData struct {
	Train, Val []int32
	Seed       uint64
}

// Batch returns the windows of micro-batch micro of step.
func (d *StreamData) Batch(step, micro, B, L int) ([]int32, []int32) {
	return Windows(d.Train, uint64(step)<<16|uint64(micro), B, L, d.Seed)
}

// Eval returns packed held-out sequences.
func (d *StreamData) Eval(L, max int) ([]int32, []int32, int) { return Packed(d.Val, L, max) }
