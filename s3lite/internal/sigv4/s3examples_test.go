package sigv4

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Worked examples of the Amazon S3 API reference ("Signature Calculations for the
// Authorization Header", "Query string authentication", "Transferring payload in
// multiple chunks", "... with trailing headers"): AKIAIOSFODNN7EXAMPLE, 2013-05-24.

const (
	exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var exampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

func exampleVerifier() *Verifier {
	return &Verifier{
		Region: "us-east-1",
		Secret: func(ak string) (string, bool) { return exampleSecret, ak == exampleAccessKey },
		Now:    func() time.Time { return exampleTime },
	}
}

// chunkedExampleBody is the 66560-byte 'a' payload in 64 KiB + 1 KiB chunks.
func chunkedExampleBody(sigs [3]string, trailer string) string {
	return "10000;chunk-signature=" + sigs[0] + "\r\n" + strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=" + sigs[1] + "\r\n" + strings.Repeat("a", 1024) + "\r\n" +
		"0;chunk-signature=" + sigs[2] + "\r\n" + trailer
}

var (
	chunkSigs        = [3]string{"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648", "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497", "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"}
	chunkTrailerSigs = [3]string{"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2", "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7", "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"}
)

const trailerExample = "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"

func chunkedExampleRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPut, "http://s3.amazonaws.com/examplebucket/chunkObject.txt", strings.NewReader(body))
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
	r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	r.Header.Set("Content-Length", "66824")
	return r
}

func chunkedTrailerExampleRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPut, "http://s3.amazonaws.com/examplebucket/chunkObject.txt", strings.NewReader(body))
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e")
	r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
	return r
}

