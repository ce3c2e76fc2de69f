package appliance

// Appliance-level tests of the S3 server and its KMS wiring: the real appliance (vault, KES
// and S3 in one process) on loopback TLS ports, driven with minio-go and aws-sdk-go-v2 (with
// the SDK's current default checksums: aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER with a
// CRC32 trailer), the real vault/api client to init, seal and unseal, and kms-go/kes as the
// KES admin. Every helper here starts with s3t: other files of package appliance are written
// by other people at the same time.

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	vaultapi "github.com/hashicorp/vault/api"
	"github.com/kmsbox/kmsbox/internal/testutil"
	"github.com/minio/kms-go/kes"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/signer"
)

var s3tUpdate = flag.Bool("s3t.update", false, "rewrite the golden files under testdata/s3")

const (
	s3tMiB     = 1 << 20
	s3tPackage = 64 << 10 // DARE package payload size
	s3tPartMiB = 5
)

// s3tEnv is a running appliance with S3 clients pointed at it.
type s3tEnv struct {
	t              *testing.T
	cfg            Config
	a              *Appliance
	stop           func() error
	access, secret string
	mc             *minio.Client
	mc1            *minio.Client // no retries, for requests that must fail (minio-go retries 5xx with backoff)
	sdk            *s3.Client
	rec            *s3tRecorder
	hc             *http.Client
}

// s3tStart starts an appliance with cfg (all three servers on loopback ports unless cfg
// names addresses) and builds minio-go, aws-sdk-go-v2 and raw HTTPS clients for its S3 API.
// The credentials are cfg's, else (dev) the env file's.
func s3tStart(t *testing.T, cfg Config) *s3tEnv {
	t.Helper()
	a, stop := startAppliance(t, cfg)
	e := &s3tEnv{t: t, cfg: cfg, a: a, stop: stop, access: cfg.S3.AccessKey, secret: cfg.S3.SecretKey}
	if e.access == "" && cfg.Dev {
		env := mustRead(t, EnvFile(cfg.DataDir))
		e.access, e.secret = envValue(env, "AWS_ACCESS_KEY_ID"), envValue(env, "AWS_SECRET_ACCESS_KEY")
	}
	if e.access == "" {
		t.Fatal("s3tStart: no S3 credentials")
	}
	e.mc = minioClient(t, a, e.access, e.secret)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, a.CAFile()))
	mc1, err := minio.New(a.Addr("s3"), &minio.Options{
		Creds:      credentials.NewStaticV4(e.access, e.secret, ""),
		Secure:     true,
		Transport:  &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.mc1 = mc1
	e.hc = caClient(t, a.CAFile())
	e.rec = &s3tRecorder{base: e.hc.Transport}
	e.sdk = s3.New(s3.Options{
		Region:           "us-east-1",
		Credentials:      awscreds.NewStaticCredentialsProvider(e.access, e.secret, ""),
		BaseEndpoint:     aws.String(a.URL("s3")),
		UsePathStyle:     true,
		HTTPClient:       &http.Client{Transport: e.rec},
		RetryMaxAttempts: 1,
		// What config.LoadDefaultConfig resolves to when nothing is configured: aws-chunked
		// uploads with a CRC32 trailer, response checksums validated.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
	return e
}

// restart stops the appliance and starts a new one on the same data dir with cfg.
func (e *s3tEnv) restart(cfg Config) *s3tEnv {
	e.t.Helper()
	if err := e.stop(); err != nil {
		e.t.Fatalf("stop: %v", err)
	}
	return s3tStart(e.t, cfg)
}

// s3tRecorder remembers the payload headers of every PUT the SDK sends.
type s3tRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	puts map[string]http.Header // by URL path; the last PUT to a path wins
}

func (r *s3tRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut {
		r.mu.Lock()
		if r.puts == nil {
			r.puts = map[string]http.Header{}
		}
		r.puts[req.URL.Path] = req.Header.Clone()
		r.mu.Unlock()
	}
	return r.base.RoundTrip(req)
}

func (r *s3tRecorder) put(path string) http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.puts[path]
}

// s3tMarker is a string that must never appear in plaintext on disk.
func s3tMarker() string {
	var b [8]byte
	rand.Read(b[:])
	return "s3t-plaintext-marker-" + hex.EncodeToString(b[:])
}

// s3tBody returns n pseudo-random bytes (fixed by seed) with marker written every KiB.
func s3tBody(marker string, n int, seed uint64) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, n)
	mrand.NewChaCha8(s).Read(b)
	for off := 0; off+len(marker) <= n; off += 1024 {
		copy(b[off:], marker)
	}
	return b
}

func s3tMD5(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

func s3tCRC32(b []byte) string {
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], crc32.ChecksumIEEE(b))
	return base64.StdEncoding.EncodeToString(s[:])
}

// s3tMultipartETag is S3's ETag of an object uploaded in parts.
func s3tMultipartETag(parts [][]byte) string {
	var all []byte
	for _, p := range parts {
		s := md5.Sum(p)
		all = append(all, s[:]...)
	}
	return fmt.Sprintf("%s-%d", s3tMD5(all), len(parts))
}

func s3tSplit(b []byte, size int) [][]byte {
	var parts [][]byte
	for len(b) > size {
		parts = append(parts, b[:size])
		b = b[size:]
	}
	return append(parts, b)
}

// s3tSSEC is a customer key with the header values S3 wants.
type s3tSSEC struct {
	key       []byte
	keyB64    string
	keyMD5B64 string
}

func s3tNewSSEC() s3tSSEC {
	k := make([]byte, 32)
	rand.Read(k)
	sum := md5.Sum(k)
	return s3tSSEC{key: k, keyB64: base64.StdEncoding.EncodeToString(k), keyMD5B64: base64.StdEncoding.EncodeToString(sum[:])}
}

func (c s3tSSEC) minio(t *testing.T) encrypt.ServerSide {
	sse, err := encrypt.NewSSEC(c.key)
	if err != nil {
		t.Fatal(err)
	}
	return sse
}

// s3tErr returns the S3 error code and HTTP status of an SDK or minio-go error.
func s3tErr(err error) (code string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	if code == "" && status == 0 {
		er := minio.ToErrorResponse(err)
		code, status = er.Code, er.StatusCode
	}
	return code, status
}

// s3tWantErr fails unless err is the S3 error code with status (code "" = any code).
func s3tWantErr(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want %d %s", what, status, code)
		return
	}
	gotCode, gotStatus := s3tErr(err)
	if gotStatus != status || (code != "" && gotCode != code) {
		t.Errorf("%s: %d %s (%v), want %d %s", what, gotStatus, gotCode, err, status, code)
	}
}

func s3tMakeBucket(t *testing.T, e *s3tEnv, bucket string) {
	t.Helper()
	if _, err := e.sdk.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", bucket, err)
	}
}

// s3tGet reads bucket/key with the SDK (full-object checksum requested) and returns the
// output and the body.
func s3tGet(t *testing.T, e *s3tEnv, in *s3.GetObjectInput) (*s3.GetObjectOutput, []byte, error) {
	t.Helper()
	out, err := e.sdk.GetObject(context.Background(), in)
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return out, b, err
}

// s3tMustGet reads bucket/key and checks body and ETag.
func s3tMustGet(t *testing.T, e *s3tEnv, in *s3.GetObjectInput, want []byte, etag string) *s3.GetObjectOutput {
	t.Helper()
	if in.Range == nil {
		in.ChecksumMode = types.ChecksumModeEnabled
	}
	out, got, err := s3tGet(t, e, in)
	if err != nil {
		t.Fatalf("GET %s/%s: %v", *in.Bucket, *in.Key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("GET %s/%s: body differs (%d bytes, want %d)", *in.Bucket, *in.Key, len(got), len(want))
	}
	if etag != "" && aws.ToString(out.ETag) != `"`+etag+`"` {
		t.Errorf("GET %s/%s: ETag %s, want %q", *in.Bucket, *in.Key, aws.ToString(out.ETag), etag)
	}
	return out
}

// s3tCheckRange GETs bytes=start-end of an object whose plaintext is body.
func s3tCheckRange(t *testing.T, e *s3tEnv, bucket, key string, body []byte, start, end int, ssec *s3tSSEC) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String(fmt.Sprintf("bytes=%d-%d", start, end))}
	if ssec != nil {
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(ssec.keyB64), aws.String(ssec.keyMD5B64)
	}
	out, got, err := s3tGet(t, e, in)
	if err != nil {
		t.Fatalf("GET %s/%s bytes=%d-%d: %v", bucket, key, start, end, err)
	}
	if !bytes.Equal(got, body[start:end+1]) {
		t.Fatalf("GET %s/%s bytes=%d-%d: wrong bytes (got %d bytes)", bucket, key, start, end, len(got))
	}
	if want := fmt.Sprintf("bytes %d-%d/%d", start, end, len(body)); aws.ToString(out.ContentRange) != want {
		t.Errorf("GET %s/%s: Content-Range %q, want %q", bucket, key, aws.ToString(out.ContentRange), want)
	}
}

