//go:build amd64 && !purego

#include "textflag.h"

// AES-256-GCM over 16 blocks (256 bytes) at a time with VAES and VPCLMULQDQ on 512-bit
// registers; see aesgcm.go for the representation of GHASH values.

// Each 128-bit lane reversed byte by byte.
DATA bswapMask<>+0x00(SB)/8, $0x08090a0b0c0d0e0f
DATA bswapMask<>+0x08(SB)/8, $0x0001020304050607
DATA bswapMask<>+0x10(SB)/8, $0x08090a0b0c0d0e0f
DATA bswapMask<>+0x18(SB)/8, $0x0001020304050607
DATA bswapMask<>+0x20(SB)/8, $0x08090a0b0c0d0e0f
DATA bswapMask<>+0x28(SB)/8, $0x0001020304050607
DATA bswapMask<>+0x30(SB)/8, $0x08090a0b0c0d0e0f
DATA bswapMask<>+0x38(SB)/8, $0x0001020304050607
GLOBL bswapMask<>(SB), RODATA|NOPTR, $64

// Lane j's counter (the low dword of a byte-reversed counter block) plus j.
DATA ctrLanes<>+0x00(SB)/8, $0
DATA ctrLanes<>+0x08(SB)/8, $0
DATA ctrLanes<>+0x10(SB)/8, $1
DATA ctrLanes<>+0x18(SB)/8, $0
DATA ctrLanes<>+0x20(SB)/8, $2
DATA ctrLanes<>+0x28(SB)/8, $0
DATA ctrLanes<>+0x30(SB)/8, $3
DATA ctrLanes<>+0x38(SB)/8, $0
GLOBL ctrLanes<>(SB), RODATA|NOPTR, $64

// Every lane's counter plus 4.
DATA ctrFour<>+0x00(SB)/8, $4
DATA ctrFour<>+0x08(SB)/8, $0
DATA ctrFour<>+0x10(SB)/8, $4
DATA ctrFour<>+0x18(SB)/8, $0
DATA ctrFour<>+0x20(SB)/8, $4
DATA ctrFour<>+0x28(SB)/8, $0
DATA ctrFour<>+0x30(SB)/8, $4
DATA ctrFour<>+0x38(SB)/8, $0
GLOBL ctrFour<>(SB), RODATA|NOPTR, $64

// The reflected GHASH polynomial's low 128 bits: y^127 + y^126 + y^121 + 1.
DATA gfPoly<>+0x00(SB)/8, $1
DATA gfPoly<>+0x08(SB)/8, $0xc200000000000000
GLOBL gfPoly<>(SB), RODATA|NOPTR, $16

// SETUP takes the arguments of sealBlocks and openBlocks (k, dst, src, n, ctr, y) into AX,
// DI, SI, CX, DX and BX, and loads the constants, the counters from ctr, the powers of H
// from k and the GHASH state from y.
#define SETUP \
	MOVQ k+0(FP), AX; \
	MOVQ dst+8(FP), DI; \
	MOVQ src+16(FP), SI; \
	MOVQ n+24(FP), CX; \
	MOVQ ctr+32(FP), DX; \
	MOVQ y+40(FP), BX; \
	VMOVDQU64 bswapMask<>(SB), Z25; \
	VMOVDQU64 ctrFour<>(SB), Z24; \
	VMOVDQU64 gfPoly<>(SB), X26; \
	VBROADCASTI32X4 (DX), Z8; \
	VPSHUFB Z25, Z8, Z8; \
	VPADDD ctrLanes<>(SB), Z8, Z8; \
	VMOVDQU64 960(AX), Z10; \
	VMOVDQU64 1024(AX), Z11; \
	VMOVDQU64 1088(AX), Z12; \
	VMOVDQU64 1152(AX), Z13; \
	VMOVDQU64 (BX), X20

