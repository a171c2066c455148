//go:build !purego

#include "textflag.h"

// func maskBlocksAVX2(b []byte, k64 uint64)
TEXT ·maskBlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ         b_base+0(FP), SI
	MOVQ         b_len+8(FP), CX
	MOVQ         k64+24(FP), AX
	MOVQ         AX, X0
	VPBROADCASTQ X0, Y0 // the key stream in all four quarters
	SHRQ         $6, CX // 64-byte blocks
	JZ           done

loop:
	VPXOR   0(SI), Y0, Y1
	VPXOR   32(SI), Y0, Y2
	VMOVDQU Y1, 0(SI)
	VMOVDQU Y2, 32(SI)
	ADDQ    $64, SI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET
