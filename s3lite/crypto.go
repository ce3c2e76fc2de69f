package s3lite

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"

	"github.com/kmsbox/kmsbox/s3lite/internal/dare"
	"github.com/minio/sio"
)

// The object encryption scheme of MinIO (spec minio-kms.md section 3).
const (
	darePayload = 64 << 10         // plaintext bytes per DARE package
	darePackage = darePayload + 32 // encrypted bytes per full package
	sealAlgo    = "DAREv2-HMAC-SHA256"
)

// SSE types, also the seal domains.
const (
	sseS3  = "SSE-S3"
	sseKMS = "SSE-KMS"
	sseC   = "SSE-C"
)

// Internal metadata keys (never sent to clients).
const (
	metaSealAlgo     = "X-Minio-Internal-Server-Side-Encryption-Seal-Algorithm"
	metaIV           = "X-Minio-Internal-Server-Side-Encryption-Iv"
	metaS3Sealed     = "X-Minio-Internal-Server-Side-Encryption-S3-Sealed-Key"
	metaKMSSealed    = "X-Minio-Internal-Server-Side-Encryption-Kms-Sealed-Key"
	metaCSealed      = "X-Minio-Internal-Server-Side-Encryption-Sealed-Key"
	metaKeyID        = "X-Minio-Internal-Server-Side-Encryption-S3-Kms-Key-Id"
	metaKEKSealed    = "X-Minio-Internal-Server-Side-Encryption-S3-Kms-Sealed-Key"
	metaContext      = "X-Minio-Internal-Server-Side-Encryption-Context"
	metaMultipart    = "X-Minio-Internal-Encrypted-Multipart"
	metaCustomerAlgo = "X-Kmsbox-Internal-Customer-Algorithm"
	metaKeyARN       = "X-Kmsbox-Internal-Kms-Key-Arn" // the key id was sent in arn form
)

var sealedKeyMeta = map[string]string{sseS3: metaS3Sealed, sseKMS: metaKMSSealed, sseC: metaCSealed}

// sseTypeOf returns the SSE type recorded in internal metadata, "" if plain.
func sseTypeOf(meta map[string]string) string {
	for _, t := range []string{sseS3, sseKMS, sseC} {
		if meta[sealedKeyMeta[t]] != "" {
			return t
		}
	}
	return ""
}

func hmacSum(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// newObjectKey derives a fresh OEK from kek.
func newObjectKey(kek []byte) ([]byte, error) {
	var r [32]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, err
	}
	return hmacSum(kek, []byte("object-encryption-key generation"), r[:]), nil
}

func sealKey(kek, iv []byte, domain, bucket, object string) []byte {
	return hmacSum(kek, iv, []byte(domain), []byte(sealAlgo), []byte(path.Join(bucket, object)))
}

func dareConfig(key []byte) sio.Config {
	return sio.Config{MinVersion: sio.Version20, MaxVersion: sio.Version20, Key: key}
}

// sealObjectKey binds oek to kek and bucket/object: returns IV and the
// 64-byte sealed key.
func sealObjectKey(oek, kek []byte, domain, bucket, object string) (iv, sealed []byte, err error) {
	iv = make([]byte, 32)
	if _, err := rand.Read(iv); err != nil {
		return nil, nil, err
	}
	if sealed, err = sealSmall(sealKey(kek, iv, domain, bucket, object), oek); err != nil {
		return nil, nil, err
	}
	return iv, sealed, nil
}

// sealSmall encrypts a short message (a key, an ETag) as one DARE 2.0
// stream under key. sio.Encrypt would allocate a package-sized (64 KiB)
// copy buffer on every call, twice per upload; sio's writer takes its
// buffer from sio's pool and gives it back on Close.
func sealSmall(key, msg []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(msg) + 32)
	w, err := sio.EncryptWriter(&buf, dareConfig(key))
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(msg); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// errUnseal means a sealed key did not open: wrong key or wrong binding.
var errUnseal = errors.New("s3lite: sealed object key does not open")

func unsealObjectKey(kek, iv, sealed []byte, domain, bucket, object string) ([]byte, error) {
	if len(iv) != 32 || len(sealed) != 64 {
		return nil, errUnseal
	}
	oek, err := sio.DecryptBuffer(nil, sealed, dareConfig(sealKey(kek, iv, domain, bucket, object)))
	if err != nil || len(oek) != 32 {
		return nil, errUnseal
	}
	return oek, nil
}

// partKey is the data key of multipart part n (0 = single-part object: the OEK).
func partKey(oek []byte, n int) []byte {
	if n == 0 {
		return oek
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(n))
	return hmacSum(oek, b[:])
}

// partNonce is the DARE stream nonce of multipart part n.
func partNonce(uploadID string, n int) *[12]byte {
	sum := sha256.Sum256([]byte(uploadID + strconv.Itoa(n)))
	var nonce [12]byte
	copy(nonce[:], sum[:12])
	return &nonce
}

// sealETag encrypts a raw ETag under the OEK's ETag key (48 bytes for an MD5).
func sealETag(oek, etag []byte) ([]byte, error) {
	return sealSmall(hmacSum(oek, []byte("SSE-etag")), etag)
}

// encryptedSize is the DARE 2.0 size of n plaintext bytes.
func encryptedSize(n int64) int64 {
	return n/darePayload*darePackage + func() int64 {
		if r := n % darePayload; r > 0 {
			return r + 32
		}
		return 0
	}()
}

// kmsContext returns the context bytes for the KMS: ctx (may be nil) plus
// {"<bucket>":"<bucket>/<object>"} unless ctx has the bucket key, as a
// JSON object with sorted keys (Go's encoding/json, HTML-safe escaping).
func kmsContext(ctx map[string]string, bucket, object string) []byte {
	m := make(map[string]string, len(ctx)+1)
	for k, v := range ctx {
		m[k] = v
	}
	if _, ok := m[bucket]; !ok {
		m[bucket] = path.Join(bucket, object)
	}
	b, _ := json.Marshal(m)
	return b
}

// readPackages is how many DARE packages a read of an encrypted body takes
// from its file at once, and decrypts in place: the most a pooled chunk holds.
const readPackages = chunkSize / dare.MaxPackage

// tamperedReader turns DARE authentication failures into errObjectTampered.
type tamperedReader struct{ r io.Reader }

func (t tamperedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	var se sio.Error
	if errors.As(err, &se) || errors.Is(err, dare.ErrTampered) {
		err = errors.Join(errObjectTampered, err)
	}
	return n, err
}

// checkRecordSize refuses (errObjectTampered) a record whose object size is
// not the sum of its part sizes, as every record written has it: an edited
// size would make GET answer a prefix of the object, or HEAD a wrong
// length. The part sizes are then checked against the files as they open.
func checkRecordSize(m *objectMeta) error {
	if len(m.Parts) == 0 {
		return fmt.Errorf("%w: record lists no body", errObjectTampered)
	}
	var sum int64
	for _, p := range m.Parts {
		if p.Size < 0 || p.Size > maxObjectSize {
			return fmt.Errorf("%w: part %d records %d bytes", errObjectTampered, p.Number, p.Size)
		}
		sum += p.Size
	}
	if sum != m.Size {
		return fmt.Errorf("%w: record says %d bytes, its parts %d", errObjectTampered, m.Size, sum)
	}
	return nil
}

// segment is the part of one body file a read needs.
type segment struct {
	part     partMeta
	key      []byte   // nil: plaintext
	hashKey  []byte   // plaintext with block hashes: their key
	fileSize int64    // the size the part's record implies for its file
	start    int64    // plaintext offset within the part
	length   int64    // plaintext bytes wanted
	f        *os.File // opened by preopen, nil otherwise
}

