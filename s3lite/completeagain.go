package s3lite

import (
	"errors"
	"net/http"
	"strings"
)

// replayCompletion answers a CompleteMultipartUpload whose upload is gone
// because it was already completed: S3 completes idempotently, so a retry
// (say, after the first answer was lost) gets the same 200 answer again as
// long as the object the upload made is still the current version of the
// key and the retry names the same parts. ok is false if it does not apply;
// the caller then answers NoSuchUpload.
func (s *Server) replayCompletion(w http.ResponseWriter, q *request, id string, parts []completePart) (ok bool, err error) {
	m, err := s.st.getObject(q.r.Context(), q.bucket, q.key)
	if err != nil {
		if errors.Is(err, errNoSuchKey) || errors.Is(err, errNoSuchBucket) {
			return false, nil
		}
		return false, err
	}
	if !m.Multipart || m.UploadID != id || len(m.Parts) != len(parts) {
		return false, nil
	}
	for i, p := range parts {
		if p.PartNumber != m.Parts[i].Number || strings.Trim(p.ETag, `"`) != m.Parts[i].ETag {
			return false, nil
		}
	}
	s.writeCompleteResult(w, q, m)
	return true, nil
}

// writeCompleteResult writes the answer of a completed multipart upload
// that made object m.
func (s *Server) writeCompleteResult(w http.ResponseWriter, q *request, m *objectMeta) {
	res := completeMultipartUploadResult{Xmlns: s3NS, Location: "/" + q.bucket + "/" + q.key, Bucket: q.bucket, Key: q.key, ETag: `"` + m.ETag + `"`}
	if m.Checksum != "" {
		res.ChecksumType = m.ChecksumType
		res.setChecksum(m.ChecksumAlgo, m.Checksum)
	}
	setSSEHeaders(w.Header(), m.SSE, nil)
	s.expirationHeader(q, w.Header(), m)
	setVersionHeader(w.Header(), m)
	writeXML(w, http.StatusOK, res)
}
