package s3lite

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kmsbox/kmsbox/s3lite/internal/sigv4"
)

// Authorization of every S3 request (serveHTTP calls authorize once the request is
// authenticated and routed):
//
//   - Signed requests come from a root user of Config.Credentials, the owner of every
//     bucket: allowed unless an explicit Deny of the bucket policy matches. As S3 keeps an
//     account's root from locking itself out, the bucket policy operations stay allowed
//     unless the policy was put with x-amz-confirm-remove-self-bucket-access: true.
//   - Anonymous requests (no signature at all) are allowed when the bucket policy allows
//     Principal "*" the action on the resource (unless RestrictPublicBuckets blocks a public
//     policy), or else when an ACL grants AllUsers the permission the action needs (unless
//     IgnorePublicAcls); an explicit Deny always wins. Anonymous ListBuckets lists nothing.
//
// DeleteObjects is evaluated once, as s3:DeleteObject on "<bucket>/*", not per key. As in
// S3, a missing key is reported (404) only to a requester who may list it (s3:ListBucket
// with s3:prefix = the key); others get 403.
//
// A route with the action actionPublic (a CORS preflight: browsers send no credentials
// with it) is served to anyone, without SigV4 and whatever its subresources; serveHTTP runs
// it before authentication, so authorize never sees one.

// actionPublic marks a route that needs no authentication and no authorization.
const actionPublic = "public"

// isAnonymous reports whether q is an unsigned request.
func (q *request) isAnonymous() bool { return q.auth == nil || q.auth.AccessKey == "" }

// routeAction is the IAM action r performs through rt.
func routeAction(rt *route, r *http.Request) string {
	if r.URL.Query().Has("versionId") {
		switch rt.action {
		case "s3:GetObject", "s3:DeleteObject", "s3:GetObjectAcl", "s3:PutObjectAcl":
			return strings.Replace(rt.action, "Object", "ObjectVersion", 1)
		}
	}
	return rt.action
}

// authorize decides whether the request r, authenticated as auth, may run rt on bucket/key.
func (s *Server) authorize(r *http.Request, rt *route, bucket, key string, auth *sigv4.Auth) error {
	anon := auth.AccessKey == ""
	if bucket == "" {
		if anon && rt.name != "ListBuckets" {
			return errAccessDenied
		}
		return nil
	}
	if err := s.authorizeAction(r, routeAction(rt, r), bucket, key, auth); err != nil {
		return err
	}
	if rt.header == "x-amz-copy-source" {
		sb, sk, ok := copySourceName(r.Header.Get("X-Amz-Copy-Source"))
		if !ok {
			return nil // the handler refuses the malformed header
		}
		return s.authorizeAction(r, "s3:GetObject", sb, sk, auth)
	}
	return nil
}

// copySourceName splits an x-amz-copy-source value into bucket and key.
func copySourceName(v string) (bucket, key string, ok bool) {
	v, _, _ = strings.Cut(v, "?")
	v, err := url.PathUnescape(v)
	if err != nil {
		return "", "", false
	}
	bucket, key, ok = strings.Cut(strings.TrimPrefix(v, "/"), "/")
	return bucket, key, ok && bucket != "" && key != ""
}

// missingKeyError is the answer to a request for bucket/key that found no such key (err):
// err if the requester may list the key, else AccessDenied.
func (s *Server) missingKeyError(r *http.Request, bucket, key string, auth *sigv4.Auth, err error) error {
	if s.authorizeActionWith(r, "s3:ListBucket", bucket, "", auth, map[string][]string{"s3:prefix": {key}}) != nil {
		return errAccessDenied
	}
	return err
}

// authorizeAction decides one IAM action on bucket/key (key "" for the bucket).
func (s *Server) authorizeAction(r *http.Request, action, bucket, key string, auth *sigv4.Auth) error {
	return s.authorizeActionWith(r, action, bucket, key, auth, nil)
}

// authorizeActionWith is authorizeAction with condition keys set to keys' values.
func (s *Server) authorizeActionWith(r *http.Request, action, bucket, key string, auth *sigv4.Auth, keys map[string][]string) error {
	anon := auth.AccessKey == ""
	bi, err := s.requestBucket(r.Context(), bucket)
	if err != nil {
		switch {
		case !anon:
			return nil // the handler answers NoSuchBucket, or creates the bucket
		case errors.Is(err, errNoSuchBucket) && action != "s3:CreateBucket":
			return errNoSuchBucket
		}
		return errAccessDenied
	}
	doc := s.policies.get(bucket, bi.Policy)
	pr := s.policyRequest(r, action, bucket, key, auth)
	for k, v := range keys {
		pr.keys[k] = v
	}
	eff := doc.evaluate(pr)
	if !anon {
		if eff == policyDeny && (bi.PolicyLocksOwner || !isBucketPolicyAction(action)) {
			return errAccessDenied
		}
		return nil
	}
	if eff == policyDeny {
		return errAccessDenied
	}
	pab := bi.PublicAccess
	if pab == nil {
		pab = &publicAccessBlock{}
	}
	if eff == policyAllow && !(pab.RestrictPublicBuckets && doc.isPublic()) {
		return nil
	}
	if pab.IgnorePublicAcls {
		return errAccessDenied
	}
	perm, onObject := aclPermission(action)
	if perm == "" {
		return errAccessDenied
	}
	grants := aclOf(bi.ACL)
	if onObject {
		m, err := s.st.getObject(r.Context(), bucket, key)
		if errors.Is(err, errNoSuchKey) {
			// No object ACL to grant it: S3 says 404 to a requester who may list the bucket.
			return s.missingKeyError(r, bucket, key, auth, err)
		}
		if err != nil {
			return errAccessDenied
		}
		grants = aclOf(m.ACL)
	}
	if !aclAllows(grants, perm) {
		return errAccessDenied
	}
	return nil
}

