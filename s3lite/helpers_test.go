package s3lite

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/kmsbox/kmsbox/internal/netcork"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/signer"
	bolt "go.etcd.io/bbolt"
)

const (
	testAccess = "testaccesskey"
	testSecret = "testsecretkey123"
	testKeyID  = "minio-key-1"
)

// testKMS is a KMS with one named 32-byte master key in memory (the appliance serves a
// KES here): data keys are sealed as nonce | AES-256-GCM(data key) with the context as
// associated data.
type testKMS struct {
	name string
	aead cipher.AEAD
}

func newTestKMS(name string, key []byte) *testKMS {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &testKMS{name: name, aead: g}
}

func (k *testKMS) GenerateKey(ctx context.Context, keyID string, context []byte) (DEK, error) {
	if keyID != k.name {
		return DEK{}, fmt.Errorf("%w: %q", ErrKMSKeyNotFound, keyID)
	}
	plain, nonce := make([]byte, 32), make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(plain)
	_, _ = rand.Read(nonce)
	return DEK{KeyID: keyID, Plaintext: plain, Ciphertext: k.aead.Seal(nonce, nonce, plain, context)}, ctx.Err()
}

func (k *testKMS) Decrypt(ctx context.Context, keyID string, ciphertext, context []byte) ([]byte, error) {
	if keyID != k.name {
		return nil, fmt.Errorf("%w: %q", ErrKMSKeyNotFound, keyID)
	}
	n := k.aead.NonceSize()
	if len(ciphertext) < n {
		return nil, ErrKMSInvalidCiphertext
	}
	plain, err := k.aead.Open(nil, ciphertext[:n], ciphertext[n:], context)
	if err != nil {
		return nil, ErrKMSInvalidCiphertext
	}
	return plain, ctx.Err()
}

func (k *testKMS) Status(ctx context.Context) error { return ctx.Err() }

// switchKMS is a testKMS that a test can take down.
type switchKMS struct {
	*testKMS
	down  atomic.Bool
	calls atomic.Int64
}

func (k *switchKMS) GenerateKey(ctx context.Context, id string, c []byte) (DEK, error) {
	k.calls.Add(1)
	if k.down.Load() {
		return DEK{}, ErrKMSUnavailable
	}
	return k.testKMS.GenerateKey(ctx, id, c)
}

func (k *switchKMS) Decrypt(ctx context.Context, id string, ct, c []byte) ([]byte, error) {
	k.calls.Add(1)
	if k.down.Load() {
		return nil, ErrKMSUnavailable
	}
	return k.testKMS.Decrypt(ctx, id, ct, c)
}

func (k *switchKMS) Status(ctx context.Context) error {
	if k.down.Load() {
		return ErrKMSUnavailable
	}
	return nil
}

// env is one s3lite server behind a real TLS listener on 127.0.0.1:0.
type env struct {
	t   testing.TB
	cfg Config
	kms *switchKMS
	srv *Server
	ts  *httptest.Server
	h   atomic.Pointer[http.Handler]
	mc  *minio.Client
	s3  *s3.Client
	now atomic.Pointer[time.Time]
	// closed receives the remote address of each client connection the
	// server is done with.
	closed chan string
	// writes counts the writes that reach the server's connections, under
	// netcork's Conns as in kmsbox.
	writes atomic.Int64
}

type envOption func(*Config)

