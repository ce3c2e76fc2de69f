package s3lite

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/sse"
)

func getAll(t *testing.T, e *env, b, k string, o minio.GetObjectOptions) ([]byte, error) {
	t.Helper()
	obj, err := e.mc.GetObject(context.Background(), b, k, o)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

func TestSSECRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("ssec")
	key, _ := encrypt.NewSSEC(ssecKey)
	other, _ := encrypt.NewSSEC(bytes.Repeat([]byte{8}, 32))
	data := randBytes(70000)
	if _, err := e.mc.PutObject(ctx, b, "o", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ServerSideEncryption: key}); err != nil {
		t.Fatal(err)
	}
	if _, err := getAll(t, e, b, "o", minio.GetObjectOptions{}); s3Code(err) != "InvalidRequest" {
		t.Errorf("no key: %v", err)
	}
	if _, err := getAll(t, e, b, "o", minio.GetObjectOptions{ServerSideEncryption: other}); s3Code(err) != "AccessDenied" {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := e.mc.StatObject(ctx, b, "o", minio.StatObjectOptions{ServerSideEncryption: other}); err == nil {
		t.Errorf("stat with wrong key succeeded")
	}
	st, err := e.mc.StatObject(ctx, b, "o", minio.StatObjectOptions{ServerSideEncryption: key})
	if err != nil || st.Metadata.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") != "AES256" || st.Metadata.Get("X-Amz-Server-Side-Encryption-Customer-Key-Md5") == "" {
		t.Errorf("stat: %v %v", err, st.Metadata)
	}
	// SSE-C headers on a plain object, SSE-C combined with SSE-S3, bad MD5.
	if _, err := e.mc.PutObject(ctx, b, "plain", bytes.NewReader([]byte("p")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := getAll(t, e, b, "plain", minio.GetObjectOptions{ServerSideEncryption: key}); s3Code(err) != "InvalidRequest" {
		t.Errorf("ssec on plain: %v", err)
	}
	sum := "AAAAAAAAAAAAAAAAAAAAAA=="
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("x"), Body: bytes.NewReader([]byte("x")),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(b64(ssecKey)), SSECustomerKeyMD5: aws.String(sum)})
	if s3Code(err) != "InvalidArgument" {
		t.Errorf("bad key md5: %v", err)
	}
	a, k, m := ssecHeaders()
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("x"), Body: bytes.NewReader([]byte("x")),
		SSECustomerAlgorithm: a, SSECustomerKey: k, SSECustomerKeyMD5: m, ServerSideEncryption: types.ServerSideEncryptionAes256})
	if s3Code(err) != "InvalidArgument" {
		t.Errorf("ssec + sse-s3: %v", err)
	}
	// SSE-C needs no KMS: it works while the KMS is down.
	e.kms.down.Store(true)
	got, err := getAll(t, e, b, "o", minio.GetObjectOptions{ServerSideEncryption: key})
	e.kms.down.Store(false)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("ssec get with KMS down: %v", err)
	}
}

func TestSSEKMSHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("ssekms")
	put, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: bytes.NewReader([]byte("hello")),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("arn:aws:kms:" + testKeyID),
		SSEKMSEncryptionContext: aws.String(base64.StdEncoding.EncodeToString([]byte(`{"team":"blue"}`)))})
	if err != nil {
		t.Fatal(err)
	}
	if put.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(put.SSEKMSKeyId) != "arn:aws:kms:"+testKeyID {
		t.Errorf("put: %q %q", put.ServerSideEncryption, aws.ToString(put.SSEKMSKeyId))
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || aws.ToString(head.SSEKMSKeyId) != "arn:aws:kms:"+testKeyID {
		t.Errorf("head: %v %+v", err, head)
	}
	if head.BucketKeyEnabled != nil {
		t.Errorf("bucket key header sent")
	}
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k2"), Body: bytes.NewReader([]byte("x")),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("no-such-key")})
	if s3Code(err) != "kms:KeyNotFound" {
		t.Errorf("unknown key: %v", err)
	}
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k3"), Body: bytes.NewReader([]byte("x")),
		SSEKMSKeyId: aws.String(testKeyID)})
	if s3Code(err) != "InvalidArgument" {
		t.Errorf("key id without aws:kms: %v", err)
	}
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k4"), Body: bytes.NewReader([]byte("x")),
		ServerSideEncryption: "aws:bogus"})
	if s3Code(err) != "InvalidArgument" {
		t.Errorf("bad algorithm: %v", err)
	}
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")}, func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, addHeader("X-Amz-Server-Side-Encryption", "AES256"))
	})
	if s3Code(err) != "InvalidRequest" {
		t.Errorf("sse header on GET: %v", err)
	}
	if n := countKeysNotFound(t, e); n != 1 {
		t.Errorf("%d objects", n)
	}
}

