//go:build amd64 && !purego

#include "textflag.h"

// func dot16SSE(a, b *float32, n int) float32
// n is a multiple of 16. Four accumulators of four lanes (X0: lanes 0-3,
// X1: 4-7, X2: 8-11, X3: 12-15), multiply then add (no FMA), folded in the
// order dot16Go spells out.
TEXT ·dot16SSE(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	XORPS X0, X0
	XORPS X1, X1
	XORPS X2, X2
	XORPS X3, X3
	SHRQ $4, CX
	JZ   fold

loop:
	MOVUPS 0(SI), X4
	MOVUPS 0(DI), X8
	MULPS  X8, X4
	ADDPS  X4, X0
	MOVUPS 16(SI), X5
	MOVUPS 16(DI), X9
	MULPS  X9, X5
	ADDPS  X5, X1
	MOVUPS 32(SI), X6
	MOVUPS 32(DI), X10
	MULPS  X10, X6
	ADDPS  X6, X2
	MOVUPS 48(SI), X7
	MOVUPS 48(DI), X11
	MULPS  X11, X7
	ADDPS  X7, X3
	ADDQ   $64, SI
	ADDQ   $64, DI
	DECQ   CX
	JNZ    loop

fold:
	ADDPS   X1, X0       // l0+l4 …
	ADDPS   X3, X2       // l8+l12 …
	ADDPS   X2, X0       // t = (l0+l4)+(l8+l12) …
	MOVHLPS X0, X1       // X1 low = t2, t3
	ADDPS   X1, X0       // t0+t2, t1+t3
	MOVAPS  X0, X1
	SHUFPS  $0x55, X1, X1 // lane 1 everywhere
	ADDSS   X1, X0       // (t0+t2)+(t1+t3)
	MOVSS   X0, ret+24(FP)
	RET

// func dotsSSE(q, vecs *float32, dim int, idx *int32, n int, out *float32)
// out[i] = dot16(q, row idx[i] of vecs) for i < n; dim is a multiple of
// 16 and > 0. A first pass prefetches every row (up to four cache lines
// each) so their loads overlap instead of each missing in turn.
TEXT ·dotsSSE(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ vecs+8(FP), R8
	MOVQ dim+16(FP), R9
	MOVQ idx+24(FP), R10
	MOVQ n+32(FP), R11
	MOVQ out+40(FP), R12
	MOVQ R9, R13
	SHLQ $2, R13 // row bytes
	TESTQ R11, R11
	JZ    end
	MOVQ  R10, DX
	MOVQ  R11, BX

pre:
	MOVLQSX    (DX), AX
	IMULQ      R13, AX
	ADDQ       R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	PREFETCHT0 192(AX)
	ADDQ       $4, DX
	DECQ       BX
	JNZ        pre

row:
	MOVLQSX (R10), AX
	IMULQ   R13, AX
	LEAQ    (R8)(AX*1), DI
	MOVQ    SI, DX
	MOVQ    R9, CX
	SHRQ    $4, CX
	XORPS   X0, X0
	XORPS   X1, X1
	XORPS   X2, X2
	XORPS   X3, X3

block:
	MOVUPS 0(DX), X4
	MOVUPS 0(DI), X8
	MULPS  X8, X4
	ADDPS  X4, X0
	MOVUPS 16(DX), X5
	MOVUPS 16(DI), X9
	MULPS  X9, X5
	ADDPS  X5, X1
	MOVUPS 32(DX), X6
	MOVUPS 32(DI), X10
	MULPS  X10, X6
	ADDPS  X6, X2
	MOVUPS 48(DX), X7
	MOVUPS 48(DI), X11
	MULPS  X11, X7
	ADDPS  X7, X3
	ADDQ   $64, DX
	ADDQ   $64, DI
	DECQ   CX
	JNZ    block

	ADDPS   X1, X0
	ADDPS   X3, X2
	ADDPS   X2, X0
	MOVHLPS X0, X1
	ADDPS   X1, X0
	MOVAPS  X0, X1
	SHUFPS  $0x55, X1, X1
	ADDSS   X1, X0
	MOVSS   X0, (R12)
	ADDQ    $4, R12
	ADDQ    $4, R10
	DECQ    R11
	JNZ     row

end:
	RET

// func dots8SSE(q *int16, vecs *int8, scales *float32, dim int, idx *int32, n int, out *float32)
// out[i] = float32(Σ q[j]·row idx[i] of vecs [j]) · scales[idx[i]]: the
// sum in int32 (exact: |q|, |v| ≤ 127), then one conversion and one
// multiply, each rounded once as Go rounds them. dim is a multiple of 16
// and > 0. The rows and their scales are prefetched first (one cache line
// per 64 bytes), then each 16 bytes are sign-extended to two times eight
// int16 (SSE2 has no PMOVSXBW: unpack with the sign mask) and
// multiplied-and-added pairwise with PMADDWD.
TEXT ·dots8SSE(SB), NOSPLIT, $0-56
	MOVQ  q+0(FP), SI
	MOVQ  vecs+8(FP), R8
	MOVQ  scales+16(FP), R13
	MOVQ  dim+24(FP), R9
	MOVQ  idx+32(FP), R10
	MOVQ  n+40(FP), R11
	MOVQ  out+48(FP), R12
	TESTQ R11, R11
	JZ    end8
	MOVQ  R10, DX
	MOVQ  R11, BX

pre8:
	MOVLQSX    (DX), AX
	PREFETCHT0 (R13)(AX*4)
	IMULQ      R9, AX
	ADDQ       R8, AX
	MOVQ       R9, CX

preline8:
	PREFETCHT0 (AX)
	ADDQ       $64, AX
	SUBQ       $64, CX
	JG         preline8
	ADDQ       $4, DX
	DECQ       BX
	JNZ        pre8

row8:
	MOVLQSX (R10), BX
	MOVQ    BX, AX
	IMULQ   R9, AX
	LEAQ    (R8)(AX*1), DI
	MOVQ    SI, DX
	MOVQ    R9, CX
	SHRQ    $4, CX
	PXOR    X0, X0
	PXOR    X6, X6

block8:
	MOVOU     (DI), X1
	PXOR      X2, X2
	PCMPGTB   X1, X2 // X2 = 0 > X1: the sign bytes
	MOVO      X1, X3
	PUNPCKLBW X2, X1 // bytes 0-7 as int16
	PUNPCKHBW X2, X3 // bytes 8-15 as int16
	MOVOU     0(DX), X4
	MOVOU     16(DX), X5
	PMADDWL   X4, X1
	PMADDWL   X5, X3
	PADDL     X1, X0
	PADDL     X3, X6
	ADDQ      $16, DI
	ADDQ      $32, DX
	DECQ      CX
	JNZ       block8

	PADDL    X6, X0
	PSHUFL   $0x4E, X0, X1
	PADDL    X1, X0
	PSHUFL   $0xB1, X0, X1
	PADDL    X1, X0
	MOVQ     X0, AX
	CVTSL2SS AX, X1
	MOVSS    (R13)(BX*4), X2
	MULSS    X2, X1
	MOVSS    X1, (R12)
	ADDQ     $4, R12
	ADDQ     $4, R10
	DECQ     R11
	JNZ      row8

end8:
	RET

// func prefetchLinks(p *int32)
// Asks for the three cache lines at p (a node's layer-0 links at M 24).
TEXT ·prefetchLinks(SB), NOSPLIT, $0-8
	MOVQ       p+0(FP), AX
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	RET
