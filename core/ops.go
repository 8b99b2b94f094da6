package core

import "fmt"

// Ops wraps a Backend: each method validates its arguments in Go, panicking
// with a message naming the argument on a programmer error, and then calls
// the backend's unchecked kernel.
type Ops struct{ Backend }

func fail(op, format string, args ...any) {
	panic(fmt.Sprintf("core.%s: %s", op, fmt.Sprintf(format, args...)))
}

func need(op, name string, t Tensor, shape ...int) {
	needAny(op, name, t, shape...)
	if t.IsBF16() {
		fail(op, "%s is bfloat16; only Gemm's A and B and Embedding's table may be", name)
	}
}

// needAny is need without the float32 requirement.
func needAny(op, name string, t Tensor, shape ...int) {
	if t.IsNil() {
		fail(op, "%s is missing, want shape %v", name, shape)
	}
	if !SameShape(t.Shape, shape) {
		fail(op, "%s has shape %v, want %v", name, t.Shape, shape)
	}
	if t.Off < 0 || t.Off+t.Numel() > t.Store.Len() {
		fail(op, "%s view [%d, %d) exceeds its storage of %d", name, t.Off, t.Off+t.Numel(), t.Store.Len())
	}
}

func optional(op, name string, t Tensor, shape ...int) {
	if !t.IsNil() {
		need(op, name, t, shape...)
	}
}

func sameCount(op string, a, b Tensor) {
	if a.Numel() != b.Numel() {
		fail(op, "element counts differ: %v and %v", a.Shape, b.Shape)
	}
}

func checkIDs(op string, ids []int32, vocab int) {
	for i, id := range ids {
		if id < 0 || int(id) >= vocab {
			fail(op, "id %d at position %d outside [0, %d)", id, i, vocab)
		}
	}
}

// Upload checks sizes and copies host values into dst.
func (o Ops) Upload(dst Tensor, src []float32) {
	needAny("Upload", "dst", dst, dst.Shape...)
	if len(src) != dst.Numel() {
		fail("Upload", "%d values for a tensor of %v", len(src), dst.Shape)
	}
	o.Backend.Upload(dst, src)
}

// Download checks sizes and copies src into host memory.
func (o Ops) Download(dst []float32, src Tensor) {
	needAny("Download", "src", src, src.Shape...)
	if len(dst) != src.Numel() {
		fail("Download", "%d values for a tensor of %v", len(dst), src.Shape)
	}
	o.Backend.Download(dst, src)
}

// ToHost returns a host copy of t.
func (o Ops) ToHost(t Tensor) []float32 {
	h := make([]float32, t.Numel())
	o.Download(h, t)
	return h
}

// Copy checks counts and sets dst = src, converting between float32 and
// bfloat16.
func (o Ops) Copy(dst, src Tensor) {
	needAny("Copy", "dst", dst, dst.Shape...)
	needAny("Copy", "src", src, src.Shape...)
	sameCount("Copy", dst, src)
	o.Backend.Copy(dst, src)
}

// Flip checks shapes and reverses the innermost dimension of src into dst.
func (o Ops) Flip(dst, src Tensor) {
	need("Flip", "src", src, src.Shape...)
	need("Flip", "dst", dst, src.Shape...)
	if len(src.Shape) == 0 {
		fail("Flip", "src is a scalar")
	}
	o.Backend.Flip(dst, src)
}

// Axpy checks counts and computes y += alpha·x.
func (o Ops) Axpy(alpha float32, x, y Tensor) {
	sameCount("Axpy", x, y)
	o.Backend.Axpy(alpha, x, y)
}

func gemmSpan(op, name string, t Tensor, batch, stride, rows, cols int) {
	if t.IsNil() {
		fail(op, "%s is missing", name)
	}
	if stride < 0 {
		fail(op, "%s stride %d is negative", name, stride)
	}
	end := (batch-1)*stride + rows*cols
	if end > t.Numel() {
		fail(op, "%s: %d batches of (%d, %d) at stride %d need %d elements, tensor %v has %d",
			name, batch, rows, cols, stride, end, t.Shape, t.Numel())
	}
	if t.Off+t.Numel() > t.Store.Len() {
		fail(op, "%s view exceeds its storage", name)
	}
}

