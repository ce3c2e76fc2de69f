package s3lite

import (
	"encoding/xml"
	"errors"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/kmsbox/kmsbox/s3lite/internal/sigv4"
)

// postResponse is S3's answer to a POST upload with success_action_status 201.
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// postHeaders maps form fields to the request headers an upload takes them from: the
// stored Content-* headers, user metadata, SSE and checksum fields.
func postHeaders(fields map[string]string) http.Header {
	h := http.Header{}
	for name, v := range fields {
		switch {
		case name == "content-type", name == "cache-control", name == "content-disposition",
			name == "content-encoding", name == "content-language", name == "expires", name == "content-md5",
			name == "x-amz-website-redirect-location", name == "x-amz-storage-class",
			strings.HasPrefix(name, "x-amz-meta-"), strings.HasPrefix(name, "x-amz-server-side-encryption"),
			strings.HasPrefix(name, "x-amz-checksum-"):
			h[http.CanonicalHeaderKey(name)] = []string{v}
		}
	}
	return h
}

// authorizePost checks who sends the POST form f for bucket/key: a signed policy that
// holds for the form, or an anonymous upload the bucket allows. It returns the policy
// (nil for anonymous uploads).
// Either way the bucket's policy and ACL decide, as for a PutObject by the same requester.
func (s *Server) authorizePost(r *http.Request, bucket, key string, f map[string]string) (*postPolicy, error) {
	pf := sigv4.PostForm{Policy: f["policy"],
		Algorithm: f["x-amz-algorithm"], Credential: f["x-amz-credential"], Date: f["x-amz-date"], Signature: f["x-amz-signature"],
		AccessKeyID: f["awsaccesskeyid"], SignatureV2: f["signature"]}
	if pf.Policy == "" && !pf.V4() && pf.AccessKeyID == "" && pf.SignatureV2 == "" {
		return nil, s.authorizeAction(r, "s3:PutObject", bucket, key, &sigv4.Auth{})
	}
	missing := func(field string) error {
		return withMsg(errInvalidArgument, "Bucket POST must contain a field named '"+field+"'.  If it is specified, please check the order of the fields.")
	}
	switch {
	case pf.Policy == "":
		return nil, missing("policy")
	case pf.V4() && pf.Credential == "":
		return nil, missing("x-amz-credential")
	case pf.V4() && pf.Signature == "":
		return nil, missing("x-amz-signature")
	case !pf.V4() && pf.AccessKeyID == "":
		return nil, missing("AWSAccessKeyId")
	case !pf.V4() && pf.SignatureV2 == "":
		return nil, missing("Signature")
	}
	access, err := s.verifier.VerifyPost(pf)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeAction(r, "s3:PutObject", bucket, key, &sigv4.Auth{AccessKey: access}); err != nil {
		return nil, err
	}
	pol, err := parsePostPolicy(pf.Policy)
	if err != nil {
		return nil, err
	}
	if !s.now().Before(pol.expiration) {
		return nil, withMsg(errAccessDenied, "Invalid according to Policy: Policy expired.")
	}
	return pol, pol.check(f, bucket, key)
}