// rangeReader streams plaintext [off, off+length) of an object, opening one
// part file at a time and decrypting only the DARE packages it needs.
type rangeReader struct {
	st   *store
	pool *chunkPool
	buf  *chunk       // lent by pool for the readers of bodies, returned by Close
	last bytes.Reader // the plaintext openLast returns
	segs []segment
	cur  io.Reader
	f    io.Closer
	left int64
}

// newRangeReader reads [off, off+length) of m, whose sizes checkRecordSize
// accepted. A read of the whole object opens every part file, empty ones
// included, so that each file's size is checked against its record
// (a part's size lowered to 0 would otherwise go unnoticed); a range opens
// only the parts it overlaps.
func (s *Server) newRangeReader(m *objectMeta, oek, hashKey []byte, off, length int64) *rangeReader {
	rr := &rangeReader{st: s.st, pool: &s.chunks}
	encrypted := sseTypeOf(m.SSE) != ""
	whole := off == 0 && length == m.Size
	var cum int64
	end := off + length
	for _, p := range m.Parts {
		pStart, pEnd := cum, cum+p.Size
		cum = pEnd
		if !whole && (pEnd <= off || pStart >= end || p.Size == 0) {
			continue
		}
		seg := segment{part: p, fileSize: p.Size, start: max(off, pStart) - pStart}
		seg.length = min(end, pEnd) - pStart - seg.start
		if encrypted {
			seg.fileSize = encryptedSize(p.Size)
		} else if p.Hash != nil {
			seg.fileSize = hashedFileSize(p.Size)
			seg.hashKey = hashKey
		}
		if oek != nil {
			seg.key = partKey(oek, p.Number)
		}
		rr.segs = append(rr.segs, seg)
	}
	return rr
}

// openSegment opens the body file of seg, refusing it (errObjectTampered)
// unless both the file and the record's stored size are what the part's
// plaintext size implies. Every object ever written satisfies this:
// writeBody records EncSize as the plaintext size or encryptedSize of it,
// and the file holds exactly the bytes written.
func (rr *rangeReader) openSegment(seg *segment) (*os.File, error) {
	if seg.part.EncSize != seg.fileSize {
		return nil, fmt.Errorf("%w: part %d records %d stored bytes for %d plaintext bytes", errObjectTampered, seg.part.Number, seg.part.EncSize, seg.part.Size)
	}
	return rr.st.openFile(seg.part.File, seg.fileSize)
}

// statAll checks, without opening them, that the body files of the read exist with the
// sizes their records imply (HEAD).
func (rr *rangeReader) statAll() error {
	for i := range rr.segs {
		seg := &rr.segs[i]
		if seg.part.EncSize != seg.fileSize {
			return fmt.Errorf("%w: part %d records %d stored bytes for %d plaintext bytes", errObjectTampered, seg.part.Number, seg.part.EncSize, seg.part.Size)
		}
		if err := rr.st.statFile(seg.part.File, seg.fileSize); err != nil {
			return err
		}
	}
	return nil
}

// maxPreopen bounds the part files a read opens before answering.
const maxPreopen = 256

// preopen opens the first files of the read, so that a concurrent
// overwrite (which removes replaced bodies) cannot pull them away later:
// an open file stays readable after its name is gone. It checks their
// sizes too, so that a mismatch in any of them is an S3 error before the
// response starts; a file past maxPreopen is checked when the stream
// reaches it, which then aborts the stream.
func (rr *rangeReader) preopen() error {
	for i := range rr.segs[:min(len(rr.segs), maxPreopen)] {
		f, err := rr.openSegment(&rr.segs[i])
		if err != nil {
			return err
		}
		rr.segs[i].f = f
	}
	return nil
}

