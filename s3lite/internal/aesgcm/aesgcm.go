// Package aesgcm is AES-256-GCM for the DARE packages of s3lite, with the bulk of every
// message done 16 blocks at a time by VAES and VPCLMULQDQ on 512-bit registers where the
// CPU has them (AVX-512 F, BW and VL with VAES and VPCLMULQDQ), and by crypto/cipher's GCM
// everywhere else. Its output is crypto/cipher's, byte for byte.
//
// Why by hand: Go's own AES-GCM (Go 1.26) uses the 128-bit AES-NI and PCLMULQDQ
// instructions only. Decrypting and encrypting object bodies is half of a large GET's CPU
// and a sixth of a large PUT's, and the 512-bit instructions do the same work in about
// half the time. No maintained Go module offers them; the tests hold this package to
// crypto/cipher on every length, alignment and overlap they try, and fuzz it.
//
// The GHASH values live in registers in the bit-reflected form that lets PCLMULQDQ work on
// them: a block is loaded byte-reversed, so that the coefficient of x^i of the GF(2^128)
// element (bit 7-i%8 of byte i/8 in the GCM specification) is bit 127-i of the register.
// In that form, the carry-less product of two elements is their product with the bits in
// reverse order over 255 bits, so the hash key is kept multiplied by y (the form's x^-1)
// and the 256-bit products are reduced by Montgomery reduction (multiplying by y^-128), two
// 64-bit steps with the polynomial's low half, y^127 + y^126 + y^121 + 1. Sixteen blocks
// are multiplied by H^16 ... H^1 and summed before one reduction.
package aesgcm

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
)

const (
	// KeySize is the key size: AES-256.
	KeySize = 32
	// NonceSize is the nonce size GCM is used with here.
	NonceSize = 12
	// TagSize is the size of the authentication tag.
	TagSize = 16
)

// New returns AES-256-GCM under the 32-byte key with 12-byte nonces and 16-byte tags.
func New(key []byte) (cipher.AEAD, error) { return newAEAD(key, available) }

func newAEAD(key []byte, fast bool) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, errors.New("aesgcm: the key must have 32 bytes (AES-256)")
	}
	if !fast {
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(b)
	}
	return newGCM(key), nil
}
