package s3lite

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kmsbox/kmsbox/internal/netcork"
	"github.com/kmsbox/kmsbox/s3lite/internal/checksum"
)

// putObject answers PutObject: body to a temp file (encrypted as asked),
// verified, fsynced, renamed, then the metadata commit makes it visible.
func (s *Server) putObject(w http.ResponseWriter, q *request) error {
	if q.auth.ContentLength > maxObjectSize {
		return errEntityTooLarge
	}
	bi, err := s.requestBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	hdrs, err := objectHeaders(q.r.Header)
	if err != nil {
		return err
	}
	tags, err := requestTags(q.r.Header)
	if err != nil {
		return err
	}
	opts, err := s.writeOptionsOf(q, bi, tags)
	if err != nil {
		return err
	}
	rc, err := parseRequestChecksum(q.r.Header)
	if err != nil {
		return err
	}
	sreq, oc, err := s.uploadEncryption(q, bi)
	if err != nil {
		return err
	}
	var key []byte
	if oc != nil {
		key = oc.oek
	}
	f, res, err := s.writeBody(q.r.Context(), q.body, key, nil, rc.algo, maxObjectSize)
	if err != nil {
		return err
	}
	if err := s.checkUpload(q, rc, res); err != nil {
		discard(f)
		return err
	}
	m, err := s.singlePartObject(q.r.Context(), q.key, hdrs, f, res, oc, rc.algo)
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
	h := w.Header()
	h.Set("ETag", `"`+m.ETag+`"`)
	setVersionHeader(h, m)
	setSSEHeaders(h, m.SSE, &sreq)
	setChecksumHeaders(h, m)
	setExpirationHeader(h, bi.Lifecycle, lifecycleObjectOf(m), m.ModTime)
	w.WriteHeader(http.StatusOK)
	return nil
}

// singlePartObject commits the checked body file f and builds the record of
// a one-part object at key from it. f is discarded on error.
func (s *Server) singlePartObject(ctx context.Context, key string, hdrs map[string]string, f *os.File, res bodyResult, oc *objectCrypto, algo checksum.Algorithm) (*objectMeta, error) {
	etag, err := visibleETag(oc, res.md5)
	if err != nil {
		discard(f)
		return nil, err
	}
	name, err := s.st.commitFile(ctx, f)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	m := &objectMeta{Key: key, Size: res.size, ETag: etag, ModTime: now, Header: hdrs,
		Parts: []partMeta{{File: name, Size: res.size, EncSize: res.encSize, ETag: etag, ModTime: now, Hash: res.hash}}}
	if oc != nil {
		m.SSE = oc.meta
	}
	if algo != checksum.None {
		m.ChecksumAlgo, m.Checksum, m.ChecksumType = algo.String(), checksum.Encode(res.sum), "FULL_OBJECT"
	}
	return m, nil
}

// checkUpload verifies length, Content-MD5 and checksum of a stored body.
func (s *Server) checkUpload(q *request, rc requestChecksum, res bodyResult) error {
	if q.auth.ContentLength >= 0 && res.size != q.auth.ContentLength {
		return errIncompleteBody
	}
	return rc.verify(q, res.md5, res.sum)
}

// setChecksumHeaders adds the full-object checksum of m and its type, if m
// has one.
func setChecksumHeaders(h http.Header, m *objectMeta) {
	if m.Checksum == "" {
		return
	}
	if a, err := checksum.Parse(m.ChecksumAlgo); err == nil {
		h.Set(a.Header(), m.Checksum)
		h.Set("X-Amz-Checksum-Type", m.ChecksumType)
	}
}

// getObject answers GetObject, decrypting only the DARE packages the range needs.
func (s *Server) getObject(w http.ResponseWriter, q *request) error {
	return s.readObject(w, q, true)
}

// headObject answers HeadObject.
func (s *Server) headObject(w http.ResponseWriter, q *request) error {
	return s.readObject(w, q, false)
}

func (s *Server) readObject(w http.ResponseWriter, q *request, withBody bool) error {
	if q.r.Header.Get(hdrSSE) != "" {
		return errSSENotApplicable
	}
	ssec, err := parseSSEC(q.r.Header, hdrSSECPrefix, q.r.TLS != nil)
	if err != nil {
		return err
	}
	vid, err := requestVersionID(q)
	if err != nil {
		return err
	}
	// A concurrent overwrite may remove the body between reading the
	// metadata and opening the files: read the new version then, but only
	// while nothing of the old one has gone out.
	tw := &trackingWriter{ResponseWriter: w}
	err = s.missingIsTampered(q.r.Context(), q.bucket, q.key, vid, retryVanished(func() error { return s.readObjectOnce(tw, q, withBody, ssec, vid) },
		func() bool { return !tw.wrote }))
	setDeleteMarkerHeaders(w.Header(), err)
	return err
}

