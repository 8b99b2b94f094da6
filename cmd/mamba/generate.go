package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mambakit/mambakit/core/checkpoint"
	"github.com/mambakit/mambakit/core/mamba"
)

const generateSynopsis = `generate --model DIR --prompt-ids 1,2,3 [--max-new-tokens N] --greedy [--format ids]

Continues the prompt through the recurrent state (the prompt is prefilled in
parallel, then each new token is one recurrent Step) and prints the prompt and
the generated ids on one line, separated by spaces, as they are produced.
Generation stops after --max-new-tokens or once the config's eos_token_id is
produced (unless --ignore-eos), as transformers' generate does.`

func runGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", generateSynopsis, stdout)
	model := fs.String("model", "", "checkpoint directory")
	promptIDs := fs.String("prompt-ids", "", "comma-separated token ids of the prompt")
	maxNew := fs.Int("max-new-tokens", 32, "number of tokens to generate at most")
	greedy := fs.Bool("greedy", false, "always take the most likely token (the only decoding this build offers)")
	format := fs.String("format", "ids", "output format: ids")
	ignoreEOS := fs.Bool("ignore-eos", false, "do not stop at the end-of-sequence token")
	device := deviceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", "prompt-ids"); err != nil {
		return err
	}
	if !*greedy {
		return usagef("generate: sampling is not available yet; pass --greedy")
	}
	if *format != "ids" {
		return usagef("generate: --format %q: only ids is available", *format)
	}
	if *maxNew < 0 {
		return usagef("generate: --max-new-tokens %d must not be negative", *maxNew)
	}
	prompt, err := parseIDs(*promptIDs)
	if err != nil {
		return usagef("generate: --prompt-ids: %v", err)
	}
	be, err := openBackend(*device)
	if err != nil {
		return err
	}
	m, _, err := checkpoint.Load(*model, be)
	if err != nil {
		return err
	}
	if err := m.CheckIDs(prompt); err != nil {
		return fmt.Errorf("generate: --prompt-ids: %w", err)
	}
	w := bufio.NewWriter(stdout)
	for i, id := range prompt {
		if i > 0 {
			w.WriteByte(' ')
		}
		fmt.Fprint(w, id)
	}
	w.Flush()
	eos := int32(m.Cfg.EOSTokenID)
	if *ignoreEOS {
		eos = -1
	}
	_, err = m.GenerateGreedy(prompt, 1, len(prompt), mamba.GreedyOptions{MaxNew: *maxNew, EOS: eos,
		OnToken: func(_ int, id int32) { fmt.Fprintf(w, " %d", id); w.Flush() }})
	fmt.Fprintln(w)
	w.Flush()
	return err
}

// parseIDs parses "1,2, 3" into token ids.
func parseIDs(s string) ([]int32, error) {
	var ids []int32
	for i, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("item %d (%q) is not a token id", i+1, f)
		}
		ids = append(ids, int32(v))
	}
	return ids, nil
}
