package s3lite

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/xml"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// field is one form field, sent in order.
type field struct{ name, value string }

// post sends fields and then a file part named filename holding file as a
// multipart/form-data POST to u (redirects are not followed). It returns the status,
// headers and body.
func (e *env) post(t testing.TB, u string, fields []field, filename string, file []byte) (int, http.Header, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(file)
	_ = mw.Close()
	req, err := http.NewRequest(http.MethodPost, u, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	c := *e.ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// presignedPost is a minio-go SigV4 POST policy for bucket/key with extra set on it.
func (e *env) presignedPost(t testing.TB, bucket, key string, set func(*minio.PostPolicy)) (string, []field) {
	t.Helper()
	p := minio.NewPostPolicy()
	_ = p.SetBucket(bucket)
	_ = p.SetKey(key)
	_ = p.SetExpires(time.Now().Add(time.Hour))
	if set != nil {
		set(p)
	}
	u, data, err := e.mc.PresignedPostPolicy(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var fields []field
	for k, v := range data {
		fields = append(fields, field{k, v})
	}
	return u.String(), fields
}

func with(fields []field, extra ...field) []field {
	out := []field{}
	for _, f := range fields {
		replaced := false
		for _, x := range extra {
			replaced = replaced || strings.EqualFold(f.name, x.name)
		}
		if !replaced {
			out = append(out, f)
		}
	}
	return append(out, extra...)
}

func TestPostObjectMinio(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AutoEncrypt = true })
	ctx := context.Background()
	b := e.bucket("forms")
	u, fields := e.presignedPost(t, b, "up/obj.txt", func(p *minio.PostPolicy) {
		_ = p.SetContentType("text/plain")
		_ = p.SetContentLengthRange(1, 1<<20)
		_ = p.SetUserMetadata("color", "blue")
		_ = p.SetTagging(`<Tagging><TagSet><Tag><Key>src</Key><Value>form</Value></Tag></TagSet></Tagging>`)
		_ = p.SetSuccessStatusAction("201")
	})
	st, h, body := e.post(t, u, fields, "local.txt", []byte("hello form"))
	if st != http.StatusCreated {
		t.Fatalf("POST: %d %s", st, body)
	}
	var pr postResponse
	if err := xml.Unmarshal([]byte(body), &pr); err != nil || pr.Bucket != b || pr.Key != "up/obj.txt" || pr.ETag != h.Get("ETag") || !strings.HasSuffix(pr.Location, "/"+b+"/up/obj.txt") {
		t.Errorf("PostResponse %+v (%v), ETag header %s", pr, err, h.Get("ETag"))
	}
	if h.Get(hdrSSE) != "AES256" {
		t.Errorf("auto-encryption: x-amz-server-side-encryption %q", h.Get(hdrSSE))
	}
	info, err := e.mc.StatObject(ctx, b, "up/obj.txt", minio.StatObjectOptions{})
	if err != nil || info.ContentType != "text/plain" || info.UserMetadata["Color"] != "blue" || info.UserTagCount != 1 || info.Size != 10 {
		t.Errorf("stat: %+v, %v", info, err)
	}
	obj, err := e.mc.GetObject(ctx, b, "up/obj.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(obj); string(got) != "hello form" {
		t.Errorf("body %q", got)
	}

	// SSE-KMS from minio-go's SetEncryption (fields without conditions) and the
	// default 204 answer.
	sse, err := encrypt.NewSSEKMS(testKeyID, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, fields = e.presignedPost(t, b, "kms", func(p *minio.PostPolicy) { p.SetEncryption(sse) })
	if st, h, body := e.post(t, u, fields, "f", []byte("x")); st != http.StatusNoContent || body != "" || h.Get(hdrSSE) != "aws:kms" {
		t.Fatalf("SSE-KMS POST: %d %q %v", st, body, h)
	}
	if info, err := e.mc.StatObject(ctx, b, "kms", minio.StatObjectOptions{}); err != nil || info.Metadata.Get(hdrSSE) != "aws:kms" {
		t.Errorf("SSE-KMS stat: %v, %v", info.Metadata, err)
	}

	// success_action_redirect: 303 to the URL with bucket, key and ETag.
	u, fields = e.presignedPost(t, b, "redir", func(p *minio.PostPolicy) { _ = p.SetSuccessActionRedirect("https://example.com/done?x=1") })
	st, h, _ = e.post(t, u, fields, "f", []byte("x"))
	loc, err := url.Parse(h.Get("Location"))
	if st != http.StatusSeeOther || err != nil || loc.Host != "example.com" || loc.Query().Get("key") != "redir" ||
		loc.Query().Get("bucket") != b || loc.Query().Get("etag") != h.Get("ETag") || loc.Query().Get("x") != "1" {
		t.Errorf("redirect: %d %s", st, h.Get("Location"))
	}
}

func TestPostObjectRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bucket("refuse")
	u, fields := e.presignedPost(t, b, "k", func(p *minio.PostPolicy) {
		_ = p.SetContentLengthRange(2, 10)
		_ = p.SetUserMetadata("m", "v")
	})
	base := with(fields, field{"x-amz-meta-m", "v"})
	sig := ""
	for _, f := range fields {
		if f.name == "x-amz-signature" {
			sig = f.value
		}
	}
	bad := []byte(sig)
	bad[0] ^= 1
	for _, c := range []struct {
		name   string
		fields []field
		file   []byte
		status int
		code   string
	}{
		{"accepted", base, []byte("12345"), http.StatusNoContent, ""},
		{"over content-length-range", base, []byte("12345678901"), http.StatusBadRequest, "EntityTooLarge"},
		{"under content-length-range", base, []byte("1"), http.StatusBadRequest, "EntityTooSmall"},
		{"bad signature", with(base, field{"x-amz-signature", string(bad)}), []byte("12"), http.StatusForbidden, "SignatureDoesNotMatch"},
		{"condition fails", with(base, field{"x-amz-meta-m", "other"}), []byte("12"), http.StatusForbidden, "AccessDenied"},
		{"field not in the policy", with(base, field{"x-amz-meta-extra", "1"}), []byte("12"), http.StatusForbidden, "AccessDenied"},
		{"x-ignore- field", with(base, field{"x-ignore-me", "1"}), []byte("12"), http.StatusNoContent, ""},
		{"no key", with(base, field{"key", ""}), []byte("12"), http.StatusBadRequest, "InvalidArgument"},
		{"no signature", with(base, field{"x-amz-signature", ""}), []byte("12"), http.StatusBadRequest, "InvalidArgument"},
		{"anonymous", []field{{"key", "k"}}, []byte("12"), http.StatusForbidden, "AccessDenied"},
	} {
		st, _, body := e.post(t, u, c.fields, "f", c.file)
		if st != c.status || (c.code != "" && !strings.Contains(body, "<Code>"+c.code+"</Code>")) {
			t.Errorf("%s: %d %s, want %d %s", c.name, st, body, c.status, c.code)
		}
	}
	// The policy expires.
	later := time.Now().Add(2 * time.Hour)
	e.now.Store(&later)
	if st, _, body := e.post(t, u, base, "f", []byte("12")); st != http.StatusForbidden || !strings.Contains(body, "Policy expired") {
		t.Errorf("expired policy: %d %s", st, body)
	}
	// Not a form at all.
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("x"))
	req.Header.Set("Content-Type", "text/plain")
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "MalformedPOSTRequest") {
		t.Errorf("POST without a form: %d %s", resp.StatusCode, body)
	}
}

