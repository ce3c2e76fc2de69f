package s3lite

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kmsbox/kmsbox/s3lite/internal/checksum"
)

// copySource is the object an x-amz-copy-source header names, read for copying.
type copySource struct {
	bucket, key string
	meta        *objectMeta
	oek         []byte
	version     string // the versionId named, "" for the current version
}

// openCopySource resolves x-amz-copy-source, evaluates the
// x-amz-copy-source-if-* conditions and unseals the source key (SSE-C via
// the x-amz-copy-source-server-side-encryption-customer-* headers).
func (s *Server) openCopySource(q *request) (*copySource, error) {
	raw := q.r.Header.Get("X-Amz-Copy-Source")
	raw, query, _ := strings.Cut(raw, "?")
	vid, err := copySourceVersion(query)
	if err != nil {
		return nil, err
	}
	p, err := url.PathUnescape(raw)
	if err != nil {
		return nil, withMsg(errInvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	b, k, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !ok || k == "" || !validBucketName(b) {
		return nil, withMsg(errInvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	if err := checkObjectKey(k); err != nil {
		return nil, err
	}
	m, err := s.copySourceRecord(q, b, k, vid)
	if err != nil {
		return nil, err
	}
	if err := checkRecordSize(m); err != nil {
		return nil, err
	}
	h := q.r.Header
	cond := http.Header{}
	for _, c := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := h.Get("X-Amz-Copy-Source-" + c); v != "" {
			cond.Set(c, v)
		}
	}
	if err := checkPreconditions(cond, m.ETag, m.ModTime); err != nil {
		return nil, errPreconditionFailed
	}
	ssec, err := parseSSEC(h, hdrSSECopyPrefix, q.r.TLS != nil)
	if err != nil {
		return nil, err
	}
	oek, err := s.objectKey(q.r.Context(), m.SSE, b, k, ssec)
	if err != nil {
		return nil, err
	}
	return &copySource{bucket: b, key: k, meta: m, oek: oek, version: vid}, nil
}

// withCopySource resolves the copy source and runs fn with it. A concurrent
// PUT of the source may remove its body files between the record read and
// their opening: fn then fails with os.ErrNotExist and retryVanished
// resolves and reads the source again, as GetObject does. A retry is always
// safe: fn answers and commits only after the whole source was read, and a
// failed read leaves no temp file.
func (s *Server) withCopySource(q *request, fn func(*copySource) error) error {
	var bucket, key, vid string
	err := retryVanished(func() error {
		src, err := s.openCopySource(q)
		if err != nil {
			return err
		}
		bucket, key, vid = src.bucket, src.key, src.version
		return fn(src)
	}, func() bool { return true })
	return s.missingIsTampered(q.r.Context(), bucket, key, vid, err)
}

// openSourceRange returns a reader of the plaintext [off, off+length) of
// src with its first body files already open, so that an overwrite landing
// later cannot pull them away.
func (s *Server) openSourceRange(ctx context.Context, src *copySource, off, length int64) (*rangeReader, error) {
	hk, err := s.bodyHashKeyOf(ctx, src.meta)
	if err != nil {
		return nil, err
	}
	rr := s.newRangeReader(src.meta, src.oek, hk, off, length)
	if err := rr.preopen(); err != nil {
		rr.Close()
		return nil, err
	}
	return rr, nil
}

// copyObject answers CopyObject: the plaintext streams from the source
// through a fresh object key for the destination (keys are bound to
// bucket/object, so every copy re-encrypts).
func (s *Server) copyObject(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	return s.withCopySource(q, func(src *copySource) error { return s.copyObjectFrom(w, q, bi, src) })
}

// copyObjectFrom is one attempt of copyObject, reading src.
func (s *Server) copyObjectFrom(w http.ResponseWriter, q *request, bi bucketInfo, src *copySource) error {
	var err error
	directive := q.r.Header.Get("X-Amz-Metadata-Directive")
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		return withMsg(errInvalidArgument, "Unknown metadata directive.")
	}
	sreq, err := parseSSE(q.r)
	if err != nil {
		return err
	}
	if src.bucket == q.bucket && src.key == q.key && src.version == "" && directive != "REPLACE" && sreq.typ == "" && sseTypeOf(src.meta.SSE) != sseC {
		return withMsg(errInvalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	hdrs := src.meta.Header
	if directive == "REPLACE" {
		if hdrs, err = objectHeaders(q.r.Header); err != nil {
			return err
		}
	}
	tags, err := copyTags(q.r.Header, src.meta.Tags)
	if err != nil {
		return err
	}
	opts, err := s.writeOptionsOf(q, bi, tags)
	if err != nil {
		return err
	}
	algo, _ := checksum.Parse(src.meta.ChecksumAlgo)
	if v := q.r.Header.Get("X-Amz-Checksum-Algorithm"); v != "" {
		if algo, err = checksum.Parse(v); err != nil {
			return err
		}
	}
	if sreq, err = s.resolveSSE(sreq, bi); err != nil {
		return err
	}
	oc, err := s.newEncryption(q.r.Context(), sreq, q.bucket, q.key)
	if err != nil {
		return err
	}
	var key []byte
	if oc != nil {
		key = oc.oek
	}
	rr, err := s.openSourceRange(q.r.Context(), src, 0, src.meta.Size)
	if err != nil {
		return err
	}
	defer rr.Close()
	f, res, err := s.writeBody(q.r.Context(), rr, key, nil, algo, maxObjectSize)
	if err != nil {
		return err
	}
	if res.size != src.meta.Size {
		discard(f)
		return errors.Join(errObjectTampered, errors.New("copy source changed size"))
	}
	m, err := s.singlePartObject(q.r.Context(), q.key, hdrs, f, res, oc, algo)
	if err != nil {
		return err
	}
	opts.apply(m)
	m.versioning = bi.Versioning
	old, err := s.st.putObject(q.r.Context(), q.bucket, m, writeCondition(q.r.Header))
	if err != nil {
		s.st.removeFiles([]string{m.Parts[0].File})
		return err
	}
	s.st.removeFiles(old)
	setSSEHeaders(w.Header(), m.SSE, &sreq)
	setExpirationHeader(w.Header(), bi.Lifecycle, lifecycleObjectOf(m), m.ModTime)
	setVersionHeader(w.Header(), m)
	setCopySourceVersionHeader(w.Header(), src.meta)
	out := copyObjectResult{Xmlns: s3NS, LastModified: s3Time(m.ModTime), ETag: `"` + m.ETag + `"`}
	out.setChecksum(m.ChecksumAlgo, m.Checksum)
	writeXML(w, http.StatusOK, out)
	return nil
}

// uploadPartCopy answers UploadPartCopy, with an optional
// x-amz-copy-source-range.
func (s *Server) uploadPartCopy(w http.ResponseWriter, q *request) error {
	return s.withCopySource(q, func(src *copySource) error { return s.uploadPartCopyFrom(w, q, src) })
}

// uploadPartCopyFrom is one attempt of uploadPartCopy, reading src.
func (s *Server) uploadPartCopyFrom(w http.ResponseWriter, q *request, src *copySource) error {
	var err error
	off, length := int64(0), src.meta.Size
	if v := q.r.Header.Get("X-Amz-Copy-Source-Range"); v != "" {
		if off, length, err = parseCopyRange(v, src.meta.Size); err != nil {
			return err
		}
	}
	rr, err := s.openSourceRange(q.r.Context(), src, off, length)
	if err != nil {
		return err
	}
	defer rr.Close()
	p, u, err := s.storePart(q, rr, requestChecksum{}, func(res bodyResult) error {
		if res.size != length {
			return errors.Join(errObjectTampered, errors.New("copy source changed size"))
		}
		return nil
	})
	if err != nil {
		return err
	}
	ssec, _ := parseSSEC(q.r.Header, hdrSSECPrefix, q.r.TLS != nil)
	setSSEHeaders(w.Header(), u.SSE, ssec)
	setCopySourceVersionHeader(w.Header(), src.meta)
	writeXML(w, http.StatusOK, copyPartResult{Xmlns: s3NS, LastModified: s3Time(p.ModTime), ETag: `"` + p.ETag + `"`})
	return nil
}

// parseCopyRange parses "bytes=first-last", which must lie inside size.
func parseCopyRange(v string, size int64) (int64, int64, error) {
	spec, ok := strings.CutPrefix(v, "bytes=")
	first, last, ok2 := strings.Cut(spec, "-")
	a, err1 := strconv.ParseInt(first, 10, 64)
	b, err2 := strconv.ParseInt(last, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil || a < 0 || b < a {
		return 0, 0, withMsg(errInvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	}
	if b >= size {
		return 0, 0, withMsg(errInvalidRange, "The specified copy source range is not satisfiable")
	}
	return a, b - a + 1, nil
}
