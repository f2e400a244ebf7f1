//go:build amd64 && !purego

#include "textflag.h"

// func fsScanAVX2(codes, lut *byte, nblocks, m2 int, out *uint16)
//
// For each block of 32 vectors and each sub-quantizer pair p: load the 32
// code bytes, split them into low and high nibbles, look both up with
// VPSHUFB in the pair's two tables (each table holds its 16 entries in both
// 128-bit lanes, so lane 0 serves vectors 0-15 and lane 1 vectors 16-31),
// widen the looked-up bytes to uint16 by interleaving with zero and add them
// with unsigned saturation. Four accumulators:
//   Y0: low-nibble look-ups of bytes 0-7 / 16-23   (vectors 0-7, 16-23)
//   Y1: low-nibble look-ups of bytes 8-15 / 24-31  (vectors 8-15, 24-31)
//   Y2, Y3: the same for the high nibbles
// At the end Y0+Y2 and Y1+Y3 (saturating) are recombined into vector order
// with VPERM2I128 and stored as 32 uint16.
TEXT ·fsScanAVX2(SB), NOSPLIT, $0-40
	MOVQ codes+0(FP), SI
	MOVQ lut+8(FP), DX
	MOVQ nblocks+16(FP), CX
	MOVQ m2+24(FP), R8
	MOVQ out+32(FP), DI
	MOVL $0x0f0f0f0f, AX
	MOVD AX, X15
	VPBROADCASTD X15, Y15 // nibble mask
	VPXOR Y14, Y14, Y14   // zero

blockloop:
	TESTQ CX, CX
	JEQ   done
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ  DX, BX  // table pointer
	MOVQ  R8, R9  // pairs left

pairloop:
	VMOVDQU (SI), Y4
	VPSRLW  $4, Y4, Y5
	VPAND   Y15, Y4, Y4
	VPAND   Y15, Y5, Y5
	VMOVDQU (BX), Y6
	VMOVDQU 32(BX), Y7
	VPSHUFB Y4, Y6, Y6
	VPSHUFB Y5, Y7, Y7
	VPUNPCKLBW Y14, Y6, Y8
	VPUNPCKHBW Y14, Y6, Y9
	VPUNPCKLBW Y14, Y7, Y10
	VPUNPCKHBW Y14, Y7, Y11
	VPADDUSW Y8, Y0, Y0
	VPADDUSW Y9, Y1, Y1
	VPADDUSW Y10, Y2, Y2
	VPADDUSW Y11, Y3, Y3
	ADDQ $32, SI
	ADDQ $64, BX
	DECQ R9
	JNZ  pairloop

	VPADDUSW Y2, Y0, Y0
	VPADDUSW Y3, Y1, Y1
	VPERM2I128 $0x20, Y1, Y0, Y4 // vectors 0-7, 8-15
	VPERM2I128 $0x31, Y1, Y0, Y5 // vectors 16-23, 24-31
	VMOVDQU Y4, (DI)
	VMOVDQU Y5, 32(DI)
	ADDQ $64, DI
	DECQ CX
	JMP  blockloop

done:
	VZEROUPPER
	RET