// expandKey256's two halves of a double round (FIPS 197 5.2 for Nk = 8): X2 holds
// AESKEYGENASSIST's output; X1 and X3 are the last two round keys; X4 is scratch.
#define EXPAND_EVEN \
	PSHUFD $0xff, X2, X2; \
	MOVO X1, X4; PSLLO $4, X4; PXOR X4, X1; \
	PSLLO $4, X4; PXOR X4, X1; \
	PSLLO $4, X4; PXOR X4, X1; \
	PXOR X2, X1

#define EXPAND_ODD \
	AESKEYGENASSIST $0x00, X1, X4; \
	PSHUFD $0xaa, X4, X2; \
	MOVO X3, X4; PSLLO $4, X4; PXOR X4, X3; \
	PSLLO $4, X4; PXOR X4, X3; \
	PSLLO $4, X4; PXOR X4, X3; \
	PXOR X2, X3

#define EXPAND_PAIR(rcon, off) \
	AESKEYGENASSIST $rcon, X3, X2; \
	EXPAND_EVEN; MOVOU X1, off(DI); \
	EXPAND_ODD; MOVOU X3, off+16(DI)

// func expandKey256(key *[32]byte, rk *[15][16]byte)
TEXT ·expandKey256(SB), NOSPLIT, $0-16
	MOVQ key+0(FP), AX
	MOVQ rk+8(FP), DI
	MOVOU 0(AX), X1
	MOVOU 16(AX), X3
	MOVOU X1, 0(DI)
	MOVOU X3, 16(DI)
	EXPAND_PAIR(0x01, 32)
	EXPAND_PAIR(0x02, 64)
	EXPAND_PAIR(0x04, 96)
	EXPAND_PAIR(0x08, 128)
	EXPAND_PAIR(0x10, 160)
	EXPAND_PAIR(0x20, 192)
	AESKEYGENASSIST $0x40, X3, X2
	EXPAND_EVEN
	MOVOU X1, 224(DI)
	PXOR X1, X1
	PXOR X2, X2
	PXOR X3, X3
	PXOR X4, X4
	RET

// func encryptBlock(rk *[15][64]byte, dst, src *[16]byte)
TEXT ·encryptBlock(SB), NOSPLIT, $0-24
	MOVQ rk+0(FP), AX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	MOVOU (SI), X0
	MOVOU 0(AX), X1
	PXOR X1, X0
	MOVOU 64(AX), X1
	AESENC X1, X0
	MOVOU 128(AX), X1
	AESENC X1, X0
	MOVOU 192(AX), X1
	AESENC X1, X0
	MOVOU 256(AX), X1
	AESENC X1, X0
	MOVOU 320(AX), X1
	AESENC X1, X0
	MOVOU 384(AX), X1
	AESENC X1, X0
	MOVOU 448(AX), X1
	AESENC X1, X0
	MOVOU 512(AX), X1
	AESENC X1, X0
	MOVOU 576(AX), X1
	AESENC X1, X0
	MOVOU 640(AX), X1
	AESENC X1, X0
	MOVOU 704(AX), X1
	AESENC X1, X0
	MOVOU 768(AX), X1
	AESENC X1, X0
	MOVOU 832(AX), X1
	AESENC X1, X0
	MOVOU 896(AX), X1
	AESENCLAST X1, X0
	MOVOU X0, (DI)
	PXOR X0, X0
	PXOR X1, X1
	RET

// REDUCE(lo, mi, hi, poly, t): hi = (lo + mi*y^64 + hi*y^128) * y^-128 mod the polynomial
// (Montgomery reduction, 64 bits at a time); lo, mi and t are clobbered.
#define REDUCE(lo, mi, hi, poly, t) \
	VPCLMULQDQ $0x01, lo, poly, t; \
	VPSHUFD $0x4e, lo, lo; \
	VPTERNLOGD $0x96, t, lo, mi; \
	VPCLMULQDQ $0x01, mi, poly, t; \
	VPSHUFD $0x4e, mi, mi; \
	VPTERNLOGD $0x96, t, mi, hi

