package ref

import "math"

// Scan holds the inputs of a selective scan in float64, with the semantics of
// core.Backend.SelectiveScan (mamba_ssm's selective_scan_fn). Optional inputs
// are nil.
type Scan struct {
	Bsz, D, L, N int // batch, channels, length, state size

	U, Delta  []float64 // (B, D, L)
	A         []float64 // (D, N)
	B, C      []float64 // (B, N, L)
	Dskip     []float64 // (D) the skip connection D, optional
	Z         []float64 // (B, D, L) optional
	DeltaBias []float64 // (D) optional
	Softplus  bool
	H0        []float64 // (B, D, N) optional
}

// delta returns δ for (b, d, t) and d δ / d delta.
func (s *Scan) delta(b, d, t int) (float64, float64) {
	v := s.Delta[(b*s.D+d)*s.L+t]
	if s.DeltaBias != nil {
		v += s.DeltaBias[d]
	}
	if s.Softplus {
		return Softplus(v), SoftplusGrad(v)
	}
	return v, 1
}

// states runs the recurrence for (b, d) and returns h_{-1}..h_{L-1} as
// (L+1, N) together with the pre-gate outputs y (L).
func (s *Scan) states(b, d int) (hs, y []float64) {
	N, L := s.N, s.L
	hs = make([]float64, (L+1)*N)
	if s.H0 != nil {
		copy(hs[:N], s.H0[(b*s.D+d)*N:(b*s.D+d+1)*N])
	}
	y = make([]float64, L)
	for t := 0; t < L; t++ {
		dt, _ := s.delta(b, d, t)
		u := s.U[(b*s.D+d)*L+t]
		prev, cur := hs[t*N:(t+1)*N], hs[(t+1)*N:(t+2)*N]
		for n := 0; n < N; n++ {
			cur[n] = math.Exp(dt*s.A[d*N+n])*prev[n] + dt*s.B[(b*N+n)*L+t]*u
			y[t] += s.C[(b*N+n)*L+t] * cur[n]
		}
		if s.Dskip != nil {
			y[t] += s.Dskip[d] * u
		}
	}
	return hs, y
}

// Forward returns out (B, D, L) and the final state (B, D, N).
func (s *Scan) Forward() (out, hLast []float64) {
	out = make([]float64, s.Bsz*s.D*s.L)
	hLast = make([]float64, s.Bsz*s.D*s.N)
	for b := 0; b < s.Bsz; b++ {
		for d := 0; d < s.D; d++ {
			hs, y := s.states(b, d)
			for t := 0; t < s.L; t++ {
				i := (b*s.D+d)*s.L + t
				out[i] = y[t]
				if s.Z != nil {
					out[i] *= SiLU(s.Z[i])
				}
			}
			copy(hLast[(b*s.D+d)*s.N:], hs[s.L*s.N:])
		}
	}
	return out, hLast
}

// Saved returns the states before positions 0, every, 2·every, … as
// core.ScanArgs.Saved holds them: (B, D, ⌈L/every⌉, N), entry c the state
// h_{c·every−1} (h_{-1} = H0 or 0).
func (s *Scan) Saved(every int) []float64 {
	C := (s.L + every - 1) / every
	out := make([]float64, s.Bsz*s.D*C*s.N)
	for b := 0; b < s.Bsz; b++ {
		for d := 0; d < s.D; d++ {
			hs, _ := s.states(b, d)
			for c := 0; c < C; c++ {
				copy(out[((b*s.D+d)*C+c)*s.N:], hs[c*every*s.N:(c*every+1)*s.N])
			}
		}
	}
	return out
}

// ScanGrads are the gradients of Σ out·dout + Σ hLast·dhLast with respect to
// every input of a Scan; those of absent optional inputs are nil.
type ScanGrads struct {
	U, Delta, A, B, C, Dskip, Z, DeltaBias, H0 []float64
}

