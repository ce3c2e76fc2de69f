package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"io"
)

// hashReader passes the body through and, at its end, compares its SHA-256 with the
// signed x-amz-content-sha256 value: a mismatch is ErrContentSHA256Mismatch instead of
// io.EOF.
type hashReader struct {
	src  io.ReadCloser
	h    hash.Hash
	want []byte
	err  error
}

func newHashReader(src io.ReadCloser, want []byte) *hashReader {
	return &hashReader{src: src, h: sha256.New(), want: want}
}

func (r *hashReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.src.Read(p)
	r.h.Write(p[:n])
	if err == io.EOF {
		if !hmac.Equal(r.h.Sum(nil), r.want) {
			err = ErrContentSHA256Mismatch
		}
	} else if err != nil {
		err = mapEOF(err)
	}
	r.err = err
	return n, err
}

func (r *hashReader) Close() error { return r.src.Close() }

// eofMapper reports a cut-off body as ErrIncompleteBody.
type eofMapper struct{ io.ReadCloser }

func (e eofMapper) Read(p []byte) (int, error) {
	n, err := e.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = mapEOF(err)
	}
	return n, err
}
