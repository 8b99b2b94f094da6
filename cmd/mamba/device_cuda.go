//go:build cuda

package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/kernels/cuda"
)

// Builds with -tags cuda offer --device cuda. Registering does no device
// work: the context, the kernels and cuBLAS are set up when the backend is
// opened. (Importing the package runs gorgonia.org/cu's cuInit, which exits
// the process when no CUDA driver or device is present.)
func init() {
	backends["cuda"] = func() (core.Backend, error) {
		o, err := cudaOptions()
		if err != nil {
			return nil, err
		}
		return cuda.NewWith(o)
	}
}

// cudaOptions reads the backend's switches from the environment
// (kernels/cuda/BUILD.md): MAMBAKIT_CUDA_TF32=1, MAMBAKIT_CUDA_SYNC=1,
// MAMBAKIT_CUDA_NOCACHE=1 and MAMBAKIT_CUDA_SCAN_CONFIG=i.
func cudaOptions() (cuda.Options, error) {
	o := cuda.Options{ScanConfig: -1,
		TF32:     os.Getenv("MAMBAKIT_CUDA_TF32") == "1",
		SyncEach: os.Getenv("MAMBAKIT_CUDA_SYNC") == "1",
		NoCache:  os.Getenv("MAMBAKIT_CUDA_NOCACHE") == "1"}
	if v := os.Getenv("MAMBAKIT_CUDA_SCAN_CONFIG"); v != "" {
		c, err := strconv.Atoi(v)
		if err != nil || c < 0 {
			return o, fmt.Errorf("MAMBAKIT_CUDA_SCAN_CONFIG=%q: want an index ≥ 0 into the scan configurations", v)
		}
		o.ScanConfig = c
	}
	return o, nil
}
