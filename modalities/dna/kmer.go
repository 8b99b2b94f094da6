package dna

import (
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/optimize"
)

// MaxK is the largest k that the k-mer functions accept: 4^12 = 16,777,216
// counts.
const MaxK = 12

// baseCode is 0, 1, 2, 3 for A, C, G, T in either case and -1 for every
// other byte: the k-mer index of a window is its bases read as a base-4
// number, first base most significant, so indices sort lexicographically.
var baseCode = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range []byte("ACGT") {
		t[c], t[c|0x20] = int8(i), int8(i)
	}
	return t
}()

func checkK(k int) {
	if k < 1 || k > MaxK {
		panic(fmt.Sprintf("dna: k-mer size %d outside 1..%d", k, MaxK))
	}
}

// rawKmerCounts counts the k-mers of seq into a new slice of 4^k: every
// window of k consecutive A/C/G/T (either case) counts once at its index;
// windows containing any other byte are not counted. It also returns the
// number of windows counted.
func rawKmerCounts(seq []byte, k int) ([]float64, int) {
	counts := make([]float64, 1<<(2*k))
	mask := len(counts) - 1
	idx, run, n := 0, 0, 0
	for _, c := range seq {
		b := baseCode[c]
		if b < 0 {
			run = 0
			continue
		}
		idx = (idx<<2 | int(b)) & mask
		if run++; run >= k {
			counts[idx]++
			n++
		}
	}
	return counts, n
}

// reverseComplementIndex is the index of the reverse complement of the
// k-mer with index idx.
func reverseComplementIndex(idx, k int) int {
	rc := 0
	for range k {
		rc = rc<<2 | (3 - idx&3)
		idx >>= 2
	}
	return rc
}

// KmerCounts returns the k-mer spectrum of seq: a slice of 4^k with, at the
// index of each k-mer (its bases A=0 C=1 G=2 T=3 as a base-4 number, first
// base most significant, so "AC" is 1 and "TA" is 12), the number of windows
// of k consecutive bases equal to it. Bases are read case-insensitively;
// windows that contain N or any byte other than A, C, G, T are skipped. With
// canonical, a k-mer and its reverse complement are merged: both count at
// the smaller of their two indices, and the larger index stays 0. When any
// window was counted the counts are divided by their total, so they sum to
// 1; otherwise they are all 0. It panics if k is outside 1..MaxK.
func KmerCounts(seq []byte, k int, canonical bool) []float32 {
	checkK(k)
	raw, n := rawKmerCounts(seq, k)
	if canonical {
		foldCanonical(raw, k)
	}
	out := make([]float32, len(raw))
	if n == 0 {
		return out
	}
	for i, v := range raw {
		out[i] = float32(v / float64(n))
	}
	return out
}

// foldCanonical adds the count of every non-canonical k-mer to its
// canonical partner (the smaller index) and zeroes it.
func foldCanonical(counts []float64, k int) {
	for i := range counts {
		if rc := reverseComplementIndex(i, k); rc < i {
			counts[rc] += counts[i]
			counts[i] = 0
		}
	}
}

// kmerFeatures lists the k-mer indices that are features: all 4^k, or with
// canonical only those not larger than their reverse complement.
func kmerFeatures(k int, canonical bool) []int {
	var f []int
	for i := range 1 << (2 * k) {
		if !canonical || i <= reverseComplementIndex(i, k) {
			f = append(f, i)
		}
	}
	return f
}

// featureCounts returns the counts of seq at the features, and the number of
// windows counted.
func featureCounts(seq []byte, k int, canonical bool, features []int) ([]float64, int) {
	raw, n := rawKmerCounts(seq, k)
	if canonical {
		foldCanonical(raw, k)
	}
	out := make([]float64, len(features))
	for j, i := range features {
		out[j] = raw[i]
	}
	return out, n
}

func checkTraining(seqs [][]byte, labels []int, classes, k int) {
	checkK(k)
	if len(seqs) == 0 {
		panic("dna: no training sequences")
	}
	if len(seqs) != len(labels) {
		panic(fmt.Sprintf("dna: %d training sequences but %d labels", len(seqs), len(labels)))
	}
	if classes < 1 {
		panic(fmt.Sprintf("dna: %d classes", classes))
	}
	for i, l := range labels {
		if l < 0 || l >= classes {
			panic(fmt.Sprintf("dna: label %d of training sequence %d outside 0..%d", l, i, classes-1))
		}
	}
}

// softmaxInPlace turns scores into probabilities, subtracting the maximum
// first so that nothing overflows; -Inf scores get probability 0.
func softmaxInPlace(z []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	var s float64
	for i, v := range z {
		z[i] = math.Exp(v - m)
		s += z[i]
	}
	for i := range z {
		z[i] /= s
	}
	return z
}

// NaiveBayes is a multinomial naive Bayes classifier over k-mer counts with
// Laplace (additive) smoothing. A sequence's class scores are the log prior
// plus, for each k-mer, its count times the log of its smoothed frequency
// in the class's training sequences. Make it with [FitNaiveBayes].
type NaiveBayes struct {
	K         int         // k-mer size
	Canonical bool        // k-mers merged with their reverse complements
	Alpha     float64     // Laplace smoothing: pseudo-count added to every k-mer of every class
	LogPrior  []float64   // log of each class's share of the training sequences
	LogProb   [][]float64 // [class][feature] log P(k-mer | class); features are Features()
	features  []int
}

// FitNaiveBayes trains a multinomial naive Bayes classifier on the k-mer
// counts (not frequencies) of seqs, whose classes are labels (0 ≤ label <
// classes), with Laplace smoothing alpha > 0 (1 is the classical choice).
// With canonical, a k-mer and its reverse complement are one feature. A
// class without training sequences gets probability 0. It panics on
// arguments that are inconsistent (lengths, a label out of range, k outside
// 1..MaxK, alpha ≤ 0, no sequences).
func FitNaiveBayes(seqs [][]byte, labels []int, classes, k int, alpha float64, canonical bool) *NaiveBayes {
	checkTraining(seqs, labels, classes, k)
	if !(alpha > 0) {
		panic(fmt.Sprintf("dna: naive Bayes smoothing alpha %v must be positive", alpha))
	}
	features := kmerFeatures(k, canonical)
	nb := &NaiveBayes{K: k, Canonical: canonical, Alpha: alpha, features: features,
		LogPrior: make([]float64, classes), LogProb: make([][]float64, classes)}
	perClass := make([]int, classes)
	for c := range classes {
		nb.LogProb[c] = make([]float64, len(features))
	}
	for i, s := range seqs {
		counts, _ := featureCounts(s, k, canonical, features)
		row := nb.LogProb[labels[i]]
		for j, v := range counts {
			row[j] += v
		}
		perClass[labels[i]]++
	}
	for c := range classes {
		nb.LogPrior[c] = math.Log(float64(perClass[c]) / float64(len(seqs)))
		row := nb.LogProb[c]
		var total float64
		for _, v := range row {
			total += v
		}
		denom := math.Log(total + alpha*float64(len(row)))
		for j, v := range row {
			row[j] = math.Log(v+alpha) - denom
		}
	}
	return nb
}

// Features returns the k-mer indices (as KmerCounts numbers them) that the
// columns of LogProb stand for.
func (nb *NaiveBayes) Features() []int { return append([]int(nil), nb.features...) }

// Predict returns the probability of each class for seq: the softmax of the
// classes' log-likelihoods, computed in float64 after subtracting the
// largest, so long sequences give probabilities of 0 and 1 rather than NaN.
// A sequence without any countable window gets the prior.
func (nb *NaiveBayes) Predict(seq []byte) []float64 {
	counts, _ := featureCounts(seq, nb.K, nb.Canonical, nb.features)
	z := make([]float64, len(nb.LogPrior))
	for c := range z {
		s := nb.LogPrior[c]
		row := nb.LogProb[c]
		for j, v := range counts {
			if v != 0 {
				s += v * row[j]
			}
		}
		z[c] = s
	}
	return softmaxInPlace(z)
}

