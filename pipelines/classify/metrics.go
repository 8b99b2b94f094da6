package classify

import (
	"math"
	"sort"
)

// Metrics score predictions against labels.
type Metrics struct {
	N         int
	Loss      float64 // mean cross-entropy of the probabilities (nats)
	Accuracy  float64
	MCC       float64 // Matthews correlation (multiclass: Gorodkin's R_K)
	MacroF1   float64
	AUROC     float64 // binary: of class 1's probability; more classes: macro one-vs-rest
	Confusion [][]int // [true][predicted]
}

// Miss is an example a model got wrong: its ID, true class, predicted class
// and the probability given to each.
type Miss struct {
	ID               string
	Label, Predicted int
	PLabel, PPred    float64
}

// MaxMisses is the most misses Misses lists.
const MaxMisses = 1000

// Misses lists the examples whose predicted class (Predicted, as Score
// counts them) is not their label, in order, at most MaxMisses of them; n is
// how many there are in all.
func Misses(ids []string, probs [][]float64, labels []int32) (misses []Miss, n int) {
	for i, p := range probs {
		best := Predicted(p)
		if y := int(labels[i]); best != y {
			n++
			if len(misses) < MaxMisses {
				misses = append(misses, Miss{ID: ids[i], Label: y, Predicted: best, PLabel: p[y], PPred: p[best]})
			}
		}
	}
	return misses, n
}

// Predicted is the class a row of probabilities predicts: the most
// probable, the first on ties.
func Predicted(p []float64) int {
	best := 0
	for k := range p {
		if p[k] > p[best] {
			best = k
		}
	}
	return best
}

// Score computes Metrics from class probabilities (one row per example) and
// the true labels, over C classes. The prediction is the most probable class
// (the first on ties).
func Score(probs [][]float64, labels []int32, C int) Metrics {
	m := Metrics{N: len(labels), Confusion: make([][]int, C)}
	for i := range m.Confusion {
		m.Confusion[i] = make([]int, C)
	}
	for i, p := range probs {
		best := Predicted(p)
		y := labels[i]
		m.Confusion[y][best]++
		m.Loss -= math.Log(math.Max(p[y], 1e-300))
	}
	if m.N == 0 {
		return m
	}
	m.Loss /= float64(m.N)
	// Accuracy, MCC (Gorodkin 2004), macro-F1.
	var correct, s float64
	t, pr := make([]float64, C), make([]float64, C)
	for i := 0; i < C; i++ {
		for j := 0; j < C; j++ {
			v := float64(m.Confusion[i][j])
			s += v
			t[i] += v
			pr[j] += v
			if i == j {
				correct += v
			}
		}
	}
	m.Accuracy = correct / s
	var tp, tt, pp float64
	for k := 0; k < C; k++ {
		tp += t[k] * pr[k]
		tt += t[k] * t[k]
		pp += pr[k] * pr[k]
	}
	if den := math.Sqrt((s*s - pp) * (s*s - tt)); den > 0 {
		m.MCC = (correct*s - tp) / den
	}
	for k := 0; k < C; k++ {
		tpk := float64(m.Confusion[k][k])
		if d := t[k] + pr[k]; d > 0 {
			m.MacroF1 += 2 * tpk / d
		}
	}
	m.MacroF1 /= float64(C)
	// AUROC.
	if C == 2 {
		m.AUROC = auroc(probs, labels, 1)
	} else {
		n := 0
		for k := 0; k < C; k++ {
			if a := auroc(probs, labels, int32(k)); !math.IsNaN(a) {
				m.AUROC += a
				n++
			}
		}
		m.AUROC /= float64(n)
	}
	return m
}

// auroc is the area under the ROC curve of class k's probability as a
// score for "label is k": the Mann-Whitney statistic with ties counted half.
// NaN when one side is empty.
func auroc(probs [][]float64, labels []int32, k int32) float64 {
	type item struct {
		s   float64
		pos bool
	}
	items := make([]item, len(labels))
	var np, nn float64
	for i, y := range labels {
		items[i] = item{probs[i][k], y == k}
		if y == k {
			np++
		} else {
			nn++
		}
	}
	if np == 0 || nn == 0 {
		return math.NaN()
	}
	sort.Slice(items, func(a, b int) bool { return items[a].s < items[b].s })
	// Sum of the (average) ranks of the positives.
	var rankSum float64
	for i := 0; i < len(items); {
		j := i
		for j < len(items) && items[j].s == items[i].s {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks are 1-based: i+1 … j
		for q := i; q < j; q++ {
			if items[q].pos {
				rankSum += avg
			}
		}
		i = j
	}
	return (rankSum - np*(np+1)/2) / (np * nn)
}