func countKeysNotFound(t *testing.T, e *env) int {
	n := 0
	bs, _ := e.srv.st.listBuckets(context.Background())
	for _, b := range bs {
		_ = e.srv.st.scanObjects(context.Background(), b.Name, "", "", func(*objectMeta) bool { n++; return true })
	}
	return n
}

func TestBucketEncryption(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("bucketsse")
	if _, err := e.mc.GetBucketEncryption(ctx, b); s3Code(err) != "ServerSideEncryptionConfigurationNotFoundError" {
		t.Errorf("get unset: %v", err)
	}
	if err := e.mc.SetBucketEncryption(ctx, b, sse.NewConfigurationSSES3()); err != nil {
		t.Fatal(err)
	}
	cfg, err := e.mc.GetBucketEncryption(ctx, b)
	if err != nil || cfg.Rules[0].Apply.SSEAlgorithm != "AES256" {
		t.Fatalf("get: %v %+v", err, cfg)
	}
	if _, err := e.mc.PutObject(ctx, b, "s3", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	st, _ := e.mc.StatObject(ctx, b, "s3", minio.StatObjectOptions{})
	if st.Metadata.Get("X-Amz-Server-Side-Encryption") != "AES256" {
		t.Errorf("default SSE-S3 not applied: %v", st.Metadata)
	}
	if err := e.mc.SetBucketEncryption(ctx, b, sse.NewConfigurationSSEKMS(testKeyID)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mc.PutObject(ctx, b, "kms", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	st, _ = e.mc.StatObject(ctx, b, "kms", minio.StatObjectOptions{})
	if st.Metadata.Get("X-Amz-Server-Side-Encryption") != "aws:kms" {
		t.Errorf("default SSE-KMS not applied: %v", st.Metadata)
	}
	// Request headers win over the bucket default.
	ck, _ := encrypt.NewSSEC(ssecKey)
	if _, err := e.mc.PutObject(ctx, b, "c", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{ServerSideEncryption: ck}); err != nil {
		t.Fatal(err)
	}
	if _, err := getAll(t, e, b, "c", minio.GetObjectOptions{}); s3Code(err) != "InvalidRequest" {
		t.Errorf("ssec object readable without key: %v", err)
	}
	if err := e.mc.SetBucketEncryption(ctx, b, sse.NewConfigurationSSEKMS("unknown-key")); s3Code(err) != "kms:KeyNotFound" {
		t.Errorf("unknown key: %v", err)
	}
	bad := `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>DES</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`
	_, err = e.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(b), ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
		Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: "DES"}}}}})
	if s3Code(err) != "MalformedXML" {
		t.Errorf("bad algorithm (%s): %v", bad, err)
	}
	if err := e.mc.RemoveBucketEncryption(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mc.GetBucketEncryption(ctx, b); s3Code(err) != "ServerSideEncryptionConfigurationNotFoundError" {
		t.Errorf("get after delete: %v", err)
	}
}

