package checksum

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Algorithm is an S3 additional-checksum algorithm.
type Algorithm int

// The algorithms S3 supports. None is the zero value: no checksum.
const (
	None Algorithm = iota
	CRC32
	CRC32C
	CRC64NVME
	SHA1
	SHA256
)

// Errors of the package; callers match them with errors.Is.
var (
	// ErrInvalidAlgorithm: an unknown algorithm name, a malformed checksum value, or more
	// than one checksum on a request (S3: 400 InvalidRequest, e.g. "Expecting a single
	// x-amz-checksum- header. Multiple checksum Types are not allowed." or "Value for
	// x-amz-checksum-crc32 header is invalid.").
	ErrInvalidAlgorithm = errors.New("checksum: invalid checksum")
	// ErrBadDigest: a checksum or Content-MD5 does not match the data (S3: 400 BadDigest).
	ErrBadDigest = errors.New("checksum: digest does not match")
	// ErrInvalidDigest: a Content-MD5 header that is not base64 of 16 bytes (S3: 400
	// InvalidDigest).
	ErrInvalidDigest = errors.New("checksum: invalid Content-MD5")
)

// crc64NVMEPoly is the CRC-64/NVME polynomial 0xad93d23594c93659 in the bit-reversed
// form hash/crc64 takes.
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5

var names = [...]string{None: "", CRC32: "CRC32", CRC32C: "CRC32C", CRC64NVME: "CRC64NVME", SHA1: "SHA1", SHA256: "SHA256"}

// Parse returns the algorithm named name ("CRC32", "crc32c", ...), case-insensitively.
// An unknown or empty name is ErrInvalidAlgorithm.
func Parse(name string) (Algorithm, error) {
	for a := CRC32; a <= SHA256; a++ {
		if strings.EqualFold(name, names[a]) {
			return a, nil
		}
	}
	return None, fmt.Errorf("%w: unknown algorithm %q", ErrInvalidAlgorithm, name)
}

// String returns the S3 name of a ("CRC32", ...), "" for None.
func (a Algorithm) String() string {
	if a < 0 || int(a) >= len(names) {
		return "Algorithm(" + strconv.Itoa(int(a)) + ")"
	}
	return names[a]
}

// Header returns the request/response header carrying a's value ("x-amz-checksum-crc32"),
// "" for None.
func (a Algorithm) Header() string {
	if a <= None || int(a) >= len(names) {
		return ""
	}
	return "x-amz-checksum-" + strings.ToLower(names[a])
}

// New returns a fresh hash computing a; it returns nil for None.
func (a Algorithm) New() hash.Hash {
	switch a {
	case CRC32:
		return crc32.NewIEEE()
	case CRC32C:
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case CRC64NVME:
		return crc64.New(crc64.MakeTable(crc64NVMEPoly))
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	}
	return nil
}

// Size returns the length in bytes of a raw a sum (4 for CRC32), 0 for None.
func (a Algorithm) Size() int {
	switch a {
	case CRC32, CRC32C:
		return crc32.Size
	case CRC64NVME:
		return crc64.Size
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	}
	return 0
}

// Sum returns the raw checksum of b.
func (a Algorithm) Sum(b []byte) []byte {
	h := a.New()
	if h == nil {
		return nil
	}
	h.Write(b)
	return h.Sum(nil)
}

// nonValueHeaders are x-amz-checksum-* headers that carry no checksum value.
var nonValueHeaders = map[string]bool{
	"x-amz-checksum-algorithm": true, // CreateMultipartUpload
	"x-amz-checksum-type":      true, // COMPOSITE / FULL_OBJECT
	"x-amz-checksum-mode":      true, // GetObject/HeadObject: ENABLED
}