// Logistic is a multinomial logistic regression (softmax regression) on the
// k-mer frequencies of a sequence, each feature standardised by the mean
// and standard deviation it had in the training sequences. Make it with
// [FitLogistic].
type Logistic struct {
	K          int         // k-mer size
	Canonical  bool        // k-mers merged with their reverse complements
	L2         float64     // weight of the penalty L2/2·‖W‖² (the biases are not penalised)
	Mean       []float64   // per feature: training mean of the frequency
	Scale      []float64   // per feature: 1/training standard deviation, 0 for a constant feature
	W          [][]float64 // [class][feature] weights on the standardised frequencies
	B          []float64   // per class bias
	Iterations int         // L-BFGS iterations the fit took
	Loss       float64     // final objective: mean cross-entropy plus the penalty
	features   []int
}

// FitLogistic trains a multinomial logistic regression on the k-mer
// frequencies (KmerCounts) of seqs, whose classes are labels (0 ≤ label <
// classes), minimising the mean cross-entropy plus l2/2 times the squared
// weights (l2 ≥ 0; with 0 and separable classes the weights grow until the
// iteration limit) by L-BFGS with a backtracking line search, from zero
// weights. Features are standardised first. The fit is deterministic: the
// same inputs give the same model whatever the number of CPUs. It panics on
// inconsistent arguments (as FitNaiveBayes) or l2 < 0.
func FitLogistic(seqs [][]byte, labels []int, classes, k int, l2 float64, canonical bool) *Logistic {
	checkTraining(seqs, labels, classes, k)
	if !(l2 >= 0) {
		panic(fmt.Sprintf("dna: logistic L2 penalty %v must be ≥ 0", l2))
	}
	features := kmerFeatures(k, canonical)
	F, n := len(features), len(seqs)
	X := make([][]float64, n)
	for i, s := range seqs {
		X[i] = frequencies(s, k, canonical, features)
	}
	lr := &Logistic{K: k, Canonical: canonical, L2: l2, features: features,
		Mean: make([]float64, F), Scale: make([]float64, F)}
	for _, x := range X {
		for j, v := range x {
			lr.Mean[j] += v
		}
	}
	for j := range lr.Mean {
		lr.Mean[j] /= float64(n)
	}
	for _, x := range X {
		for j, v := range x {
			d := v - lr.Mean[j]
			lr.Scale[j] += d * d
		}
	}
	for j, v := range lr.Scale {
		if sd := math.Sqrt(v / float64(n)); sd > 1e-12 {
			lr.Scale[j] = 1 / sd
		} else {
			lr.Scale[j] = 0
		}
	}
	for _, x := range X {
		lr.standardise(x)
	}

	// Parameters θ = [W (classes×F, row-major) | B (classes)].
	C := classes
	obj := func(theta, grad []float64) float64 {
		return softmaxObjective(theta, grad, X, labels, C, F, l2)
	}
	theta, iters, loss := lbfgs(obj, make([]float64, C*F+C), 10, 1000)
	lr.W = make([][]float64, C)
	for c := range C {
		lr.W[c] = theta[c*F : (c+1)*F : (c+1)*F]
	}
	lr.B = theta[C*F:]
	lr.Iterations, lr.Loss = iters, loss
	return lr
}

// frequencies is KmerCounts at the features, in float64.
func frequencies(seq []byte, k int, canonical bool, features []int) []float64 {
	x, n := featureCounts(seq, k, canonical, features)
	if n > 0 {
		for j := range x {
			x[j] /= float64(n)
		}
	}
	return x
}

func (lr *Logistic) standardise(x []float64) {
	for j := range x {
		x[j] = (x[j] - lr.Mean[j]) * lr.Scale[j]
	}
}

// Features returns the k-mer indices (as KmerCounts numbers them) that the
// columns of W stand for.
func (lr *Logistic) Features() []int { return append([]int(nil), lr.features...) }

