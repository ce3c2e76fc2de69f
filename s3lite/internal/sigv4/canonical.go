package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	algorithmV4      = "AWS4-HMAC-SHA256"
	algorithmV4A     = "AWS4-ECDSA-P256-SHA256"
	terminator       = "aws4_request"
	serviceS3        = "s3"
	iso8601Basic     = "20060102T150405Z"
	yyyymmdd         = "20060102"
	emptySHA256      = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	unsignedPayload  = "UNSIGNED-PAYLOAD"
	streamingSigned  = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedT = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignT = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingECDSA   = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
	streamingECDSAT  = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
	maxPresignExpiry = 7 * 24 * time.Hour
	defaultMaxSkew   = 15 * time.Minute
)

// scope is the credential scope of a SigV4 signature: date/region/service/aws4_request.
type scope struct {
	accessKey string
	date      string // yyyymmdd
	region    string
	service   string
}

func (s scope) String() string {
	return s.date + "/" + s.region + "/" + s.service + "/" + terminator
}

// parseCredential splits "AKID/20130524/us-east-1/s3/aws4_request". The access key is
// everything before the last four fields, so keys containing '/' still parse.
func parseCredential(v string) (scope, bool) {
	f := strings.Split(v, "/")
	if len(f) < 5 {
		return scope{}, false
	}
	n := len(f)
	s := scope{
		accessKey: strings.Join(f[:n-4], "/"),
		date:      f[n-4],
		region:    f[n-3],
		service:   f[n-2],
	}
	if s.accessKey == "" || f[n-1] != terminator || len(s.date) != 8 || s.service == "" {
		return scope{}, false
	}
	if _, err := time.Parse(yyyymmdd, s.date); err != nil {
		return scope{}, false
	}
	return s, true
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// signingKey derives the SigV4 key: HMAC chain over date, region, service, aws4_request.
func signingKey(secret string, s scope) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), s.date)
	k = hmacSHA256(k, s.region)
	k = hmacSHA256(k, s.service)
	return hmacSHA256(k, terminator)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// stringToSign builds the SigV4 string to sign for a canonical request.
func stringToSign(amzDate string, s scope, canonicalRequest string) string {
	return algorithmV4 + "\n" + amzDate + "\n" + s.String() + "\n" + sha256Hex(canonicalRequest)
}

// uriEncode percent-encodes s as AWS does: every byte except the unreserved characters
// A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex); '/' is kept when keepSlash is set.
func uriEncode(s string, keepSlash bool) string {
	const hexUpper = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// rawPath returns the request path exactly as the client sent it (before '?').
func rawPath(r *http.Request) string {
	if u := r.RequestURI; strings.HasPrefix(u, "/") {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		return u
	}
	return r.URL.EscapedPath()
}

// canonicalURIs returns the canonical URI candidates for S3: first the decoded path
// encoded once the AWS way (what the AWS SDKs, botocore and minio-go sign), then, if
// different, the path exactly as sent (clients that sign their own, differently but
// equivalently escaped wire form, such as "%2F" inside a key). S3 never normalizes
// dot segments or repeated slashes.
func canonicalURIs(r *http.Request) []string {
	raw := rawPath(r)
	if raw == "" {
		raw = "/"
	}
	dec, err := url.PathUnescape(raw)
	if err != nil {
		return []string{raw}
	}
	enc := uriEncode(dec, true)
	if enc == raw {
		return []string{enc}
	}
	return []string{enc, raw}
}

// queryPair is one decoded query parameter.
type queryPair struct{ k, v string }

// parseQuery splits a raw query string into decoded pairs in wire order. Pairs are split
// on '&' only; '+' decodes to a space as in form encoding (clients that mean '+' send
// %2B). A component with an invalid escape is kept verbatim.
func parseQuery(raw string) []queryPair {
	var out []queryPair
	for raw != "" {
		var p string
		p, raw, _ = strings.Cut(raw, "&")
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		out = append(out, queryPair{unescapeQuery(k), unescapeQuery(v)})
	}
	return out
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// canonicalQuery encodes and sorts the pairs (by key, then value), leaving out skip.
func canonicalQuery(pairs []queryPair, skip string) string {
	enc := make([]queryPair, 0, len(pairs))
	for _, p := range pairs {
		if skip != "" && p.k == skip {
			continue
		}
		enc = append(enc, queryPair{uriEncode(p.k, false), uriEncode(p.v, false)})
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].k != enc[j].k {
			return enc[i].k < enc[j].k
		}
		return enc[i].v < enc[j].v
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// headerValues returns the values of the lower-case header name as the client sent
// them, including the headers net/http moves out of r.Header.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		if r.Host != "" {
			return []string{r.Host}
		}
		return r.Header.Values("Host")
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			return v
		}
		if r.ContentLength > 0 || r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		return nil
	case "transfer-encoding":
		if v := r.Header.Values("Transfer-Encoding"); len(v) > 0 {
			return v
		}
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
		return nil
	}
	return r.Header.Values(name)
}

// trimAll trims a header value and folds inner runs of spaces and tabs to one space.
func trimAll(v string) string {
	v = strings.Trim(v, " \t\r\n")
	if !strings.ContainsAny(v, "\t\r\n") && !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// canonicalRequest assembles the SigV4 canonical request.
func canonicalRequest(r *http.Request, uri, query string, signed []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		for i, v := range headerValues(r, h) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(trimAll(v))
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}
