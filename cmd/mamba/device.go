package main

import (
	"flag"
	"fmt"

	"github.com/mambakit/mambakit/core"
	"github.com/mambakit/mambakit/kernels/cpu"
)

// backends maps --device names to constructors; builds with -tags cuda add
// "cuda".
var backends = map[string]func() (core.Backend, error){
	"cpu": func() (core.Backend, error) { return cpu.New(), nil },
}

func deviceFlag(fs *flag.FlagSet) *string {
	return fs.String("device", "cpu", "compute backend: cpu, or cuda in a build with -tags cuda")
}

func openBackend(name string) (core.Backend, error) {
	mk, ok := backends[name]
	if !ok {
		if name == "cuda" {
			return nil, fmt.Errorf("--device cuda: this binary was built without CUDA support (build with -tags cuda)")
		}
		return nil, usagef("--device %q: unknown backend (cpu or cuda)", name)
	}
	return mk()
}
