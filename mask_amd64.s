//go:build !purego

#include "textflag.h"

// func maskBlocks(b []byte, k64 uint64)
TEXT ·maskBlocks(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	MOVQ k64+24(FP), AX
	MOVQ AX, X0
	PUNPCKLQDQ X0, X0 // the key stream in both halves
	SHRQ $6, CX       // 64-byte blocks
	JZ   done

loop:
	MOVOU 0(SI), X1
	MOVOU 16(SI), X2
	MOVOU 32(SI), X3
	MOVOU 48(SI), X4
	PXOR  X0, X1
	PXOR  X0, X2
	PXOR  X0, X3
	PXOR  X0, X4
	MOVOU X1, 0(SI)
	MOVOU X2, 16(SI)
	MOVOU X3, 32(SI)
	MOVOU X4, 48(SI)
	ADDQ  $64, SI
	DECQ  CX
	JNZ   loop

done:
	RET