func (rr *rangeReader) open() error {
	seg := rr.segs[0]
	rr.segs = rr.segs[1:]
	f := seg.f
	if f == nil {
		var err error
		if f, err = rr.openSegment(&seg); err != nil {
			return err
		}
	}
	rr.f = f
	rr.left = seg.length
	if seg.length == 0 { // an empty part, opened only to check its size
		return nil
	}
	if seg.key == nil && seg.part.Hash != nil {
		if seg.hashKey == nil {
			return fmt.Errorf("%w: no body hash key", errInternal)
		}
		if rr.buf == nil {
			rr.buf = rr.pool.get()
		}
		hr, err := newHashedReader(f, seg.hashKey, seg.part.Size, seg.part.Hash, seg.start, seg.length, rr.buf[:])
		if err != nil {
			return err
		}
		rr.cur = hr
		return nil
	}
	if seg.key == nil {
		rr.cur = io.NewSectionReader(f, seg.start, seg.length)
		return nil
	}
	pkg := seg.start / darePayload
	skip := seg.start % darePayload
	encOff := pkg * darePackage
	encEnd := min(((seg.start+seg.length-1)/darePayload+1)*darePackage, seg.part.EncSize)
	cfg := dareConfig(seg.key)
	cfg.SequenceNumber = uint32(pkg)
	if encEnd == seg.part.EncSize && encEnd-encOff <= darePackage {
		r, err := rr.openLast(f, cfg, encOff, encEnd, skip, seg.length)
		if err != nil {
			return err
		}
		rr.cur = r
		return nil
	}
	if rr.buf == nil {
		rr.buf = rr.pool.get()
	}
	dr, err := dare.NewReader(io.NewSectionReader(f, encOff, encEnd-encOff), seg.key, uint32(pkg), rr.buf[:readPackages*dare.MaxPackage])
	if err != nil {
		return err
	}
	r := io.Reader(tamperedReader{dr})
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, r, skip); err != nil {
			return truncated(err)
		}
	}
	rr.cur = r
	return nil
}

// openLast returns plaintext [skip, skip+length) of the last DARE package of
// a body, which spans file bytes [off, end): all a read of a small object or
// of an object's tail needs. It decrypts the package at once in the reader's
// pooled chunk (ciphertext in the first half, plaintext in the second), where
// sio's stream reader would take a 64 KiB buffer that it gives back only
// when a read goes on to the end of the stream, which a read of exactly its
// range never does: garbage of 64 KiB per small GET.
func (rr *rangeReader) openLast(f *os.File, cfg sio.Config, off, end, skip, length int64) (io.Reader, error) {
	if rr.buf == nil {
		rr.buf = rr.pool.get()
	}
	ct := rr.buf[:end-off]
	if _, err := f.ReadAt(ct, off); err != nil {
		return nil, truncated(err)
	}
	pt, err := sio.DecryptBuffer(rr.buf[chunkSize/2:chunkSize/2], ct, cfg)
	if err != nil {
		var se sio.Error
		if errors.As(err, &se) {
			err = errors.Join(errObjectTampered, err)
		}
		return nil, err
	}
	if int64(len(pt)) < skip+length {
		return nil, truncated(io.ErrUnexpectedEOF)
	}
	rr.last.Reset(pt[skip : skip+length])
	return &rr.last, nil
}

func truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.Join(errObjectTampered, io.ErrUnexpectedEOF)
	}
	return err
}

func (rr *rangeReader) Read(p []byte) (int, error) {
	for rr.cur == nil || rr.left == 0 {
		if rr.f != nil {
			rr.f.Close()
			rr.f, rr.cur = nil, nil
		}
		if len(rr.segs) == 0 {
			return 0, io.EOF
		}
		if err := rr.open(); err != nil {
			return 0, truncated(err)
		}
	}
	if int64(len(p)) > rr.left {
		p = p[:rr.left]
	}
	n, err := rr.cur.Read(p)
	rr.left -= int64(n)
	if err == io.EOF {
		if rr.left > 0 {
			return n, truncated(err)
		}
		err = nil
	}
	return n, err
}

func (rr *rangeReader) Close() error {
	for _, seg := range rr.segs {
		if seg.f != nil {
			seg.f.Close()
		}
	}
	rr.segs = nil
	if rr.buf != nil {
		rr.pool.put(rr.buf)
		rr.buf = nil
	}
	if rr.f != nil {
		return rr.f.Close()
	}
	return nil
}
