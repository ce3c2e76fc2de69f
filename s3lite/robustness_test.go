package s3lite

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/signer"
)

func TestAuthFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("auth")
	bad := e.awsClient(testAccess, "wrong-secret-key")
	if _, err := bad.ListBuckets(ctx, &s3.ListBucketsInput{}); s3Code(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := bad.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("x"), Body: bytes.NewReader([]byte("x"))}); s3Code(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret put: %v", err)
	}
	unknown := e.awsClient("nobody", "whatever-secret")
	if _, err := unknown.ListBuckets(ctx, &s3.ListBucketsInput{}); s3Code(err) != "InvalidAccessKeyId" {
		t.Errorf("unknown key: %v", err)
	}
	resp, err := e.ts.Client().Get(e.ts.URL + "/" + b)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
		t.Errorf("anonymous: %d %s", resp.StatusCode, body)
	}
	// Server clock 20 minutes ahead: every signature is too old.
	future := time.Now().Add(20 * time.Minute)
	e.now.Store(&future)
	if _, err := e.s3.ListBuckets(ctx, &s3.ListBucketsInput{}); s3Code(err) != "RequestTimeTooSkewed" {
		t.Errorf("skew: %v", err)
	}
	e.now.Store(nil)
	if _, err := e.s3.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Errorf("after skew: %v", err)
	}
	if n := countKeysNotFound(t, e); n != 0 {
		t.Errorf("refused requests stored %d objects", n)
	}
}

func TestPresigned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("presign")
	if _, err := e.mc.PutObject(ctx, b, "doc.txt", strings.NewReader("presigned body"), 14, minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}); err != nil {
		t.Fatal(err)
	}
	u, err := e.mc.PresignedGetObject(ctx, b, "doc.txt", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(u string) (int, string) {
		resp, err := e.ts.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := fetch(u.String()); code != 200 || body != "presigned body" {
		t.Errorf("v4 presigned: %d %s", code, body)
	}
	later := time.Now().Add(2 * time.Minute)
	e.now.Store(&later)
	if code, body := fetch(u.String()); code != 403 || !strings.Contains(body, "AccessDenied") {
		t.Errorf("expired v4 presigned: %d %s", code, body)
	}
	e.now.Store(nil)
	// SigV2 presigned (aws cli v1 `aws s3 presign`).
	expires := strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)
	mac := hmac.New(sha1.New, []byte(testSecret))
	fmt.Fprintf(mac, "GET\n\n\n%s\n/%s/doc.txt", expires, b)
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	v2 := fmt.Sprintf("%s/%s/doc.txt?AWSAccessKeyId=%s&Expires=%s&Signature=%s", e.ts.URL, b, testAccess, expires, url.QueryEscape(sig))
	if code, body := fetch(v2); code != 200 || body != "presigned body" {
		t.Errorf("v2 presigned: %d %s", code, body)
	}
	if code, _ := fetch(strings.Replace(v2, "Signature=", "Signature=AA", 1)); code != 403 {
		t.Errorf("v2 presigned bad signature: %d", code)
	}
}

func TestRestartPersistence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AutoEncrypt = true })
	ctx := context.Background()
	b := e.bucket("persist")
	data := randBytes(100000)
	if _, err := e.mc.PutObject(ctx, b, "o", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	awsMultipart(t, e, b, "mp", [][]byte{randBytes(5 << 20), []byte("tail")}, "", false)
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("open")})
	if err != nil {
		t.Fatal(err)
	}
	// Leftovers of a crash: a temp file and a body no record refers to.
	os.WriteFile(filepath.Join(e.cfg.Dir, "tmp", "put-crash"), []byte("partial"), 0o600)
	os.WriteFile(filepath.Join(e.cfg.Dir, "data", "ab", "ab000000000000000000000000000000"), []byte("orphan"), 0o600)
	files := countDataFiles(t, e)
	e.restart()
	if got := countDataFiles(t, e); got != files-1 {
		t.Errorf("after restart %d body files, want %d", got, files-1)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.cfg.Dir, "tmp")); len(ents) != 0 {
		t.Errorf("tmp not emptied: %d", len(ents))
	}
	got, err := getAll(t, e, b, "o", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get after restart: %v", err)
	}
	if _, err := e.mc.StatObject(ctx, b, "mp", minio.StatObjectOptions{}); err != nil {
		t.Errorf("multipart object after restart: %v", err)
	}
	lu, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(cr.UploadId) {
		t.Errorf("uploads after restart: %v %+v", err, lu)
	}
}

func TestTraversalKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("traversal")
	keys := []string{"../x", "../../../../etc/passwd", "/abs", "a/../../b", "..", "./."}
	for _, k := range keys {
		_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: strings.NewReader("v:" + k)})
		if err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
		out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("get %q: %v", k, err)
		}
		body, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(body) != "v:"+k {
			t.Errorf("key %q: got %q", k, body)
		}
	}
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("nul\x00key"), Body: strings.NewReader("x")})
	if s3Code(err) != "InvalidArgument" {
		t.Errorf("NUL key: %v", err)
	}
	// Nothing was written outside the data directory.
	parent := filepath.Dir(e.cfg.Dir)
	ents, _ := os.ReadDir(parent)
	for _, en := range ents {
		if filepath.Join(parent, en.Name()) != e.cfg.Dir {
			t.Errorf("unexpected entry next to the data dir: %s", en.Name())
		}
	}
	var listed []string
	for o := range e.mc.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
		listed = append(listed, o.Key)
	}
	if len(listed) != len(keys) {
		t.Errorf("listed %q", listed)
	}
}

// TestCutOffUpload sends half a body over a raw TLS connection and hangs up.
func TestCutOffUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AutoEncrypt = true })
	b := e.bucket("cutoff")
	before := countDataFiles(t, e)
	for _, mode := range []string{"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"} {
		body := randBytes(1 << 20)
		req, _ := http.NewRequest(http.MethodPut, e.ts.URL+"/"+b+"/half", nil)
		req.Header.Set("X-Amz-Content-Sha256", mode)
		req.ContentLength = int64(len(body))
		if mode != "UNSIGNED-PAYLOAD" {
			req.Header.Set("Content-Encoding", "aws-chunked")
			req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(body)))
			req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
			chunked := fmt.Appendf(nil, "%x\r\n", len(body))
			body = append(chunked, body...)
			req.ContentLength = int64(len(body) + 100)
		}
		req = signer.SignV4(*req, testAccess, testSecret, "", "us-east-1")
		conn, err := tls.Dial("tcp", e.ts.Listener.Addr().String(), &tls.Config{RootCAs: e.ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs})
		if err != nil {
			t.Fatal(err)
		}
		var hdr bytes.Buffer
		fmt.Fprintf(&hdr, "PUT /%s/half HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", b, req.Host, req.ContentLength)
		for k, vs := range req.Header {
			for _, v := range vs {
				fmt.Fprintf(&hdr, "%s: %s\r\n", k, v)
			}
		}
		hdr.WriteString("\r\n")
		conn.Write(hdr.Bytes())
		conn.Write(body[:len(body)/2])
		conn.Close()
		for addr := range e.closed { // wait until the server is done with our connection
			if addr == conn.LocalAddr().String() {
				break
			}
		}
		if _, err := e.mc.StatObject(context.Background(), b, "half", minio.StatObjectOptions{}); s3Code(err) != "NoSuchKey" {
			t.Errorf("%s: cut-off upload visible: %v", mode, err)
		}
		if ents, _ := os.ReadDir(filepath.Join(e.cfg.Dir, "tmp")); len(ents) != 0 {
			t.Errorf("%s: temp file left: %d", mode, len(ents))
		}
	}
	e.restart()
	if got := countDataFiles(t, e); got != before {
		t.Errorf("body files %d, want %d", got, before)
	}
}

