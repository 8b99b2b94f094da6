// Package report draws what people would rather see than read: loss curves,
// confusion matrices and waveforms, as PNG files (gonum.org/v1/plot).
package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// LossCurve plots the training loss (raw and smoothed) and the validation
// loss of a metrics.jsonl log (lines with "step" and "loss" or "val_loss")
// into a PNG.
func LossCurve(metricsPath, pngPath, title string) error {
	f, err := os.Open(metricsPath)
	if err != nil {
		return err
	}
	defer f.Close()
	var train, smooth, val plotter.XYs
	ema, weight := 0.0, 0.0 // bias-corrected exponential moving average
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		var m struct {
			Step    int      `json:"step"`
			Loss    *float64 `json:"loss"`
			ValLoss *float64 `json:"val_loss"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("%s:%d: %w", metricsPath, line, err)
		}
		if m.Loss != nil {
			train = append(train, plotter.XY{X: float64(m.Step), Y: *m.Loss})
			ema = 0.9*ema + 0.1**m.Loss
			weight = 0.9*weight + 0.1
			smooth = append(smooth, plotter.XY{X: float64(m.Step), Y: ema / weight})
		}
		if m.ValLoss != nil {
			val = append(val, plotter.XY{X: float64(m.Step), Y: *m.ValLoss})
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(train) == 0 && len(val) == 0 {
		return fmt.Errorf("%s: no losses to plot", metricsPath)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss (nats per token)"
	p.Add(plotter.NewGrid())
	if len(train) > 0 {
		raw, err := plotter.NewLine(train)
		if err != nil {
			return err
		}
		raw.Color = color.RGBA{R: 160, G: 190, B: 230, A: 255}
		sm, err := plotter.NewLine(smooth)
		if err != nil {
			return err
		}
		sm.Color = color.RGBA{B: 180, A: 255}
		sm.Width = vg.Points(1.5)
		p.Add(raw, sm)
		p.Legend.Add("train", raw)
		p.Legend.Add("train (smoothed)", sm)
	}
	if len(val) > 0 {
		vl, vp, err := plotter.NewLinePoints(val)
		if err != nil {
			return err
		}
		vl.Color = color.RGBA{R: 200, A: 255}
		vp.Color = color.RGBA{R: 200, A: 255}
		p.Add(vl, vp)
		p.Legend.Add("validation", vl, vp)
	}
	p.Legend.Top = true
	return p.Save(8*vg.Inch, 5*vg.Inch, pngPath)
}
