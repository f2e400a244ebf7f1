//go:build amd64 && !purego

#include "textflag.h"

// AVX-512F kernels (16 lanes, four accumulators: 64 floats per iteration,
// then a 16-lane loop, then one zero-masked step for the last 1-15 values).
// Used instead of the AVX2 ones when the CPU and OS support AVX-512F; the
// row kernels repeat the single kernels' bodies exactly, so a row's result
// is bit-for-bit the single kernel's.

// func l2sqAVX512(a, b *float32, n int) float32
TEXT ·l2sqAVX512(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

l2zloop64:
	CMPQ CX, $64
	JL   l2zloop16
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VSUBPS  (DI), Z4, Z4
	VSUBPS  64(DI), Z5, Z5
	VSUBPS  128(DI), Z6, Z6
	VSUBPS  192(DI), Z7, Z7
	VFMADD231PS Z4, Z4, Z0
	VFMADD231PS Z5, Z5, Z1
	VFMADD231PS Z6, Z6, Z2
	VFMADD231PS Z7, Z7, Z3
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  l2zloop64

l2zloop16:
	CMPQ CX, $16
	JL   l2ztail
	VMOVUPS (SI), Z4
	VSUBPS  (DI), Z4, Z4
	VFMADD231PS Z4, Z4, Z0
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  l2zloop16

l2ztail:
	// The last 1-15 values: one zero-masked 16-lane step (masked lanes
	// are neither read nor faulted on).
	TESTQ CX, CX
	JZ    l2zreduce
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z4
	VMOVUPS.Z (DI), K1, Z5
	VSUBPS Z5, Z4, Z4
	VFMADD231PS Z4, Z4, Z1

l2zreduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $1, X0, X1
	VADDSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotAVX512(a, b *float32, n int) float32
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

dtzloop64:
	CMPQ CX, $64
	JL   dtzloop16
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  dtzloop64

dtzloop16:
	CMPQ CX, $16
	JL   dtztail
	VMOVUPS (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  dtzloop16

dtztail:
	// The last 1-15 values: one zero-masked 16-lane step (masked lanes
	// are neither read nor faulted on).
	TESTQ CX, CX
	JZ    dtzreduce
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z4
	VMOVUPS.Z (DI), K1, Z5
	VFMADD231PS Z5, Z4, Z1

dtzreduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $1, X0, X1
	VADDSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func l2sqRowsAVX512(q, base *float32, ids *uint32, n, d int, out *float32)
TEXT ·l2sqRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), R8
	MOVQ base+8(FP), R9
	MOVQ ids+16(FP), R10
	MOVQ n+24(FP), R11
	MOVQ d+32(FP), R12
	MOVQ out+40(FP), R13
	MOVQ R12, BX
	SHLQ $2, BX
	TESTQ R11, R11
	JZ   l2rzend
	MOVL (R10), AX
	IMULQ BX, AX
	PREFETCHT0 (R9)(AX*1)

l2rzrow:
	MOVL (R10), AX
	IMULQ BX, AX
	LEAQ (R9)(AX*1), DI
	CMPQ R11, $1
	JLE  l2rznopf
	MOVL 4(R10), DX
	IMULQ BX, DX
	PREFETCHT0 (R9)(DX*1)

l2rznopf:
	MOVQ R8, SI
	MOVQ R12, CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

l2rzloop64:
	CMPQ CX, $64
	JL   l2rzloop16
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VSUBPS  (DI), Z4, Z4
	VSUBPS  64(DI), Z5, Z5
	VSUBPS  128(DI), Z6, Z6
	VSUBPS  192(DI), Z7, Z7
	VFMADD231PS Z4, Z4, Z0
	VFMADD231PS Z5, Z5, Z1
	VFMADD231PS Z6, Z6, Z2
	VFMADD231PS Z7, Z7, Z3
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  l2rzloop64

l2rzloop16:
	CMPQ CX, $16
	JL   l2rztail
	VMOVUPS (SI), Z4
	VSUBPS  (DI), Z4, Z4
	VFMADD231PS Z4, Z4, Z0
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  l2rzloop16

l2rztail:
	// The last 1-15 values: one zero-masked 16-lane step (masked lanes
	// are neither read nor faulted on).
	TESTQ CX, CX
	JZ    l2rzreduce
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z4
	VMOVUPS.Z (DI), K1, Z5
	VSUBPS Z5, Z4, Z4
	VFMADD231PS Z4, Z4, Z1

l2rzreduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $1, X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, (R13)
	ADDQ $4, R13
	ADDQ $4, R10
	DECQ R11
	JNZ  l2rzrow

l2rzend:
	VZEROUPPER
	RET

// func dotRowsAVX512(q, base *float32, ids *uint32, n, d int, out *float32)
TEXT ·dotRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), R8
	MOVQ base+8(FP), R9
	MOVQ ids+16(FP), R10
	MOVQ n+24(FP), R11
	MOVQ d+32(FP), R12
	MOVQ out+40(FP), R13
	MOVQ R12, BX
	SHLQ $2, BX
	TESTQ R11, R11
	JZ   dtrzend
	MOVL (R10), AX
	IMULQ BX, AX
	PREFETCHT0 (R9)(AX*1)

dtrzrow:
	MOVL (R10), AX
	IMULQ BX, AX
	LEAQ (R9)(AX*1), DI
	CMPQ R11, $1
	JLE  dtrznopf
	MOVL 4(R10), DX
	IMULQ BX, DX
	PREFETCHT0 (R9)(DX*1)

dtrznopf:
	MOVQ R8, SI
	MOVQ R12, CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

dtrzloop64:
	CMPQ CX, $64
	JL   dtrzloop16
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  dtrzloop64

dtrzloop16:
	CMPQ CX, $16
	JL   dtrztail
	VMOVUPS (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  dtrzloop16

dtrztail:
	// The last 1-15 values: one zero-masked 16-lane step (masked lanes
	// are neither read nor faulted on).
	TESTQ CX, CX
	JZ    dtrzreduce
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z4
	VMOVUPS.Z (DI), K1, Z5
	VFMADD231PS Z5, Z4, Z1

dtrzreduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $1, X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, (R13)
	ADDQ $4, R13
	ADDQ $4, R10
	DECQ R11
	JNZ  dtrzrow

dtrzend:
	VZEROUPPER
	RET
