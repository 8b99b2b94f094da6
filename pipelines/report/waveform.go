package report

import (
	"fmt"
	"math"
	"math/cmplx"
	"os"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// spectrogram is an STFT magnitude grid in dB: columns are frames, rows
// frequency bins.
type spectrogram struct {
	db        [][]float64 // [frame][bin]
	hop, rate int
	n         int
}

func (s spectrogram) Dims() (c, r int)   { return len(s.db), len(s.db[0]) }
func (s spectrogram) Z(c, r int) float64 { return s.db[c][r] }
func (s spectrogram) X(c int) float64 {
	return (float64(c*s.hop) + float64(s.n)/2) / float64(s.rate)
}
func (s spectrogram) Y(r int) float64 { return float64(r) * float64(s.rate) / float64(s.n) }

// stft computes a Hann-windowed short-time Fourier transform in dB.
func stft(x []float32, rate, n, hop int) spectrogram {
	fft := fourier.NewFFT(n)
	win := make([]float64, n)
	for i := range win {
		win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
	}
	frame := make([]float64, n)
	s := spectrogram{hop: hop, rate: rate, n: n}
	for start := 0; start+n <= len(x); start += hop {
		for i := range frame {
			frame[i] = float64(x[start+i]) * win[i]
		}
		coef := fft.Coefficients(nil, frame)
		col := make([]float64, len(coef))
		for k, c := range coef {
			col[k] = 20 * math.Log10(cmplx.Abs(c)+1e-6)
		}
		s.db = append(s.db, col)
	}
	return s
}

// Waveform draws a clip as a PNG: the waveform above its spectrogram
// (Hann-windowed STFT in dB, 512-sample frames, shorter for clips under
// 2048 samples).
func Waveform(x []float32, rate int, pngPath, title string) error {
	if len(x) < 64 {
		return fmt.Errorf("waveform: %d samples are too few to draw", len(x))
	}
	frame := 512
	for frame*4 > len(x) {
		frame /= 2
	}
	wave := plot.New()
	wave.Title.Text = title
	wave.X.Label.Text = "time (s)"
	wave.Y.Label.Text = "amplitude"
	// At most ~4000 points: the min and max of each pixel column.
	step := max(1, len(x)/2000)
	var pts plotter.XYs
	for i := 0; i < len(x); i += step {
		lo, hi := x[i], x[i]
		for _, v := range x[i:min(i+step, len(x))] {
			lo, hi = min(lo, v), max(hi, v)
		}
		t := float64(i) / float64(rate)
		pts = append(pts, plotter.XY{X: t, Y: float64(lo)}, plotter.XY{X: t, Y: float64(hi)})
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	wave.Add(line)
	wave.Y.Min, wave.Y.Max = -1, 1
	spec := plot.New()
	spec.X.Label.Text = "time (s)"
	spec.Y.Label.Text = "frequency (Hz)"
	s := stft(x, rate, frame, frame/4)
	pal := moreland.ExtendedBlackBody()
	pal.SetMin(-60)
	pal.SetMax(40)
	cols := pal.Palette(128).Colors()
	hm := plotter.NewHeatMap(s, pal.Palette(128))
	hm.Min, hm.Max = -60, 40
	hm.Underflow, hm.Overflow = cols[0], cols[len(cols)-1] // out-of-range cells saturate, not vanish
	spec.Add(hm)
	// One time axis for both panels.
	dur := float64(len(x)) / float64(rate)
	wave.X.Min, wave.X.Max = 0, dur
	spec.X.Min, spec.X.Max = 0, dur
	spec.Y.Min, spec.Y.Max = 0, float64(rate)/2
	const w, h = 10 * vg.Inch, 7 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadX: vg.Points(4), PadY: vg.Points(8)}
	canvases := plot.Align([][]*plot.Plot{{wave}, {spec}}, tiles, dc)
	wave.Draw(canvases[0][0])
	spec.Draw(canvases[1][0])
	f, err := os.Create(pngPath)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return err
	}
	return f.Close()
}