// Predict returns the probability of each class for seq (the softmax of the
// class scores, computed stably in float64).
func (lr *Logistic) Predict(seq []byte) []float64 {
	x := frequencies(seq, lr.K, lr.Canonical, lr.features)
	lr.standardise(x)
	z := make([]float64, len(lr.B))
	for c := range z {
		s := lr.B[c]
		for j, v := range x {
			s += lr.W[c][j] * v
		}
		z[c] = s
	}
	return softmaxInPlace(z)
}

// objectiveChunks is the fixed number of pieces the training set is cut
// into for the objective; partial sums are added in piece order, so the
// result does not depend on the number of CPUs.
const objectiveChunks = 32

// softmaxObjective returns the mean cross-entropy of the softmax regression
// θ on (X, labels) plus l2/2·‖W‖², and writes its gradient into grad.
func softmaxObjective(theta, grad []float64, X [][]float64, labels []int, C, F int, l2 float64) float64 {
	n := len(X)
	chunks := min(objectiveChunks, n)
	losses := make([]float64, chunks)
	grads := make([][]float64, chunks)
	var wg sync.WaitGroup
	for ch := range chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := make([]float64, len(theta))
			z := make([]float64, C)
			var loss float64
			for i := ch * n / chunks; i < (ch+1)*n/chunks; i++ {
				x := X[i]
				for c := range C {
					s := theta[C*F+c]
					w := theta[c*F : (c+1)*F]
					for j, v := range x {
						s += w[j] * v
					}
					z[c] = s
				}
				// −log p_y = logsumexp(z) − z_y; z becomes p − onehot(y).
				y := labels[i]
				m := math.Inf(-1)
				for _, v := range z {
					m = max(m, v)
				}
				var sum float64
				for _, v := range z {
					sum += math.Exp(v - m)
				}
				lse := m + math.Log(sum)
				loss += lse - z[y]
				for c, v := range z {
					z[c] = math.Exp(v - lse)
				}
				z[y]--
				for c := range C {
					d := z[c]
					if d == 0 {
						continue
					}
					gw := g[c*F : (c+1)*F]
					for j, v := range x {
						gw[j] += d * v
					}
					g[C*F+c] += d
				}
			}
			losses[ch], grads[ch] = loss, g
		}()
	}
	wg.Wait()
	var loss float64
	clear(grad)
	for ch := range chunks {
		loss += losses[ch]
		for j, v := range grads[ch] {
			grad[j] += v
		}
	}
	inv := 1 / float64(n)
	loss *= inv
	for j := range grad {
		grad[j] *= inv
	}
	for j := range C * F {
		loss += 0.5 * l2 * theta[j] * theta[j]
		grad[j] += l2 * theta[j]
	}
	return loss
}

// lbfgs minimises f (which returns the value and writes the gradient) from
// x0 with gonum's L-BFGS (m corrections, its default line search), for at
// most maxIter iterations or until the largest gradient component falls
// below 1e-6. It returns the minimiser, the iterations taken and the final
// value. gonum asks for the value and the gradient separately, so the last
// evaluation is cached: each point costs one call of f.
func lbfgs(f func(x, g []float64) float64, x0 []float64, m, maxIter int) ([]float64, int, float64) {
	var lastX, lastG []float64
	var lastF float64
	eval := func(x []float64) {
		if lastX != nil && floats.Equal(x, lastX) {
			return
		}
		lastX = append(lastX[:0], x...)
		if lastG == nil {
			lastG = make([]float64, len(x))
		}
		lastF = f(lastX, lastG)
	}
	p := optimize.Problem{
		Func: func(x []float64) float64 { eval(x); return lastF },
		Grad: func(g, x []float64) { eval(x); copy(g, lastG) },
	}
	settings := &optimize.Settings{GradientThreshold: 1e-6, MajorIterations: maxIter,
		Converger: &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-12, Iterations: 20}}
	res, err := optimize.Minimize(p, x0, settings, &optimize.LBFGS{Store: m})
	if err != nil && res == nil {
		panic(fmt.Sprintf("dna: L-BFGS: %v", err)) // only for invalid settings
	}
	// A line search that cannot improve further (err ≠ nil) still leaves the
	// best point found in res, which is what a caller wants.
	return res.X, res.Stats.MajorIterations, res.F
}
