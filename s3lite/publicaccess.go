package s3lite

import (
	"encoding/xml"
	"io"
	"net/http"
)

// Object ownership settings (PutBucketOwnershipControls).
const (
	ownershipEnforced  = "BucketOwnerEnforced"
	ownershipPreferred = "BucketOwnerPreferred"
	ownershipWriter    = "ObjectWriter"
)

// publicAccessBlock is a bucket's PublicAccessBlockConfiguration, as stored and on the wire.
type publicAccessBlock struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration" json:"-"`
	Xmlns                 string   `xml:"xmlns,attr,omitempty" json:"-"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls" json:"bacl,omitempty"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls" json:"iacl,omitempty"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy" json:"bpol,omitempty"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets" json:"rpol,omitempty"`
}

// ownershipControls is the OwnershipControls document.
type ownershipControls struct {
	XMLName xml.Name `xml:"OwnershipControls"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Rules   []struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	} `xml:"Rule"`
}

// putPublicAccessBlock answers PutPublicAccessBlock.
func (s *Server) putPublicAccessBlock(w http.ResponseWriter, q *request) error {
	data, err := io.ReadAll(q.body)
	if err != nil {
		return err
	}
	var c publicAccessBlock
	if err := readXML(bytesReader(data), &c); err != nil {
		return err
	}
	c.XMLName, c.Xmlns = xml.Name{}, ""
	if err := s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		bi.PublicAccess = &c
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getPublicAccessBlock answers GetPublicAccessBlock.
func (s *Server) getPublicAccessBlock(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	if bi.PublicAccess == nil {
		return errNoPublicAccessBlock
	}
	c := *bi.PublicAccess
	c.Xmlns = s3NS
	writeXML(w, http.StatusOK, c)
	return nil
}

// deletePublicAccessBlock answers DeletePublicAccessBlock.
func (s *Server) deletePublicAccessBlock(w http.ResponseWriter, q *request) error {
	if err := s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		bi.PublicAccess = nil
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// validOwnership reports whether v is an ObjectOwnership setting.
func validOwnership(v string) bool {
	return v == ownershipEnforced || v == ownershipPreferred || v == ownershipWriter
}

// putBucketOwnershipControls answers PutBucketOwnershipControls. BucketOwnerEnforced
// (ACLs disabled) is refused while the bucket's ACL grants anyone but the owner.
func (s *Server) putBucketOwnershipControls(w http.ResponseWriter, q *request) error {
	data, err := io.ReadAll(q.body)
	if err != nil {
		return err
	}
	var c ownershipControls
	if err := readXML(bytesReader(data), &c); err != nil {
		return err
	}
	if len(c.Rules) != 1 || !validOwnership(c.Rules[0].ObjectOwnership) {
		return errInvalidOwnershipConfig
	}
	o := s.owner(q).ID
	if err := s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		if c.Rules[0].ObjectOwnership == ownershipEnforced && !aclOnlyOwner(aclOf(bi.ACL), o) {
			return errBucketACLOwnership
		}
		bi.Ownership = c.Rules[0].ObjectOwnership
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getBucketOwnershipControls answers GetBucketOwnershipControls.
func (s *Server) getBucketOwnershipControls(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	if bi.Ownership == "" {
		return errNoOwnershipControls
	}
	c := ownershipControls{Xmlns: s3NS}
	c.Rules = append(c.Rules, struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	}{bi.Ownership})
	writeXML(w, http.StatusOK, c)
	return nil
}

// deleteBucketOwnershipControls answers DeleteBucketOwnershipControls.
func (s *Server) deleteBucketOwnershipControls(w http.ResponseWriter, q *request) error {
	if err := s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		bi.Ownership = ""
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
