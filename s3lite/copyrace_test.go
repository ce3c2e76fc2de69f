package s3lite

import (
	"bytes"
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	bolt "go.etcd.io/bbolt"
)

// hookKMS is the test's real KMS with a hook run inside the next Decrypt or
// GenerateKey call. A copy asks the KMS after it has read the source's
// record and before it opens the source's files, so a hook that overwrites
// the source lands exactly in that window, without sleeps.
type hookKMS struct {
	KMS
	onDecrypt, onGenerate atomic.Pointer[func()]
}

func (k *hookKMS) Decrypt(ctx context.Context, id string, ct, c []byte) ([]byte, error) {
	if f := k.onDecrypt.Swap(nil); f != nil {
		(*f)()
	}
	return k.KMS.Decrypt(ctx, id, ct, c)
}

func (k *hookKMS) GenerateKey(ctx context.Context, id string, c []byte) (DEK, error) {
	if f := k.onGenerate.Swap(nil); f != nil {
		(*f)()
	}
	return k.KMS.GenerateKey(ctx, id, c)
}

// referencedFiles counts the body files the records of bucket b refer to.
func referencedFiles(t *testing.T, e *env, b string) int {
	t.Helper()
	n := 0
	err := e.srv.st.db.View(func(tx *bolt.Tx) error {
		bb := tx.Bucket(rootBucket).Bucket([]byte(b))
		if err := bb.Bucket(objectsBucket).ForEach(func(_, v []byte) error {
			var m objectMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			n += len(m.Parts)
			return nil
		}); err != nil {
			return err
		}
		ub := bb.Bucket(uploadsBucket)
		return ub.ForEachBucket(func(id []byte) error {
			return ub.Bucket(id).ForEach(func(k, _ []byte) error {
				if len(k) == 4 {
					n++
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCopySourceOverwritten overwrites the source of CopyObject and
// UploadPartCopy after the copy read the source's record and before it
// opened its body files (which the overwrite removes). The copy must read
// the source again and succeed with the new object, whole (an overwrite
// after the files were opened leaves the copy the old object, whole); with
// x-amz-copy-source-if-match naming the old ETag it must answer 412; and a
// source overwritten on every attempt gives up after vanishedAttempts with a
// 500, storing nothing.
func TestCopySourceOverwritten(t *testing.T) {
	t.Parallel()
	h := &hookKMS{}
	e := newEnv(t, func(c *Config) { h.KMS = c.KMS; c.KMS = h })
	ctx := context.Background()
	b := e.bucket("copyrace")

	// put stores key and waits until the body it replaced is unlinked, so that an overwrite
	// inside a copy pulls the old files away before the copy opens them.
	put := func(key string, data []byte, sse types.ServerSideEncryption) string {
		out, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: bytes.NewReader(data), ServerSideEncryption: sse})
		if err != nil {
			t.Fatal(err)
		}
		e.srv.st.settle()
		return aws.ToString(out.ETag)
	}
	// overwriteOnce arms hook to replace key with data (SSE sse) inside
	// the next KMS call of that kind.
	overwriteOnce := func(hook *atomic.Pointer[func()], key string, data []byte, sse types.ServerSideEncryption) *atomic.Int32 {
		var ran atomic.Int32
		f := func() {
			ran.Add(1)
			put(key, data, sse)
		}
		hook.Store(&f)
		return &ran
	}
	check := func(t *testing.T, key string, want []byte) {
		t.Helper()
		got, err := readAWS(ctx, e, b, key)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v, %d bytes, want %d bytes, whole", key, err, len(got), len(want))
		}
	}
	clean := func(t *testing.T) {
		t.Helper()
		if n := tmpEntries(t, e); n != 0 {
			t.Errorf("%d temp files left", n)
		}
		if files, refs := countDataFiles(t, e), referencedFiles(t, e, b); files != refs {
			t.Errorf("%d body files, %d referenced", files, refs)
		}
	}

	t.Run("copy/sse-s3-source", func(t *testing.T) {
		put("src1", randBytes(100000), types.ServerSideEncryptionAes256)
		newData := randBytes(90000)
		ran := overwriteOnce(&h.onDecrypt, "src1", newData, types.ServerSideEncryptionAes256)
		if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst1"), CopySource: aws.String(b + "/src1")}); err != nil {
			t.Fatalf("copy: %v", err)
		}
		if ran.Load() != 1 {
			t.Fatalf("overwrite ran %d times", ran.Load())
		}
		check(t, "dst1", newData)
		clean(t)
	})
	t.Run("copy/plain-source-to-sse-s3", func(t *testing.T) {
		put("src2", randBytes(100000), "")
		newData := randBytes(70000)
		ran := overwriteOnce(&h.onGenerate, "src2", newData, "")
		if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst2"), CopySource: aws.String(b + "/src2"),
			ServerSideEncryption: types.ServerSideEncryptionAes256}); err != nil {
			t.Fatalf("copy: %v", err)
		}
		if ran.Load() != 1 {
			t.Fatalf("overwrite ran %d times", ran.Load())
		}
		check(t, "dst2", newData)
		clean(t)
	})
	t.Run("copy/multipart-source", func(t *testing.T) {
		awsMultipart(t, e, b, "src3", [][]byte{randBytes(5 << 20), randBytes(1000)}, types.ServerSideEncryptionAwsKms, false)
		newData := randBytes(200000)
		ran := overwriteOnce(&h.onDecrypt, "src3", newData, types.ServerSideEncryptionAwsKms)
		if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst3"), CopySource: aws.String(b + "/src3")}); err != nil {
			t.Fatalf("copy: %v", err)
		}
		if ran.Load() != 1 {
			t.Fatalf("overwrite ran %d times", ran.Load())
		}
		check(t, "dst3", newData)
		clean(t)
	})
	t.Run("copy/if-match-old-etag", func(t *testing.T) {
		oldETag := put("src4", randBytes(1000), types.ServerSideEncryptionAes256)
		newData := randBytes(1000)
		ran := overwriteOnce(&h.onDecrypt, "src4", newData, types.ServerSideEncryptionAes256)
		_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst4"), CopySource: aws.String(b + "/src4"),
			CopySourceIfMatch: aws.String(oldETag)})
		if code, status := apiStatus(err); code != "PreconditionFailed" || status != 412 || ran.Load() != 1 {
			t.Errorf("copy with the old ETag of an overwritten source: %v (overwrites %d)", err, ran.Load())
		}
		if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("dst4")}); s3Code(err) != "NotFound" {
			t.Errorf("destination of a refused copy: %v", err)
		}
		check(t, "src4", newData)
		clean(t)
	})
	t.Run("upload-part-copy/overwritten-after-open", func(t *testing.T) {
		oldData := randBytes(100000)
		put("src5", oldData, "")
		up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("dst5"), ServerSideEncryption: types.ServerSideEncryptionAes256})
		if err != nil {
			t.Fatal(err)
		}
		// The part's key is unsealed after the source's files were
		// opened: the overwrite removes their names, not the open files,
		// so the copy reads the old object, whole.
		ran := overwriteOnce(&h.onDecrypt, "src5", randBytes(60000), "")
		pc, err := e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("dst5"), UploadId: up.UploadId, PartNumber: aws.Int32(1),
			CopySource: aws.String(b + "/src5")})
		if err != nil {
			t.Fatalf("upload part copy: %v", err)
		}
		if ran.Load() != 1 {
			t.Fatalf("overwrite ran %d times", ran.Load())
		}
		if _, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("dst5"), UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: pc.CopyPartResult.ETag}}}}); err != nil {
			t.Fatal(err)
		}
		check(t, "dst5", oldData)
		clean(t)
	})
	t.Run("upload-part-copy/sse-kms-source-range", func(t *testing.T) {
		put("src6", randBytes(100000), types.ServerSideEncryptionAwsKms)
		up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("dst6")})
		if err != nil {
			t.Fatal(err)
		}
		newData := randBytes(100000)
		ran := overwriteOnce(&h.onDecrypt, "src6", newData, types.ServerSideEncryptionAwsKms)
		pc, err := e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("dst6"), UploadId: up.UploadId, PartNumber: aws.Int32(1),
			CopySource: aws.String(b + "/src6"), CopySourceRange: aws.String("bytes=65000-70999")})
		if err != nil {
			t.Fatalf("upload part copy: %v", err)
		}
		if ran.Load() != 1 {
			t.Fatalf("overwrite ran %d times", ran.Load())
		}
		if _, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("dst6"), UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: pc.CopyPartResult.ETag}}}}); err != nil {
			t.Fatal(err)
		}
		check(t, "dst6", newData[65000:71000])
		clean(t)
	})
	t.Run("copy/overwritten-every-attempt", func(t *testing.T) {
		put("src7", randBytes(1000), types.ServerSideEncryptionAes256)
		var ran atomic.Int32
		var last []byte
		var f func()
		f = func() {
			ran.Add(1)
			last = randBytes(1000)
			put("src7", last, types.ServerSideEncryptionAes256)
			h.onDecrypt.Store(&f) // again on the next attempt
		}
		h.onDecrypt.Store(&f)
		_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst7"), CopySource: aws.String(b + "/src7")})
		h.onDecrypt.Store(nil)
		if code, status := apiStatus(err); code != "InternalError" || status != 500 {
			t.Errorf("copy of a source overwritten on every attempt: %v", err)
		}
		if ran.Load() != vanishedAttempts {
			t.Errorf("%d attempts, want %d", ran.Load(), vanishedAttempts)
		}
		if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("dst7")}); s3Code(err) != "NotFound" {
			t.Errorf("destination of a failed copy: %v", err)
		}
		check(t, "src7", last)
		clean(t)
	})
}
