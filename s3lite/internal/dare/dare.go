// Package dare writes and reads DARE 2.0 streams, the format of github.com/minio/sio: Writer
// seals each package straight into the caller's write buffer, Reader opens each package in
// place in the caller's read buffer.
//
// Both exist for object bodies, where sio's shape costs copies and small reads; sio stays the
// reference they are tested against. sio's EncryptWriter seals each 64 KiB package into a
// buffer of its own and hands it to the destination, and holds the last package of every Write
// back (copying it) because it cannot know whether that package ends the stream. An upload's
// body, though, goes to disk in page-aligned whole blocks (O_DIRECT), so the packages had to
// be copied once more into an aligned block: 1.25 copies of the body, about 9 % of an upload's
// CPU. Here the caller says which write ends the stream ([Writer.WriteLast]), every package is
// sealed once, where it will be written from, and the only copy left is the part of a package
// that overhangs a block boundary (at most one package per two blocks).
//
// sio's DecryptReader reads the stream one package (64 KiB) per read of its source, into a
// buffer of its own. Reader reads as many packages as its buffer holds with each read (n to
// a buffer of n·MaxPackage bytes: 4 to 256 KiB and 128 bytes, 3 to 256 KiB), decrypts
// each package once all of it is there, straight into the caller's buffer if the plaintext
// fits ([Reader.Read]) or where it lies, and hands the plaintext out from there
// ([Reader.WriteTo] without a copy). It accepts exactly the streams sio's DARE 2.0 decryption
// accepts and fails where sio fails, handing out the same plaintext first; like sio it checks
// a package only when its plaintext is asked for, so that a read of a range that stops at the
// range's end succeeds whatever follows. Tests and a fuzz test check it against sio byte for
// byte and error for error.
//
// The format (sio's DARE.md): a stream is a sequence of packages, each a 16-byte header
// (version 0x20, cipher 0x00 for AES-256-GCM, payload length - 1 as little-endian uint16, and
// a 12-byte nonce whose first bit marks the final package), the AEAD ciphertext of 1 to
// 64 KiB of payload and its 16-byte tag. Every package but the final one carries 64 KiB, and
// every one the stream's nonce and cipher suite; sio may also write cipher 0x01,
// ChaCha20-Poly1305, which Reader accepts as sio does, while Writer writes AES-256-GCM only.
// The AEAD nonce is the header's nonce with its last four bytes XORed with the package's
// sequence number (little-endian); the additional data is the header's first four bytes.
// Tests check every stream Writer makes against sio's decryption and against sio's own
// encryption of the same plaintext under the same nonce, byte for byte.
//
// The AES-256-GCM of both is s3lite/internal/aesgcm's: twice crypto/cipher's speed where
// the CPU has 512-bit VAES, crypto/cipher's elsewhere, and its output either way.
package dare

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"

	"github.com/kmsbox/kmsbox/s3lite/internal/aesgcm"
)

const (
	// HeaderSize is the size of a package header.
	HeaderSize = 16
	// TagSize is the size of a package's authentication tag.
	TagSize = 16
	// MaxPayload is the payload of every package but the final one.
	MaxPayload = 64 << 10
	// MaxPackage is the size of a package with a full payload.
	MaxPackage = HeaderSize + MaxPayload + TagSize

	version20 = 0x20
	aes256GCM = 0x00
	finalFlag = 0x80
)

// ErrNotFinal is what Close returns for a stream whose last write was not WriteLast and ended
// on a package boundary: its last package is already sealed as not final.
var ErrNotFinal = errors.New("dare: stream ended without a final package (use WriteLast)")

// errKeySize refuses a key of other than 32 bytes.
var errKeySize = errors.New("dare: the key must have 32 bytes (AES-256)")

// errClosed is what a write after the end of the stream returns.
var errClosed = errors.New("dare: write after the end of the stream")

// BufferSize is the buffer size NewWriter needs for a write block of block bytes.
func BufferSize(block int) int { return 2*block + MaxPackage }

// Writer seals a DARE 2.0 stream into buf and writes it to the destination in whole blocks
// of the size given to NewWriter, at block-aligned offsets of buf, so an aligned buf gives
// aligned writes; the stream's last write is shorter. It is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	aead    cipher.AEAD
	nonce   [12]byte // the stream's nonce, final flag clear
	iv      [12]byte // the AEAD nonce of the package being sealed (here, so as not to allocate)
	seq     uint32   // sequence number of the next package
	buf     []byte
	block   int
	n       int   // sealed bytes in buf
	flushed int   // bytes of buf already written: a multiple of block
	open    int   // payload bytes of the package being filled, at buf[n+HeaderSize:]
	final   bool  // the final package is sealed
	ended   bool  // the stream is written out
	err     error // sticky write error
}

