package cpu

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mambakit/mambakit/core"
)

// TestScanBF16Validation checks that core.Ops refuses a scan whose sequence
// tensors mix float32 and bfloat16, naming the tensor, and accepts one that
// is all bfloat16.
func TestScanBF16Validation(t *testing.T) {
	ops := core.Ops{Backend: New()}
	const B, D, L, N = 1, 2, 3, 4
	args := func() core.ScanArgs {
		return core.ScanArgs{U: ops.AllocBF16(B, D, L), Delta: ops.AllocBF16(B, D, L), A: ops.Alloc(D, N),
			B: ops.AllocBF16(B, N, L), C: ops.AllocBF16(B, N, L), Out: ops.AllocBF16(B, D, L)}
	}
	panics := func(f func()) (msg string) {
		defer func() { msg = fmt.Sprint(recover()) }()
		f()
		return ""
	}
	if msg := panics(func() { ops.SelectiveScan(args()) }); msg != "<nil>" {
		t.Fatalf("all-bfloat16 scan panicked: %s", msg)
	}
	a := args()
	a.C = ops.Alloc(B, N, L)
	if msg := panics(func() { ops.SelectiveScan(a) }); !strings.Contains(msg, "C is float32 but U is bfloat16") {
		t.Errorf("mixed C: panic %q", msg)
	}
	a = args()
	a.A = ops.AllocBF16(D, N)
	if msg := panics(func() { ops.SelectiveScan(a) }); !strings.Contains(msg, "A is bfloat16") {
		t.Errorf("bfloat16 A: panic %q", msg)
	}
	a = args()
	g := core.ScanGrads{DOut: ops.Alloc(B, D, L)}
	if msg := panics(func() { ops.SelectiveScanBackward(a, g) }); !strings.Contains(msg, "DOut is float32 but U is bfloat16") {
		t.Errorf("float32 DOut: panic %q", msg)
	}
	// The CPU backend saves no states: Saved is a programmer error.
	a = args()
	a.Saved = ops.Alloc(B, D, 1, N)
	if msg := panics(func() { ops.SelectiveScan(a) }); !strings.Contains(msg, "does not save (ScanSaves)") {
		t.Errorf("Saved on the CPU: panic %q", msg)
	}
}
