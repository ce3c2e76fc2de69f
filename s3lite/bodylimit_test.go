package s3lite

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// payloadModes are the ways a client can send (and vouch for) a request body.
var payloadModes = []string{
	"sha256",                // x-amz-content-sha256: hex digest, Content-Length set
	"sha256-unknown-length", // the same, sent with Transfer-Encoding: chunked (no declared length)
	"UNSIGNED-PAYLOAD",
	"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
	"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
	"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
	"presigned",
}

// spoilable reports whether mode vouches for the body's content, so that a test can
// send a body that does not match what was signed.
func spoilable(mode string) bool {
	return strings.HasPrefix(mode, "sha256") || strings.HasPrefix(mode, "STREAMING-AWS4")
}

// sendBody signs method path with body in payload mode and returns status and response.
// spoil sends a body other than the one vouched for: a wrong x-amz-content-sha256, or a
// data byte flipped after the chunks were signed.
func (e *env) sendBody(t *testing.T, mode, method, path string, body []byte, spoil bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	trailer := http.Header{"x-amz-checksum-crc32": {crc32b64(body)}}
	if strings.Contains(path, "?delete") { // DeleteObjects requires Content-MD5, as S3 does
		sum := md5.Sum(body)
		req.Header.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	}
	switch mode {
	case "sha256", "sha256-unknown-length":
		sum := sha256.Sum256(body)
		if spoil {
			sum[0] ^= 1
		}
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		req = signer.SignV4(*req, testAccess, testSecret, "", "us-east-1")
		if mode == "sha256-unknown-length" {
			req.ContentLength, req.Body, req.GetBody = -1, io.NopCloser(bytes.NewReader(body)), nil
		}
	case "UNSIGNED-PAYLOAD":
		req.Header.Set("X-Amz-Content-Sha256", mode)
		req = signer.SignV4(*req, testAccess, testSecret, "", "us-east-1")
	case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER":
		if strings.HasSuffix(mode, "TRAILER") {
			req.Trailer = trailer
		}
		req = signer.StreamingSignV4(req, testAccess, testSecret, "", "us-east-1", int64(len(body)), time.Now().UTC(), sha256Hasher{sha256.New()})
		if spoil {
			req.Body = &flipReader{r: req.Body, at: 200}
		}
	case "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
		req.Header.Set("X-Amz-Content-Sha256", mode)
		req = signer.SignV4Trailer(*req, testAccess, testSecret, "", "us-east-1", trailer)
	case "presigned":
		req = signer.PreSignV4(*req, testAccess, testSecret, "", "us-east-1", 600)
	default:
		t.Fatalf("unknown payload mode %q", mode)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s (%s): %v", method, path, mode, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// flipReader flips the byte at offset at of r's stream.
type flipReader struct {
	r   io.ReadCloser
	at  int64
	off int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if i := f.at - f.off; i >= 0 && i < int64(n) {
		p[i] ^= 0x20
	}
	f.off += int64(n)
	return n, err
}

func (f *flipReader) Close() error { return f.r.Close() }

// sha256Hasher is the md5simd.Hasher minio-go's streaming signer takes.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

// padXML pads doc with trailing white space to exactly n bytes.
func padXML(t *testing.T, doc string, n int) []byte {
	t.Helper()
	if len(doc) > n {
		t.Fatalf("document of %d bytes is over %d", len(doc), n)
	}
	return []byte(doc + strings.Repeat(" ", n-len(doc)))
}

// xmlRoute is one route with an XML body: setup makes the state a request acts on and
// returns its path, the body to send and a report of whether it took effect.
type xmlRoute struct {
	name   string
	method string
	setup  func(t *testing.T, e *env, id string) (path, doc string, applied func() bool)
}

var xmlRoutes = []xmlRoute{
	{"PutBucketEncryption", http.MethodPut, func(t *testing.T, e *env, id string) (string, string, func() bool) {
		b := e.bucket(id)
		return "/" + b + "?encryption=",
			`<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`,
			func() bool { _, err := e.mc.GetBucketEncryption(context.Background(), b); return err == nil }
	}},
	{"DeleteObjects", http.MethodPost, func(t *testing.T, e *env, id string) (string, string, func() bool) {
		b := e.bucket(id)
		if _, err := e.mc.PutObject(context.Background(), b, "k", strings.NewReader("v"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		return "/" + b + "?delete=", `<Delete><Quiet>true</Quiet><Object><Key>k</Key></Object></Delete>`,
			func() bool {
				_, err := e.mc.StatObject(context.Background(), b, "k", minio.StatObjectOptions{})
				return err != nil
			}
	}},
	{"CreateBucket", http.MethodPut, func(t *testing.T, e *env, id string) (string, string, func() bool) {
		return "/" + id, `<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`,
			func() bool { ok, err := e.mc.BucketExists(context.Background(), id); return err == nil && ok }
	}},
	{"CompleteMultipartUpload", http.MethodPost, func(t *testing.T, e *env, id string) (string, string, func() bool) {
		ctx := context.Background()
		b := e.bucket(id)
		core := minio.Core{Client: e.mc}
		up, err := core.NewMultipartUpload(ctx, b, "k", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		part, err := core.PutObjectPart(ctx, b, "k", up, 1, strings.NewReader("part"), 4, minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return "/" + b + "/k?uploadId=" + up,
			`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"` + part.ETag + `"</ETag></Part></CompleteMultipartUpload>`,
			func() bool { _, err := e.mc.StatObject(ctx, b, "k", minio.StatObjectOptions{}); return err == nil }
	}},
}

// limitCase is one body sent to a route with a body limit.
type limitCase struct {
	name    string
	size    int
	spoil   bool   // the body is not the one signed (see sendBody)
	code    int    // 0: the payload check of the mode refuses it
	errCode string // S3 error code expected
}

// limitCases are the bodies around limit; tooLarge is the route's error past it.
func limitCases(limit int, tooLarge string) []limitCase {
	return []limitCase{
		{"at limit", limit, false, 200, ""},
		{"over limit", limit + 1, false, 400, tooLarge},
		{"spoiled at limit", limit, true, 0, ""},
		{"spoiled over limit", limit + 1, true, 400, tooLarge},
	}
}

// check compares the answer to tc sent in payload mode with what tc expects, and returns
// whether the request was to succeed.
func (tc limitCase) check(t *testing.T, mode string, code int, resp string) bool {
	t.Helper()
	wantCode, wantErr := tc.code, tc.errCode
	if tc.code == 0 {
		wantCode, wantErr = 400, "XAmzContentSHA256Mismatch"
		if strings.HasPrefix(mode, "STREAMING") {
			wantCode, wantErr = 403, "SignatureDoesNotMatch"
		}
	}
	if code != wantCode || wantErr != "" && !strings.Contains(resp, "<Code>"+wantErr+"</Code>") {
		t.Errorf("%d %.300s, want %d %s", code, resp, wantCode, wantErr)
	}
	return wantCode == 200
}

// TestXMLBodyLimit: an XML body over the 2 MiB limit is refused with
// MaxMessageLengthExceeded and never reaches its handler, in every payload mode; one of
// exactly the limit is read whole and its payload checked: applied when it matches what
// was signed, refused when not. (A silently truncated body once let a wrong payload hash
// through when padded past the limit.)
func TestXMLBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := 0
	for _, rt := range xmlRoutes {
		for _, mode := range payloadModes {
			for _, tc := range limitCases(maxXMLBody, "MaxMessageLengthExceeded") {
				if tc.spoil && !spoilable(mode) {
					continue
				}
				t.Run(rt.name+"/"+mode+"/"+tc.name, func(t *testing.T) {
					n++
					path, doc, applied := rt.setup(t, e, fmt.Sprintf("xml-limit-%03d", n))
					code, resp := e.sendBody(t, mode, rt.method, path, padXML(t, doc, tc.size), tc.spoil)
					ok := tc.check(t, mode, code, resp)
					if got := applied(); got != ok {
						t.Errorf("applied = %v after %d", got, code)
					}
				})
			}
		}
	}
}

// TestObjectBodyLimit: PutObject and UploadPart stream their body against the object size
// limit (5 GiB, made small here): over it they fail with EntityTooLarge and store nothing,
// whether the length was declared or not; at it they store the body, and a body that does
// not match what was signed is refused either way.
func TestObjectBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const limit = 1000
	e.srv.maxObject = limit
	ctx := context.Background()
	b := e.bucket("object-limit")
	core := minio.Core{Client: e.mc}
	objectRoutes := []struct {
		name  string
		setup func(t *testing.T, key string) (path string, stored func() bool)
	}{
		{"PutObject", func(t *testing.T, key string) (string, func() bool) {
			return "/" + b + "/" + key, func() bool { _, err := e.mc.StatObject(ctx, b, key, minio.StatObjectOptions{}); return err == nil }
		}},
		{"UploadPart", func(t *testing.T, key string) (string, func() bool) {
			up, err := core.NewMultipartUpload(ctx, b, key, minio.PutObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return "/" + b + "/" + key + "?partNumber=1&uploadId=" + up, func() bool {
				res, err := core.ListObjectParts(ctx, b, key, up, 0, 0)
				return err == nil && len(res.ObjectParts) == 1
			}
		}},
	}
	n := 0
	for _, rt := range objectRoutes {
		for _, mode := range payloadModes {
			cases := append(limitCases(limit, "EntityTooLarge"), limitCase{"far over limit", 3 * limit, false, 400, "EntityTooLarge"})
			for _, tc := range cases {
				if tc.spoil && !spoilable(mode) {
					continue
				}
				t.Run(rt.name+"/"+mode+"/"+tc.name, func(t *testing.T) {
					n++
					files := countDataFiles(t, e)
					path, stored := rt.setup(t, fmt.Sprintf("k%03d", n))
					code, resp := e.sendBody(t, mode, http.MethodPut, path, randBytes(tc.size), tc.spoil)
					ok := tc.check(t, mode, code, resp)
					if got := stored(); got != ok {
						t.Errorf("stored = %v after %d", got, code)
					}
					if got := countDataFiles(t, e); !ok && got != files {
						t.Errorf("%d body files after a refused upload, want %d", got, files)
					}
				})
			}
		}
	}
}

// TestNoBodyRoutes: a route that takes no body refuses one with UnexpectedContent, as S3
// does, before its handler acts; an empty body goes through in every payload mode, and
// still has its payload hash checked.
func TestNoBodyRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	n := 0
	for _, mode := range payloadModes {
		for _, tc := range []struct {
			name    string
			body    string
			spoil   bool
			code    int
			errCode string
		}{
			{"empty", "", false, 204, ""},
			{"one byte", "x", false, 400, "UnexpectedContent"},
			{"a document", "<Delete><Object><Key>k</Key></Object></Delete>", false, 400, "UnexpectedContent"},
			{"empty, wrong hash", "", true, 400, "XAmzContentSHA256Mismatch"},
		} {
			if tc.spoil && !strings.HasPrefix(mode, "sha256") {
				continue
			}
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				n++
				b := e.bucket(fmt.Sprintf("no-body-%03d", n))
				code, resp := e.sendBody(t, mode, http.MethodDelete, "/"+b, []byte(tc.body), tc.spoil)
				if code != tc.code || tc.errCode != "" && !strings.Contains(resp, "<Code>"+tc.errCode+"</Code>") {
					t.Errorf("DeleteBucket = %d %.300s, want %d %s", code, resp, tc.code, tc.errCode)
				}
				if ok, err := e.mc.BucketExists(ctx, b); err != nil || ok != (tc.code != 204) {
					t.Errorf("bucket exists = %v, %v after %d", ok, err, code)
				}
			})
		}
	}
}