// s3tRanges are the interesting ranges of an object of size n uploaded in partSize parts:
// DARE package boundaries, part boundaries, spans over several of both, the ends.
func s3tRanges(n, partSize int) [][2]int {
	r := [][2]int{
		{0, 0},
		{s3tPackage - 1, s3tPackage + 1},
		{s3tPackage, 2*s3tPackage - 1},
		{3*s3tPackage + 17, 7*s3tPackage + 5},
		{n - 1, n - 1},
		{n - s3tPackage - 3, n - 1},
	}
	for p := partSize; p < n; p += partSize {
		r = append(r,
			[2]int{p - 1, p}, // last byte of a part and first of the next
			[2]int{p - s3tPackage - 1, p + s3tPackage}, // packages on both sides
		)
	}
	if n > 2*partSize+s3tMiB {
		r = append(r, [2]int{partSize/2 + 12345, 2*partSize + 777}) // three parts
	}
	return r
}

// s3tAdded returns the names in after that before lacks: what requests stored. (Files may
// also go missing meanwhile: s3lite unlinks replaced bodies in the background.)
func s3tAdded(before, after []string) []string {
	var added []string
	for _, f := range after {
		if !slices.Contains(before, f) {
			added = append(added, f)
		}
	}
	return added
}

// s3tFiles lists the regular files under root, relative.
func s3tFiles(t *testing.T, root string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

// s3tNoPlaintext fails if marker occurs in any file under root, and proves first that the
// scan finds a marker where there is one.
func s3tNoPlaintext(t *testing.T, root, marker string) {
	t.Helper()
	probe := t.TempDir()
	if err := os.WriteFile(filepath.Join(probe, "x"), append([]byte("abc"), marker...), 0o600); err != nil {
		t.Fatal(err)
	}
	if s3tFindMarker(t, probe, marker) == nil {
		t.Fatal("the plaintext scan does not find a marker that is there")
	}
	if found := s3tFindMarker(t, root, marker); len(found) > 0 {
		t.Fatalf("plaintext marker found on disk in %v", found)
	}
}

func s3tFindMarker(t *testing.T, root, marker string) []string {
	t.Helper()
	var found []string
	files := s3tFiles(t, root)
	if len(files) == 0 {
		t.Fatalf("no files under %s", root)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue // a replaced body unlinked since the listing
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) {
			found = append(found, f)
		}
	}
	return found
}

// s3tKeys lists the object keys of bucket.
func s3tKeys(t *testing.T, e *s3tEnv, bucket string) []string {
	t.Helper()
	out, err := e.sdk.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("ListObjectsV2 %s: %v", bucket, err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// s3tRaw sends a signed request (UNSIGNED-PAYLOAD) and returns status, headers and body.
func s3tRaw(t *testing.T, e *s3tEnv, method, path string, hdr map[string]string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.a.URL("s3")+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, e.access, e.secret, "", "us-east-1")
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

var s3tRequestID = regexp.MustCompile(`<RequestId>[^<]*</RequestId>`)

// s3tGolden compares an S3 error body (request id blanked) with testdata/s3/name.
func s3tGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = s3tRequestID.ReplaceAll(got, []byte("<RequestId>REQUEST-ID</RequestId>"))
	file := filepath.Join("testdata", "s3", name)
	if *s3tUpdate {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -s3t.update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", file, got, want)
	}
}

// s3tKESClient is a kms-go/kes client of a's KES listener with identity <data-dir>/certs/<name>.
func s3tKESClient(t *testing.T, a *Appliance, dataDir, name string) *kes.Client {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(dataDir, "certs", name+".crt"), filepath.Join(dataDir, "certs", name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, a.CAFile()))
	return kes.NewClientWithConfig(a.URL("kes"), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}})
}

