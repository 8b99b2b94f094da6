package report

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// confusionGrid shows row-normalised rates, true classes from top to bottom.
type confusionGrid struct {
	m [][]int
}

func (g confusionGrid) Dims() (c, r int) { return len(g.m), len(g.m) }
func (g confusionGrid) X(c int) float64  { return float64(c) }
func (g confusionGrid) Y(r int) float64  { return float64(r) }
func (g confusionGrid) Z(c, r int) float64 {
	row := g.m[len(g.m)-1-r]
	n := 0
	for _, v := range row {
		n += v
	}
	if n == 0 {
		return 0
	}
	return float64(row[c]) / float64(n)
}

// ConfusionMatrix draws a confusion matrix ([true][predicted] counts) as a
// PNG heat map of the row-normalised rates, each cell labelled with its
// count.
func ConfusionMatrix(m [][]int, labels []string, pngPath, title string) error {
	C := len(m)
	if C == 0 || len(labels) != C {
		return fmt.Errorf("confusion matrix: %d rows for %d labels", C, len(labels))
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "predicted"
	p.Y.Label.Text = "true"
	pal := moreland.SmoothBlueRed()
	pal.SetMin(0)
	pal.SetMax(1)
	hm := plotter.NewHeatMap(confusionGrid{m}, pal.Palette(64))
	hm.Min, hm.Max = 0, 1
	p.Add(hm)
	var xys plotter.XYs
	var texts []string
	for r := 0; r < C; r++ {
		for c := 0; c < C; c++ {
			xys = append(xys, plotter.XY{X: float64(c), Y: float64(C - 1 - r)})
			texts = append(texts, fmt.Sprint(m[r][c]))
		}
	}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	if err != nil {
		return err
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Color = color.Black
		lb.TextStyle[i].XAlign = -0.5
		lb.TextStyle[i].YAlign = -0.5
	}
	p.Add(lb)
	ticks := func(rev bool) plot.ConstantTicks {
		var t plot.ConstantTicks
		for i, l := range labels {
			v := float64(i)
			if rev {
				v = float64(C - 1 - i)
			}
			t = append(t, plot.Tick{Value: v, Label: l})
		}
		return t
	}
	p.X.Tick.Marker = ticks(false)
	p.Y.Tick.Marker = ticks(true)
	p.X.Min, p.X.Max = -0.5, float64(C)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(C)-0.5
	size := vg.Length(2+0.7*float64(C)) * vg.Inch
	return p.Save(size+vg.Inch, size, pngPath)
}
