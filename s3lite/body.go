package s3lite

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/kmsbox/kmsbox/s3lite/internal/checksum"
	"github.com/kmsbox/kmsbox/s3lite/internal/dare"
)

func hexString(b []byte) string { return hex.EncodeToString(b) }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// bodyResult is what writeBody learned about the plaintext it stored.
type bodyResult struct {
	size    int64
	encSize int64
	md5     []byte
	sum     []byte // raw checksum of algo, nil for None
	hash    []byte // trailer hash of a plaintext body (partMeta.Hash)
}

// writeBody streams src into a new temp file, encrypting with key (nil =
// plaintext) as one DARE stream, hashing the plaintext with MD5 and algo.
// It never holds the body in memory. On success the caller verifies the
// result and then commits or discards the file.
func (s *Server) writeBody(ctx context.Context, src io.Reader, key []byte, nonce *[12]byte, algo checksum.Algorithm, limit int64) (*os.File, bodyResult, error) {
	var res bodyResult
	f, err := s.st.tempFile()
	if err != nil {
		return nil, res, err
	}
	fail := func(err error) (*os.File, bodyResult, error) {
		discard(f)
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = errors.Join(err, ctxErr)
		}
		return nil, res, err
	}
	// Plaintext goes to the file in the whole chunks copyHashed reads; an
	// encrypted body is sealed into a buffer that goes out in aligned blocks.
	fw := &fileWriter{f: f}
	var dst io.Writer = fw
	var enc *sealer
	var hw *hashingWriter
	if key == nil {
		hk, err := s.bodyHashKey(ctx)
		if err != nil {
			return fail(err)
		}
		hw = newHashingWriter(dst, hk)
		dst = hw
	} else {
		fw.useDirect() // the DARE writer writes aligned blocks but for the last
		enc = &sealer{s: s, dst: fw, key: key, nonce: nonce}
		defer enc.release()
		dst = enc
	}
	var md, sum hash.Hash
	release := func() {}
	defer func() { release() }()
	n, err := s.copyHashed(dst, io.LimitReader(src, limit+1), func(streamed bool) []hash.Hash {
		md, release = s.md5.get(streamed)
		hashes := []hash.Hash{md}
		if sum = algo.New(); sum != nil {
			hashes = append(hashes, sum)
		}
		return hashes
	})
	if err != nil {
		return fail(err)
	}
	if n > limit {
		return fail(errEntityTooLarge)
	}
	if enc != nil {
		if err := enc.Close(); err != nil { // copyHashed ended the stream; an empty one is empty
			return fail(err)
		}
	}
	if hw != nil {
		if res.hash, err = hw.finish(); err != nil {
			return fail(err)
		}
	}
	res.size = n
	res.md5 = md.Sum(nil)
	if sum != nil {
		res.sum = sum.Sum(nil)
	}
	res.encSize = hashedFileSize(res.size)
	if key != nil {
		res.encSize = encryptedSize(res.size)
	}
	return f, res, nil
}

// sealer encrypts a body as one DARE stream with a dare.Writer made at the
// first write, with the buffer the body needs: a body of one chunk (whose
// first write is its last, as copyHashed writes) seals into a pooled chunk
// in blocks of one package, a larger one into a sealBuf in sealBlocks:
// small uploads, the most common kind, hold a chunk, not a sealBuf.
type sealer struct {
	s     *Server
	dst   io.Writer
	key   []byte
	nonce *[12]byte
	w     *dare.Writer
	big   *sealBuf
	small *chunk
}

func (e *sealer) Write(p []byte) (int, error) {
	if err := e.open(false); err != nil {
		return 0, err
	}
	return e.w.Write(p)
}

func (e *sealer) WriteLast(p []byte) (int, error) {
	if err := e.open(true); err != nil {
		return 0, err
	}
	return e.w.WriteLast(p)
}

func (e *sealer) open(last bool) error {
	if e.w != nil {
		return nil
	}
	var err error
	if last {
		e.small = e.s.chunks.get()
		e.w, err = dare.NewWriter(e.dst, e.key, e.nonce, e.small[:], dare.MaxPayload)
	} else {
		e.big = e.s.seals.get()
		e.w, err = dare.NewWriter(e.dst, e.key, e.nonce, e.big[:], sealBlock)
	}
	return err
}

// Close ends the stream: a body with no write is an empty stream.
func (e *sealer) Close() error {
	if e.w == nil {
		return nil
	}
	return e.w.Close()
}