// s3tVault is a vault/api client of a's Vault listener.
func s3tVault(t *testing.T, a *Appliance, token string) *vaultapi.Client {
	t.Helper()
	conf := vaultapi.DefaultConfig()
	conf.Address = a.URL("vault")
	if err := conf.ConfigureTLS(&vaultapi.TLSConfig{CACert: a.CAFile()}); err != nil {
		t.Fatal(err)
	}
	c, err := vaultapi.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

func s3tReady(t *testing.T, e *s3tEnv) int {
	t.Helper()
	return getStatus(t, e.hc, e.a.URL("s3")+"/minio/health/ready")
}

// s3tHeadSSE returns the SSE headers of a HEAD: algorithm and KMS key id.
func s3tHeadSSE(t *testing.T, e *s3tEnv, in *s3.HeadObjectInput) (*s3.HeadObjectOutput, string, string) {
	t.Helper()
	out, err := e.sdk.HeadObject(context.Background(), in)
	if err != nil {
		t.Fatalf("HEAD %s/%s: %v", *in.Bucket, *in.Key, err)
	}
	return out, string(out.ServerSideEncryption), aws.ToString(out.SSEKMSKeyId)
}

// TestS3KMSDevEncryption drives every SSE mode of a dev appliance (in-process KES) with
// minio-go and aws-sdk-go-v2 and then checks that no plaintext reached the disk.
func TestS3KMSDevEncryption(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := s3tStart(t, Config{DataDir: dir, Dev: true})
	ctx := context.Background()
	marker := s3tMarker()
	s3tMakeBucket(t, e, "sse")
	bkt := aws.String("sse")

	t.Run("auto-encryption", func(t *testing.T) {
		body := s3tBody(marker, 100_000, 1)
		out, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("auto"), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		h := e.rec.put("/sse/auto")
		if h.Get("X-Amz-Content-Sha256") != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" || !strings.EqualFold(h.Get("X-Amz-Trailer"), "x-amz-checksum-crc32") {
			t.Errorf("the SDK sent x-amz-content-sha256 %q, trailer %q: not its current default", h.Get("X-Amz-Content-Sha256"), h.Get("X-Amz-Trailer"))
		}
		if out.ServerSideEncryption != types.ServerSideEncryptionAes256 || aws.ToString(out.SSEKMSKeyId) != "" {
			t.Errorf("PUT without SSE headers: SSE %q key %q, want AES256 (auto-encryption)", out.ServerSideEncryption, aws.ToString(out.SSEKMSKeyId))
		}
		if aws.ToString(out.ETag) != `"`+s3tMD5(body)+`"` {
			t.Errorf("PUT ETag %s, want the MD5 %s", aws.ToString(out.ETag), s3tMD5(body))
		}
		if aws.ToString(out.ChecksumCRC32) != s3tCRC32(body) {
			t.Errorf("PUT x-amz-checksum-crc32 %q, want %q", aws.ToString(out.ChecksumCRC32), s3tCRC32(body))
		}
		head, sse, _ := s3tHeadSSE(t, e, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("auto")})
		if sse != "AES256" || aws.ToString(head.ETag) != `"`+s3tMD5(body)+`"` || aws.ToInt64(head.ContentLength) != int64(len(body)) {
			t.Errorf("HEAD: SSE %q ETag %s length %d", sse, aws.ToString(head.ETag), aws.ToInt64(head.ContentLength))
		}
		get := s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("auto")}, body, s3tMD5(body))
		if get.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Errorf("GET: SSE %q, want AES256", get.ServerSideEncryption)
		}
		// What `mc stat` reads.
		info, err := e.mc.StatObject(ctx, "sse", "auto", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if info.Metadata.Get("X-Amz-Server-Side-Encryption") != "AES256" || info.ETag != s3tMD5(body) {
			t.Errorf("minio-go stat: SSE %q ETag %q", info.Metadata.Get("X-Amz-Server-Side-Encryption"), info.ETag)
		}
		for o := range e.mc.ListObjects(ctx, "sse", minio.ListObjectsOptions{Prefix: "auto"}) {
			if o.Err != nil || o.ETag != s3tMD5(body) {
				t.Errorf("listing: %+v, want ETag = MD5", o)
			}
		}
	})

	t.Run("sse-kms", func(t *testing.T) {
		body := s3tBody(marker, 70_000, 2)
		// The key id is echoed as sent: plain or in arn form.
		for _, keyID := range []string{"minio-key-1", "arn:aws:kms:minio-key-1"} {
			out, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("kms"), Body: bytes.NewReader(body),
				ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(keyID)})
			if err != nil {
				t.Fatalf("PUT aws:kms %s: %v", keyID, err)
			}
			if out.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(out.SSEKMSKeyId) != keyID {
				t.Errorf("PUT aws:kms %s: SSE %q key %q", keyID, out.ServerSideEncryption, aws.ToString(out.SSEKMSKeyId))
			}
			etag := strings.Trim(aws.ToString(out.ETag), `"`)
			if len(etag) != 32 || etag == s3tMD5(body) {
				t.Errorf("SSE-KMS ETag %q: want 32 hex that are not the MD5 (the spec's sealed ETag)", etag)
			}
			_, sse, key := s3tHeadSSE(t, e, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("kms")})
			if sse != "aws:kms" || key != keyID {
				t.Errorf("HEAD: SSE %q key %q", sse, key)
			}
			get := s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("kms")}, body, etag)
			if get.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(get.SSEKMSKeyId) != keyID {
				t.Errorf("GET: SSE %q key %q", get.ServerSideEncryption, aws.ToString(get.SSEKMSKeyId))
			}
		}

		// With an encryption context (SDK), echoed back and needed to decrypt.
		kmsCtx := base64.StdEncoding.EncodeToString([]byte(`{"department":"finance","project":"s3t"}`))
		out, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("kms-ctx"), Body: bytes.NewReader(body),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("minio-key-1"), SSEKMSEncryptionContext: aws.String(kmsCtx)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.SSEKMSEncryptionContext) != kmsCtx {
			t.Errorf("PUT context %q, want %q", aws.ToString(out.SSEKMSEncryptionContext), kmsCtx)
		}
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("kms-ctx")}, body, "")
		for _, method := range []string{http.MethodHead, http.MethodGet} {
			status, h, _ := s3tRaw(t, e, method, "/sse/kms-ctx", nil, nil)
			if status != 200 || h.Get("X-Amz-Server-Side-Encryption-Context") != kmsCtx || h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != "minio-key-1" {
				t.Errorf("%s SSE-KMS with context: %d, context %q key %q", method, status, h.Get("X-Amz-Server-Side-Encryption-Context"), h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"))
			}
		}
		s3tCheckRange(t, e, "sse", "kms-ctx", body, s3tPackage-2, s3tPackage+2, nil)

		// The same with minio-go, as `mc cp --enc-kms` sends it.
		sse, err := encrypt.NewSSEKMS("minio-key-1", map[string]string{"app": "minio-go"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.mc.PutObject(ctx, "sse", "kms-mc", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ServerSideEncryption: sse}); err != nil {
			t.Fatal(err)
		}
		info, err := e.mc.StatObject(ctx, "sse", "kms-mc", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if info.Metadata.Get("X-Amz-Server-Side-Encryption") != "aws:kms" ||
			info.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != "minio-key-1" ||
			info.Metadata.Get("X-Amz-Server-Side-Encryption-Context") == "" {
			t.Errorf("minio-go stat of SSE-KMS object: %v", info.Metadata)
		}
		obj, err := e.mc.GetObject(ctx, "sse", "kms-mc", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("minio-go GET of SSE-KMS object: %d bytes, %v", len(got), err)
		}
	})

	t.Run("sse-kms-missing-key", func(t *testing.T) {
		body := s3tBody(marker, 5000, 3)
		before := s3tFiles(t, filepath.Join(dir, "s3"))
		_, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("nokey"), Body: bytes.NewReader(body),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("minio-key-absent")})
		s3tWantErr(t, "SDK PUT aws:kms with a missing key", err, "kms:KeyNotFound", 404)
		sse, err := encrypt.NewSSEKMS("minio-key-absent", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.mc1.PutObject(ctx, "sse", "nokey", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ServerSideEncryption: sse})
		s3tWantErr(t, "minio-go PUT aws:kms with a missing key", err, "kms:KeyNotFound", 404)
		status, _, xml := s3tRaw(t, e, http.MethodPut, "/sse/nokey", map[string]string{
			"X-Amz-Server-Side-Encryption":                "aws:kms",
			"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "minio-key-absent",
		}, body)
		if status != 404 {
			t.Errorf("raw PUT with a missing key: %d", status)
		}
		s3tGolden(t, "kms-key-not-found.xml", xml)
		_, err = e.sdk.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bkt, Key: aws.String("nokey"),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("minio-key-absent")})
		s3tWantErr(t, "CreateMultipartUpload aws:kms with a missing key", err, "kms:KeyNotFound", 404)

		// Nothing stored: no object, no upload, no new file.
		_, err = e.sdk.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("nokey")})
		s3tWantErr(t, "HEAD after the refused PUTs", err, "", 404)
		ups, err := e.sdk.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: bkt})
		if err != nil || len(ups.Uploads) != 0 {
			t.Errorf("uploads after a refused CreateMultipartUpload: %v, %v", ups, err)
		}
		if added := s3tAdded(before, s3tFiles(t, filepath.Join(dir, "s3"))); len(added) > 0 {
			t.Errorf("refused PUTs stored files under s3/: %v", added)
		}
	})

	ssec := s3tNewSSEC()
	t.Run("sse-c", func(t *testing.T) {
		body := s3tBody(marker, 200_000, 4)
		out, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("ssec"), Body: bytes.NewReader(body),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(ssec.keyB64), SSECustomerKeyMD5: aws.String(ssec.keyMD5B64)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.SSECustomerAlgorithm) != "AES256" || aws.ToString(out.SSECustomerKeyMD5) != ssec.keyMD5B64 || out.ServerSideEncryption != "" {
			t.Errorf("PUT SSE-C: algorithm %q key MD5 %q SSE %q", aws.ToString(out.SSECustomerAlgorithm), aws.ToString(out.SSECustomerKeyMD5), out.ServerSideEncryption)
		}
		in := &s3.GetObjectInput{Bucket: bkt, Key: aws.String("ssec"),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(ssec.keyB64), SSECustomerKeyMD5: aws.String(ssec.keyMD5B64)}
		get := s3tMustGet(t, e, in, body, "")
		if aws.ToString(get.SSECustomerKeyMD5) != ssec.keyMD5B64 || aws.ToString(get.SSECustomerAlgorithm) != "AES256" {
			t.Errorf("GET SSE-C: algorithm %q key MD5 %q", aws.ToString(get.SSECustomerAlgorithm), aws.ToString(get.SSECustomerKeyMD5))
		}
		s3tCheckRange(t, e, "sse", "ssec", body, 70000, 70099, &ssec)
		s3tCheckRange(t, e, "sse", "ssec", body, s3tPackage-1, 2*s3tPackage+1, &ssec)

		wrong := s3tNewSSEC()
		_, _, err = s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("ssec"),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(wrong.keyB64), SSECustomerKeyMD5: aws.String(wrong.keyMD5B64)})
		s3tWantErr(t, "GET SSE-C with the wrong key", err, "AccessDenied", 403)
		_, _, err = s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("ssec")})
		s3tWantErr(t, "GET SSE-C without a key", err, "InvalidRequest", 400)
		_, err = e.sdk.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("ssec"),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(wrong.keyB64), SSECustomerKeyMD5: aws.String(wrong.keyMD5B64)})
		s3tWantErr(t, "HEAD SSE-C with the wrong key", err, "", 403)
		_, err = e.sdk.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("ssec")})
		s3tWantErr(t, "HEAD SSE-C without a key", err, "", 400)
		_, err = e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("ssec-bad"), Body: bytes.NewReader(body),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(ssec.keyB64), SSECustomerKeyMD5: aws.String(wrong.keyMD5B64)})
		s3tWantErr(t, "PUT SSE-C with a key MD5 mismatch", err, "", 400)
		_, err = e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("ssec-bad"), Body: bytes.NewReader(body),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms,
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(ssec.keyB64), SSECustomerKeyMD5: aws.String(ssec.keyMD5B64)})
		s3tWantErr(t, "PUT SSE-C together with aws:kms", err, "InvalidArgument", 400)

		// minio-go, as `mc cp --enc-c` does.
		if _, err := e.mc.PutObject(ctx, "sse", "ssec-mc", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ServerSideEncryption: ssec.minio(t)}); err != nil {
			t.Fatal(err)
		}
		obj, err := e.mc.GetObject(ctx, "sse", "ssec-mc", minio.GetObjectOptions{ServerSideEncryption: ssec.minio(t)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("minio-go GET SSE-C: %d bytes, %v", len(got), err)
		}
		_, err = e.mc1.StatObject(ctx, "sse", "ssec-mc", minio.StatObjectOptions{ServerSideEncryption: wrong.minio(t)})
		s3tWantErr(t, "minio-go stat with the wrong SSE-C key", err, "", 403)
	})

	t.Run("bucket-default", func(t *testing.T) {
		admin := s3tKESClient(t, e.a, dir, "admin")
		if err := admin.CreateKey(ctx, "minio-bucket-key"); err != nil {
			t.Fatalf("KES create key: %v", err)
		}
		s3tMakeBucket(t, e, "dflt")
		rule := func(algo types.ServerSideEncryption, key string) *types.ServerSideEncryptionConfiguration {
			d := &types.ServerSideEncryptionByDefault{SSEAlgorithm: algo}
			if key != "" {
				d.KMSMasterKeyID = aws.String(key)
			}
			return &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: d}}}
		}
		_, err := e.sdk.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String("dflt"), ServerSideEncryptionConfiguration: rule(types.ServerSideEncryptionAwsKms, "minio-key-absent")})
		s3tWantErr(t, "PutBucketEncryption with a missing key", err, "kms:KeyNotFound", 404)
		if _, err := e.sdk.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String("dflt"), ServerSideEncryptionConfiguration: rule(types.ServerSideEncryptionAwsKms, "minio-bucket-key")}); err != nil {
			t.Fatal(err)
		}
		conf, err := e.sdk.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("dflt")})
		if err != nil {
			t.Fatal(err)
		}
		if r := conf.ServerSideEncryptionConfiguration.Rules; len(r) != 1 || r[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAwsKms ||
			aws.ToString(r[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != "minio-bucket-key" {
			t.Errorf("GetBucketEncryption: %+v", r)
		}

		body := s3tBody(marker, 30_000, 5)
		out, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("dflt"), Key: aws.String("obj"), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		if out.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(out.SSEKMSKeyId) != "minio-bucket-key" {
			t.Errorf("PUT into a bucket with aws:kms default: SSE %q key %q (bucket config beats auto-encryption)", out.ServerSideEncryption, aws.ToString(out.SSEKMSKeyId))
		}
		_, sse, key := s3tHeadSSE(t, e, &s3.HeadObjectInput{Bucket: aws.String("dflt"), Key: aws.String("obj")})
		if sse != "aws:kms" || key != "minio-bucket-key" {
			t.Errorf("HEAD: SSE %q key %q", sse, key)
		}
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: aws.String("dflt"), Key: aws.String("obj")}, body, "")
		// Request headers beat the bucket config.
		out, err = e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("dflt"), Key: aws.String("s3"), Body: bytes.NewReader(body), ServerSideEncryption: types.ServerSideEncryptionAes256})
		if err != nil || out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Errorf("PUT AES256 into an aws:kms bucket: %v, SSE %q", err, out.ServerSideEncryption)
		}
		// minio-go multipart into the bucket: the default applies to every part.
		big := s3tBody(marker, 11*s3tMiB, 6)
		if _, err := e.mc.PutObject(ctx, "dflt", "big", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: s3tPartMiB * s3tMiB}); err != nil {
			t.Fatal(err)
		}
		_, sse, key = s3tHeadSSE(t, e, &s3.HeadObjectInput{Bucket: aws.String("dflt"), Key: aws.String("big")})
		if sse != "aws:kms" || key != "minio-bucket-key" {
			t.Errorf("HEAD multipart object in aws:kms bucket: SSE %q key %q", sse, key)
		}
		s3tCheckRange(t, e, "dflt", "big", big, s3tPartMiB*s3tMiB-1, s3tPartMiB*s3tMiB, nil)

		if _, err := e.sdk.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String("dflt")}); err != nil {
			t.Fatal(err)
		}
		out, err = e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("dflt"), Key: aws.String("after"), Body: bytes.NewReader(body)})
		if err != nil || out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Errorf("PUT after DeleteBucketEncryption: %v, SSE %q, want AES256 (auto-encryption)", err, out.ServerSideEncryption)
		}
	})

	big := s3tBody(marker, 17*s3tMiB, 7)
	parts := s3tSplit(big, s3tPartMiB*s3tMiB)
	t.Run("large-sse-s3", func(t *testing.T) {
		// One PutObject of 17 MiB: the SDK sends it as one aws-chunked chunk with a CRC32 trailer.
		out, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("big-single"), Body: bytes.NewReader(big), ServerSideEncryption: types.ServerSideEncryptionAes256})
		if err != nil {
			t.Fatalf("SDK PutObject of 17 MiB: %v", err)
		}
		if h := e.rec.put("/sse/big-single"); h.Get("X-Amz-Content-Sha256") != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" || h.Get("X-Amz-Decoded-Content-Length") != fmt.Sprint(len(big)) {
			t.Errorf("SDK PUT sent x-amz-content-sha256 %q decoded length %q", h.Get("X-Amz-Content-Sha256"), h.Get("X-Amz-Decoded-Content-Length"))
		}
		if out.ServerSideEncryption != types.ServerSideEncryptionAes256 || aws.ToString(out.ETag) != `"`+s3tMD5(big)+`"` || aws.ToString(out.ChecksumCRC32) != s3tCRC32(big) {
			t.Errorf("PUT 17 MiB: SSE %q ETag %s CRC32 %q", out.ServerSideEncryption, aws.ToString(out.ETag), aws.ToString(out.ChecksumCRC32))
		}
		get := s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("big-single")}, big, s3tMD5(big))
		if aws.ToString(get.ChecksumCRC32) != s3tCRC32(big) || get.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Errorf("GET 17 MiB: CRC32 %q SSE %q", aws.ToString(get.ChecksumCRC32), get.ServerSideEncryption)
		}

		// The multipart API with 5 MiB parts, CRC32 checksums as the SDK's upload manager sends.
		cr, err := e.sdk.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bkt, Key: aws.String("big-multi"),
			ServerSideEncryption: types.ServerSideEncryptionAes256, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
		if err != nil {
			t.Fatal(err)
		}
		if cr.ServerSideEncryption != types.ServerSideEncryptionAes256 || cr.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32 {
			t.Errorf("CreateMultipartUpload: SSE %q checksum algorithm %q", cr.ServerSideEncryption, cr.ChecksumAlgorithm)
		}
		var done []types.CompletedPart
		for i, p := range parts {
			up, err := e.sdk.UploadPart(ctx, &s3.UploadPartInput{Bucket: bkt, Key: aws.String("big-multi"), UploadId: cr.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", i+1, err)
			}
			if up.ServerSideEncryption != types.ServerSideEncryptionAes256 || aws.ToString(up.ETag) != `"`+s3tMD5(p)+`"` || aws.ToString(up.ChecksumCRC32) != s3tCRC32(p) {
				t.Errorf("UploadPart %d: SSE %q ETag %s CRC32 %q", i+1, up.ServerSideEncryption, aws.ToString(up.ETag), aws.ToString(up.ChecksumCRC32))
			}
			done = append(done, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1)), ChecksumCRC32: up.ChecksumCRC32})
		}
		lp, err := e.sdk.ListParts(ctx, &s3.ListPartsInput{Bucket: bkt, Key: aws.String("big-multi"), UploadId: cr.UploadId})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range lp.Parts {
			if aws.ToInt64(p.Size) != int64(len(parts[i])) {
				t.Errorf("ListParts part %d size %d, want the plaintext size %d", i+1, aws.ToInt64(p.Size), len(parts[i]))
			}
		}
		co, err := e.sdk.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bkt, Key: aws.String("big-multi"), UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(co.ETag) != `"`+s3tMultipartETag(parts)+`"` || co.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Errorf("Complete: ETag %s (want %s) SSE %q", aws.ToString(co.ETag), s3tMultipartETag(parts), co.ServerSideEncryption)
		}
		head, sse, _ := s3tHeadSSE(t, e, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("big-multi")})
		if sse != "AES256" || aws.ToInt64(head.ContentLength) != int64(len(big)) {
			t.Errorf("HEAD multipart: SSE %q length %d", sse, aws.ToInt64(head.ContentLength))
		}
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("big-multi")}, big, s3tMultipartETag(parts))

		for _, r := range s3tRanges(len(big), s3tPartMiB*s3tMiB) {
			s3tCheckRange(t, e, "sse", "big-multi", big, r[0], r[1], nil)
			s3tCheckRange(t, e, "sse", "big-single", big, r[0], r[1], nil)
		}
		// minio-go range reads of the multipart object, as `mc cat --offset` does.
		opts := minio.GetObjectOptions{}
		opts.SetRange(int64(2*s3tPartMiB*s3tMiB-5), int64(2*s3tPartMiB*s3tMiB+s3tPackage+5))
		obj, err := e.mc.GetObject(ctx, "sse", "big-multi", opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, big[2*s3tPartMiB*s3tMiB-5:2*s3tPartMiB*s3tMiB+s3tPackage+6]) {
			t.Errorf("minio-go range over a part boundary: %d bytes, %v", len(got), err)
		}
		_, _, err = s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("big-multi"), Range: aws.String(fmt.Sprintf("bytes=%d-", len(big)))})
		s3tWantErr(t, "GET a range past the end", err, "InvalidRange", 416)
	})

	t.Run("copy-changes-encryption", func(t *testing.T) {
		body := s3tBody(marker, 150_000, 8)
		if _, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("copy-src"), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		src := aws.String("sse/copy-src")
		// SSE-S3 -> SSE-KMS.
		co, err := e.sdk.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bkt, Key: aws.String("copy-kms"), CopySource: src,
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("minio-key-1")})
		if err != nil {
			t.Fatal(err)
		}
		if co.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(co.SSEKMSKeyId) != "minio-key-1" {
			t.Errorf("CopyObject to aws:kms: SSE %q key %q", co.ServerSideEncryption, aws.ToString(co.SSEKMSKeyId))
		}
		if _, sse, key := s3tHeadSSE(t, e, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("copy-kms")}); sse != "aws:kms" || key != "minio-key-1" {
			t.Errorf("HEAD copy: SSE %q key %q", sse, key)
		}
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("copy-kms")}, body, "")

		// SSE-KMS -> SSE-C.
		co, err = e.sdk.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bkt, Key: aws.String("copy-ssec"), CopySource: aws.String("sse/copy-kms"),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(ssec.keyB64), SSECustomerKeyMD5: aws.String(ssec.keyMD5B64)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(co.SSECustomerKeyMD5) != ssec.keyMD5B64 || co.ServerSideEncryption != "" {
			t.Errorf("CopyObject to SSE-C: key MD5 %q SSE %q", aws.ToString(co.SSECustomerKeyMD5), co.ServerSideEncryption)
		}
		_, _, err = s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("copy-ssec")})
		s3tWantErr(t, "GET the SSE-C copy without a key", err, "InvalidRequest", 400)
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("copy-ssec"),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(ssec.keyB64), SSECustomerKeyMD5: aws.String(ssec.keyMD5B64)}, body, "")

		// SSE-C -> SSE-S3, with the copy-source key; without it the copy is refused.
		_, err = e.sdk.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bkt, Key: aws.String("copy-back"), CopySource: aws.String("sse/copy-ssec")})
		s3tWantErr(t, "CopyObject from SSE-C without the copy-source key", err, "", 400)
		co, err = e.sdk.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bkt, Key: aws.String("copy-back"), CopySource: aws.String("sse/copy-ssec"),
			ServerSideEncryption:           types.ServerSideEncryptionAes256,
			CopySourceSSECustomerAlgorithm: aws.String("AES256"), CopySourceSSECustomerKey: aws.String(ssec.keyB64), CopySourceSSECustomerKeyMD5: aws.String(ssec.keyMD5B64)})
		if err != nil {
			t.Fatal(err)
		}
		if co.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Errorf("CopyObject SSE-C -> AES256: SSE %q", co.ServerSideEncryption)
		}
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("copy-back")}, body, s3tMD5(body))

		// A 17 MiB multipart SSE-S3 object copied to SSE-KMS with a context, then read across parts.
		kmsCtx := base64.StdEncoding.EncodeToString([]byte(`{"copy":"yes"}`))
		co, err = e.sdk.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bkt, Key: aws.String("copy-big"), CopySource: aws.String("sse/big-multi"),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSEncryptionContext: aws.String(kmsCtx)})
		if err != nil {
			t.Fatal(err)
		}
		if co.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(co.SSEKMSKeyId) != "minio-key-1" {
			t.Errorf("CopyObject 17 MiB to aws:kms (default key): SSE %q key %q", co.ServerSideEncryption, aws.ToString(co.SSEKMSKeyId))
		}
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("copy-big")}, big, "")
		s3tCheckRange(t, e, "sse", "copy-big", big, s3tPartMiB*s3tMiB-3, s3tPartMiB*s3tMiB+s3tPackage, nil)

		// minio-go copy SSE-C -> SSE-KMS, as `mc cp` does.
		sse, _ := encrypt.NewSSEKMS("minio-key-1", nil)
		if _, err := e.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "sse", Object: "copy-mc", Encryption: sse},
			minio.CopySrcOptions{Bucket: "sse", Object: "copy-ssec", Encryption: encrypt.SSECopy(ssec.minio(t))}); err != nil {
			t.Fatal(err)
		}
		if _, s, key := s3tHeadSSE(t, e, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("copy-mc")}); s != "aws:kms" || key != "minio-key-1" {
			t.Errorf("minio-go copy SSE-C -> SSE-KMS: SSE %q key %q", s, key)
		}
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("copy-mc")}, body, "")
	})

	t.Run("tampering", func(t *testing.T) {
		body := s3tBody(marker, 3*s3tPackage+100, 9)
		before := s3tFiles(t, filepath.Join(dir, "s3"))
		if _, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("tamper"), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		added := s3tAdded(before, s3tFiles(t, filepath.Join(dir, "s3")))
		if len(added) != 1 {
			t.Fatalf("one PUT added files %v, want exactly one object file", added)
		}
		name := filepath.Join(dir, "s3", added[0])
		stored := mustRead(t, name)
		if want := 3*(s3tPackage+32) + 100 + 32; len(stored) != want {
			t.Fatalf("stored object is %d bytes, want DARE's %d", len(stored), want)
		}
		flip := func(off int) {
			t.Helper()
			b := bytes.Clone(stored)
			b[off] ^= 0x01
			if err := os.WriteFile(name, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		// A byte of package 1 flipped: ranges within package 0 still read, anything that
		// touches package 1 fails, and the full GET never yields altered bytes.
		flip(s3tPackage + 32 + 500)
		s3tCheckRange(t, e, "sse", "tamper", body, 10, 1000, nil)
		_, _, err := s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("tamper"), Range: aws.String(fmt.Sprintf("bytes=%d-%d", s3tPackage+10, s3tPackage+20))})
		s3tWantErr(t, "range GET of a tampered package", err, "XMinioObjectTampered", 500)
		out, got, err := s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("tamper")})
		if err == nil {
			t.Fatal("GET of a tampered object succeeded")
		}
		if out == nil {
			s3tWantErr(t, "GET of a tampered object", err, "XMinioObjectTampered", 500)
		}
		if len(got) > s3tPackage || !bytes.Equal(got, body[:len(got)]) {
			t.Errorf("GET of a tampered object yielded %d bytes that are not the untouched first package", len(got))
		}
		// A byte of the first package or of the header flipped: the GET fails before any data.
		for _, off := range []int{3, 40} {
			flip(off)
			out, got, err = s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("tamper")})
			s3tWantErr(t, fmt.Sprintf("GET with byte %d flipped", off), err, "XMinioObjectTampered", 500)
			if out != nil || len(got) > 0 {
				t.Errorf("GET with byte %d flipped returned %d bytes", off, len(got))
			}
		}
		// Truncated by one package: refused too.
		if err := os.WriteFile(name, stored[:2*(s3tPackage+32)], 0o600); err != nil {
			t.Fatal(err)
		}
		_, got, err = s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("tamper")})
		if err == nil || len(got) == len(body) {
			t.Errorf("GET of a truncated object: %d bytes, err %v", len(got), err)
		}
		if err := os.WriteFile(name, stored, 0o600); err != nil {
			t.Fatal(err)
		}
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("tamper")}, body, s3tMD5(body))
	})

	t.Run("no-plaintext-on-disk", func(t *testing.T) {
		if n := len(s3tKeys(t, e, "sse")); n < 10 {
			t.Fatalf("only %d objects stored; the subtests above failed early", n)
		}
		s3tNoPlaintext(t, dir, marker)
	})
}

