package s3lite

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kmsbox/kmsbox/internal/httproute"
	"github.com/kmsbox/kmsbox/s3lite/internal/sigv4"
)

// Unauthenticated paths (MinIO's health API).
const (
	pathHealthLive  = "/minio/health/live"
	pathHealthReady = "/minio/health/ready"
)

// level is what a request addresses.
type level int

const (
	levelService level = iota // "/"
	levelBucket               // "/bucket"
	levelObject               // "/bucket/key"
)

// request is one authenticated S3 request as handlers see it.
type request struct {
	r      *http.Request
	bucket string
	key    string
	auth   *sigv4.Auth
	body   io.Reader // decoded, limited payload
}

type handlerFunc func(s *Server, w http.ResponseWriter, q *request) error

// route is one S3 operation, or one of MinIO's unauthenticated health checks.
type route struct {
	method string // "" (health checks only): any method
	// path is the exact URL path of an unauthenticated route (no SigV4, no body); ""
	// for S3 operations, which are routed by level, sub and header.
	path  string
	level level
	// sub is the query subresource that selects the route ("" = none of them).
	sub string
	// header, when set, must be present (CopyObject, UploadPartCopy).
	header string
	name   string
	h      handlerFunc
	// limit bounds the decoded body: -1 object data (Server.maxObject), 0 none, > 0 an
	// XML body read whole before the handler runs (see routeBody).
	limit int64
	// timeout bounds the operation; 0: none (streaming operations).
	timeout time.Duration
	// action is the IAM action bucket policies name the operation by (authz.go); ""
	// (health checks) none.
	action string
	// selfAuth: the handler authenticates the request itself from its body (POST
	// Object's signed form); the request reaches it unverified.
	selfAuth bool
}

// maxObjectSize is S3's single PUT limit (5 GiB) and part size limit.
const maxObjectSize = 5 << 30