// missingIsTampered turns err, a body file of bucket/key (version vid, "" for the current
// one) missing after retryVanished, into errObjectTampered if the record still refers to
// that file: the file is gone, not replaced by a concurrent overwrite.
func (s *Server) missingIsTampered(ctx context.Context, bucket, key, vid string, err error) error {
	var pe *fs.PathError
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, errObjectTampered) || !errors.As(err, &pe) {
		return err
	}
	get := s.st.getObject
	if vid != "" {
		get = func(ctx context.Context, bucket, key string) (*objectMeta, error) {
			return s.st.getObjectVersion(ctx, bucket, key, vid)
		}
	}
	m, merr := get(ctx, bucket, key)
	if merr != nil {
		return err
	}
	for _, p := range m.Parts {
		if pe.Path == filepath.Join(s.st.dataDir, filepath.FromSlash(p.File)) {
			return errors.Join(errObjectTampered, err)
		}
	}
	return err
}

// vanishedAttempts bounds how often a read is tried whose body files vanish
// under concurrent overwrites of its object.
const vanishedAttempts = 4

// retryVanished runs read again while it fails with os.ErrNotExist (a
// concurrent PUT replaced the record it read and removed its body files)
// and canRetry says nothing of the attempt is out yet, at most
// vanishedAttempts times in all. Each attempt reads the record afresh.
func retryVanished(read func() error, canRetry func() bool) error {
	for attempt := 1; ; attempt++ {
		err := read()
		if attempt == vanishedAttempts || !errors.Is(err, os.ErrNotExist) || !canRetry() {
			return err
		}
	}
}

func (s *Server) readObjectOnce(w http.ResponseWriter, q *request, withBody bool, ssec *sseRequest, vid string) error {
	m, err := s.readVersion(w, q, vid)
	if err != nil {
		return err
	}
	if err := checkRecordSize(m); err != nil {
		return err
	}
	if err := checkPreconditions(q.r.Header, m.ETag, m.ModTime); err != nil {
		if errors.Is(err, errNotModified) {
			w.Header().Set("ETag", `"`+m.ETag+`"`)
			w.Header().Set("Last-Modified", m.ModTime.UTC().Format(http.TimeFormat))
		}
		return err
	}
	off, length, partial, err := parseRange(q.r.Header.Get("Range"), m.Size)
	if err != nil {
		return err
	}
	if pn := q.r.URL.Query().Get("partNumber"); pn != "" {
		if q.r.Header.Get("Range") != "" {
			return withMsg(errInvalidRequest, "Cannot specify both Range header and partNumber query parameter")
		}
		if off, length, err = partRange(m, pn); err != nil {
			return err
		}
		partial = true
	}
	var oek []byte
	needKey := sseTypeOf(m.SSE) == sseC || (withBody && length > 0)
	if needKey {
		if oek, err = s.objectKey(q.r.Context(), m.SSE, q.bucket, q.key, ssec); err != nil {
			return err
		}
	} else if sseTypeOf(m.SSE) == "" && ssec != nil {
		return errSSENotApplicable
	}
	var rr *rangeReader
	var first, buf []byte
	if !withBody {
		// HEAD reads no body but checks that every body file is there with its size.
		if err := s.newRangeReader(m, nil, nil, 0, m.Size).statAll(); err != nil {
			return err
		}
	}
	if withBody { // an empty object's file is opened too, to check its size
		hk, err := s.bodyHashKeyOf(q.r.Context(), m)
		if err != nil {
			return err
		}
		rr = s.newRangeReader(m, oek, hk, off, length)
		defer rr.Close()
		if err := rr.preopen(); err != nil {
			return err
		}
		c := s.chunks.get()
		defer s.chunks.put(c)
		buf = c[:]
		// Decrypt the first chunk before answering, so tampering there
		// is an S3 error, not a broken stream.
		n, err := io.ReadFull(rr, buf[:min(int64(len(buf)), length)])
		if err != nil {
			return truncated(err)
		}
		first = buf[:n]
	}
	h := w.Header()
	setObjectHeaders(h, m.Header)
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "binary/octet-stream")
	}
	for _, p := range []string{"Content-Type", "Content-Language", "Expires", "Cache-Control", "Content-Disposition", "Content-Encoding"} {
		if v := q.r.URL.Query().Get("response-" + strings.ToLower(p)); v != "" {
			h.Set(p, v)
		}
	}
	h.Set("ETag", `"`+m.ETag+`"`)
	h.Set("Last-Modified", m.ModTime.UTC().Format(http.TimeFormat))
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	setVersionHeader(h, m)
	if vid != "" {
		h.Set("X-Amz-Version-Id", vid)
	}
	setSSEHeaders(h, m.SSE, ssec)
	s.expirationHeader(q, h, m)
	setTagCount(h, m)
	s.setLockHeaders(h, q, m)
	if !partial && strings.EqualFold(q.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		setChecksumHeaders(h, m)
	}
	if m.Multipart || q.r.URL.Query().Has("partNumber") {
		h.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(len(m.Parts)))
	}
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+length-1, 10)+"/"+strconv.FormatInt(m.Size, 10))
	}
	w.WriteHeader(status)
	if rr == nil {
		return nil
	}
	if cc := netcork.From(q.r.Context()); cc != nil && q.r.ProtoMajor == 1 && length >= corkMin {
		cc.Cork() // the body's TLS records leave several at a time
		err := writeBody(w, rr, first, buf, length)
		if uerr := cc.Uncork(); err == nil {
			err = uerr
		}
		return err
	}
	return writeBody(w, rr, first, buf, length)
}

