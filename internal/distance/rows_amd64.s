//go:build amd64 && !purego

#include "textflag.h"

// Row kernels: score one query against many rows of a row-major slab, picked
// by id, in one call. Each row's arithmetic is exactly that of l2sqAVX2 /
// dotAVX2 (kernels_amd64.s: same accumulators, same order, same reduction),
// so a row's result is bit-for-bit the single kernel's. What the loop saves
// is the Go-to-assembly call per row, and it prefetches the first cache line
// of row i+1 while row i is scored (PREFETCHT0), as hnswlib does.
//
// Registers: R8 q, R9 base, R10 ids cursor, R11 rows left, R12 d, R13 out
// cursor, BX row stride in bytes; SI, DI, CX, AX walk one row.

// func l2sqRowsAVX2(q, base *float32, ids *uint32, n, d int, out *float32)
TEXT ·l2sqRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), R8
	MOVQ base+8(FP), R9
	MOVQ ids+16(FP), R10
	MOVQ n+24(FP), R11
	MOVQ d+32(FP), R12
	MOVQ out+40(FP), R13
	MOVQ R12, BX
	SHLQ $2, BX
	TESTQ R11, R11
	JZ   l2rend
	MOVL (R10), AX
	IMULQ BX, AX
	PREFETCHT0 (R9)(AX*1)

l2rrow:
	MOVL (R10), AX
	IMULQ BX, AX
	LEAQ (R9)(AX*1), DI
	CMPQ R11, $1
	JLE  l2rnopf
	MOVL 4(R10), DX
	IMULQ BX, DX
	PREFETCHT0 (R9)(DX*1)

l2rnopf:
	MOVQ R8, SI
	MOVQ R12, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

l2rloop32:
	CMPQ CX, $32
	JL   l2rloop8
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
	JMP  l2rloop32

l2rloop8:
	CMPQ CX, $8
	JL   l2rtail
	VMOVUPS (SI), Y4
	VSUBPS  (DI), Y4, Y4
	VFMADD231PS Y4, Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  l2rloop8

l2rtail:
	// The last 1-7 values: one masked 8-lane step (masked-off lanes read
	// as zero and are never touched, so no fault past the slice).
	TESTQ CX, CX
	JZ    l2rreduce
	LEAQ  ·tailMask+32(SB), AX
	SHLQ  $2, CX
	SUBQ  CX, AX
	VMOVDQU (AX), Y8
	VMASKMOVPS (SI), Y8, Y4
	VMASKMOVPS (DI), Y8, Y5
	VSUBPS Y5, Y4, Y4
	VFMADD231PS Y4, Y4, Y1

l2rreduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
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
	JNZ  l2rrow

l2rend:
	VZEROUPPER
	RET

// func dotRowsAVX2(q, base *float32, ids *uint32, n, d int, out *float32)
TEXT ·dotRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), R8
	MOVQ base+8(FP), R9
	MOVQ ids+16(FP), R10
	MOVQ n+24(FP), R11
	MOVQ d+32(FP), R12
	MOVQ out+40(FP), R13
	MOVQ R12, BX
	SHLQ $2, BX
	TESTQ R11, R11
	JZ   dtrend
	MOVL (R10), AX
	IMULQ BX, AX
	PREFETCHT0 (R9)(AX*1)

dtrrow:
	MOVL (R10), AX
	IMULQ BX, AX
	LEAQ (R9)(AX*1), DI
	CMPQ R11, $1
	JLE  dtrnopf
	MOVL 4(R10), DX
	IMULQ BX, DX
	PREFETCHT0 (R9)(DX*1)

dtrnopf:
	MOVQ R8, SI
	MOVQ R12, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dtrloop32:
	CMPQ CX, $32
	JL   dtrloop8
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
	JMP  dtrloop32

dtrloop8:
	CMPQ CX, $8
	JL   dtrtail
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dtrloop8

dtrtail:
	// The last 1-7 values: one masked 8-lane step (masked-off lanes read
	// as zero and are never touched, so no fault past the slice).
	TESTQ CX, CX
	JZ    dtrreduce
	LEAQ  ·tailMask+32(SB), AX
	SHLQ  $2, CX
	SUBQ  CX, AX
	VMOVDQU (AX), Y8
	VMASKMOVPS (SI), Y8, Y4
	VMASKMOVPS (DI), Y8, Y5
	VFMADD231PS Y5, Y4, Y1

dtrreduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
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
	JNZ  dtrrow

dtrend:
	VZEROUPPER
	RET
