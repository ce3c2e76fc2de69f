package s3lite

import (
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// listBuckets answers ListBuckets, with the optional prefix, max-buckets
// and continuation-token (the last bucket name of the previous page).
func (s *Server) listBuckets(w http.ResponseWriter, q *request) error {
	v := q.r.URL.Query()
	limit := 10000
	if m := v.Get("max-buckets"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 10000 {
			return withMsg(errInvalidArgument, "max-buckets must be an integer between 1 and 10000")
		}
		limit = n
	}
	if r := v.Get("bucket-region"); r != "" && r != s.cfg.Region {
		limit = 0
	}
	bs, err := s.st.listBuckets(q.r.Context())
	if err != nil {
		return err
	}
	if q.isAnonymous() {
		bs = nil // anonymous requesters own no bucket
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
	res := listAllMyBucketsResult{Xmlns: s3NS, Owner: s.owner(q), Buckets: []bucketItem{}, Prefix: v.Get("prefix")}
	after := v.Get("continuation-token")
	for _, b := range bs {
		if !strings.HasPrefix(b.Name, res.Prefix) || b.Name <= after {
			continue
		}
		if len(res.Buckets) == limit {
			if limit > 0 {
				res.ContinuationToken = res.Buckets[len(res.Buckets)-1].Name
			}
			break
		}
		res.Buckets = append(res.Buckets, bucketItem{Name: b.Name, CreationDate: s3Time(b.Created), BucketRegion: s.cfg.Region})
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// owner is the single owner of everything: the requesting access key (for anonymous
// requests, the root access key). Its canonical id is the key in hex.
func (s *Server) owner(q *request) owner {
	id := s.root
	if !q.isAnonymous() {
		id = q.auth.AccessKey
	}
	return owner{ID: hex.EncodeToString([]byte(id)), DisplayName: id}
}

// createBucket answers CreateBucket; an optional LocationConstraint must
// name the server's region.
func (s *Server) createBucket(w http.ResponseWriter, q *request) error {
	data, err := io.ReadAll(q.body)
	if err != nil {
		return err
	}
	if len(data) > 0 {
		var c createBucketConfiguration
		if err := readXML(bytesReader(data), &c); err != nil {
			return err
		}
		if c.LocationConstraint != "" && c.LocationConstraint != s.cfg.Region {
			return withMsg(errInvalidArgument, "The specified location-constraint is not valid for this server's region "+s.cfg.Region+".")
		}
	}
	grants, ownership, err := s.createBucketACL(q)
	if err != nil {
		return err
	}
	if err := s.st.createBucket(q.r.Context(), q.bucket, s.now().UTC()); err != nil {
		if errors.Is(err, errBucketExists) && s.cfg.Region == legacyRegion {
			return s.recreateOwnBucket(w, q, grants)
		}
		return err
	}
	lock := objectLockOnCreate(q.r.Header)
	if grants != nil || ownership != "" || lock != nil {
		if err := s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
			bi.ACL, bi.Ownership = aclRef(grants), ownership
			if lock != nil {
				bi.ObjectLock, bi.Versioning = lock, versioningEnabled
			}
			return nil
		}); err != nil {
			return err
		}
	}
	w.Header().Set("Location", "/"+q.bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

// headBucket answers HeadBucket.
func (s *Server) headBucket(w http.ResponseWriter, q *request) error {
	if err := s.st.bucketExists(q.r.Context(), q.bucket); err != nil {
		return err
	}
	w.Header().Set("X-Amz-Bucket-Region", s.cfg.Region)
	w.WriteHeader(http.StatusOK)
	return nil
}

// deleteBucket answers DeleteBucket; in-progress uploads are aborted.
func (s *Server) deleteBucket(w http.ResponseWriter, q *request) error {
	old, err := s.st.deleteBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	s.st.removeFiles(old)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getBucketLocation answers GetBucketLocation (us-east-1 is the empty constraint, as S3 does).
func (s *Server) getBucketLocation(w http.ResponseWriter, q *request) error {
	if err := s.st.bucketExists(q.r.Context(), q.bucket); err != nil {
		return err
	}
	loc := s.cfg.Region
	if loc == "us-east-1" {
		loc = ""
	}
	writeXML(w, http.StatusOK, locationConstraint{Xmlns: s3NS, Region: loc})
	return nil
}

// deleteObjects answers DeleteObjects (quiet and verbose).
func (s *Server) deleteObjects(w http.ResponseWriter, q *request) error {
	data, err := io.ReadAll(q.body)
	if err != nil {
		return err
	}
	if !hasIntegrityHeader(q) {
		return errMissingContentMD5
	}
	if err := verifyBodyIntegrity(q, data); err != nil {
		return err
	}
	var req deleteRequest
	if err := readXML(bytesReader(data), &req); err != nil {
		return err
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return withMsg(errMalformedXML, "A DeleteObjects request must name 1 to 1000 objects.")
	}
	state, err := s.versionedState(q)
	if err != nil {
		return err
	}
	res := deleteResult{Xmlns: s3NS}
	bypass := s.bypassGovernance(q, "*")
	for _, o := range req.Objects {
		err := checkObjectKey(o.Key)
		if err == nil && o.VersionID != "" {
			_, err = checkVersionID(o.VersionID)
		}
		var out deleteOutcome
		if err == nil {
			var old []string
			out, old, err = s.st.deleteObjectVersion(q.r.Context(), q.bucket, o.Key, o.VersionID, state, s.now().UTC(), bypass)
			s.st.removeFiles(old)
		}
		if err != nil {
			a := toAPIError(err)
			res.Errors = append(res.Errors, deleteErrorItem{Key: o.Key, VersionID: o.VersionID, Code: a.Code, Message: a.Message})
			continue
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, deletedEntry(o.Key, o.VersionID, out))
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}