// Gemm validates the spans of A, B and C and computes the batched product.
func (o Ops) Gemm(g GemmArgs) {
	if g.Batch == 0 {
		g.Batch = 1
	}
	if g.M < 0 || g.N < 0 || g.K < 0 || g.Batch < 0 {
		fail("Gemm", "negative size M=%d N=%d K=%d batch=%d", g.M, g.N, g.K, g.Batch)
	}
	if g.M == 0 || g.N == 0 {
		return
	}
	ar, ac := g.M, g.K
	if g.TransA {
		ar, ac = g.K, g.M
	}
	br, bc := g.K, g.N
	if g.TransB {
		br, bc = g.N, g.K
	}
	if g.K > 0 {
		gemmSpan("Gemm", "A", g.A, g.Batch, g.StrideA, ar, ac)
		gemmSpan("Gemm", "B", g.B, g.Batch, g.StrideB, br, bc)
	}
	gemmSpan("Gemm", "C", g.C, g.Batch, g.StrideC, g.M, g.N)
	if g.C.IsBF16() {
		fail("Gemm", "C is bfloat16; it must be float32")
	}
	if g.Batch > 1 && g.StrideC < g.M*g.N {
		fail("Gemm", "C stride %d overlaps batches of (%d, %d)", g.StrideC, g.M, g.N)
	}
	o.Backend.Gemm(g)
}

// Embedding validates shapes and ids, then gathers rows of table.
func (o Ops) Embedding(out, table Tensor, ids []int32) {
	needAny("Embedding", "table", table, table.Shape...)
	if len(table.Shape) != 2 {
		fail("Embedding", "table has shape %v, want (V, dim)", table.Shape)
	}
	need("Embedding", "out", out, len(ids), table.Shape[1])
	checkIDs("Embedding", ids, table.Shape[0])
	o.Backend.Embedding(out, table, ids)
}

// EmbeddingBackward validates shapes and ids, then scatters dout into dtable.
func (o Ops) EmbeddingBackward(dtable, dout Tensor, ids []int32) {
	if len(dtable.Shape) != 2 {
		fail("EmbeddingBackward", "dtable has shape %v, want (V, dim)", dtable.Shape)
	}
	need("EmbeddingBackward", "dtable", dtable, dtable.Shape...)
	need("EmbeddingBackward", "dout", dout, len(ids), dtable.Shape[1])
	checkIDs("EmbeddingBackward", ids, dtable.Shape[0])
	o.Backend.EmbeddingBackward(dtable, dout, ids)
}

func (c ConvArgs) dims(op string) (b, d, l, k int) {
	if len(c.X.Shape) != 3 || len(c.W.Shape) != 2 {
		fail(op, "X %v must be (B, D, L) and W %v (D, K)", c.X.Shape, c.W.Shape)
	}
	b, d, l, k = c.X.Shape[0], c.X.Shape[1], c.X.Shape[2], c.W.Shape[1]
	need(op, "X", c.X, b, d, l)
	need(op, "W", c.W, d, k)
	optional(op, "Bias", c.Bias, d)
	if k < 1 {
		fail(op, "kernel width %d", k)
	}
	return
}

// Conv1d validates shapes and runs the causal depthwise convolution.
func (o Ops) Conv1d(c ConvArgs) {
	b, d, l, _ := c.dims("Conv1d")
	need("Conv1d", "Out", c.Out, b, d, l)
	o.Backend.Conv1d(c)
}

