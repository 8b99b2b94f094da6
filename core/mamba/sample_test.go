package mamba

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mambakit/mambakit/core/ref"
)

// logitsOf returns logits whose softmax is probs.
func logitsOf(probs ...float64) []float32 {
	l := make([]float32, len(probs))
	for i, p := range probs {
		l[i] = float32(math.Log(p))
	}
	return l
}

// draw samples n times and returns the frequency of each id.
func draw(s *Sampler, logits []float32, n int) []float64 {
	f := make([]float64, len(logits))
	for i := 0; i < n; i++ {
		f[s.Next(logits, nil)] += 1 / float64(n)
	}
	return f
}

func TestTopKOneIsGreedy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for trial := 0; trial < 200; trial++ {
		l := make([]float32, 50)
		for i := range l {
			l[i] = float32(r.NormFloat64() * 3)
		}
		greedy := (&Sampler{Greedy: true}).Next(l, nil)
		s := &Sampler{Temperature: 1.7, TopK: 1, TopP: 0.9, Rand: rand.New(rand.NewPCG(uint64(trial), 2))}
		for k := 0; k < 5; k++ {
			if got := s.Next(l, nil); got != greedy {
				t.Fatalf("trial %d: top-k 1 chose %d, greedy %d", trial, got, greedy)
			}
		}
		l64 := make([]float64, len(l))
		for i, v := range l {
			l64[i] = float64(v)
		}
		if want := ref.ArgmaxRows(l64, len(l))[0]; greedy != want {
			t.Fatalf("greedy %d, argmax %d", greedy, want)
		}
	}
}

func TestTopPKeepsSmallestSetOverP(t *testing.T) {
	l := logitsOf(0.15, 0.5, 0.05, 0.3) // sorted: 1 (0.5), 3 (0.3), 0 (0.15), 2 (0.05)
	for _, c := range []struct {
		p    float64
		keep []int
	}{{0.4, []int{1}}, {0.7, []int{1, 3}}, {0.9, []int{1, 3, 0}}, {0.99, []int{1, 3, 0, 2}}} {
		s := &Sampler{Temperature: 1, TopP: c.p, Rand: rand.New(rand.NewPCG(3, 4))}
		f := draw(s, l, 20000)
		base := []float64{0.15, 0.5, 0.05, 0.3}
		total := 0.0
		for _, id := range c.keep {
			total += base[id]
		}
		for id := range f {
			want := 0.0
			for _, k := range c.keep {
				if k == id {
					want = base[id] / total
				}
			}
			if want == 0 && f[id] != 0 {
				t.Errorf("top-p %g sampled token %d outside the nucleus %v", c.p, id, c.keep)
			}
			if math.Abs(f[id]-want) > 0.015 {
				t.Errorf("top-p %g: token %d frequency %.3f, want %.3f", c.p, id, f[id], want)
			}
		}
	}
}

func TestMinPAndTemperature(t *testing.T) {
	l := logitsOf(0.5, 0.3, 0.15, 0.05)
	f := draw(&Sampler{Temperature: 1, MinP: 0.2, Rand: rand.New(rand.NewPCG(5, 6))}, l, 20000)
	if f[3] != 0 { // 0.05 < 0.2 × 0.5
		t.Errorf("min-p 0.2 kept a token of probability 0.05 (frequency %.3f)", f[3])
	}
	if math.Abs(f[2]-0.15/0.95) > 0.015 {
		t.Errorf("min-p: token 2 frequency %.3f, want %.3f", f[2], 0.15/0.95)
	}
	// Temperature 2 samples softmax(logits/2).
	f = draw(&Sampler{Temperature: 2, Rand: rand.New(rand.NewPCG(7, 8))}, l, 40000)
	z := 0.0
	for _, p := range []float64{0.5, 0.3, 0.15, 0.05} {
		z += math.Sqrt(p)
	}
	for i, p := range []float64{0.5, 0.3, 0.15, 0.05} {
		if want := math.Sqrt(p) / z; math.Abs(f[i]-want) > 0.012 {
			t.Errorf("temperature 2: token %d frequency %.3f, want %.3f", i, f[i], want)
		}
	}
}

func TestRepetitionPenalty(t *testing.T) {
	s := &Sampler{Greedy: true, RepetitionPenalty: 1.5}
	if got := s.Next([]float32{2, 1.9}, []int32{0}); got != 1 { // 2/1.5 < 1.9
		t.Errorf("positive logit: chose %d, want 1", got)
	}
	if got := s.Next([]float32{-1, -1.2}, []int32{0, 0}); got != 1 { // −1·1.5 < −1.2
		t.Errorf("negative logit: chose %d, want 1", got)
	}
	if got := s.Next([]float32{2, 1.9}, []int32{1}); got != 0 {
		t.Errorf("penalising the loser: chose %d, want 0", got)
	}
}