// func ghashBlocks(y *[16]byte, h *[16]byte, p *byte, n int)
// y = (...((y + p[0])*h + p[1])*h ...)*h over the n/16 whole blocks of p.
TEXT ·ghashBlocks(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), AX
	MOVQ h+8(FP), BX
	MOVQ p+16(FP), SI
	MOVQ n+24(FP), CX
	VMOVDQU (AX), X0
	VMOVDQU (BX), X1
	VMOVDQU bswapMask<>(SB), X2
	VMOVDQU gfPoly<>(SB), X3

ghashLoop:
	CMPQ CX, $16
	JB   ghashDone
	VMOVDQU (SI), X4
	VPSHUFB X2, X4, X4
	VPXOR X4, X0, X0
	VPCLMULQDQ $0x00, X1, X0, X5
	VPCLMULQDQ $0x11, X1, X0, X7
	VPCLMULQDQ $0x01, X1, X0, X6
	VPCLMULQDQ $0x10, X1, X0, X8
	VPXOR X8, X6, X6
	REDUCE(X5, X6, X7, X3, X8)
	VMOVDQA X7, X0
	ADDQ $16, SI
	SUBQ $16, CX
	JMP  ghashLoop

ghashDone:
	VMOVDQU X0, (AX)
	VZEROUPPER
	RET

// COUNTERS: Z0-Z3 = the next 16 counter blocks; Z8 (byte-reversed counters of lanes 0-3)
// advances by 16.
#define COUNTERS \
	VPSHUFB Z25, Z8, Z0; VPADDD Z24, Z8, Z8; \
	VPSHUFB Z25, Z8, Z1; VPADDD Z24, Z8, Z8; \
	VPSHUFB Z25, Z8, Z2; VPADDD Z24, Z8, Z8; \
	VPSHUFB Z25, Z8, Z3; VPADDD Z24, Z8, Z8

#define ROUND(off) \
	VMOVDQU64 off(AX), Z9; \
	VAESENC Z9, Z0, Z0; VAESENC Z9, Z1, Z1; VAESENC Z9, Z2, Z2; VAESENC Z9, Z3, Z3

// ENCRYPT: Z0-Z3 = AES-256 of Z0-Z3 under the broadcast round keys at AX.
#define ENCRYPT \
	VMOVDQU64 0(AX), Z9; \
	VPXORQ Z9, Z0, Z0; VPXORQ Z9, Z1, Z1; VPXORQ Z9, Z2, Z2; VPXORQ Z9, Z3, Z3; \
	ROUND(64); ROUND(128); ROUND(192); ROUND(256); ROUND(320); ROUND(384); ROUND(448); \
	ROUND(512); ROUND(576); ROUND(640); ROUND(704); ROUND(768); ROUND(832); \
	VMOVDQU64 896(AX), Z9; \
	VAESENCLAST Z9, Z0, Z0; VAESENCLAST Z9, Z1, Z1; VAESENCLAST Z9, Z2, Z2; VAESENCLAST Z9, Z3, Z3

#define MULACC(h, d) \
	VPCLMULQDQ $0x00, h, d, Z17; VPXORQ Z17, Z14, Z14; \
	VPCLMULQDQ $0x11, h, d, Z17; VPXORQ Z17, Z16, Z16; \
	VPCLMULQDQ $0x01, h, d, Z17; VPCLMULQDQ $0x10, h, d, Z18; VPTERNLOGD $0x96, Z17, Z18, Z15