// isBucketPolicyAction reports whether action reads or changes the bucket policy.
func isBucketPolicyAction(action string) bool {
	switch action {
	case "s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy":
		return true
	}
	return false
}

// aclPermission is the ACL permission action needs, and whether the object's ACL (not
// the bucket's) grants it; "" when no ACL grants action.
func aclPermission(action string) (perm string, onObject bool) {
	switch action {
	case "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:ListMultipartUploadParts":
		return permRead, false
	case "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload":
		return permWrite, false
	case "s3:GetBucketAcl":
		return permReadACP, false
	case "s3:PutBucketAcl":
		return permWriteACP, false
	case "s3:GetObject", "s3:GetObjectVersion":
		return permRead, true
	case "s3:GetObjectAcl", "s3:GetObjectVersionAcl":
		return permReadACP, true
	case "s3:PutObjectAcl", "s3:PutObjectVersionAcl":
		return permWriteACP, true
	}
	return "", false
}

// conditionHeaders are the request headers that are S3 condition keys ("s3:" + name).
var conditionHeaders = []string{
	"x-amz-acl", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
	"x-amz-server-side-encryption-customer-algorithm", "x-amz-copy-source", "x-amz-metadata-directive",
	"x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp",
	"x-amz-grant-full-control", "x-amz-storage-class", "x-amz-content-sha256",
}

// policyRequest collects what the bucket policy sees of r.
func (s *Server) policyRequest(r *http.Request, action, bucket, key string, auth *sigv4.Auth) *policyRequest {
	pr := &policyRequest{action: action, resource: bucket, anonymous: auth.AccessKey == "", keys: map[string][]string{}}
	if key != "" {
		pr.resource = bucket + "/" + key
	} else if action == "s3:DeleteObject" {
		pr.resource = bucket + "/*"
	}
	k := pr.keys
	k["aws:securetransport"] = []string{boolString(r.TLS != nil)}
	now := s.now().UTC()
	k["aws:currenttime"] = []string{now.Format(time.RFC3339)}
	k["aws:epochtime"] = []string{strconv.FormatInt(now.Unix(), 10)}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		k["aws:sourceip"] = []string{ap.Addr().Unmap().String()}
	}
	if v := r.Header.Get("Referer"); v != "" {
		k["aws:referer"] = []string{v}
	}
	if v := r.Header.Get("User-Agent"); v != "" {
		k["aws:useragent"] = []string{v}
	}
	if pr.anonymous {
		k["aws:principaltype"] = []string{"Anonymous"}
	} else {
		o := s.owner(&request{auth: auth})
		pr.ids = []string{o.ID, auth.AccessKey, "arn:aws:iam::" + o.ID + ":root"}
		k["aws:principaltype"] = []string{"Account"}
		k["s3:signatureversion"] = []string{"AWS4-HMAC-SHA256"}
		k["s3:authtype"] = []string{"REST-HEADER"}
		if auth.Presigned {
			k["s3:authtype"] = []string{"REST-QUERY-STRING"}
		}
	}
	q := r.URL.Query()
	for _, p := range []string{"prefix", "delimiter", "max-keys"} {
		if q.Has(p) {
			k["s3:"+p] = []string{q.Get(p)}
		}
	}
	if q.Has("versionId") {
		k["s3:versionid"] = []string{q.Get("versionId")}
	}
	for _, h := range conditionHeaders {
		if vs := r.Header.Values(h); len(vs) > 0 {
			k["s3:"+h] = vs
		}
	}
	if t := r.Header.Get("X-Amz-Tagging"); t != "" {
		if tags, err := url.ParseQuery(t); err == nil {
			for tk, tv := range tags {
				k["s3:requestobjecttag/"+strings.ToLower(tk)] = tv
				k["s3:requestobjecttagkeys"] = append(k["s3:requestobjecttagkeys"], tk)
			}
		}
	}
	return pr
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// policyCache keeps the parsed policy of each bucket, keyed by its text.
type policyCache struct {
	mu sync.Mutex
	m  map[string]cachedPolicy
}

type cachedPolicy struct {
	raw string
	doc *policyDoc
}

// maxCachedPolicies bounds the cache; past it, the cache starts over.
const maxCachedPolicies = 4096

// get returns the parsed policy raw of bucket; nil when raw is "" (or does not parse:
// only parsed policies are stored).
func (c *policyCache) get(bucket, raw string) *policyDoc {
	if raw == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[bucket]; ok && e.raw == raw {
		return e.doc
	}
	doc, err := parsePolicy([]byte(raw), bucket)
	if err != nil {
		return nil
	}
	if c.m == nil || len(c.m) >= maxCachedPolicies {
		c.m = map[string]cachedPolicy{}
	}
	c.m[bucket] = cachedPolicy{raw: raw, doc: doc}
	return doc
}
