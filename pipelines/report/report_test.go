package report

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestConfusionMatrixPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cm.png")
	if err := ConfusionMatrix([][]int{{5, 1, 0}, {2, 7, 1}, {0, 0, 9}}, []string{"a", "b", "c"}, path, "test"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 200 {
		t.Errorf("image %v too small", b)
	}
	if err := ConfusionMatrix([][]int{{1}}, []string{"a", "b"}, path, "x"); err == nil {
		t.Error("mismatched labels: no error")
	}
}

func TestLossCurvePNG(t *testing.T) {
	dir := t.TempDir()
	metrics := filepath.Join(dir, "m.jsonl")
	os.WriteFile(metrics, []byte("{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2.5}\n{\"step\":2,\"val_loss\":2.7}\n"), 0o644)
	if err := LossCurve(metrics, filepath.Join(dir, "l.png"), "t"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(metrics, []byte("{\"step\":1,\"loss\":3}\nnot json\n"), 0o644)
	if err := LossCurve(metrics, filepath.Join(dir, "l.png"), "t"); err == nil {
		t.Error("a bad metrics line: no error")
	}
}

func TestWaveformPNG(t *testing.T) {
	x := make([]float32, 16000)
	for i := range x {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/16000))
	}
	path := filepath.Join(t.TempDir(), "w.png")
	if err := Waveform(x, 16000, path, "440 Hz"); err != nil {
		t.Fatal(err)
	}
	// The spectrogram's strongest bin is the tone's.
	s := stft(x, 16000, 512, 128)
	best := 0
	for k, v := range s.db[10] {
		if v > s.db[10][best] {
			best = k
		}
	}
	if f := s.Y(best); math.Abs(f-440) > 16000.0/512 {
		t.Errorf("spectrogram peak at %.0f Hz, want 440", f)
	}
	if err := Waveform(x[:400], 16000, path, "short"); err != nil {
		t.Errorf("a 400-sample clip: %v", err)
	}
	if err := Waveform(x[:50], 16000, path, "too short"); err == nil {
		t.Error("a 50-sample clip: no error")
	}
}
