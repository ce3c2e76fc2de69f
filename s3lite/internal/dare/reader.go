package dare

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// chacha20Poly1305 is the cipher suite byte of ChaCha20-Poly1305, which sio may write and
// Reader accepts; Writer writes AES-256-GCM only.
const chacha20Poly1305 = 0x01

// ErrTampered is matched (errors.Is) by every error of a Reader that means the stream is not
// one written under its key: damaged, cut short, reordered, altered, or read with the wrong
// key or sequence number. The errors of a stream cut short match io.ErrUnexpectedEOF too.
var ErrTampered = errors.New("dare: stream damaged or tampered with")

// Reader decrypts a DARE 2.0 stream. It accepts exactly the streams sio's DARE 2.0 decryption
// accepts: packages of version 0x20, all of the first one's cipher suite (AES-256-GCM or
// ChaCha20-Poly1305) and nonce, authentic under consecutive sequence numbers, every one but
// the final one full, the final one last and present. Like sio it checks a package only when
// its plaintext is asked for: a reader of a range that stops at the range's end succeeds
// even if the stream goes on past it, or stops there without its final package.
//
// It reads the stream into its buffer as many packages at a time as the buffer holds and
// decrypts each package once all of it is there: into the p of a Read that the whole
// plaintext fits into, else in place, to hand out from there. It is not safe for concurrent
// use.
type Reader struct {
	src     io.Reader
	key     []byte
	aead    cipher.AEAD // of the stream's cipher suite, made at its first header
	buf     []byte
	seq     uint32   // sequence number of the next package
	nonce   [12]byte // the first package's nonce, final flag clear
	iv      [12]byte // the AEAD nonce of the package being opened (here, so as not to allocate)
	suite   byte     // the first package's cipher suite
	started bool     // a package header was read: nonce and suite are set
	final   bool     // the final package is open
	off     int      // plaintext not yet handed out: buf[off:end]
	end     int
	next    int   // where the first unopened package starts in buf
	n       int   // bytes of the stream in buf
	eof     bool  // src has ended after buf[:n]
	rerr    error // src's error after buf[:n]
	err     error // sticky: io.EOF after the final package, or what stopped the stream
}

// NewReader returns a Reader of the DARE 2.0 stream read from r under the 32-byte key, whose
// first package has sequence number seq (0 unless the stream is read from the middle).
// buf, at least MaxPackage bytes, is the Reader's working memory: each read of r fills as
// much of it as r gives before its end, so a larger buf means fewer, larger reads. Each read
// but the first brings len(buf)/MaxPackage packages (it keeps the part of a package the last
// one brought): a multiple of MaxPackage wastes none of buf. The Reader keeps key, which must
// not change while it reads; the AEAD is made at the first header, for its cipher suite.
func NewReader(r io.Reader, key []byte, seq uint32, buf []byte) (*Reader, error) {
	if len(buf) < MaxPackage {
		return nil, errors.New("dare: the buffer must hold MaxPackage bytes")
	}
	if len(key) != 32 {
		return nil, errKeySize
	}
	return &Reader{src: r, key: key, buf: buf, seq: seq}, nil
}

// suiteAEAD returns the AEAD of cipher suite s under key, or nil for a suite sio does not
// know (which open refuses).
func suiteAEAD(s byte, key []byte) (cipher.AEAD, error) {
	switch s {
	case aes256GCM:
		return newAEAD(key)
	case chacha20Poly1305:
		return chacha20poly1305.New(key)
	}
	return nil, nil
}

// Read reads plaintext into p, and io.EOF once the final package's plaintext is read. Its
// errors other than src's match ErrTampered.
func (r *Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.off == r.end {
			var k int
			if r.err == nil {
				k, r.err = r.open(p[n:])
			}
			if r.err != nil {
				if n > 0 {
					return n, nil
				}
				return 0, r.err
			}
			if k > 0 { // opened straight into p
				n += k
				continue
			}
		}
		k := copy(p[n:], r.buf[r.off:r.end])
		r.off += k
		n += k
	}
	return n, nil
}

// WriteTo writes the plaintext to w from where it was decrypted, until the end of the
// stream (then nil) or an error.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var written int64
	for {
		if r.off == r.end {
			if r.err == nil {
				_, r.err = r.open(nil)
			}
			if r.err == io.EOF {
				return written, nil
			}
			if r.err != nil {
				return written, r.err
			}
		}
		k, err := w.Write(r.buf[r.off:r.end])
		if k < 0 || k > r.end-r.off {
			panic("dare: invalid Write result")
		}
		r.off += k
		written += int64(k)
		if err == nil && r.off < r.end {
			err = io.ErrShortWrite
		}
		if err != nil {
			return written, err
		}
	}
}

