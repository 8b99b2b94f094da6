# mambakit — see README.md.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build test vet bench clean cuda-build cuda-emu-test

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

# The CUDA build (see kernels/cuda/BUILD.md): the test binary and a mamba
# with --device cuda, compiled here against CUDA_SDK's headers and link
# stubs, to be run on a machine with an NVIDIA GPU.
CUDA_SDK ?= ../shared/cuda-sdk
cuda-build:
	CGO_CFLAGS="-I$(CURDIR)/kernels/cuda/cuda13 -I$(CUDA_SDK)/include" CGO_LDFLAGS="-L$(CUDA_SDK)/lib64/stubs" \
		$(GO) vet -tags cuda ./kernels/cuda/ ./cmd/mamba/
	CGO_CFLAGS="-I$(CURDIR)/kernels/cuda/cuda13 -I$(CUDA_SDK)/include" CGO_LDFLAGS="-L$(CUDA_SDK)/lib64/stubs" \
		$(GO) test -c -tags cuda -o kernels/cuda/cuda.test ./kernels/cuda/
	CGO_CFLAGS="-I$(CURDIR)/kernels/cuda/cuda13 -I$(CUDA_SDK)/include" CGO_LDFLAGS="-L$(CUDA_SDK)/lib64/stubs" \
		$(GO) build -tags cuda -o bin/mamba-cuda ./cmd/mamba

# The CUDA backend's tests on a CPU emulation of the GPU (no GPU, no CUDA
# toolkit; slow: RUN picks the tests, e.g. make cuda-emu-test RUN=TestScanLanes).
RUN ?= TestViews|TestCopyConvert|TestScanFixtures|TestScanLanes|TestSoftplusPolynomial|TestTrainSavedStates
cuda-emu-test:
	$(GO) test -tags 'cuda cudaemu' -timeout 120m -run '$(RUN)' -v ./kernels/cuda/