func TestAutoEncryption(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AutoEncrypt = true })
	ctx := context.Background()
	b := e.bucket("auto")
	data := []byte("secret plaintext that must not be on disk")
	info, err := e.mc.PutObject(ctx, b, "o", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.mc.StatObject(ctx, b, "o", minio.StatObjectOptions{})
	if err != nil || st.Metadata.Get("X-Amz-Server-Side-Encryption") != "AES256" || st.ETag != info.ETag {
		t.Errorf("stat: %v %v", err, st.Metadata)
	}
	if st.Metadata.Get("X-Amz-Server-Side-Encryption-Bucket-Key-Enabled") != "" {
		t.Errorf("bucket-key header on SSE-S3")
	}
	if onDisk(t, e, data) {
		t.Errorf("plaintext found on disk")
	}
	// Listing needs no KMS call per object.
	before := e.kms.calls.Load()
	for o := range e.mc.ListObjects(ctx, b, minio.ListObjectsOptions{}) {
		if o.ETag != info.ETag {
			t.Errorf("list ETag %q, want %q", o.ETag, info.ETag)
		}
	}
	if e.kms.calls.Load() != before {
		t.Errorf("listing called the KMS")
	}
}

// onDisk reports whether data appears in any file under the data dir.
func onDisk(t *testing.T, e *env, data []byte) bool {
	found := false
	_ = filepath.WalkDir(e.cfg.Dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			found = found || bytes.Contains(b, data)
		}
		return nil
	})
	return found
}

func TestKMSUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("kmsdown")
	if _, err := e.mc.PutObject(ctx, b, "before", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}); err != nil {
		t.Fatal(err)
	}
	resp, err := e.ts.Client().Get(e.ts.URL + "/minio/health/ready")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ready: %v %v", err, resp)
	}
	resp.Body.Close()
	e.kms.down.Store(true)
	resp, _ = e.ts.Client().Get(e.ts.URL + "/minio/health/ready")
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("ready with KMS down: %d", resp.StatusCode)
	}
	live, _ := e.ts.Client().Get(e.ts.URL + "/minio/health/live")
	live.Body.Close()
	if live.StatusCode != 200 {
		t.Errorf("live: %d", live.StatusCode)
	}
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("during"), Body: bytes.NewReader([]byte("x")), ServerSideEncryption: types.ServerSideEncryptionAes256})
	if s3Code(err) != "kms:KeyGenerationFailed" {
		t.Errorf("put with KMS down: %v", err)
	}
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("before")})
	if s3Code(err) != "kms:DecryptionFailed" {
		t.Errorf("get with KMS down: %v", err)
	}
	e.kms.down.Store(false)
	if _, err := e.mc.StatObject(ctx, b, "during", minio.StatObjectOptions{}); s3Code(err) != "NoSuchKey" {
		t.Errorf("failed PUT left an object: %v", err)
	}
	if n := countDataFiles(t, e); n != 1 {
		t.Errorf("%d body files, want 1", n)
	}
}

func TestNoKMSConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.KMS = nil })
	ctx := context.Background()
	b := e.bucket("nokms")
	_, err := e.mc.PutObject(ctx, b, "o", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()})
	if s3Code(err) != "NotImplemented" {
		t.Errorf("SSE-S3 without KMS: %v", err)
	}
	ck, _ := encrypt.NewSSEC(ssecKey)
	if _, err := e.mc.PutObject(ctx, b, "c", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{ServerSideEncryption: ck}); err != nil {
		t.Errorf("SSE-C without KMS: %v", err)
	}
	if err := e.mc.SetBucketEncryption(ctx, b, sse.NewConfigurationSSES3()); s3Code(err) != "NotImplemented" {
		t.Errorf("bucket encryption without KMS: %v", err)
	}
}

func TestCryptoShredding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("shred")
	if _, err := e.mc.PutObject(ctx, b, "o", bytes.NewReader([]byte("gone")), 4, minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}); err != nil {
		t.Fatal(err)
	}
	// The master key is deleted: the KMS no longer knows it.
	e.kms.testKMS = newTestKMS("other-key", randBytes(32))
	e.restart()
	_, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("o")})
	if s3Code(err) != "kms:KeyNotFound" {
		t.Errorf("get after key deletion: %v", err)
	}
	// Same name, different key material: the sealed data key does not open.
	e.kms.testKMS = newTestKMS(testKeyID, randBytes(32))
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("o")})
	if s3Code(err) != "kms:InvalidCiphertextException" {
		t.Errorf("get with replaced key: %v", err)
	}
}

