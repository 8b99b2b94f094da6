package cpu

import (
	"testing"

	"github.com/mambakit/mambakit/core/conformance"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, New(), conformance.Float32)
}
