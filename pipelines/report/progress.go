package report

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress returns the terminal progress bar every long job draws on w: the
// description, a bar of total units (unit names them), the count, the rate
// and the time left, redrawn at most four times a second.
func Progress(w io.Writer, total int, unit, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
		progressbar.OptionSetItsString(unit), progressbar.OptionShowIts(), progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(250*time.Millisecond), progressbar.OptionSetWidth(24),
		progressbar.OptionSetDescription(desc))
}
