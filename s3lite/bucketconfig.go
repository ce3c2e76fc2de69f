package s3lite

import (
	"io"
	"net/http"
)

// The shape shared by the bucket configurations kept in the bucket record (CORS,
// lifecycle): a Put checked as S3 checks it, a Get that is 404 when none is set, a
// Delete that is 204 either way.

// putBucketConfig answers the Put of a configuration S3 accepts only with Content-MD5 or
// an x-amz-checksum-*: the body is verified, parse checks it, set stores it in the record.
func putBucketConfig[T any](s *Server, w http.ResponseWriter, q *request, parse func([]byte) (*T, error), set func(*bucketInfo, *T)) error {
	data, err := readIntegrityBody(q)
	if err != nil {
		return err
	}
	cfg, err := parse(data)
	if err != nil {
		return err
	}
	if err := s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		set(bi, cfg)
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getBucketConfig answers the Get of a configuration: get returns its document, or false
// when none is set (then the answer is notSet).
func (s *Server) getBucketConfig(w http.ResponseWriter, q *request, notSet error, get func(*bucketInfo) (any, bool)) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	doc, ok := get(&bi)
	if !ok {
		return notSet
	}
	writeXML(w, http.StatusOK, doc)
	return nil
}

// deleteBucketConfig answers the Delete of a configuration, which clear removes: 204, set
// or not.
func (s *Server) deleteBucketConfig(w http.ResponseWriter, q *request, clear func(*bucketInfo)) error {
	if err := s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		clear(bi)
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readIntegrityBody reads a configuration body that S3 accepts only with Content-MD5 or an
// x-amz-checksum-* (PutBucketCors, PutBucketLifecycleConfiguration) and verifies it.
func readIntegrityBody(q *request) ([]byte, error) {
	data, err := io.ReadAll(q.body)
	if err != nil {
		return nil, err
	}
	if !hasIntegrityHeader(q) {
		return nil, errMissingContentMD5
	}
	if err := verifyBodyIntegrity(q, data); err != nil {
		return nil, err
	}
	return data, nil
}
