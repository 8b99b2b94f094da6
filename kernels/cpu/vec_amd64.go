//go:build amd64 && !purego

package cpu

//go:noescape
func expAVX(dst, src *float32, n int)

//go:noescape
func sigmoidAVX(dst, src *float32, n int)

//go:noescape
func softplusAVX(dst, src *float32, n int)

//go:noescape
func scanFwdAVX(L, G int, rec, bc, state, y *float32)

//go:noescape
func scanFwdStoreAVX(L, G int, rec, bc, state, y, ha *float32)

//go:noescape
func scanBwdAVX(T, G int, rec, bc, ha, dbc, state, out *float32)

// scanFwd runs scanFwdGo's recurrence (with AVX2 where available).
func scanFwd(L, G int, rec, bc, state, y, ha []float32) {
	if !hasAVX2FMA || L == 0 {
		scanFwdGo(L, G, rec, bc, state, y, ha)
		return
	}
	_ = rec[L*scanPos-1]
	_ = bc[L*G*bcGroup-1]
	_ = state[G*stGroup-1]
	_ = y[L-1]
	if ha == nil {
		scanFwdAVX(L, G, &rec[0], &bc[0], &state[0], &y[0])
		return
	}
	_ = ha[(L+1)*G*bcGroup-1]
	scanFwdStoreAVX(L, G, &rec[0], &bc[0], &state[0], &y[0], &ha[0])
}

// scanBwd runs scanBwdGo's backward walk (with AVX2 where available).
func scanBwd(T, G int, rec, bc, ha, dbc, state, out []float32) {
	if !hasAVX2FMA || T == 0 {
		scanBwdGo(T, G, rec, bc, ha, dbc, state, out)
		return
	}
	_ = rec[T*scanPos-1]
	_ = bc[T*G*bcGroup-1]
	_ = ha[(T+1)*G*bcGroup-1]
	_ = dbc[T*G*bcGroup-1]
	_ = state[G*stGroup-1]
	_ = out[2*T-1]
	scanBwdAVX(T, G, &rec[0], &bc[0], &ha[0], &dbc[0], &state[0], &out[0])
}

// vec applies an 8-lane kernel to the multiple-of-8 head of src and a
// scalar function to the tail.
func vec(dst, src []float32, k func(dst, src *float32, n int), f func(float32) float32) {
	n := len(src)
	dst = dst[:n]
	head := n &^ 7
	if hasAVX2FMA && head > 0 {
		k(&dst[0], &src[0], head)
	} else {
		head = 0
	}
	for i := head; i < n; i++ {
		dst[i] = f(src[i])
	}
}

func softplusVec(dst, src []float32) { vec(dst, src, softplusAVX, softplusf) }

func sigmoidVec(dst, src []float32) { vec(dst, src, sigmoidAVX, sigmoidf) }

func expVec(dst, src []float32) { vec(dst, src, expAVX, expf) }

//go:noescape
func scanStepAVX(n int, dt, dtu float32, A, B, C, h *float32) float32

// scanStepRow advances one channel's state h by one position and returns
// Σ C·h (see scanStepGo).
func scanStepRow(dt, dtu float32, A, B, C, h []float32) float32 {
	n8 := len(h) &^ 7
	var y float32
	if hasAVX2FMA && n8 > 0 {
		y = scanStepAVX(n8, dt, dtu, &A[0], &B[0], &C[0], &h[0])
	} else {
		n8 = 0
	}
	return y + scanStepGo(dt, dtu, A[n8:], B[n8:], C[n8:], h[n8:])
}
