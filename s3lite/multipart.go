package s3lite

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kmsbox/kmsbox/s3lite/internal/checksum"
)

// minPartSize is S3's minimum size of every part but the last.
const minPartSize = 5 << 20

// createMultipartUpload answers CreateMultipartUpload. The object key is
// made and sealed now; each part derives its own key from it.
func (s *Server) createMultipartUpload(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
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
	u := &uploadMeta{Key: q.key, Initiated: s.now().UTC(), Header: hdrs, Tags: tags}
	acl, err := s.requestACL(q, bi, false, true)
	if err != nil {
		return err
	}
	u.ACL = aclRef(acl)
	if u.Lock, err = lockHeaders(q.r.Header, &bi, u.Initiated); err != nil {
		return err
	}
	if v := q.r.Header.Get("X-Amz-Checksum-Algorithm"); v != "" {
		a, err := checksum.Parse(v)
		if err != nil {
			return err
		}
		u.ChecksumAlgo, u.ChecksumType = a.String(), "COMPOSITE"
		if t := q.r.Header.Get("X-Amz-Checksum-Type"); strings.EqualFold(t, "FULL_OBJECT") {
			if a != checksum.CRC32 && a != checksum.CRC32C && a != checksum.CRC64NVME {
				return withMsg(errInvalidRequest, "The FULL_OBJECT checksum type needs a CRC algorithm.")
			}
			u.ChecksumType = "FULL_OBJECT"
		}
	}
	sreq, oc, err := s.uploadEncryption(q, bi)
	if err != nil {
		return err
	}
	if oc != nil {
		u.SSE = oc.meta
		u.SSE[metaMultipart] = "true"
	}
	if u.ID, err = newUploadID(u.Initiated); err != nil {
		return err
	}
	if err := s.st.createUpload(q.r.Context(), q.bucket, u); err != nil {
		return err
	}
	h := w.Header()
	setSSEHeaders(h, u.SSE, &sreq)
	if u.ChecksumAlgo != "" {
		h.Set("X-Amz-Checksum-Algorithm", u.ChecksumAlgo)
		h.Set("X-Amz-Checksum-Type", u.ChecksumType)
	}
	writeXML(w, http.StatusOK, initiateMultipartUploadResult{Xmlns: s3NS, Bucket: q.bucket, Key: q.key, UploadID: u.ID})
	return nil
}