// Conv1dBackward validates shapes and computes the convolution's gradients.
func (o Ops) Conv1dBackward(c ConvArgs, g ConvGrads) {
	b, d, l, k := c.dims("Conv1dBackward")
	need("Conv1dBackward", "DOut", g.DOut, b, d, l)
	optional("Conv1dBackward", "DX", g.DX, b, d, l)
	optional("Conv1dBackward", "DW", g.DW, d, k)
	if c.Bias.IsNil() && !g.DBias.IsNil() {
		fail("Conv1dBackward", "DBias given without Bias")
	}
	optional("Conv1dBackward", "DBias", g.DBias, d)
	o.Backend.Conv1dBackward(c, g)
}

// ConvStep validates shapes and advances the convolution by one position.
func (o Ops) ConvStep(state, x, w, bias, out Tensor, silu bool) {
	if len(state.Shape) != 3 {
		fail("ConvStep", "state has shape %v, want (B, D, K)", state.Shape)
	}
	b, d, k := state.Shape[0], state.Shape[1], state.Shape[2]
	need("ConvStep", "state", state, b, d, k)
	need("ConvStep", "x", x, b, d)
	need("ConvStep", "w", w, d, k)
	optional("ConvStep", "bias", bias, d)
	need("ConvStep", "out", out, b, d)
	o.Backend.ConvStep(state, x, w, bias, out, silu)
}

// Dims returns the batch, channel, length and state sizes of a scan and
// panics (naming the tensor) if any given tensor disagrees with them.
func (s ScanArgs) Dims() (b, d, l, n int) {
	const op = "SelectiveScan"
	if len(s.U.Shape) != 3 || len(s.A.Shape) != 2 {
		fail(op, "U %v must be (B, D, L) and A %v (D, N)", s.U.Shape, s.A.Shape)
	}
	b, d, l, n = s.U.Shape[0], s.U.Shape[1], s.U.Shape[2], s.A.Shape[1]
	bf := s.U.IsBF16()
	needSeq(op, "U", s.U, bf, b, d, l)
	needSeq(op, "Delta", s.Delta, bf, b, d, l)
	need(op, "A", s.A, d, n)
	needSeq(op, "B", s.B, bf, b, n, l)
	needSeq(op, "C", s.C, bf, b, n, l)
	optional(op, "D", s.D, d)
	optionalSeq(op, "Z", s.Z, bf, b, d, l)
	optional(op, "DeltaBias", s.DeltaBias, d)
	optional(op, "H0", s.H0, b, d, n)
	optionalSeq(op, "Out", s.Out, bf, b, d, l)
	optional(op, "HLast", s.HLast, b, d, n)
	optional(op, "Saved", s.Saved, b, d, (l+ScanSaveEvery-1)/ScanSaveEvery, n)
	return
}

// IsBF16 reports whether the scan's sequence tensors are bfloat16.
func (s ScanArgs) IsBF16() bool { return s.U.IsBF16() }

// needSeq is need for a scan's sequence tensors: float32, or bfloat16 when
// bf (U is).
func needSeq(op, name string, t Tensor, bf bool, shape ...int) {
	needAny(op, name, t, shape...)
	if t.IsBF16() != bf {
		kind := map[bool]string{false: "float32", true: "bfloat16"}
		fail(op, "%s is %s but U is %s; the sequence tensors U, Delta, B, C, Z, Out (and DOut, DU, DDelta, DZ) share one type",
			name, kind[t.IsBF16()], kind[bf])
	}
}

func optionalSeq(op, name string, t Tensor, bf bool, shape ...int) {
	if !t.IsNil() {
		needSeq(op, name, t, bf, shape...)
	}
}

// SelectiveScan validates shapes and runs the scan.
func (o Ops) SelectiveScan(s ScanArgs) {
	b, d, l, n := s.Dims()
	needSeq("SelectiveScan", "Out", s.Out, s.IsBF16(), b, d, l)
	o.checkSaved("SelectiveScan", s, b, d, l, n)
	o.Backend.SelectiveScan(s)
}

