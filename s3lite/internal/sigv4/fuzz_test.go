package sigv4

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Seeds live in testdata/fuzz/FuzzXxx; `go test -fuzz=FuzzXxx` explores from there.

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			if !errors.Is(err, ErrAuthorizationHeaderMalformed) && !errors.Is(err, ErrUnsupportedSignature) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if len(a.signature) != 32 || a.scope.accessKey == "" || len(a.signed) == 0 {
			t.Fatalf("accepted incomplete header: %+v", a)
		}
		hasHost := false
		for _, s := range a.signed {
			hasHost = hasHost || s == "host"
		}
		if !hasHost {
			t.Fatal("accepted SignedHeaders without host")
		}
		// Whatever parsed must verify without panicking.
		v := &Verifier{Secret: func(string) (string, bool) { return "s", true }, Now: func() time.Time { return time.Unix(0, 0) }}
		r, _ := http.NewRequest(http.MethodGet, "http://x/b/k", nil)
		r.Header.Set("Authorization", h)
		r.Header.Set("X-Amz-Date", "19700101T000000Z")
		if _, err := v.Verify(r); err == nil {
			t.Fatal("a fuzzed signature verified")
		}
	})
}

func FuzzParsePresign(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
	f.Add("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1141889120&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D")
	f.Fuzz(func(t *testing.T, q string) {
		pairs := parseQuery(q)
		_ = canonicalQuery(pairs, qSignature)
		if p, err := parsePresignV4(pairs); err == nil {
			if p.expires < 0 || p.expires > maxPresignExpiry || len(p.signature) != 32 {
				t.Fatalf("accepted out-of-range presign: %+v", p)
			}
		} else if !errors.Is(err, ErrAuthorizationQueryParametersError) && !errors.Is(err, ErrUnsupportedSignature) {
			t.Fatalf("unexpected error class: %v", err)
		}
		if _, err := parsePresignV2(pairs); err != nil && !errors.Is(err, ErrAuthorizationQueryParametersError) {
			t.Fatalf("unexpected error class: %v", err)
		}
		v := &Verifier{Secret: func(string) (string, bool) { return "s", true }, Now: func() time.Time { return time.Unix(1e9, 0) }}
		r, err := http.NewRequest(http.MethodGet, "http://x/b/k", nil)
		if err != nil {
			return
		}
		r.URL.RawQuery = q
		if a, err := v.Verify(r); err == nil {
			t.Fatalf("a fuzzed query verified: %+v", a)
		}
	})
}

// FuzzChunkedDecoder feeds arbitrary bodies to the aws-chunked decoder in its three
// modes. It must not panic, must not emit more bytes than it was given, must end in
// io.EOF or one of the package's errors, and a signed body it accepts must decode to
// exactly what a fresh encoding of the output signs.
func FuzzChunkedDecoder(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), uint8(0))
	f.Add([]byte(chunkedExampleBody(chunkSigs, "\r\n")[:300]), uint8(1))
	f.Add([]byte("0;chunk-signature="+chunkTrailerSigs[2]+"\r\n"+trailerExample), uint8(2))
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		var signer *chunkSigner
		if mode%3 != 0 {
			s := scope{accessKey: exampleAccessKey, date: "20130524", region: "us-east-1", service: "s3"}
			signer = &chunkSigner{key: signingKey(exampleSecret, s), amzDate: "20130524T000000Z", scope: s.String(),
				prev: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"}
		}
		trailers := mode%3 != 1
		c := newChunkedReader(io.NopCloser(bytes.NewReader(body)), signer, trailers,
			[]string{"x-amz-checksum-crc32", "x-amz-checksum-crc32c"}, -1, http.Header{})
		out, err := io.ReadAll(c)
		if len(out) > len(body) {
			t.Fatalf("decoded %d bytes from %d", len(out), len(body))
		}
		if err != nil {
			for _, e := range []error{ErrMalformedChunk, ErrIncompleteBody, ErrSignatureDoesNotMatch} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("unexpected error class: %v", err)
		}
		if signer != nil && len(out) > 0 && !strings.Contains(string(body), "chunk-signature=") {
			t.Fatal("signed mode accepted data without chunk signatures")
		}
	})
}
