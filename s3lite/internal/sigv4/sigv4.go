package sigv4

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Verifier authenticates S3 requests: SigV4 in the Authorization header, SigV4 presigned
// query strings, SigV2 presigned query strings (aws cli v1 `aws s3 presign`).
//
// A Verifier is safe for concurrent use once its fields are set; it holds no other state.
type Verifier struct {
	// Region is the region signatures must be scoped to, e.g. "us-east-1"; empty
	// accepts any region.
	Region string
	// Secret returns the secret key of accessKey; ok=false means the key is unknown
	// (ErrInvalidAccessKeyID).
	Secret func(accessKey string) (secret string, ok bool)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSkew is the largest accepted difference between the request's date and Now;
	// 0 means 15 minutes.
	MaxSkew time.Duration
	// Domains are the base domains of virtual-hosted-style requests
	// ("<bucket>.<domain>"); only SigV2, whose string to sign names the bucket, needs
	// them. Empty means path-style only.
	Domains []string
}

// Auth is the result of a successful Verify.
type Auth struct {
	// AccessKey is the access key the request was signed with.
	AccessKey string
	// Presigned reports whether the signature came from the query string.
	Presigned bool
	// Body is the decoded payload (aws-chunked framing removed) to read instead of r.Body.
	// Read returns an error on a bad chunk signature (ErrSignatureDoesNotMatch), a payload
	// hash mismatch (ErrContentSHA256Mismatch), truncation (ErrIncompleteBody) or bad
	// framing (ErrMalformedChunk). Closing it closes r.Body.
	Body io.ReadCloser
	// ContentLength is the decoded payload length, -1 if unknown.
	ContentLength int64
	// Trailer holds the aws-chunked trailing headers (e.g. x-amz-checksum-crc32); it is
	// valid only after Body returned io.EOF.
	Trailer http.Header
}

// Errors returned by Verify and by reads of Auth.Body. Each maps to one S3 error code
// (named in the comment); callers match them with errors.Is.
var (
	// ErrMissingAuth: the request carries no signature at all (AccessDenied).
	ErrMissingAuth = errors.New("sigv4: request is not signed")
	// ErrInvalidAccessKeyID: the access key is unknown (InvalidAccessKeyId).
	ErrInvalidAccessKeyID = errors.New("sigv4: unknown access key id")
	// ErrSignatureDoesNotMatch: the signature (or a chunk or trailer signature) is wrong
	// (SignatureDoesNotMatch).
	ErrSignatureDoesNotMatch = errors.New("sigv4: signature does not match")
	// ErrRequestTimeTooSkewed: the request date is too far from the server's clock, or a
	// presigned URL is dated in the future beyond MaxSkew (403 RequestTimeTooSkewed).
	ErrRequestTimeTooSkewed = errors.New("sigv4: request time too skewed")
	// ErrExpiredRequest: a presigned URL has expired (AccessDenied "Request has expired").
	ErrExpiredRequest = errors.New("sigv4: request has expired")
	// ErrAuthorizationHeaderMalformed: the Authorization header cannot be parsed or its
	// scope is wrong (AuthorizationHeaderMalformed).
	ErrAuthorizationHeaderMalformed = errors.New("sigv4: authorization header malformed")
	// ErrAuthorizationQueryParametersError: presigned query parameters are missing or
	// invalid (AuthorizationQueryParametersError).
	ErrAuthorizationQueryParametersError = errors.New("sigv4: authorization query parameters error")
	// ErrContentSHA256Mismatch: the body does not hash to x-amz-content-sha256, or the
	// header is not a valid value (XAmzContentSHA256Mismatch).
	ErrContentSHA256Mismatch = errors.New("sigv4: x-amz-content-sha256 does not match the payload")
	// ErrIncompleteBody: the body ended before the declared length (IncompleteBody).
	ErrIncompleteBody = errors.New("sigv4: incomplete body")
	// ErrMalformedChunk: the aws-chunked framing or its headers are invalid: bad size
	// line, chunk over MaxChunkSize, missing CRLF, undeclared or malformed trailer, data
	// past X-Amz-Decoded-Content-Length (400; S3 answers InvalidArgument or IncompleteBody).
	ErrMalformedChunk = errors.New("sigv4: malformed aws-chunked body")
	// ErrUnsupportedSignature: an algorithm or signature version s3lite does not accept:
	// SigV2 in the Authorization header, SigV4A (ECDSA), another scheme (400
	// InvalidRequest "The authorization mechanism you have provided is not supported").
	ErrUnsupportedSignature = errors.New("sigv4: unsupported signature type")
)

