package cpu

import (
	"runtime"

	"github.com/mambakit/mambakit/core"
)

// scanChunk is the number of positions whose states the backward holds at
// once. The backward keeps one state per chunk boundary and recomputes the
// states inside a chunk, so its scratch per channel is (L/scanChunk + scanChunk)·N.
const scanChunk = 64

// scanView holds the host slices of a scan's inputs, with B and C transposed
// to (B, L, N) so that the N values of one position are contiguous.
type scanView struct {
	B, D, L, N    int
	u, delta      []float32 // (B, D, L)
	A             []float32 // (D, N)
	bT, cT        []float32 // (B, L, N)
	dskip, z      []float32 // (D), (B, D, L); nil if absent
	deltaBias, h0 []float32 // (D), (B, D, N); nil if absent
	softplus      bool
}

// transposeNL writes src (B, N, L) as dst (B, L, N).
func transposeNL(dst, src []float32, B, N, L int) {
	for b := 0; b < B; b++ {
		s, d := src[b*N*L:(b+1)*N*L], dst[b*L*N:(b+1)*L*N]
		for n := 0; n < N; n++ {
			for t := 0; t < L; t++ {
				d[t*N+n] = s[n*L+t]
			}
		}
	}
}

// transposeLN adds src (L, N) into dst (N, L) for one batch.
func addTransposeLN(dst, src []float32, N, L int) {
	for t := 0; t < L; t++ {
		for n := 0; n < N; n++ {
			dst[n*L+t] += src[t*N+n]
		}
	}
}

func newScanView(s core.ScanArgs) *scanView {
	v := &scanView{
		B: s.U.Shape[0], D: s.U.Shape[1], L: s.U.Shape[2], N: s.A.Shape[1],
		u: s.U.Host(), delta: s.Delta.Host(), A: s.A.Host(),
		dskip: hostOrNil(s.D), z: hostOrNil(s.Z), deltaBias: hostOrNil(s.DeltaBias), h0: hostOrNil(s.H0),
		softplus: s.DeltaSoftplus,
	}
	v.bT = make([]float32, v.B*v.L*v.N)
	v.cT = make([]float32, v.B*v.L*v.N)
	transposeNL(v.bT, s.B.Host(), v.B, v.N, v.L)
	transposeNL(v.cT, s.C.Host(), v.B, v.N, v.L)
	return v
}

// dt returns δ and d δ / d delta at flat index i of (B, D, L) in channel d.
func (v *scanView) dt(i, d int) (float32, float32) {
	x := v.delta[i]
	if v.deltaBias != nil {
		x += v.deltaBias[d]
	}
	if v.softplus {
		return softplus32(x), softplusGrad32(x)
	}
	return x, 1
}

// SelectiveScan implements core.Backend; see its formula there. Channels
// (b, d) run in parallel; each keeps its N-element state in a local slice.
func (*Backend) SelectiveScan(s core.ScanArgs) {
	v := newScanView(s)
	out, hLast := s.Out.Host(), hostOrNil(s.HLast)
	B, D, L, N := v.B, v.D, v.L, v.N
	parallelFor(B*D, 1, func(lo, hi int) {
		h := make([]float32, N)
		for r := lo; r < hi; r++ {
			b, d := r/D, r%D
			if v.h0 != nil {
				copy(h, v.h0[r*N:(r+1)*N])
			} else {
				clear(h)
			}
			A := v.A[d*N : (d+1)*N]
			for t := 0; t < L; t++ {
				i := r*L + t
				dt, _ := v.dt(i, d)
				du := dt * v.u[i]
				bt, ct := v.bT[(b*L+t)*N:(b*L+t+1)*N], v.cT[(b*L+t)*N:(b*L+t+1)*N]
				var y float32
				for n := range h {
					h[n] = exp32(dt*A[n])*h[n] + du*bt[n]
					y += ct[n] * h[n]
				}
				if v.dskip != nil {
					y += v.dskip[d] * v.u[i]
				}
				if v.z != nil {
					y *= silu32(v.z[i])
				}
				out[i] = y
			}
			if hLast != nil {
				copy(hLast[r*N:(r+1)*N], h)
			}
		}
	})
}

