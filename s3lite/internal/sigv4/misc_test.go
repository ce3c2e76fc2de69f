package sigv4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestContentEncoding(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"aws-chunked"}, ""},
		{[]string{"aws-chunked,gzip"}, "gzip"},
		{[]string{"gzip, AWS-CHUNKED"}, "gzip"},
		{[]string{"gzip", "aws-chunked", "br"}, "gzip,br"},
	} {
		h := http.Header{"Content-Encoding": tc.in}
		if got := ContentEncoding(h); got != tc.want {
			t.Fatalf("%v: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A request signed without x-amz-content-sha256 signs an empty payload: a body sent
// anyway must not pass.
func TestUndeclaredBodyRejected(t *testing.T) {
	v := fixedVerifier()
	r := httptest.NewRequest(http.MethodPut, "https://s3.kmsbox.test/b/k", bytes.NewReader([]byte("smuggled")))
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := s.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}, r, emptySHA256, "s3", testRegion, fixedNow); err != nil {
		t.Fatal(err)
	}
	a, err := v.Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(a.Body); !errors.Is(err, ErrContentSHA256Mismatch) {
		t.Fatalf("got %v", err)
	}
}
