//go:build cuda

package cuda

import (
	"path/filepath"
	"testing"

	"github.com/mambakit/mambakit/core/mamba/mambatest"
)

// TestFixtures and TestFixturesRecurrent are core/mamba's fixture tests on
// the CUDA backend: logits, hidden states, loss, every gradient and greedy
// generation against transformers' MambaForCausalLM, and the recurrent
// logits.
func TestFixtures(t *testing.T) {
	mambatest.Fixtures(t, backend(t), filepath.Join("..", "..", "testdata"))
}

func TestFixturesRecurrent(t *testing.T) {
	mambatest.FixturesRecurrent(t, backend(t), filepath.Join("..", "..", "testdata"))
}
