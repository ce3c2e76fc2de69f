package s3lite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var allAttributes = []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesChecksum,
	types.ObjectAttributesObjectParts, types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize}

func TestGetObjectAttributesSingle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AutoEncrypt = true })
	ctx := context.Background()
	b := e.bucket("attrs")
	body := bytes.Repeat([]byte("A"), 1024)
	sum := sha256.Sum256(body)
	put, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: bytes.NewReader(body),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumSHA256: aws.String(b64(sum[:]))})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("k"), ObjectAttributes: allAttributes})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.ETag) != strings.Trim(aws.ToString(put.ETag), `"`) || aws.ToInt64(got.ObjectSize) != 1024 ||
		got.StorageClass != types.StorageClassStandard || got.ObjectParts != nil || got.VersionId != nil || got.LastModified == nil {
		t.Errorf("attributes: %+v", got)
	}
	if got.Checksum == nil || aws.ToString(got.Checksum.ChecksumSHA256) != b64(sum[:]) || got.Checksum.ChecksumType != types.ChecksumTypeFullObject {
		t.Errorf("checksum: %+v", got.Checksum)
	}
	// Only what was asked for.
	got, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("k"), ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectSize}})
	if err != nil || got.ETag != nil || got.Checksum != nil || aws.ToInt64(got.ObjectSize) != 1024 {
		t.Errorf("ObjectSize only: %+v, %v", got, err)
	}
	_, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("nope"), ObjectAttributes: allAttributes})
	if s3Code(err) != "NoSuchKey" {
		t.Errorf("missing key: %v", err)
	}
	for _, attrs := range []string{"", "Size", "ETag,Bogus"} {
		req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/"+b+"/k?attributes", nil)
		if attrs != "" {
			req.Header.Set("X-Amz-Object-Attributes", attrs)
		}
		if st, body := e.doSigned(t, req); st != http.StatusBadRequest || !strings.Contains(string(body), "InvalidArgument") {
			t.Errorf("x-amz-object-attributes %q: %d %s", attrs, st, body)
		}
	}
}

func TestGetObjectAttributesMultipart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("mpattrs")
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	var sums []string
	for n := int32(1); n <= 3; n++ {
		data := bytes.Repeat([]byte{byte(n)}, minPartSize)
		p, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: p.ETag, ChecksumSHA256: p.ChecksumSHA256})
		sums = append(sums, aws.ToString(p.ChecksumSHA256))
	}
	done, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("mp"), ObjectAttributes: allAttributes})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(got.ObjectSize) != 3*minPartSize || aws.ToString(got.Checksum.ChecksumSHA256) != aws.ToString(done.ChecksumSHA256) {
		t.Errorf("size %d, checksum %+v", aws.ToInt64(got.ObjectSize), got.Checksum)
	}
	op := got.ObjectParts
	if op == nil || aws.ToInt32(op.TotalPartsCount) != 3 || aws.ToBool(op.IsTruncated) || len(op.Parts) != 3 {
		t.Fatalf("parts: %+v", op)
	}
	for i, p := range op.Parts {
		if aws.ToInt32(p.PartNumber) != int32(i+1) || aws.ToInt64(p.Size) != minPartSize || aws.ToString(p.ChecksumSHA256) != sums[i] {
			t.Errorf("part %d: %+v", i, p)
		}
	}
	// Pages: one part after part 1, then the rest.
	got, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("mp"), ObjectAttributes: allAttributes, MaxParts: aws.Int32(1), PartNumberMarker: aws.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	op = got.ObjectParts
	if !aws.ToBool(op.IsTruncated) || aws.ToString(op.NextPartNumberMarker) != "2" || aws.ToInt32(op.MaxParts) != 1 || len(op.Parts) != 1 || aws.ToInt32(op.Parts[0].PartNumber) != 2 {
		t.Errorf("page 1: %+v", op)
	}
	got, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("mp"), ObjectAttributes: allAttributes, MaxParts: aws.Int32(10), PartNumberMarker: aws.String("2")})
	if err != nil || aws.ToBool(got.ObjectParts.IsTruncated) || len(got.ObjectParts.Parts) != 1 || aws.ToInt32(got.ObjectParts.Parts[0].PartNumber) != 3 {
		t.Errorf("page 2: %+v, %v", got.ObjectParts, err)
	}
}

func TestGetObjectAttributesSSEC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("ssecattrs")
	if _, err := e.s3.PutObject(ctx, withSSE(&s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: bytes.NewReader([]byte("secret"))}, "c", "")); err != nil {
		t.Fatal(err)
	}
	in := &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("k"), ObjectAttributes: allAttributes}
	if _, err := e.s3.GetObjectAttributes(ctx, in); s3Code(err) != "InvalidRequest" {
		t.Errorf("SSE-C object without its key: %v", err)
	}
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = ssecHeaders()
	got, err := e.s3.GetObjectAttributes(ctx, in)
	if err != nil || aws.ToInt64(got.ObjectSize) != 6 {
		t.Errorf("with the key: %+v, %v", got, err)
	}
}