// FromHeaders returns the single checksum a request carries: the algorithm of its one
// x-amz-checksum-<alg> header and that header's base64 value, or, with want == "", the
// algorithm the x-amz-trailer header names when the value comes later (in the
// aws-chunked trailer; the caller reads it from sigv4's Auth.Trailer after the body and
// checks it with Verify). x-amz-sdk-checksum-algorithm, which the SDKs send alongside,
// must agree. No checksum at all is (None, "", nil).
//
// Errors match ErrInvalidAlgorithm: more than one checksum (headers or trailer), an
// unknown x-amz-checksum-* algorithm (never silently unverified), a malformed value (not
// base64 of the algorithm's size), x-amz-sdk-checksum-algorithm naming another
// algorithm, or naming one with neither a checksum header nor a trailer (as S3 answers:
// "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or
// x-amz-trailer headers were found").
func FromHeaders(h http.Header) (a Algorithm, want string, err error) {
	for k, vs := range h {
		lk := strings.ToLower(k)
		name, ok := strings.CutPrefix(lk, "x-amz-checksum-")
		if !ok || nonValueHeaders[lk] {
			continue
		}
		alg, err := Parse(name)
		if err != nil {
			return None, "", fmt.Errorf("%w: unsupported checksum header %s", ErrInvalidAlgorithm, lk)
		}
		if a != None || len(vs) != 1 {
			return None, "", fmt.Errorf("%w: expecting a single x-amz-checksum- header; multiple checksum types are not allowed", ErrInvalidAlgorithm)
		}
		if _, err := Decode(alg, vs[0]); err != nil {
			return None, "", err
		}
		a, want = alg, vs[0]
	}
	for _, v := range h.Values("X-Amz-Trailer") {
		for _, n := range strings.Split(v, ",") {
			n = strings.ToLower(strings.TrimSpace(n))
			name, ok := strings.CutPrefix(n, "x-amz-checksum-")
			if !ok {
				continue
			}
			alg, err := Parse(name)
			if err != nil {
				return None, "", fmt.Errorf("%w: unsupported trailer %s", ErrInvalidAlgorithm, n)
			}
			if a != None {
				return None, "", fmt.Errorf("%w: expecting a single x-amz-checksum- header; multiple checksum types are not allowed", ErrInvalidAlgorithm)
			}
			a = alg
		}
	}
	if v := h.Get("X-Amz-Sdk-Checksum-Algorithm"); v != "" {
		alg, err := Parse(v)
		if err != nil {
			return None, "", err
		}
		if a == None {
			return None, "", fmt.Errorf("%w: x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found", ErrInvalidAlgorithm)
		}
		if a != alg {
			return None, "", fmt.Errorf("%w: x-amz-sdk-checksum-algorithm %s does not match the %s checksum sent", ErrInvalidAlgorithm, alg, a)
		}
	}
	return a, want, nil
}

// Encode returns sum as S3 transmits checksums: standard base64.
func Encode(sum []byte) string { return base64.StdEncoding.EncodeToString(sum) }

// Decode parses a base64 checksum value of algorithm a, checking its length. A malformed
// value is an error that matches ErrInvalidAlgorithm (S3 answers it with 400 InvalidRequest).
func Decode(a Algorithm, value string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(value)
	if err != nil || a.Size() == 0 || len(b) != a.Size() {
		return nil, fmt.Errorf("%w: value for %s is invalid", ErrInvalidAlgorithm, a.Header())
	}
	return b, nil
}

// Verify compares sum (the raw sum of the data, from a.New) with want (its base64 value as
// the client sent it) in constant time: ErrBadDigest on mismatch, ErrInvalidAlgorithm if
// want is malformed.
func Verify(a Algorithm, sum []byte, want string) error {
	w, err := Decode(a, want)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(w, sum) != 1 {
		return fmt.Errorf("%w: the %s you specified did not match the calculated checksum", ErrBadDigest, a.Header())
	}
	return nil
}