// scanScratch is one worker's memory for the backward.
type scanScratch struct {
	ckpt   []float32 // (chunks, N) state before each chunk
	hs, as []float32 // (scanChunk, N) states and exp(δA) inside the chunk
	ys     []float32 // (scanChunk) pre-gate outputs
	dts    []float32 // (scanChunk) δ
	g      []float32 // (N) d loss / d h, carried backwards
	dA     []float32 // (N)
	dBT    []float32 // (L, N) this worker's share of dB for the current batch
	dCT    []float32 // (L, N)
}

// SelectiveScanBackward implements core.Backend. Per batch b, the channels
// are split among workers; each worker first runs the recurrence forward,
// keeping only the state at chunk boundaries, then walks the chunks
// backwards, recomputing the chunk's states from its boundary and
// propagating d loss / d h. dB and dC, which sum over channels, are gathered
// per worker and reduced at the end of each batch.
func (*Backend) SelectiveScanBackward(s core.ScanArgs, g core.ScanGrads) {
	v := newScanView(s)
	B, D, L, N := v.B, v.D, v.L, v.N
	dout := g.DOut.Host()
	dhLast := hostOrNil(g.DHLast)
	du, ddelta := hostOrNil(g.DU), hostOrNil(g.DDelta)
	dAout, dDout, dzOut := hostOrNil(g.DA), hostOrNil(g.DD), hostOrNil(g.DZ)
	dbias, dh0 := hostOrNil(g.DDeltaBias), hostOrNil(g.DH0)
	dBout, dCout := hostOrNil(g.DB), hostOrNil(g.DC)
	if dBout != nil {
		clear(dBout)
	}
	if dCout != nil {
		clear(dCout)
	}
	chunks := (L + scanChunk - 1) / scanChunk
	workers := min(runtime.GOMAXPROCS(0), D)
	scratch := make([]*scanScratch, workers)
	for w := range scratch {
		scratch[w] = &scanScratch{
			ckpt: make([]float32, chunks*N), hs: make([]float32, scanChunk*N), as: make([]float32, scanChunk*N),
			ys: make([]float32, scanChunk), dts: make([]float32, scanChunk), g: make([]float32, N), dA: make([]float32, N),
			dBT: make([]float32, L*N), dCT: make([]float32, L*N),
		}
	}
	for b := 0; b < B; b++ {
		used := parallelWorkers(D, func(w, lo, hi int) {
			sc := scratch[w]
			clear(sc.dBT)
			clear(sc.dCT)
			for d := lo; d < hi; d++ {
				r := b*D + d
				A := v.A[d*N : (d+1)*N]
				bT, cT := v.bT[b*L*N:(b+1)*L*N], v.cT[b*L*N:(b+1)*L*N]
				// Forward, keeping the state before each chunk.
				h := sc.g // borrow g as the running state
				if v.h0 != nil {
					copy(h, v.h0[r*N:(r+1)*N])
				} else {
					clear(h)
				}
				for c := 0; c < chunks; c++ {
					copy(sc.ckpt[c*N:(c+1)*N], h)
					for t := c * scanChunk; t < min(L, (c+1)*scanChunk); t++ {
						i := r*L + t
						dt, _ := v.dt(i, d)
						du := dt * v.u[i]
						bt := bT[t*N : (t+1)*N]
						for n := range h {
							h[n] = exp32(dt*A[n])*h[n] + du*bt[n]
						}
					}
				}
				// Backward over chunks.
				gh := sc.g
				if dhLast != nil {
					copy(gh, dhLast[r*N:(r+1)*N])
				} else {
					clear(gh)
				}
				dA := sc.dA
				clear(dA)
				var dD, dBias float32
				for c := chunks - 1; c >= 0; c-- {
					t0, t1 := c*scanChunk, min(L, (c+1)*scanChunk)
					// Recompute states, decays and outputs inside the chunk.
					prev := sc.ckpt[c*N : (c+1)*N]
					for t := t0; t < t1; t++ {
						i, j := r*L+t, t-t0
						dt, _ := v.dt(i, d)
						sc.dts[j] = dt
						du := dt * v.u[i]
						bt, ct := bT[t*N:(t+1)*N], cT[t*N:(t+1)*N]
						cur, as := sc.hs[j*N:(j+1)*N], sc.as[j*N:(j+1)*N]
						var y float32
						for n := range cur {
							a := exp32(dt * A[n])
							as[n] = a
							cur[n] = a*prev[n] + du*bt[n]
							y += ct[n] * cur[n]
						}
						if v.dskip != nil {
							y += v.dskip[d] * v.u[i]
						}
						sc.ys[j] = y
						prev = cur
					}
					for t := t1 - 1; t >= t0; t-- {
						i, j := r*L+t, t-t0
						u := v.u[i]
						dy := dout[i]
						if v.z != nil {
							zi := v.z[i]
							if dzOut != nil {
								dzOut[i] = dout[i] * sc.ys[j] * siluGrad32(zi)
							}
							dy = dout[i] * silu32(zi)
						}
						var dui float32
						if v.dskip != nil {
							dD += dy * u
							dui = dy * v.dskip[d]
						}
						var hp []float32
						if j > 0 {
							hp = sc.hs[(j-1)*N : j*N]
						} else {
							hp = sc.ckpt[c*N : (c+1)*N]
						}
						cur, as := sc.hs[j*N:(j+1)*N], sc.as[j*N:(j+1)*N]
						bt, ct := bT[t*N:(t+1)*N], cT[t*N:(t+1)*N]
						dbt, dct := sc.dBT[t*N:(t+1)*N], sc.dCT[t*N:(t+1)*N]
						dt := sc.dts[j]
						var ddt float32
						for n := range gh {
							gn := gh[n] + dy*ct[n]
							dct[n] += dy * cur[n]
							ah := as[n] * hp[n]
							ddt += gn * (A[n]*ah + bt[n]*u)
							dA[n] += gn * dt * ah
							dbt[n] += gn * dt * u
							dui += gn * dt * bt[n]
							gh[n] = gn * as[n]
						}
						_, dsp := v.dt(i, d)
						ddraw := ddt * dsp
						if ddelta != nil {
							ddelta[i] = ddraw
						}
						dBias += ddraw
						if du != nil {
							du[i] = dui
						}
					}
				}
				if dAout != nil {
					for n := range dA {
						dAout[d*N+n] += dA[n]
					}
				}
				if dDout != nil {
					dDout[d] += dD
				}
				if dbias != nil {
					dbias[d] += dBias
				}
				if dh0 != nil {
					copy(dh0[r*N:(r+1)*N], gh)
				}
			}
		})
		for w := 0; w < used; w++ {
			if dBout != nil {
				addTransposeLN(dBout[b*N*L:(b+1)*N*L], scratch[w].dBT, N, L)
			}
			if dCout != nil {
				addTransposeLN(dCout[b*N*L:(b+1)*N*L], scratch[w].dCT, N, L)
			}
		}
	}
}

