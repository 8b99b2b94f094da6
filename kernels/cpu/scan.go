package cpu

import (
	"runtime"

	"github.com/mambakit/mambakit/core"
)

// The scan kernels work on one channel (b, d) at a time, over state groups
// of 8 lanes (N is padded to Np = 8·G with zeros, which leave the result
// unchanged: a padded lane has A = 0, B = C = 0 and stays 0). Their data are
// interleaved so that one base register and one offset reach everything:
//
//	bc    (L, G, 16)  per position and group: B[n] (8 lanes), then C[n] (8 lanes)
//	state (G, 24)     per group: A[d, n], then h (forward) or dL/dh (backward), then dA
//	rec   (L, 4)      per position: δ, δ·u, dy, u
//	ha    (T+1, G, 16) per position of a chunk: h_t, then exp(δ_t·A); row 0 holds the
//	                   state before the chunk
//	dbc   (L, G, 16)  per position: dB, then dC (accumulated over channels)
const (
	lanes    = 8
	scanPos  = 4  // floats per rec entry
	bcGroup  = 16 // floats per group in bc, ha, dbc
	stGroup  = 24 // floats per group in state
	recDt    = 0
	recDtu   = 1
	recDy    = 2
	recU     = 3
	scanChnk = 64 // positions recomputed at once by the backward
)

// scanFwdGo runs the recurrence over L positions for one channel:
//
//	h[n] ← exp(δ_t·A[n])·h[n] + δ_t·u_t·B_t[n],   y[t] = Σ_n C_t[n]·h[n]
//
// reading δ_t and δ_t·u_t from rec, B and C from bc and A and h from state
// (h updated in place). When ha is not nil it also stores h_t and
// exp(δ_t·A) in rows 1..L of ha.
func scanFwdGo(L, G int, rec, bc, state, y, ha []float32) {
	for t := 0; t < L; t++ {
		dt, dtu := rec[t*scanPos+recDt], rec[t*scanPos+recDtu]
		var acc float32
		for g := 0; g < G; g++ {
			st := state[g*stGroup : (g+1)*stGroup]
			row := bc[(t*G+g)*bcGroup : (t*G+g+1)*bcGroup]
			for l := 0; l < lanes; l++ {
				a := expf(dt * st[l])
				h := a*st[lanes+l] + dtu*row[l]
				st[lanes+l] = h
				acc += h * row[lanes+l]
				if ha != nil {
					o := ((t+1)*G + g) * bcGroup
					ha[o+l], ha[o+lanes+l] = h, a
				}
			}
		}
		y[t] = acc
	}
}

// scanBwdGo walks a chunk of T positions backwards for one channel, given
// its states and decays in ha (row t+1 for position t, row 0 the state
// before the chunk) and dL/dh after the chunk in state's middle slot:
//
//	g     = g + dy_t·C_t                       (now dL/dh_t)
//	dC_t += dy_t·h_t,  dB_t += g·δ_t·u_t,  dA += g·δ_t·a_t·h_{t−1}
//	ddt[t] = Σ g·(A·a_t·h_{t−1} + B_t·u_t),    dub[t] = Σ g·B_t
//	g     = g·a_t                               (dL/dh_{t−1})
//
// out holds (ddt, dub) per position.
func scanBwdGo(T, G int, rec, bc, ha, dbc, state, out []float32) {
	for t := T - 1; t >= 0; t-- {
		dt, dtu, dy, u := rec[t*scanPos+recDt], rec[t*scanPos+recDtu], rec[t*scanPos+recDy], rec[t*scanPos+recU]
		var accDdt, accDu float32
		for g := 0; g < G; g++ {
			st := state[g*stGroup : (g+1)*stGroup]
			row := bc[(t*G+g)*bcGroup : (t*G+g+1)*bcGroup]
			cur := ha[((t+1)*G+g)*bcGroup : ((t+1)*G+g+1)*bcGroup]
			prev := ha[(t*G+g)*bcGroup : (t*G+g+1)*bcGroup]
			d := dbc[(t*G+g)*bcGroup : (t*G+g+1)*bcGroup]
			for l := 0; l < lanes; l++ {
				gn := st[lanes+l] + dy*row[lanes+l]
				d[lanes+l] += dy * cur[l]
				a := cur[lanes+l]
				ah := a * prev[l]
				accDdt += gn * (st[l]*ah + row[l]*u)
				st[2*lanes+l] += gn * ah * dt
				d[l] += gn * dtu
				accDu += gn * row[l]
				st[lanes+l] = gn * a
			}
		}
		out[2*t], out[2*t+1] = accDdt, accDu
	}
}