// postObject answers POST Object, a browser-based upload: a multipart/form-data body
// whose fields (before the file) name the key, metadata, encryption and tags and carry
// the signed policy that allows them. The file streams to the object write path as
// PutObject's body does, auto-encryption included.
func (s *Server) postObject(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	mt, params, err := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return withMsg(errMalformedPOST, "The body of your POST request is not well-formed multipart/form-data.")
	}
	bi, err := s.st.getBucket(ctx, q.bucket)
	if err != nil {
		return err
	}
	form, err := readPostForm(multipart.NewReader(q.body, params["boundary"]))
	if err != nil {
		return err
	}
	key, ok := form.fields["key"]
	if !ok || key == "" {
		return withMsg(errInvalidArgument, "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
	}
	key = strings.ReplaceAll(key, "${filename}", form.filename)
	if err := checkObjectKey(key); err != nil {
		return err
	}
	pol, err := s.authorizePost(q.r, q.bucket, key, form.fields)
	if err != nil {
		return err
	}
	m, sreq, err := s.storePostObject(q, bi, key, form, pol)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", `"`+m.ETag+`"`)
	loc := objectURL(q.r, q.bucket, key)
	h.Set("Location", loc)
	setSSEHeaders(h, m.SSE, &sreq)
	redirect := form.fields["success_action_redirect"]
	if redirect == "" {
		redirect = form.fields["redirect"]
	}
	if u, err := url.Parse(redirect); redirect != "" && err == nil && u.IsAbs() {
		v := u.Query()
		v.Set("bucket", q.bucket)
		v.Set("key", key)
		v.Set("etag", `"`+m.ETag+`"`)
		u.RawQuery = v.Encode()
		h.Set("Location", u.String())
		w.WriteHeader(http.StatusSeeOther)
		return nil
	}
	switch form.fields["success_action_status"] {
	case "200":
		w.WriteHeader(http.StatusOK)
	case "201":
		writeXML(w, http.StatusCreated, postResponse{Location: loc, Bucket: q.bucket, Key: key, ETag: `"` + m.ETag + `"`})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// storePostObject writes the form's file as object key, as PutObject writes its body,
// within the policy's content-length-range.
func (s *Server) storePostObject(q *request, bi bucketInfo, key string, form *postForm, pol *postPolicy) (*objectMeta, sseRequest, error) {
	ctx := q.r.Context()
	r := q.r.Clone(ctx)
	r.Header = postHeaders(form.fields)
	pq := &request{r: r, bucket: q.bucket, key: key, auth: &sigv4.Auth{ContentLength: -1}, body: form.file}
	hdrs, err := objectHeaders(r.Header)
	if err != nil {
		return nil, sseRequest{}, err
	}
	var tags map[string]string
	if v := form.fields["tagging"]; v != "" {
		if tags, err = parseTagSet(strings.NewReader(v), maxObjectTags); err != nil {
			return nil, sseRequest{}, err
		}
	}
	rc, err := parseRequestChecksum(r.Header)
	if err != nil {
		return nil, sseRequest{}, err
	}
	sreq, oc, err := s.uploadEncryption(pq, bi)
	if err != nil {
		return nil, sreq, err
	}
	var oek []byte
	if oc != nil {
		oek = oc.oek
	}
	limit, minSize := int64(maxObjectSize), int64(0)
	if pol != nil && pol.maxSize >= 0 {
		limit, minSize = min(limit, pol.maxSize), pol.minSize
	}
	f, res, err := s.writeBody(ctx, pq.body, oek, nil, rc.algo, limit)
	if err != nil {
		if errors.Is(err, errEntityTooLarge) && limit < maxObjectSize {
			err = withMsg(errEntityTooLarge, "Your proposed upload exceeds the maximum allowed size")
		}
		return nil, sreq, err
	}
	if res.size < minSize {
		discard(f)
		return nil, sreq, withMsg(errEntityTooSmall, "Your proposed upload is smaller than the minimum allowed size")
	}
	if err := rc.verify(pq, res.md5, res.sum); err != nil {
		discard(f)
		return nil, sreq, err
	}
	m, err := s.singlePartObject(ctx, key, hdrs, f, res, oc, rc.algo)
	if err != nil {
		return nil, sreq, err
	}
	m.Tags = tags
	old, err := s.st.putObject(ctx, q.bucket, m, nil)
	if err != nil {
		s.st.removeFiles([]string{m.Parts[0].File})
		return nil, sreq, err
	}
	s.st.removeFiles(old)
	return m, sreq, nil
}

// objectURL is the URL of bucket/key on the server r (a POST to the bucket, path style
// or virtual-hosted) was sent to.
func objectURL(r *http.Request, bucket, key string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := "/" + key
	if strings.Trim(r.URL.Path, "/") == bucket {
		path = "/" + bucket + path
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: path}
	return u.String()
}
