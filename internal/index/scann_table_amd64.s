//go:build amd64 && !purego

#include "textflag.h"

// func scannTableDS2AVX512(q, cb *float32, m int, tab, lo, hi *float32)
//
// SCANN's per-query table for sub-vectors of 2 values: for each of m
// sub-quantizers j, tab[16j+c] = -(q[2j]*cb[32j+2c] + q[2j+1]*cb[32j+2c+1]),
// lo[j] and hi[j] its smallest and largest entry. The (q0, q1) pair is
// broadcast to all eight 64-bit lanes, so one multiply scores 8 codewords'
// two coordinates; swapping adjacent floats and adding puts each
// codeword's sum in its even slot (the same two products, added once: the
// Go loop's value bit for bit), and VPMOVQD keeps the even slots.
TEXT ·scannTableDS2AVX512(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ cb+8(FP), BX
	MOVQ m+16(FP), CX
	MOVQ tab+24(FP), DI
	MOVQ lo+32(FP), R8
	MOVQ hi+40(FP), R9
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z15 // sign bit

tloop:
	TESTQ CX, CX
	JZ    tdone
	VBROADCASTSD (SI), Z0  // q0 q1 q0 q1 ...
	VMULPS (BX), Z0, Z1    // codewords 0-7: q0*x, q1*y
	VMULPS 64(BX), Z0, Z2  // codewords 8-15
	VPERMILPS $0xB1, Z1, Z3
	VPERMILPS $0xB1, Z2, Z4
	VADDPS Z3, Z1, Z1      // even slots: q0*x + q1*y
	VADDPS Z4, Z2, Z2
	VPXORD Z15, Z1, Z1     // negate
	VPXORD Z15, Z2, Z2
	VPMOVQD Z1, (DI)
	VPMOVQD Z2, 32(DI)

	// lo and hi of the 16 entries
	VMOVUPS (DI), Z5
	VEXTRACTF64X4 $1, Z5, Y6
	VMINPS Y6, Y5, Y7
	VMAXPS Y6, Y5, Y8
	VEXTRACTF128 $1, Y7, X6
	VMINPS X6, X7, X7
	VEXTRACTF128 $1, Y8, X6
	VMAXPS X6, X8, X8
	VPERMILPS $0x4E, X7, X6
	VMINPS X6, X7, X7
	VPERMILPS $0x4E, X8, X6
	VMAXPS X6, X8, X8
	VPERMILPS $0xB1, X7, X6
	VMINPS X6, X7, X7
	VPERMILPS $0xB1, X8, X6
	VMAXPS X6, X8, X8
	VMOVSS X7, (R8)
	VMOVSS X8, (R9)

	ADDQ $8, SI
	ADDQ $128, BX
	ADDQ $64, DI
	ADDQ $4, R8
	ADDQ $4, R9
	DECQ CX
	JMP  tloop

tdone:
	VZEROUPPER
	RET

// func scannQuantizeAVX512(tab, lo *float32, m int, a float32, lut *byte)
//
// lut[32j+c] = lut[32j+16+c] = clamp(int32((tab[16j+c]-lo[j])*a + 0.5), 0, 255):
// the Go loop's arithmetic (subtract, multiply, add 0.5, truncate; a NaN
// or out-of-range value truncates to 0x80000000, clamped to 0).
TEXT ·scannQuantizeAVX512(SB), NOSPLIT, $0-40
	MOVQ tab+0(FP), SI
	MOVQ lo+8(FP), R8
	MOVQ m+16(FP), CX
	VBROADCASTSS a+24(FP), Z1
	MOVQ lut+32(FP), DI
	MOVL $0x3f000000, AX // 0.5
	VPBROADCASTD AX, Z2
	VPXORD Z3, Z3, Z3
	MOVL $255, AX
	VPBROADCASTD AX, Z4

qloop:
	TESTQ CX, CX
	JZ    qdone
	VBROADCASTSS (R8), Z5
	VMOVUPS (SI), Z6
	VSUBPS Z5, Z6, Z6
	VMULPS Z1, Z6, Z6
	VADDPS Z2, Z6, Z6
	VCVTTPS2DQ Z6, Z6
	VPMAXSD Z3, Z6, Z6
	VPMINSD Z4, Z6, Z6
	VPMOVDB Z6, X7
	VMOVDQU X7, (DI)
	VMOVDQU X7, 16(DI)
	ADDQ $64, SI
	ADDQ $4, R8
	ADDQ $32, DI
	DECQ CX
	JMP  qloop

qdone:
	VZEROUPPER
	RET