// TestS3KMSSealedVault runs a production-like appliance: the vault starts uninitialized, is
// initialized and unsealed with vault/api, then sealed and unsealed again. While the vault
// is sealed the S3 server is not ready, requests that need a key fail with the KMS error and
// store nothing, and objects stay unreadable; after the unseal everything works again.
func TestS3KMSSealedVault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := s3tStart(t, Config{DataDir: dir, S3: S3Config{AccessKey: "s3tadmin", SecretKey: "s3t-secret-key-0123456789", AutoEncrypt: true}})
	ctx := context.Background()
	marker := s3tMarker()
	bkt := aws.String("vault")
	body := s3tBody(marker, 140_000, 11)

	if code := s3tReady(t, e); code != http.StatusServiceUnavailable {
		t.Fatalf("ready with an uninitialized vault = %d, want 503", code)
	}
	s3tMakeBucket(t, e, "vault") // bucket operations need no key
	_, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("early"), Body: bytes.NewReader(body)})
	s3tWantErr(t, "SSE-S3 PUT before the vault is initialized", err, "kms:KeyGenerationFailed", 500)

	vc := s3tVault(t, e.a, "")
	initResp, err := vc.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("vault init: %v", err)
	}
	unseal := func() {
		t.Helper()
		st, err := vc.Sys().Unseal(initResp.Keys[0])
		if err != nil || st.Sealed {
			t.Fatalf("vault unseal: %v, %+v", err, st)
		}
	}
	unseal()
	vc.SetToken(initResp.RootToken)
	if code := s3tReady(t, e); code != http.StatusOK {
		t.Fatalf("ready after init+unseal = %d, want 200", code)
	}
	// The default key does not exist yet: the first SSE-S3 PUT creates it, as MinIO does.
	if out, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("s3"), Body: bytes.NewReader(body)}); err != nil || out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Fatalf("SSE-S3 PUT after unseal: %v", err)
	}
	if _, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("kms"), Body: bytes.NewReader(body), ServerSideEncryption: types.ServerSideEncryptionAwsKms}); err != nil {
		t.Fatalf("SSE-KMS PUT after unseal: %v", err)
	}
	s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("s3")}, body, s3tMD5(body))

	if err := vc.Sys().Seal(); err != nil {
		t.Fatalf("vault seal: %v", err)
	}
	if code := s3tReady(t, e); code != http.StatusServiceUnavailable {
		t.Fatalf("ready with a sealed vault = %d, want 503", code)
	}
	files := s3tFiles(t, filepath.Join(dir, "s3"))
	_, err = e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("sealed"), Body: bytes.NewReader(body)})
	s3tWantErr(t, "SDK SSE-S3 PUT while sealed", err, "kms:KeyGenerationFailed", 500)
	_, err = e.mc1.PutObject(ctx, "vault", "sealed", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()})
	s3tWantErr(t, "minio-go SSE-S3 PUT while sealed", err, "kms:KeyGenerationFailed", 500)
	_, err = e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("sealed"), Body: bytes.NewReader(body), ServerSideEncryption: types.ServerSideEncryptionAwsKms})
	s3tWantErr(t, "SSE-KMS PUT while sealed", err, "kms:KeyGenerationFailed", 500)
	_, err = e.sdk.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bkt, Key: aws.String("sealed")})
	s3tWantErr(t, "CreateMultipartUpload while sealed", err, "kms:KeyGenerationFailed", 500)
	_, err = e.sdk.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bkt, Key: aws.String("sealed"), CopySource: aws.String("vault/s3")})
	s3tWantErr(t, "CopyObject while sealed", err, "", 500)
	status, _, xml := s3tRaw(t, e, http.MethodPut, "/vault/sealed", map[string]string{"X-Amz-Server-Side-Encryption": "AES256"}, body)
	if status != 500 {
		t.Errorf("raw SSE-S3 PUT while sealed: %d", status)
	}
	s3tGolden(t, "kms-sealed-put.xml", xml)
	if keys := s3tKeys(t, e, "vault"); !slices.Equal(keys, []string{"kms", "s3"}) {
		t.Errorf("objects after the refused PUTs: %v, want [kms s3]", keys)
	}
	if ups, err := e.sdk.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: bkt}); err != nil || len(ups.Uploads) != 0 {
		t.Errorf("uploads after a refused CreateMultipartUpload: %v, %v", ups, err)
	}
	if added := s3tAdded(files, s3tFiles(t, filepath.Join(dir, "s3"))); len(added) > 0 {
		t.Errorf("refused requests while sealed stored files under s3/: %v", added)
	}
	for _, key := range []string{"s3", "kms"} {
		out, got, err := s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String(key)})
		s3tWantErr(t, "GET "+key+" while sealed", err, "kms:DecryptionFailed", 500)
		if out != nil || bytes.Contains(got, []byte(marker)) {
			t.Errorf("GET %s while sealed returned data", key)
		}
	}
	status, _, xml = s3tRaw(t, e, http.MethodGet, "/vault/kms", nil, nil)
	if status != 500 {
		t.Errorf("raw GET while sealed: %d", status)
	}
	s3tGolden(t, "kms-sealed-get.xml", xml)
	// SSE-C needs no KMS: it works while the vault is sealed (as in MinIO).
	ssec := s3tNewSSEC()
	if _, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("ssec"), Body: bytes.NewReader(body),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(ssec.keyB64), SSECustomerKeyMD5: aws.String(ssec.keyMD5B64)}); err != nil {
		t.Errorf("SSE-C PUT while sealed: %v", err)
	}

	unseal()
	if code := s3tReady(t, e); code != http.StatusOK {
		t.Fatalf("ready after the second unseal = %d, want 200", code)
	}
	s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("s3")}, body, s3tMD5(body))
	s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("kms")}, body, "")
	if _, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("sealed"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("SSE-S3 PUT after the second unseal: %v", err)
	}
	s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("sealed")}, body, s3tMD5(body))

	// A restart seals the vault again: not ready, nothing readable, until the unseal.
	e = e.restart(e.cfg)
	if code := s3tReady(t, e); code != http.StatusServiceUnavailable {
		t.Fatalf("ready after a restart (vault sealed) = %d, want 503", code)
	}
	_, got, err := s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("s3")})
	s3tWantErr(t, "GET after a restart, vault sealed", err, "kms:DecryptionFailed", 500)
	if len(got) > 0 {
		t.Error("GET after a restart with the vault sealed returned data")
	}
	vc = s3tVault(t, e.a, initResp.RootToken)
	unseal()
	if code := s3tReady(t, e); code != http.StatusOK {
		t.Fatalf("ready after restart + unseal = %d, want 200", code)
	}
	for _, key := range []string{"s3", "kms", "sealed"} {
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String(key)}, body, "")
	}
	s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("ssec"),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(ssec.keyB64), SSECustomerKeyMD5: aws.String(ssec.keyMD5B64)}, body, "")
	s3tNoPlaintext(t, dir, marker)
}