func TestTampering(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("tamper")
	data := randBytes(3 * 65536)
	for _, pos := range []int{0, 20, 65568 + 100, 2*65568 + 65567} {
		k := "o"
		if _, err := e.mc.PutObject(ctx, b, k, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}); err != nil {
			t.Fatal(err)
		}
		m, _ := e.srv.st.getObject(context.Background(), b, k)
		path := filepath.Join(e.cfg.Dir, "data", filepath.FromSlash(m.Parts[0].File))
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		raw[pos] ^= 1
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err == nil {
			got, rerr := io.ReadAll(out.Body)
			out.Body.Close()
			if rerr == nil {
				t.Errorf("pos %d: GET of tampered object succeeded (%d bytes, equal=%v)", pos, len(got), bytes.Equal(got, data))
			} else if bytes.Contains(data, got[max(0, len(got)-100):]) == false {
				t.Errorf("pos %d: altered data returned", pos)
			}
			continue
		}
		if pos < 65568 && s3Code(err) != "XMinioObjectTampered" {
			t.Errorf("pos %d: %v", pos, err)
		}
		if !strings.Contains(err.Error(), "500") {
			t.Errorf("pos %d: status %v", pos, err)
		}
	}
}

// addHeader is an aws-sdk-go-v2 API option adding a raw request header.
func addHeader(k, v string) func(*middlewareStack) error {
	return func(s *middlewareStack) error { return addHeaderMiddleware(s, k, v) }
}

// TestSSEKMSInvalidKeyID sends key ids that break KES's name rules, in the SSE-KMS headers and
// in a bucket's default encryption: 400 InvalidRequest with MinIO's message, no KMS call,
// nothing stored. A name at the rules' limit reaches the KMS.
func TestSSEKMSInvalidKeyID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("badkeyid")
	const msg = "The specified KMS KeyID contains unsupported characters"
	for _, id := range []string{"../../sys/seal", "arn:aws:kms:../../sys/seal", "kes/minio-key-1", "a.b", "-key", "key-", "_", "k\u00e9y", strings.Repeat("k", 81)} {
		calls := e.kms.calls.Load()
		kms, err := encrypt.NewSSEKMS(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.mc.PutObject(ctx, b, "o", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{ServerSideEncryption: kms})
		if r := minio.ToErrorResponse(err); r.StatusCode != http.StatusBadRequest || r.Code != "InvalidRequest" || r.Message != msg {
			t.Errorf("PUT with key id %q: %d %s %q, want 400 InvalidRequest %q", id, r.StatusCode, r.Code, r.Message, msg)
		}
		err = e.mc.SetBucketEncryption(ctx, b, sse.NewConfigurationSSEKMS(id))
		if r := minio.ToErrorResponse(err); r.StatusCode != http.StatusBadRequest || r.Code != "InvalidRequest" || r.Message != msg {
			t.Errorf("bucket default key id %q: %d %s %q, want 400 InvalidRequest %q", id, r.StatusCode, r.Code, r.Message, msg)
		}
		if n := e.kms.calls.Load() - calls; n != 0 {
			t.Errorf("key id %q: %d KMS calls, want none", id, n)
		}
	}
	if n := countKeysNotFound(t, e); n != 0 {
		t.Errorf("%d objects stored", n)
	}
	kms, _ := encrypt.NewSSEKMS(strings.Repeat("k", 80), nil)
	_, err := e.mc.PutObject(ctx, b, "o", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{ServerSideEncryption: kms})
	if s3Code(err) != "kms:KeyNotFound" {
		t.Errorf("80-character key id: %v, want kms:KeyNotFound from the KMS", err)
	}
}