// SelectiveScanBackward validates shapes and computes the scan's gradients.
func (o Ops) SelectiveScanBackward(s ScanArgs, g ScanGrads) {
	const op = "SelectiveScanBackward"
	b, d, l, n := s.Dims()
	bf := s.IsBF16()
	needSeq(op, "DOut", g.DOut, bf, b, d, l)
	optional(op, "DHLast", g.DHLast, b, d, n)
	optionalSeq(op, "DU", g.DU, bf, b, d, l)
	optionalSeq(op, "DDelta", g.DDelta, bf, b, d, l)
	optional(op, "DA", g.DA, d, n)
	optional(op, "DB", g.DB, b, n, l)
	optional(op, "DC", g.DC, b, n, l)
	pairs := []struct {
		name    string
		in, grd Tensor
	}{{"D", s.D, g.DD}, {"Z", s.Z, g.DZ}, {"DeltaBias", s.DeltaBias, g.DDeltaBias}, {"H0", s.H0, g.DH0}}
	for _, p := range pairs {
		if p.in.IsNil() && !p.grd.IsNil() {
			fail(op, "gradient d%s given without %s", p.name, p.name)
		}
	}
	optional(op, "DD", g.DD, d)
	optionalSeq(op, "DZ", g.DZ, bf, b, d, l)
	optional(op, "DDeltaBias", g.DDeltaBias, d)
	optional(op, "DH0", g.DH0, b, d, n)
	o.checkSaved(op, s, b, d, l, n)
	o.Backend.SelectiveScanBackward(s, g)
}

// checkSaved fails when s.Saved is given for a scan whose states the backend
// does not save (ScanSaves): a backend is not asked to fill or read it then.
func (o Ops) checkSaved(op string, s ScanArgs, b, d, l, n int) {
	if !s.Saved.IsNil() && !o.Backend.ScanSaves(b, d, l, n) {
		fail(op, "Saved given for B %d, D %d, L %d, N %d, whose states the backend does not save (ScanSaves)", b, d, l, n)
	}
}

// ScanStep validates shapes and advances the scan by one position.
func (o Ops) ScanStep(s StepArgs) {
	const op = "ScanStep"
	if len(s.State.Shape) != 3 {
		fail(op, "State has shape %v, want (B, D, N)", s.State.Shape)
	}
	b, d, n := s.State.Shape[0], s.State.Shape[1], s.State.Shape[2]
	need(op, "State", s.State, b, d, n)
	need(op, "U", s.U, b, d)
	need(op, "Delta", s.Delta, b, d)
	optional(op, "Z", s.Z, b, d)
	need(op, "A", s.A, d, n)
	need(op, "B", s.B, b, n)
	need(op, "C", s.C, b, n)
	optional(op, "D", s.D, d)
	optional(op, "DeltaBias", s.DeltaBias, d)
	need(op, "Out", s.Out, b, d)
	o.Backend.ScanStep(s)
}

func normDims(op string, x, w Tensor) (rows, dim int) {
	if len(x.Shape) < 1 {
		fail(op, "x is a scalar")
	}
	dim = x.Shape[len(x.Shape)-1]
	rows = x.Numel() / max(dim, 1)
	need(op, "x", x, x.Shape...)
	need(op, "w", w, dim)
	return
}

// RMSNorm validates shapes and normalises the rows of x.
func (o Ops) RMSNorm(out, rstd, x, w Tensor, eps float32) {
	rows, _ := normDims("RMSNorm", x, w)
	need("RMSNorm", "out", out, x.Shape...)
	need("RMSNorm", "rstd", rstd, rows)
	o.Backend.RMSNorm(out, rstd, x, w, eps)
}

// RMSNormBackward validates shapes and computes dx and dw.
func (o Ops) RMSNormBackward(dx, dw, dout, x, w, rstd Tensor, eps float32) {
	rows, dim := normDims("RMSNormBackward", x, w)
	need("RMSNormBackward", "dx", dx, x.Shape...)
	need("RMSNormBackward", "dw", dw, dim)
	need("RMSNormBackward", "dout", dout, x.Shape...)
	need("RMSNormBackward", "rstd", rstd, rows)
	o.Backend.RMSNormBackward(dx, dw, dout, x, w, rstd, eps)
}

