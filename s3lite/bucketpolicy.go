package s3lite

import (
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
)

// putBucketPolicy answers PutBucketPolicy: the document is validated (MalformedPolicy) and
// kept as sent; a public policy is refused while BlockPublicPolicy is set.
func (s *Server) putBucketPolicy(w http.ResponseWriter, q *request) error {
	data, err := io.ReadAll(q.body)
	if err != nil {
		return err
	}
	doc, err := parsePolicy(data, q.bucket)
	if err != nil {
		return err
	}
	lock, _ := strconv.ParseBool(q.r.Header.Get("X-Amz-Confirm-Remove-Self-Bucket-Access"))
	if err := s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		if bi.PublicAccess != nil && bi.PublicAccess.BlockPublicPolicy && doc.isPublic() {
			return withMsg(errAccessDenied, "Access Denied: the bucket's public access block refuses public policies")
		}
		bi.Policy, bi.PolicyLocksOwner = string(data), lock
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getBucketPolicy answers GetBucketPolicy with the document as it was put.
func (s *Server) getBucketPolicy(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	if bi.Policy == "" {
		return errNoSuchBucketPolicy
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(bi.Policy)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, bi.Policy)
	return nil
}

// deleteBucketPolicy answers DeleteBucketPolicy (no policy is no error, as in S3).
func (s *Server) deleteBucketPolicy(w http.ResponseWriter, q *request) error {
	if err := s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		bi.Policy, bi.PolicyLocksOwner = "", false
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// policyStatus is the PolicyStatus document.
type policyStatus struct {
	XMLName  xml.Name `xml:"PolicyStatus"`
	Xmlns    string   `xml:"xmlns,attr"`
	IsPublic bool     `xml:"IsPublic"`
}

// getBucketPolicyStatus answers GetBucketPolicyStatus: public when the policy grants
// everyone access or the bucket's ACL grants AllUsers or AuthenticatedUsers, each unless
// the public access block discounts it.
func (s *Server) getBucketPolicyStatus(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	pab := bi.PublicAccess
	if pab == nil {
		pab = &publicAccessBlock{}
	}
	doc := s.policies.get(q.bucket, bi.Policy)
	public := doc.isPublic() && !pab.RestrictPublicBuckets || aclIsPublic(aclOf(bi.ACL)) && !pab.IgnorePublicAcls
	writeXML(w, http.StatusOK, policyStatus{Xmlns: s3NS, IsPublic: public})
	return nil
}
