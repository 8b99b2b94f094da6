module github.com/mambakit/mambakit

go 1.26.0

require (
	github.com/nlpodyssey/gopickle v0.2.0
	github.com/nlpodyssey/safetensors v0.0.0-20250209183917-bfb01cc25f7c
)

require golang.org/x/sys v0.50.0