// GHASH16(a, b, c, d): X20 = GHASH state after the 16 blocks in a-d, with the powers
// H^16..H^1 in Z10-Z13. Clobbers Z4-Z7, Z14-Z18.
#define GHASH16(a, b, c, d) \
	VPSHUFB Z25, a, Z4; VPSHUFB Z25, b, Z5; VPSHUFB Z25, c, Z6; VPSHUFB Z25, d, Z7; \
	VPXORQ Z20, Z4, Z4; \
	VPCLMULQDQ $0x00, Z10, Z4, Z14; \
	VPCLMULQDQ $0x11, Z10, Z4, Z16; \
	VPCLMULQDQ $0x01, Z10, Z4, Z15; \
	VPCLMULQDQ $0x10, Z10, Z4, Z17; \
	VPXORQ Z17, Z15, Z15; \
	MULACC(Z11, Z5); MULACC(Z12, Z6); MULACC(Z13, Z7); \
	VEXTRACTI64X4 $1, Z14, Y17; VPXORQ Y17, Y14, Y14; VEXTRACTI32X4 $1, Y14, X17; VPXORQ X17, X14, X14; \
	VEXTRACTI64X4 $1, Z15, Y17; VPXORQ Y17, Y15, Y15; VEXTRACTI32X4 $1, Y15, X17; VPXORQ X17, X15, X15; \
	VEXTRACTI64X4 $1, Z16, Y17; VPXORQ Y17, Y16, Y16; VEXTRACTI32X4 $1, Y16, X17; VPXORQ X17, X16, X16; \
	REDUCE(X14, X15, X16, X26, X17); \
	VMOVDQA64 X16, X20

// FINISH stores the next counter block to ctr (DX) and the GHASH state to y (BX).
#define FINISH \
	VPSHUFB Z25, Z8, Z0; \
	VMOVDQU64 X0, (DX); \
	VMOVDQU64 X20, (BX); \
	VZEROUPPER

// SEAL_STORE: the ciphertext of Z0-Z3 (keystream) and src (SI) to dst (DI) and Z27-Z30.
#define SEAL_STORE \
	VPXORQ 0(SI), Z0, Z27; \
	VPXORQ 64(SI), Z1, Z28; \
	VPXORQ 128(SI), Z2, Z29; \
	VPXORQ 192(SI), Z3, Z30; \
	VMOVDQU64 Z27, 0(DI); \
	VMOVDQU64 Z28, 64(DI); \
	VMOVDQU64 Z29, 128(DI); \
	VMOVDQU64 Z30, 192(DI)

// func sealBlocks(k *keys, dst, src *byte, n int, ctr, y *[16]byte)
// Encrypts n bytes (a multiple of 256) of src to dst from the counter block ctr and hashes
// the ciphertext into y; ctr is left at the next counter block.
TEXT ·sealBlocks(SB), NOSPLIT, $0-48
	SETUP

	CMPQ CX, $256
	JB   sealDone
	COUNTERS
	ENCRYPT
	SEAL_STORE
	JMP  sealNext

	// Each round encrypts the next 16 blocks while hashing the last 16 (Z27-Z30).
sealLoop:
	COUNTERS
	ENCRYPT
	GHASH16(Z27, Z28, Z29, Z30)
	SEAL_STORE

sealNext:
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $256, CX
	CMPQ CX, $256
	JAE  sealLoop
	GHASH16(Z27, Z28, Z29, Z30)

sealDone:
	FINISH
	RET

// func openBlocks(k *keys, dst, src *byte, n int, ctr, y *[16]byte)
// Hashes n bytes (a multiple of 256) of ciphertext at src into y and decrypts them to dst
// (which may be src) from the counter block ctr; ctr is left at the next counter block.
TEXT ·openBlocks(SB), NOSPLIT, $0-48
	SETUP

openLoop:
	CMPQ CX, $256
	JB   openDone
	VMOVDQU64 0(SI), Z27
	VMOVDQU64 64(SI), Z28
	VMOVDQU64 128(SI), Z29
	VMOVDQU64 192(SI), Z30
	COUNTERS
	ENCRYPT
	VPXORQ Z27, Z0, Z0
	VPXORQ Z28, Z1, Z1
	VPXORQ Z29, Z2, Z2
	VPXORQ Z30, Z3, Z3
	VMOVDQU64 Z0, 0(DI)
	VMOVDQU64 Z1, 64(DI)
	VMOVDQU64 Z2, 128(DI)
	VMOVDQU64 Z3, 192(DI)
	GHASH16(Z27, Z28, Z29, Z30)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $256, CX
	JMP  openLoop

openDone:
	FINISH
	RET
