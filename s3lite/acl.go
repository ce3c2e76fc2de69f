package s3lite

import (
	"encoding/hex"
	"io"
	"net/http"
	"strings"
)

// ACLs: kmsbox has one kind of user, the root user(s) of Config.Credentials, who own every
// bucket and object. An ACL is therefore a list of grants to the owner and to S3's groups
// (AllUsers, AuthenticatedUsers, LogDelivery); only AllUsers grants change who may do what
// (anonymous requests, authz.go). Grants to anyone else cannot be honoured and are refused as
// S3 refuses ACLs on a bucket whose ObjectOwnership is BucketOwnerEnforced.

// S3's group URIs.
const (
	groupAllUsers      = "http://acs.amazonaws.com/groups/global/AllUsers"
	groupAuthenticated = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	groupLogDelivery   = "http://acs.amazonaws.com/groups/s3/LogDelivery"
	// awsExecReadID is the canonical id aws-exec-read grants READ to (EC2's AMI bundle reader).
	awsExecReadID = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c"
	xsiNS         = "http://www.w3.org/2001/XMLSchema-instance"
)

// ACL permissions.
const (
	permFullControl = "FULL_CONTROL"
	permRead        = "READ"
	permWrite       = "WRITE"
	permReadACP     = "READ_ACP"
	permWriteACP    = "WRITE_ACP"
)

// aclGrant is one stored grant: to a canonical user (ID) or a group (URI).
type aclGrant struct {
	ID   string `json:"id,omitempty"`
	URI  string `json:"uri,omitempty"`
	Perm string `json:"p"`
}

// cannedACL returns the grants of the canned ACL name for owner id o; ok=false for an unknown
// name. Group grants come first, as RGW renders them (the s3-tests read them by position).
func cannedACL(name, o string) ([]aclGrant, bool) {
	own := aclGrant{ID: o, Perm: permFullControl}
	switch name {
	case "private":
		return []aclGrant{own}, true
	case "public-read":
		return []aclGrant{{URI: groupAllUsers, Perm: permRead}, own}, true
	case "public-read-write":
		return []aclGrant{{URI: groupAllUsers, Perm: permRead}, {URI: groupAllUsers, Perm: permWrite}, own}, true
	case "authenticated-read":
		return []aclGrant{{URI: groupAuthenticated, Perm: permRead}, own}, true
	case "bucket-owner-read":
		return []aclGrant{own, {ID: o, Perm: permRead}}, true
	case "bucket-owner-full-control":
		return []aclGrant{own, {ID: o, Perm: permFullControl}}, true
	case "aws-exec-read":
		return []aclGrant{own, {ID: awsExecReadID, Perm: permRead}}, true
	case "log-delivery-write":
		return []aclGrant{{URI: groupLogDelivery, Perm: permWrite}, {URI: groupLogDelivery, Perm: permReadACP}, own}, true
	}
	return nil, false
}

// aclRef is grants as records keep them: nil (no ACL named) is the default ACL, an
// empty list an ACL without grants (every grant revoked).
func aclRef(grants []aclGrant) *[]aclGrant {
	if grants == nil {
		return nil
	}
	return &grants
}

// aclOf is the inverse of aclRef: nil for the default ACL, else a non-nil list.
func aclOf(p *[]aclGrant) []aclGrant {
	switch {
	case p == nil:
		return nil
	case *p == nil:
		return []aclGrant{}
	}
	return *p
}

// aclIsPublic reports whether grants give access to AllUsers or AuthenticatedUsers.
func aclIsPublic(grants []aclGrant) bool {
	for _, g := range grants {
		if g.URI == groupAllUsers || g.URI == groupAuthenticated {
			return true
		}
	}
	return false
}

// aclOnlyOwner reports whether grants name nobody but the owner o (the default ACL).
func aclOnlyOwner(grants []aclGrant, o string) bool {
	for _, g := range grants {
		if g.ID != o {
			return false
		}
	}
	return true
}

// aclAllows reports whether grants give everyone (AllUsers) permission perm.
func aclAllows(grants []aclGrant, perm string) bool {
	for _, g := range grants {
		if g.URI == groupAllUsers && (g.Perm == perm || g.Perm == permFullControl) {
			return true
		}
	}
	return false
}

// aclHeaders are the x-amz-grant-* headers with the permission each grants.
var aclHeaders = []struct{ header, perm string }{
	{"X-Amz-Grant-Read", permRead}, {"X-Amz-Grant-Write", permWrite},
	{"X-Amz-Grant-Read-Acp", permReadACP}, {"X-Amz-Grant-Write-Acp", permWriteACP},
	{"X-Amz-Grant-Full-Control", permFullControl},
}

// headerACL returns the ACL set by r's x-amz-acl or x-amz-grant-* headers; nil, nil when none.
func (s *Server) headerACL(h http.Header, o string) ([]aclGrant, error) {
	canned := h.Get("X-Amz-Acl")
	var grants []aclGrant
	for _, ah := range aclHeaders {
		for _, v := range h.Values(ah.header) {
			gs, err := s.parseGrantHeader(v, ah.perm, o)
			if err != nil {
				return nil, err
			}
			grants = append(grants, gs...)
		}
	}
	switch {
	case canned != "" && grants != nil:
		return nil, withMsg(errInvalidRequest, "Specifying both Canned ACLs and Header Grants is not allowed")
	case canned != "":
		g, ok := cannedACL(canned, o)
		if !ok {
			return nil, withMsg(errInvalidArgument, "The canned ACL "+canned+" is not valid.")
		}
		return g, nil
	}
	return grants, nil
}