// newUploadID returns a fresh upload ID whose lexicographic order is the
// order of initiation: 16 hex digits of the initiation time in nanoseconds
// since 1970, then 32 random hex digits. S3 lists the uploads of one key in
// initiation order but resumes after upload-id-marker by comparing IDs, so
// the two orders must agree.
func newUploadID(initiated time.Time) (string, error) {
	var id [24]byte
	binary.BigEndian.PutUint64(id[:8], uint64(initiated.UnixNano()))
	if _, err := rand.Read(id[8:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(id[:]), nil
}

// parsePartNumber parses the partNumber query value: 1 to 10000.
func parsePartNumber(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return 0, withMsg(errInvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

// uploadPart answers UploadPart.
func (s *Server) uploadPart(w http.ResponseWriter, q *request) error {
	if q.auth.ContentLength > maxObjectSize {
		return errEntityTooLarge
	}
	rc, err := parseRequestChecksum(q.r.Header)
	if err != nil {
		return err
	}
	p, u, err := s.storePart(q, q.body, rc, func(res bodyResult) error { return s.checkUpload(q, rc, res) })
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", `"`+p.ETag+`"`)
	ssec, _ := parseSSEC(q.r.Header, hdrSSECPrefix, q.r.TLS != nil)
	setSSEHeaders(h, u.SSE, ssec)
	if a, err := checksum.Parse(u.ChecksumAlgo); err == nil && p.Checksum != "" {
		h.Set(a.Header(), p.Checksum)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// storePart writes src as part ?partNumber of upload ?uploadId, encrypted
// with the part key, and records it once check accepts the result.
func (s *Server) storePart(q *request, src io.Reader, rc requestChecksum, check func(bodyResult) error) (partMeta, *uploadMeta, error) {
	v := q.r.URL.Query()
	n, err := parsePartNumber(v.Get("partNumber"))
	if err != nil {
		return partMeta{}, nil, err
	}
	id := v.Get("uploadId")
	u, _, err := s.st.getUpload(q.r.Context(), q.bucket, q.key, id)
	if err != nil {
		return partMeta{}, nil, err
	}
	algo := rc.algo
	if ua, err := checksum.Parse(u.ChecksumAlgo); err == nil {
		if algo != checksum.None && algo != ua {
			return partMeta{}, nil, withMsg(errInvalidRequest, "Checksum Type mismatch occurred, expected checksum Type: "+strings.ToLower(ua.String()))
		}
		algo = ua
	}
	ssec, err := parseSSEC(q.r.Header, hdrSSECPrefix, q.r.TLS != nil)
	if err != nil {
		return partMeta{}, nil, err
	}
	oek, err := s.objectKey(q.r.Context(), u.SSE, q.bucket, q.key, ssec)
	if err != nil {
		return partMeta{}, nil, err
	}
	var key []byte
	var oc *objectCrypto
	if oek != nil {
		key = partKey(oek, n)
		oc = &objectCrypto{typ: sseTypeOf(u.SSE), oek: oek}
	}
	f, res, err := s.writeBody(q.r.Context(), src, key, partNonce(id, n), algo, maxObjectSize)
	if err != nil {
		return partMeta{}, nil, err
	}
	if err := check(res); err != nil {
		discard(f)
		return partMeta{}, nil, err
	}
	etag, err := visibleETag(oc, res.md5)
	if err != nil {
		discard(f)
		return partMeta{}, nil, err
	}
	name, err := s.st.commitFile(q.r.Context(), f)
	if err != nil {
		return partMeta{}, nil, err
	}
	p := partMeta{Number: n, File: name, Size: res.size, EncSize: res.encSize, ETag: etag, ModTime: s.now().UTC(), Hash: res.hash}
	if res.sum != nil {
		p.Checksum = checksum.Encode(res.sum)
	}
	old, err := s.st.putPart(q.r.Context(), q.bucket, q.key, id, p)
	if err != nil {
		s.st.removeFiles([]string{name})
		return partMeta{}, nil, err
	}
	s.st.removeFiles(old)
	return p, u, nil
}

// completeMultipartUpload answers CompleteMultipartUpload: a metadata
// commit only; the part files become the object's body.
func (s *Server) completeMultipartUpload(w http.ResponseWriter, q *request) error {
	data, err := io.ReadAll(q.body)
	if err != nil {
		return err
	}
	bodyHeaders, sumName, sumValue := completeChecksumHeader(q.r.Header)
	if err := verifyBodyIntegrityHeaders(q, bodyHeaders, data); err != nil {
		return err
	}
	var req completeMultipartUpload
	if err := readXML(bytesReader(data), &req); err != nil {
		return err
	}
	if len(req.Parts) == 0 {
		return withMsg(errMalformedXML, "You must specify at least one part")
	}
	id := q.r.URL.Query().Get("uploadId")
	u, stored, err := s.st.getUpload(q.r.Context(), q.bucket, q.key, id)
	if errors.Is(err, errNoSuchUpload) {
		if ok, rerr := s.replayCompletion(w, q, id, req.Parts); ok || rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return err
	}
	m, err := assembleParts(u, stored, req.Parts)
	if err != nil {
		return err
	}
	if err := checkCompleteChecksum(m, sumName, sumValue); err != nil {
		return err
	}
	m.Key, m.ModTime, m.Header, m.SSE, m.UploadID = q.key, s.now().UTC(), u.Header, u.SSE, id
	m.ACL, m.Tags = u.ACL, u.Tags
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil && !errors.Is(err, errBucketDamaged) {
		return err
	}
	m.versioning, m.Lock = bi.Versioning, withDefaultRetention(u.Lock, &bi, m.ModTime)
	old, err := s.st.completeUpload(q.r.Context(), q.bucket, id, m, writeCondition(q.r.Header))
	if err != nil {
		return err
	}
	s.st.removeFiles(old)
	s.writeCompleteResult(w, q, m)
	return nil
}

// assembleParts checks the client's part list against the stored parts
// (order, ETags, checksums, sizes) and builds the object record.
func assembleParts(u *uploadMeta, stored []partMeta, want []completePart) (*objectMeta, error) {
	byNum := make(map[int]partMeta, len(stored))
	for _, p := range stored {
		byNum[p.Number] = p
	}
	m := &objectMeta{Multipart: true}
	etags := md5.New()
	var sums [][]byte
	var crcParts []checksum.PartSum
	algo, _ := checksum.Parse(u.ChecksumAlgo)
	prev := 0
	for _, cp := range want {
		if cp.PartNumber <= prev {
			return nil, errInvalidPartOrder
		}
		prev = cp.PartNumber
	}
	for i, cp := range want {
		p, ok := byNum[cp.PartNumber]
		if !ok || strings.Trim(cp.ETag, `"`) != p.ETag {
			return nil, errInvalidPart
		}
		if given := partChecksumOf(cp, algo); given != "" && given != p.Checksum {
			return nil, withMsg(errInvalidPart, "The checksum of part "+strconv.Itoa(p.Number)+" does not match the uploaded part.")
		}
		if i < len(want)-1 && p.Size < minPartSize {
			return nil, errEntityTooSmall
		}
		raw, err := hex.DecodeString(p.ETag)
		if err != nil {
			return nil, errInvalidPart
		}
		etags.Write(raw)
		if algo != checksum.None {
			sum, err := checksum.Decode(algo, p.Checksum)
			if err != nil {
				return nil, errors.Join(errInternal, err)
			}
			sums = append(sums, sum)
			crcParts = append(crcParts, checksum.PartSum{Sum: sum, Size: p.Size})
		}
		m.Size += p.Size
		m.Parts = append(m.Parts, p)
	}
	m.ETag = hex.EncodeToString(etags.Sum(nil)) + "-" + strconv.Itoa(len(want))
	if algo != checksum.None {
		m.ChecksumAlgo, m.ChecksumType = algo.String(), u.ChecksumType
		if u.ChecksumType == "FULL_OBJECT" {
			sum, err := checksum.FullObjectCRC(algo, crcParts)
			if err != nil {
				return nil, err
			}
			m.Checksum = checksum.Encode(sum)
		} else {
			m.Checksum = checksum.Composite(algo, sums)
		}
	}
	return m, nil
}

// partChecksumOf returns the checksum of algorithm a the client sent for
// part cp, "" if none.
func partChecksumOf(cp completePart, a checksum.Algorithm) string {
	switch a {
	case checksum.CRC32:
		return cp.ChecksumCRC32
	case checksum.CRC32C:
		return cp.ChecksumCRC32C
	case checksum.CRC64NVME:
		return cp.ChecksumCRC64NVME
	case checksum.SHA1:
		return cp.ChecksumSHA1
	case checksum.SHA256:
		return cp.ChecksumSHA256
	}
	return ""
}

// abortMultipartUpload answers AbortMultipartUpload.
func (s *Server) abortMultipartUpload(w http.ResponseWriter, q *request) error {
	old, err := s.st.abortUpload(q.r.Context(), q.bucket, q.key, q.r.URL.Query().Get("uploadId"))
	if err != nil {
		return err
	}
	s.st.removeFiles(old)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