// routes is the whole S3 API surface of s3lite. First match wins.
var routes = []route{
	{path: pathHealthLive, name: "HealthLive", h: (*Server).healthLive, timeout: 5 * time.Second},
	{path: pathHealthReady, name: "HealthReady", h: (*Server).healthReady, timeout: 5 * time.Second},

	{method: http.MethodGet, level: levelService, name: "ListBuckets", action: "s3:ListAllMyBuckets", h: (*Server).listBuckets, timeout: time.Minute},

	{method: http.MethodGet, level: levelBucket, sub: "location", name: "GetBucketLocation", action: "s3:GetBucketLocation", h: (*Server).getBucketLocation, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, sub: "encryption", name: "PutBucketEncryption", action: "s3:PutEncryptionConfiguration", h: (*Server).putBucketEncryption, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "encryption", name: "GetBucketEncryption", action: "s3:GetEncryptionConfiguration", h: (*Server).getBucketEncryption, timeout: time.Minute},
	{method: http.MethodDelete, level: levelBucket, sub: "encryption", name: "DeleteBucketEncryption", action: "s3:PutEncryptionConfiguration", h: (*Server).deleteBucketEncryption, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, sub: "versioning", name: "PutBucketVersioning", action: "s3:PutBucketVersioning", h: (*Server).putBucketVersioning, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "versioning", name: "GetBucketVersioning", action: "s3:GetBucketVersioning", h: (*Server).getBucketVersioning, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "versions", name: "ListObjectVersions", action: "s3:ListBucketVersions", h: (*Server).listObjectVersions, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, sub: "tagging", name: "PutBucketTagging", action: "s3:PutBucketTagging", h: (*Server).putBucketTagging, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "tagging", name: "GetBucketTagging", action: "s3:GetBucketTagging", h: (*Server).getBucketTagging, timeout: time.Minute},
	{method: http.MethodDelete, level: levelBucket, sub: "tagging", name: "DeleteBucketTagging", action: "s3:PutBucketTagging", h: (*Server).deleteBucketTagging, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, sub: "policy", name: "PutBucketPolicy", action: "s3:PutBucketPolicy", h: (*Server).putBucketPolicy, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "policy", name: "GetBucketPolicy", action: "s3:GetBucketPolicy", h: (*Server).getBucketPolicy, timeout: time.Minute},
	{method: http.MethodDelete, level: levelBucket, sub: "policy", name: "DeleteBucketPolicy", action: "s3:DeleteBucketPolicy", h: (*Server).deleteBucketPolicy, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "policyStatus", name: "GetBucketPolicyStatus", action: "s3:GetBucketPolicyStatus", h: (*Server).getBucketPolicyStatus, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, sub: "acl", name: "PutBucketAcl", action: "s3:PutBucketAcl", h: (*Server).putBucketACL, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "acl", name: "GetBucketAcl", action: "s3:GetBucketAcl", h: (*Server).getBucketACL, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, sub: "ownershipControls", name: "PutBucketOwnershipControls", action: "s3:PutBucketOwnershipControls", h: (*Server).putBucketOwnershipControls, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "ownershipControls", name: "GetBucketOwnershipControls", action: "s3:GetBucketOwnershipControls", h: (*Server).getBucketOwnershipControls, timeout: time.Minute},
	{method: http.MethodDelete, level: levelBucket, sub: "ownershipControls", name: "DeleteBucketOwnershipControls", action: "s3:PutBucketOwnershipControls", h: (*Server).deleteBucketOwnershipControls, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, sub: "publicAccessBlock", name: "PutPublicAccessBlock", action: "s3:PutBucketPublicAccessBlock", h: (*Server).putPublicAccessBlock, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "publicAccessBlock", name: "GetPublicAccessBlock", action: "s3:GetBucketPublicAccessBlock", h: (*Server).getPublicAccessBlock, timeout: time.Minute},
	{method: http.MethodDelete, level: levelBucket, sub: "publicAccessBlock", name: "DeletePublicAccessBlock", action: "s3:PutBucketPublicAccessBlock", h: (*Server).deletePublicAccessBlock, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "uploads", name: "ListMultipartUploads", action: "s3:ListBucketMultipartUploads", h: (*Server).listMultipartUploads, timeout: time.Minute},
	{method: http.MethodPost, level: levelBucket, sub: "delete", name: "DeleteObjects", action: "s3:DeleteObject", h: (*Server).deleteObjects, limit: maxXMLBody, timeout: 5 * time.Minute},
	{method: http.MethodPost, level: levelBucket, name: "PostObject", action: "s3:PutObject", h: (*Server).postObject, limit: -1, selfAuth: true},
	{method: http.MethodGet, level: levelBucket, name: "ListObjects", action: "s3:ListBucket", h: (*Server).listObjects, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, name: "CreateBucket", action: "s3:CreateBucket", h: (*Server).createBucket, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodHead, level: levelBucket, name: "HeadBucket", action: "s3:ListBucket", h: (*Server).headBucket, timeout: time.Minute},
	{method: http.MethodDelete, level: levelBucket, name: "DeleteBucket", action: "s3:DeleteBucket", h: (*Server).deleteBucket, timeout: time.Minute},
	{method: http.MethodOptions, level: levelBucket, name: "PreflightBucket", action: actionPublic, h: (*Server).preflight, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, sub: "cors", name: "PutBucketCors", action: "s3:PutBucketCORS", h: (*Server).putBucketCors, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "cors", name: "GetBucketCors", action: "s3:GetBucketCORS", h: (*Server).getBucketCors, timeout: time.Minute},
	{method: http.MethodDelete, level: levelBucket, sub: "cors", name: "DeleteBucketCors", action: "s3:PutBucketCORS", h: (*Server).deleteBucketCors, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, sub: "lifecycle", name: "PutBucketLifecycleConfiguration", action: "s3:PutLifecycleConfiguration", h: (*Server).putBucketLifecycle, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "lifecycle", name: "GetBucketLifecycleConfiguration", action: "s3:GetLifecycleConfiguration", h: (*Server).getBucketLifecycle, timeout: time.Minute},
	{method: http.MethodDelete, level: levelBucket, sub: "lifecycle", name: "DeleteBucketLifecycle", action: "s3:PutLifecycleConfiguration", h: (*Server).deleteBucketLifecycle, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, sub: "object-lock", name: "PutObjectLockConfiguration", action: "s3:PutBucketObjectLockConfiguration", h: (*Server).putObjectLockConfiguration, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "object-lock", name: "GetObjectLockConfiguration", action: "s3:GetBucketObjectLockConfiguration", h: (*Server).getObjectLockConfiguration, timeout: time.Minute},
	{method: http.MethodPut, level: levelBucket, sub: "logging", name: "PutBucketLogging", action: "s3:PutBucketLogging", h: (*Server).putBucketLogging, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "logging", name: "GetBucketLogging", action: "s3:GetBucketLogging", h: (*Server).getBucketLogging, timeout: time.Minute},
	// Configurations s3lite does not offer: their GETs answer "never set" (unimplemented.go).
	{method: http.MethodGet, level: levelBucket, sub: "website", name: "GetBucketWebsite", action: "s3:GetBucketWebsite", h: (*Server).getBucketWebsite, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "replication", name: "GetBucketReplication", action: "s3:GetReplicationConfiguration", h: (*Server).getBucketReplication, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "notification", name: "GetBucketNotificationConfiguration", action: "s3:GetBucketNotification", h: (*Server).getBucketNotification, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "accelerate", name: "GetBucketAccelerateConfiguration", action: "s3:GetAccelerateConfiguration", h: (*Server).getBucketAccelerate, timeout: time.Minute},
	{method: http.MethodGet, level: levelBucket, sub: "requestPayment", name: "GetBucketRequestPayment", action: "s3:GetBucketRequestPayment", h: (*Server).getBucketRequestPayment, timeout: time.Minute},

	{method: http.MethodPut, level: levelObject, sub: "acl", name: "PutObjectAcl", action: "s3:PutObjectAcl", h: (*Server).putObjectACL, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelObject, sub: "acl", name: "GetObjectAcl", action: "s3:GetObjectAcl", h: (*Server).getObjectACL, timeout: time.Minute},
	{method: http.MethodPut, level: levelObject, sub: "tagging", name: "PutObjectTagging", action: "s3:PutObjectTagging", h: (*Server).putObjectTagging, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelObject, sub: "tagging", name: "GetObjectTagging", action: "s3:GetObjectTagging", h: (*Server).getObjectTagging, timeout: time.Minute},
	{method: http.MethodDelete, level: levelObject, sub: "tagging", name: "DeleteObjectTagging", action: "s3:DeleteObjectTagging", h: (*Server).deleteObjectTagging, timeout: time.Minute},
	{method: http.MethodGet, level: levelObject, sub: "attributes", name: "GetObjectAttributes", action: "s3:GetObjectAttributes", h: (*Server).getObjectAttributes, timeout: time.Minute},
	{method: http.MethodPut, level: levelObject, sub: "retention", name: "PutObjectRetention", action: "s3:PutObjectRetention", h: (*Server).putObjectRetention, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelObject, sub: "retention", name: "GetObjectRetention", action: "s3:GetObjectRetention", h: (*Server).getObjectRetention, timeout: time.Minute},
	{method: http.MethodPut, level: levelObject, sub: "legal-hold", name: "PutObjectLegalHold", action: "s3:PutObjectLegalHold", h: (*Server).putObjectLegalHold, limit: maxXMLBody, timeout: time.Minute},
	{method: http.MethodGet, level: levelObject, sub: "legal-hold", name: "GetObjectLegalHold", action: "s3:GetObjectLegalHold", h: (*Server).getObjectLegalHold, timeout: time.Minute},
	{method: http.MethodPost, level: levelObject, sub: "uploads", name: "CreateMultipartUpload", action: "s3:PutObject", h: (*Server).createMultipartUpload, timeout: time.Minute},
	{method: http.MethodPost, level: levelObject, sub: "uploadId", name: "CompleteMultipartUpload", action: "s3:PutObject", h: (*Server).completeMultipartUpload, limit: maxXMLBody},
	{method: http.MethodPut, level: levelObject, sub: "uploadId", header: "x-amz-copy-source", name: "UploadPartCopy", action: "s3:PutObject", h: (*Server).uploadPartCopy},
	{method: http.MethodPut, level: levelObject, sub: "uploadId", name: "UploadPart", action: "s3:PutObject", h: (*Server).uploadPart, limit: -1},
	{method: http.MethodGet, level: levelObject, sub: "uploadId", name: "ListParts", action: "s3:ListMultipartUploadParts", h: (*Server).listParts, timeout: time.Minute},
	{method: http.MethodDelete, level: levelObject, sub: "uploadId", name: "AbortMultipartUpload", action: "s3:AbortMultipartUpload", h: (*Server).abortMultipartUpload, timeout: time.Minute},
	{method: http.MethodPut, level: levelObject, header: "x-amz-copy-source", name: "CopyObject", action: "s3:PutObject", h: (*Server).copyObject},
	{method: http.MethodPut, level: levelObject, name: "PutObject", action: "s3:PutObject", h: (*Server).putObject, limit: -1},
	{method: http.MethodGet, level: levelObject, name: "GetObject", action: "s3:GetObject", h: (*Server).getObject},
	{method: http.MethodHead, level: levelObject, name: "HeadObject", action: "s3:GetObject", h: (*Server).headObject, timeout: time.Minute},
	{method: http.MethodDelete, level: levelObject, name: "DeleteObject", action: "s3:DeleteObject", h: (*Server).deleteObject, timeout: time.Minute},
	{method: http.MethodOptions, level: levelObject, name: "PreflightObject", action: actionPublic, h: (*Server).preflight, timeout: time.Minute},
}