// Composite returns the multipart COMPOSITE checksum S3 reports for a completed upload:
// base64(a(concatenation of the raw part sums)) + "-" + the number of parts.
func Composite(a Algorithm, parts [][]byte) string {
	h := a.New()
	if h == nil {
		return ""
	}
	for _, p := range parts {
		h.Write(p)
	}
	return Encode(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
}

// PartSum is one part of a multipart upload for FullObjectCRC: its raw CRC and its
// plaintext size.
type PartSum struct {
	Sum  []byte
	Size int64
}

// FullObjectCRC combines the CRCs of consecutive parts into the CRC of the whole object
// (the FULL_OBJECT checksum S3 returns with x-amz-checksum-mode: ENABLED), without
// reading the data again: crc(A||B) = crc(A)·x^(8·len(B)) mod P xor crc(B), the
// zlib crc32_combine identity, evaluated with square-and-multiply in GF(2)[x]/P in the
// reflected bit order of these CRCs. Only CRC32, CRC32C and CRC64NVME combine; other
// algorithms and malformed part sums are ErrInvalidAlgorithm. No parts is the CRC of
// the empty string.
func FullObjectCRC(a Algorithm, parts []PartSum) ([]byte, error) {
	var poly uint64
	var width uint
	switch a {
	case CRC32:
		poly, width = uint64(crc32.IEEE), 32
	case CRC32C:
		poly, width = uint64(crc32.Castagnoli), 32
	case CRC64NVME:
		poly, width = crc64NVMEPoly, 64
	default:
		return nil, fmt.Errorf("%w: %s checksums do not combine", ErrInvalidAlgorithm, a)
	}
	var crc uint64
	for i, p := range parts {
		if len(p.Sum) != a.Size() || p.Size < 0 {
			return nil, fmt.Errorf("%w: part %d has a malformed checksum", ErrInvalidAlgorithm, i+1)
		}
		var c uint64
		if width == 32 {
			c = uint64(binary.BigEndian.Uint32(p.Sum))
		} else {
			c = binary.BigEndian.Uint64(p.Sum)
		}
		crc = gfMul(crc, xPow8n(uint64(p.Size), poly, width), poly, width) ^ c
	}
	if width == 32 {
		return binary.BigEndian.AppendUint32(nil, uint32(crc)), nil
	}
	return binary.BigEndian.AppendUint64(nil, crc), nil
}

// gfMul multiplies a and b modulo the reflected polynomial poly of the given width; in
// the reflected order the top bit is x^0.
func gfMul(a, b, poly uint64, width uint) uint64 {
	m := uint64(1) << (width - 1)
	var p uint64
	for a != 0 {
		if a&m != 0 {
			p ^= b
			a ^= m
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ poly
		} else {
			b >>= 1
		}
	}
	return p
}

// xPow8n returns x^(8n) mod poly by square-and-multiply.
func xPow8n(n, poly uint64, width uint) uint64 {
	one := uint64(1) << (width - 1)
	r := one
	sq := gfMul(one>>1, one>>1, poly, width) // x^2
	sq = gfMul(sq, sq, poly, width)          // x^4
	sq = gfMul(sq, sq, poly, width)          // x^8
	for ; n != 0; n >>= 1 {
		if n&1 != 0 {
			r = gfMul(sq, r, poly, width)
		}
		sq = gfMul(sq, sq, poly, width)
	}
	return r
}

// ParseContentMD5 decodes a Content-MD5 header value: base64 of 16 bytes, else
// ErrInvalidDigest.
func ParseContentMD5(v string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil || len(b) != md5.Size {
		return nil, fmt.Errorf("%w: the Content-MD5 you specified was invalid", ErrInvalidDigest)
	}
	return b, nil
}

// CheckContentMD5 compares the Content-MD5 header value v with the MD5 md5sum of the body:
// nil if v is empty or matches, ErrInvalidDigest if v is malformed, ErrBadDigest on mismatch.
func CheckContentMD5(v string, md5sum []byte) error {
	if v == "" {
		return nil
	}
	want, err := ParseContentMD5(v)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want, md5sum) != 1 {
		return fmt.Errorf("%w: the Content-MD5 you specified did not match what we received", ErrBadDigest)
	}
	return nil
}

// Reader hashes everything read through it with MD5 (for the ETag) and, unless the
// algorithm is None, with one checksum algorithm. It never buffers.
type Reader struct {
	r   io.Reader
	a   Algorithm
	h   hash.Hash
	md5 hash.Hash
	n   int64
}

// NewReader returns a Reader over r computing MD5 and a.
func NewReader(r io.Reader, a Algorithm) *Reader {
	return &Reader{r: r, a: a, h: a.New(), md5: md5.New()}
}

// Read reads from the underlying reader, hashing what it returns.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.md5.Write(p[:n])
		if r.h != nil {
			r.h.Write(p[:n])
		}
		r.n += int64(n)
	}
	return n, err
}

// Algorithm returns the checksum algorithm the Reader computes.
func (r *Reader) Algorithm() Algorithm { return r.a }

// N returns the number of bytes read so far.
func (r *Reader) N() int64 { return r.n }

// Sum returns the raw checksum of the bytes read so far, nil for None.
func (r *Reader) Sum() []byte {
	if r.h == nil {
		return nil
	}
	return r.h.Sum(nil)
}

// MD5 returns the raw MD5 of the bytes read so far.
func (r *Reader) MD5() []byte { return r.md5.Sum(nil) }
