//go:build !amd64 || purego

package cpu

func scanFwd(L, G int, rec, bc, state, y, ha []float32) { scanFwdGo(L, G, rec, bc, state, y, ha) }

func scanBwd(T, G int, rec, bc, ha, dbc, state, out []float32) {
	scanBwdGo(T, G, rec, bc, ha, dbc, state, out)
}

func softplusVec(dst, src []float32) { softplusVecGo(dst, src) }

func sigmoidVec(dst, src []float32) { sigmoidVecGo(dst, src) }

func expVec(dst, src []float32) {
	for i, x := range src {
		dst[i] = expf(x)
	}
}

func scanStepRow(dt, dtu float32, A, B, C, h []float32) float32 {
	return scanStepGo(dt, dtu, A, B, C, h)
}