// scanView holds a scan's inputs with B and C interleaved per batch.
type scanView struct {
	B, D, L, N, G int
	u, delta      []float32 // (B, D, L)
	A             []float32 // (D, N)
	bc            []float32 // (B, L, G, 16)
	dskip, z      []float32 // (D), (B, D, L); nil if absent
	deltaBias, h0 []float32 // (D), (B, D, N); nil if absent
	softplus      bool
}

func newScanView(s core.ScanArgs) *scanView {
	v := &scanView{
		B: s.U.Shape[0], D: s.U.Shape[1], L: s.U.Shape[2], N: s.A.Shape[1],
		u: s.U.Host(), delta: s.Delta.Host(), A: s.A.Host(),
		dskip: hostOrNil(s.D), z: hostOrNil(s.Z), deltaBias: hostOrNil(s.DeltaBias), h0: hostOrNil(s.H0),
		softplus: s.DeltaSoftplus,
	}
	v.G = (v.N + lanes - 1) / lanes
	v.bc = make([]float32, v.B*v.L*v.G*bcGroup)
	Bs, Cs := s.B.Host(), s.C.Host()
	B, L, N, G := v.B, v.L, v.N, v.G
	parallelFor(B*N, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, n := r/N, r%N
			g, l := n/lanes, n%lanes
			src, srcC := Bs[r*L:(r+1)*L], Cs[r*L:(r+1)*L]
			base := b * L * G * bcGroup
			for t := 0; t < L; t++ {
				o := base + (t*G+g)*bcGroup + l
				v.bc[o] = src[t]
				v.bc[o+lanes] = srcC[t]
			}
		}
	})
	return v
}

// channel is one worker's scratch for a channel's scan.
type channel struct {
	rec   []float32 // (L, 4)
	state []float32 // (G, 24)
	y     []float32 // (L) or (T) outputs
	sp    []float32 // (L) d δ / d delta
}

func (v *scanView) newChannel() *channel {
	return &channel{rec: make([]float32, v.L*scanPos), state: make([]float32, v.G*stGroup),
		y: make([]float32, max(v.L, 2*scanChnk)), sp: make([]float32, v.L)}
}

// load fills c.rec's δ, δ·u and u for channel (b, d), A into the state and
// h0 (or zeros) into its middle slot, and with grad the derivative of δ in
// c.sp.
func (v *scanView) load(c *channel, b, d int, grad bool) {
	r := b*v.D + d
	u, delta := v.u[r*v.L:(r+1)*v.L], v.delta[r*v.L:(r+1)*v.L]
	var bias float32
	if v.deltaBias != nil {
		bias = v.deltaBias[d]
	}
	for t := range delta {
		c.sp[t] = delta[t] + bias
	}
	if v.softplus {
		// sp holds the argument; δ = softplus(arg), dδ/darg = σ(arg).
		for t, x := range c.sp {
			c.rec[t*scanPos+recDt] = x
		}
		softplusVec(c.y[:v.L], c.sp)
		if grad {
			sigmoidVec(c.sp, c.sp)
		}
		for t := range c.sp {
			if grad && c.rec[t*scanPos+recDt] > 20 {
				c.sp[t] = 1
			}
			c.rec[t*scanPos+recDt] = c.y[t]
		}
	} else {
		for t, x := range c.sp {
			c.rec[t*scanPos+recDt] = x
			c.sp[t] = 1
		}
	}
	for t := range u {
		c.rec[t*scanPos+recDtu] = c.rec[t*scanPos+recDt] * u[t]
		c.rec[t*scanPos+recU] = u[t]
	}
	clear(c.state)
	for n := 0; n < v.N; n++ {
		g, l := n/lanes, n%lanes
		c.state[g*stGroup+l] = v.A[d*v.N+n]
		if v.h0 != nil {
			c.state[g*stGroup+lanes+l] = v.h0[r*v.N+n]
		}
	}
}

// stateOut copies the state's middle slot (h or dL/dh) to dst (N).
func (v *scanView) stateOut(c *channel, dst []float32) {
	for n := range dst {
		dst[n] = c.state[(n/lanes)*stGroup+lanes+n%lanes]
	}
}

// SelectiveScan implements core.Backend; see its formula there. Channels
// (b, d) run in parallel.
func (be *Backend) SelectiveScan(s core.ScanArgs) {
	if s.IsBF16() {
		be.selectiveScanBF16(s)
		return
	}
	v := newScanView(s)
	out, hLast := s.Out.Host(), hostOrNil(s.HLast)
	B, D, L, N := v.B, v.D, v.L, v.N
	parallelFor(B*D, 1, func(lo, hi int) {
		c := v.newChannel()
		for r := lo; r < hi; r++ {
			b, d := r/D, r%D
			v.load(c, b, d, false)
			scanFwd(L, v.G, c.rec, v.bc[b*L*v.G*bcGroup:], c.state, c.y, nil)
			o, u := out[r*L:(r+1)*L], v.u[r*L:(r+1)*L]
			copy(o, c.y[:L])
			if v.dskip != nil {
				dk := v.dskip[d]
				for t := range o {
					o[t] += dk * u[t]
				}
			}
			if v.z != nil {
				z := v.z[r*L : (r+1)*L]
				siluMul(o, z)
			}
			if hLast != nil {
				v.stateOut(c, hLast[r*N:(r+1)*N])
			}
		}
	})
}

