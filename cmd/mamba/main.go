// Command mamba is mambakit's command line: selective state space models
// (Mamba-1) for DNA, audio and text, on CPU or GPU.
//
//	mamba <command> [flags]
//
// Run `mamba help` for the list of commands and `mamba <command> --help` for
// each one's flags. Flags and environment variables are read here only.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"dump":     {"run a model on token ids and write logits, loss, hidden states and gradients (safetensors)", runDump},
	"generate": {"continue a prompt of token ids", runGenerate},
	"info":     {"print a checkpoint's config, parameter count and memory", runInfo},
	"bench":    {"measure forward, training and decode speed on random weights", runBench},
	"pretrain": {"train a model from scratch by next-token prediction (default: text on embedded Moby-Dick)", runPretrain},
	"eval":     {"loss, perplexity and bits per byte of a text model on text", runEval},
	"tokenize": {"print the token ids of standard input (or decode them)", runTokenize},
	"classify": {"train, evaluate and apply sequence classifiers (DNA, audio)", runClassify},
}

// stdin is the standard input commands read (a variable for tests).
var stdin io.Reader = os.Stdin

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return status(c.run([]string{"--help"}, stdout, stderr), stderr)
			}
		}
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "mamba: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return status(c.run(args[1:], stdout, stderr), stderr)
}

// usageError is a problem with the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func status(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mamba: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "mamba: %v\n", err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "mamba — selective state space models (Mamba) in Go\n\nUsage: mamba <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'mamba <command> --help' for a command's flags.")
}

// newFlags makes a flag set whose --help prints the command's synopsis and
// flags to stdout.
func newFlags(name, synopsis string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "Usage: mamba %s\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, printing the help on --help, turning a bad flag into a
// usage error and rejecting positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
		return err
	}
	if err != nil {
		return usagef("%s: %v (see 'mamba %s --help')", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q (see 'mamba %s --help')", fs.Name(), fs.Arg(0), fs.Name())
	}
	return nil
}

// required returns a usage error naming the first empty flag.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if f := fs.Lookup(n); f != nil && strings.TrimSpace(f.Value.String()) == "" {
			return usagef("%s: --%s is required (see 'mamba %s --help')", fs.Name(), n, fs.Name())
		}
	}
	return nil
}
