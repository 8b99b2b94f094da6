package dna

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// nonzero returns the non-zero entries of v by index.
func nonzero(v []float32) map[int]float32 {
	m := map[int]float32{}
	for i, x := range v {
		if x != 0 {
			m[i] = x
		}
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestKmerCountsHand(t *testing.T) {
	// ACGTAC, k=2: AC CG GT TA AC. Indices (A0 C1 G2 T3, first base high):
	// AC=1, CG=6, GT=11, TA=12.
	got := KmerCounts([]byte("ACGTAC"), 2, false)
	if len(got) != 16 {
		t.Fatalf("len %d, want 16", len(got))
	}
	want := map[int]float32{1: 0.4, 6: 0.2, 11: 0.2, 12: 0.2}
	checkMap(t, "ACGTAC k=2", nonzero(got), want)

	// Canonical: GT (11) is the reverse complement of AC (1) and merges into
	// it; CG and TA are their own reverse complements.
	got = KmerCounts([]byte("ACGTAC"), 2, true)
	checkMap(t, "ACGTAC k=2 canonical", nonzero(got), map[int]float32{1: 0.6, 6: 0.2, 12: 0.2})

	// Lower case counts, windows through N or other bytes are skipped:
	// acNgt → ac, gt only.
	checkMap(t, "acNgt", nonzero(KmerCounts([]byte("acNgt"), 2, false)), map[int]float32{1: 0.5, 11: 0.5})
	checkMap(t, "acRgt canonical", nonzero(KmerCounts([]byte("acRgt"), 2, true)), map[int]float32{1: 1})

	// k=3 on AAAAT: AAA AAA AAT; canonical AAT(3) vs ATT(15) → 3; AAA(0) vs TTT(63) → 0.
	checkMap(t, "AAAAT k=3", nonzero(KmerCounts([]byte("AAAAT"), 3, false)), map[int]float32{0: 2. / 3, 3: 1. / 3})
	checkMap(t, "TTTT k=3 canonical", nonzero(KmerCounts([]byte("TTTT"), 3, true)), map[int]float32{0: 1})

	// Nothing countable: all zeros, not NaN.
	for _, s := range []string{"", "A", "NNNN", "ANA"} {
		v := KmerCounts([]byte(s), 2, true)
		if len(nonzero(v)) != 0 {
			t.Errorf("%q: %v", s, nonzero(v))
		}
	}
}

func checkMap(t *testing.T, name string, got, want map[int]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %v, want %v", name, got, want)
		return
	}
	for i, w := range want {
		if !near(float64(got[i]), float64(w)) {
			t.Errorf("%s: got %v, want %v", name, got, want)
			return
		}
	}
}

func TestKmerCountsAgainstNaive(t *testing.T) {
	// Against a direct count over substrings.
	r := rand.New(rand.NewPCG(7, 8))
	idx := func(s string) int {
		i := 0
		for _, c := range []byte(s) {
			i = i*4 + int(baseCode[c])
		}
		return i
	}
	rc := func(s string) string { return string(ReverseComplementBytes([]byte(s))) }
	for _, k := range []int{1, 2, 3, 5} {
		s := randomSeq(r, 500, "ACGTACGTACGTNacgtR")
		for _, canonical := range []bool{false, true} {
			want := make([]float64, 1<<(2*k))
			total := 0
			for i := 0; i+k <= len(s); i++ {
				w := string(s[i : i+k])
				j := idx(w)
				if j < 0 || !validACGT(w) {
					continue
				}
				if canonical {
					j = min(j, idx(rc(w)))
				}
				want[j]++
				total++
			}
			got := KmerCounts(s, k, canonical)
			var sum float64
			for j := range got {
				sum += float64(got[j])
				if !near(float64(got[j]), want[j]/float64(total)) {
					t.Fatalf("k=%d canonical=%v index %d: %v, want %v", k, canonical, j, got[j], want[j]/float64(total))
				}
			}
			if !near(sum, 1) {
				t.Fatalf("sum %v", sum)
			}
		}
	}
}

func validACGT(w string) bool {
	for _, c := range []byte(w) {
		if baseCode[c] < 0 {
			return false
		}
	}
	return true
}

func TestKmerBadK(t *testing.T) {
	for _, k := range []int{0, -1, MaxK + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("k=%d did not panic", k)
				}
			}()
			KmerCounts([]byte("ACGT"), k, false)
		}()
	}
}

