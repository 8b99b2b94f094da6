package report

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress returns the terminal progress bar every long job draws on w: the
// description, a bar of total units (unit names them), the count, the rate
// and the time left, redrawn at most four times a second on a terminal and
// every ten seconds otherwise (a log file, a pipe), so that logs stay short.
func Progress(w io.Writer, total int, unit, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
		progressbar.OptionSetItsString(unit), progressbar.OptionShowIts(), progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(redraw(w)), progressbar.OptionSetWidth(24),
		progressbar.OptionSetDescription(desc))
}

// redraw is the progress bar's redraw interval on w.
func redraw(w io.Writer) time.Duration {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return 250 * time.Millisecond
	}
	return 10 * time.Second
}
