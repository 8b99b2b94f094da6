package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressBar draws a bar of total units on w (rate and time left) and
// returns the function that advances it by n; it ends the line once total
// is reached.
func progressBar(w io.Writer, total int, unit, desc string) func(n int) {
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
		progressbar.OptionSetItsString(unit), progressbar.OptionShowIts(), progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(250*time.Millisecond), progressbar.OptionSetWidth(24), progressbar.OptionSetDescription(desc))
	done := 0
	return func(n int) {
		done += n
		bar.Add(n)
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}
