package cpu

import (
	"path/filepath"
	"testing"

	"github.com/mambakit/mambakit/core/conformance"
)

// TestScanFixtures runs the CPU scan on the inputs of testdata/scan (made by
// PyTorch in float64) and compares outputs, final state and every input
// gradient.
func TestScanFixtures(t *testing.T) {
	conformance.ScanFixtures(t, New(), filepath.Join("..", "..", "testdata", "scan"))
}
