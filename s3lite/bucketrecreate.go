package s3lite

import "net/http"

// legacyRegion is the region where S3 keeps its legacy answer to creating a
// bucket the requester already owns.
const legacyRegion = "us-east-1"

// recreateOwnBucket answers CreateBucket of a bucket the requester already
// owns in us-east-1: "for legacy compatibility, if you re-create an existing
// bucket that you already own in the North Virginia Region, Amazon S3
// returns 200 OK and resets the bucket access control lists" (CreateBucket,
// S3 API reference); every other region answers 409 BucketAlreadyOwnedByYou.
// The bucket's objects and other settings are kept; its ACL becomes the one
// the request gives (canned or grants), else the default private one.
func (s *Server) recreateOwnBucket(w http.ResponseWriter, q *request, grants []aclGrant) error {
	if err := s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		if bi.Ownership == ownershipEnforced && !aclOnlyOwner(grants, s.owner(q).ID) {
			return errBucketACLOwnership
		}
		bi.ACL = aclRef(grants)
		return nil
	}); err != nil {
		return err
	}
	w.Header().Set("Location", "/"+q.bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}