// open opens the next package, once the plaintext before it is all handed out: io.EOF if
// the final one was, and nothing follows it. A package whose plaintext fits into dst is
// opened there, saving Read a copy, and open returns its length; any other in place, for
// Read and WriteTo to hand out from buf.
func (r *Reader) open(dst []byte) (int, error) {
	avail := r.n - r.next
	if r.final {
		if avail == 0 {
			r.fill()
			avail = r.n - r.next
		}
		switch {
		case avail > 0:
			return 0, fmt.Errorf("%w: data after the final package", ErrTampered)
		case r.rerr != nil:
			return 0, r.rerr
		}
		return 0, io.EOF
	}

	if avail < HeaderSize {
		r.fill()
		avail = r.n - r.next
	}
	if avail < HeaderSize {
		switch {
		case r.rerr != nil:
			return 0, r.rerr
		case avail == 0:
			return 0, fmt.Errorf("%w: %w: the stream ends before its final package", ErrTampered, io.ErrUnexpectedEOF)
		}
		return 0, fmt.Errorf("%w: %w: the stream ends inside a package header", ErrTampered, io.ErrUnexpectedEOF)
	}
	h := r.buf[r.next : r.next+HeaderSize]
	var nonce [12]byte
	copy(nonce[:], h[4:])
	nonce[0] &^= finalFlag
	if !r.started {
		r.started = true
		r.nonce = nonce
		r.suite = h[1]
		aead, err := suiteAEAD(r.suite, r.key)
		if err != nil {
			return 0, err
		}
		r.aead = aead
	}
	payload := int(binary.LittleEndian.Uint16(h[2:4])) + 1
	final := h[4]&finalFlag != 0
	switch {
	case h[0] != version20:
		return 0, fmt.Errorf("%w: version 0x%02x, not 0x20", ErrTampered, h[0])
	case h[1] > chacha20Poly1305:
		return 0, fmt.Errorf("%w: unknown cipher suite 0x%02x", ErrTampered, h[1])
	case h[1] != r.suite:
		return 0, fmt.Errorf("%w: cipher suite 0x%02x in a stream of 0x%02x", ErrTampered, h[1], r.suite)
	case !final && payload != MaxPayload:
		return 0, fmt.Errorf("%w: a payload of %d bytes in a package that is not the final one", ErrTampered, payload)
	case nonce != r.nonce:
		return 0, fmt.Errorf("%w: a package's nonce differs from the stream's", ErrTampered)
	}

	// A package shorter than MaxPackage must end the stream: sio reads packages MaxPackage
	// bytes at a time and refuses a read that is not exactly one package. Whether one does is
	// known once the byte after it is in buf or src has ended.
	size := HeaderSize + payload + TagSize
	need := size
	if size < MaxPackage {
		need++
	}
	if avail < need {
		r.fill()
		avail = r.n - r.next
	}
	switch {
	case avail > size && size < MaxPackage:
		return 0, fmt.Errorf("%w: data after a short package", ErrTampered)
	case r.rerr != nil && avail < need:
		return 0, r.rerr
	case avail < size:
		return 0, fmt.Errorf("%w: %w: the stream ends inside a package", ErrTampered, io.ErrUnexpectedEOF)
	}

	h = r.buf[r.next : r.next+HeaderSize] // fill may have moved it
	copy(r.iv[:], h[4:])
	binary.LittleEndian.PutUint32(r.iv[8:], binary.LittleEndian.Uint32(r.iv[8:])^r.seq)
	ct := r.buf[r.next+HeaderSize : r.next+size]
	pt, direct := ct[:0], len(dst) >= payload
	if direct {
		pt = dst[:0]
	}
	if _, err := r.aead.Open(pt, r.iv[:], ct, h[:4]); err != nil {
		return 0, fmt.Errorf("%w: package %d is not authentic", ErrTampered, r.seq)
	}
	r.seq++
	r.final = final
	if direct {
		r.next += size
		return payload, nil
	}
	r.off, r.end = r.next+HeaderSize, r.next+HeaderSize+payload
	r.next += size
	return 0, nil
}

// fill moves the unopened bytes buf[next:n] to the front of buf and reads src after them
// until buf is full, src ends or src fails.
func (r *Reader) fill() {
	if r.eof || r.rerr != nil {
		return
	}
	if r.next > 0 {
		r.n = copy(r.buf, r.buf[r.next:r.n])
		r.off, r.end, r.next = 0, 0, 0
	}
	for r.n < len(r.buf) {
		k, err := r.src.Read(r.buf[r.n:])
		r.n += k
		if err == io.EOF {
			r.eof = true
			return
		}
		if err != nil {
			r.rerr = err
			return
		}
	}
}