// TestS3KMSCryptoShredding deletes master keys through the KES API (admin identity) and
// checks that the objects sealed under them become unreadable with a clear KMS error, while
// the objects under other keys stay readable.
func TestS3KMSCryptoShredding(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := s3tStart(t, Config{DataDir: dir, Dev: true})
	ctx := context.Background()
	marker := s3tMarker()
	admin := s3tKESClient(t, e.a, dir, "admin")
	if err := admin.CreateKey(ctx, "minio-shred"); err != nil {
		t.Fatal(err)
	}
	s3tMakeBucket(t, e, "shred")
	bkt := aws.String("shred")
	body := s3tBody(marker, 6*s3tMiB, 21)
	kmsPut := func(key, keyID string, multipart bool) {
		t.Helper()
		sse, err := encrypt.NewSSEKMS(keyID, nil)
		if err != nil {
			t.Fatal(err)
		}
		opts := minio.PutObjectOptions{ServerSideEncryption: sse, PartSize: s3tPartMiB * s3tMiB}
		size := int64(len(body))
		if !multipart {
			opts.DisableMultipart = true
		}
		if _, err := e.mc.PutObject(ctx, "shred", key, bytes.NewReader(body), size, opts); err != nil {
			t.Fatalf("PUT %s under %s: %v", key, keyID, err)
		}
	}
	kmsPut("doomed", "minio-shred", false)
	kmsPut("doomed-multi", "minio-shred", true)
	kmsPut("kept", "minio-key-1", false)
	if _, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("auto"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("doomed")}, body, "")

	if err := admin.DeleteKey(ctx, "minio-shred"); err != nil {
		t.Fatalf("KES delete key: %v", err)
	}
	for _, key := range []string{"doomed", "doomed-multi"} {
		out, got, err := s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String(key)})
		s3tWantErr(t, "GET "+key+" after its key was deleted", err, "kms:KeyNotFound", 404)
		if out != nil || len(got) > 0 {
			t.Errorf("GET %s after its key was deleted returned %d bytes", key, len(got))
		}
		_, _, err = s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String(key), Range: aws.String("bytes=100-200")})
		s3tWantErr(t, "range GET "+key+" after its key was deleted", err, "kms:KeyNotFound", 404)
		obj, err := e.mc1.GetObject(ctx, "shred", key, minio.GetObjectOptions{})
		if err == nil {
			var got []byte
			got, err = io.ReadAll(obj)
			if len(got) > 0 {
				t.Errorf("minio-go GET %s after its key was deleted returned %d bytes", key, len(got))
			}
		}
		s3tWantErr(t, "minio-go GET "+key+" after its key was deleted", err, "kms:KeyNotFound", 404)
		_, err = e.sdk.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bkt, Key: aws.String(key + "-copy"), CopySource: aws.String("shred/" + key)})
		s3tWantErr(t, "CopyObject from "+key+" after its key was deleted", err, "kms:KeyNotFound", 404)
	}
	status, _, xml := s3tRaw(t, e, http.MethodGet, "/shred/doomed", nil, nil)
	if status != 404 {
		t.Errorf("raw GET of a shredded object: %d", status)
	}
	s3tGolden(t, "kms-shredded-get.xml", xml)
	// Re-creating a key of the same name does not bring the data back: it is a new key.
	if err := admin.CreateKey(ctx, "minio-shred"); err != nil {
		t.Fatal(err)
	}
	out, got, err := s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("doomed")})
	if err == nil || out != nil || len(got) > 0 {
		t.Errorf("GET under a re-created key of the same name: err %v, %d bytes", err, len(got))
	} else if code, st := s3tErr(err); !strings.HasPrefix(code, "kms:") && code != "XMinioObjectTampered" {
		t.Errorf("GET under a re-created key: %d %s, want a KMS error", st, code)
	}
	s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("kept")}, body, "")

	// Deleting the default key shreds every SSE-S3 object too.
	if err := admin.DeleteKey(ctx, "minio-key-1"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"auto", "kept"} {
		_, got, err := s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String(key)})
		s3tWantErr(t, "GET "+key+" after the default key was deleted", err, "kms:KeyNotFound", 404)
		if len(got) > 0 {
			t.Errorf("GET %s returned data", key)
		}
	}
	s3tNoPlaintext(t, dir, marker)
}

