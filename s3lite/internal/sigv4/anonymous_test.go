package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestAnonymous(t *testing.T) {
	sum := sha256.Sum256([]byte("hello"))
	cases := []struct {
		name, payload, body, want string
		err, readErr              error
		trailer                   string
	}{
		{name: "no header", body: "hello", want: "hello"},
		{name: "unsigned", payload: unsignedPayload, body: "hello", want: "hello"},
		{name: "sha256", payload: hex.EncodeToString(sum[:]), body: "hello", want: "hello"},
		{name: "sha256 mismatch", payload: hex.EncodeToString(sum[:]), body: "hullo", readErr: ErrContentSHA256Mismatch},
		{name: "chunked trailer", payload: streamingUnsignT, body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", want: "hello", trailer: "x-amz-checksum-crc32"},
		{name: "signed stream", payload: streamingSigned, body: "x", err: ErrMissingAuth},
		{name: "garbage", payload: "nonsense", body: "x", err: ErrContentSHA256Mismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPut, "https://example.com/b/k", strings.NewReader(c.body))
			if c.payload != "" {
				r.Header.Set("X-Amz-Content-Sha256", c.payload)
			}
			if c.trailer != "" {
				r.Header.Set("X-Amz-Trailer", c.trailer)
				r.Header.Set("Content-Encoding", "aws-chunked")
			}
			a, err := Anonymous(r)
			if c.err != nil || err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("Anonymous: %v, want %v", err, c.err)
				}
				return
			}
			if a.AccessKey != "" || a.Presigned {
				t.Fatalf("Auth %+v is not anonymous", a)
			}
			got, err := io.ReadAll(a.Body)
			if c.readErr != nil {
				if !errors.Is(err, c.readErr) {
					t.Fatalf("read: %v, want %v", err, c.readErr)
				}
				return
			}
			if err != nil || string(got) != c.want {
				t.Fatalf("body %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
