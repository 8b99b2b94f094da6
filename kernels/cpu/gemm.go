package cpu

import (
	"math"
	"runtime"
	"sync"

	"github.com/mambakit/mambakit/core"
)

// GEMM blocking, in the manner of BLIS/GotoBLAS: C is computed in micro-tiles
// of mr × nr by a register-blocked micro-kernel that reads a packed panel of
// A (mr rows × kc) and one of B (kc × nr). A block of A (mc × kc) stays in L2
// while the B micro-panel (kc × nr, 16 KiB) stays in L1.
const (
	mr = 6
	nr = 16
	kc = 256
	mc = 96 // a multiple of mr
	nc = 4096
)

// Gemm implements core.Backend: for each batch i,
// C_i = Alpha·op(A_i)·op(B_i) + Beta·C_i (row-major; see core.GemmArgs).
// A bfloat16 B in a product of at most 4 rows (decode) is read as it is
// stored; other bfloat16 operands are widened into a scratch copy first.
func (*Backend) Gemm(g core.GemmArgs) {
	batch := max(g.Batch, 1)
	c := g.C.Host()
	if g.B.IsBF16() && !g.A.IsBF16() && g.M <= 4 && g.TransB && !g.TransA && g.K > 0 {
		a, b := g.A.Host(), g.B.BF16()
		for i := 0; i < batch; i++ {
			gemvRowsBF16(g.M, g.N, g.K, g.Alpha, a[i*g.StrideA:], b[i*g.StrideB:i*g.StrideB+g.N*g.K], g.Beta,
				c[i*g.StrideC:i*g.StrideC+g.M*g.N])
		}
		return
	}
	a, ownA := f32(g.A)
	b, ownB := f32(g.B)
	if ownA {
		defer putBuf(a)
	}
	if ownB {
		defer putBuf(b)
	}
	for i := 0; i < batch; i++ {
		var ai, bi []float32
		if g.K > 0 {
			ai, bi = a[i*g.StrideA:i*g.StrideA+g.M*g.K], b[i*g.StrideB:i*g.StrideB+g.K*g.N]
		}
		sgemm(g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, ai, bi, g.Beta, c[i*g.StrideC:i*g.StrideC+g.M*g.N])
	}
}

// sgemm computes one row-major product C = alpha·op(A)·op(B) + beta·C with
// contiguous operands (leading dimensions K or M for A, N or K for B, N for C).
// With beta = 0 the first k block stores into C instead of adding, so C is
// never cleared.
func sgemm(tA, tB bool, M, N, K int, alpha float32, a, b []float32, beta float32, c []float32) {
	if K == 0 || alpha == 0 {
		scaleC(c, beta)
		return
	}
	if M <= 4 && tB && !tA {
		gemvRows(M, N, K, alpha, a, b, beta, c)
		return
	}
	if beta != 0 {
		scaleC(c, beta)
	}
	workers := runtime.GOMAXPROCS(0)
	for jc := 0; jc < N; jc += nc {
		nb := min(nc, N-jc)
		for pc := 0; pc < K; pc += kc {
			kb := min(kc, K-pc)
			bp := getBuf(((nb + nr - 1) / nr) * nr * kb)
			packB(bp, b, tB, N, K, pc, kb, jc, nb)
			// Tasks: mc-row blocks of C × column strips of this block, enough
			// of them to keep every worker busy.
			mBlocks := (M + mc - 1) / mc
			strips := 1
			for mBlocks*strips < 2*workers && nb/(strips*2) >= nr {
				strips *= 2
			}
			stripW := ((nb+strips-1)/strips + nr - 1) / nr * nr
			tasks := mBlocks * strips
			parallelFor(tasks, 1, func(lo, hi int) {
				ap := getBuf(mc * kb)
				for t := lo; t < hi; t++ {
					ib, sb := t/strips, t%strips
					i0, mbk := ib*mc, min(mc, M-ib*mc)
					j0 := sb * stripW
					if j0 >= nb {
						continue
					}
					nbk := min(stripW, nb-j0)
					packA(ap, a, tA, M, K, i0, mbk, pc, kb, alpha)
					macroKernel(ap, bp[j0*kb:], c, N, i0, mbk, jc+j0, nbk, kb, beta == 0 && pc == 0)
				}
				putBuf(ap)
			})
			putBuf(bp)
		}
	}
}