func TestS3DocumentationExamples(t *testing.T) {
	v := exampleVerifier()
	tests := []struct {
		name    string
		req     func() *http.Request
		body    string
		trailer map[string]string
	}{
		{name: "GET object with range", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt", nil)
			r.Header.Set("Range", "bytes=0-9")
			r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
			r.Header.Set("X-Amz-Date", "20130524T000000Z")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
			return r
		}},
		{name: "PUT object", body: "Welcome to Amazon S3.", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodPut, "http://examplebucket.s3.amazonaws.com/test%24file.text", strings.NewReader("Welcome to Amazon S3."))
			r.Header.Set("Date", "Fri, 24 May 2013 00:00:00 GMT")
			r.Header.Set("X-Amz-Date", "20130524T000000Z")
			r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
			r.Header.Set("X-Amz-Content-Sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
			return r
		}},
		{name: "GET bucket lifecycle", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/?lifecycle", nil)
			r.Header.Set("X-Amz-Date", "20130524T000000Z")
			r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
			return r
		}},
		{name: "GET bucket list objects", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J", nil)
			r.Header.Set("X-Amz-Date", "20130524T000000Z")
			r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
			return r
		}},
		{name: "presigned GET", req: func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", nil)
		}},
		{name: "signed chunks", body: strings.Repeat("a", 66560), req: func() *http.Request {
			return chunkedExampleRequest(chunkedExampleBody(chunkSigs, "\r\n"))
		}},
		{name: "signed chunks with signed trailer", body: strings.Repeat("a", 66560),
			trailer: map[string]string{"x-amz-checksum-crc32c": "sOO8/Q=="},
			req: func() *http.Request {
				return chunkedTrailerExampleRequest(chunkedExampleBody(chunkTrailerSigs, trailerExample))
			}},
		{name: "unsigned chunks with trailer", body: strings.Repeat("a", 17408),
			trailer: map[string]string{"x-amz-checksum-crc32": "s3SFCQ=="},
			req: func() *http.Request {
				body := "2000\r\n" + strings.Repeat("a", 8192) + "\r\n2000\r\n" + strings.Repeat("a", 8192) +
					"\r\n400\r\n" + strings.Repeat("a", 1024) + "\r\n0\r\nx-amz-checksum-crc32:s3SFCQ==\n\r\n\r\n"
				r := httptest.NewRequest(http.MethodPut, "http://amzn-s3-demo-bucket.s3.amazonaws.com/Key%2B", strings.NewReader(body))
				r.Header.Set("Content-Encoding", "aws-chunked")
				r.Header.Set("X-Amz-Decoded-Content-Length", "17408")
				r.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
				r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
				r.Header.Set("X-Amz-Date", "20130524T000000Z")
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-trailer,Signature=8fdf2b7a7005b82789d2a9cec832705457298e8a6a908f8c85f17e44c707aa64")
				return r
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := v.Verify(tc.req())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := io.ReadAll(a.Body)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if string(got) != tc.body {
				t.Fatalf("body: %d bytes, want %d", len(got), len(tc.body))
			}
			if a.AccessKey != exampleAccessKey {
				t.Fatalf("access key %q", a.AccessKey)
			}
			if len(a.Trailer) != len(tc.trailer) {
				t.Fatalf("trailer %v, want %v", a.Trailer, tc.trailer)
			}
			for k, want := range tc.trailer {
				if got := a.Trailer.Get(k); got != want {
					t.Fatalf("trailer %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// readErr verifies r and reads its body, returning the first error.
func readErr(v *Verifier, r *http.Request) error {
	a, err := v.Verify(r)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, a.Body)
	return err
}

func TestChunkedTampering(t *testing.T) {
	v := exampleVerifier()
	good := chunkedExampleBody(chunkSigs, "\r\n")
	goodT := chunkedExampleBody(chunkTrailerSigs, trailerExample)
	flip := func(s string, i int) string {
		b := []byte(s)
		b[i] ^= 1
		return string(b)
	}
	dataAt := strings.Index(good, "\r\n") + 2
	tests := []struct {
		name    string
		req     *http.Request
		wantErr error
	}{
		{"data byte flipped", chunkedExampleRequest(flip(good, dataAt+100)), ErrSignatureDoesNotMatch},
		{"last chunk data flipped", chunkedExampleRequest(flip(good, strings.Index(good, "400;")+90)), ErrSignatureDoesNotMatch},
		{"chunk signature flipped", chunkedExampleRequest(strings.Replace(good, chunkSigs[1], chunkSigs[0], 1)), ErrSignatureDoesNotMatch},
		{"final signature wrong", chunkedExampleRequest(strings.Replace(good, chunkSigs[2], chunkSigs[1], 1)), ErrSignatureDoesNotMatch},
		{"chunks reordered", chunkedExampleRequest("400;chunk-signature=" + chunkSigs[1] + "\r\n" + strings.Repeat("a", 1024) + "\r\n" + strings.TrimPrefix(good, good[:strings.Index(good, "400;")])), ErrSignatureDoesNotMatch},
		{"truncated in data", chunkedExampleRequest(good[:dataAt+1000]), ErrIncompleteBody},
		{"truncated before final chunk", chunkedExampleRequest(good[:strings.Index(good, "0;chunk")]), ErrIncompleteBody},
		{"missing signature on chunk", chunkedExampleRequest(strings.Replace(good, ";chunk-signature="+chunkSigs[0], "", 1)), ErrMalformedChunk},
		{"absurd chunk size", chunkedExampleRequest("ffffffffffffffffff;chunk-signature=" + chunkSigs[0] + "\r\n"), ErrMalformedChunk},
		{"chunk over the limit", chunkedExampleRequest("1000001;chunk-signature=" + chunkSigs[0] + "\r\n"), ErrMalformedChunk},
		{"negative chunk size", chunkedExampleRequest("-1;chunk-signature=" + chunkSigs[0] + "\r\n"), ErrMalformedChunk},
		{"no CRLF after data", chunkedExampleRequest(strings.Replace(good, strings.Repeat("a", 1024)+"\r\n", strings.Repeat("a", 1024)+"XX", 1)), ErrMalformedChunk},
		{"bare LF size line", chunkedExampleRequest(strings.Replace(good, chunkSigs[0]+"\r\n", chunkSigs[0]+"\n", 1)), ErrMalformedChunk},
		{"overlong size line", chunkedExampleRequest("10000;" + strings.Repeat("x", 70000) + "\r\n"), ErrMalformedChunk},
		{"data after final chunk", chunkedExampleRequest(good + "garbage"), ErrMalformedChunk},
		{"trailer value changed", chunkedTrailerExampleRequest(strings.Replace(goodT, "sOO8/Q==", "AAAAAA==", 1)), ErrSignatureDoesNotMatch},
		{"trailer signature missing", chunkedTrailerExampleRequest(goodT[:strings.Index(goodT, "x-amz-trailer-signature")]), ErrSignatureDoesNotMatch},
		{"trailer missing", chunkedTrailerExampleRequest(goodT[:strings.Index(goodT, "x-amz-checksum")]), ErrIncompleteBody},
		{"undeclared trailer", chunkedTrailerExampleRequest(strings.Replace(goodT, "x-amz-checksum-crc32c:", "x-amz-checksum-crc32:", 1)), ErrMalformedChunk},
		{"trailer line truncated", chunkedTrailerExampleRequest(goodT[:len(goodT)-40]), ErrIncompleteBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := readErr(v, tc.req); !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
		})
	}

	t.Run("decoded length larger than data", func(t *testing.T) {
		r := chunkedExampleRequest(good)
		r.Header.Set("X-Amz-Decoded-Content-Length", "66561")
		// The header is signed: recomputing is not possible here, so check the
		// decoder directly.
		c := newChunkedReader(io.NopCloser(strings.NewReader(good)), nil, false, nil, 66561, http.Header{})
		if _, err := io.Copy(io.Discard, c); !errors.Is(err, ErrIncompleteBody) {
			t.Fatalf("got %v", err)
		}
		c = newChunkedReader(io.NopCloser(strings.NewReader(good)), nil, false, nil, 1000, http.Header{})
		if _, err := io.Copy(io.Discard, c); !errors.Is(err, ErrMalformedChunk) {
			t.Fatalf("got %v", err)
		}
		if err := readErr(v, r); !errors.Is(err, ErrSignatureDoesNotMatch) {
			t.Fatalf("changed signed header: %v", err)
		}
	})

	t.Run("bad data is reported before io.EOF", func(t *testing.T) {
		a, err := v.Verify(chunkedExampleRequest(flip(good, dataAt+100)))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		n, err := io.ReadFull(a.Body, buf)
		if !errors.Is(err, ErrSignatureDoesNotMatch) || n > 65536 {
			t.Fatalf("read %d bytes, err %v", n, err)
		}
		if _, err := a.Body.Read(buf); !errors.Is(err, ErrSignatureDoesNotMatch) {
			t.Fatalf("error is not sticky: %v", err)
		}
	})

	t.Run("one byte reads", func(t *testing.T) {
		a, err := v.Verify(chunkedTrailerExampleRequest(goodT))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		b := make([]byte, 1)
		for {
			n, err := a.Body.Read(b)
			out.Write(b[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if out.Len() != 66560 || a.Trailer.Get("X-Amz-Checksum-Crc32c") != "sOO8/Q==" {
			t.Fatalf("%d bytes, trailer %v", out.Len(), a.Trailer)
		}
	})
}

// The SigV2 query-string example of the S3 developer guide ("Query string request
// authentication alternative"): a virtual-hosted GET of johnsmith/photos/puppy.jpg.
func TestS3DocumentationSigV2Example(t *testing.T) {
	v := exampleVerifier()
	v.Domains = []string{"s3.amazonaws.com"}
	v.Now = func() time.Time { return time.Unix(1175139620, 0).Add(-time.Minute) }
	const target = "https://johnsmith.s3.amazonaws.com/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620"
	a, err := v.Verify(httptest.NewRequest(http.MethodGet, target, nil))
	if err != nil || !a.Presigned || a.AccessKey != exampleAccessKey {
		t.Fatalf("%+v %v", a, err)
	}
	// A '+' pasted unescaped arrives as a space and is still recognised.
	if _, err := v.Verify(httptest.NewRequest(http.MethodGet, strings.Replace(target, "%2B", "+", 1), nil)); err != nil {
		t.Fatalf("unescaped plus: %v", err)
	}
	for name, r := range map[string]*http.Request{
		"path style without the bucket": httptest.NewRequest(http.MethodGet, strings.Replace(target, "johnsmith.", "", 1), nil),
		"other object":                  httptest.NewRequest(http.MethodGet, strings.Replace(target, "puppy", "kitten", 1), nil),
		"other method":                  httptest.NewRequest(http.MethodDelete, target, nil),
		"later expiry":                  httptest.NewRequest(http.MethodGet, strings.Replace(target, "1175139620", "1175139621", 1), nil),
	} {
		if _, err := v.Verify(r); !errors.Is(err, ErrSignatureDoesNotMatch) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	v.Now = func() time.Time { return time.Unix(1175139621, 0) }
	if _, err := v.Verify(httptest.NewRequest(http.MethodGet, target, nil)); !errors.Is(err, ErrExpiredRequest) {
		t.Fatalf("expired: %v", err)
	}
}
