package s3lite

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// sseMode is one way to ask for encryption with minio-go.
type sseMode struct {
	name    string
	sse     func(t *testing.T) encrypt.ServerSide
	wantHdr string // X-Amz-Server-Side-Encryption on responses ("" none)
	md5ETag bool   // single-part ETag is the MD5 of the plaintext
}

var ssecKey = bytes.Repeat([]byte{7}, 32)

func sseModes() []sseMode {
	return []sseMode{
		{"none", func(*testing.T) encrypt.ServerSide { return nil }, "", true},
		{"sse-s3", func(*testing.T) encrypt.ServerSide { return encrypt.NewSSE() }, "AES256", true},
		{"sse-kms", func(t *testing.T) encrypt.ServerSide {
			s, err := encrypt.NewSSEKMS(testKeyID, map[string]string{"app": "test"})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "aws:kms", false},
		{"sse-c", func(t *testing.T) encrypt.ServerSide {
			s, err := encrypt.NewSSEC(ssecKey)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "", false},
	}
}

func TestObjectRoundTripMinio(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("round-trip")
	for _, mode := range sseModes() {
		t.Run(mode.name, func(t *testing.T) {
			sse := mode.sse(t)
			for _, size := range []int{0, 1, 65535, 65536, 65537, 200000} {
				data := randBytes(size)
				key := fmt.Sprintf("%s/obj-%d", mode.name, size)
				info, err := e.mc.PutObject(ctx, b, key, bytes.NewReader(data), int64(size), minio.PutObjectOptions{
					ServerSideEncryption: sse, ContentType: "text/x-test", UserMetadata: map[string]string{"color": "blue"},
					CacheControl: "max-age=60", ContentDisposition: "attachment",
				})
				if err != nil {
					t.Fatalf("put %d: %v", size, err)
				}
				sum := md5.Sum(data)
				if mode.md5ETag != (info.ETag == hex.EncodeToString(sum[:])) {
					t.Errorf("size %d: ETag %q, md5 %x, want md5 ETag=%v", size, info.ETag, sum, mode.md5ETag)
				}
				var gopts minio.GetObjectOptions
				gopts.ServerSideEncryption = sse
				obj, err := e.mc.GetObject(ctx, b, key, gopts)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(obj)
				if err != nil {
					t.Fatalf("get %d: %v", size, err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("size %d: body differs", size)
				}
				st, err := e.mc.StatObject(ctx, b, key, minio.StatObjectOptions{ServerSideEncryption: sse})
				if err != nil {
					t.Fatal(err)
				}
				if st.Size != int64(size) || st.ContentType != "text/x-test" || st.UserMetadata["Color"] != "blue" ||
					st.Metadata.Get("Cache-Control") != "max-age=60" || st.Metadata.Get("Content-Disposition") != "attachment" {
					t.Errorf("stat: %+v", st)
				}
				if got := st.Metadata.Get("X-Amz-Server-Side-Encryption"); got != mode.wantHdr {
					t.Errorf("SSE header %q, want %q", got, mode.wantHdr)
				}
				if st.ETag != info.ETag {
					t.Errorf("stat ETag %q != put ETag %q", st.ETag, info.ETag)
				}
			}
		})
	}
	// The stored files hold no plaintext for encrypted modes.
	var n int
	for o := range e.mc.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	if n != 4*6 {
		t.Errorf("listed %d objects, want 24", n)
	}
}

func TestObjectRoundTripAWS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("aws-sdk")
	data := randBytes(300000)
	// Default checksum behaviour: aws-chunked with a CRC32 trailer.
	put, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("a/b c.txt"),
		Body: bytes.NewReader(data), ServerSideEncryption: types.ServerSideEncryptionAes256, ContentType: aws.String("text/plain"),
		Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if put.ChecksumCRC32 == nil || *put.ChecksumCRC32 == "" {
		t.Errorf("PutObject did not return the CRC32 checksum")
	}
	if put.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Errorf("PutObject SSE = %q", put.ServerSideEncryption)
	}
	sum := md5.Sum(data)
	if *put.ETag != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Errorf("ETag %s", *put.ETag)
	}
	get, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("a/b c.txt"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %v, equal=%v", err, bytes.Equal(got, data))
	}
	if aws.ToString(get.ChecksumCRC32) == "" || aws.ToString(get.ChecksumCRC32) != aws.ToString(put.ChecksumCRC32) || get.ChecksumType != types.ChecksumTypeFullObject {
		t.Errorf("GET checksum %v type %q, want %s FULL_OBJECT", aws.ToString(get.ChecksumCRC32), get.ChecksumType, aws.ToString(put.ChecksumCRC32))
	}
	if get.Metadata["k"] != "v" || *get.ContentType != "text/plain" || get.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Errorf("get headers: %+v", get)
	}
	rg, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("a/b c.txt"), Range: aws.String("bytes=65535-65537"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rg.Body)
	rg.Body.Close()
	if !bytes.Equal(part, data[65535:65538]) || rg.ChecksumCRC32 != nil {
		t.Errorf("range: %x checksum %v", part, rg.ChecksumCRC32)
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("a/b c.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if *head.ContentLength != int64(len(data)) || head.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Errorf("head: %+v", head)
	}
	list, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 1 || *list.Contents[0].Key != "a/b c.txt" || *list.Contents[0].Size != int64(len(data)) || *list.Contents[0].ETag != *put.ETag {
		t.Errorf("list: %+v", list.Contents)
	}
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("a/b c.txt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("a/b c.txt")}); err == nil {
		t.Error("head after delete succeeded")
	}
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("nope")})
	if s3Code(err) != "NoSuchKey" {
		t.Errorf("missing key: %v", err)
	}
}
