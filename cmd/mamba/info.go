package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/mambakit/mambakit/core/checkpoint"
	"github.com/mambakit/mambakit/core/mamba"
)

const infoSynopsis = `info --model DIR

Prints a checkpoint's layout, config, parameter count and memory: the weights
in float32 and bfloat16, and the recurrent state one sequence carries.`

func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("info", infoSynopsis, stdout)
	model := fs.String("model", "", "model directory or training run (its newest complete checkpoint)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model"); err != nil {
		return err
	}
	// Loading the weights too makes info a check of the whole checkpoint.
	be, _ := openBackend("cpu", "fp32")
	dir, err := checkpoint.Resolve(*model)
	if err != nil {
		return err
	}
	m, info, err := checkpoint.Load(dir, be)
	if err != nil {
		return err
	}
	printInfo(stdout, m.Cfg, info)
	return nil
}

func printInfo(w io.Writer, c mamba.Config, info *checkpoint.Info) {
	fmt.Fprintf(w, "checkpoint     %s (%s layout, %s weights in %s)\n", info.Dir, info.Layout, info.DType, strings.Join(info.Files, ", "))
	vocab := fmt.Sprint(c.Vocab)
	if info.RawVocab != 0 && info.RawVocab != c.Vocab {
		vocab = fmt.Sprintf("%d (vocab_size %d padded)", c.Vocab, info.RawVocab)
	}
	fmt.Fprintf(w, "d_model        %d\nn_layer        %d\nvocab          %s\n", c.DModel, c.NLayer, vocab)
	fmt.Fprintf(w, "d_inner        %d (expand %d)\nd_state        %d\nd_conv         %d\ndt_rank        %d\n",
		c.DInner, c.Expand, c.DState, c.DConv, c.DtRank)
	fmt.Fprintf(w, "biases         in/out_proj %v, conv %v\ntied head      %v\nnorm epsilon   %g\n",
		c.UseBias, c.UseConvBias, c.TieEmbeddings, c.Eps)
	n := c.ParamCount()
	fmt.Fprintf(w, "parameters     %d (%s)\n", n, human(float64(n), ""))
	fmt.Fprintf(w, "weights        %s float32, %s bfloat16\n", human(4*float64(n), "B"), human(2*float64(n), "B"))
	state := c.NLayer * c.DInner * (c.DConv + c.DState) * 4
	fmt.Fprintf(w, "decode state   %s per sequence (conv + SSM state, float32)\n", human(float64(state), "B"))
}

// human formats n with a k/M/G suffix (binary for bytes).
func human(n float64, unit string) string {
	base, suffixes := 1000.0, []string{"", "k", "M", "G", "T"}
	if unit == "B" {
		base, suffixes = 1024, []string{" B", " KiB", " MiB", " GiB", " TiB"}
	}
	i := 0
	for n >= base && i < len(suffixes)-1 {
		n /= base
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f%s", n, suffixes[0])
	}
	return fmt.Sprintf("%.2f%s", n, suffixes[i])
}
