//go:build amd64 && !purego

#include "textflag.h"

// func poolCountLEAVX2(v *float32, n int, x float32) int
TEXT ·poolCountLEAVX2(SB), NOSPLIT, $0-32
	MOVQ v+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS x+16(FP), Y0
	XORQ AX, AX

loop:
	CMPQ CX, $16
	JL   done
	VMOVUPS (SI), Y1
	VMOVUPS 32(SI), Y2
	VCMPPS $0x12, Y0, Y1, Y1 // v <= x, ordered, quiet (LE_OQ)
	VCMPPS $0x12, Y0, Y2, Y2
	VMOVMSKPS Y1, DX
	VMOVMSKPS Y2, BX
	POPCNTL DX, DX
	POPCNTL BX, BX
	ADDQ DX, AX
	ADDQ BX, AX
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  loop

done:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
