package s3lite

import (
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/kmsbox/kmsbox/internal/httproute"
	"github.com/kmsbox/kmsbox/s3lite/internal/checksum"
	"github.com/kmsbox/kmsbox/s3lite/internal/sigv4"
)

// Sentinel errors a KMS implementation returns (wrapped) so that s3lite can
// answer with the matching S3 KMS error code.
var (
	// ErrKMSKeyNotFound means the named master key does not exist (S3 404 kms:KeyNotFound).
	ErrKMSKeyNotFound = errors.New("s3lite: kms: key does not exist")
	// ErrKMSNotAuthorized means the KMS refused the operation (S3 403 kms:NotAuthorized).
	ErrKMSNotAuthorized = errors.New("s3lite: kms: not authorized")
	// ErrKMSInvalidCiphertext means a sealed data key did not decrypt (S3 400 kms:InvalidCiphertextException).
	ErrKMSInvalidCiphertext = errors.New("s3lite: kms: invalid ciphertext")
	// ErrKMSUnavailable means the KMS cannot serve now, e.g. a sealed vault (S3 500 kms:KeyGenerationFailed / kms:DecryptionFailed).
	ErrKMSUnavailable = errors.New("s3lite: kms: unavailable")
)

// Domain sentinels of the S3 layer. Handlers return them (possibly wrapped
// by withMsg); the table below is the only place that knows their wire form.
var (
	errAccessDenied          = errors.New("access denied")
	errBadDigest             = errors.New("bad digest")
	errBucketExists          = errors.New("bucket already owned by you")
	errBucketNotEmpty        = errors.New("bucket not empty")
	errEntityTooSmall        = errors.New("entity too small")
	errEntityTooLarge        = errors.New("entity too large")
	errIncompleteBody        = errors.New("incomplete body")
	errInternal              = errors.New("internal error")
	errInvalidArgument       = errors.New("invalid argument")
	errInvalidBucketName     = errors.New("invalid bucket name")
	errInvalidDigest         = errors.New("invalid digest")
	errInvalidPart           = errors.New("invalid part")
	errInvalidPartOrder      = errors.New("invalid part order")
	errInvalidRange          = errors.New("invalid range")
	errInvalidRequest        = errors.New("invalid request")
	errKeyTooLong            = errors.New("key too long")
	errMalformedXML          = errors.New("malformed xml")
	errMaxMessageLength      = errors.New("request body over the route's limit")
	errMethodNotAllowed      = errors.New("method not allowed")
	errMissingContentLength  = errors.New("missing content length")
	errMissingContentMD5     = errors.New("missing content md5")
	errNoSuchBucket          = errors.New("no such bucket")
	errInvalidTargetBucket   = errors.New("invalid target bucket for logging")
	errNoSuchKey             = errors.New("no such key")
	errNoSuchUpload          = errors.New("no such upload")
	errNoSuchVersion         = errors.New("no such version")
	errNoEncryptionConfig    = errors.New("no bucket encryption config")
	errNotImplemented        = errors.New("not implemented")
	errUnexpectedContent     = errors.New("body on a request that takes none")
	errNotModified           = errors.New("not modified")
	errPreconditionFailed    = errors.New("precondition failed")
	errObjectTampered        = errors.New("object tampered")
	errKMSNotConfigured      = errors.New("kms not configured")
	errSSECRequired          = errors.New("sse-c key required")
	errSSEWrongKey           = errors.New("sse-c wrong key")
	errSSEIncompatible       = errors.New("sse-c incompatible")
	errSSENotApplicable      = errors.New("sse headers not applicable")
	errKMSGenerate           = errors.New("kms key generation failed")
	errKMSDecrypt            = errors.New("kms decryption failed")
	errInvalidEncryptionAlgo = errors.New("invalid encryption algorithm")
	errInvalidKMSKeyID       = errors.New("invalid kms key id")
	errInvalidStorageClass   = errors.New("invalid storage class")

	// CORS and lifecycle (cors.go, lifecycle.go).
	errNoSuchCORSConfig      = errors.New("no cors configuration")
	errCORSBadRequest        = errors.New("cors preflight without origin or method")
	errCORSNotEnabled        = errors.New("cors not enabled")
	errCORSNotAllowed        = errors.New("cors request not allowed")
	errNoSuchLifecycleConfig = errors.New("no lifecycle configuration")

	// Configurations s3lite does not offer, as S3 answers a GET of an unset one (unimplemented.go).
	errNoSuchWebsiteConfig = errors.New("no website configuration")
	errNoReplicationConfig = errors.New("no replication configuration")

	// Object Lock (objectlock.go, objectretention.go, storelock.go).
	errNoObjectLockConfig     = errors.New("no object lock configuration")
	errNoObjectRetention      = errors.New("no object lock on the version")
	errInvalidBucketState     = errors.New("invalid bucket state")
	errInvalidRetentionPeriod = errors.New("invalid retention period")
	errObjectLocked           = errors.New("object version locked")

	// Bucket policy, ACLs, ownership controls and public access blocks (policy.go, acl.go, publicaccess.go).
	errMalformedPolicy        = errors.New("malformed bucket policy")
	errNoSuchBucketPolicy     = errors.New("no bucket policy")
	errACLNotSupported        = errors.New("acls not supported")
	errMalformedACL           = errors.New("malformed acl")
	errBucketACLOwnership     = errors.New("bucket acl conflicts with object ownership")
	errUnresolvableEmail      = errors.New("grant by e-mail address")
	errNoOwnershipControls    = errors.New("no ownership controls")
	errNoPublicAccessBlock    = errors.New("no public access block")
	errInvalidOwnershipConfig = errors.New("invalid ownership controls")
	errMissingSecurityHeader  = errors.New("missing security header")
	errInvalidTag             = errors.New("invalid tag")
	errNoSuchTagSet           = errors.New("no such tag set")
	errMalformedPOST          = errors.New("malformed post request")
	errInvalidPolicyDocument  = errors.New("invalid post policy document")
	errMaxPostPreData         = errors.New("post fields too large")
)

