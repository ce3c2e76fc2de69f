package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"

	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// subresourcesV2 are the query parameters a SigV2 string to sign includes, as botocore
// (aws cli v1) signs them.
var subresourcesV2 = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "cors": true, "defaultObjectAcl": true,
	"delete": true, "inventory": true, "lifecycle": true, "location": true, "logging": true,
	"metrics": true, "notification": true, "object-lock": true, "partNumber": true, "policy": true,
	"replication": true, "requestPayment": true, "response-cache-control": true,
	"response-content-disposition": true, "response-content-encoding": true,
	"response-content-language": true, "response-content-type": true, "response-expires": true,
	"restore": true, "select": true, "select-type": true, "storageClass": true, "tagging": true,
	"torrent": true, "uploadId": true, "uploads": true, "versionId": true, "versioning": true,
	"versions": true, "website": true,
}

// verifyPresignV2 checks SigV2 query authentication (aws cli v1 `aws s3 presign`):
// base64(HMAC-SHA1(secret, StringToSign)) with StringToSign =
// Method\nContent-MD5\nContent-Type\nExpires\nCanonicalizedAmzHeaders CanonicalizedResource.
func (v *Verifier) verifyPresignV2(r *http.Request, pairs []queryPair) (*Auth, error) {
	p, err := parsePresignV2(pairs)
	if err != nil {
		return nil, err
	}
	if v.now().After(p.expires) {
		return nil, ErrExpiredRequest
	}
	secret, err := v.secret(p.accessKey)
	if err != nil {
		return nil, err
	}
	got, err := base64.StdEncoding.DecodeString(p.signature)
	if err != nil {
		// A '+' pasted unescaped into a URL arrives as a space.
		got, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(p.signature, " ", "+"))
	}
	if err != nil || len(got) != sha1.Size {
		return nil, ErrSignatureDoesNotMatch
	}
	prefix := r.Method + "\n" + headerOrQuery(r, pairs, "content-md5") + "\n" +
		headerOrQuery(r, pairs, "content-type") + "\n" + p.expiresS + "\n" + amzHeadersV2(r, pairs)
	sub := subresourceString(pairs)
	ok := false
	for _, res := range v.resourcesV2(r) {
		h := hmac.New(sha1.New, []byte(secret))
		h.Write([]byte(prefix + res + sub))
		if hmac.Equal(h.Sum(nil), got) {
			ok = true
		}
	}
	if !ok {
		return nil, ErrSignatureDoesNotMatch
	}
	return v.auth(r, p.accessKey, true, modeUnsigned, unsignedPayload, nil)
}

// headerOrQuery returns a header's value, or the same name from the query string, where
// botocore moves Content-MD5, Content-Type and x-amz-* headers when presigning.
func headerOrQuery(r *http.Request, pairs []queryPair, name string) string {
	if v := r.Header.Get(name); v != "" {
		return v
	}
	for _, p := range pairs {
		if strings.EqualFold(p.k, name) {
			return p.v
		}
	}
	return ""
}

// amzHeadersV2 returns the CanonicalizedAmzHeaders: x-amz-* names lower-cased and
// sorted, values trimmed and joined by ',', each line ending in '\n'.
func amzHeadersV2(r *http.Request, pairs []queryPair) string {
	vals := map[string][]string{}
	for k, vs := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			for _, v := range vs {
				vals[lk] = append(vals[lk], trimAll(v))
			}
		}
	}
	for _, p := range pairs {
		if lk := strings.ToLower(p.k); strings.HasPrefix(lk, "x-amz-") && r.Header.Get(lk) == "" {
			vals[lk] = append(vals[lk], trimAll(p.v))
		}
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + ":" + strings.Join(vals[k], ",") + "\n")
	}
	return b.String()
}

// subresourceString returns "?a&b=v" for the signed subresources, sorted by name, with
// decoded values.
func subresourceString(pairs []queryPair) string {
	var subs []queryPair
	for _, p := range pairs {
		if subresourcesV2[p.k] {
			subs = append(subs, p)
		}
	}
	if len(subs) == 0 {
		return ""
	}
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].k < subs[j].k })
	var b strings.Builder
	for i, p := range subs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		if p.v != "" {
			b.WriteString("=" + p.v)
		}
	}
	return b.String()
}

// resourcesV2 returns the CanonicalizedResource candidates, each prefixed with
// "/<bucket>" for a virtual-hosted request: the path as sent (what S3 specifies), the
// path encoded the AWS way, and the decoded path (older signers). All name the same
// object.
func (v *Verifier) resourcesV2(r *http.Request) []string {
	paths := []string{rawPath(r)}
	if dec, err := url.PathUnescape(paths[0]); err == nil {
		if enc := uriEncode(dec, true); enc != paths[0] {
			paths = append(paths, enc)
		}
		if dec != paths[0] {
			paths = append(paths, dec)
		}
	}
	if paths[0] == "" {
		paths[0] = "/"
	}
	if b := v.virtualBucket(r.Host); b != "" {
		for i := range paths {
			paths[i] = "/" + b + paths[i]
		}
	}
	return paths
}

// virtualBucket returns the bucket of a "<bucket>.<domain>" host for a configured domain.
func (v *Verifier) virtualBucket(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, d := range v.Domains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if b, ok := strings.CutSuffix(host, "."+d); ok && b != "" {
			return b
		}
	}
	return ""
}
