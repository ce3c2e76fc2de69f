package s3lite

import (
	"encoding/xml"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// S3's tag limits.
const (
	maxObjectTags = 10
	maxBucketTags = 50
	maxTagKey     = 128 // UTF-8 characters
	maxTagValue   = 256
	hdrTagging    = "X-Amz-Tagging"
	hdrTagCount   = "X-Amz-Tagging-Count"
)

// tagging is S3's <Tagging> document (PutObjectTagging, GetBucketTagging, ...).
type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	TagSet  []tag    `xml:"TagSet>Tag"`
}

type tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// tagList is tags in key order, as S3 lists them.
func tagList(tags map[string]string) []tag {
	out := make([]tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, tag{Key: k, Value: tags[k]})
	}
	return out
}

// checkTag applies S3's rules to one tag: lengths in characters, the aws: prefix kept for
// AWS, and the allowed characters (letters, digits, white space and + - = . _ : / @).
func checkTag(k, v string) error {
	if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
		return withMsg(errInvalidTag, "The TagKey you have provided is invalid")
	}
	if utf8.RuneCountInString(k) > maxTagKey {
		return withMsg(errInvalidTag, "The TagKey you have provided is too long, max "+strconv.Itoa(maxTagKey))
	}
	if utf8.RuneCountInString(v) > maxTagValue {
		return withMsg(errInvalidTag, "The TagValue you have provided is too long, max "+strconv.Itoa(maxTagValue))
	}
	if strings.HasPrefix(strings.ToLower(k), "aws:") {
		return withMsg(errInvalidTag, "Your TagKey cannot be prefixed with aws:")
	}
	if !tagChars(k) {
		return withMsg(errInvalidTag, "The TagKey you have provided is invalid")
	}
	if !tagChars(v) {
		return withMsg(errInvalidTag, "The TagValue you have provided is invalid")
	}
	return nil
}

func tagChars(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsSpace(r) && !unicode.IsMark(r) && !strings.ContainsRune("+-=._:/@", r) {
			return false
		}
	}
	return true
}

// parseTagSet checks a <Tagging> body: at most limit tags with unique keys, each valid.
func parseTagSet(body io.Reader, limit int) (map[string]string, error) {
	var t tagging
	if err := readXML(body, &t); err != nil {
		return nil, err
	}
	if len(t.TagSet) > limit {
		return nil, withMsg(errInvalidTag, "Object tags cannot be greater than "+strconv.Itoa(limit))
	}
	tags := make(map[string]string, len(t.TagSet))
	for _, tg := range t.TagSet {
		if err := checkTag(tg.Key, tg.Value); err != nil {
			return nil, err
		}
		if _, dup := tags[tg.Key]; dup {
			return nil, withMsg(errInvalidTag, "Cannot provide multiple Tags with the same key")
		}
		tags[tg.Key] = tg.Value
	}
	return tags, nil
}

// parseTagQuery parses an x-amz-tagging value (a URL query string: "k1=v1&k2"); nil if
// it is empty.
func parseTagQuery(v string) (map[string]string, error) {
	if v == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(v)
	if err != nil {
		return nil, withMsg(errInvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
	}
	if len(q) > maxObjectTags {
		return nil, withMsg(errInvalidTag, "Object tags cannot be greater than "+strconv.Itoa(maxObjectTags))
	}
	tags := make(map[string]string, len(q))
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, withMsg(errInvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
		}
		if err := checkTag(k, vs[0]); err != nil {
			return nil, err
		}
		tags[k] = vs[0]
	}
	return tags, nil
}

// requestTags are the tags an upload asks for in its x-amz-tagging header.
func requestTags(h http.Header) (map[string]string, error) {
	return parseTagQuery(h.Get(hdrTagging))
}

// copyTags are the tags of a copy of src: src's (x-amz-tagging-directive COPY, the
// default) or the request's x-amz-tagging (REPLACE).
func copyTags(h http.Header, src map[string]string) (map[string]string, error) {
	switch h.Get("X-Amz-Tagging-Directive") {
	case "", "COPY":
		return maps.Clone(src), nil
	case "REPLACE":
		return requestTags(h)
	}
	return nil, withMsg(errInvalidArgument, "Unknown tagging directive.")
}

// setTagCount announces how many tags m has (GET and HEAD), as S3 does when it has any.
func setTagCount(h http.Header, m *objectMeta) {
	if len(m.Tags) > 0 {
		h.Set(hdrTagCount, strconv.Itoa(len(m.Tags)))
	}
}

// versionOf is the ?versionId a request names ("" = the current object).
func versionOf(q *request) string { return q.r.URL.Query().Get("versionId") }

// putObjectTagging answers PutObjectTagging: the object's tags become the body's.
func (s *Server) putObjectTagging(w http.ResponseWriter, q *request) error {
	tags, err := s.readTagBody(q, maxObjectTags)
	if err != nil {
		return err
	}
	if err := s.setObjectTags(q, tags); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// setObjectTags replaces the tags of the object (version) q names.
func (s *Server) setObjectTags(q *request, tags map[string]string) error {
	_, err := s.st.updateObject(q.r.Context(), q.bucket, q.key, versionOf(q), func(m *objectMeta) error {
		m.Tags = tags
		return nil
	})
	return err
}

// readTagBody reads and checks a <Tagging> body of at most limit tags.
func (s *Server) readTagBody(q *request, limit int) (map[string]string, error) {
	data, err := io.ReadAll(q.body)
	if err != nil {
		return nil, err
	}
	if err := verifyBodyIntegrity(q, data); err != nil {
		return nil, err
	}
	return parseTagSet(bytesReader(data), limit)
}

// getObjectTagging answers GetObjectTagging; an object without tags has an empty set.
func (s *Server) getObjectTagging(w http.ResponseWriter, q *request) error {
	var m *objectMeta
	var err error
	if v := versionOf(q); v != "" {
		m, err = s.st.getObjectVersion(q.r.Context(), q.bucket, q.key, v)
	} else {
		m, err = s.st.getObject(q.r.Context(), q.bucket, q.key)
	}
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, tagging{Xmlns: s3NS, TagSet: tagList(m.Tags)})
	return nil
}

// deleteObjectTagging answers DeleteObjectTagging: 204, the object keeps no tags.
func (s *Server) deleteObjectTagging(w http.ResponseWriter, q *request) error {
	if err := s.setObjectTags(q, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// putBucketTagging answers PutBucketTagging (up to 50 tags).
func (s *Server) putBucketTagging(w http.ResponseWriter, q *request) error {
	if err := s.st.bucketExists(q.r.Context(), q.bucket); err != nil {
		return err
	}
	tags, err := s.readTagBody(q, maxBucketTags)
	if err != nil {
		return err
	}
	if err := s.setBucketTags(q, tags); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setBucketTags replaces the tags of the bucket q names.
func (s *Server) setBucketTags(q *request, tags map[string]string) error {
	return s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		bi.Tags = tags
		return nil
	})
}

// getBucketTagging answers GetBucketTagging: NoSuchTagSet when the bucket has none.
func (s *Server) getBucketTagging(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	if len(bi.Tags) == 0 {
		return errNoSuchTagSet
	}
	writeXML(w, http.StatusOK, tagging{Xmlns: s3NS, TagSet: tagList(bi.Tags)})
	return nil
}

// deleteBucketTagging answers DeleteBucketTagging: 204 whether or not there were tags.
func (s *Server) deleteBucketTagging(w http.ResponseWriter, q *request) error {
	if err := s.setBucketTags(q, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