// apiError is the wire form of an error: S3 code, HTTP status and message.
type apiError struct {
	Code    string
	Status  int
	Message string
}

// errorTable is THE mapping from sentinels to S3 errors. Order matters only
// where one error wraps several sentinels: the first match wins.
var errorTable = []struct {
	err error
	api apiError
}{
	{errKMSGenerate, apiError{"kms:KeyGenerationFailed", 500, "Failed to generate a data key with the KMS."}},
	{errKMSDecrypt, apiError{"kms:DecryptionFailed", 500, "Failed to decrypt the data key with the KMS."}},
	{ErrKMSKeyNotFound, apiError{"kms:KeyNotFound", 404, "key with given key ID does not exist"}},
	{ErrKMSNotAuthorized, apiError{"kms:NotAuthorized", 403, "not authorized"}},
	{ErrKMSInvalidCiphertext, apiError{"kms:InvalidCiphertextException", 400, "invalid ciphertext"}},
	{ErrKMSUnavailable, apiError{"kms:KeyGenerationFailed", 500, "The KMS is not available."}},
	{errKMSNotConfigured, apiError{"NotImplemented", 501, "Server side encryption specified but KMS is not configured"}},

	{httproute.ErrBodyIdle, apiError{"RequestTimeout", 400, "Your socket connection to the server was not read from or written to within the timeout period."}},
	{sigv4.ErrMissingAuth, apiError{"AccessDenied", 403, "Access Denied."}},
	{sigv4.ErrInvalidAccessKeyID, apiError{"InvalidAccessKeyId", 403, "The Access Key Id you provided does not exist in our records."}},
	{sigv4.ErrSignatureDoesNotMatch, apiError{"SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method."}},
	{sigv4.ErrRequestTimeTooSkewed, apiError{"RequestTimeTooSkewed", 403, "The difference between the request time and the server's time is too large."}},
	{sigv4.ErrExpiredRequest, apiError{"AccessDenied", 403, "Request has expired"}},
	{sigv4.ErrAuthorizationHeaderMalformed, apiError{"AuthorizationHeaderMalformed", 400, "The authorization header is malformed."}},
	{sigv4.ErrAuthorizationQueryParametersError, apiError{"AuthorizationQueryParametersError", 400, "Error parsing the X-Amz-Credential parameter."}},
	{sigv4.ErrContentSHA256Mismatch, apiError{"XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed."}},
	{sigv4.ErrIncompleteBody, apiError{"IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header."}},
	{sigv4.ErrMalformedChunk, apiError{"IncompleteBody", 400, "The request body is not valid aws-chunked encoding."}},
	{sigv4.ErrUnsupportedSignature, apiError{"InvalidRequest", 400, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."}},
	{checksum.ErrInvalidAlgorithm, apiError{"InvalidRequest", 400, "Invalid checksum algorithm or checksum value."}},
	{checksum.ErrBadDigest, apiError{"BadDigest", 400, "The checksum you specified did not match the calculated checksum."}},

	{errAccessDenied, apiError{"AccessDenied", 403, "Access Denied."}},
	{errBadDigest, apiError{"BadDigest", 400, "The Content-MD5 you specified did not match what we received."}},
	{errBucketExists, apiError{"BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it."}},
	{errBucketNotEmpty, apiError{"BucketNotEmpty", 409, "The bucket you tried to delete is not empty"}},
	{errEntityTooSmall, apiError{"EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size."}},
	{errEntityTooLarge, apiError{"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size."}},
	{errIncompleteBody, apiError{"IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header."}},
	{errInvalidArgument, apiError{"InvalidArgument", 400, "Invalid argument."}},
	{errInvalidBucketName, apiError{"InvalidBucketName", 400, "The specified bucket is not valid."}},
	{errInvalidDigest, apiError{"InvalidDigest", 400, "The Content-MD5 you specified is not valid."}},
	{errInvalidPart, apiError{"InvalidPart", 400, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."}},
	{errInvalidPartOrder, apiError{"InvalidPartOrder", 400, "The list of parts was not in ascending order. The parts list must be specified in order by part number."}},
	{errInvalidRange, apiError{"InvalidRange", 416, "The requested range is not satisfiable"}},
	{errInvalidRequest, apiError{"InvalidRequest", 400, "Invalid request."}},
	{errInvalidKMSKeyID, apiError{"InvalidRequest", 400, "The specified KMS KeyID contains unsupported characters"}},
	{errKeyTooLong, apiError{"KeyTooLongError", 400, "Your key is too long"}},
	{errMalformedXML, apiError{"MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema."}},
	{errMaxMessageLength, apiError{"MaxMessageLengthExceeded", 400, "Your request was too big."}},
	{errMethodNotAllowed, apiError{"MethodNotAllowed", 405, "The specified method is not allowed against this resource."}},
	{errMissingContentMD5, apiError{"MissingContentMD5", 400, "Missing required header for this request: Content-Md5."}},
	{errMissingContentLength, apiError{"MissingContentLength", 411, "You must provide the Content-Length HTTP header."}},
	{errNoSuchBucket, apiError{"NoSuchBucket", 404, "The specified bucket does not exist"}},
	{errInvalidTargetBucket, apiError{"InvalidTargetBucketForLogging", 400, "The target bucket for logging does not exist"}},
	{errNoSuchKey, apiError{"NoSuchKey", 404, "The specified key does not exist."}},
	{errNoSuchVersion, apiError{"NoSuchVersion", 404, "The specified version does not exist."}},
	{errNoSuchUpload, apiError{"NoSuchUpload", 404, "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."}},
	{errNoEncryptionConfig, apiError{"ServerSideEncryptionConfigurationNotFoundError", 404, "The server side encryption configuration was not found"}},
	{errInvalidTag, apiError{"InvalidTag", 400, "The tag provided was not a valid tag."}},
	{errNoSuchTagSet, apiError{"NoSuchTagSet", 404, "The TagSet does not exist"}},
	{errMalformedPOST, apiError{"MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data."}},
	{errInvalidPolicyDocument, apiError{"InvalidPolicyDocument", 400, "The content of the form does not meet the conditions specified in the policy document."}},
	{errMaxPostPreData, apiError{"MaxPostPreDataLengthExceeded", 400, "Your POST request fields preceding the upload file were too large."}},
	{errNotImplemented, apiError{"NotImplemented", 501, "A header or query you provided implies functionality that is not implemented"}},
	{errUnexpectedContent, apiError{"UnexpectedContent", 400, "This request does not support content"}},
	{errNotModified, apiError{"NotModified", 304, "Not Modified"}},
	{errPreconditionFailed, apiError{"PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold"}},
	{errBucketDamaged, apiError{"InternalError", 500, "The bucket's record is damaged: set its default encryption again (PutBucketEncryption or DeleteBucketEncryption) to repair it."}},
	{errObjectTampered, apiError{"XMinioObjectTampered", 500, "The requested object was modified and may be compromised"}},
	{errSSECRequired, apiError{"InvalidRequest", 400, "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."}},
	{errSSEWrongKey, apiError{"AccessDenied", 403, "Access Denied."}},
	{errSSEIncompatible, apiError{"InvalidArgument", 400, "Server Side Encryption with Customer provided key is incompatible with the encryption method specified"}},
	{errSSENotApplicable, apiError{"InvalidRequest", 400, "The encryption parameters are not applicable to this object."}},
	{errInvalidEncryptionAlgo, apiError{"InvalidArgument", 400, "The encryption method specified is not supported"}},
	{errMalformedPolicy, apiError{"MalformedPolicy", 400, "This policy contains invalid Json"}},
	{errNoSuchBucketPolicy, apiError{"NoSuchBucketPolicy", 404, "The bucket policy does not exist"}},
	{errACLNotSupported, apiError{"AccessControlListNotSupported", 400, "The bucket does not allow ACLs"}},
	{errMalformedACL, apiError{"MalformedACLError", 400, "The XML you provided was not well-formed or did not validate against our published schema"}},
	{errBucketACLOwnership, apiError{"InvalidBucketAclWithObjectOwnership", 400, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"}},
	{errUnresolvableEmail, apiError{"UnresolvableGrantByEmailAddress", 400, "The e-mail address you provided does not match any account on record."}},
	{errNoOwnershipControls, apiError{"OwnershipControlsNotFoundError", 404, "The bucket ownership controls were not found"}},
	{errNoPublicAccessBlock, apiError{"NoSuchPublicAccessBlockConfiguration", 404, "The public access block configuration was not found"}},
	{errInvalidOwnershipConfig, apiError{"MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema."}},
	{errMissingSecurityHeader, apiError{"MissingSecurityHeader", 400, "Your request was missing a required header"}},
	{errInternal, apiError{"InternalError", 500, "We encountered an internal error, please try again."}},
	{errInvalidStorageClass, apiError{"InvalidStorageClass", 400, "The storage class you specified is not valid"}},

	{errNoSuchCORSConfig, apiError{"NoSuchCORSConfiguration", 404, "The CORS configuration does not exist"}},
	{errCORSBadRequest, apiError{"BadRequest", 400, "Insufficient information. Origin request header needed."}},
	{errCORSNotEnabled, apiError{"AccessForbidden", 403, "CORSResponse: CORS is not enabled for this bucket."}},
	{errCORSNotAllowed, apiError{"AccessForbidden", 403, "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."}},
	{errNoSuchLifecycleConfig, apiError{"NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist"}},
	{errNoSuchWebsiteConfig, apiError{"NoSuchWebsiteConfiguration", 404, "The specified bucket does not have a website configuration"}},
	{errNoReplicationConfig, apiError{"ReplicationConfigurationNotFoundError", 404, "The replication configuration was not found"}},
	{errNoObjectLockConfig, apiError{"ObjectLockConfigurationNotFoundError", 404, "Object Lock configuration does not exist for this bucket"}},
	{errNoObjectRetention, apiError{"NoSuchObjectLockConfiguration", 404, "The specified object does not have a ObjectLock configuration"}},
	{errInvalidBucketState, apiError{"InvalidBucketState", 409, "The request is not valid with the current state of the bucket."}},
	{errInvalidRetentionPeriod, apiError{"InvalidRetentionPeriod", 400, "Default retention period must be a positive integer value."}},
	{errObjectLocked, apiError{"AccessDenied", 403, "Access Denied because object protected by object lock."}},
}

// msgError overrides the message of a sentinel while keeping errors.Is.
type msgError struct {
	base error
	msg  string
}

func (e *msgError) Error() string { return e.base.Error() + ": " + e.msg }
func (e *msgError) Unwrap() error { return e.base }

// withMsg returns base with a more specific client-visible message.
func withMsg(base error, msg string) error { return &msgError{base: base, msg: msg} }

// toAPIError maps err through errorTable; unknown errors are InternalError.
func toAPIError(err error) apiError {
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			a := e.api
			var m *msgError
			if errors.As(err, &m) && m.msg != "" {
				a.Message = m.msg
			}
			return a
		}
	}
	return apiError{"InternalError", 500, "We encountered an internal error, please try again."}
}

// errorResponse is S3's <Error> document.
type errorResponse struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Key       string   `xml:"Key,omitempty"`
	Bucket    string   `xml:"BucketName,omitempty"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
}

// writeError answers err in S3's XML. HEAD requests and 304 carry no body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	a := toAPIError(err)
	// 501 refuses an API this server does not offer: the client's doing, not a failure.
	// A damaged object is named once (damageLog), not on every request for it.
	if a.Status >= 500 && a.Status != http.StatusNotImplemented && !errors.Is(err, errObjectTampered) {
		s.log.Error("s3 request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("s3 request refused", "method", r.Method, "path", r.URL.Path, "code", a.Code, "err", err)
	}
	h := w.Header()
	if a.Status == http.StatusNotModified || r.Method == http.MethodHead {
		w.WriteHeader(a.Status)
		return
	}
	if a.Status == http.StatusServiceUnavailable || a.Code == "SlowDown" {
		h.Set("Retry-After", "1")
	}
	writeXML(w, a.Status, errorResponse{
		Code:      a.Code,
		Message:   a.Message,
		Resource:  r.URL.Path,
		RequestID: h.Get("x-amz-request-id"),
	})
}
