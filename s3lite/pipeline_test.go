package s3lite

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"github.com/kmsbox/kmsbox/s3lite/internal/checksum"
	"github.com/minio/sio"
)

// TestWriteBodySizes streams bodies around the chunk and DARE package
// boundaries through writeBody, in large and in tiny reads, and checks the
// stored bytes (decrypted), the size, the MD5 and the checksum.
func TestWriteBodySizes(t *testing.T) {
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