// Backward returns the gradients for upstream dout (B, D, L) and dhLast
// (B, D, N, may be nil). It keeps every state: it is the readable oracle, not
// the memory-frugal kernel.
func (s *Scan) Backward(dout, dhLast []float64) ScanGrads {
	B, D, L, N := s.Bsz, s.D, s.L, s.N
	g := ScanGrads{
		U: make([]float64, B*D*L), Delta: make([]float64, B*D*L), A: make([]float64, D*N),
		B: make([]float64, B*N*L), C: make([]float64, B*N*L),
	}
	if s.Dskip != nil {
		g.Dskip = make([]float64, D)
	}
	if s.Z != nil {
		g.Z = make([]float64, B*D*L)
	}
	if s.DeltaBias != nil {
		g.DeltaBias = make([]float64, D)
	}
	if s.H0 != nil {
		g.H0 = make([]float64, B*D*N)
	}
	for b := 0; b < B; b++ {
		for d := 0; d < D; d++ {
			hs, y := s.states(b, d)
			// gh[n] is d loss / d h_t[n], carried backwards in t.
			gh := make([]float64, N)
			if dhLast != nil {
				copy(gh, dhLast[(b*D+d)*N:(b*D+d+1)*N])
			}
			for t := L - 1; t >= 0; t-- {
				i := (b*D+d)*L + t
				dy := dout[i]
				if s.Z != nil {
					g.Z[i] = dout[i] * y[t] * SiLUGrad(s.Z[i])
					dy = dout[i] * SiLU(s.Z[i])
				}
				u := s.U[i]
				dt, ddtdraw := s.delta(b, d, t)
				if s.Dskip != nil {
					g.Dskip[d] += dy * u
					g.U[i] += dy * s.Dskip[d]
				}
				prev, cur := hs[t*N:(t+1)*N], hs[(t+1)*N:(t+2)*N]
				ddt := 0.0
				for n := 0; n < N; n++ {
					bn, cn := s.B[(b*N+n)*L+t], s.C[(b*N+n)*L+t]
					a := math.Exp(dt * s.A[d*N+n])
					gh[n] += dy * cn
					g.C[(b*N+n)*L+t] += dy * cur[n]
					ddt += gh[n] * (s.A[d*N+n]*a*prev[n] + bn*u)
					g.A[d*N+n] += gh[n] * dt * a * prev[n]
					g.B[(b*N+n)*L+t] += gh[n] * dt * u
					g.U[i] += gh[n] * dt * bn
					gh[n] *= a
				}
				g.Delta[i] = ddt * ddtdraw
				if s.DeltaBias != nil {
					g.DeltaBias[d] += g.Delta[i]
				}
			}
			if s.H0 != nil {
				copy(g.H0[(b*D+d)*N:], gh)
			}
		}
	}
	return g
}

// ScanStep advances the scan by one position: state (B, D, N) holds h_{t-1}
// and receives h_t; u, delta, z, out (B, D); Bv, Cv (B, N); A (D, N);
// dskip, deltaBias (D) and z may be nil.
func ScanStep(state, u, delta, z, A, Bv, Cv, dskip, deltaBias, out []float64, B, D, N int, softplus bool) {
	for b := 0; b < B; b++ {
		for d := 0; d < D; d++ {
			dt := delta[b*D+d]
			if deltaBias != nil {
				dt += deltaBias[d]
			}
			if softplus {
				dt = Softplus(dt)
			}
			x := u[b*D+d]
			h := state[(b*D+d)*N : (b*D+d+1)*N]
			y := 0.0
			for n := 0; n < N; n++ {
				h[n] = math.Exp(dt*A[d*N+n])*h[n] + dt*Bv[b*N+n]*x
				y += Cv[b*N+n] * h[n]
			}
			if dskip != nil {
				y += dskip[d] * x
			}
			if z != nil {
				y *= SiLU(z[b*D+d])
			}
			out[b*D+d] = y
		}
	}
}
