package s3lite

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// listParams are the parameters of ListObjects v1 and v2.
type listParams struct {
	v2        bool
	prefix    string
	delimiter string
	after     string
	maxKeys   int
}

// listEntry is one result: an object or a common prefix.
type listEntry struct {
	obj    *objectMeta
	prefix string
}

// parseMaxKeys parses max-keys style parameters: default def, capped at def.
func parseMaxKeys(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, withMsg(errInvalidArgument, "Argument max-keys must be an integer between 0 and 2147483647")
	}
	return min(n, def), nil
}

// listObjects answers ListObjects (v1) and ListObjectsV2 (list-type=2).
func (s *Server) listObjects(w http.ResponseWriter, q *request) error {
	v := q.r.URL.Query()
	p := listParams{v2: v.Get("list-type") == "2", prefix: v.Get("prefix"), delimiter: v.Get("delimiter")}
	if lt := v.Get("list-type"); lt != "" && lt != "2" && lt != "1" {
		return withMsg(errInvalidArgument, "Invalid list-type")
	}
	enc, encodingType, err := listEncoding(v)
	if err != nil {
		return err
	}
	if p.maxKeys, err = parseMaxKeys(v.Get("max-keys"), 1000); err != nil {
		return err
	}
	token := v.Get("continuation-token")
	if p.v2 {
		p.after = v.Get("start-after")
		if token != "" {
			raw, err := base64.RawURLEncoding.DecodeString(token)
			if err != nil {
				return withMsg(errInvalidArgument, "The continuation token provided is incorrect")
			}
			p.after = string(raw)
		}
	} else {
		p.after = v.Get("marker")
	}
	if err := s.st.bucketExists(q.r.Context(), q.bucket); err != nil {
		return err
	}
	entries, truncated, err := s.list(q.r.Context(), q.bucket, p)
	if err != nil {
		return err
	}
	res := listBucketResult{Xmlns: s3NS, Name: q.bucket, Prefix: enc(p.prefix), MaxKeys: p.maxKeys,
		Delimiter: enc(p.delimiter), IsTruncated: truncated, EncodingType: encodingType}
	withOwner := !p.v2 || v.Get("fetch-owner") == "true"
	var last string
	for _, e := range entries {
		if e.obj == nil {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: enc(e.prefix)})
			last = e.prefix
			continue
		}
		last = e.obj.Key
		it := objectItem{Key: enc(e.obj.Key), LastModified: s3Time(e.obj.ModTime), ETag: `"` + e.obj.ETag + `"`,
			Size: e.obj.Size, StorageClass: "STANDARD", ChecksumAlgorithm: e.obj.ChecksumAlgo}
		if e.obj.ChecksumAlgo != "" {
			it.ChecksumType = e.obj.ChecksumType
		}
		if withOwner {
			o := s.owner(q)
			it.Owner = &o
		}
		res.Contents = append(res.Contents, it)
	}
	if p.v2 {
		n := len(entries)
		res.KeyCount = &n
		if v.Has("continuation-token") {
			res.ContinuationToken = &token // echoed even when empty
		}
		res.StartAfter = enc(v.Get("start-after"))
		if truncated {
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
		}
	} else {
		marker := enc(p.after)
		res.Marker = &marker
		if truncated && p.delimiter != "" {
			res.NextMarker = enc(last)
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// list walks the bucket in key order, folding keys into common prefixes,
// and returns up to p.maxKeys entries and whether more exist.
func (s *Server) list(ctx context.Context, bucket string, p listParams) ([]listEntry, bool, error) {
	var out []listEntry
	truncated := false
	if p.maxKeys == 0 {
		return nil, false, nil
	}
	lastCP := ""
	skipCP := markerPrefix(p)
	err := s.st.scanObjects(ctx, bucket, p.prefix, p.after, func(m *objectMeta) bool {
		if skipCP != "" && strings.HasPrefix(m.Key, skipCP) {
			return true
		}
		if cp := p.commonPrefix(m.Key); cp != "" {
			if cp == lastCP {
				return true
			}
			if len(out) == p.maxKeys {
				truncated = true
				return false
			}
			lastCP = cp
			out = append(out, listEntry{prefix: cp})
			return true
		}
		if len(out) == p.maxKeys {
			truncated = true
			return false
		}
		out = append(out, listEntry{obj: m})
		return true
	})
	return out, truncated, err
}

// commonPrefix returns the common prefix key folds into in listing p, "" if none: the
// prefix, then key up to and including its first delimiter after the prefix.
func (p listParams) commonPrefix(key string) string {
	if p.delimiter == "" {
		return ""
	}
	rest := key[len(p.prefix):]
	if i := strings.Index(rest, p.delimiter); i >= 0 {
		return p.prefix + rest[:i+len(p.delimiter)]
	}
	return ""
}

// markerPrefix returns p.after if it is a common prefix of this listing
// (the prefix, then text whose first delimiter ends it), as a NextMarker or
// continuation token resuming after a common prefix is: the keys under it
// are skipped, as S3 does. Any other marker, for example the listing's own
// prefix, only starts the listing after it: "".
func markerPrefix(p listParams) string {
	rest, ok := strings.CutPrefix(p.after, p.prefix)
	if p.delimiter == "" || !ok || rest == "" {
		return ""
	}
	if i := strings.Index(rest, p.delimiter); i < 0 || i+len(p.delimiter) != len(rest) {
		return ""
	}
	return p.after
}

// listEncoding reads a listing's encoding-type: the function that encodes
// the keys and prefixes of the answer, and its EncodingType element.
func listEncoding(v url.Values) (enc func(string) string, encodingType string, err error) {
	switch v.Get("encoding-type") {
	case "":
		return func(x string) string { return x }, "", nil
	case "url":
		return s3URLEncode, "url", nil
	}
	return nil, "", withMsg(errInvalidArgument, "Invalid Encoding Method specified in Request")
}

// s3URLEncode encodes a key as S3 does for encoding-type=url: everything
// but unreserved characters and '/' is percent-encoded.
func s3URLEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