// Verify authenticates r and returns the decoded request body to read instead of r.Body.
//
// It accepts exactly one of: a SigV4 Authorization header, SigV4 query parameters
// (X-Amz-Algorithm...), SigV2 query parameters (AWSAccessKeyId, Signature, Expires).
// The signature is checked before Verify returns; the payload (hash, chunk signatures,
// trailer) is checked while Auth.Body is read, and Body returns io.EOF only once all of
// it checked out. Verify does not read the body.
func (v *Verifier) Verify(r *http.Request) (*Auth, error) {
	return v.verify(r, serviceS3)
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return defaultMaxSkew
}

func (v *Verifier) secret(accessKey string) (string, error) {
	if v.Secret != nil {
		if s, ok := v.Secret(accessKey); ok {
			return s, nil
		}
	}
	return "", ErrInvalidAccessKeyID
}

// verify is Verify for any service name (the AWS test suite signs for "service").
func (v *Verifier) verify(r *http.Request, service string) (*Auth, error) {
	pairs := parseQuery(r.URL.RawQuery)
	authz := r.Header.Values("Authorization")
	v4q := hasQueryKey(pairs, qAlgorithm) || hasQueryKey(pairs, qSignature) || hasQueryKey(pairs, qCredential)
	v2q := hasQueryKey(pairs, qV2AccessKey) || hasQueryKey(pairs, qV2Signature)
	switch {
	case len(authz) > 1:
		return nil, fmt.Errorf("%w: more than one Authorization header", ErrAuthorizationHeaderMalformed)
	case len(authz) == 1 && (v4q || v2q):
		return nil, fmt.Errorf("%w: only one auth mechanism allowed", ErrAuthorizationQueryParametersError)
	case len(authz) == 1:
		return v.verifyHeader(r, authz[0], pairs, service)
	case v4q:
		return v.verifyPresignV4(r, pairs, service)
	case v2q:
		return v.verifyPresignV2(r, pairs)
	}
	return nil, ErrMissingAuth
}

// verifyHeader checks a SigV4 Authorization header.
func (v *Verifier) verifyHeader(r *http.Request, authz string, pairs []queryPair, service string) (*Auth, error) {
	if strings.HasPrefix(authz, "AWS ") {
		return nil, fmt.Errorf("%w: Signature Version 2 in the Authorization header", ErrUnsupportedSignature)
	}
	if !strings.HasPrefix(authz, "AWS4-") {
		return nil, fmt.Errorf("%w: unknown authorization scheme", ErrUnsupportedSignature)
	}
	h, err := parseAuthorization(authz)
	if err != nil {
		return nil, err
	}
	if err := v.checkScope(h.scope, service); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuthorizationHeaderMalformed, err)
	}
	t, err := requestTime(r)
	if err != nil {
		return nil, err
	}
	if h.scope.date != t.Format(yyyymmdd) {
		return nil, fmt.Errorf("%w: credential date %s does not match the request date", ErrAuthorizationHeaderMalformed, h.scope.date)
	}
	if d := v.now().Sub(t); d > v.maxSkew() || d < -v.maxSkew() {
		return nil, fmt.Errorf("%w: request time %s, server time %s", ErrRequestTimeTooSkewed,
			t.Format(time.RFC3339), v.now().UTC().Format(time.RFC3339))
	}
	secret, err := v.secret(h.scope.accessKey)
	if err != nil {
		return nil, err
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		// S3 clients always send it; without it the signed payload is the empty body.
		payload = emptySHA256
	}
	mode, err := parsePayloadMode(payload)
	if err != nil {
		return nil, err
	}
	amzDate := t.Format(iso8601Basic)
	key := signingKey(secret, h.scope)
	if !signatureMatches(r, key, amzDate, h.scope, h.signed, pairs, "", payload, h.signature) {
		return nil, ErrSignatureDoesNotMatch
	}
	return v.auth(r, h.scope.accessKey, false, mode, payload, &chunkSigner{
		key: key, amzDate: amzDate, scope: h.scope.String(), prev: hex.EncodeToString(h.signature),
	})
}