// scaleC sets c = beta·c, and c = 0 when beta is 0 (ignoring NaN in c).
func scaleC(c []float32, beta float32) {
	switch beta {
	case 1:
	case 0:
		clear(c)
	default:
		for i := range c {
			c[i] *= beta
		}
	}
}

// packA copies alpha·op(A)[i0:i0+mb, p0:p0+kb] into panels of mr rows:
// dst[(panel·kb + p)·mr + r] = alpha·A(i0 + panel·mr + r, p0 + p), zero past M.
func packA(dst, a []float32, tA bool, M, K, i0, mb, p0, kb int, alpha float32) {
	for panel := 0; panel*mr < mb; panel++ {
		d := dst[panel*kb*mr : (panel+1)*kb*mr]
		rows := min(mr, mb-panel*mr)
		if tA && rows == mr { // A stored (K, M): six neighbours per p
			i := i0 + panel*mr
			for p := 0; p < kb; p++ {
				src := a[(p0+p)*M+i : (p0+p)*M+i+mr]
				dp := d[p*mr : p*mr+mr]
				for r, v := range src {
					dp[r] = alpha * v
				}
			}
			continue
		}
		for r := 0; r < mr; r++ {
			i := i0 + panel*mr + r
			if r >= rows {
				for p := 0; p < kb; p++ {
					d[p*mr+r] = 0
				}
				continue
			}
			if tA { // A stored (K, M)
				for p := 0; p < kb; p++ {
					d[p*mr+r] = alpha * a[(p0+p)*M+i]
				}
			} else {
				row := a[i*K+p0 : i*K+p0+kb]
				for p, v := range row {
					d[p*mr+r] = alpha * v
				}
			}
		}
	}
}

// packB copies op(B)[p0:p0+kb, j0:j0+nb] into panels of nr columns:
// dst[(panel·kb + p)·nr + j] = B(p0 + p, j0 + panel·nr + j), zero past N.
func packB(dst, b []float32, tB bool, N, K, p0, kb, j0, nb int) {
	panels := (nb + nr - 1) / nr
	parallelFor(panels, 8, func(lo, hi int) {
		for panel := lo; panel < hi; panel++ {
			d := dst[panel*kb*nr : (panel+1)*kb*nr]
			cols := min(nr, nb-panel*nr)
			jb := j0 + panel*nr
			if tB { // B stored (N, K)
				for j := 0; j < nr; j++ {
					if j >= cols {
						for p := 0; p < kb; p++ {
							d[p*nr+j] = 0
						}
						continue
					}
					col := b[(jb+j)*K+p0 : (jb+j)*K+p0+kb]
					for p, v := range col {
						d[p*nr+j] = v
					}
				}
			} else {
				for p := 0; p < kb; p++ {
					row := b[(p0+p)*N+jb : (p0+p)*N+jb+cols]
					copy(d[p*nr:p*nr+cols], row)
					for j := cols; j < nr; j++ {
						d[p*nr+j] = 0
					}
				}
			}
		}
	})
}

