package s3lite

import (
	"io"
	"net/http"
	"strings"
	"time"

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
