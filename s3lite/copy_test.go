package s3lite

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

func TestCopyObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("copies")
	data := randBytes(150000)
	ck, _ := encrypt.NewSSEC(ssecKey)
	ck2, _ := encrypt.NewSSEC(bytes.Repeat([]byte{9}, 32))
	kms, _ := encrypt.NewSSEKMS(testKeyID, nil)
	if _, err := e.mc.PutObject(ctx, b, "src-c", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ServerSideEncryption: ck, ContentType: "app/x", UserMetadata: map[string]string{"a": "1"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		dstSSE  encrypt.ServerSide
		wantHdr string
	}{{"to-plain", nil, ""}, {"to-s3", encrypt.NewSSE(), "AES256"}, {"to-kms", kms, "aws:kms"}, {"to-c", ck2, ""}} {
		t.Run(tc.name, func(t *testing.T) {
			dst := minio.CopyDestOptions{Bucket: b, Object: tc.name, Encryption: tc.dstSSE}
			src := minio.CopySrcOptions{Bucket: b, Object: "src-c", Encryption: ck}
			info, err := e.mc.CopyObject(ctx, dst, src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := getAll(t, e, b, tc.name, minio.GetObjectOptions{ServerSideEncryption: tc.dstSSE})
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("get copy: %v", err)
			}
			st, err := e.mc.StatObject(ctx, b, tc.name, minio.StatObjectOptions{ServerSideEncryption: tc.dstSSE})
			if err != nil || st.ContentType != "app/x" || st.UserMetadata["A"] != "1" || st.ETag != info.ETag {
				t.Errorf("stat copy: %v %+v", err, st)
			}
			if st.Metadata.Get("X-Amz-Server-Side-Encryption") != tc.wantHdr {
				t.Errorf("SSE %q want %q", st.Metadata.Get("X-Amz-Server-Side-Encryption"), tc.wantHdr)
			}
		})
	}
	// The response of CopyObject carries the destination's SSE headers.
	out, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("aws-copy"), CopySource: aws.String(b + "/to-s3"),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/new")})
	if err != nil {
		t.Fatal(err)
	}
	if out.ServerSideEncryption != types.ServerSideEncryptionAwsKms || out.CopyObjectResult == nil || aws.ToString(out.CopyObjectResult.ETag) == "" {
		t.Errorf("copy response: %+v", out)
	}
	head, _ := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("aws-copy")})
	if aws.ToString(head.ContentType) != "text/new" || len(head.Metadata) != 0 {
		t.Errorf("REPLACE metadata: %q %v", aws.ToString(head.ContentType), head.Metadata)
	}
	// Copy to itself without changes is refused; with REPLACE it works.
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("to-s3"), CopySource: aws.String(b + "/to-s3")})
	if s3Code(err) != "InvalidRequest" {
		t.Errorf("self copy: %v", err)
	}
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("to-s3"), CopySource: aws.String(b + "/to-s3"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"n": "2"}})
	if err != nil {
		t.Errorf("self copy with REPLACE: %v", err)
	}
	// Missing SSE-C copy-source key, wrong key, missing source.
	_, err = e.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "x"}, minio.CopySrcOptions{Bucket: b, Object: "src-c"})
	if s3Code(err) != "InvalidRequest" {
		t.Errorf("copy ssec without key: %v", err)
	}
	_, err = e.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "x"}, minio.CopySrcOptions{Bucket: b, Object: "src-c", Encryption: ck2})
	if s3Code(err) != "AccessDenied" {
		t.Errorf("copy ssec wrong key: %v", err)
	}
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("y"), CopySource: aws.String(b + "/absent")})
	if s3Code(err) != "NoSuchKey" {
		t.Errorf("copy missing: %v", err)
	}
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("y"), CopySource: aws.String(b + "/to-s3"), CopySourceIfMatch: aws.String(`"nope"`)})
	if s3Code(err) != "PreconditionFailed" {
		t.Errorf("copy if-match: %v", err)
	}
}

func TestUploadPartCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("partcopy")
	data := randBytes(6 << 20)
	if _, err := e.mc.PutObject(ctx, b, "src", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE(), DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("dst"), ServerSideEncryption: types.ServerSideEncryptionAwsKms})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("dst"), UploadId: cr.UploadId, PartNumber: aws.Int32(1),
		CopySource: aws.String(b + "/src"), CopySourceRange: aws.String("bytes=0-5242879")})
	if err != nil {
		t.Fatal(err)
	}
	if p1.ServerSideEncryption != types.ServerSideEncryptionAwsKms {
		t.Errorf("UploadPartCopy SSE header %q", p1.ServerSideEncryption)
	}
	p2, err := e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("dst"), UploadId: cr.UploadId, PartNumber: aws.Int32(2),
		CopySource: aws.String(b + "/src"), CopySourceRange: aws.String("bytes=5242880-6291455")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("dst"), UploadId: cr.UploadId, PartNumber: aws.Int32(3),
		CopySource: aws.String(b + "/src"), CopySourceRange: aws.String("bytes=0-99999999")})
	if s3Code(err) != "InvalidRange" {
		t.Errorf("range past end: %v", err)
	}
	lp, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("dst"), UploadId: cr.UploadId})
	if err != nil || len(lp.Parts) != 2 || aws.ToInt64(lp.Parts[0].Size) != 5<<20 || aws.ToInt64(lp.Parts[1].Size) != 1<<20 {
		t.Fatalf("list parts (plaintext sizes): %v %+v", err, lp.Parts)
	}
	_, err = e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("dst"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: p1.CopyPartResult.ETag}, {PartNumber: aws.Int32(2), ETag: p2.CopyPartResult.ETag}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, data) {
		t.Error("part copy data differs")
	}
}

func TestUploadPartCopyFromSSEC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("partcopyc")
	data := randBytes(300000)
	ck, _ := encrypt.NewSSEC(ssecKey)
	if _, err := e.mc.PutObject(ctx, b, "src", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ServerSideEncryption: ck}); err != nil {
		t.Fatal(err)
	}
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	in := &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("dst"), UploadId: cr.UploadId, PartNumber: aws.Int32(1),
		CopySource: aws.String(b + "/src"), CopySourceRange: aws.String("bytes=65535-200000")}
	if _, err := e.s3.UploadPartCopy(ctx, in); s3Code(err) != "InvalidRequest" {
		t.Errorf("SSE-C source without key: %v", err)
	}
	in.CopySourceSSECustomerAlgorithm, in.CopySourceSSECustomerKey, in.CopySourceSSECustomerKeyMD5 = ssecHeaders()
	p, err := e.s3.UploadPartCopy(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("dst"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: p.CopyPartResult.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	got, err := getAll(t, e, b, "dst", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data[65535:200001]) {
		t.Fatalf("get: %v, %d bytes", err, len(got))
	}
}
