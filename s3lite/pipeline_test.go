package s3lite

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/kmsbox/kmsbox/s3lite/internal/checksum"
	"github.com/minio/highwayhash"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/sio"
)

// TestWriteBodySizes streams bodies around the chunk and DARE package
// boundaries through writeBody, in large and in tiny reads, and checks the
// stored bytes (decrypted), the size, the MD5 and the checksum.
func TestWriteBodySizes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := randBytes(32)
	sizes := []int{0, 1, darePayload - 1, darePayload, darePayload + 1, chunkSize - 1, chunkSize, chunkSize + 1,
		pipelineDepth * chunkSize, pipelineDepth*chunkSize + 17, 3*pipelineDepth*chunkSize + darePayload + 5}
	for _, size := range sizes {
		data := randBytes(size)
		for _, enc := range []bool{false, true} {
			for _, tiny := range []bool{false, true} {
				t.Run(fmt.Sprintf("size=%d/enc=%v/tiny=%v", size, enc, tiny), func(t *testing.T) {
					var src io.Reader = bytes.NewReader(data)
					if tiny {
						src = iotest.HalfReader(iotest.OneByteReader(bytes.NewReader(data)))
						if size > 2*chunkSize {
							src = iotest.HalfReader(bytes.NewReader(data))
						}
					}
					var k []byte
					if enc {
						k = key
					}
					f, res, err := e.srv.writeBody(context.Background(), src, k, nil, checksum.SHA256, maxObjectSize)
					if err != nil {
						t.Fatal(err)
					}
					defer discard(f)
					want := md5.Sum(data)
					if res.size != int64(size) || !bytes.Equal(res.md5, want[:]) || !bytes.Equal(res.sum, checksum.SHA256.Sum(data)) {
						t.Fatalf("size %d md5 %x sum %x", res.size, res.md5, res.sum)
					}
					stored, err := os.ReadFile(f.Name())
					if err != nil {
						t.Fatal(err)
					}
					if int64(len(stored)) != res.encSize {
						t.Fatalf("file has %d bytes, encSize %d", len(stored), res.encSize)
					}
					if enc && size > 0 {
						if stored, err = sio.DecryptBuffer(nil, stored, dareConfig(key)); err != nil {
							t.Fatal(err)
						}
					}
					if !enc {
						// Plaintext, then the block hash trailer, which the record's hash covers.
						hk, _ := e.srv.bodyHashKey(context.Background())
						trailer := stored[size:]
						if sum := highwayhash.Sum(trailer, hk); !bytes.Equal(sum[:], res.hash) || int64(len(trailer)) != trailerSize(int64(size)) {
							t.Fatal("trailer does not match the result's hash")
						}
						stored = stored[:size]
					}
					if !bytes.Equal(stored, data) {
						t.Fatal("stored body differs")
					}
				})
			}
		}
	}
}

// TestWriteBodyErrors: a failing body and a body over the limit leave no
// temp file, and the error is the body's.
func TestWriteBodyErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	boom := errors.New("connection reset")
	data := randBytes(5*chunkSize + 3)
	for _, cut := range []int{0, 10, chunkSize, 3*chunkSize + 1} {
		src := io.MultiReader(bytes.NewReader(data[:cut]), iotest.ErrReader(boom))
		if _, _, err := e.srv.writeBody(context.Background(), src, randBytes(32), nil, checksum.CRC32, maxObjectSize); !errors.Is(err, boom) {
			t.Errorf("cut at %d: %v", cut, err)
		}
	}
	if _, _, err := e.srv.writeBody(context.Background(), bytes.NewReader(data), nil, nil, checksum.None, int64(len(data)-1)); !errors.Is(err, errEntityTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	f, _, err := e.srv.writeBody(context.Background(), bytes.NewReader(data), nil, nil, checksum.None, int64(len(data)))
	if err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	defer discard(f)
	left, err := os.ReadDir(e.srv.st.tmpDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 { // the body at the limit, not yet committed
		t.Errorf("tmp holds %d files, want 1", len(left))
	}
}

// TestWriteBodySealError: when sealing fails (here a key that is not 32 bytes, which the DARE
// writer refuses at the body's first write), writeBody returns the error whether the body fits
// one chunk (WriteLast) or not (Write), reads no further, and leaves no temp file.
func TestWriteBodySealError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, size := range []int{10, chunkSize, 3*chunkSize + 7} {
		src := &countingReader{r: bytes.NewReader(randBytes(size))}
		_, _, err := e.srv.writeBody(context.Background(), src, randBytes(16), nil, checksum.None, maxObjectSize)
		if err == nil || !strings.Contains(err.Error(), "32 bytes") {
			t.Fatalf("%d bytes under a 16-byte key: %v, want the writer's key error", size, err)
		}
		if max := int64(2 * chunkSize); src.n > max {
			t.Errorf("%d bytes: %d read after the failed write, want at most %d", size, src.n, max)
		}
	}
	left, err := os.ReadDir(e.srv.st.tmpDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("tmp holds %d files after failed writes", len(left))
	}
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestStreamedGetTampering: an object of several chunks, altered at the
// start (answered with an S3 error before any byte is sent) or in a later
// chunk (found while the response is streaming: the connection is aborted,
// and what arrived is an unaltered prefix), read whole and by range. A cut
// file no longer has the size its record implies, which the open catches:
// an S3 error before any byte.
func TestStreamedGetTampering(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("tamper")
	data := randBytes(4*chunkSize + 1000)
	encLen := int(encryptedSize(int64(len(data))))
	secondChunk := chunkSize / darePayload * darePackage
	cases := []struct {
		name      string
		pos       int // byte flipped in the body file; -1: cut 10 bytes off
		rng       string
		headerErr bool // the error comes before the response
	}{
		{"first package", 5, "", true},
		{"second chunk", secondChunk + 7, "", false},
		{"last package", encLen - 3, "", false},
		{"cut", -1, "", true},
		{"range into a later chunk", 3*secondChunk + 100, "bytes=100-", false},
		{"range starting in it", 3*secondChunk + 100, fmt.Sprintf("bytes=%d-", 3*chunkSize+10), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := e.mc.PutObject(ctx, b, "o", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}); err != nil {
				t.Fatal(err)
			}
			m, err := e.srv.st.getObject(context.Background(), b, "o")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(e.cfg.Dir, "data", filepath.FromSlash(m.Parts[0].File))
			raw, err := os.ReadFile(path)
			if err != nil || len(raw) != encLen {
				t.Fatalf("body file: %d bytes, %v", len(raw), err)
			}
			if c.pos < 0 {
				raw = raw[:len(raw)-10]
			} else {
				raw[c.pos] ^= 0x40
			}
			if err := os.WriteFile(path, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			in := &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("o")}
			want := data
			if c.rng != "" {
				in.Range = aws.String(c.rng)
				var from int
				fmt.Sscanf(c.rng, "bytes=%d-", &from)
				want = data[from:]
			}
			out, err := e.s3.GetObject(ctx, in)
			if c.headerErr {
				if s3Code(err) != "XMinioObjectTampered" || !strings.Contains(err.Error(), "500") {
					t.Fatalf("want a 500 XMinioObjectTampered answer, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want the error in the stream, got %v", err)
			}
			got, rerr := io.ReadAll(out.Body)
			out.Body.Close()
			if rerr == nil {
				t.Fatalf("GET of an altered object read %d bytes without error", len(got))
			}
			if len(got) >= len(want) || !bytes.Equal(got, want[:len(got)]) {
				t.Fatalf("received %d bytes, not a strict unaltered prefix of %d", len(got), len(want))
			}
		})
	}
}
