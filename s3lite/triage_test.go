package s3lite

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestListV2EmptyContinuationToken checks that ListObjectsV2 echoes a
// continuation-token parameter that is present but empty, and lists from
// the start; without the parameter the element is absent.
func TestListV2EmptyContinuationToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("tokens")
	for _, k := range []string{"bar", "baz", "foo"} {
		if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), ContinuationToken: aws.String("")})
	if err != nil {
		t.Fatal(err)
	}
	if out.ContinuationToken == nil || *out.ContinuationToken != "" || len(out.Contents) != 3 || aws.ToBool(out.IsTruncated) {
		t.Errorf("empty token: token %v, %d keys, truncated %v", out.ContinuationToken, len(out.Contents), aws.ToBool(out.IsTruncated))
	}
	out, err = e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if out.ContinuationToken != nil {
		t.Errorf("no token: ContinuationToken %q in the answer", *out.ContinuationToken)
	}
}

// TestContentEncodingStored checks which Content-Encoding is stored: the
// value as sent, less any aws-chunked token (a transfer detail).
func TestContentEncodingStored(t *testing.T) {
	t.Parallel()
	for sent, want := range map[string]string{
		"gzip":                     "gzip",
		"deflate, gzip":            "deflate, gzip",
		"gzip, aws-chunked":        "gzip",
		"aws-chunked, gzip":        "gzip",
		"aws-chunked":              "",
		"aws-chunked, aws-chunked": "",
	} {
		h, err := objectHeaders(http.Header{"Content-Encoding": {sent}})
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := h["Content-Encoding"]; got != want || ok != (want != "") {
			t.Errorf("sent %q: stored %q (present %v), want %q", sent, got, ok, want)
		}
	}
}

// TestExpectedBucketOwner checks x-amz-expected-bucket-owner and
// x-amz-source-expected-bucket-owner: the account's canonical ID passes,
// anything else is 403 AccessDenied.
func TestExpectedBucketOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("owned")
	id := hex.EncodeToString([]byte(testAccess))
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"),
		Body: strings.NewReader("v"), ExpectedBucketOwner: aws.String(id)}); err != nil {
		t.Fatalf("put with the right owner: %v", err)
	}
	if _, err := e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(b), ExpectedBucketOwner: aws.String(id)}); err != nil {
		t.Fatalf("list with the right owner: %v", err)
	}
	for _, wrong := range []string{id + "00", id + "foo", "123456789012"} {
		_, err := e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(b), ExpectedBucketOwner: aws.String(wrong)})
		if s3Code(err) != "AccessDenied" {
			t.Errorf("list, expected owner %q: %v", wrong, err)
		}
		_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k2"),
			Body: strings.NewReader("v"), ExpectedBucketOwner: aws.String(wrong)})
		if s3Code(err) != "AccessDenied" {
			t.Errorf("put, expected owner %q: %v", wrong, err)
		}
	}
	_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("c"),
		CopySource: aws.String(b + "/k"), ExpectedSourceBucketOwner: aws.String(id + "00")})
	if s3Code(err) != "AccessDenied" {
		t.Errorf("copy, wrong source owner: %v", err)
	}
	if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("c"),
		CopySource: aws.String(b + "/k"), ExpectedSourceBucketOwner: aws.String(id)}); err != nil {
		t.Errorf("copy, right source owner: %v", err)
	}
}
