//go:build amd64 && !purego

package aesgcm

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"unsafe"

	"golang.org/x/sys/cpu"
)

var available = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL &&
	cpu.X86.HasAVX512VAES && cpu.X86.HasAVX512VPCLMULQDQ && cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ

// keys is what the assembly reads; its layout is fixed by the offsets there.
type keys struct {
	rk   [15][64]byte // AES-256 round keys, each in all four 128-bit lanes
	hpow [16][16]byte // H^16 ... H^1, reflected and multiplied by y (see the package doc)
}

//go:noescape
func expandKey256(key *[32]byte, rk *[15][16]byte)

//go:noescape
func encryptBlock(rk *[15][64]byte, dst, src *[16]byte)

//go:noescape
func ghashBlocks(y, h *[16]byte, p *byte, n int)

//go:noescape
func sealBlocks(k *keys, dst, src *byte, n int, ctr, y *[16]byte)

//go:noescape
func openBlocks(k *keys, dst, src *byte, n int, ctr, y *[16]byte)

// bulk is what the assembly takes at once: 16 blocks.
const bulk = 256

// maxText is GCM's limit on a message: 2^32 - 2 blocks.
const maxText = (1<<32 - 2) * 16

var errOpen = errors.New("cipher: message authentication failed")

// gcm is AES-256-GCM with the assembly. It encrypts single blocks (H, the tag mask, the
// counters of the last blocks) with its own round keys too: through crypto/aes's
// cipher.Block, an interface, every block on the stack would escape to the heap.
type gcm struct{ k keys }

func newGCM(key []byte) *gcm {
	g := new(gcm)
	var rk [15][16]byte
	expandKey256((*[32]byte)(key), &rk)
	for i := range rk {
		for l := 0; l < 4; l++ {
			copy(g.k.rk[i][16*l:], rk[i][:])
		}
	}
	clear(rk[:])

	// H = E(0); the hash key is H reflected, times y modulo the reflected polynomial.
	var h [16]byte
	encryptBlock(&g.k.rk, &h, &h)
	lo, hi := binary.BigEndian.Uint64(h[8:]), binary.BigEndian.Uint64(h[:8])
	carry := hi >> 63
	hi, lo = hi<<1|lo>>63, lo<<1
	hi ^= 0xc200000000000000 & -carry
	lo ^= 1 & -carry
	var h1 [16]byte
	binary.LittleEndian.PutUint64(h1[:8], lo)
	binary.LittleEndian.PutUint64(h1[8:], hi)
	clear(h[:])

	// H^i = H^(i-1) * H: hashing a zero block into a state of H^(i-1).
	var zero [16]byte
	p := h1
	g.k.hpow[15] = h1
	for i := 14; i >= 0; i-- {
		ghashBlocks(&p, &h1, &zero[0], 16)
		g.k.hpow[i] = p
	}
	return g
}

func (g *gcm) NonceSize() int { return NonceSize }
func (g *gcm) Overhead() int  { return TagSize }

func (g *gcm) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	checkNonce(nonce)
	if uint64(len(plaintext)) > maxText {
		panic("crypto/cipher: message too large for GCM")
	}
	ret, out := output(dst, len(plaintext)+TagSize, plaintext, additionalData)
	ct := out[:len(plaintext)]

	var ctr, mask, y [16]byte
	g.start(&ctr, &mask, nonce)
	g.ghash(&y, additionalData)
	n := len(plaintext) &^ (bulk - 1)
	if n > 0 {
		sealBlocks(&g.k, &ct[0], &plaintext[0], n, &ctr, &y)
	}
	g.ctrTail(ct[n:], plaintext[n:], &ctr)
	g.ghash(&y, ct[n:])
	g.finish(out[len(plaintext):], &y, &mask, len(additionalData), len(plaintext))
	return ret
}

