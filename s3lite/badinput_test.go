package s3lite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestRejectedRequests drives error paths of several operations with the
// AWS SDK: each malformed request gets the code and status S3 uses, and
// nothing stored is lost or half-created.
func TestRejectedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("rejects")
	data := randBytes(1000)
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("src"), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	files := countDataFiles(t, e)
	for _, tc := range []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"copy/unknown-metadata-directive", func() error {
			_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst"), CopySource: aws.String(b + "/src"), MetadataDirective: "MOVE"})
			return err
		}, "InvalidArgument", 400},
		{"copy/source-without-key", func() error {
			_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst"), CopySource: aws.String(b)})
			return err
		}, "InvalidArgument", 400},
		{"copy/source-version", func() error {
			_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst"), CopySource: aws.String(b + "/src?versionId=v1")})
			return err
		}, "InvalidArgument", 400},
		{"create-upload/full-object-sha256", func() error {
			_, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp2"),
				ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumType: types.ChecksumTypeFullObject})
			return err
		}, "InvalidRequest", 400},
		{"upload-part/number-0", func() error {
			_, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(0), Body: strings.NewReader("x")})
			return err
		}, "InvalidArgument", 400},
		{"upload-part/number-10001", func() error {
			_, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(10001), Body: strings.NewReader("x")})
			return err
		}, "InvalidArgument", 400},
		{"list-parts/negative-marker", func() error {
			_, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumberMarker: aws.String("-1")})
			return err
		}, "InvalidArgument", 400},
		{"complete/no-parts", func() error {
			_, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{}})
			return err
		}, "MalformedXML", 400},
		{"get/part-number-and-range", func() error {
			_, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("src"), PartNumber: aws.Int32(1), Range: aws.String("bytes=0-1")})
			return err
		}, "InvalidRequest", 400},
		{"list-objects/unknown-encoding", func() error {
			_, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), EncodingType: "base64"})
			return err
		}, "InvalidArgument", 400},
		{"list-objects/negative-max-keys", func() error {
			_, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), MaxKeys: aws.Int32(-1)})
			return err
		}, "InvalidArgument", 400},
		{"list-buckets/max-buckets-0", func() error {
			_, err := e.s3.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(0)})
			return err
		}, "InvalidArgument", 400},
		{"bucket-encryption/aes256-with-key-id", func() error {
			_, err := e.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(b), ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
				Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{
					SSEAlgorithm: types.ServerSideEncryptionAes256, KMSMasterKeyID: aws.String(testKeyID)}}}}})
			return err
		}, "MalformedXML", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var se interface{ HTTPStatusCode() int }
			if s3Code(err) != tc.code || !errors.As(err, &se) || se.HTTPStatusCode() != tc.status {
				t.Errorf("got %v, want %s (%d)", err, tc.code, tc.status)
			}
		})
	}

	// Nothing was written, replaced or lost.
	if n := countDataFiles(t, e); n != files {
		t.Errorf("%d data files, want %d", n, files)
	}
	got, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("src")})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(got.Body)
	got.Body.Close()
	if err != nil || !bytes.Equal(body, data) {
		t.Errorf("source object: %v, %d bytes", err, len(body))
	}
	if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("dst")}); s3Code(err) != "NotFound" {
		t.Errorf("copy destination after rejected copies: %v", err)
	}
	ups, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
	if err != nil || len(ups.Uploads) != 1 || aws.ToString(ups.Uploads[0].UploadId) != aws.ToString(up.UploadId) {
		t.Errorf("uploads after rejected requests: %v %+v", err, ups)
	}
	enc, err := e.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(b)})
	if s3Code(err) != "ServerSideEncryptionConfigurationNotFoundError" {
		t.Errorf("bucket encryption after a rejected PUT: %v %+v", err, enc)
	}
}

// TestDeleteObjectsVersioned checks that a DeleteObjects entry naming a
// malformed version id fails alone, with InvalidArgument, and leaves the object in place.
func TestDeleteObjectsVersioned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("delver")
	for _, k := range []string{"keep", "gone"} {
		if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("keep"), VersionId: aws.String("v1")}, {Key: aws.String("gone")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "keep" || aws.ToString(out.Errors[0].Code) != "InvalidArgument" {
		t.Errorf("errors: %+v", out.Errors)
	}
	if len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "gone" {
		t.Errorf("deleted: %+v", out.Deleted)
	}
	if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("keep")}); err != nil {
		t.Errorf("keep: %v", err)
	}
	if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("gone")}); s3Code(err) != "NotFound" {
		t.Errorf("gone: %v", err)
	}
}
