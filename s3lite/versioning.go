package s3lite

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
)

// versioningConfiguration is the body of Put/GetBucketVersioning.
type versioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Xmlns     string   `xml:"xmlns,attr,omitempty"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

// getBucketVersioning answers GetBucketVersioning: an empty configuration for a bucket
// whose versioning was never set, as S3 does.
func (s *Server) getBucketVersioning(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, versioningConfiguration{Xmlns: s3NS, Status: bi.Versioning})
	return nil
}

// putBucketVersioning answers PutBucketVersioning (Status Enabled or Suspended). MFA
// delete cannot be honoured here: enabling it is refused as S3 refuses a request without
// a valid MFA token.
func (s *Server) putBucketVersioning(w http.ResponseWriter, q *request) error {
	var cfg versioningConfiguration
	if err := readXML(q.body, &cfg); err != nil {
		return err
	}
	switch cfg.MfaDelete {
	case "", "Disabled":
	case "Enabled":
		if q.r.Header.Get("X-Amz-Mfa") == "" {
			return withMsg(errAccessDenied, "Mfa Authentication must be used for this request")
		}
		return withMsg(errNotImplemented, "MFA delete is not supported by this server")
	default:
		return errMalformedXML
	}
	if cfg.Status != versioningEnabled && cfg.Status != versioningSuspended {
		return errMalformedXML
	}
	err := s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		if err := checkVersioningChange(bi, cfg.Status); err != nil {
			return err
		}
		bi.Versioning = cfg.Status
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// versionedState is the versioning state of bucket for a write, or its error.
func (s *Server) versionedState(q *request) (string, error) {
	bi, err := s.requestBucket(q.r.Context(), q.bucket)
	if err != nil && !errors.Is(err, errBucketDamaged) {
		return "", err
	}
	return bi.Versioning, nil
}

// requestVersionID returns the ?versionId= of q ("" if none), or 400 InvalidArgument
// for one that cannot be a version id.
func requestVersionID(q *request) (string, error) {
	v := q.r.URL.Query()
	if !v.Has("versionId") {
		return "", nil
	}
	return checkVersionID(v.Get("versionId"))
}

// checkVersionID returns id if it is well-formed, else 400 InvalidArgument.
func checkVersionID(id string) (string, error) {
	if !validVersionID(id) {
		return "", withMsg(errInvalidArgument, "Invalid version id specified")
	}
	return id, nil
}

// setVersionHeader sets x-amz-version-id for m if it has an id of its own; the null
// version (written while the bucket was unversioned or suspended) carries none, as in S3.
func setVersionHeader(h http.Header, m *objectMeta) {
	if !m.isNull() {
		h.Set("X-Amz-Version-Id", m.Version)
	}
}

// setDeleteMarkerHeaders answers a read of a missing key: whether the current version is
// a delete marker (and its id), as S3 says on a 404.
func setDeleteMarkerHeaders(h http.Header, err error) {
	var dm *deleteMarkerError
	switch {
	case errors.As(err, &dm):
		h.Set("X-Amz-Delete-Marker", "true")
		h.Set("X-Amz-Version-Id", dm.versionID)
	case errors.Is(err, errNoSuchKey):
		h.Set("X-Amz-Delete-Marker", "false")
	}
}

// deleteObject answers DeleteObject: 204 whether or not the key or version existed; in a
// versioned bucket it makes a delete marker or, with ?versionId=, removes that version.
func (s *Server) deleteObject(w http.ResponseWriter, q *request) error {
	vid, err := requestVersionID(q)
	if err != nil {
		return err
	}
	state, err := s.versionedState(q)
	if err != nil {
		return err
	}
	bypass := vid != "" && s.bypassGovernance(q, q.key)
	out, old, err := s.st.deleteObjectVersion(q.r.Context(), q.bucket, q.key, vid, state, s.now().UTC(), bypass)
	if err != nil {
		return err
	}
	s.st.removeFiles(old)
	if out.deleteMarker {
		w.Header().Set("X-Amz-Delete-Marker", "true")
	}
	if out.versionID != "" {
		w.Header().Set("X-Amz-Version-Id", out.versionID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeObject deletes the current version of bucket/key as a client's DeleteObject
// without a version id does (a delete marker in a versioned bucket); the lifecycle sweeper
// expires objects through it, so both take the same path.
func (s *Server) removeObject(ctx context.Context, bucket, key string) error {
	bi, err := s.st.getBucket(ctx, bucket)
	if err != nil && !errors.Is(err, errBucketDamaged) {
		return err
	}
	_, old, err := s.st.deleteObjectVersion(ctx, bucket, key, "", bi.Versioning, s.now().UTC(), false)
	if err != nil {
		return err
	}
	s.st.removeFiles(old)
	return nil
}

// readVersion returns the record a GET or HEAD reads: the current one, or version vid. A
// delete marker named by its version id is 405 MethodNotAllowed, with S3's headers.
func (s *Server) readVersion(w http.ResponseWriter, q *request, vid string) (*objectMeta, error) {
	if vid == "" {
		return s.st.getObject(q.r.Context(), q.bucket, q.key)
	}
	m, err := s.st.getObjectVersion(q.r.Context(), q.bucket, q.key, vid)
	if err != nil {
		return nil, err
	}
	if m.DeleteMarker {
		h := w.Header()
		h.Set("X-Amz-Delete-Marker", "true")
		h.Set("X-Amz-Version-Id", vid)
		h.Set("Last-Modified", m.ModTime.UTC().Format(http.TimeFormat))
		h.Set("Allow", "DELETE")
		return nil, withMsg(errMethodNotAllowed, "The specified method is not allowed against this resource.")
	}
	return m, nil
}

// deletedEntry is the <Deleted> element of DeleteObjects for key (version vid, "" if
// none named) after out: a delete marker made or removed is named as S3 names it.
func deletedEntry(key, vid string, out deleteOutcome) deletedItem {
	d := deletedItem{Key: key, VersionID: vid}
	if out.deleteMarker {
		d.DeleteMarker, d.DeleteMarkerVersionID = true, out.versionID
	}
	return d
}

// copySourceVersion returns the versionId of the query part of x-amz-copy-source ("" if
// none), or 400 InvalidArgument.
func copySourceVersion(query string) (string, error) {
	if query == "" {
		return "", nil
	}
	v, err := url.ParseQuery(query)
	if err != nil || !v.Has("versionId") {
		return "", withMsg(errInvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	return checkVersionID(v.Get("versionId"))
}

// copySourceRecord reads the copy source bucket/key, version vid if not "": a delete
// marker cannot be copied.
func (s *Server) copySourceRecord(q *request, bucket, key, vid string) (*objectMeta, error) {
	if vid == "" {
		return s.st.getObject(q.r.Context(), bucket, key)
	}
	m, err := s.st.getObjectVersion(q.r.Context(), bucket, key, vid)
	if err != nil {
		return nil, err
	}
	if m.DeleteMarker {
		return nil, withMsg(errInvalidRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
	}
	return m, nil
}

// setCopySourceVersionHeader names the version a copy read, if its bucket is versioned.
func setCopySourceVersionHeader(h http.Header, src *objectMeta) {
	if !src.isNull() {
		h.Set("X-Amz-Copy-Source-Version-Id", src.Version)
	}
}