// TestS3KMSRemoteKES points appliance B's object store at appliance A's KES over mTLS
// (MINIO_KMS_KES_* of A's dev env file), as the guide points MinIO at KES. B's own vault is
// never initialized, so every key B uses must come from A.
func TestS3KMSRemoteKES(t *testing.T) {
	t.Parallel()
	dirA, dirB := t.TempDir(), t.TempDir()
	a := s3tStart(t, Config{DataDir: dirA, Dev: true})
	ctx := context.Background()
	marker := s3tMarker()
	env := mustRead(t, EnvFile(dirA))
	cfgB := Config{
		DataDir: dirB,
		S3:      S3Config{AccessKey: "s3tremote", SecretKey: "s3t-remote-secret-0123456789", AutoEncrypt: true, KeyName: envValue(env, "MINIO_KMS_KES_KEY_NAME")},
		KMS: KMSConfig{
			KESEndpoints: []string{envValue(env, "MINIO_KMS_KES_ENDPOINT")},
			KESCertFile:  envValue(env, "MINIO_KMS_KES_CERT_FILE"),
			KESKeyFile:   envValue(env, "MINIO_KMS_KES_KEY_FILE"),
			KESCAPath:    envValue(env, "MINIO_KMS_KES_CAPATH"),
		},
	}
	if cfgB.KMS.KESEndpoints[0] != a.a.URL("kes") || cfgB.S3.KeyName != "minio-key-1" {
		t.Fatalf("A's env file: KES endpoint %q key %q", cfgB.KMS.KESEndpoints[0], cfgB.S3.KeyName)
	}
	b := s3tStart(t, cfgB)
	if b.a.URL("kes") == a.a.URL("kes") {
		t.Fatal("B's own KES listener is A's")
	}
	admin := s3tKESClient(t, a.a, dirA, "admin")
	if err := admin.CreateKey(ctx, "minio-remote"); err != nil {
		t.Fatal(err)
	}

	if code := s3tReady(t, b); code != http.StatusOK {
		t.Errorf("B ready with A's KES up = %d, want 200", code)
	}
	s3tMakeBucket(t, b, "remote")
	bkt := aws.String("remote")
	body := s3tBody(marker, 300_000, 31)
	out, err := b.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("auto"), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("SSE-S3 PUT on B: %v", err)
	}
	if out.ServerSideEncryption != types.ServerSideEncryptionAes256 || aws.ToString(out.ETag) != `"`+s3tMD5(body)+`"` {
		t.Errorf("PUT on B: SSE %q ETag %s", out.ServerSideEncryption, aws.ToString(out.ETag))
	}
	out, err = b.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("kms"), Body: bytes.NewReader(body),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("minio-remote")})
	if err != nil {
		t.Fatalf("SSE-KMS PUT on B under a key that exists only on A: %v", err)
	}
	if aws.ToString(out.SSEKMSKeyId) != "minio-remote" {
		t.Errorf("PUT on B: key id %q", aws.ToString(out.SSEKMSKeyId))
	}
	big := s3tBody(marker, 11*s3tMiB, 32)
	if _, err := b.mc.PutObject(ctx, "remote", "multi", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: s3tPartMiB * s3tMiB}); err != nil {
		t.Fatalf("multipart PUT on B: %v", err)
	}
	s3tMustGet(t, b, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("auto")}, body, s3tMD5(body))
	s3tMustGet(t, b, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("kms")}, body, "")
	s3tMustGet(t, b, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("multi")}, big, "")
	s3tCheckRange(t, b, "remote", "multi", big, s3tPartMiB*s3tMiB-1, s3tPartMiB*s3tMiB, nil)

	// A's policy for the MinIO identity allows minio-* keys only; a missing key is KeyNotFound.
	_, err = b.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("denied"), Body: bytes.NewReader(body),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("other-key")})
	s3tWantErr(t, "SSE-KMS PUT on B under a key A's policy denies", err, "kms:NotAuthorized", 403)
	_, err = b.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("missing"), Body: bytes.NewReader(body),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("minio-absent")})
	s3tWantErr(t, "SSE-KMS PUT on B under a key missing on A", err, "kms:KeyNotFound", 404)
	if keys := s3tKeys(t, b, "remote"); !slices.Equal(keys, []string{"auto", "kms", "multi"}) {
		t.Errorf("objects on B: %v", keys)
	}

	// Deleting the key on A shreds B's object.
	if err := admin.DeleteKey(ctx, "minio-remote"); err != nil {
		t.Fatal(err)
	}
	_, got, err := s3tGet(t, b, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("kms")})
	s3tWantErr(t, "GET on B after A deleted its key", err, "kms:KeyNotFound", 404)
	if len(got) > 0 {
		t.Error("GET on B after A deleted its key returned data")
	}

	// The TLS between B and A is real: a CA directory (MinIO's certs/CAs style) works; a
	// client identity A does not know is refused by A's policy; a CA that did not sign A's
	// certificate fails the handshake.
	variant := func(what string, mod func(*KMSConfig), ready int, code string, status int) {
		t.Helper()
		c := cfgB
		mod(&c.KMS)
		b = b.restart(c)
		if got := s3tReady(t, b); got != ready {
			t.Errorf("%s: B ready = %d, want %d", what, got, ready)
		}
		_, got, err := s3tGet(t, b, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("auto")})
		if code == "" {
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("%s: GET on B: %d bytes, %v", what, len(got), err)
			}
			return
		}
		s3tWantErr(t, what+": GET on B", err, code, status)
		if len(got) > 0 {
			t.Errorf("%s: GET on B returned data", what)
		}
	}
	variant("CA directory", func(k *KMSConfig) { k.KESCAPath = filepath.Dir(k.KESCAPath) }, http.StatusOK, "", 0)
	variant("identity unknown to A", func(k *KMSConfig) {
		k.KESCertFile, k.KESKeyFile = filepath.Join(dirB, "certs", "admin.crt"), filepath.Join(dirB, "certs", "admin.key")
	}, http.StatusServiceUnavailable, "kms:NotAuthorized", 403)
	variant("wrong CA", func(k *KMSConfig) { k.KESCAPath = filepath.Join(dirB, "certs", "ca.crt") }, http.StatusServiceUnavailable, "kms:DecryptionFailed", 500)
	b = b.restart(cfgB)

	// A gone: B is not ready and cannot encrypt or decrypt, and stores nothing.
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	if code := s3tReady(t, b); code != http.StatusServiceUnavailable {
		t.Errorf("B ready with A's KES down = %d, want 503", code)
	}
	_, got, err = s3tGet(t, b, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("auto")})
	s3tWantErr(t, "GET on B with A down", err, "kms:DecryptionFailed", 500)
	if len(got) > 0 {
		t.Error("GET on B with A down returned data")
	}
	_, err = b.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("down"), Body: bytes.NewReader(body)})
	s3tWantErr(t, "PUT on B with A down", err, "kms:KeyGenerationFailed", 500)
	if keys := s3tKeys(t, b, "remote"); !slices.Equal(keys, []string{"auto", "kms", "multi"}) {
		t.Errorf("objects on B after refused PUTs: %v", keys)
	}

	// A back on the same data dir and KES address: B reads again.
	aCfg := a.cfg
	aCfg.KESAddr = a.a.Addr("kes")
	aCfg.VaultAddr, aCfg.S3Addr = "127.0.0.1:0", "127.0.0.1:0"
	s3tStart(t, aCfg)
	s3tMustGet(t, b, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("auto")}, body, s3tMD5(body))
	s3tMustGet(t, b, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("multi")}, big, "")
	s3tNoPlaintext(t, dirB, marker)
}

