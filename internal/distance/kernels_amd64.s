//go:build amd64 && !purego

#include "textflag.h"

// Hand-written AVX2+FMA kernels. Every float kernel accumulates in four
// independent 8-lane registers (32 floats per iteration) to hide FMA latency,
// then an 8-lane loop, then one masked 8-lane step for the last 1-7 values
// (no scalar tail: a serial chain of scalar FMAs cost more than the whole
// loop at d=100), so any length and any alignment is valid (VEX-encoded loads
// do not require alignment). The reference in reference.go is the
// specification; kernels_test.go checks them on awkward lengths. The row
// kernels in rows_amd64.s repeat these bodies exactly.

// tailMask: eight all-ones lanes, then eight zero lanes. Loading 8 lanes at
// byte offset 32-4r gives a mask of the first r lanes.
DATA ·tailMask+0(SB)/4, $0xffffffff
DATA ·tailMask+4(SB)/4, $0xffffffff
DATA ·tailMask+8(SB)/4, $0xffffffff
DATA ·tailMask+12(SB)/4, $0xffffffff
DATA ·tailMask+16(SB)/4, $0xffffffff
DATA ·tailMask+20(SB)/4, $0xffffffff
DATA ·tailMask+24(SB)/4, $0xffffffff
DATA ·tailMask+28(SB)/4, $0xffffffff
DATA ·tailMask+32(SB)/4, $0
DATA ·tailMask+36(SB)/4, $0
DATA ·tailMask+40(SB)/4, $0
DATA ·tailMask+44(SB)/4, $0
DATA ·tailMask+48(SB)/4, $0
DATA ·tailMask+52(SB)/4, $0
DATA ·tailMask+56(SB)/4, $0
DATA ·tailMask+60(SB)/4, $0
GLOBL ·tailMask(SB), RODATA|NOPTR, $64

// func l2sqAVX2(a, b *float32, n int) float32
TEXT ·l2sqAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

l2loop32:
	CMPQ CX, $32
	JL   l2loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VSUBPS  (DI), Y4, Y4
	VSUBPS  32(DI), Y5, Y5
	VSUBPS  64(DI), Y6, Y6
	VSUBPS  96(DI), Y7, Y7
	VFMADD231PS Y4, Y4, Y0
	VFMADD231PS Y5, Y5, Y1
	VFMADD231PS Y6, Y6, Y2
	VFMADD231PS Y7, Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  l2loop32

l2loop8:
	CMPQ CX, $8
	JL   l2tail
	VMOVUPS (SI), Y4
	VSUBPS  (DI), Y4, Y4
	VFMADD231PS Y4, Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  l2loop8

l2tail:
	// The last 1-7 values: one masked 8-lane step (masked-off lanes read
	// as zero and are never touched, so no fault past the slice).
	TESTQ CX, CX
	JZ    l2reduce
	LEAQ  ·tailMask+32(SB), AX
	SHLQ  $2, CX
	SUBQ  CX, AX
	VMOVDQU (AX), Y8
	VMASKMOVPS (SI), Y8, Y4
	VMASKMOVPS (DI), Y8, Y5
	VSUBPS Y5, Y4, Y4
	VFMADD231PS Y4, Y4, Y1

l2reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $1, X0, X1
	VADDSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotAVX2(a, b *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dotloop32:
	CMPQ CX, $32
	JL   dotloop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  dotloop32

dotloop8:
	CMPQ CX, $8
	JL   dottail
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dotloop8

dottail:
	// The last 1-7 values: one masked 8-lane step (masked-off lanes read
	// as zero and are never touched, so no fault past the slice).
	TESTQ CX, CX
	JZ    dotreduce
	LEAQ  ·tailMask+32(SB), AX
	SHLQ  $2, CX
	SUBQ  CX, AX
	VMOVDQU (AX), Y8
	VMASKMOVPS (SI), Y8, Y4
	VMASKMOVPS (DI), Y8, Y5
	VFMADD231PS Y5, Y4, Y1

dotreduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $1, X0, X1
	VADDSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotU8AVX2(q *float32, c *uint8, n int) float32
// Returns sum(q[i] * float32(c[i])): the inner loop of SQ8 scoring.
TEXT ·dotU8AVX2(SB), NOSPLIT, $0-28
	MOVQ q+0(FP), SI
	MOVQ c+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

u8loop32:
	CMPQ CX, $32
	JL   u8loop8
	VPMOVZXBD (DI), Y4
	VPMOVZXBD 8(DI), Y5
	VPMOVZXBD 16(DI), Y6
	VPMOVZXBD 24(DI), Y7
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y7, Y7
	VFMADD231PS (SI), Y4, Y0
	VFMADD231PS 32(SI), Y5, Y1
	VFMADD231PS 64(SI), Y6, Y2
	VFMADD231PS 96(SI), Y7, Y3
	ADDQ $128, SI
	ADDQ $32, DI
	SUBQ $32, CX
	JMP  u8loop32

u8loop8:
	CMPQ CX, $8
	JL   u8reduce
	VPMOVZXBD (DI), Y4
	VCVTDQ2PS Y4, Y4
	VFMADD231PS (SI), Y4, Y0
	ADDQ $32, SI
	ADDQ $8, DI
	SUBQ $8, CX
	JMP  u8loop8

u8reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $1, X0, X1
	VADDSS X1, X0, X0

u8tail:
	TESTQ CX, CX
	JZ    u8done
	MOVBLZX (DI), AX
	VCVTSI2SSL AX, X1, X1
	VFMADD231SS (SI), X1, X0
	ADDQ $4, SI
	INCQ DI
	DECQ CX
	JMP  u8tail

u8done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func prefetchAMD64(p *byte, n int)
// Issues PREFETCHT0 for every 64-byte line of [p, p+n).
TEXT ·prefetchAMD64(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ n+8(FP), CX

pfloop:
	PREFETCHT0 (AX)
	ADDQ $64, AX
	SUBQ $64, CX
	JG   pfloop
	RET