func (g *gcm) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	checkNonce(nonce)
	if len(ciphertext) < TagSize || uint64(len(ciphertext)) > maxText+TagSize {
		return nil, errOpen
	}
	tag := ciphertext[len(ciphertext)-TagSize:]
	ciphertext = ciphertext[:len(ciphertext)-TagSize]
	ret, out := output(dst, len(ciphertext), ciphertext, additionalData)

	var ctr, mask, y [16]byte
	g.start(&ctr, &mask, nonce)
	g.ghash(&y, additionalData)
	n := len(ciphertext) &^ (bulk - 1)
	if n > 0 {
		openBlocks(&g.k, &out[0], &ciphertext[0], n, &ctr, &y)
	}
	g.ghash(&y, ciphertext[n:])
	g.ctrTail(out[n:], ciphertext[n:], &ctr)
	var want [TagSize]byte
	g.finish(want[:], &y, &mask, len(additionalData), len(ciphertext))
	if subtle.ConstantTimeCompare(want[:], tag) != 1 {
		clear(out)
		return nil, errOpen
	}
	return ret, nil
}

// start sets ctr to the first counter block of the message under nonce (J0 + 1) and mask
// to E(J0), which the tag is masked with.
func (g *gcm) start(ctr, mask *[16]byte, nonce []byte) {
	copy(ctr[:], nonce)
	ctr[15] = 1
	encryptBlock(&g.k.rk, mask, ctr)
	ctr[15] = 2
}

// ghash hashes p into y, its last partial block padded with zeros.
func (g *gcm) ghash(y *[16]byte, p []byte) {
	h := &g.k.hpow[15]
	if n := len(p) &^ 15; n > 0 {
		ghashBlocks(y, h, &p[0], n)
		p = p[n:]
	}
	if len(p) > 0 {
		var last [16]byte
		copy(last[:], p)
		ghashBlocks(y, h, &last[0], 16)
	}
}

// ctrTail encrypts (or decrypts) the fewer than 16 blocks after the bulk, block by block.
func (g *gcm) ctrTail(dst, src []byte, ctr *[16]byte) {
	var ks [16]byte
	for len(src) > 0 {
		encryptBlock(&g.k.rk, &ks, ctr)
		n := subtle.XORBytes(dst, src, ks[:])
		dst, src = dst[n:], src[n:]
		binary.BigEndian.PutUint32(ctr[12:], binary.BigEndian.Uint32(ctr[12:])+1)
	}
	clear(ks[:])
}

// finish hashes the lengths block and writes the tag: the hash, unreflected, masked.
func (g *gcm) finish(tag []byte, y, mask *[16]byte, aadLen, textLen int) {
	var lens [16]byte
	binary.BigEndian.PutUint64(lens[:8], uint64(aadLen)*8)
	binary.BigEndian.PutUint64(lens[8:], uint64(textLen)*8)
	ghashBlocks(y, &g.k.hpow[15], &lens[0], 16)
	for i := range TagSize {
		tag[i] = y[15-i] ^ mask[i]
	}
}

// checkNonce panics, as crypto/cipher's GCM does, on a nonce of the wrong size.
func checkNonce(nonce []byte) {
	if len(nonce) != NonceSize {
		panic("crypto/cipher: incorrect nonce length given to GCM")
	}
}

// output extends dst by n bytes for the output of a Seal or Open of in, panicking as
// crypto/cipher does if the new part overlaps in other than exactly, or overlaps aad: the
// whole and the new part.
func output(dst []byte, n int, in, aad []byte) (ret, out []byte) {
	ret, out = sliceForAppend(dst, n)
	if inexactOverlap(out, in) {
		panic("crypto/cipher: invalid buffer overlap of output and input")
	}
	if anyOverlap(out, aad) {
		panic("crypto/cipher: invalid buffer overlap of output and additional data")
	}
	return ret, out
}

// sliceForAppend extends in by n bytes, reallocating if needed: the whole and the new part.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

// anyOverlap tells whether x and y share memory.
func anyOverlap(x, y []byte) bool {
	return len(x) > 0 && len(y) > 0 &&
		uintptr(unsafe.Pointer(&x[0])) <= uintptr(unsafe.Pointer(&y[len(y)-1])) &&
		uintptr(unsafe.Pointer(&y[0])) <= uintptr(unsafe.Pointer(&x[len(x)-1]))
}

// inexactOverlap tells whether x and y share memory other than by starting at one place,
// which in-place encryption and decryption do.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	return anyOverlap(x, y)
}
