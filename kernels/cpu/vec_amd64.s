//go:build amd64 && !purego

#include "textflag.h"

// Constants, each broadcast over 8 lanes (32 bytes).
DATA vconst<>+0(SB)/8, $0x42b0c0a542b0c0a5
DATA vconst<>+8(SB)/8, $0x42b0c0a542b0c0a5
DATA vconst<>+16(SB)/8, $0x42b0c0a542b0c0a5
DATA vconst<>+24(SB)/8, $0x42b0c0a542b0c0a5
DATA vconst<>+32(SB)/8, $0xc2aeac4fc2aeac4f
DATA vconst<>+40(SB)/8, $0xc2aeac4fc2aeac4f
DATA vconst<>+48(SB)/8, $0xc2aeac4fc2aeac4f
DATA vconst<>+56(SB)/8, $0xc2aeac4fc2aeac4f
DATA vconst<>+64(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA vconst<>+72(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA vconst<>+80(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA vconst<>+88(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA vconst<>+96(SB)/8, $0x3f3180003f318000
DATA vconst<>+104(SB)/8, $0x3f3180003f318000
DATA vconst<>+112(SB)/8, $0x3f3180003f318000
DATA vconst<>+120(SB)/8, $0x3f3180003f318000
DATA vconst<>+128(SB)/8, $0xb95e8083b95e8083
DATA vconst<>+136(SB)/8, $0xb95e8083b95e8083
DATA vconst<>+144(SB)/8, $0xb95e8083b95e8083
DATA vconst<>+152(SB)/8, $0xb95e8083b95e8083
DATA vconst<>+160(SB)/8, $0x3950696739506967
DATA vconst<>+168(SB)/8, $0x3950696739506967
DATA vconst<>+176(SB)/8, $0x3950696739506967
DATA vconst<>+184(SB)/8, $0x3950696739506967
DATA vconst<>+192(SB)/8, $0x3ab743ce3ab743ce
DATA vconst<>+200(SB)/8, $0x3ab743ce3ab743ce
DATA vconst<>+208(SB)/8, $0x3ab743ce3ab743ce
DATA vconst<>+216(SB)/8, $0x3ab743ce3ab743ce
DATA vconst<>+224(SB)/8, $0x3c0889083c088908
DATA vconst<>+232(SB)/8, $0x3c0889083c088908
DATA vconst<>+240(SB)/8, $0x3c0889083c088908
DATA vconst<>+248(SB)/8, $0x3c0889083c088908
DATA vconst<>+256(SB)/8, $0x3d2aa9c13d2aa9c1
DATA vconst<>+264(SB)/8, $0x3d2aa9c13d2aa9c1
DATA vconst<>+272(SB)/8, $0x3d2aa9c13d2aa9c1
DATA vconst<>+280(SB)/8, $0x3d2aa9c13d2aa9c1
DATA vconst<>+288(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA vconst<>+296(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA vconst<>+304(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA vconst<>+312(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA vconst<>+320(SB)/8, $0x3f0000003f000000
DATA vconst<>+328(SB)/8, $0x3f0000003f000000
DATA vconst<>+336(SB)/8, $0x3f0000003f000000
DATA vconst<>+344(SB)/8, $0x3f0000003f000000
DATA vconst<>+352(SB)/8, $0x3f8000003f800000
DATA vconst<>+360(SB)/8, $0x3f8000003f800000
DATA vconst<>+368(SB)/8, $0x3f8000003f800000
DATA vconst<>+376(SB)/8, $0x3f8000003f800000
DATA vconst<>+384(SB)/8, $0x0000007f0000007f
DATA vconst<>+392(SB)/8, $0x0000007f0000007f
DATA vconst<>+400(SB)/8, $0x0000007f0000007f
DATA vconst<>+408(SB)/8, $0x0000007f0000007f
DATA vconst<>+416(SB)/8, $0x3fb504f33fb504f3
DATA vconst<>+424(SB)/8, $0x3fb504f33fb504f3
DATA vconst<>+432(SB)/8, $0x3fb504f33fb504f3
DATA vconst<>+440(SB)/8, $0x3fb504f33fb504f3
DATA vconst<>+448(SB)/8, $0x3f0000003f000000
DATA vconst<>+456(SB)/8, $0x3f0000003f000000
DATA vconst<>+464(SB)/8, $0x3f0000003f000000
DATA vconst<>+472(SB)/8, $0x3f0000003f000000
DATA vconst<>+480(SB)/8, $0x3d9021bb3d9021bb
DATA vconst<>+488(SB)/8, $0x3d9021bb3d9021bb
DATA vconst<>+496(SB)/8, $0x3d9021bb3d9021bb
DATA vconst<>+504(SB)/8, $0x3d9021bb3d9021bb
DATA vconst<>+512(SB)/8, $0xbdebd1b8bdebd1b8
DATA vconst<>+520(SB)/8, $0xbdebd1b8bdebd1b8
DATA vconst<>+528(SB)/8, $0xbdebd1b8bdebd1b8
DATA vconst<>+536(SB)/8, $0xbdebd1b8bdebd1b8
DATA vconst<>+544(SB)/8, $0x3def251a3def251a
DATA vconst<>+552(SB)/8, $0x3def251a3def251a
DATA vconst<>+560(SB)/8, $0x3def251a3def251a
DATA vconst<>+568(SB)/8, $0x3def251a3def251a
DATA vconst<>+576(SB)/8, $0xbdfe5d4fbdfe5d4f
DATA vconst<>+584(SB)/8, $0xbdfe5d4fbdfe5d4f
DATA vconst<>+592(SB)/8, $0xbdfe5d4fbdfe5d4f
DATA vconst<>+600(SB)/8, $0xbdfe5d4fbdfe5d4f
DATA vconst<>+608(SB)/8, $0x3e11e9bf3e11e9bf
DATA vconst<>+616(SB)/8, $0x3e11e9bf3e11e9bf
DATA vconst<>+624(SB)/8, $0x3e11e9bf3e11e9bf
DATA vconst<>+632(SB)/8, $0x3e11e9bf3e11e9bf
DATA vconst<>+640(SB)/8, $0xbe2aae50be2aae50
DATA vconst<>+648(SB)/8, $0xbe2aae50be2aae50
DATA vconst<>+656(SB)/8, $0xbe2aae50be2aae50
DATA vconst<>+664(SB)/8, $0xbe2aae50be2aae50
DATA vconst<>+672(SB)/8, $0x3e4cceac3e4cceac
DATA vconst<>+680(SB)/8, $0x3e4cceac3e4cceac
DATA vconst<>+688(SB)/8, $0x3e4cceac3e4cceac
DATA vconst<>+696(SB)/8, $0x3e4cceac3e4cceac
DATA vconst<>+704(SB)/8, $0xbe7ffffcbe7ffffc
DATA vconst<>+712(SB)/8, $0xbe7ffffcbe7ffffc
DATA vconst<>+720(SB)/8, $0xbe7ffffcbe7ffffc
DATA vconst<>+728(SB)/8, $0xbe7ffffcbe7ffffc
DATA vconst<>+736(SB)/8, $0x3eaaaaaa3eaaaaaa
DATA vconst<>+744(SB)/8, $0x3eaaaaaa3eaaaaaa
DATA vconst<>+752(SB)/8, $0x3eaaaaaa3eaaaaaa
DATA vconst<>+760(SB)/8, $0x3eaaaaaa3eaaaaaa
DATA vconst<>+768(SB)/8, $0x7fffffff7fffffff
DATA vconst<>+776(SB)/8, $0x7fffffff7fffffff
DATA vconst<>+784(SB)/8, $0x7fffffff7fffffff
DATA vconst<>+792(SB)/8, $0x7fffffff7fffffff
GLOBL vconst<>(SB), RODATA|NOPTR, $800

#define C_HI vconst<>+0(SB)
#define C_LO vconst<>+32(SB)
#define C_LOG2E vconst<>+64(SB)
#define C_LN2HI vconst<>+96(SB)
#define C_LN2LO vconst<>+128(SB)
#define C_P0 vconst<>+160(SB)
#define C_P1 vconst<>+192(SB)
#define C_P2 vconst<>+224(SB)
#define C_P3 vconst<>+256(SB)
#define C_P4 vconst<>+288(SB)
#define C_P5 vconst<>+320(SB)
#define C_ONE vconst<>+352(SB)
#define C_BIAS vconst<>+384(SB)
#define C_SQRT2 vconst<>+416(SB)
#define C_HALF vconst<>+448(SB)
#define C_L0 vconst<>+480(SB)
#define C_L1 vconst<>+512(SB)
#define C_L2 vconst<>+544(SB)
#define C_L3 vconst<>+576(SB)
#define C_L4 vconst<>+608(SB)
#define C_L5 vconst<>+640(SB)
#define C_L6 vconst<>+672(SB)
#define C_L7 vconst<>+704(SB)
#define C_L8 vconst<>+736(SB)
#define C_ABS vconst<>+768(SB)

// EXP8 sets X = exp(X) in 8 lanes: n = round(x·log2e), r = x − n·ln2 (in two
// parts), e^r by the degree-7 polynomial of expf, times 2^n. x is first
// clamped to [−87.34, 88.38], so that 2^n is a normal number. T1..T3 are
// clobbered.
#define EXP8(X, T1, T2, T3) \
	VMINPS C_HI, X, X; \
	VMAXPS C_LO, X, X; \
	VMULPS C_LOG2E, X, T1; \
	VROUNDPS $0, T1, T1; \
	VFNMADD231PS C_LN2HI, T1, X; \
	VFNMADD231PS C_LN2LO, T1, X; \
	VMOVUPS C_P0, T2; \
	VFMADD213PS C_P1, X, T2; \
	VFMADD213PS C_P2, X, T2; \
	VFMADD213PS C_P3, X, T2; \
	VFMADD213PS C_P4, X, T2; \
	VFMADD213PS C_P5, X, T2; \
	VMULPS X, X, T3; \
	VFMADD213PS X, T3, T2; \
	VADDPS C_ONE, T2, T2; \
	VCVTPS2DQ T1, T1; \
	VPADDD C_BIAS, T1, T1; \
	VPSLLD $23, T1, T1; \
	VMULPS T1, T2, X

// LOG1P8 sets X = log(1 + X) in 8 lanes for X in [0, 1]: u = 1 + x rounded,
// log u from m = u − 1 or u/2 − 1 (whichever is nearer 0) by logf's
// polynomial, minus ((u − 1) − x)/u, the rounding of u. T1..T5 clobbered.
#define LOG1P8(X, T1, T2, T3, T4, T5) \
	VADDPS C_ONE, X, T1; \
	VCMPPS $13, C_SQRT2, T1, T2; \
	VMULPS C_HALF, T1, T3; \
	VBLENDVPS T2, T3, T1, T3; \
	VSUBPS C_ONE, T3, T3; \
	VANDPS C_ONE, T2, T2; \
	VMOVUPS C_L0, T4; \
	VFMADD213PS C_L1, T3, T4; \
	VFMADD213PS C_L2, T3, T4; \
	VFMADD213PS C_L3, T3, T4; \
	VFMADD213PS C_L4, T3, T4; \
	VFMADD213PS C_L5, T3, T4; \
	VFMADD213PS C_L6, T3, T4; \
	VFMADD213PS C_L7, T3, T4; \
	VFMADD213PS C_L8, T3, T4; \
	VMULPS T3, T3, T5; \
	VMULPS T3, T4, T4; \
	VMULPS T5, T4, T4; \
	VFMADD231PS C_LN2LO, T2, T4; \
	VFNMADD231PS C_HALF, T5, T4; \
	VADDPS T3, T4, T4; \
	VFMADD231PS C_LN2HI, T2, T4; \
	VSUBPS C_ONE, T1, T5; \
	VSUBPS X, T5, T5; \
	VDIVPS T1, T5, T5; \
	VSUBPS T5, T4, X

// HSUM8 leaves the sum of Y's 8 lanes in the low lane of X (Y's low half); T clobbered.
#define HSUM8(Y, X, T) \
	VEXTRACTF128 $1, Y, T; \
	VADDPS T, X, X; \
	VHADDPS X, X, X; \
	VHADDPS X, X, X

// func expAVX(dst, src *float32, n int)
// dst[i] = exp(src[i]) for i < n, n a multiple of 8.
TEXT ·expAVX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   expdone
exploop:
	VMOVUPS (SI), Y0
	EXP8(Y0, Y1, Y2, Y3)
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  exploop
expdone:
	VZEROUPPER
	RET

// func sigmoidAVX(dst, src *float32, n int)
// dst[i] = 1/(1 + exp(−src[i])) for i < n, n a multiple of 8.
TEXT ·sigmoidAVX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   sigdone
	VXORPS Y7, Y7, Y7
sigloop:
	VSUBPS (SI), Y7, Y0
	EXP8(Y0, Y1, Y2, Y3)
	VADDPS C_ONE, Y0, Y0
	VMOVUPS C_ONE, Y1
	VDIVPS Y0, Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  sigloop
sigdone:
	VZEROUPPER
	RET

// func softplusAVX(dst, src *float32, n int)
// dst[i] = max(x, 0) + log(1 + exp(−|x|)) with x = src[i], for i < n, n a
// multiple of 8. For x > 20 this rounds to x, PyTorch's threshold.
TEXT ·softplusAVX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   spdone
	VXORPS Y15, Y15, Y15
sploop:
	VMOVUPS (SI), Y0
	VANDPS C_ABS, Y0, Y1
	VSUBPS Y1, Y15, Y1
	EXP8(Y1, Y2, Y3, Y4)
	LOG1P8(Y1, Y2, Y3, Y4, Y5, Y6)
	VMAXPS Y15, Y0, Y0
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  sploop
spdone:
	VZEROUPPER
	RET

// func scanFwdAVX(L, G int, rec, bc, state, y *float32)
// The recurrence of scanFwdGo without storing states (see scan.go for the
// layouts): per position t, per group of 8 lanes,
//   a = exp(δ_t·A), h = a·h + δ_t·u_t·B_t, y[t] += Σ h·C_t.
// L ≥ 1, G ≥ 1.
TEXT ·scanFwdAVX(SB), NOSPLIT, $0-48
	MOVQ L+0(FP), CX
	MOVQ G+8(FP), R9
	MOVQ rec+16(FP), SI
	MOVQ bc+24(FP), R10
	MOVQ state+32(FP), R12
	MOVQ y+40(FP), DI
	MOVQ R9, R8
	SHLQ $6, R8          // bc row bytes: G·64
	IMULQ $96, R9        // state bytes: G·96
ftloop:
	VBROADCASTSS (SI), Y0     // δ
	VBROADCASTSS 4(SI), Y1    // δ·u
	VXORPS Y2, Y2, Y2
	XORQ AX, AX               // state offset
	XORQ BX, BX               // bc offset
fgloop:
	VMULPS (R12)(AX*1), Y0, Y3
	EXP8(Y3, Y4, Y5, Y6)
	VMULPS 32(R12)(AX*1), Y3, Y3
	VFMADD231PS (R10)(BX*1), Y1, Y3
	VMOVUPS Y3, 32(R12)(AX*1)
	VFMADD231PS 32(R10)(BX*1), Y3, Y2
	ADDQ $96, AX
	ADDQ $64, BX
	CMPQ AX, R9
	JLT  fgloop
	HSUM8(Y2, X2, X3)
	VMOVSS X2, (DI)
	ADDQ $16, SI
	ADDQ R8, R10
	ADDQ $4, DI
	DECQ CX
	JNZ  ftloop
	VZEROUPPER
	RET

// func scanFwdStoreAVX(L, G int, rec, bc, state, y, ha *float32)
// scanFwdAVX that also stores h_t and exp(δ_t·A) in rows 1..L of ha.
TEXT ·scanFwdStoreAVX(SB), NOSPLIT, $0-56
	MOVQ L+0(FP), CX
	MOVQ G+8(FP), R9
	MOVQ rec+16(FP), SI
	MOVQ bc+24(FP), R10
	MOVQ state+32(FP), R12
	MOVQ y+40(FP), DI
	MOVQ ha+48(FP), R11
	MOVQ R9, R8
	SHLQ $6, R8
	ADDQ R8, R11              // row 1
	IMULQ $96, R9
stloop:
	VBROADCASTSS (SI), Y0
	VBROADCASTSS 4(SI), Y1
	VXORPS Y2, Y2, Y2
	XORQ AX, AX
	XORQ BX, BX
sgloop:
	VMULPS (R12)(AX*1), Y0, Y3
	EXP8(Y3, Y4, Y5, Y6)
	VMOVUPS Y3, 32(R11)(BX*1)
	VMULPS 32(R12)(AX*1), Y3, Y3
	VFMADD231PS (R10)(BX*1), Y1, Y3
	VMOVUPS Y3, 32(R12)(AX*1)
	VMOVUPS Y3, (R11)(BX*1)
	VFMADD231PS 32(R10)(BX*1), Y3, Y2
	ADDQ $96, AX
	ADDQ $64, BX
	CMPQ AX, R9
	JLT  sgloop
	HSUM8(Y2, X2, X3)
	VMOVSS X2, (DI)
	ADDQ $16, SI
	ADDQ R8, R10
	ADDQ R8, R11
	ADDQ $4, DI
	DECQ CX
	JNZ  stloop
	VZEROUPPER
	RET

// func scanBwdAVX(T, G int, rec, bc, ha, dbc, state, out *float32)
// scanBwdGo's walk backwards over a chunk of T positions (see scan.go).
TEXT ·scanBwdAVX(SB), NOSPLIT, $0-64
	MOVQ T+0(FP), CX
	MOVQ G+8(FP), R9
	MOVQ rec+16(FP), R11
	MOVQ bc+24(FP), DX
	MOVQ ha+32(FP), DI
	MOVQ dbc+40(FP), SI
	MOVQ state+48(FP), R10
	MOVQ out+56(FP), R12
	MOVQ R9, R13
	SHLQ $6, R13              // row bytes G·64
	IMULQ $96, R9             // state bytes
	// Point at position T−1: rec, bc, dbc rows T−1, ha row T, out pair T−1.
	MOVQ CX, AX
	DECQ AX
	SHLQ $4, AX
	ADDQ AX, R11
	SHRQ $1, AX
	ADDQ AX, R12
	MOVQ CX, AX
	DECQ AX
	IMULQ R13, AX
	ADDQ AX, DX
	ADDQ AX, SI
	ADDQ AX, DI
	ADDQ R13, DI
	MOVQ DI, R8
	SUBQ R13, R8              // ha row T−1: h_{t−1}
btloop:
	VBROADCASTSS 8(R11), Y0   // dy
	VBROADCASTSS (R11), Y1    // δ
	VBROADCASTSS 12(R11), Y2  // u
	VBROADCASTSS 4(R11), Y3   // δ·u
	VXORPS Y4, Y4, Y4         // Σ g·(A·a·h_{t−1} + B·u)
	VXORPS Y5, Y5, Y5         // Σ g·B
	XORQ AX, AX               // row offset
	XORQ BX, BX               // state offset
bgloop:
	VMOVUPS 32(DX)(AX*1), Y6          // C_t
	VMOVUPS 32(R10)(BX*1), Y7         // g
	VFMADD231PS Y6, Y0, Y7            // g += dy·C_t
	VMOVUPS (DI)(AX*1), Y8            // h_t
	VMOVUPS 32(SI)(AX*1), Y12
	VFMADD231PS Y8, Y0, Y12           // dC_t += dy·h_t
	VMOVUPS Y12, 32(SI)(AX*1)
	VMOVUPS 32(DI)(AX*1), Y9          // a_t
	VMULPS (R8)(AX*1), Y9, Y11        // a_t·h_{t−1}
	VMOVUPS (R10)(BX*1), Y14          // A
	VMULPS Y11, Y14, Y12
	VMOVUPS (DX)(AX*1), Y13           // B_t
	VFMADD231PS Y13, Y2, Y12          // A·a·h + B·u
	VFMADD231PS Y12, Y7, Y4
	VMULPS Y11, Y7, Y11               // g·a·h
	VMOVUPS 64(R10)(BX*1), Y12
	VFMADD231PS Y11, Y1, Y12          // dA += g·a·h·δ
	VMOVUPS Y12, 64(R10)(BX*1)
	VMOVUPS (SI)(AX*1), Y12
	VFMADD231PS Y7, Y3, Y12           // dB_t += g·δ·u
	VMOVUPS Y12, (SI)(AX*1)
	VFMADD231PS Y13, Y7, Y5           // Σ g·B
	VMULPS Y9, Y7, Y7                 // g ← g·a_t
	VMOVUPS Y7, 32(R10)(BX*1)
	ADDQ $64, AX
	ADDQ $96, BX
	CMPQ BX, R9
	JLT  bgloop
	HSUM8(Y4, X4, X6)
	HSUM8(Y5, X5, X6)
	VMOVSS X4, (R12)
	VMOVSS X5, 4(R12)
	SUBQ $16, R11
	SUBQ $8, R12
	SUBQ R13, DX
	SUBQ R13, SI
	SUBQ R13, DI
	SUBQ R13, R8
	DECQ CX
	JNZ  btloop
	VZEROUPPER
	RET

// func scanStepAVX(n int, dt, dtu float32, A, B, C, h *float32) float32
// One position of the scan for one channel, n (a multiple of 8) states:
//   h[i] = exp(dt·A[i])·h[i] + dtu·B[i],   returns Σ C[i]·h[i].
TEXT ·scanStepAVX(SB), NOSPLIT, $0-52
	MOVQ n+0(FP), CX
	VBROADCASTSS dt+8(FP), Y0
	VBROADCASTSS dtu+12(FP), Y1
	MOVQ A+16(FP), SI
	MOVQ B+24(FP), DI
	MOVQ C+32(FP), DX
	MOVQ h+40(FP), R8
	VXORPS Y2, Y2, Y2
	SHRQ $3, CX
steploop:
	VMULPS (SI), Y0, Y3
	EXP8(Y3, Y4, Y5, Y6)
	VMULPS (R8), Y3, Y3
	VFMADD231PS (DI), Y1, Y3
	VMOVUPS Y3, (R8)
	VFMADD231PS (DX), Y3, Y2
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNZ  steploop
	HSUM8(Y2, X2, X3)
	VMOVSS X2, ret+48(FP)
	VZEROUPPER
	RET