// TestS3KMSOwnKESEndpoint configures MINIO_KMS_KES_ENDPOINT as the appliance's own KES
// listener, without any client certificate: kmsbox uses its in-process key server (a TLS
// round trip to its own KES would be refused for want of a client certificate).
func TestS3KMSOwnKESEndpoint(t *testing.T) {
	t.Parallel()
	for _, form := range []string{"https://127.0.0.1:%s", "localhost:%s"} {
		t.Run(strings.SplitN(form, ":", 2)[0], func(t *testing.T) {
			dir := t.TempDir()
			kesAddr := testutil.FreeAddr(t)
			_, port, _ := net.SplitHostPort(kesAddr)
			e := s3tStart(t, Config{DataDir: dir, Dev: true, VaultAddr: "127.0.0.1:0", S3Addr: "127.0.0.1:0", KESAddr: kesAddr,
				KMS: KMSConfig{KESEndpoints: []string{fmt.Sprintf(form, port)}}})
			ctx := context.Background()
			// Without a client certificate the KES listener refuses us.
			if _, err := e.hc.Get(e.a.URL("kes") + "/v1/status"); err == nil {
				t.Fatal("the KES listener answered a client without a certificate")
			}
			if code := s3tReady(t, e); code != http.StatusOK {
				t.Fatalf("ready = %d, want 200", code)
			}
			s3tMakeBucket(t, e, "own")
			body := s3tBody(s3tMarker(), 80_000, 41)
			out, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("own"), Key: aws.String("o"), Body: bytes.NewReader(body)})
			if err != nil || out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
				t.Fatalf("SSE-S3 PUT with KES endpoint = own listener: %v", err)
			}
			s3tMustGet(t, e, &s3.GetObjectInput{Bucket: aws.String("own"), Key: aws.String("o")}, body, s3tMD5(body))
		})
	}
}

// TestS3KMSStaticKey runs the object store on the guide's appendix B single key, in both
// spellings (MINIO_KMS_SECRET_KEY base64, the older MINIO_KMS_MASTER_KEY hex), across
// restarts, and with the wrong key after a restart.
func TestS3KMSStaticKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	raw := make([]byte, 32)
	rand.Read(raw)
	other := make([]byte, 32)
	rand.Read(other)
	cfg := func(spec string) Config {
		return Config{DataDir: dir, S3: S3Config{AccessKey: "s3tstatic", SecretKey: "s3t-static-secret-0123456789", AutoEncrypt: true},
			KMS: KMSConfig{StaticKey: spec}}
	}
	b64 := "my-key:" + base64.StdEncoding.EncodeToString(raw)
	ctx := context.Background()
	marker := s3tMarker()
	body := s3tBody(marker, 100_000, 51)
	big := s3tBody(marker, 11*s3tMiB, 52)
	bkt := aws.String("static")

	e := s3tStart(t, cfg(b64))
	if code := s3tReady(t, e); code != http.StatusOK {
		t.Fatalf("ready with a static key = %d", code)
	}
	s3tMakeBucket(t, e, "static")
	out, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("auto"), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("auto-encrypted PUT with static key %q: %v", "my-key", err)
	}
	if out.ServerSideEncryption != types.ServerSideEncryptionAes256 || aws.ToString(out.ETag) != `"`+s3tMD5(body)+`"` {
		t.Errorf("PUT: SSE %q ETag %s", out.ServerSideEncryption, aws.ToString(out.ETag))
	}
	out, err = e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("kms"), Body: bytes.NewReader(body),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("my-key")})
	if err != nil || aws.ToString(out.SSEKMSKeyId) != "my-key" {
		t.Fatalf("SSE-KMS PUT under the static key: %v", err)
	}
	_, err = e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("nokey"), Body: bytes.NewReader(body),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("minio-key-1")})
	s3tWantErr(t, "SSE-KMS PUT under a key that is not the static key", err, "kms:KeyNotFound", 404)
	if _, err := e.mc.PutObject(ctx, "static", "multi", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: s3tPartMiB * s3tMiB}); err != nil {
		t.Fatal(err)
	}
	check := func(e *s3tEnv) {
		t.Helper()
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("auto")}, body, s3tMD5(body))
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("kms")}, body, "")
		s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("multi")}, big, "")
		s3tCheckRange(t, e, "static", "multi", big, s3tPartMiB*s3tMiB-1, s3tPartMiB*s3tMiB+1, nil)
	}
	check(e)

	// The same key in the old hex spelling, after a restart.
	e = e.restart(cfg("my-key:" + hex.EncodeToString(raw)))
	check(e)
	// Again the base64 spelling.
	e = e.restart(cfg(b64))
	check(e)

	// A different key of the same name: the data keys do not decrypt.
	e = e.restart(cfg("my-key:" + base64.StdEncoding.EncodeToString(other)))
	for _, key := range []string{"auto", "kms", "multi"} {
		_, got, err := s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String(key)})
		s3tWantErr(t, "GET "+key+" with another static key", err, "kms:InvalidCiphertextException", 400)
		if len(got) > 0 {
			t.Errorf("GET %s with another static key returned data", key)
		}
	}
	status, _, xml := s3tRaw(t, e, http.MethodGet, "/static/auto", nil, nil)
	if status != 400 {
		t.Errorf("raw GET with another static key: %d", status)
	}
	s3tGolden(t, "kms-static-wrong-key.xml", xml)
	// A key of another name: the objects' key does not exist.
	e = e.restart(cfg("new-key:" + base64.StdEncoding.EncodeToString(raw)))
	_, _, err = s3tGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("auto")})
	s3tWantErr(t, "GET with a static key of another name", err, "kms:KeyNotFound", 404)
	s3tNoPlaintext(t, dir, marker)
}