// corkMin is the smallest body whose TLS records are gathered into fewer
// writes (internal/netcork): four records.
const corkMin = 64 << 10

// writeBody writes the length bytes of a body: first, which was read before
// the response began, then the rest from rr.
func writeBody(w io.Writer, rr *rangeReader, first, buf []byte, length int64) error {
	if _, err := w.Write(first); err != nil {
		return err
	}
	rest := length - int64(len(first))
	if rest == 0 {
		return nil
	}
	n, err := io.CopyBuffer(w, onlyReader{rr}, buf)
	if err == nil && n != rest {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// partRange is the plaintext range of part ?partNumber=pn (1-based
// position in the part list; a single-part object has part 1).
func partRange(m *objectMeta, pn string) (off, length int64, err error) {
	n, err := parsePartNumber(pn)
	if err != nil {
		return 0, 0, err
	}
	if n > len(m.Parts) {
		return 0, 0, withMsg(errInvalidPart, "The requested partnumber is not satisfiable")
	}
	for _, p := range m.Parts[:n-1] {
		off += p.Size
	}
	return off, m.Parts[n-1].Size, nil
}

// parseRange parses a single "bytes=" range against size. A missing,
// malformed or multi-range header means the whole object, as S3 does; an
// unsatisfiable one is InvalidRange.
func parseRange(hdr string, size int64) (off, length int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(hdr), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, size, false, nil
	}
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, size, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, errInvalidRange
		}
		n = min(n, size)
		return size - n, n, true, nil
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, size, false, nil
	}
	end := size - 1
	if last != "" {
		e, err := strconv.ParseInt(last, 10, 64)
		if err != nil || e < start {
			return 0, size, false, nil
		}
		end = min(e, size-1)
	}
	if start >= size {
		return 0, 0, false, errInvalidRange
	}
	return start, end - start + 1, true, nil
}

// checkPreconditions evaluates If-Match, If-None-Match, If-Unmodified-Since
// and If-Modified-Since as S3 does (RFC 7232 order).
func checkPreconditions(h http.Header, etag string, mod time.Time) error {
	mod = mod.Truncate(time.Second)
	if v := h.Get("If-Match"); v != "" {
		if !etagMatch(v, etag) {
			return errPreconditionFailed
		}
	} else if v := h.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && mod.After(t) {
			return errPreconditionFailed
		}
	}
	if v := h.Get("If-None-Match"); v != "" {
		if etagMatch(v, etag) {
			return errNotModified
		}
	} else if v := h.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !mod.After(t) {
			return errNotModified
		}
	}
	return nil
}

func etagMatch(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "*" || strings.Trim(strings.TrimPrefix(e, "W/"), `"`) == etag {
			return true
		}
	}
	return false
}

// writeCondition turns If-None-Match: * and If-Match on an upload into a
// check made atomically with the metadata commit (S3 conditional writes).
func writeCondition(h http.Header) writeCond {
	inm, im := h.Get("If-None-Match"), h.Get("If-Match")
	if inm == "" && im == "" {
		return nil
	}
	return func(cur *objectMeta) error {
		if inm != "" && cur != nil && etagMatch(inm, cur.ETag) {
			return errPreconditionFailed
		}
		if im != "" && (cur == nil || !etagMatch(im, cur.ETag)) {
			if cur == nil {
				return errNoSuchKey
			}
			return errPreconditionFailed
		}
		return nil
	}
}
