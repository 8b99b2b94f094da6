package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/mambakit/mambakit/pipelines/bench"
)

const benchSynopsis = `bench --preset 130m --mode forward|train|decode|membw [--batch 1] [--seq 2048] [--tokens N] [--weights f32|bf16] [--json]

Builds a model of the preset's shape with random weights and measures
  forward  one forward pass over batch × seq tokens (inference: no activations kept),
  train    a training step: forward keeping activations, loss, backward to every parameter,
  decode   tokens generated one at a time through the recurrent Step,
  membw    the read bandwidth of the decode path: one-row products against a 1 GiB matrix.
Prints tokens per second and the process's peak resident memory; --json prints
one JSON line instead. Presets: ` + "tiny, 130m, 370m, 790m, 1.4b, 2.8b."

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", benchSynopsis, stdout)
	o := bench.Options{}
	fs.StringVar(&o.Preset, "preset", "130m", "model shape: "+strings.Join(bench.PresetNames(), ", "))
	fs.StringVar(&o.Mode, "mode", "forward", "forward, train, decode or membw")
	fs.IntVar(&o.Batch, "batch", 1, "sequences per batch")
	fs.IntVar(&o.Seq, "seq", 2048, "sequence length (forward, train)")
	fs.IntVar(&o.Tokens, "tokens", 64, "tokens to decode (decode)")
	fs.IntVar(&o.Iters, "iters", 1, "timed repetitions (forward, train)")
	fs.IntVar(&o.Warmup, "warmup", 1, "untimed repetitions before them (forward, train)")
	seed := fs.Uint64("seed", 1, "seed of the random weights and tokens")
	asJSON := fs.Bool("json", false, "print one JSON line")
	weights := fs.String("weights", "f32", "storage of the projection and embedding weights: f32 or bf16")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measurement to this file (go tool pprof)")
	device := deviceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	o.Seed = *seed
	switch *weights {
	case "f32":
	case "bf16":
		o.BF16 = true
	default:
		return usagef("bench: --weights %q: f32 or bf16", *weights)
	}
	be, err := device.open()
	if err != nil {
		return err
	}
	if o.Mode == "membw" {
		bw := bench.MemoryBandwidth(be, 10)
		if *asJSON {
			fmt.Fprintf(stdout, "{\"mode\":\"membw\",\"device\":%q,\"bytes_per_s\":%.0f}\n", be.Name(), bw)
		} else {
			fmt.Fprintf(stdout, "memory bandwidth of the decode path on %s: %.1f GB/s\n", be.Name(), bw/1e9)
		}
		return nil
	}
	o.Progress = func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := bench.Run(be, o)
	if err != nil {
		return usagef("bench: %v", err)
	}
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "%s %s (%s weights) on %s (%d threads): %.1f tokens/s (%d tokens in %.2f s), peak RSS %.0f MiB\n",
		res.Preset, res.Mode, res.Weights, res.Device, res.Threads, res.TokensPerS, res.Tokens, res.Seconds, float64(res.PeakRSSBytes)/(1<<20))
	if res.Mode == "decode" {
		fmt.Fprintf(stdout, "per step: %.3f ms in Step (issuing its work), %.3f ms choosing the tokens (ArgmaxRows: on a device, also waiting for the work and copying the ids back)\n",
			res.Issue*1e3, res.Choose*1e3)
	}
	return nil
}
