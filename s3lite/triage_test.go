package s3lite

import (
	"context"
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