// countingListener counts the writes to the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	e := &env{t: t, kms: &switchKMS{testKMS: newTestKMS(testKeyID, key)}}
	e.cfg = Config{
		Dir:         t.TempDir(),
		Credentials: map[string]string{testAccess: testSecret},
		KMS:         e.kms,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time {
			if p := e.now.Load(); p != nil {
				return *p
			}
			return time.Now()
		},
	}
	for _, o := range opts {
		o(&e.cfg)
	}
	e.open()
	e.ts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*e.h.Load()).ServeHTTP(w, r)
	}))
	e.closed = make(chan string, 1000)
	e.ts.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateClosed || st == http.StateHijacked {
			select {
			case e.closed <- c.RemoteAddr().String():
			default:
			}
		}
	}
	e.ts.Listener = netcork.NewListener(countingListener{e.ts.Listener, &e.writes})
	e.ts.Config.ConnContext = netcork.ConnContext
	e.ts.StartTLS()
	t.Cleanup(func() {
		e.ts.Close()
		e.close()
	})
	host := strings.TrimPrefix(e.ts.URL, "https://")
	mc, err := minio.New(host, &minio.Options{
		Creds:     credentials.NewStaticV4(testAccess, testSecret, ""),
		Secure:    true,
		Transport: e.ts.Client().Transport,
		Region:    "us-east-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.mc = mc
	e.s3 = e.awsClient(testAccess, testSecret)
	return e
}

// awsClient builds an aws-sdk-go-v2 client with the SDK's default
// checksum behaviour (what config.LoadDefaultConfig resolves to when
// nothing is configured): aws-chunked uploads with a CRC32 trailer and
// response checksum validation.
func (e *env) awsClient(ak, sk string) *s3.Client {
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		Credentials:                awscreds.NewStaticCredentialsProvider(ak, sk, ""),
		BaseEndpoint:               aws.String(e.ts.URL),
		UsePathStyle:               true,
		HTTPClient:                 e.ts.Client(),
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
}

func (e *env) open() {
	e.t.Helper()
	srv, err := Open(context.Background(), e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	h := srv.Handler()
	e.h.Store(&h)
}

func (e *env) close() {
	if e.srv == nil {
		return
	}
	// Consistency check of the bolt file, as bbolt's own tests do.
	if err := e.srv.st.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		e.t.Errorf("bolt check: %v", err)
	}
	if err := e.srv.Close(); err != nil {
		e.t.Errorf("close: %v", err)
	}
	e.srv = nil
}

// restart closes the server and opens a new one on the same directory,
// behind the same URL.
func (e *env) restart() {
	e.close()
	e.open()
}

func (e *env) bucket(name string) string {
	e.t.Helper()
	if err := e.mc.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return name
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// s3Code extracts the S3 error code of a minio-go or aws-sdk error.
func s3Code(err error) string {
	if err == nil {
		return ""
	}
	var me minio.ErrorResponse
	if errors.As(err, &me) {
		return me.Code
	}
	type apiErr interface{ ErrorCode() string }
	var ae apiErr
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return err.Error()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func sseS3Opt() encrypt.ServerSide { return encrypt.NewSSE() }

// countDataFiles counts committed body files under the data directory.
func countDataFiles(t *testing.T, e *env) int {
	t.Helper()
	e.srv.st.settle()
	n := 0
	err := filepath.WalkDir(filepath.Join(e.cfg.Dir, "data"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// forgeMultipart stores data as a plaintext multipart object of parts of
// partSize bytes straight through the store, bypassing S3's 5 MiB minimum
// part size. It returns the files of the object it replaced (for the
// caller to remove).
func (e *env) forgeMultipart(t testing.TB, bucket, key string, data []byte, partSize int, etag string) []string {
	t.Helper()
	if partSize <= 0 || len(data)%partSize != 0 {
		t.Fatalf("forgeMultipart: %d bytes is not a whole number of %d-byte parts", len(data), partSize)
	}
	m := &objectMeta{Key: key, Size: int64(len(data)), ETag: etag, ModTime: time.Now().UTC(), Multipart: true}
	for i := range len(data) / partSize {
		f, err := e.srv.st.tempFile()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data[i*partSize : (i+1)*partSize]); err != nil {
			t.Fatal(err)
		}
		name, err := e.srv.st.commitFile(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		m.Parts = append(m.Parts, partMeta{Number: i + 1, File: name, Size: int64(partSize), EncSize: int64(partSize), ETag: "p", ModTime: m.ModTime})
	}
	old, err := e.srv.st.putObject(context.Background(), bucket, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	return old
}

// doSigned signs req with SigV4 (UNSIGNED-PAYLOAD, the test credentials),
// sends it through the test server's TLS client and returns the status and
// the whole response body.
func (e *env) doSigned(t testing.TB, req *http.Request) (int, []byte) {
	t.Helper()
	status, _, body := e.doSignedHeader(t, req)
	return status, body
}

// doSignedHeader is doSigned that also returns the response headers.
func (e *env) doSignedHeader(t testing.TB, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, testAccess, testSecret, "", "us-east-1")
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// withSSE sets in's server-side encryption to sse: "s3" (SSE-S3), "kms"
// (SSE-KMS with the test key and the base64 context kmsCtx) or "c" (SSE-C
// with ssecHeaders); anything else leaves it unencrypted.
func withSSE(in *s3.PutObjectInput, sse, kmsCtx string) *s3.PutObjectInput {
	switch sse {
	case "s3":
		in.ServerSideEncryption = types.ServerSideEncryptionAes256
	case "kms":
		in.ServerSideEncryption, in.SSEKMSKeyId, in.SSEKMSEncryptionContext = types.ServerSideEncryptionAwsKms, aws.String(testKeyID), aws.String(kmsCtx)
	case "c":
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = ssecHeaders()
	}
	return in
}

// settle waits until the bodies removeFiles queued are unlinked.
func (st *store) settle() { st.trashed.Wait() }