// NewWriter returns a Writer of one stream under the 32-byte key, with the given nonce (nil: a
// random one, as sio does), that writes to w through buf, which must hold BufferSize(block)
// bytes. Writes are aligned if buf and block are.
func NewWriter(w io.Writer, key []byte, nonce *[12]byte, buf []byte, block int) (*Writer, error) {
	if block <= 0 || len(buf) < BufferSize(block) {
		return nil, errors.New("dare: the block must be positive and the buffer hold BufferSize(block) bytes")
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	dw := &Writer{w: w, aead: aead, buf: buf[:BufferSize(block)], block: block}
	if nonce != nil {
		dw.nonce = *nonce
	} else if _, err := rand.Read(dw.nonce[:]); err != nil {
		return nil, err
	}
	dw.nonce[0] &^= finalFlag
	return dw, nil
}

// newAEAD returns the AES-256-GCM AEAD of the 32-byte key: the one place both Writer and
// Reader make it.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, errKeySize
	}
	return aesgcm.New(key)
}

// Write seals p, which the stream continues after: every whole package at once, a partial
// one once later writes fill it (or WriteLast or Close end the stream with it).
func (w *Writer) Write(p []byte) (int, error) { return w.write(p, false) }

// WriteLast seals p as the end of the stream, its last package final, and writes out
// everything. An empty p ends the stream with what came before.
func (w *Writer) WriteLast(p []byte) (int, error) { return w.write(p, true) }

// Close ends the stream if WriteLast has not: the partial package being filled becomes the
// final one. A stream that ended on a whole package without WriteLast cannot be ended any
// more (ErrNotFinal); an empty stream is empty, as with sio.
func (w *Writer) Close() error {
	if w.ended || w.err != nil {
		return w.err
	}
	_, err := w.write(nil, true)
	return err
}

func (w *Writer) write(p []byte, last bool) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.ended {
		return 0, errClosed
	}
	written := 0
	for len(p) > 0 {
		if w.n+MaxPackage > len(w.buf) {
			w.compact()
		}
		pkg := w.buf[w.n:]
		switch {
		case w.open == 0 && (len(p) > MaxPayload || len(p) == MaxPayload && !last):
			// A whole package with more to follow: sealed from p.
			w.seal(pkg, p[:MaxPayload], false)
			p = p[MaxPayload:]
			written += MaxPayload
		case w.open == 0 && last:
			// The final package, whole or not: sealed from p.
			w.seal(pkg, p, true)
			written += len(p)
			p = nil
		default:
			// Fill the package begun by an earlier write; sealed in place once whole.
			k := copy(pkg[HeaderSize+w.open:HeaderSize+MaxPayload], p)
			w.open += k
			p = p[k:]
			written += k
			if w.open == MaxPayload && (len(p) > 0 || !last) {
				w.open = 0
				w.seal(pkg, pkg[HeaderSize:HeaderSize+MaxPayload], false)
			}
		}
		if err := w.flush(false); err != nil {
			return written, err
		}
	}
	if !last {
		return written, nil
	}
	if w.open > 0 {
		pkg := w.buf[w.n:]
		n := w.open
		w.open = 0
		w.seal(pkg, pkg[HeaderSize:HeaderSize+n], true)
	}
	if w.seq > 0 && !w.final { // packages sealed, none of them final
		w.err = ErrNotFinal
		return written, w.err
	}
	w.ended = true
	return written, w.flush(true)
}

// seal writes the package of payload (which may lie in pkg itself, at its payload offset)
// at the start of pkg, and counts it.
func (w *Writer) seal(pkg, payload []byte, final bool) {
	h := pkg[:HeaderSize]
	h[0] = version20
	h[1] = aes256GCM
	binary.LittleEndian.PutUint16(h[2:4], uint16(len(payload)-1))
	copy(h[4:], w.nonce[:])
	if final {
		h[4] |= finalFlag
		w.final = true
	}
	copy(w.iv[:], h[4:])
	binary.LittleEndian.PutUint32(w.iv[8:], binary.LittleEndian.Uint32(w.iv[8:])^w.seq)
	w.aead.Seal(pkg[HeaderSize:HeaderSize], w.iv[:], payload, h[:4])
	w.seq++
	w.n += HeaderSize + len(payload) + TagSize
}

// flush writes the whole blocks sealed so far; at the end of the stream, everything.
func (w *Writer) flush(end bool) error {
	for w.n-w.flushed >= w.block {
		if err := w.out(w.buf[w.flushed : w.flushed+w.block]); err != nil {
			return err
		}
		w.flushed += w.block
	}
	if end && w.n > w.flushed {
		if err := w.out(w.buf[w.flushed:w.n]); err != nil {
			return err
		}
		w.flushed = w.n
	}
	return nil
}

func (w *Writer) out(b []byte) error {
	if _, err := w.w.Write(b); err != nil {
		w.err = err
		return err
	}
	return nil
}

// compact moves what is not yet written (less than a block of sealed bytes, and the package
// being filled) to the start of buf, keeping the write offsets block-aligned.
func (w *Writer) compact() {
	end := w.n
	if w.open > 0 {
		end += HeaderSize + w.open
	}
	copy(w.buf, w.buf[w.flushed:end])
	w.n -= w.flushed
	w.flushed = 0
}
