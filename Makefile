# mambakit — see README.md.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build test vet bench clean

all: build

build:
	$(GO) build ./...
	$(GO) build -o bin/mamba ./cmd/mamba

vet:
	$(GO) vet ./...

# The test command of the README and of CI.
test: vet
	$(GO) test ./...
	$(GO) test -tags purego ./kernels/cpu/   # the portable kernels too

# Kernel micro-benchmarks, then the whole-model figures on the mamba-130m
# shape (random weights): forward and training at batch 1 × 2048, decode.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./kernels/cpu/
	./bin/mamba bench --preset 130m --mode forward --batch 1 --seq 2048 --json
	./bin/mamba bench --preset 130m --mode train --batch 1 --seq 2048 --json
	./bin/mamba bench --preset 130m --mode decode --batch 1 --tokens 64 --json

clean:
	rm -rf bin