// subresources are the query keys that select a route.
var subresources = map[string]bool{"location": true, "encryption": true, "uploads": true, "delete": true, "uploadId": true,
	"cors": true, "lifecycle": true, "object-lock": true, "retention": true, "legal-hold": true, "logging": true,
	// Not implemented (unimplemented.go): 501 naming the operation, or the "never set" GET.
	"website": true, "replication": true, "notification": true,
	"accelerate": true, "requestPayment": true, "restore": true,
	"select": true, "torrent": true, "analytics": true, "inventory": true, "metrics": true, "intelligent-tiering": true,
	"policy": true, "policyStatus": true, "acl": true, "ownershipControls": true, "publicAccessBlock": true,
	"versioning": true, "versions": true,
	"tagging": true, "attributes": true}

// plainParams are query keys that are parameters, not subresources. Any
// other key names an S3 feature s3lite does not have: 501.
var plainParams = map[string]bool{
	"prefix": true, "delimiter": true, "marker": true, "max-keys": true, "list-type": true,
	"continuation-token": true, "start-after": true, "encoding-type": true, "fetch-owner": true,
	"key-marker": true, "upload-id-marker": true, "max-uploads": true, "max-parts": true,
	"part-number-marker": true, "partNumber": true, "x-id": true, "versionId": true, "version-id-marker": true,
	"max-buckets": true, "bucket-region": true,
	// MinIO's listing extension (user metadata in listings); listings
	// without it are still correct.
	"metadata": true,
	// minio-go's GetBucketLifecycle asks for MinIO's update time; the rules come without it.
	"withUpdatedAt":         true,
	"response-content-type": true, "response-content-language": true, "response-expires": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"AWSAccessKeyId": true, "Signature": true, "Expires": true,
}

