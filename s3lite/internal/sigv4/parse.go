package sigv4

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits on untrusted authentication input.
const (
	maxAuthHeader     = 4096 // bytes of an Authorization header
	maxSignedHeaders  = 64   // names in SignedHeaders
	signatureHexChars = 64
)

// v4Header is a parsed "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
// Authorization header.
type v4Header struct {
	scope     scope
	signed    []string
	signature []byte
}

// parseAuthorization parses a SigV4 Authorization header value. Every error wraps
// ErrAuthorizationHeaderMalformed, except an algorithm other than AWS4-HMAC-SHA256,
// which is ErrUnsupportedSignature.
func parseAuthorization(h string) (v4Header, error) {
	var out v4Header
	if len(h) > maxAuthHeader {
		return out, fmt.Errorf("%w: header too long", ErrAuthorizationHeaderMalformed)
	}
	alg, rest, ok := strings.Cut(strings.TrimLeft(h, " "), " ")
	if !ok {
		return out, fmt.Errorf("%w: missing fields", ErrAuthorizationHeaderMalformed)
	}
	if alg != algorithmV4 {
		return out, fmt.Errorf("%w: algorithm %q", ErrUnsupportedSignature, alg)
	}
	var cred, signed, sig string
	var seen [3]bool
	for _, f := range strings.Split(rest, ",") {
		f = strings.Trim(f, " ")
		if f == "" {
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return out, fmt.Errorf("%w: field %q has no value", ErrAuthorizationHeaderMalformed, k)
		}
		var i int
		switch k {
		case "Credential":
			i, cred = 0, v
		case "SignedHeaders":
			i, signed = 1, v
		case "Signature":
			i, sig = 2, v
		default:
			return out, fmt.Errorf("%w: unknown field %q", ErrAuthorizationHeaderMalformed, k)
		}
		if seen[i] {
			return out, fmt.Errorf("%w: duplicate field %q", ErrAuthorizationHeaderMalformed, k)
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return out, fmt.Errorf("%w: Credential, SignedHeaders and Signature are required", ErrAuthorizationHeaderMalformed)
	}
	var err error
	if out.scope, ok = parseCredential(cred); !ok {
		return out, fmt.Errorf("%w: malformed Credential", ErrAuthorizationHeaderMalformed)
	}
	if out.signed, err = parseSignedHeaders(signed); err != nil {
		return out, fmt.Errorf("%w: %v", ErrAuthorizationHeaderMalformed, err)
	}
	if out.signature, err = parseSignature(sig); err != nil {
		return out, fmt.Errorf("%w: %v", ErrAuthorizationHeaderMalformed, err)
	}
	return out, nil
}

// parseSignedHeaders checks the ';'-separated list of lower-case header names: no empty
// or duplicate names, host included. The order is kept as sent: the client built its
// canonical request in that order (SigV4 requires it sorted, and all real clients sort).
func parseSignedHeaders(v string) ([]string, error) {
	names := strings.Split(v, ";")
	if len(names) > maxSignedHeaders {
		return nil, fmt.Errorf("too many signed headers")
	}
	host := false
	for i, n := range names {
		if n == "" || strings.ToLower(n) != n || strings.ContainsAny(n, " \t:") {
			return nil, fmt.Errorf("bad signed header name %q", n)
		}
		for _, m := range names[:i] {
			if m == n {
				return nil, fmt.Errorf("duplicate signed header %q", n)
			}
		}
		host = host || n == "host"
	}
	if !host {
		return nil, fmt.Errorf("the host header must be signed")
	}
	return names, nil
}

func parseSignature(v string) ([]byte, error) {
	if len(v) != signatureHexChars {
		return nil, fmt.Errorf("signature must be %d hex characters", signatureHexChars)
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("signature is not hex")
	}
	return b, nil
}

// presignV4 is a parsed SigV4 presigned query string.
type presignV4 struct {
	v4Header
	date    time.Time
	amzDate string
	expires time.Duration
	payload string // X-Amz-Content-Sha256 from the query, "" if absent
}

// Query parameter names of SigV4 and SigV2 query authentication.
const (
	qAlgorithm     = "X-Amz-Algorithm"
	qCredential    = "X-Amz-Credential"
	qDate          = "X-Amz-Date"
	qExpires       = "X-Amz-Expires"
	qSignedHeaders = "X-Amz-SignedHeaders"
	qSignature     = "X-Amz-Signature"
	qContentSHA256 = "X-Amz-Content-Sha256"
	qV2AccessKey   = "AWSAccessKeyId"
	qV2Signature   = "Signature"
	qV2Expires     = "Expires"
)

// parsePresignV4 parses the SigV4 query parameters. Every error wraps
// ErrAuthorizationQueryParametersError (or ErrUnsupportedSignature for another
// algorithm).
func parsePresignV4(pairs []queryPair) (presignV4, error) {
	var out presignV4
	vals := map[string]string{}
	for _, p := range pairs {
		switch p.k {
		case qAlgorithm, qCredential, qDate, qExpires, qSignedHeaders, qSignature, qContentSHA256:
			if _, dup := vals[p.k]; dup {
				return out, fmt.Errorf("%w: duplicate %s", ErrAuthorizationQueryParametersError, p.k)
			}
			vals[p.k] = p.v
		}
	}
	for _, k := range []string{qAlgorithm, qCredential, qDate, qExpires, qSignedHeaders, qSignature} {
		if _, ok := vals[k]; !ok {
			return out, fmt.Errorf("%w: missing %s", ErrAuthorizationQueryParametersError, k)
		}
	}
	if a := vals[qAlgorithm]; a != algorithmV4 {
		if a == algorithmV4A {
			return out, fmt.Errorf("%w: algorithm %q", ErrUnsupportedSignature, a)
		}
		return out, fmt.Errorf("%w: X-Amz-Algorithm only supports %q", ErrAuthorizationQueryParametersError, algorithmV4)
	}
	var ok bool
	var err error
	if out.scope, ok = parseCredential(vals[qCredential]); !ok {
		return out, fmt.Errorf("%w: malformed X-Amz-Credential", ErrAuthorizationQueryParametersError)
	}
	if out.signed, err = parseSignedHeaders(vals[qSignedHeaders]); err != nil {
		return out, fmt.Errorf("%w: %v", ErrAuthorizationQueryParametersError, err)
	}
	if out.signature, err = parseSignature(vals[qSignature]); err != nil {
		return out, fmt.Errorf("%w: %v", ErrAuthorizationQueryParametersError, err)
	}
	out.amzDate = vals[qDate]
	if out.date, err = time.Parse(iso8601Basic, out.amzDate); err != nil {
		return out, fmt.Errorf("%w: X-Amz-Date must be in ISO 8601 basic format", ErrAuthorizationQueryParametersError)
	}
	e := vals[qExpires]
	n, err := strconv.ParseInt(e, 10, 64)
	if err != nil || n < 0 || len(e) > 10 {
		return out, fmt.Errorf("%w: X-Amz-Expires must be a non-negative integer", ErrAuthorizationQueryParametersError)
	}
	if out.expires = time.Duration(n) * time.Second; out.expires > maxPresignExpiry {
		return out, fmt.Errorf("%w: X-Amz-Expires must be less than a week (in seconds) that is 604800", ErrAuthorizationQueryParametersError)
	}
	out.payload = vals[qContentSHA256]
	return out, nil
}

// presignV2 is a parsed SigV2 query string (AWSAccessKeyId, Expires, Signature).
type presignV2 struct {
	accessKey string
	expires   time.Time
	expiresS  string
	signature string // base64
}

func parsePresignV2(pairs []queryPair) (presignV2, error) {
	var out presignV2
	var seen [3]bool
	for _, p := range pairs {
		var i int
		switch p.k {
		case qV2AccessKey:
			i, out.accessKey = 0, p.v
		case qV2Signature:
			i, out.signature = 1, p.v
		case qV2Expires:
			i, out.expiresS = 2, p.v
		default:
			continue
		}
		if seen[i] {
			return out, fmt.Errorf("%w: duplicate %s", ErrAuthorizationQueryParametersError, p.k)
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] || out.accessKey == "" || out.signature == "" {
		return out, fmt.Errorf("%w: AWSAccessKeyId, Signature and Expires are required", ErrAuthorizationQueryParametersError)
	}
	n, err := strconv.ParseInt(out.expiresS, 10, 64)
	if err != nil || n < 0 || len(out.expiresS) > 12 {
		return out, fmt.Errorf("%w: Expires must be a Unix time in seconds", ErrAuthorizationQueryParametersError)
	}
	out.expires = time.Unix(n, 0)
	return out, nil
}

// hasQueryKey reports whether the raw query carries key (decoded comparison).
func hasQueryKey(pairs []queryPair, key string) bool {
	for _, p := range pairs {
		if p.k == key {
			return true
		}
	}
	return false
}