// parseGrantHeader reads one x-amz-grant-* value: `id="..."`, `uri="..."` or
// `emailAddress="..."`, comma-separated.
func (s *Server) parseGrantHeader(v, perm, o string) ([]aclGrant, error) {
	var out []aclGrant
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, withMsg(errInvalidArgument, "Invalid grant header value: "+part)
		}
		val = strings.Trim(strings.TrimSpace(val), `"`)
		var g aclGrant
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "id":
			g.ID = val
		case "uri":
			g.URI = val
		case "emailaddress":
			return nil, errUnresolvableEmail
		default:
			return nil, withMsg(errInvalidArgument, "Invalid grant header value: "+part)
		}
		g.Perm = perm
		if err := s.checkGrant(g, o); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// checkGrant refuses grants kmsbox cannot honour: to canonical ids other than the
// owner's (AccessControlListNotSupported, or InvalidArgument for an id that cannot be
// one), to unknown groups, of unknown permissions.
func (s *Server) checkGrant(g aclGrant, o string) error {
	switch g.Perm {
	case permFullControl, permRead, permWrite, permReadACP, permWriteACP:
	default:
		return errMalformedACL
	}
	switch {
	case g.URI != "":
		if g.URI != groupAllUsers && g.URI != groupAuthenticated && g.URI != groupLogDelivery {
			return withMsg(errInvalidArgument, "Invalid group uri")
		}
	case g.ID == o || g.ID == awsExecReadID:
	case g.ID == "":
		return errMalformedACL
	default:
		if _, err := hex.DecodeString(g.ID); err != nil {
			return withMsg(errInvalidArgument, "Invalid id")
		}
		return withMsg(errACLNotSupported, "kmsbox has no user with canonical id "+g.ID+": grants can name only the owner and S3's groups")
	}
	return nil
}

// requestACL returns the ACL an ACL-setting request asks for: from its headers or, when
// body is set, its AccessControlPolicy; nil, nil when it names none. The bucket's
// ownership controls and public access block are applied.
func (s *Server) requestACL(q *request, bi bucketInfo, body bool, forObject bool) ([]aclGrant, error) {
	o := s.owner(q).ID
	grants, err := s.headerACL(q.r.Header, o)
	if err != nil {
		return nil, err
	}
	if body {
		data, err := io.ReadAll(q.body)
		if err != nil {
			return nil, err
		}
		switch {
		case len(data) > 0 && grants != nil:
			return nil, withMsg(errUnexpectedContent, "This request does not support content when an ACL header is set")
		case len(data) > 0:
			if grants, err = s.bodyACL(data, o); err != nil {
				return nil, err
			}
		case grants == nil:
			return nil, withMsg(errMissingSecurityHeader, "Your request was missing a required header: x-amz-acl")
		}
	}
	if grants == nil {
		return nil, nil
	}
	if bi.Ownership == ownershipEnforced {
		// ACLs are disabled: only bucket-owner-full-control is accepted, on new objects.
		if !forObject || body || q.r.Header.Get("X-Amz-Acl") != "bucket-owner-full-control" {
			return nil, errACLNotSupported
		}
		return nil, nil
	}
	if bi.PublicAccess != nil && bi.PublicAccess.BlockPublicAcls && aclIsPublic(grants) {
		return nil, withMsg(errAccessDenied, "Access Denied: the bucket's public access block refuses public ACLs")
	}
	return grants, nil
}

// getBucketACL answers GetBucketAcl.
func (s *Server) getBucketACL(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, renderACL(s.owner(q), aclOf(bi.ACL)))
	return nil
}

// putACLRequest reads the ACL a PutBucketAcl or PutObjectAcl asks for (canned header,
// grant headers or body); refused when the bucket has ACLs disabled.
func (s *Server) putACLRequest(q *request, forObject bool) ([]aclGrant, error) {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return nil, err
	}
	if bi.Ownership == ownershipEnforced {
		return nil, errACLNotSupported
	}
	return s.requestACL(q, bi, true, forObject)
}

// putBucketACL answers PutBucketAcl.
func (s *Server) putBucketACL(w http.ResponseWriter, q *request) error {
	grants, err := s.putACLRequest(q, false)
	if err != nil {
		return err
	}
	if err := s.st.updateBucket(q.r.Context(), q.bucket, func(b *bucketInfo) error {
		if b.Ownership == ownershipEnforced {
			return errACLNotSupported
		}
		b.ACL = aclRef(grants)
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getObjectACL answers GetObjectAcl.
func (s *Server) getObjectACL(w http.ResponseWriter, q *request) error {
	m, err := s.st.getObject(q.r.Context(), q.bucket, q.key)
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, renderACL(s.owner(q), aclOf(m.ACL)))
	return nil
}

// putObjectACL answers PutObjectAcl.
func (s *Server) putObjectACL(w http.ResponseWriter, q *request) error {
	grants, err := s.putACLRequest(q, true)
	if err != nil {
		return err
	}
	if _, err := s.st.updateObject(q.r.Context(), q.bucket, q.key, "", func(m *objectMeta) error {
		m.ACL = aclRef(grants)
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// createBucketACL returns the ACL and ObjectOwnership a CreateBucket request asks for
// (x-amz-acl or x-amz-grant-*, x-amz-object-ownership); nil and "" when none.
func (s *Server) createBucketACL(q *request) ([]aclGrant, string, error) {
	ownership := q.r.Header.Get("X-Amz-Object-Ownership")
	if ownership != "" && !validOwnership(ownership) {
		return nil, "", withMsg(errInvalidArgument, "Invalid x-amz-object-ownership header: "+ownership)
	}
	o := s.owner(q).ID
	grants, err := s.headerACL(q.r.Header, o)
	if err != nil {
		return nil, "", err
	}
	if ownership == ownershipEnforced && !aclOnlyOwner(grants, o) {
		return nil, "", errBucketACLOwnership
	}
	return grants, ownership, nil
}
