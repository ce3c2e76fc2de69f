package s3lite

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// kmsOp is one S3 call that needs the KMS, named for the error message.
type kmsOp struct {
	name string
	call func() error
}

// faultKMS wraps the test's real KMS and makes GenerateKey or Decrypt fail
// with a chosen error while one is set; everything else is the real KMS.
type faultKMS struct {
	KMS
	gen, dec atomic.Pointer[error]
	genCalls atomic.Int64
	decCalls atomic.Int64
}

func (k *faultKMS) GenerateKey(ctx context.Context, id string, c []byte) (DEK, error) {
	k.genCalls.Add(1)
	if p := k.gen.Load(); p != nil {
		return DEK{}, *p
	}
	return k.KMS.GenerateKey(ctx, id, c)
}

func (k *faultKMS) Decrypt(ctx context.Context, id string, ct, c []byte) ([]byte, error) {
	k.decCalls.Add(1)
	if p := k.dec.Load(); p != nil {
		return nil, *p
	}
	return k.KMS.Decrypt(ctx, id, ct, c)
}

// withFaultKMS puts a faultKMS in front of the environment's KMS.
func withFaultKMS(f *faultKMS) envOption {
	return func(c *Config) {
		f.KMS = c.KMS
		c.KMS = f
	}
}

// apiStatus returns the S3 code and HTTP status of an aws-sdk error.
func apiStatus(err error) (string, int) {
	var se interface{ HTTPStatusCode() int }
	if !errors.As(err, &se) {
		return s3Code(err), 0
	}
	return s3Code(err), se.HTTPStatusCode()
}