func TestVirtualHostStyle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Domain = "s3.kmsbox.test" })
	_, port, _ := net.SplitHostPort(e.ts.Listener.Addr().String())
	tr := e.ts.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.InsecureSkipVerify = true // the test cert does not cover *.s3.kmsbox.test
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, e.ts.Listener.Addr().String())
	}
	mc, err := minio.New("s3.kmsbox.test:"+port, &minio.Options{Creds: credentials.NewStaticV4(testAccess, testSecret, ""), Secure: true,
		Transport: tr, Region: "us-east-1", BucketLookup: minio.BucketLookupDNS})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := mc.MakeBucket(ctx, "vhost", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.PutObject(ctx, "vhost", "dir/k", strings.NewReader("vh"), 2, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// Path style on the same server sees the same object.
	got, err := getAll(t, e, "vhost", "dir/k", minio.GetObjectOptions{})
	if err != nil || string(got) != "vh" {
		t.Errorf("path style read: %v %q", err, got)
	}
}

func TestConditionalAndRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("cond")
	info, err := e.mc.PutObject(ctx, b, "o", strings.NewReader("0123456789"), 10, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	do := func(hdr map[string]string) (int, string) {
		o := minio.GetObjectOptions{}
		for k, v := range hdr {
			o.Set(k, v)
		}
		req, _ := http.NewRequest("GET", e.ts.URL+"/"+b+"/o", nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		status, body := e.doSigned(t, req)
		return status, string(body)
	}
	etag := `"` + info.ETag + `"`
	for _, tc := range []struct {
		hdr  map[string]string
		code int
		body string
	}{
		{map[string]string{"If-Match": etag}, 200, "0123456789"},
		{map[string]string{"If-Match": `"other"`}, 412, ""},
		{map[string]string{"If-None-Match": etag}, 304, ""},
		{map[string]string{"If-Modified-Since": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, 304, ""},
		{map[string]string{"If-Unmodified-Since": time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}, 412, ""},
		{map[string]string{"Range": "bytes=2-4"}, 206, "234"},
		{map[string]string{"Range": "bytes=-3"}, 206, "789"},
		{map[string]string{"Range": "bytes=7-"}, 206, "789"},
		{map[string]string{"Range": "bytes=5-100"}, 206, "56789"},
		{map[string]string{"Range": "bytes=10-"}, 416, ""},
		{map[string]string{"Range": "bytes=abc"}, 200, "0123456789"},
	} {
		code, body := do(tc.hdr)
		if code != tc.code || (tc.body != "" && body != tc.body) {
			t.Errorf("%v: %d %q, want %d %q", tc.hdr, code, body, tc.code, tc.body)
		}
	}
}

// TestConcurrentOverwrite: PUTs of one key race with GETs; every GET sees
// one complete version, never a mix.
func TestConcurrentOverwrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AutoEncrypt = true })
	ctx := context.Background()
	b := e.bucket("race")
	versions := make([][]byte, 6)
	for i := range versions {
		versions[i] = bytes.Repeat([]byte{byte('a' + i)}, 200000)
	}
	if _, err := e.mc.PutObject(ctx, b, "k", bytes.NewReader(versions[0]), 200000, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range versions {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := e.mc.PutObject(ctx, b, "k", bytes.NewReader(versions[i]), 200000, minio.PutObjectOptions{})
			if err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				obj, err := e.mc.GetObject(ctx, b, "k", minio.GetObjectOptions{})
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(obj)
				obj.Close()
				if err != nil {
					errs <- err
					return
				}
				if len(got) != 200000 || !bytes.Equal(got, bytes.Repeat(got[:1], 200000)) {
					errs <- fmt.Errorf("mixed or short body (%d bytes)", len(got))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := countDataFiles(t, e); n != 1 {
		t.Errorf("%d body files after the race, want 1", n)
	}
}
