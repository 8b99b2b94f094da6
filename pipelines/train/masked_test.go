package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mambakit/mambakit/core/mamba"
	"github.com/mambakit/mambakit/kernels/cpu"
)

// The ids of the masking tests: 3 the mask, 7..10 the maskable ones, 1 and
// 11 never masked.
const testMask = 3

var testFill = []int32{7, 8, 9, 10}

// fixedData returns the same rows for every batch: eligible ids with a
// separator (1) or an N (11) every 7th position, row 1 all separators (no
// eligible position) and, for Eval, 5 rows.
type fixedData struct{}

func (fixedData) rows(B, L int) []int32 {
	ids := make([]int32, B*L)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range ids {
		switch {
		case i/L == 1:
			ids[i] = 1
		case i%7 == 0:
			ids[i] = []int32{1, 11}[r.IntN(2)]
		default:
			ids[i] = testFill[r.IntN(4)]
		}
	}
	return ids
}
func (d fixedData) Batch(step, micro, B, L int) ([]int32, []int32) {
	return d.rows(B, L), make([]int32, B*L)
}
func (d fixedData) Eval(L, max int) ([]int32, []int32, int) {
	return d.rows(5, L), make([]int32, 5*L), 5
}

// TestMaskedChoices checks the positions Masked chooses and what the model
// is shown there against the original rows: only eligible positions, about
// the rate of them, 80 % shown as the mask, 10 % as a random eligible id,
// 10 % unchanged, targets the original ids, everything else untouched and
// ignored; the same for the same step, another for another step.
func TestMaskedChoices(t *testing.T) {
	const B, L, rate = 64, 200, 0.15
	d := Masked(fixedData{}, Masking{Rate: rate, Mask: testMask, Fill: testFill, Seed: 7})
	orig := fixedData{}.rows(B, L)
	ids, targets := d.Batch(3, 1, B, L)
	var eligible, chosen, shownMask, shownOther, shownSame int
	for i, o := range orig {
		isEligible := slices.Contains(testFill, o)
		if isEligible {
			eligible++
		}
		if targets[i] < 0 {
			if ids[i] != o {
				t.Fatalf("position %d: not chosen but shown as %d, was %d", i, ids[i], o)
			}
			continue
		}
		if !isEligible {
			t.Fatalf("position %d: id %d chosen, but it is not maskable", i, o)
		}
		if targets[i] != o {
			t.Fatalf("position %d: target %d, the original is %d", i, targets[i], o)
		}
		chosen++
		switch {
		case ids[i] == testMask:
			shownMask++
		case ids[i] == o:
			shownSame++
		case slices.Contains(testFill, ids[i]):
			shownOther++
		default:
			t.Fatalf("position %d: shown as %d", i, ids[i])
		}
	}
	// Binomial spreads: 8,700 eligible positions, 1,300 chosen; the bounds
	// are about 4 standard deviations.
	if f := float64(chosen) / float64(eligible); math.Abs(f-rate) > 0.015 {
		t.Errorf("chose %d of %d eligible positions (%.3f), want about %.2f", chosen, eligible, f, rate)
	}
	n := float64(chosen)
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"the mask", float64(shownMask) / n, 0.8},
		{"unchanged (10 %, and a quarter of the random 10 %)", float64(shownSame) / n, 0.125},
		{"another id", float64(shownOther) / n, 0.075},
	} {
		if math.Abs(c.got-c.want) > 0.045 {
			t.Errorf("chosen positions shown as %s: %.3f, want about %.3f", c.what, c.got, c.want)
		}
	}
	for i := L; i < 2*L; i++ { // row 1 has nothing to mask
		if targets[i] >= 0 {
			t.Fatalf("row 1, all separators: target %d at %d", targets[i], i-L)
		}
	}

	ids2, targets2 := d.Batch(3, 1, B, L)
	if !slices.Equal(ids, ids2) || !slices.Equal(targets, targets2) {
		t.Error("the same step and micro-batch masked differently")
	}
	_, targets3 := d.Batch(4, 1, B, L)
	if slices.Equal(targets, targets3) {
		t.Error("steps 3 and 4 masked the same positions")
	}
	e1, et1, n1 := d.Eval(L, 10)
	e2, et2, _ := d.Eval(L, 10)
	if n1 != 5 || !slices.Equal(e1, e2) || !slices.Equal(et1, et2) {
		t.Errorf("Eval: %d rows, or not the same masking every time", n1)
	}
}