// v2Form is a SigV2-signed form (AWSAccessKeyId, signature) for policy.
func v2Form(access, secret, policy string, extra ...field) []field {
	p := b64([]byte(policy))
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(p))
	return append([]field{{"AWSAccessKeyId", access}, {"policy", p}, {"signature", b64(m.Sum(nil))}}, extra...)
}

func TestPostObjectV2(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("v2forms")
	u := e.ts.URL + "/" + b
	exp := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	policy := `{"expiration":"` + exp + `","conditions":[{"bUcKeT":"` + b + `"},["StArTs-WiTh","$KeY","up/"],{"acl":"private"},` +
		`["starts-with","$Content-Type","text/"],["eq","$x-amz-server-side-encryption","aws:kms"],` +
		`["eq","$x-amz-server-side-encryption-aws-kms-key-id","` + testKeyID + `"],["content-length-range",0,1024]]}`
	form := v2Form(testAccess, testSecret, policy, field{"kEy", "up/${filename}"}, field{"acl", "private"}, field{"Content-Type", "text/plain"},
		field{"x-amz-server-side-encryption", "aws:kms"}, field{"x-amz-server-side-encryption-aws-kms-key-id", testKeyID})
	if st, _, body := e.post(t, u, form, "hello.txt", []byte("bar")); st != http.StatusNoContent {
		t.Fatalf("V2 POST: %d %s", st, body)
	}
	info, err := e.mc.StatObject(ctx, b, "up/hello.txt", minio.StatObjectOptions{})
	if err != nil || info.Metadata.Get(hdrSSE) != "aws:kms" || info.ContentType != "text/plain" {
		t.Errorf("stat of ${filename} upload: %+v, %v", info.Metadata, err)
	}
	for _, c := range []struct {
		name   string
		form   []field
		status int
		code   string
	}{
		{"unknown access key", v2Form("nobody", testSecret, policy, form[3:]...), http.StatusForbidden, "InvalidAccessKeyId"},
		{"wrong secret", v2Form(testAccess, "wrong", policy, form[3:]...), http.StatusForbidden, "SignatureDoesNotMatch"},
		{"no expiration", v2Form(testAccess, testSecret, `{"conditions":[]}`, form[3:]...), http.StatusBadRequest, "InvalidPolicyDocument"},
		{"EXPIRATION is not expiration", v2Form(testAccess, testSecret, `{"EXPIRATION":"`+exp+`","conditions":[]}`, form[3:]...), http.StatusBadRequest, "InvalidPolicyDocument"},
		{"no conditions", v2Form(testAccess, testSecret, `{"expiration":"`+exp+`"}`, form[3:]...), http.StatusBadRequest, "InvalidPolicyDocument"},
		{"bad date", v2Form(testAccess, testSecret, `{"expiration":"2030-01-01 00:00:00","conditions":[]}`, form[3:]...), http.StatusBadRequest, "InvalidPolicyDocument"},
		{"empty condition", v2Form(testAccess, testSecret, `{"expiration":"`+exp+`","conditions":[{}]}`, form[3:]...), http.StatusBadRequest, "InvalidPolicyDocument"},
		{"no bucket condition", v2Form(testAccess, testSecret, `{"expiration":"`+exp+`","conditions":[["starts-with","$key",""],["starts-with","$acl",""],["starts-with","$content-type",""],["starts-with","$x-amz-server-side-encryption",""],["starts-with","$x-amz-server-side-encryption-aws-kms-key-id",""]]}`, form[3:]...), http.StatusForbidden, "AccessDenied"},
	} {
		st, _, body := e.post(t, u, c.form, "hello.txt", []byte("bar"))
		if st != c.status || !strings.Contains(body, "<Code>"+c.code+"</Code>") {
			t.Errorf("%s: %d %s, want %d %s", c.name, st, body, c.status, c.code)
		}
	}
	// The policy names the bucket: the same form to another bucket is refused.
	other := e.bucket("v2other")
	if st, _, body := e.post(t, e.ts.URL+"/"+other, form, "hello.txt", []byte("bar")); st != http.StatusForbidden {
		t.Errorf("form for another bucket: %d %s", st, body)
	}
}
