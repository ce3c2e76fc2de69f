package s3lite

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// rawPut sends a signed UNSIGNED-PAYLOAD PUT with extra headers.
func rawPut(t *testing.T, e *env, path string, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, e.ts.URL+path, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	status, b := e.doSigned(t, req)
	return status, string(b)
}

func crc32b64(b []byte) string {
	s := crc32.ChecksumIEEE(b)
	return base64.StdEncoding.EncodeToString([]byte{byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)})
}

func TestIntegrityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AutoEncrypt = true })
	b := e.bucket("integrity")
	body := []byte("integrity body")
	sum := md5.Sum(body)
	good := base64.StdEncoding.EncodeToString(sum[:])
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		code int
		want string
	}{
		{"md5 ok", map[string]string{"Content-MD5": good}, 200, ""},
		{"md5 mismatch", map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(make([]byte, 16))}, 400, "<Code>BadDigest</Code>"},
		{"md5 malformed", map[string]string{"Content-MD5": "not-base64!"}, 400, "<Code>InvalidDigest</Code>"},
		{"crc32 ok", map[string]string{"X-Amz-Checksum-Crc32": crc32b64(body)}, 200, ""},
		{"crc32 mismatch", map[string]string{"X-Amz-Checksum-Crc32": crc32b64([]byte("other"))}, 400, "<Code>BadDigest</Code>"},
	} {
		code, resp := rawPut(t, e, "/"+b+"/"+strings.ReplaceAll(tc.name, " ", "-"), body, tc.hdr)
		if code != tc.code || !strings.Contains(resp, tc.want) {
			t.Errorf("%s: %d %s", tc.name, code, resp)
		}
	}
	// Only the accepted uploads exist.
	if n := countKeysNotFound(t, e); n != 2 {
		t.Errorf("%d objects, want 2", n)
	}
	ctx := context.Background()
	// aws-sdk-go-v2: CRC32 trailer verified, returned, and Content-Encoding kept without aws-chunked.
	put, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("gz"), Body: bytes.NewReader(body), ContentEncoding: aws.String("gzip")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.ChecksumCRC32) != crc32b64(body) {
		t.Errorf("PUT checksum %q want %q", aws.ToString(put.ChecksumCRC32), crc32b64(body))
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("gz"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentEncoding) != "gzip" || aws.ToString(head.ChecksumCRC32) != crc32b64(body) {
		t.Errorf("head: encoding %q checksum %q", aws.ToString(head.ContentEncoding), aws.ToString(head.ChecksumCRC32))
	}
	// Other algorithms the SDK offers.
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmCrc64nvme} {
		if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("alg-" + string(alg)), Body: bytes.NewReader(body), ChecksumAlgorithm: alg}); err != nil {
			t.Errorf("%s: %v", alg, err)
			continue
		}
		out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("alg-" + string(alg)), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(out.Body) // the SDK verifies the checksum while reading
		out.Body.Close()
		if err != nil || !bytes.Equal(got, body) || out.ChecksumType != types.ChecksumTypeFullObject {
			t.Errorf("%s: %v %q", alg, err, out.ChecksumType)
		}
	}
}

// TestSignedChunksPlainHTTP: over plain HTTP minio-go signs every chunk
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
func TestSignedChunksPlainHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*e.h.Load()).ServeHTTP(w, r) }))
	defer plain.Close()
	mc, err := minio.New(strings.TrimPrefix(plain.URL, "http://"), &minio.Options{Creds: credentials.NewStaticV4(testAccess, testSecret, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := mc.MakeBucket(ctx, "plainhttp", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(200000)
	if _, err := mc.PutObject(ctx, "plainhttp", "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := getAll(t, e, "plainhttp", "k", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %v", err)
	}
}

func TestSSECMultipartNeedsKeyPerPart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("ssecmp")
	a, k, m := ssecHeaders()
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("k"), SSECustomerAlgorithm: a, SSECustomerKey: k, SSECustomerKeyMD5: m})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("x"))})
	if s3Code(err) != "InvalidRequest" {
		t.Errorf("part without SSE-C key: %v", err)
	}
	other := bytes.Repeat([]byte{1}, 32)
	osum := md5.Sum(other)
	_, err = e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("x")),
		SSECustomerAlgorithm: a, SSECustomerKey: aws.String(b64(other)), SSECustomerKeyMD5: aws.String(b64(osum[:]))})
	if s3Code(err) != "AccessDenied" {
		t.Errorf("part with another SSE-C key: %v", err)
	}
}

func TestConditionalWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("condput")
	put := func(inm, im string) error {
		_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("v"),
			IfNoneMatch: optional(inm), IfMatch: optional(im)})
		return err
	}
	if err := put("", `"abc"`); s3Code(err) != "NoSuchKey" {
		t.Errorf("If-Match on absent key: %v", err)
	}
	if err := put("*", ""); err != nil {
		t.Fatalf("If-None-Match * on absent key: %v", err)
	}
	if err := put("*", ""); s3Code(err) != "PreconditionFailed" {
		t.Errorf("If-None-Match * on existing key: %v", err)
	}
	if err := put("", `"0123"`); s3Code(err) != "PreconditionFailed" {
		t.Errorf("If-Match wrong etag: %v", err)
	}
	sum := md5.Sum([]byte("v"))
	if err := put("", `"`+hexOf(sum[:])+`"`); err != nil {
		t.Errorf("If-Match right etag: %v", err)
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
func hexOf(b []byte) string { return hex.EncodeToString(b) }