// TestMaskedAtLeastOne: a row with eligible positions gets a target even
// when the rate chooses none (rows of 2 positions at rate 0.01).
func TestMaskedAtLeastOne(t *testing.T) {
	d := Masked(fixedData{}, Masking{Rate: 0.01, Mask: testMask, Fill: testFill, Seed: 1})
	const B, L = 40, 2
	orig := fixedData{}.rows(B, L)
	_, targets := d.Batch(1, 0, B, L)
	for b := 0; b < B; b++ {
		n, can := 0, false
		for t := 0; t < L; t++ {
			if targets[b*L+t] >= 0 {
				n++
			}
			can = can || slices.Contains(testFill, orig[b*L+t])
		}
		if can && n == 0 {
			t.Errorf("row %d (%v): no target", b, orig[b*L:(b+1)*L])
		}
	}
}

func TestMaskingValidate(t *testing.T) {
	for _, mk := range []Masking{
		{Rate: 0, Mask: testMask, Fill: testFill},
		{Rate: 1, Mask: testMask, Fill: testFill},
		{Rate: math.NaN(), Mask: testMask, Fill: testFill},
		{Rate: 0.15, Mask: testMask},
		{Rate: 0.15, Mask: 8, Fill: testFill},
	} {
		if mk.Validate() == nil {
			t.Errorf("%+v: accepted", mk)
		}
	}
	if err := (Masking{Rate: 0.15, Mask: testMask, Fill: testFill}).Validate(); err != nil {
		t.Error(err)
	}
}

// pairData is rows of pairs (a, a+2), a ∈ {7, 8} at random: the first of a
// pair is told only by the token after it, the second by the token before.
type pairData struct{}

func (pairData) rows(seed uint64, B, L int) []int32 {
	r := rand.New(rand.NewPCG(seed, 5))
	ids := make([]int32, B*L)
	for i := 0; i+1 < len(ids); i += 2 {
		a := int32(7 + r.IntN(2))
		ids[i], ids[i+1] = a, a+2
	}
	return ids
}
func (d pairData) Batch(step, micro, B, L int) ([]int32, []int32) {
	return d.rows(uint64(step)<<8|uint64(micro), B, L), make([]int32, B*L)
}
func (d pairData) Eval(L, max int) ([]int32, []int32, int) {
	return d.rows(1<<40, max, L), make([]int32, max*L), max
}

// TestMaskedBidirectional trains a bidirectional and a unidirectional model
// of the same size by masked-token prediction on pairData. Only the
// bidirectional one sees the token after a masked first of a pair, so only
// it can tell it: a unidirectional model cannot do better than ln 2 there,
// about 0.35 nats over all masked positions; a working bidirectional one
// goes well below.
func TestMaskedBidirectional(t *testing.T) {
	val := map[bool]float64{}
	for _, bidir := range []bool{false, true} {
		cfg := mamba.DefaultConfig(32, 2, 12)
		cfg.Bidirectional = bidir
		m, err := mamba.New(cfg, cpu.New())
		if err != nil {
			t.Fatal(err)
		}
		m.P.Init(m.Cfg, m.Ops.Backend, rand.New(rand.NewPCG(3, 4)))
		tc := testConfig(t.TempDir())
		tc.Batch, tc.SeqLen, tc.Accum, tc.Steps, tc.EvalEvery, tc.EvalSeqs, tc.SaveEvery = 16, 32, 1, 150, 0, 32, 0
		tc.Optim.TotalSteps, tc.Optim.LR, tc.Optim.MinLR = 150, 1e-2, 1e-3
		mk := Masking{Rate: 0.15, Mask: testMask, Fill: testFill, Seed: 2}
		tc.Objective = mk.Objective()
		data := Masked(pairData{}, mk)
		res, err := Run(context.Background(), m, data, tc)
		if err != nil {
			t.Fatal(err)
		}
		val[bidir] = res.ValLoss
	}
	t.Logf("masked-token validation loss: unidirectional %.3f, bidirectional %.3f nats", val[false], val[true])
	if val[false] < 0.28 {
		t.Errorf("unidirectional %.3f nats: below what its left context allows (about 0.35)", val[false])
	}
	if val[true] > 0.2 {
		t.Errorf("bidirectional %.3f nats: it did not use the token after the masked one", val[true])
	}
}