func (e *sealer) release() {
	if e.big != nil {
		e.s.seals.put(e.big)
	}
	if e.small != nil {
		e.s.chunks.put(e.small)
	}
}

// onlyReader hides WriterTo/ReaderFrom so CopyBuffer uses our buffer.
type onlyReader struct{ io.Reader }

// requestChecksum returns the checksum algorithm of an upload and the
// expected value, read from the header or, after the body, the trailer.
type requestChecksum struct {
	algo checksum.Algorithm
	want string
}

func parseRequestChecksum(h http.Header) (requestChecksum, error) {
	a, want, err := checksum.FromHeaders(h)
	return requestChecksum{algo: a, want: want}, err
}

// verify checks Content-MD5 and the checksum against what was received.
func (rc requestChecksum) verify(q *request, md5sum, sum []byte) error {
	if err := checksum.CheckContentMD5(q.r.Header.Get("Content-Md5"), md5sum); err != nil {
		if errors.Is(err, checksum.ErrBadDigest) {
			return errors.Join(errBadDigest, err)
		}
		return errors.Join(errInvalidDigest, err)
	}
	if rc.algo == checksum.None {
		return nil
	}
	want := rc.want
	if want == "" && q.auth.Trailer != nil {
		want = q.auth.Trailer.Get(rc.algo.Header())
	}
	if want == "" {
		return withMsg(errInvalidRequest, "The "+rc.algo.Header()+" trailer is missing.")
	}
	return checksum.Verify(rc.algo, sum, want)
}

// hasIntegrityHeader reports whether q carries Content-MD5 or an x-amz-checksum-* value
// (header or announced trailer), which S3 requires of DeleteObjects.
func hasIntegrityHeader(q *request) bool {
	h := q.r.Header
	if h.Get("Content-Md5") != "" || h.Get("X-Amz-Trailer") != "" {
		return true
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") && !strings.EqualFold(k, "x-amz-checksum-algorithm") && !strings.EqualFold(k, "x-amz-checksum-type") {
			return true
		}
	}
	return false
}

// verifyBodyIntegrity checks Content-MD5 and x-amz-checksum-* of a small
// body held in memory (DeleteObjects and other XML requests).
func verifyBodyIntegrity(q *request, data []byte) error {
	return verifyBodyIntegrityHeaders(q, q.r.Header, data)
}

// verifyBodyIntegrityHeaders is verifyBodyIntegrity taking the checksum
// headers from h.
func verifyBodyIntegrityHeaders(q *request, h http.Header, data []byte) error {
	rc, err := parseRequestChecksum(h)
	if err != nil {
		return err
	}
	sum := md5.Sum(data)
	var raw []byte
	if h := rc.algo.New(); h != nil {
		h.Write(data)
		raw = h.Sum(nil)
	}
	return rc.verify(q, sum[:], raw)
}

// storedHeaders are the request headers kept with an object and returned on GET/HEAD.
var storedHeaders = []string{"Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires", "X-Amz-Website-Redirect-Location"}

// setObjectHeaders sets the stored headers hdrs of an object on h. User metadata names
// go out lower-cased, as S3 stores them (records written before kept them canonical).
func setObjectHeaders(h http.Header, hdrs map[string]string) {
	for k, v := range hdrs {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-meta-") {
			h[lk] = []string{v}
		} else {
			h.Set(k, v)
		}
	}
}

// objectHeaders extracts the headers to store from an upload request.
func objectHeaders(h http.Header) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range storedHeaders {
		if v := h.Get(k); v != "" {
			out[k] = v
		}
	}
	if ce, ok := out["Content-Encoding"]; ok {
		var kept []string
		for _, e := range strings.Split(ce, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
				kept = append(kept, e)
			}
		}
		switch {
		case len(kept) == 0:
			delete(out, "Content-Encoding")
		case len(kept) != len(strings.Split(ce, ",")):
			out["Content-Encoding"] = strings.Join(kept, ",")
		} // else stored as sent: "deflate, gzip" stays "deflate, gzip"
	}
	size := 0
	for k, vs := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") {
			out[strings.ToLower(k)] = strings.Join(vs, ",")
			size += len(k) + len(vs[0])
		}
	}
	if size > 2048 {
		return nil, withMsg(errInvalidArgument, "Your metadata headers exceed the maximum allowed metadata size.")
	}
	return out, nil
}
