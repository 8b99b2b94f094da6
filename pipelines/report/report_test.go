package report

import (
	"image/png"
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
