package checksum

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
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

// Errors of the package.
var (
	// ErrInvalidAlgorithm: an unknown algorithm name, a malformed checksum value, or more
	// than one checksum on a request (S3 InvalidRequest / InvalidArgument).
	ErrInvalidAlgorithm = errors.New("checksum: invalid checksum algorithm")
	// ErrBadDigest: a checksum or Content-MD5 does not match the data (S3 BadDigest).
	ErrBadDigest = errors.New("checksum: digest does not match")
	// ErrInvalidDigest: a Content-MD5 header that is not base64 of 16 bytes (S3 InvalidDigest).
	ErrInvalidDigest = errors.New("checksum: invalid Content-MD5")
)

var names = [...]string{None: "", CRC32: "CRC32", CRC32C: "CRC32C", CRC64NVME: "CRC64NVME", SHA1: "SHA1", SHA256: "SHA256"}

// Parse returns the algorithm named name ("CRC32", "crc32c", ...), case-insensitively.
// An unknown or empty name is ErrInvalidAlgorithm.
func Parse(name string) (Algorithm, error) {
	for a := CRC32; a <= SHA256; a++ {
		if strings.EqualFold(name, names[a]) {
			return a, nil
		}
	}
	return None, ErrInvalidAlgorithm
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
		return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	}
	return nil
}

// FromHeaders returns the single checksum a request carries: the algorithm of its one
// x-amz-checksum-* header and that header's value, or (with want == "") the algorithm an
// x-amz-trailer or x-amz-sdk-checksum-algorithm header names when the value comes later
// in the aws-chunked trailer. No checksum is (None, "", nil); more than one, an unknown
// algorithm or a malformed value is ErrInvalidAlgorithm.
func FromHeaders(h http.Header) (a Algorithm, want string, err error) {
	return None, "", nil
}

// Encode returns sum as S3 transmits checksums: standard base64.
func Encode(sum []byte) string { return base64.StdEncoding.EncodeToString(sum) }

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

// Size returns the length in bytes of a raw a sum (4 for CRC32), 0 for None.
func (a Algorithm) Size() int {
	if h := a.New(); h != nil {
		return h.Size()
	}
	return 0
}

// Decode parses a base64 checksum value of algorithm a, checking its length. A malformed
// value is an error that matches ErrInvalidAlgorithm (S3 answers it with 400 InvalidRequest).
func Decode(a Algorithm, value string) ([]byte, error) {
	return nil, ErrInvalidAlgorithm
}

// Verify compares sum (the raw sum of the data, from a.New) with want (its base64 value as
// the client sent it) in constant time: ErrBadDigest on mismatch, ErrInvalidAlgorithm if
// want is malformed.
func Verify(a Algorithm, sum []byte, want string) error {
	return nil
}

// PartSum is one part of a multipart upload for FullObjectCRC: its raw CRC and its
// plaintext size.
type PartSum struct {
	Sum  []byte
	Size int64
}

// FullObjectCRC combines the CRCs of consecutive parts into the CRC of the whole object
// (the FULL_OBJECT checksum), without reading the data again, as zlib's crc32_combine does.
// Only CRC32, CRC32C and CRC64NVME combine; other algorithms are ErrInvalidAlgorithm.
func FullObjectCRC(a Algorithm, parts []PartSum) ([]byte, error) {
	return nil, ErrInvalidAlgorithm
}

// ParseContentMD5 decodes a Content-MD5 header value: base64 of 16 bytes, else
// ErrInvalidDigest.
func ParseContentMD5(v string) ([]byte, error) {
	return nil, ErrInvalidDigest
}

// CheckContentMD5 compares the Content-MD5 header value v with the MD5 md5sum of the body:
// nil if v is empty or matches, ErrInvalidDigest if v is malformed, ErrBadDigest on mismatch.
func CheckContentMD5(v string, md5sum []byte) error {
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
