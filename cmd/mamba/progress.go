package main

import (
	"fmt"
	"io"

	"github.com/mambakit/mambakit/pipelines/report"
)

// progressBar draws a bar of total units on w (rate and time left) and
// returns the function that advances it by n; it ends the line once total
// is reached.
func progressBar(w io.Writer, total int, unit, desc string) func(n int) {
	bar := report.Progress(w, total, unit, desc)
	done := 0
	return func(n int) {
		done += n
		bar.Add(n)
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}
