package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// PostForm holds the authentication fields of a browser-based POST upload (an HTML form
// sent as multipart/form-data), as S3 names them. The form signs its policy document:
// SigV4 (x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-signature: hex
// HMAC-SHA256 of the base64 policy under the SigV4 signing key) or SigV2
// (AWSAccessKeyId, signature: base64 HMAC-SHA1 of the base64 policy under the secret).
type PostForm struct {
	// Policy is the base64 policy document exactly as sent.
	Policy string
	// Algorithm, Credential, Date and Signature are the SigV4 fields.
	Algorithm, Credential, Date, Signature string
	// AccessKeyID and SignatureV2 are the SigV2 fields.
	AccessKeyID, SignatureV2 string
}

// V4 reports whether f carries SigV4 fields rather than SigV2 ones.
func (f PostForm) V4() bool { return f.Credential != "" || f.Signature != "" || f.Algorithm != "" }

// VerifyPost checks the signature of a POST form's policy and returns the access key it
// was signed with. Errors: ErrUnsupportedSignature (an algorithm other than
// AWS4-HMAC-SHA256), ErrAuthorizationQueryParametersError (a malformed credential or
// date, or one for another service or region), ErrInvalidAccessKeyID,
// ErrSignatureDoesNotMatch. Policy expiry is the caller's: the policy says when.
func (v *Verifier) VerifyPost(f PostForm) (string, error) {
	if !f.V4() {
		secret, err := v.secret(f.AccessKeyID)
		if err != nil {
			return "", err
		}
		got, err := base64.StdEncoding.DecodeString(f.SignatureV2)
		if err != nil || len(got) != sha1.Size {
			return "", ErrSignatureDoesNotMatch
		}
		h := hmac.New(sha1.New, []byte(secret))
		h.Write([]byte(f.Policy))
		if !hmac.Equal(h.Sum(nil), got) {
			return "", ErrSignatureDoesNotMatch
		}
		return f.AccessKeyID, nil
	}
	if f.Algorithm != algorithmV4 {
		return "", fmt.Errorf("%w: POST form algorithm %q", ErrUnsupportedSignature, f.Algorithm)
	}
	s, ok := parseCredential(f.Credential)
	if !ok {
		return "", fmt.Errorf("%w: malformed x-amz-credential", ErrAuthorizationQueryParametersError)
	}
	if err := v.checkScope(s, serviceS3); err != nil {
		return "", fmt.Errorf("%w: %v", ErrAuthorizationQueryParametersError, err)
	}
	if f.Date != "" {
		t, err := time.Parse(iso8601Basic, f.Date)
		if err != nil || t.Format(yyyymmdd) != s.date {
			return "", fmt.Errorf("%w: x-amz-date does not match the credential date", ErrAuthorizationQueryParametersError)
		}
	}
	secret, err := v.secret(s.accessKey)
	if err != nil {
		return "", err
	}
	got, err := hex.DecodeString(strings.TrimSpace(f.Signature))
	if err != nil || !hmac.Equal(hmacSHA256(signingKey(secret, s), f.Policy), got) {
		return "", ErrSignatureDoesNotMatch
	}
	return s.accessKey, nil
}
