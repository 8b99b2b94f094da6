package optim

import (
	"math"
	"testing"
)

func TestSchedule(t *testing.T) {
	c := Config{LR: 1, MinLR: 0.1, WarmupSteps: 10, TotalSteps: 110}
	cases := map[int]float64{1: 0.1, 5: 0.5, 10: 1, 60: 0.55, 110: 0.1, 500: 0.1}
	for step, want := range cases {
		if got := c.LRAt(step); math.Abs(got-want) > 1e-12 {
			t.Errorf("LRAt(%d) = %g, want %g", step, got, want)
		}
	}
	// Cosine: a quarter of the way, (1+cos(π/4))/2 of the range above MinLR.
	if got, want := c.LRAt(35), 0.1+0.45*(1+math.Cos(math.Pi/4)); math.Abs(got-want) > 1e-12 {
		t.Errorf("LRAt(35) = %g, want %g", got, want)
	}
}

func TestDecays(t *testing.T) {
	for name, want := range map[string]bool{
		"backbone.embeddings.weight":             true,
		"lm_head.weight":                         true,
		"backbone.layers.3.mixer.in_proj.weight": true,
		"backbone.layers.3.mixer.conv1d.weight":  true,
		"backbone.layers.3.mixer.A_log":          false,
		"backbone.layers.3.mixer.D":              false,
		"backbone.layers.3.mixer.dt_proj.bias":   false,
		"backbone.layers.3.mixer.conv1d.bias":    false,
		"backbone.layers.3.norm.weight":          false,
		"backbone.norm_f.weight":                 false,
	} {
		if Decays(name) != want {
			t.Errorf("Decays(%q) = %v, want %v", name, !want, want)
		}
	}
}