func TestNaiveBayesHand(t *testing.T) {
	// k=1, alpha=1. Class 0 "AAAC": θ = A 4/8, C 2/8, G 1/8, T 1/8.
	// Class 1 "GGGT": θ = A 1/8, C 1/8, G 4/8, T 2/8. Equal priors.
	nb := FitNaiveBayes([][]byte{[]byte("AAAC"), []byte("GGGT")}, []int{0, 1}, 2, 1, 1, false)
	// "AG": 4/8·1/8 vs 1/8·4/8 → equal.
	if p := nb.Predict([]byte("AG")); !near(p[0], 0.5) || !near(p[1], 0.5) {
		t.Fatalf("AG: %v", p)
	}
	// "AC": 4/8·2/8 = 1/8 vs 1/8·1/8 = 1/64 → 8/9.
	if p := nb.Predict([]byte("AC")); !near(p[0], 8./9) || !near(p[1], 1./9) {
		t.Fatalf("AC: %v", p)
	}
	// Nothing countable: the prior.
	if p := nb.Predict([]byte("NN")); !near(p[0], 0.5) {
		t.Fatalf("NN: %v", p)
	}
	// Very long sequences saturate without NaN.
	long := make([]byte, 1_000_000)
	for i := range long {
		long[i] = "AC"[i%2]
	}
	if p := nb.Predict(long); p[0] != 1 || p[1] != 0 {
		t.Fatalf("long: %v", p)
	}
}

// composition draws n sequences of length L with the given probabilities
// of A, C, G, T.
func composition(r *rand.Rand, n, L int, probs [4]float64) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		s := make([]byte, L)
		for j := range s {
			u, b := r.Float64(), 0
			for b < 3 && u >= probs[b] {
				u -= probs[b]
				b++
			}
			s[j] = "ACGT"[b]
		}
		out[i] = s
	}
	return out
}

// markov draws n sequences of length L in which each base repeats the
// previous one with probability stay and is otherwise one of the other
// three at random: every base has frequency 1/4, as in i.i.d. uniform
// sequences, but dinucleotides differ.
func markov(r *rand.Rand, n, L int, stay float64) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		s := make([]byte, L)
		b := r.IntN(4)
		for j := range s {
			if j > 0 && r.Float64() >= stay {
				b = (b + 1 + r.IntN(3)) % 4
			}
			s[j] = "ACGT"[b]
		}
		out[i] = s
	}
	return out
}

type toy struct {
	name                  string
	train, test           [][]byte
	trainLabels, testLbls []int
}

func makeToy(name string, gen func(r *rand.Rand, class, n int) [][]byte, nTrain, nTest int) toy {
	r := rand.New(rand.NewPCG(11, 12))
	var d toy
	d.name = name
	for c := range 2 {
		d.train = append(d.train, gen(r, c, nTrain)...)
		for range nTrain {
			d.trainLabels = append(d.trainLabels, c)
		}
		d.test = append(d.test, gen(r, c, nTest)...)
		for range nTest {
			d.testLbls = append(d.testLbls, c)
		}
	}
	return d
}

func accuracy(t *testing.T, predict func([]byte) []float64, seqs [][]byte, labels []int) float64 {
	t.Helper()
	right := 0
	for i, s := range seqs {
		p := predict(s)
		var sum float64
		for _, v := range p {
			if v < 0 || v > 1 || math.IsNaN(v) {
				t.Fatalf("probability %v", v)
			}
			sum += v
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Fatalf("probabilities %v sum to %v", p, sum)
		}
		if slices.Index(p, slices.Max(p)) == labels[i] {
			right++
		}
	}
	return float64(right) / float64(len(seqs))
}

func TestBaselinesLearnToyProblems(t *testing.T) {
	// Both problems are near, not far from, the best possible accuracy
	// (about 99% for an ideal classifier at these lengths), so a weak or
	// broken model fails.
	gc := makeToy("GC 57% vs 43%", func(r *rand.Rand, c, n int) [][]byte {
		if c == 0 {
			return composition(r, n, 300, [4]float64{0.215, 0.285, 0.285, 0.215})
		}
		return composition(r, n, 300, [4]float64{0.285, 0.215, 0.215, 0.285})
	}, 200, 500)
	dinuc := makeToy("repeat 38% vs i.i.d., same base composition", func(r *rand.Rand, c, n int) [][]byte {
		return markov(r, n, 300, []float64{0.38, 0.25}[c])
	}, 200, 500)

	for _, c := range []struct {
		data       toy
		k          int
		canonical  bool
		minAcc     float64
		maxAcc     float64 // a ceiling: a model that cannot see the signal must not do well
		nbAcc, lrA *float64
	}{
		{data: gc, k: 1, minAcc: 0.95, maxAcc: 1},
		{data: gc, k: 3, canonical: true, minAcc: 0.95, maxAcc: 1},
		{data: dinuc, k: 2, minAcc: 0.95, maxAcc: 1},
		{data: dinuc, k: 2, canonical: true, minAcc: 0.95, maxAcc: 1},
		{data: dinuc, k: 1, minAcc: 0, maxAcc: 0.7}, // base counts carry no signal
	} {
		d := c.data
		nb := FitNaiveBayes(d.train, d.trainLabels, 2, c.k, 1, c.canonical)
		lr := FitLogistic(d.train, d.trainLabels, 2, c.k, 1e-3, c.canonical)
		nbAcc := accuracy(t, nb.Predict, d.test, d.testLbls)
		lrAcc := accuracy(t, lr.Predict, d.test, d.testLbls)
		t.Logf("%s k=%d canonical=%v: naive Bayes %.3f, logistic %.3f (%d L-BFGS iterations, loss %.4f)",
			d.name, c.k, c.canonical, nbAcc, lrAcc, lr.Iterations, lr.Loss)
		for name, acc := range map[string]float64{"naive Bayes": nbAcc, "logistic": lrAcc} {
			if acc < c.minAcc || acc > c.maxAcc {
				t.Errorf("%s k=%d canonical=%v: %s test accuracy %.3f outside [%.2f, %.2f]",
					d.name, c.k, c.canonical, name, acc, c.minAcc, c.maxAcc)
			}
		}
	}
}

