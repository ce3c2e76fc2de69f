package sigv4

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"
)

const (
	testAccessKey = "kmsbox-test-access"
	testSecret    = "kmsbox/test+secret/0123456789abcdefABCDEF"
	testRegion    = "us-east-1"
)

// seen is what the test server observed for one request.
type seen struct {
	auth *Auth
	body []byte
	err  error // from Verify or from reading the body
	hdr  http.Header
}

// newVerifyServer starts a server whose handler runs Verify and reads the whole body,
// answering like S3 (ETag, echoed trailer checksum) so that real clients are satisfied.
func newVerifyServer(t *testing.T, v *Verifier, tls bool) (*httptest.Server, <-chan seen) {
	t.Helper()
	ch := make(chan seen, 64)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := v.Verify(r)
		if err != nil {
			ch <- seen{err: err}
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		body, err := io.ReadAll(a.Body)
		ch <- seen{auth: a, body: body, err: err, hdr: r.Header.Clone()}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sum := md5.Sum(body)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		for k, vs := range a.Trailer {
			w.Header()[k] = vs
		}
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, ch
}

func testVerifier() *Verifier {
	return &Verifier{
		Region:  testRegion,
		Secret:  func(ak string) (string, bool) { return testSecret, ak == testAccessKey },
		Domains: []string{"s3.kmsbox.test"},
	}
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Of(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func crc32Of(b []byte) string {
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], crc32.ChecksumIEEE(b))
	return base64.StdEncoding.EncodeToString(s[:])
}

// awsKeyPath escapes an object key the way the AWS SDKs put it on the wire.
func awsKeyPath(key string) string { return uriEncode(key, true) }

// keys exercises S3's path encoding: reserved characters, spaces, '+', unicode.
var keys = []string{
	"plain.txt",
	"dir/sub dir/a+b=c&d;e,f:g@h$i.txt",
	"weird!'()*~[]{}^`|\\\"<>#%.bin",
	"unicodé/файл/ファイル",
	"trailing/",
}

func do(t *testing.T, c *http.Client, r *http.Request) int {
	t.Helper()
	resp, err := c.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func expectOK(t *testing.T, ch <-chan seen, body []byte, presigned bool) *Auth {
	t.Helper()
	a, _ := expectOKHeader(t, ch, body, presigned)
	return a
}

func expectOKHeader(t *testing.T, ch <-chan seen, body []byte, presigned bool) (*Auth, http.Header) {
	t.Helper()
	s := <-ch
	if s.err != nil {
		t.Fatalf("server: %v", s.err)
	}
	if !bytes.Equal(s.body, body) {
		t.Fatalf("server read %d bytes, want %d", len(s.body), len(body))
	}
	if s.auth.AccessKey != testAccessKey || s.auth.Presigned != presigned {
		t.Fatalf("auth %+v", s.auth)
	}
	return s.auth, s.hdr
}

func TestAWSSDKSigner(t *testing.T) {
	v := testVerifier()
	srv, ch := newVerifyServer(t, v, true)
	c := srv.Client()
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}
	s3opts := func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }
	signer := v4.NewSigner(s3opts)
	ctx := context.Background()

	for _, key := range keys {
		t.Run("header hex payload "+key, func(t *testing.T) {
			body := randomBytes(t, 1000)
			r, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/"+awsKeyPath(key)+"?partNumber=3&uploadId=a%20b%2Bc", bytes.NewReader(body))
			r.Header.Set("X-Amz-Content-Sha256", sha256Of(body))
			r.Header.Set("X-Amz-Meta-Note", "  two   spaces  ")
			r.Header.Set("Content-Type", "text/plain")
			if err := signer.SignHTTP(ctx, creds, r, sha256Of(body), "s3", testRegion, time.Now()); err != nil {
				t.Fatal(err)
			}
			if code := do(t, c, r); code != 200 {
				t.Fatalf("status %d", code)
			}
			a := expectOK(t, ch, body, false)
			if a.ContentLength != 1000 {
				t.Fatalf("content length %d", a.ContentLength)
			}
		})
	}

	t.Run("header unsigned payload", func(t *testing.T) {
		body := randomBytes(t, 70000)
		r, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/unsigned", bytes.NewReader(body))
		r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
		if err := signer.SignHTTP(ctx, creds, r, unsignedPayload, "s3", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		do(t, c, r)
		expectOK(t, ch, body, false)
	})

	t.Run("header hex payload mismatch", func(t *testing.T) {
		body := []byte("the real body")
		r, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/k", bytes.NewReader(body))
		claimed := sha256Of([]byte("another body"))
		r.Header.Set("X-Amz-Content-Sha256", claimed)
		if err := signer.SignHTTP(ctx, creds, r, claimed, "s3", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		do(t, c, r)
		if s := <-ch; !errors.Is(s.err, ErrContentSHA256Mismatch) {
			t.Fatalf("got %v", s.err)
		}
	})

	t.Run("streaming unsigned trailer over HTTP chunked", func(t *testing.T) {
		body := randomBytes(t, 200_000)
		var enc bytes.Buffer
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 65536)
			fmt.Fprintf(&enc, "%x\r\n", n)
			enc.Write(rest[:n])
			enc.WriteString("\r\n")
			rest = rest[n:]
		}
		enc.WriteString("0\r\nx-amz-checksum-crc32:" + crc32Of(body) + "\r\n\r\n")
		// An io.Reader without a length makes net/http send Transfer-Encoding: chunked.
		r, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/trailer", io.MultiReader(&enc))
		r.Header.Set("X-Amz-Content-Sha256", streamingUnsignT)
		r.Header.Set("Content-Encoding", "aws-chunked")
		r.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(body)))
		r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		if err := signer.SignHTTP(ctx, creds, r, streamingUnsignT, "s3", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		do(t, c, r)
		a := expectOK(t, ch, body, false)
		if a.Trailer.Get("x-amz-checksum-crc32") != crc32Of(body) || a.ContentLength != int64(len(body)) {
			t.Fatalf("trailer %v, length %d", a.Trailer, a.ContentLength)
		}
	})

	for _, key := range keys {
		t.Run("presigned "+key, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, srv.URL+"/bucket/"+awsKeyPath(key)+"?response-content-type=text%2Fplain&X-Amz-Expires=300", nil)
			u, hdr, err := signer.PresignHTTP(ctx, creds, r, unsignedPayload, "s3", testRegion, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			pr, _ := http.NewRequest(http.MethodGet, u, nil)
			for k, vs := range hdr {
				if k != "Host" {
					pr.Header[k] = vs
				}
			}
			if code := do(t, c, pr); code != 200 {
				t.Fatalf("status %d", code)
			}
			expectOK(t, ch, nil, true)
		})
	}
}