// verifyPresignV4 checks SigV4 query authentication.
func (v *Verifier) verifyPresignV4(r *http.Request, pairs []queryPair, service string) (*Auth, error) {
	p, err := parsePresignV4(pairs)
	if err != nil {
		return nil, err
	}
	if err := v.checkScope(p.scope, service); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuthorizationQueryParametersError, err)
	}
	if p.scope.date != p.date.Format(yyyymmdd) {
		return nil, fmt.Errorf("%w: credential date %s does not match X-Amz-Date", ErrAuthorizationQueryParametersError, p.scope.date)
	}
	now := v.now()
	if now.Before(p.date.Add(-v.maxSkew())) {
		return nil, fmt.Errorf("%w: request is not valid yet", ErrRequestTimeTooSkewed)
	}
	if now.After(p.date.Add(p.expires)) {
		return nil, ErrExpiredRequest
	}
	secret, err := v.secret(p.scope.accessKey)
	if err != nil {
		return nil, err
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = p.payload
	}
	if payload == "" {
		payload = unsignedPayload
	}
	mode, err := parsePayloadMode(payload)
	if err != nil {
		return nil, err
	}
	key := signingKey(secret, p.scope)
	if !signatureMatches(r, key, p.amzDate, p.scope, p.signed, pairs, qSignature, payload, p.signature) {
		return nil, ErrSignatureDoesNotMatch
	}
	return v.auth(r, p.scope.accessKey, true, mode, payload, &chunkSigner{
		key: key, amzDate: p.amzDate, scope: p.scope.String(), prev: hex.EncodeToString(p.signature),
	})
}

// checkScope checks the service and the region of a credential scope.
func (v *Verifier) checkScope(s scope, service string) error {
	if s.service != service {
		return fmt.Errorf("service %q is wrong; expecting %q", s.service, service)
	}
	if v.Region != "" && s.region != v.Region {
		return fmt.Errorf("the region %q is wrong; expecting %q", s.region, v.Region)
	}
	return nil
}

// signatureMatches recomputes the signature for each canonical URI candidate and
// compares in constant time.
func signatureMatches(r *http.Request, key []byte, amzDate string, s scope, signed []string, pairs []queryPair, skip, payload string, sig []byte) bool {
	q := canonicalQuery(pairs, skip)
	ok := false
	for _, uri := range canonicalURIs(r) {
		sts := stringToSign(amzDate, s, canonicalRequest(r, uri, q, signed, payload))
		if hmac.Equal(hmacSHA256(key, sts), sig) {
			ok = true
		}
	}
	return ok
}

// requestTime returns the signed request time from X-Amz-Date, else from Date.
func requestTime(r *http.Request) (time.Time, error) {
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(iso8601Basic, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: X-Amz-Date must be in ISO 8601 basic format", ErrAuthorizationHeaderMalformed)
		}
		return t, nil
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: malformed Date header", ErrAuthorizationHeaderMalformed)
		}
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%w: AWS authentication requires a valid Date or x-amz-date header", ErrAuthorizationHeaderMalformed)
}