// s3tObject is an object written in one SSE mode, with what a later read must see.
type s3tObject struct {
	key    string
	body   []byte
	etag   string // as PUT/Complete answered it
	sse    string // x-amz-server-side-encryption
	keyID  string // x-amz-server-side-encryption-aws-kms-key-id
	ssec   *s3tSSEC
	partSz int // 0 = single part
}

// TestS3KMSRestartPersistence writes objects in every SSE mode, single-part and multipart,
// stops the dev appliance and starts it again on the same data dir: every object reads back
// with its body, ETag and encryption headers, ranges included.
func TestS3KMSRestartPersistence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Dev: true}
	e := s3tStart(t, cfg)
	ctx := context.Background()
	marker := s3tMarker()
	admin := s3tKESClient(t, e.a, dir, "admin")
	if err := admin.CreateKey(ctx, "minio-persist"); err != nil {
		t.Fatal(err)
	}
	s3tMakeBucket(t, e, "persist")
	s3tMakeBucket(t, e, "persist-dflt")
	if _, err := e.sdk.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String("persist-dflt"),
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{
			SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("minio-persist")}}}}}); err != nil {
		t.Fatal(err)
	}
	ssec := s3tNewSSEC()
	kmsCtx := base64.StdEncoding.EncodeToString([]byte(`{"restart":"yes"}`))

	var objs []*s3tObject
	put := func(bucket string, o *s3tObject, in *s3.PutObjectInput) {
		t.Helper()
		in.Bucket, in.Key, in.Body = aws.String(bucket), aws.String(o.key), bytes.NewReader(o.body)
		out, err := e.sdk.PutObject(ctx, in)
		if err != nil {
			t.Fatalf("PUT %s: %v", o.key, err)
		}
		o.etag = strings.Trim(aws.ToString(out.ETag), `"`)
		objs = append(objs, o)
	}
	small := func(seed uint64) []byte { return s3tBody(marker, 150_000+int(seed), seed) }
	put("persist", &s3tObject{key: "auto", body: small(61), sse: "AES256"}, &s3.PutObjectInput{})
	put("persist", &s3tObject{key: "sse-s3", body: small(62), sse: "AES256"}, &s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAes256})
	put("persist", &s3tObject{key: "sse-kms", body: small(63), sse: "aws:kms", keyID: "minio-key-1"}, &s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAwsKms})
	put("persist", &s3tObject{key: "sse-kms-ctx", body: small(64), sse: "aws:kms", keyID: "minio-persist"},
		&s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("minio-persist"), SSEKMSEncryptionContext: aws.String(kmsCtx)})
	put("persist", &s3tObject{key: "sse-c", body: small(65), ssec: &ssec},
		&s3.PutObjectInput{SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(ssec.keyB64), SSECustomerKeyMD5: aws.String(ssec.keyMD5B64)})
	put("persist-dflt", &s3tObject{key: "dflt", body: small(66), sse: "aws:kms", keyID: "minio-persist"}, &s3.PutObjectInput{})

	// Multipart (minio-go, 5 MiB parts) in each mode.
	kmsSSE, _ := encrypt.NewSSEKMS("minio-persist", map[string]string{"multi": "part"})
	for i, m := range []struct {
		o   *s3tObject
		enc encrypt.ServerSide
	}{
		{&s3tObject{key: "multi-s3", sse: "AES256"}, encrypt.NewSSE()},
		{&s3tObject{key: "multi-kms", sse: "aws:kms", keyID: "minio-persist"}, kmsSSE},
		{&s3tObject{key: "multi-c", ssec: &ssec}, ssec.minio(t)},
	} {
		m.o.body, m.o.partSz = s3tBody(marker, 11*s3tMiB+4321, uint64(70+i)), s3tPartMiB*s3tMiB
		info, err := e.mc.PutObject(ctx, "persist", m.o.key, bytes.NewReader(m.o.body), int64(len(m.o.body)),
			minio.PutObjectOptions{ServerSideEncryption: m.enc, PartSize: uint64(m.o.partSz)})
		if err != nil {
			t.Fatalf("multipart PUT %s: %v", m.o.key, err)
		}
		m.o.etag = info.ETag
		if !strings.HasSuffix(m.o.etag, "-3") {
			t.Errorf("multipart %s ETag %q, want a 3-part ETag", m.o.key, m.o.etag)
		}
		objs = append(objs, m.o)
	}
	if o := objs[len(objs)-3]; o.etag != s3tMultipartETag(s3tSplit(o.body, o.partSz)) {
		t.Errorf("multipart SSE-S3 ETag %q, want %q", o.etag, s3tMultipartETag(s3tSplit(o.body, o.partSz)))
	}

	check := func(e *s3tEnv, when string) {
		t.Helper()
		for _, o := range objs {
			bucket := "persist"
			if o.key == "dflt" {
				bucket = "persist-dflt"
			}
			head := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.key)}
			get := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.key)}
			if o.ssec != nil {
				head.SSECustomerAlgorithm, head.SSECustomerKey, head.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(o.ssec.keyB64), aws.String(o.ssec.keyMD5B64)
				get.SSECustomerAlgorithm, get.SSECustomerKey, get.SSECustomerKeyMD5 = head.SSECustomerAlgorithm, head.SSECustomerKey, head.SSECustomerKeyMD5
			}
			h, sse, keyID := s3tHeadSSE(t, e, head)
			if sse != o.sse || keyID != o.keyID || aws.ToString(h.ETag) != `"`+o.etag+`"` || aws.ToInt64(h.ContentLength) != int64(len(o.body)) {
				t.Errorf("%s: HEAD %s: SSE %q key %q ETag %s length %d; want %q %q %q %d", when, o.key, sse, keyID, aws.ToString(h.ETag), aws.ToInt64(h.ContentLength), o.sse, o.keyID, o.etag, len(o.body))
			}
			if o.ssec != nil && aws.ToString(h.SSECustomerKeyMD5) != o.ssec.keyMD5B64 {
				t.Errorf("%s: HEAD %s: SSE-C key MD5 %q", when, o.key, aws.ToString(h.SSECustomerKeyMD5))
			}
			s3tMustGet(t, e, get, o.body, o.etag)
			if o.partSz > 0 {
				s3tCheckRange(t, e, bucket, o.key, o.body, o.partSz-1, o.partSz+s3tPackage, o.ssec)
			} else {
				s3tCheckRange(t, e, bucket, o.key, o.body, s3tPackage-1, s3tPackage, o.ssec)
			}
		}
		status, h, _ := s3tRaw(t, e, http.MethodHead, "/persist/sse-kms-ctx", nil, nil)
		if status != 200 || h.Get("X-Amz-Server-Side-Encryption-Context") != kmsCtx {
			t.Errorf("%s: HEAD sse-kms-ctx: %d, context %q", when, status, h.Get("X-Amz-Server-Side-Encryption-Context"))
		}
		conf, err := e.sdk.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("persist-dflt")})
		if err != nil || aws.ToString(conf.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != "minio-persist" {
			t.Errorf("%s: bucket encryption: %v", when, err)
		}
	}
	check(e, "before restart")
	e = e.restart(cfg)
	check(e, "after restart")
	// New writes after the restart use the same keys.
	out, err := e.sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("persist-dflt"), Key: aws.String("after"), Body: bytes.NewReader(objs[0].body)})
	if err != nil || aws.ToString(out.SSEKMSKeyId) != "minio-persist" {
		t.Fatalf("PUT after restart: %v", err)
	}
	s3tNoPlaintext(t, dir, marker)
}