func TestAWSSDKS3Client(t *testing.T) {
	v := testVerifier()
	srv, ch := newVerifyServer(t, v, true)
	client := s3.New(s3.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  awscreds.NewStaticCredentialsProvider(testAccessKey, testSecret, ""),
		HTTPClient:   srv.Client(),
		Retryer:      aws.NopRetryer{},
		// What config.LoadDefaultConfig resolves by default since early 2025.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
	})
	ctx := context.Background()
	for _, size := range []int{0, 1, 65536, 1 << 20} {
		t.Run(fmt.Sprintf("PutObject %d bytes default checksum", size), func(t *testing.T) {
			body := randomBytes(t, size)
			_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("dir/obj " + fmt.Sprint(size)), Body: bytes.NewReader(body)})
			if err != nil {
				t.Fatal(err)
			}
			a, h := expectOKHeader(t, ch, body, false)
			if size == 0 {
				// An empty body carries its CRC32 in a header.
				if h.Get("X-Amz-Checksum-Crc32") != crc32Of(body) {
					t.Fatalf("headers %v", h)
				}
				return
			}
			if h.Get("X-Amz-Content-Sha256") != streamingUnsignT || h.Get("Content-Encoding") != "aws-chunked" {
				t.Fatalf("request shape changed: %v", h)
			}
			// The SDK's current default: aws-chunked with a CRC32 trailer.
			if got := a.Trailer.Get("x-amz-checksum-crc32"); got != crc32Of(body) {
				t.Fatalf("trailer crc32 %q, want %q (trailer %v)", got, crc32Of(body), a.Trailer)
			}
		})
	}

	t.Run("PutObject unseekable stream of unknown length", func(t *testing.T) {
		body := randomBytes(t, 300_000)
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("stream"), Body: io.MultiReader(bytes.NewReader(body))})
		if err != nil {
			t.Fatal(err)
		}
		a, h := expectOKHeader(t, ch, body, false)
		if h.Get("Content-Length") != "" || a.Trailer.Get("x-amz-checksum-crc32") != crc32Of(body) {
			t.Fatalf("headers %v trailer %v", h, a.Trailer)
		}
	})

	t.Run("PutObject wrong secret", func(t *testing.T) {
		bad := s3.New(s3.Options{
			Region: testRegion, BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
			Credentials: awscreds.NewStaticCredentialsProvider(testAccessKey, "wrong", ""),
			HTTPClient:  srv.Client(), Retryer: aws.NopRetryer{},
		})
		_, err := bad.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: strings.NewReader("x")})
		if err == nil {
			t.Fatal("PutObject with a wrong secret succeeded")
		}
		if s := <-ch; !errors.Is(s.err, ErrSignatureDoesNotMatch) {
			t.Fatalf("got %v", s.err)
		}
	})

	t.Run("presigned GET and PUT", func(t *testing.T) {
		pc := s3.NewPresignClient(client)
		get, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String("a b/c+d")}, s3.WithPresignExpires(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := http.NewRequest(get.Method, get.URL, nil)
		if code := do(t, srv.Client(), r); code != 200 {
			t.Fatalf("GET status %d", code)
		}
		expectOK(t, ch, nil, true)

		body := randomBytes(t, 5000)
		put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("up")})
		if err != nil {
			t.Fatal(err)
		}
		r, _ = http.NewRequest(put.Method, put.URL, bytes.NewReader(body))
		for k, vs := range put.SignedHeader {
			if k != "Host" {
				r.Header[k] = vs
			}
		}
		if code := do(t, srv.Client(), r); code != 200 {
			t.Fatalf("PUT status %d", code)
		}
		expectOK(t, ch, body, true)
	})
}

