package classify

import (
	"math"
	"testing"
)

func TestScoreBinary(t *testing.T) {
	// Confusion: TP 3, FN 1, FP 2, TN 4.
	probs := [][]float64{{0.1, 0.9}, {0.2, 0.8}, {0.3, 0.7}, {0.6, 0.4}, // positives: 3 right, 1 wrong
		{0.4, 0.6}, {0.45, 0.55}, {0.9, 0.1}, {0.8, 0.2}, {0.7, 0.3}, {0.65, 0.35}} // negatives: 2 wrong
	labels := []int32{1, 1, 1, 1, 0, 0, 0, 0, 0, 0}
	m := Score(probs, labels, 2)
	if m.Accuracy != 0.7 {
		t.Errorf("accuracy %g, want 0.7", m.Accuracy)
	}
	// MCC = (TP·TN − FP·FN)/sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (12−2)/sqrt(5·4·6·5)
	if want := 10 / math.Sqrt(600); math.Abs(m.MCC-want) > 1e-12 {
		t.Errorf("MCC %g, want %g", m.MCC, want)
	}
	// F1(1) = 2·3/(2·3+2+1) = 6/9; F1(0) = 2·4/(8+1+2) = 8/11.
	if want := (6.0/9 + 8.0/11) / 2; math.Abs(m.MacroF1-want) > 1e-12 {
		t.Errorf("macro-F1 %g, want %g", m.MacroF1, want)
	}
	// AUROC by counting pairs: positives' scores .9 .8 .7 .4 vs negatives'
	// .6 .55 .1 .2 .3 .35: (6+6+6+4)/24.
	if want := 22.0 / 24; math.Abs(m.AUROC-want) > 1e-12 {
		t.Errorf("AUROC %g, want %g", m.AUROC, want)
	}
}

func TestScoreMulticlass(t *testing.T) {
	probs := [][]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0, 1, 0}}
	labels := []int32{0, 1, 2, 2}
	m := Score(probs, labels, 3)
	if m.Accuracy != 0.75 || m.Confusion[2][1] != 1 {
		t.Errorf("accuracy %g, confusion %v", m.Accuracy, m.Confusion)
	}
	// Gorodkin: c = 3, s = 4, t = (1,1,2), p = (1,2,1):
	// (3·4 − (1+2+2)) / sqrt((16−(1+4+1))(16−(1+1+4))) = 7/10.
	if math.Abs(m.MCC-0.7) > 1e-12 {
		t.Errorf("MCC %g, want 0.7", m.MCC)
	}
	perfect := Score([][]float64{{0.9, 0.1}, {0.2, 0.8}}, []int32{0, 1}, 2)
	if perfect.MCC != 1 || perfect.AUROC != 1 || perfect.MacroF1 != 1 {
		t.Errorf("perfect predictions: %+v", perfect)
	}
}
