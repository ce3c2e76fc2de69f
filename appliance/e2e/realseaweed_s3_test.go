//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/sse"
)

func (r *weedRig) put(ctx context.Context, bucket, key string, body []byte, sse encrypt.ServerSide) error {
	_, err := r.s3.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ServerSideEncryption: sse})
	return err
}

// get reads an object and fails the test if it reads other bytes than want.
func (r *weedRig) get(t *testing.T, bucket, key string, want []byte) error {
	t.Helper()
	obj, err := r.s3.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err == nil && !bytes.Equal(got, want) {
		t.Errorf("GET %s/%s returned %d other bytes, want the %d uploaded", bucket, key, len(got), len(want))
	}
	return err
}

// kmsHeader is the SSE-KMS of a request naming weedKey.
func kmsHeader(t *testing.T) encrypt.ServerSide {
	s, err := encrypt.NewSSEKMS(weedKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// encryptedWith fails unless SeaweedFS says the object is SSE-KMS under weedKey.
func (r *weedRig) encryptedWith(t *testing.T, bucket, key string) {
	t.Helper()
	st, err := r.s3.StatObject(context.Background(), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("HEAD %s/%s: %v", bucket, key, err)
	}
	if got := st.Metadata.Get("X-Amz-Server-Side-Encryption"); got != "aws:kms" {
		t.Errorf("%s/%s: x-amz-server-side-encryption %q, want aws:kms", bucket, key, got)
	}
	if got := st.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); !strings.HasSuffix(got, weedKey) {
		t.Errorf("%s/%s: key id %q, want kmsbox's %s", bucket, key, got, weedKey)
	}
}

// sseKMSHeader uploads with x-amz-server-side-encryption: aws:kms and the key id.
func (r *weedRig) sseKMSHeader(t *testing.T) {
	if err := r.put(context.Background(), weedHeaderBkt, "header.bin", r.body, kmsHeader(t)); err != nil {
		t.Fatalf("SSE-KMS PUT: %v", err)
	}
	r.encryptedWith(t, weedHeaderBkt, "header.bin")
	if err := r.get(t, weedHeaderBkt, "header.bin", r.body); err != nil {
		t.Fatalf("GET of the SSE-KMS object: %v", err)
	}
}

// bucketDefault sets aws:kms with weedKey as the bucket's default encryption and uploads
// without any SSE header.
func (r *weedRig) bucketDefault(t *testing.T) {
	ctx := context.Background()
	if err := r.s3.SetBucketEncryption(ctx, weedDefaultBkt, sse.NewConfigurationSSEKMS(weedKey)); err != nil {
		t.Fatalf("PutBucketEncryption: %v", err)
	}
	got, err := r.s3.GetBucketEncryption(ctx, weedDefaultBkt)
	if err != nil || len(got.Rules) != 1 || got.Rules[0].Apply.SSEAlgorithm != "aws:kms" || got.Rules[0].Apply.KmsMasterKeyID != weedKey {
		t.Fatalf("GetBucketEncryption = %+v, %v; want aws:kms with %s", got, err, weedKey)
	}
	if err := r.put(ctx, weedDefaultBkt, "default.bin", r.body, nil); err != nil {
		t.Fatalf("PUT into the bucket with default SSE-KMS: %v", err)
	}
	r.encryptedWith(t, weedDefaultBkt, "default.bin")
	if err := r.get(t, weedDefaultBkt, "default.bin", r.body); err != nil {
		t.Fatalf("GET of the default-encrypted object: %v", err)
	}
}

// nothingInTheClear scans SeaweedFS's whole data dir: the encrypted body is nowhere, while
// the unencrypted control object is found, so the scan does see object bytes.
func (r *weedRig) nothingInTheClear(t *testing.T) {
	noPlaintextAtRest(t, r.disk, map[string][]byte{
		"the SSE-KMS objects' first 4 KiB": r.body[:4096],
		"the SSE-KMS objects' last 4 KiB":  r.body[len(r.body)-4096:],
	})
	found := false
	filepath.WalkDir(r.disk, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, rerr := os.ReadFile(path)
			found = found || (rerr == nil && bytes.Contains(b, r.plain[:4096]))
		}
		return nil
	})
	if !found {
		t.Errorf("the unencrypted control object is not in the clear under %s either: the scan proves nothing", r.disk)
	}
}