// ScanStep implements core.Backend: one position of SelectiveScan, with the
// state read as h_{t-1} and overwritten with h_t.
func (*Backend) ScanStep(s core.StepArgs) {
	B, D, N := s.State.Shape[0], s.State.Shape[1], s.State.Shape[2]
	st, u, delta, z := s.State.Host(), s.U.Host(), s.Delta.Host(), hostOrNil(s.Z)
	A, Bv, Cv, dskip, bias, out := s.A.Host(), s.B.Host(), s.C.Host(), hostOrNil(s.D), hostOrNil(s.DeltaBias), s.Out.Host()
	parallelFor(B*D, 64, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, d := r/D, r%D
			dt := delta[r]
			if bias != nil {
				dt += bias[d]
			}
			if s.DeltaSoftplus {
				dt = softplus32(dt)
			}
			x := u[r]
			h, a := st[r*N:(r+1)*N], A[d*N:(d+1)*N]
			bv, cv := Bv[b*N:(b+1)*N], Cv[b*N:(b+1)*N]
			var y float32
			for n := range h {
				h[n] = exp32(dt*a[n])*h[n] + dt*bv[n]*x
				y += cv[n] * h[n]
			}
			if dskip != nil {
				y += dskip[d] * x
			}
			if z != nil {
				y *= silu32(z[r])
			}
			out[r] = y
		}
	})
}
