package mamba_test

import (
	"path/filepath"
	"testing"

	"github.com/mambakit/mambakit/core/mamba/mambatest"
	"github.com/mambakit/mambakit/kernels/cpu"
)

var (
	f64   = mambatest.F64
	relL2 = mambatest.RelL2
)

// TestFixtures holds the CPU model to transformers' MambaForCausalLM on every
// reference model: logits, loss, hidden states, every gradient, and greedy
// generation through the recurrent state.
func TestFixtures(t *testing.T) {
	mambatest.Fixtures(t, cpu.New(), filepath.Join("..", "..", "testdata"))
}

// TestFixturesRecurrent feeds the fixtures' tokens one at a time through Step
// and holds the logits to the same tolerance as the full forward.
func TestFixturesRecurrent(t *testing.T) {
	mambatest.FixturesRecurrent(t, cpu.New(), filepath.Join("..", "..", "testdata"))
}