func isAuthParam(k string) bool { return strings.HasPrefix(strings.ToLower(k), "x-amz-") }

// serveHTTP authenticates, routes and runs one request.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	w.Header().Set("x-amz-request-id", strings.ToUpper(hex.EncodeToString(id[:])))
	w.Header().Set("Server", "kmsbox")
	w.Header().Set("Accept-Ranges", "bytes")
	httproute.ContinueEmpty(w, r)
	r = httproute.IdleBody(w, r, s.cfg.BodyIdle)

	bucket, key := s.splitPath(r)
	lvl := levelService
	if key != "" {
		lvl = levelObject
	} else if bucket != "" {
		lvl = levelBucket
	}
	q := r.URL.Query()
	sub := ""
	var unsupported error
	for k := range q {
		switch {
		case subresources[k]:
			if sub == "" || k == "uploadId" {
				sub = k
			}
		case plainParams[k], isAuthParam(k):
		default:
			unsupported = withMsg(errNotImplemented, "The "+k+" API is not implemented by this server")
		}
	}
	rt := findRoute(r, lvl, sub)
	if rt != nil && (rt.path != "" || rt.action == actionPublic) {
		r, cancel := httproute.WithTimeout(r, rt.timeout)
		defer cancel()
		if err := rt.h(s, w, &request{r: r, bucket: bucket, key: key}); err != nil {
			s.writeError(w, r, err)
		}
		return
	}
	s.corsActual(w, r, bucket)

	var auth *sigv4.Auth
	var err error
	if rt != nil && rt.selfAuth {
		// The handler authenticates and authorizes the request from its body (POST Object).
		auth = &sigv4.Auth{Body: r.Body, ContentLength: -1}
	} else {
		auth, err = s.verifier.Verify(r)
		if errors.Is(err, sigv4.ErrMissingAuth) {
			auth, err = sigv4.Anonymous(r)
			if err == nil && (unsupported != nil || rt == nil) {
				err = errAccessDenied
			}
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// auth.Body is not closed here: closing the request body drains it before an early error
	// answer is flushed, which holds that answer until an "Expect: 100-continue" client gives
	// up waiting and sends its body anyway. net/http closes the body after the handler.
	if unsupported != nil || rt == nil {
		s.writeError(w, r, notImplemented(r.Method, lvl, sub, unsupported))
		return
	}
	if bucket != "" && !validBucketName(bucket) {
		s.writeError(w, r, errInvalidBucketName)
		return
	}
	if err := s.checkExpectedOwner(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if key != "" {
		if err := checkObjectKey(key); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if rt.selfAuth {
		// authorized by the handler
	} else if err := s.authorize(r, rt, bucket, key, auth); err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := s.routeBody(rt, auth)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	r, cancel := httproute.WithTimeout(r, rt.timeout)
	defer cancel()
	rw := &trackingWriter{ResponseWriter: w}
	req := &request{r: r, bucket: bucket, key: key, auth: auth, body: body}
	if logs := s.startLog(rt, req, rw); logs != nil {
		// A logged bucket (accesslog.go): its record is buffered once the request is done.
		defer func() { s.endLog(logs, err) }()
	}
	err = rt.h(s, rw, req)
	if err == nil {
		return
	}
	err = rt.bodyError(err)
	if errors.Is(err, errNoSuchKey) {
		err = s.missingKeyError(r, bucket, key, auth, err)
	}
	if errors.Is(err, errObjectTampered) {
		s.dmg.report(bucket, key, err)
	}
	if rw.wrote {
		// Headers are out: abort the connection so the client sees a
		// failure instead of a short or altered body.
		s.log.Error("s3 response aborted", "op", rt.name, "bucket", bucket, "err", err)
		panic(http.ErrAbortHandler)
	}
	s.writeError(w, r, err)
}

// findRoute returns the first route of the table that matches r, which addresses lvl with
// the subresource sub; nil if none does.
func findRoute(r *http.Request, lvl level, sub string) *route {
	for i := range routes {
		c := &routes[i]
		if c.method != "" && c.method != r.Method {
			continue
		}
		if c.path != "" {
			if c.path == r.URL.Path {
				return c
			}
			continue
		}
		if c.level == lvl && (c.sub == sub || c.action == actionPublic) && (c.header == "" || r.Header.Get(c.header) != "") {
			return c
		}
	}
	return nil
}

// routeBody applies rt's body limit to the verified body auth.Body, before the handler
// runs. Past the limit the body fails instead of ending early (a cut body would hide its
// end, where the payload hash and chunk signatures are checked):
//   - object data (limit -1) is streamed to the handler, which commits only after a clean
//     io.EOF; reading past s.maxObject fails (EntityTooLarge);
//   - XML bodies (limit > 0) are read whole here, so their payload hash is verified before
//     the handler sees a byte; past the limit: MaxMessageLengthExceeded;
//   - routes without a body (limit 0) get an empty one; one that has content is refused
//     with UnexpectedContent, as S3 does, and an empty one still has its hash checked.
//
// A declared decoded length over the limit is refused before anything is read.
func (s *Server) routeBody(rt *route, auth *sigv4.Auth) (io.Reader, error) {
	if rt.limit < 0 {
		if auth.ContentLength > s.maxObject {
			return nil, errEntityTooLarge
		}
		return httproute.LimitReader(auth.Body, s.maxObject), nil
	}
	if auth.ContentLength > rt.limit {
		return nil, rt.bodyError(&httproute.TooLargeError{Limit: rt.limit})
	}
	data, err := io.ReadAll(httproute.LimitReader(auth.Body, rt.limit))
	if err != nil {
		return nil, rt.bodyError(err)
	}
	return bytes.NewReader(data), nil
}

// bodyError maps a body over rt's limit to rt's S3 error; other errors pass unchanged.
func (rt *route) bodyError(err error) error {
	var tl *httproute.TooLargeError
	if !errors.As(err, &tl) {
		return err
	}
	switch {
	case rt.limit < 0:
		return errors.Join(errEntityTooLarge, err)
	case rt.limit == 0:
		return errors.Join(errUnexpectedContent, err)
	}
	return errors.Join(errMaxMessageLength, err)
}

// trackingWriter records whether the response has started, its status and body size.
type trackingWriter struct {
	http.ResponseWriter
	wrote  bool
	status int
	n      int64
}

func (t *trackingWriter) WriteHeader(code int) {
	if !t.wrote {
		t.status = code
	}
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}
func (t *trackingWriter) Write(p []byte) (int, error) {
	t.wrote = true
	n, err := t.ResponseWriter.Write(p)
	t.n += int64(n)
	return n, err
}

// Flush lets streamed bodies reach the client early.
func (t *trackingWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// splitPath returns bucket and key of r, virtual-hosted style when the
// Host is a subdomain of Config.Domain, else path style.
func (s *Server) splitPath(r *http.Request) (bucket, key string) {
	p := r.URL.Path
	if s.cfg.Domain != "" {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(host)
		if b, ok := strings.CutSuffix(host, "."+strings.ToLower(s.cfg.Domain)); ok && b != "" {
			return b, strings.TrimPrefix(p, "/")
		}
	}
	p = strings.TrimPrefix(p, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// validBucketName applies S3's bucket naming rules.
func validBucketName(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	// Each dot-separated label starts and ends with a letter or digit, so
	// "..", ".-" and "-." never appear.
	if strings.Contains(b, "..") || strings.Contains(b, ".-") || strings.Contains(b, "-.") || strings.HasPrefix(b, "xn--") || strings.HasSuffix(b, "-s3alias") {
		return false
	}
	if net.ParseIP(b) != nil {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if (i == 0 || i == len(b)-1) && !alnum {
			return false
		}
		if !alnum && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// checkObjectKey refuses keys S3 cannot round-trip. Keys never become file
// paths, so "../" and absolute-looking keys are harmless and allowed.
func checkObjectKey(k string) error {
	if len(k) > 1024 {
		return errKeyTooLong
	}
	if !utf8.ValidString(k) || strings.ContainsRune(k, 0) {
		return withMsg(errInvalidArgument, "Object name contains unsupported characters.")
	}
	return nil
}

// healthLive answers MinIO's liveness check: the server runs.
func (s *Server) healthLive(w http.ResponseWriter, _ *request) error {
	w.WriteHeader(http.StatusOK)
	return nil
}

// healthReady answers MinIO's readiness check: 503 while the KMS cannot serve.
func (s *Server) healthReady(w http.ResponseWriter, q *request) error {
	if s.cfg.KMS != nil {
		if err := s.cfg.KMS.Status(q.r.Context()); err != nil {
			s.log.Warn("s3 not ready: KMS unavailable", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			return nil
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
