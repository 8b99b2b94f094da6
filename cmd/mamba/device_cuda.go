//go:build cuda

package main

import (
	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/kernels/cuda"
)

// Builds with -tags cuda offer --device cuda. Registering does no device
// work: the context, the kernels and cuBLAS are set up when the backend is
// opened. (Importing the package runs gorgonia.org/cu's cuInit, which exits
// the process when no CUDA driver or device is present.)
func init() {
	backends["cuda"] = func() (core.Backend, error) { return cuda.New() }
}