func TestMinioSigner(t *testing.T) {
	v := testVerifier()
	srv, ch := newVerifyServer(t, v, true)
	c := srv.Client()

	for _, key := range keys {
		t.Run("SignV4 "+key, func(t *testing.T) {
			body := randomBytes(t, 3000)
			r, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/"+awsKeyPath(key)+"?uploads=&x=%2F", bytes.NewReader(body))
			r.Header.Set("X-Amz-Content-Sha256", sha256Of(body))
			r.Header.Set("X-Amz-Meta-A", "b")
			r = signer.SignV4(*r, testAccessKey, testSecret, "", testRegion)
			if code := do(t, c, r); code != 200 {
				t.Fatalf("status %d", code)
			}
			expectOK(t, ch, body, false)
		})
	}

	for _, size := range []int{0, 100, 65536, 65537, 300_000} {
		t.Run(fmt.Sprintf("StreamingSignV4 %d", size), func(t *testing.T) {
			body := randomBytes(t, size)
			r, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/stream", bytes.NewReader(body))
			r = signer.StreamingSignV4(r, testAccessKey, testSecret, "", testRegion, int64(size), time.Now().UTC(), newSHA256())
			if code := do(t, c, r); code != 200 {
				t.Fatalf("status %d", code)
			}
			a := expectOK(t, ch, body, false)
			if a.ContentLength != int64(size) {
				t.Fatalf("decoded length %d", a.ContentLength)
			}
		})
	}

	t.Run("StreamingSignV4 with signed trailer", func(t *testing.T) {
		body := randomBytes(t, 150_000)
		r, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/stream-trailer", bytes.NewReader(body))
		r.Trailer = http.Header{"x-amz-checksum-crc32": {crc32Of(body)}}
		r = signer.StreamingSignV4(r, testAccessKey, testSecret, "", testRegion, int64(len(body)), time.Now().UTC(), newSHA256())
		if code := do(t, c, r); code != 200 {
			t.Fatalf("status %d", code)
		}
		a := expectOK(t, ch, body, false)
		if a.Trailer.Get("X-Amz-Checksum-Crc32") != crc32Of(body) {
			t.Fatalf("trailer %v", a.Trailer)
		}
	})

	t.Run("UnsignedTrailer", func(t *testing.T) {
		body := randomBytes(t, 100_000)
		r, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/unsigned-trailer", bytes.NewReader(body))
		r.Header.Set("X-Amz-Content-Sha256", streamingUnsignT)
		r = signer.SignV4Trailer(*r, testAccessKey, testSecret, "", testRegion, http.Header{"x-amz-checksum-crc32c": {"AAAAAA=="}})
		if code := do(t, c, r); code != 200 {
			t.Fatalf("status %d", code)
		}
		a := expectOK(t, ch, body, false)
		if a.Trailer.Get("x-amz-checksum-crc32c") != "AAAAAA==" {
			t.Fatalf("trailer %v", a.Trailer)
		}
	})

	for _, key := range keys {
		t.Run("PreSignV4 "+key, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, srv.URL+"/bucket/"+awsKeyPath(key)+"?versionId=1", nil)
			r = signer.PreSignV4(*r, testAccessKey, testSecret, "", testRegion, 600)
			if code := do(t, c, r); code != 200 {
				t.Fatalf("status %d", code)
			}
			expectOK(t, ch, nil, true)
		})
		t.Run("PreSignV2 "+key, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, srv.URL+"/bucket/"+awsKeyPath(key)+"?response-content-disposition=attachment%3B%20x", nil)
			r = signer.PreSignV2(*r, testAccessKey, testSecret, 600, false)
			if code := do(t, c, r); code != 200 {
				t.Fatalf("status %d", code)
			}
			expectOK(t, ch, nil, true)
		})
	}

	t.Run("PreSignV2 virtual host", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodGet, srv.URL+"/obj/key.txt", nil)
		r.Host = "mybucket.s3.kmsbox.test"
		r = signer.PreSignV2(*r, testAccessKey, testSecret, 600, true)
		if code := do(t, c, r); code != 200 {
			t.Fatalf("status %d", code)
		}
		expectOK(t, ch, nil, true)
	})

	t.Run("PreSignV2 expired", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodGet, srv.URL+"/bucket/k", nil)
		r = signer.PreSignV2(*r, testAccessKey, testSecret, -10, false)
		do(t, c, r)
		if s := <-ch; !errors.Is(s.err, ErrExpiredRequest) {
			t.Fatalf("got %v", s.err)
		}
	})

	t.Run("PreSignV2 PUT with content type", func(t *testing.T) {
		body := []byte("hello")
		r, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/k?uploadId=abc&partNumber=2", bytes.NewReader(body))
		r.Header.Set("Content-Type", "text/plain")
		r.Header.Set("X-Amz-Meta-Z", "1")
		r = signer.PreSignV2(*r, testAccessKey, testSecret, 600, false)
		do(t, c, r)
		expectOK(t, ch, body, true)
	})
}