// sealed seals kmsbox's vault: SeaweedFS can neither unwrap the data key of an SSE-KMS object
// nor wrap a new one, by header or by bucket default, while unencrypted objects still serve.
// Its vault client gets 503 "Vault is sealed" from transit/decrypt and transit/encrypt (and
// retries it twice, some 4 s a call), its openbao provider makes that a KMSInternalException,
// and its S3 API answers 500 InternalError. Reads fail only because the data key cache is off
// (see weedConfig).
func (r *weedRig) sealed(t *testing.T) {
	if err := r.root.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		what string
		err  error
	}{
		{"GET of the SSE-KMS object", r.get(t, weedHeaderBkt, "header.bin", r.body)},
		{"GET of the default-encrypted object", r.get(t, weedDefaultBkt, "default.bin", r.body)},
		{"SSE-KMS PUT", r.put(ctx, weedHeaderBkt, "sealed.bin", r.body, kmsHeader(t))},
		{"PUT into the bucket with default SSE-KMS", r.put(ctx, weedDefaultBkt, "sealed.bin", r.body, nil)},
	} {
		if e := minio.ToErrorResponse(c.err); c.err == nil || e.StatusCode != http.StatusInternalServerError || e.Code != "InternalError" {
			t.Errorf("%s with kmsbox's vault sealed: %v (status %d, code %q), want 500 InternalError", c.what, c.err, e.StatusCode, e.Code)
		}
	}
	if err := r.get(t, weedHeaderBkt, "plain.bin", r.plain); err != nil {
		t.Errorf("GET of the unencrypted object with kmsbox's vault sealed: %v, want it served", err)
	}
}

// unsealed unseals kmsbox's vault with the dev unseal key: the same token of SeaweedFS's
// AppRole login serves again, for reads and writes; the writes refused while sealed left
// nothing behind.
func (r *weedRig) unsealed(t *testing.T) {
	if s, err := r.root.Sys().Unseal(r.srv.devUnsealKey(t)); err != nil || s.Sealed {
		t.Fatalf("unseal: %+v, %v", s, err)
	}
	ctx := context.Background()
	for _, b := range []string{weedHeaderBkt, weedDefaultBkt} {
		if _, err := r.s3.StatObject(ctx, b, "sealed.bin", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("HEAD %s/sealed.bin after the refused PUT: %v, want NoSuchKey", b, err)
		}
	}
	if err := r.get(t, weedHeaderBkt, "header.bin", r.body); err != nil {
		t.Errorf("GET of the SSE-KMS object after the unseal: %v", err)
	}
	if err := r.get(t, weedDefaultBkt, "default.bin", r.body); err != nil {
		t.Errorf("GET of the default-encrypted object after the unseal: %v", err)
	}
	if err := r.put(ctx, weedHeaderBkt, "after-unseal.bin", r.body, kmsHeader(t)); err != nil {
		t.Errorf("SSE-KMS PUT after the unseal: %v", err)
	}
	if err := r.put(ctx, weedDefaultBkt, "after-unseal.bin", r.body, nil); err != nil {
		t.Errorf("PUT into the bucket with default SSE-KMS after the unseal: %v", err)
	}
	r.encryptedWith(t, weedHeaderBkt, "after-unseal.bin")
	r.encryptedWith(t, weedDefaultBkt, "after-unseal.bin")
	if err := r.get(t, weedDefaultBkt, "after-unseal.bin", r.body); err != nil {
		t.Errorf("GET of the object written after the unseal: %v", err)
	}
}