// payloadMode is what x-amz-content-sha256 says about the body.
type payloadMode int

const (
	modeHash                  payloadMode = iota // hex SHA-256 of the body
	modeUnsigned                                 // UNSIGNED-PAYLOAD
	modeStreamSigned                             // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
	modeStreamSignedTrailer                      // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
	modeStreamUnsignedTrailer                    // STREAMING-UNSIGNED-PAYLOAD-TRAILER
)

func parsePayloadMode(v string) (payloadMode, error) {
	switch v {
	case unsignedPayload:
		return modeUnsigned, nil
	case streamingSigned:
		return modeStreamSigned, nil
	case streamingSignedT:
		return modeStreamSignedTrailer, nil
	case streamingUnsignT:
		return modeStreamUnsignedTrailer, nil
	case streamingECDSA, streamingECDSAT:
		return 0, fmt.Errorf("%w: %s", ErrUnsupportedSignature, v)
	}
	if len(v) == signatureHexChars {
		if _, err := hex.DecodeString(v); err == nil {
			return modeHash, nil
		}
	}
	return 0, fmt.Errorf("%w: x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value", ErrContentSHA256Mismatch)
}

// auth builds the Auth with the body reader the payload mode needs.
func (v *Verifier) auth(r *http.Request, accessKey string, presigned bool, mode payloadMode, payload string, signer *chunkSigner) (*Auth, error) {
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	a := &Auth{AccessKey: accessKey, Presigned: presigned, ContentLength: r.ContentLength, Trailer: http.Header{}}
	switch mode {
	case modeUnsigned:
		a.Body = eofMapper{body}
	case modeHash:
		want, _ := hex.DecodeString(payload)
		a.Body = newHashReader(body, want)
	default:
		a.ContentLength = -1
		if d := r.Header.Get("X-Amz-Decoded-Content-Length"); d != "" {
			n, err := strconv.ParseInt(d, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: malformed X-Amz-Decoded-Content-Length", ErrMalformedChunk)
			}
			a.ContentLength = n
		}
		if mode == modeStreamUnsignedTrailer {
			signer = nil
		}
		trailers := mode != modeStreamSigned
		var declared []string
		if trailers {
			declared = parseTrailerNames(r.Header)
		}
		a.Body = newChunkedReader(body, signer, trailers, declared, a.ContentLength, a.Trailer)
	}
	return a, nil
}

// ContentEncoding returns the request's Content-Encoding without the aws-chunked coding,
// which only frames the upload: what S3 stores and returns for the object ("" when
// aws-chunked was the only coding).
func ContentEncoding(h http.Header) string {
	var keep []string
	for _, v := range h.Values("Content-Encoding") {
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "aws-chunked") {
				keep = append(keep, c)
			}
		}
	}
	return strings.Join(keep, ",")
}

// Anonymous returns the Auth of an unsigned request (no Authorization header, no presigned
// query: Verify returned ErrMissingAuth): AccessKey "", and the body decoded as its
// x-amz-content-sha256 says: as sent when absent or UNSIGNED-PAYLOAD, aws-chunked with
// trailing checksums for STREAMING-UNSIGNED-PAYLOAD-TRAILER (what SDKs send without
// credentials), checked against a hex SHA-256. A signed streaming mode without a signature
// is ErrMissingAuth.
func Anonymous(r *http.Request) (*Auth, error) {
	v := r.Header.Get("X-Amz-Content-Sha256")
	mode := modeUnsigned
	if v != "" {
		m, err := parsePayloadMode(v)
		if err != nil {
			return nil, err
		}
		mode = m
	}
	if mode == modeStreamSigned || mode == modeStreamSignedTrailer {
		return nil, fmt.Errorf("%w: %s without a signature", ErrMissingAuth, v)
	}
	return (&Verifier{}).auth(r, "", false, mode, v, nil)
}