func TestMinioClient(t *testing.T) {
	v := testVerifier()
	for _, secure := range []bool{true, false} {
		// Over plain HTTP minio-go signs every chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD);
		// over TLS it sends UNSIGNED-PAYLOAD.
		t.Run(fmt.Sprintf("secure=%v", secure), func(t *testing.T) {
			srv, ch := newVerifyServer(t, v, secure)
			u, _ := url.Parse(srv.URL)
			mc, err := minio.New(u.Host, &minio.Options{
				Creds:        miniocreds.NewStaticV4(testAccessKey, testSecret, ""),
				Secure:       secure,
				Transport:    srv.Client().Transport,
				Region:       testRegion,
				BucketLookup: minio.BucketLookupPath,
				MaxRetries:   1,
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{0, 10, 200_000} {
				body := randomBytes(t, size)
				_, err := mc.PutObject(context.Background(), "bucket", "dir/obj+1 é", bytes.NewReader(body), int64(size), minio.PutObjectOptions{})
				if err != nil {
					t.Fatalf("PutObject %d: %v", size, err)
				}
				expectOK(t, ch, body, false)
			}
			pu, err := mc.PresignedGetObject(context.Background(), "bucket", "a b+c", time.Minute, url.Values{"response-content-type": {"text/plain"}})
			if err != nil {
				t.Fatal(err)
			}
			r, _ := http.NewRequest(http.MethodGet, pu.String(), nil)
			if code := do(t, srv.Client(), r); code != 200 {
				t.Fatalf("presigned GET status %d", code)
			}
			expectOK(t, ch, nil, true)
		})
	}
}