// tmpEntries counts the files in <Dir>/tmp.
func tmpEntries(t *testing.T, e *env) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.cfg.Dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// readAWS reads bucket/key with the AWS SDK.
func readAWS(ctx context.Context, e *env, b, k string) ([]byte, error) {
	out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// TestKMSFailures makes the KMS fail GenerateKey or Decrypt with each of
// the KMS sentinels (wrapped, as a KES client would) and checks every
// operation that needs the KMS answers the spec's S3 KMS error (minio-kms.md
// section 4), stores nothing, and that existing objects read back whole once
// the KMS works again.
func TestKMSFailures(t *testing.T) {
	t.Parallel()
	f := &faultKMS{}
	e := newEnv(t, withFaultKMS(f))
	ctx := context.Background()
	b := e.bucket("kmsfail")
	dflt := e.bucket("kmsfail-default")
	if _, err := e.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(dflt), ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
		Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{
			SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(testKeyID)}}}}}); err != nil {
		t.Fatal(err)
	}
	kmsCtx := base64.StdEncoding.EncodeToString([]byte(`{"project":"kmsbox"}`))
	objects := map[string][]byte{"plain": randBytes(70000), "s3": randBytes(70000), "kms": randBytes(70000)}
	for k, data := range objects {
		in := withSSE(&s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: bytes.NewReader(data)}, k, kmsCtx) // the key names the encryption
		if _, err := e.s3.PutObject(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), ServerSideEncryption: types.ServerSideEncryptionAwsKms})
	if err != nil {
		t.Fatal(err)
	}
	files := countDataFiles(t, e)

	// Operations that make a new data key (GenerateKey) and those that
	// open a stored one (Decrypt). Each must fail without a trace.
	newKey := []kmsOp{
		{"put/sse-s3", func() error {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("new-s3"), Body: bytes.NewReader(randBytes(1000)),
				ServerSideEncryption: types.ServerSideEncryptionAes256})
			return err
		}},
		{"put/sse-kms", func() error {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("new-kms"), Body: bytes.NewReader(randBytes(1000)),
				ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(testKeyID), SSEKMSEncryptionContext: aws.String(kmsCtx)})
			return err
		}},
		{"put/bucket-default-kms", func() error {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(dflt), Key: aws.String("new-default"), Body: bytes.NewReader(randBytes(1000))})
			return err
		}},
		{"copy/plain-to-sse-s3", func() error {
			_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("new-copy"), CopySource: aws.String(b + "/plain"),
				ServerSideEncryption: types.ServerSideEncryptionAes256})
			return err
		}},
		{"create-multipart/sse-kms", func() error {
			_, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("new-mp"),
				ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(testKeyID)})
			return err
		}},
		{"create-multipart/sse-s3", func() error {
			_, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("new-mp"),
				ServerSideEncryption: types.ServerSideEncryptionAes256})
			return err
		}},
	}
	openKey := []kmsOp{
		{"get/sse-s3", func() error { _, err := readAWS(ctx, e, b, "s3"); return err }},
		{"get/sse-kms", func() error { _, err := readAWS(ctx, e, b, "kms"); return err }},
		{"get/sse-kms-range", func() error {
			_, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("kms"), Range: aws.String("bytes=66000-66100")})
			return err
		}},
		{"copy/sse-s3-to-plain", func() error {
			_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("new-copy"), CopySource: aws.String(b + "/s3")})
			return err
		}},
		{"copy/sse-kms-to-sse-kms", func() error {
			_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("new-copy"), CopySource: aws.String(b + "/kms"),
				ServerSideEncryption: types.ServerSideEncryptionAwsKms})
			return err
		}},
		{"upload-part", func() error {
			_, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1),
				Body: bytes.NewReader(randBytes(1000))})
			return err
		}},
		{"upload-part-copy/plain-source", func() error {
			_, err := e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(2),
				CopySource: aws.String(b + "/plain")})
			return err
		}},
	}
	for _, tc := range []struct {
		name           string
		err            error
		code, dataCode string // code when GenerateKey / Decrypt fails
		status         int
	}{
		{"key-not-found", ErrKMSKeyNotFound, "kms:KeyNotFound", "kms:KeyNotFound", 404},
		{"not-authorized", ErrKMSNotAuthorized, "kms:NotAuthorized", "kms:NotAuthorized", 403},
		{"invalid-ciphertext", ErrKMSInvalidCiphertext, "kms:InvalidCiphertextException", "kms:InvalidCiphertextException", 400},
		{"unavailable", ErrKMSUnavailable, "kms:KeyGenerationFailed", "kms:DecryptionFailed", 500},
		{"unknown", errors.New("kes: connection reset by peer"), "kms:KeyGenerationFailed", "kms:DecryptionFailed", 500},
	} {
		wrapped := fmt.Errorf("kes: %s: %w", tc.name, tc.err)
		t.Run(tc.name, func(t *testing.T) {
			// failAll checks that each op fails with wantCode and tc.status
			// and that it asked the KMS (calls grew).
			failAll := func(ops []kmsOp, calls *atomic.Int64, wantCode string) {
				t.Helper()
				for _, op := range ops {
					before := calls.Load()
					code, status := apiStatus(op.call())
					if code != wantCode || status != tc.status {
						t.Errorf("%s: %s (%d), want %s (%d)", op.name, code, status, wantCode, tc.status)
					}
					if calls.Load() == before {
						t.Errorf("%s: the KMS was not asked", op.name)
					}
				}
			}
			f.gen.Store(&wrapped)
			failAll(newKey, &f.genCalls, tc.code)
			f.gen.Store(nil)
			f.dec.Store(&wrapped)
			failAll(openKey, &f.decCalls, tc.dataCode)
			// HEAD answers from the record alone: the ETag and SSE headers
			// are stored in clear, so no KMS call (as AWS S3, unlike MinIO,
			// which decrypts the sealed SSE-S3 ETag).
			before := f.decCalls.Load()
			for _, k := range []string{"s3", "kms"} {
				if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(k)}); err != nil {
					t.Errorf("head %s with the KMS failing: %v", k, err)
				}
			}
			if f.decCalls.Load() != before {
				t.Errorf("HEAD called the KMS")
			}
			// The plaintext object needs no KMS, even with the KMS failing.
			if got, err := readAWS(ctx, e, b, "plain"); err != nil || !bytes.Equal(got, objects["plain"]) {
				t.Errorf("plaintext object with the KMS failing: %v", err)
			}
			f.dec.Store(nil)
			assertNothingStored(t, e, files, b, dflt, aws.ToString(up.UploadId))
		})
	}
	// The KMS works again: every object reads back whole, the upload
	// takes parts and completes.
	for k, data := range objects {
		if got, err := readAWS(ctx, e, b, k); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s after the KMS recovered: %v", k, err)
		}
	}
	part := randBytes(1000)
	pu, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(part)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: pu.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := readAWS(ctx, e, b, "mp"); err != nil || !bytes.Equal(got, part) {
		t.Errorf("multipart object after the KMS recovered: %v", err)
	}
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(dflt), Key: aws.String("new-default"), Body: bytes.NewReader(part)}); err != nil {
		t.Errorf("put after the KMS recovered: %v", err)
	}
	// The real KMS refusing an unknown master key, no injection.
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("unknown-key"), Body: bytes.NewReader(part),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("no-such-key")})
	if code, status := apiStatus(err); code != "kms:KeyNotFound" || status != 404 || !strings.Contains(err.Error(), "key with given key ID does not exist") {
		t.Errorf("unknown key id: %v", err)
	}
	if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("unknown-key")}); s3Code(err) != "NotFound" {
		t.Errorf("object of a refused PUT: %v", err)
	}
}

// assertNothingStored checks that failed requests left no object, upload,
// part, body file or temp file behind.
func assertNothingStored(t *testing.T, e *env, files int, b, dflt, uploadID string) {
	t.Helper()
	ctx := context.Background()
	if n := countDataFiles(t, e); n != files {
		t.Errorf("%d body files, want %d", n, files)
	}
	if n := tmpEntries(t, e); n != 0 {
		t.Errorf("%d temp files left", n)
	}
	for _, bk := range []string{b, dflt} {
		var keys []string
		out, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bk)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		want := ""
		if bk == b {
			want = "kms,plain,s3"
		}
		if got := strings.Join(keys, ","); got != want {
			t.Errorf("bucket %s lists %q, want %q", bk, got, want)
		}
	}
	ups, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
	if err != nil || len(ups.Uploads) != 1 || aws.ToString(ups.Uploads[0].UploadId) != uploadID {
		t.Errorf("uploads: %v %+v", err, ups)
	}
	parts, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: aws.String(uploadID)})
	if err != nil || len(parts.Parts) != 0 {
		t.Errorf("parts of the open upload: %v %+v", err, parts)
	}
}
