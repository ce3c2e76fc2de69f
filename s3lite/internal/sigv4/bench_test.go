package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// encodedRequest is a request captured after a real signer produced it: headers and
// the encoded body, replayed once per benchmark iteration.
type encodedRequest struct {
	method, target string
	header         http.Header
	body           []byte
}

func (e encodedRequest) request() *http.Request {
	r := httptest.NewRequest(e.method, e.target, bytes.NewReader(e.body))
	r.Header = e.header.Clone()
	return r
}

func captureStreaming(b *testing.B, data []byte, trailer bool) encodedRequest {
	r, _ := http.NewRequest(http.MethodPut, "http://s3.kmsbox.test/bucket/object", bytes.NewReader(data))
	if trailer {
		r.Trailer = http.Header{"x-amz-checksum-crc32": {crc32Of(data)}}
	}
	r = signer.StreamingSignV4(r, testAccessKey, testSecret, "", testRegion, int64(len(data)), time.Now().UTC(), newSHA256())
	body, err := io.ReadAll(r.Body)
	if err != nil {
		b.Fatal(err)
	}
	return encodedRequest{method: r.Method, target: r.URL.String(), header: r.Header.Clone(), body: body}
}

func benchVerify(b *testing.B, e encodedRequest, n int) {
	v := testVerifier()
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a, err := v.Verify(e.request())
		if err != nil {
			b.Fatal(err)
		}
		got, err := io.Copy(io.Discard, a.Body)
		if err != nil || got != int64(n) {
			b.Fatalf("%d bytes, %v", got, err)
		}
	}
}

// BenchmarkVerifySignedChunks16MiB verifies a 16 MiB STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// body as minio-go sends it over plain HTTP (64 KiB chunks, 257 chunk signatures).
func BenchmarkVerifySignedChunks16MiB(b *testing.B) {
	data := randomBytes(b, 16<<20)
	benchVerify(b, captureStreaming(b, data, false), len(data))
}

// BenchmarkVerifySignedChunksTrailer16MiB is the same with a signed CRC32 trailer.
func BenchmarkVerifySignedChunksTrailer16MiB(b *testing.B) {
	data := randomBytes(b, 16<<20)
	benchVerify(b, captureStreaming(b, data, true), len(data))
}

// BenchmarkVerifyHexPayload16MiB verifies a body against x-amz-content-sha256 (s3cmd).
func BenchmarkVerifyHexPayload16MiB(b *testing.B) {
	data := randomBytes(b, 16<<20)
	r, _ := http.NewRequest(http.MethodPut, "http://s3.kmsbox.test/bucket/object", nil)
	r.Header.Set("X-Amz-Content-Sha256", sha256Of(data))
	r = signer.SignV4(*r, testAccessKey, testSecret, "", testRegion)
	benchVerify(b, encodedRequest{method: r.Method, target: r.URL.String(), header: r.Header, body: data}, len(data))
}