// SiLU validates counts and applies x·σ(x).
func (o Ops) SiLU(out, x Tensor) { sameCount("SiLU", out, x); o.Backend.SiLU(out, x) }

// SiLUBackward validates counts and computes dx.
func (o Ops) SiLUBackward(dx, x, dout Tensor) {
	sameCount("SiLUBackward", dx, x)
	sameCount("SiLUBackward", dout, x)
	o.Backend.SiLUBackward(dx, x, dout)
}

// Softplus validates counts and applies log(1+exp(x)).
func (o Ops) Softplus(out, x Tensor) { sameCount("Softplus", out, x); o.Backend.Softplus(out, x) }

// SoftplusBackward validates counts and computes dx.
func (o Ops) SoftplusBackward(dx, x, dout Tensor) {
	sameCount("SoftplusBackward", dx, x)
	sameCount("SoftplusBackward", dout, x)
	o.Backend.SoftplusBackward(dx, x, dout)
}

func ceDims(op string, logits Tensor, targets []int32) int {
	if len(logits.Shape) != 2 {
		fail(op, "logits has shape %v, want (T, V)", logits.Shape)
	}
	need(op, "logits", logits, logits.Shape...)
	if len(targets) != logits.Shape[0] {
		fail(op, "%d targets for %d rows", len(targets), logits.Shape[0])
	}
	v := logits.Shape[1]
	for i, t := range targets {
		if int(t) >= v {
			fail(op, "target %d at row %d outside [0, %d)", t, i, v)
		}
	}
	return v
}

// CrossEntropy validates shapes and targets and computes per-row losses.
func (o Ops) CrossEntropy(losses, logits Tensor, targets []int32) {
	ceDims("CrossEntropy", logits, targets)
	need("CrossEntropy", "losses", losses, len(targets))
	o.Backend.CrossEntropy(losses, logits, targets)
}

// CrossEntropyBackward validates shapes and targets and computes dlogits.
func (o Ops) CrossEntropyBackward(dlogits, logits Tensor, targets []int32, scale float32) {
	ceDims("CrossEntropyBackward", logits, targets)
	need("CrossEntropyBackward", "dlogits", dlogits, logits.Shape...)
	o.Backend.CrossEntropyBackward(dlogits, logits, targets, scale)
}

// ArgmaxRows validates x (R, V), V ≥ 1, and returns the index of each
// row's largest value (Backend.ArgmaxRows).
func (o Ops) ArgmaxRows(x Tensor) []int32 {
	if len(x.Shape) != 2 || x.Shape[1] < 1 {
		fail("ArgmaxRows", "x has shape %v, want (rows, V) with V ≥ 1", x.Shape)
	}
	need("ArgmaxRows", "x", x, x.Shape...)
	dst := make([]int32, x.Shape[0])
	if len(dst) > 0 {
		o.Backend.ArgmaxRows(dst, x)
	}
	return dst
}

// AdamW validates shapes and hyperparameters and applies one AdamW step.
func (o Ops) AdamW(p, grad, m, v Tensor, a AdamWArgs) {
	const op = "AdamW"
	need(op, "p", p, p.Shape...)
	need(op, "grad", grad, p.Shape...)
	need(op, "m", m, p.Shape...)
	need(op, "v", v, p.Shape...)
	if a.Step < 1 || !(a.Beta1 >= 0 && a.Beta1 < 1) || !(a.Beta2 >= 0 && a.Beta2 < 1) || !(a.Eps > 0) || !(a.LR >= 0) {
		fail(op, "bad hyperparameters %+v", a)
	}
	o.Backend.AdamW(p, grad, m, v, a)
}

// SumSquares validates x and returns Σ x².
func (o Ops) SumSquares(x Tensor) float64 {
	need("SumSquares", "x", x, x.Shape...)
	return o.Backend.SumSquares(x)
}