func TestLogisticThreeClassesAndDeterminism(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	probs := [][4]float64{{0.4, 0.2, 0.2, 0.2}, {0.2, 0.4, 0.2, 0.2}, {0.2, 0.2, 0.4, 0.2}}
	var train, test [][]byte
	var yTrain, yTest []int
	for c, p := range probs {
		train = append(train, composition(r, 60, 150, p)...)
		test = append(test, composition(r, 100, 150, p)...)
		for range 60 {
			yTrain = append(yTrain, c)
		}
		for range 100 {
			yTest = append(yTest, c)
		}
	}
	lr := FitLogistic(train, yTrain, 3, 2, 1e-2, false)
	acc := accuracy(t, lr.Predict, test, yTest)
	nb := FitNaiveBayes(train, yTrain, 3, 2, 1, false)
	nbAcc := accuracy(t, nb.Predict, test, yTest)
	t.Logf("3 classes k=2: logistic %.3f (%d iterations), naive Bayes %.3f", acc, lr.Iterations, nbAcc)
	if acc < 0.95 || nbAcc < 0.95 {
		t.Errorf("accuracy logistic %.3f, naive Bayes %.3f; want ≥ 0.95", acc, nbAcc)
	}
	// The same fit on one CPU gives bit-identical weights.
	prev := runtime.GOMAXPROCS(1)
	lr1 := FitLogistic(train, yTrain, 3, 2, 1e-2, false)
	runtime.GOMAXPROCS(prev)
	for c := range lr.W {
		if !slices.Equal(lr.W[c], lr1.W[c]) {
			t.Fatal("weights differ with GOMAXPROCS=1")
		}
	}
	if !slices.Equal(lr.B, lr1.B) || lr.Iterations != lr1.Iterations {
		t.Fatal("biases or iterations differ with GOMAXPROCS=1")
	}
}

func TestSoftmaxObjectiveGradient(t *testing.T) {
	// The analytic gradient against central finite differences.
	r := rand.New(rand.NewPCG(15, 16))
	const n, C, F, l2 = 37, 3, 5, 0.3
	X := make([][]float64, n)
	y := make([]int, n)
	for i := range X {
		X[i] = make([]float64, F)
		for j := range X[i] {
			X[i][j] = r.NormFloat64()
		}
		y[i] = r.IntN(C)
	}
	theta := make([]float64, C*F+C)
	for i := range theta {
		theta[i] = r.NormFloat64()
	}
	g := make([]float64, len(theta))
	softmaxObjective(theta, g, X, y, C, F, l2)
	scratch := make([]float64, len(theta))
	for i := range theta {
		const h = 1e-5
		old := theta[i]
		theta[i] = old + h
		fp := softmaxObjective(theta, scratch, X, y, C, F, l2)
		theta[i] = old - h
		fm := softmaxObjective(theta, scratch, X, y, C, F, l2)
		theta[i] = old
		if fd := (fp - fm) / (2 * h); math.Abs(fd-g[i]) > 1e-7 {
			t.Fatalf("gradient[%d] = %v, finite difference %v", i, g[i], fd)
		}
	}
}

func TestLBFGSRosenbrock(t *testing.T) {
	f := func(x, g []float64) float64 {
		a, b := x[0], x[1]
		g[0] = -2*(1-a) - 400*a*(b-a*a)
		g[1] = 200 * (b - a*a)
		return (1-a)*(1-a) + 100*(b-a*a)*(b-a*a)
	}
	x, iters, fx := lbfgs(f, []float64{-1.2, 1}, 10, 1000)
	if math.Abs(x[0]-1) > 1e-5 || math.Abs(x[1]-1) > 1e-5 || fx > 1e-10 {
		t.Fatalf("minimum at %v (f=%v) after %d iterations, want (1, 1)", x, fx, iters)
	}
}