// macroKernel adds the product of a packed A block (mb rows) and packed B
// panels (nb columns) to C[i0:i0+mb, j0:j0+nb] (row stride ldc), or stores
// it there when store is set.
func macroKernel(ap, bp, c []float32, ldc, i0, mb, j0, nb, kb int, store bool) {
	var tmp [mr * nr]float32
	for jr := 0; jr < nb; jr += nr {
		cols := min(nr, nb-jr)
		bpanel := bp[jr*kb : jr*kb+kb*nr]
		for ir := 0; ir < mb; ir += mr {
			rows := min(mr, mb-ir)
			apanel := ap[ir*kb : ir*kb+kb*mr]
			off := (i0+ir)*ldc + j0 + jr
			if rows == mr && cols == nr {
				microKernel(kb, apanel, bpanel, c[off:], ldc, store)
				continue
			}
			microKernel(kb, apanel, bpanel, tmp[:], nr, true)
			for r := 0; r < rows; r++ {
				dst := c[off+r*ldc : off+r*ldc+cols]
				if store {
					copy(dst, tmp[r*nr:r*nr+cols])
					continue
				}
				for j := range dst {
					dst[j] += tmp[r*nr+j]
				}
			}
		}
	}
}

// microKernelGo is the portable micro-kernel:
// C[r][j] += Σ_p a[p·mr + r]·b[p·nr + j] for r < mr, j < nr (= when store).
func microKernelGo(k int, a, b, c []float32, ldc int, store bool) {
	var acc [mr][nr]float32
	for p := 0; p < k; p++ {
		bp := b[p*nr : p*nr+nr]
		ap := a[p*mr : p*mr+mr]
		for r := 0; r < mr; r++ {
			ar := ap[r]
			row := &acc[r]
			for j := 0; j < nr; j++ {
				row[j] += ar * bp[j]
			}
		}
	}
	for r := 0; r < mr; r++ {
		row := c[r*ldc : r*ldc+nr]
		if store {
			copy(row, acc[r][:])
			continue
		}
		for j := range row {
			row[j] += acc[r][j]
		}
	}
}

// gemvRows computes C[i, :] = alpha·A[i, :]·Bᵀ + beta·C[i, :] for the few
// rows of A when B is stored (N, K): one dot product per output, split over
// cores. This is the decode path (one token per sequence), bound by reading
// B once.
func gemvRows(M, N, K int, alpha float32, a, b []float32, beta float32, c []float32) {
	parallelFor(N, 64, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			bj := b[j*K : (j+1)*K]
			for i := 0; i < M; i++ {
				v := alpha * dot(a[i*K:(i+1)*K], bj)
				if beta != 0 {
					v += beta * c[i*N+j]
				}
				c[i*N+j] = v
			}
		}
	})
}

// gemvRowsBF16 is gemvRows with B stored as bfloat16, widened as it is read.
func gemvRowsBF16(M, N, K int, alpha float32, a []float32, b []uint16, beta float32, c []float32) {
	parallelFor(N, 64, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			bj := b[j*K : (j+1)*K]
			for i := 0; i < M; i++ {
				v := alpha * dotBF16(a[i*K:(i+1)*K], bj)
				if beta != 0 {
					v += beta * c[i*N+j]
				}
				c[i*N+j] = v
			}
		}
	})
}

// dotBF16Go is the portable Σ a[i]·widen(b[i]).
func dotBF16Go(a []float32, b []uint16) float32 {
	var s0, s1 float32
	n := len(a)
	b = b[:n]
	i := 0
	for ; i+2 <= n; i += 2 {
		s0 += a[i] * math.Float32frombits(uint32(b[i])<<16)
		s1 += a[i+1] * math.Float32frombits(uint32(b[i+1])<<16)
	}
	for ; i < n; i++ {
		s0 += a[i] * math.Float32frombits(uint32(b[i])<<16)
	}
	return s0 + s1
}

// axpyGo is the portable y += alpha·x.
func axpyGo(y, x []float32, alpha float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// dotGo is the portable dot product.
func dotGo(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a)
	b = b[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Scratch buffers for packing, reused across calls.
var bufPool sync.Pool

func getBuf(n int) []float32 {
	if p, ok := bufPool.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

func putBuf(b []float32) { bufPool.Put(&b) }