// ScanSaves implements core.Backend: false, the CPU backward recomputes its
// checkpoints (whether keeping the forward's states would pay on the CPU is
// not measured).
func (*Backend) ScanSaves(B, D, L, N int) bool { return false }

// scanScratch is one worker's memory for the backward.
type scanScratch struct {
	*channel
	ckpt []float32 // (chunks, G, 8) h before each chunk
	ha   []float32 // (scanChnk+1, G, 16)
	dbc  []float32 // (L, G, 16) this worker's dB, dC for the current batch
	tmp  []float32 // (L) σ(z)
	ys   []float32 // (L) pre-gate outputs
	hst  []float32 // (G, 24) state for recomputing a chunk
}

// SelectiveScanBackward implements core.Backend. Per batch b the channels
// are split among workers. Each first runs the recurrence forward keeping
// only the state at chunk boundaries, then walks the chunks backwards,
// recomputing each chunk's states and decays from its boundary. dB and dC,
// which sum over channels, are gathered per worker and reduced per batch.
// Memory: O(L·N) per worker, never B·D·L·N.
func (be *Backend) SelectiveScanBackward(s core.ScanArgs, g core.ScanGrads) {
	if s.IsBF16() {
		be.selectiveScanBackwardBF16(s, g)
		return
	}
	v := newScanView(s)
	B, D, L, N, G := v.B, v.D, v.L, v.N, v.G
	dout := g.DOut.Host()
	dhLast := hostOrNil(g.DHLast)
	du, ddelta := hostOrNil(g.DU), hostOrNil(g.DDelta)
	dAout, dDout, dzOut := hostOrNil(g.DA), hostOrNil(g.DD), hostOrNil(g.DZ)
	dbias, dh0 := hostOrNil(g.DDeltaBias), hostOrNil(g.DH0)
	dBout, dCout := hostOrNil(g.DB), hostOrNil(g.DC)
	chunks := (L + scanChnk - 1) / scanChnk
	workers := min(runtime.GOMAXPROCS(0), D)
	scratch := make([]*scanScratch, workers)
	for w := range scratch {
		scratch[w] = &scanScratch{channel: v.newChannel(), ckpt: make([]float32, chunks*G*lanes),
			ha: make([]float32, (scanChnk+1)*G*bcGroup), dbc: make([]float32, L*G*bcGroup),
			tmp: make([]float32, L), ys: make([]float32, L), hst: make([]float32, G*stGroup)}
	}
	for b := 0; b < B; b++ {
		bc := v.bc[b*L*G*bcGroup : (b+1)*L*G*bcGroup]
		used := parallelWorkers(D, func(w, lo, hi int) {
			sc := scratch[w]
			clear(sc.dbc)
			for d := lo; d < hi; d++ {
				r := b*D + d
				v.load(sc.channel, b, d, true)
				u := v.u[r*L : (r+1)*L]
				// Forward: keep the state before each chunk.
				for c := 0; c < chunks; c++ {
					for gi := 0; gi < G; gi++ {
						copy(sc.ckpt[(c*G+gi)*lanes:(c*G+gi+1)*lanes], sc.state[gi*stGroup+lanes:gi*stGroup+2*lanes])
					}
					t0, t1 := c*scanChnk, min(L, (c+1)*scanChnk)
					scanFwd(t1-t0, G, sc.rec[t0*scanPos:], bc[t0*G*bcGroup:], sc.state, sc.ys[t0:t1], nil)
				}
				// Output gradient before the gate: dy = dout·SiLU(z), and
				// dz = dout·y·SiLU'(z) with y = scan + D·u.
				dy := sc.tmp
				o := dout[r*L : (r+1)*L]
				if v.dskip != nil {
					dk := v.dskip[d]
					for t := range sc.ys {
						sc.ys[t] += dk * u[t]
					}
				}
				if v.z != nil {
					z := v.z[r*L : (r+1)*L]
					sigmoidVec(dy, z)
					for t, sg := range dy {
						zt := z[t]
						if dzOut != nil {
							dzOut[r*L+t] = o[t] * sc.ys[t] * sg * (1 + zt*(1-sg))
						}
						dy[t] = o[t] * zt * sg
					}
				} else {
					copy(dy, o)
				}
				var dD float32
				for t := 0; t < L; t++ {
					sc.rec[t*scanPos+recDy] = dy[t]
					dD += dy[t] * u[t]
				}
				// dL/dh after the last position.
				for gi := 0; gi < G; gi++ {
					st := sc.state[gi*stGroup : (gi+1)*stGroup]
					clear(st[lanes:])
				}
				if dhLast != nil {
					for n := 0; n < N; n++ {
						sc.state[(n/lanes)*stGroup+lanes+n%lanes] = dhLast[r*N+n]
					}
				}
				var dBias float32
				hState := sc.hst
				for c := chunks - 1; c >= 0; c-- {
					t0, t1 := c*scanChnk, min(L, (c+1)*scanChnk)
					// Recompute h and exp(δA) inside the chunk from its
					// boundary, in a state of its own (A, h).
					for gi := 0; gi < G; gi++ {
						copy(hState[gi*stGroup:gi*stGroup+lanes], sc.state[gi*stGroup:gi*stGroup+lanes])
						copy(hState[gi*stGroup+lanes:gi*stGroup+2*lanes], sc.ckpt[(c*G+gi)*lanes:(c*G+gi+1)*lanes])
						copy(sc.ha[gi*bcGroup:gi*bcGroup+lanes], sc.ckpt[(c*G+gi)*lanes:(c*G+gi+1)*lanes])
					}
					scanFwd(t1-t0, G, sc.rec[t0*scanPos:], bc[t0*G*bcGroup:], hState, sc.y, sc.ha)
					scanBwd(t1-t0, G, sc.rec[t0*scanPos:], bc[t0*G*bcGroup:], sc.ha, sc.dbc[t0*G*bcGroup:], sc.state, sc.y)
					for t := t0; t < t1; t++ {
						ddt, dub := sc.y[2*(t-t0)], sc.y[2*(t-t0)+1]
						ddraw := ddt * sc.sp[t]
						if ddelta != nil {
							ddelta[r*L+t] = ddraw
						}
						dBias += ddraw
						if du != nil {
							dui := sc.rec[t*scanPos+recDt] * dub
							if v.dskip != nil {
								dui += dy[t] * v.dskip[d]
							}
							du[r*L+t] = dui
						}
					}
				}
				for n := 0; n < N; n++ {
					gi, l := n/lanes, n%lanes
					if dAout != nil {
						dAout[d*N+n] += sc.state[gi*stGroup+2*lanes+l]
					}
					if dh0 != nil {
						dh0[r*N+n] = sc.state[gi*stGroup+lanes+l]
					}
				}
				if dDout != nil {
					dDout[d] += dD
				}
				if dbias != nil {
					dbias[d] += dBias
				}
			}
		})
		// Reduce the workers' dB, dC into (N, L).
		parallelFor(N, 1, func(lo, hi int) {
			for n := lo; n < hi; n++ {
				gi, l := n/lanes, n%lanes
				var dBrow, dCrow []float32
				if dBout != nil {
					dBrow = dBout[(b*N+n)*L : (b*N+n+1)*L]
					clear(dBrow)
				}
				if dCout != nil {
					dCrow = dCout[(b*N+n)*L : (b*N+n+1)*L]
					clear(dCrow)
				}
				for w := 0; w < used; w++ {
					d := scratch[w].dbc
					for t := 0; t < L; t++ {
						o := (t*G+gi)*bcGroup + l
						if dBrow != nil {
							dBrow[t] += d[o]
						}
						if dCrow != nil {
							dCrow[t] += d[o+lanes]
						}
					}
				}
			}
		})
	}
}

// siluMul sets o[t] *= z[t]·σ(z[t]).
func siluMul(o, z []float32) {
	var buf [256]float32
	for i := 0; i < len(o); i += len(buf) {
		n := min(len(buf), len(o)-i)
		sigmoidVec(buf[:n], z[i:i+n])
		for j := 0; j < n; j++ {
			o[i+j] *= z[i+j] * buf[j]
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
				dt = softplusf(dt)
			}
			x := u[r]
			y := scanStepRow(dt, dt*x, A[d*N:(d+1)*N], Bv[b*N:(b+1)*N], Cv[b*N:(b+1)*N], st[r*N:(r+1)*N])
			if dskip != nil {
				y += dskip[d] * x
			}
			if z != nil {
				y *= z[r] * sigmoidf(z[r])
			}
			out[r] = y
		}
	})
}

// scanStepGo is the portable one-position update of one channel:
// h[n] = exp(dt·A[n])·h[n] + dtu·B[n], returning Σ C[n]·h[n].
func scanStepGo(dt, dtu float32, A, B, C, h []float32) float32 {
	var y float32
	for n := range h {
		h[n] = expf(dt*A[n])*h[n] + dtu*B[n]
		y += C[n] * h[n]
	}
	return y
}
