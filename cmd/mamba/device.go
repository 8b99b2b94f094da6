package main

import (
	"flag"
	"fmt"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/core/amp"
	"github.com/mambakit/mambakit/kernels/cpu"
)

// backends maps --device names to constructors; builds with -tags cuda add
// "cuda".
var backends = map[string]func() (core.Backend, error){
	"cpu": func() (core.Backend, error) { return cpu.New(), nil },
}

// deviceSpec is what the --device and --precision flags choose.
type deviceSpec struct {
	name, precision *string
}

// deviceFlag registers --device and --precision on fs.
func deviceFlag(fs *flag.FlagSet) *deviceSpec {
	return &deviceSpec{
		name: fs.String("device", "cpu", "compute backend: cpu, or cuda in a build with -tags cuda"),
		precision: fs.String("precision", "fp32", "fp32, or bf16: matrix products and selective scans on bfloat16 operands "+
			"(float32 sums, weights, optimizer state and gradients; as autocast). Pays on cuda (tensor cores); on cpu it is slower"),
	}
}

// open creates the chosen backend.
func (d *deviceSpec) open() (core.Backend, error) { return openBackend(*d.name, *d.precision) }

func openBackend(name, precision string) (core.Backend, error) {
	if precision != "fp32" && precision != "bf16" {
		return nil, usagef("--precision %q: fp32 or bf16", precision)
	}
	mk, ok := backends[name]
	if !ok {
		if name == "cuda" {
			return nil, fmt.Errorf("--device cuda: this binary was built without CUDA support (build with -tags cuda)")
		}
		return nil, usagef("--device %q: unknown backend (cpu or cuda)", name)
	}
	be, err := mk()
	if err != nil || precision == "fp32" {
		return be, err
	}
	return amp.Wrap(be, amp.Options{Scan: true}), nil
}
