package s3lite

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// awsMultipart uploads parts with aws-sdk-go-v2 (CRC32 checksums, as the
// SDK's defaults do) and completes the upload.
func awsMultipart(t *testing.T, e *env, b, key string, parts [][]byte, sse types.ServerSideEncryption, ssec bool) (*s3.CompleteMultipartUploadOutput, []types.CompletedPart) {
	t.Helper()
	ctx := context.Background()
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32, ServerSideEncryption: sse}
	if ssec {
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = ssecHeaders()
	}
	cr, err := e.s3.CreateMultipartUpload(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if cr.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32 {
		t.Errorf("create: checksum algorithm %q", cr.ChecksumAlgorithm)
	}
	if sse != "" && cr.ServerSideEncryption != sse {
		t.Errorf("create: SSE %q, want %q", cr.ServerSideEncryption, sse)
	}
	var done []types.CompletedPart
	for i, p := range parts {
		up := &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cr.UploadId, PartNumber: aws.Int32(int32(i + 1)),
			Body: bytes.NewReader(p), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}
		if ssec {
			up.SSECustomerAlgorithm, up.SSECustomerKey, up.SSECustomerKeyMD5 = ssecHeaders()
		}
		out, err := e.s3.UploadPart(ctx, up)
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
	}
	comp, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(err)
	}
	return comp, done
}

func ssecHeaders() (*string, *string, *string) {
	sum := md5.Sum(ssecKey)
	return aws.String("AES256"), aws.String(b64(ssecKey)), aws.String(b64(sum[:]))
}

func TestMultipartAllModes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("multi")
	p1, p2, p3 := randBytes(5<<20), randBytes(5<<20+100), randBytes(1000)
	whole := bytes.Join([][]byte{p1, p2, p3}, nil)
	for _, tc := range []struct {
		name string
		sse  types.ServerSideEncryption
		ssec bool
	}{{"none", "", false}, {"sse-s3", types.ServerSideEncryptionAes256, false}, {"sse-kms", types.ServerSideEncryptionAwsKms, false}, {"sse-c", "", true}} {
		t.Run(tc.name, func(t *testing.T) {
			key := "mp-" + tc.name
			comp, done := awsMultipart(t, e, b, key, [][]byte{p1, p2, p3}, tc.sse, tc.ssec)
			etag := strings.Trim(aws.ToString(comp.ETag), `"`)
			if !strings.HasSuffix(etag, "-3") {
				t.Errorf("ETag %q", etag)
			}
			if tc.sse != types.ServerSideEncryptionAwsKms && !tc.ssec {
				h := md5.New()
				for _, p := range [][]byte{p1, p2, p3} {
					s := md5.Sum(p)
					h.Write(s[:])
				}
				if want := hex.EncodeToString(h.Sum(nil)) + "-3"; etag != want {
					t.Errorf("multipart ETag %s, want %s", etag, want)
				}
				if want := strings.Trim(aws.ToString(done[0].ETag), `"`); want != fmt.Sprintf("%x", md5.Sum(p1)) {
					t.Errorf("part ETag %s is not the part MD5", want)
				}
			}
			if c := aws.ToString(comp.ChecksumCRC32); !strings.HasSuffix(c, "-3") || comp.ChecksumType != types.ChecksumTypeComposite {
				t.Errorf("composite checksum %q type %q", c, comp.ChecksumType)
			}
			get := &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)}
			if tc.ssec {
				get.SSECustomerAlgorithm, get.SSECustomerKey, get.SSECustomerKeyMD5 = ssecHeaders()
			}
			out, err := e.s3.GetObject(ctx, get)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil || !bytes.Equal(got, whole) {
				t.Fatalf("get: %v equal=%v", err, bytes.Equal(got, whole))
			}
			if aws.ToInt32(out.PartsCount) != 3 && out.PartsCount != nil {
				t.Errorf("parts count %d", aws.ToInt32(out.PartsCount))
			}
			// Ranges across package and part boundaries.
			for _, r := range [][2]int{{65535, 65537}, {len(p1) - 1, len(p1)}, {len(p1) - 70000, len(p1) + 70000}, {len(p1) + len(p2) - 1, len(whole) - 1}, {0, len(whole) - 1}, {100, 100}} {
				get.Range = aws.String(fmt.Sprintf("bytes=%d-%d", r[0], r[1]))
				out, err := e.s3.GetObject(ctx, get)
				if err != nil {
					t.Fatalf("range %v: %v", r, err)
				}
				got, err := io.ReadAll(out.Body)
				out.Body.Close()
				if err != nil || !bytes.Equal(got, whole[r[0]:r[1]+1]) {
					t.Fatalf("range %v: %v, %d bytes", r, err, len(got))
				}
			}
		})
	}
}

func TestMultipartErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("mperr")
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	up := func(n int32, data []byte) *string {
		out, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: cr.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		return out.ETag
	}
	e1, e2 := up(1, randBytes(1000)), up(2, randBytes(1000))
	complete := func(parts ...types.CompletedPart) error {
		_, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		return err
	}
	cp := func(n int32, etag *string) types.CompletedPart {
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: etag}
	}
	if err := complete(cp(1, e1), cp(2, e2)); s3Code(err) != "EntityTooSmall" {
		t.Errorf("small part: %v", err)
	}
	if err := complete(cp(2, e2), cp(1, e1)); s3Code(err) != "InvalidPartOrder" {
		t.Errorf("order: %v", err)
	}
	if err := complete(cp(1, e2)); s3Code(err) != "InvalidPart" {
		t.Errorf("wrong etag: %v", err)
	}
	if err := complete(cp(3, e1)); s3Code(err) != "InvalidPart" {
		t.Errorf("missing part: %v", err)
	}
	lp, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: cr.UploadId})
	if err != nil || len(lp.Parts) != 2 || aws.ToInt64(lp.Parts[0].Size) != 1000 {
		t.Fatalf("list parts: %v %+v", err, lp)
	}
	lu, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(cr.UploadId) {
		t.Fatalf("list uploads: %v %+v", err, lu)
	}
	// A single small part is fine (the last part may be small).
	first, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{cp(1, e1)}}})
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	// S3 completes idempotently: a retry naming the same parts gets the same answer; any
	// other part list finds no upload.
	again, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{cp(1, e1)}}})
	if err != nil || aws.ToString(again.ETag) != aws.ToString(first.ETag) {
		t.Errorf("second complete: %v, ETag %q, first %q", err, aws.ToString(again.ETag), aws.ToString(first.ETag))
	}
	if err := complete(cp(1, e2)); s3Code(err) != "NoSuchUpload" {
		t.Errorf("second complete, other parts: %v", err)
	}
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: bytes.NewReader(randBytes(10))}); err != nil {
		t.Fatal(err)
	}
	if err := complete(cp(1, e1)); s3Code(err) != "NoSuchUpload" {
		t.Errorf("complete after the object was replaced: %v", err)
	}
	// Abort removes the upload and its part files.
	cr2, _ := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("k2")})
	if _, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("k2"), UploadId: cr2.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("k2"), UploadId: cr2.UploadId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("k2"), UploadId: cr2.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("x"))}); s3Code(err) != "NoSuchUpload" {
		t.Errorf("upload after abort: %v", err)
	}
	if n := countDataFiles(t, e); n != 1 {
		t.Errorf("%d body files, want 1 (object k)", n)
	}
}

func TestMultipartMinioLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("mclarge")
	data := randBytes(17 << 20)
	// Unknown size forces minio-go's multipart streaming path.
	info, err := e.mc.PutObject(ctx, b, "big", bytes.NewReader(data), -1, minio.PutObjectOptions{PartSize: 5 << 20, ServerSideEncryption: sseS3Opt()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(info.ETag, "-4") {
		t.Errorf("ETag %q", info.ETag)
	}
	obj, err := e.mc.GetObject(ctx, b, "big", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %v", err)
	}
}

func TestGetByPartNumber(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("bypart")
	p1, p2 := randBytes(5<<20), randBytes(777)
	awsMultipart(t, e, b, "k", [][]byte{p1, p2}, types.ServerSideEncryptionAes256, false)
	for n, want := range map[int32][]byte{1: p1, 2: p2} {
		out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), PartNumber: aws.Int32(n)})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, want) || aws.ToInt32(out.PartsCount) != 2 {
			t.Errorf("part %d: %d bytes, parts count %d", n, len(got), aws.ToInt32(out.PartsCount))
		}
	}
	if _, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), PartNumber: aws.Int32(3)}); s3Code(err) != "InvalidPart" {
		t.Errorf("part 3: %v", err)
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k"), PartNumber: aws.Int32(2)})
	if err != nil || aws.ToInt64(head.ContentLength) != 777 {
		t.Errorf("head part 2: %v %d", err, aws.ToInt64(head.ContentLength))
	}
}
