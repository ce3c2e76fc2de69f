package s3lite

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/signer"
	"github.com/minio/sio"
)

// runConcurrent runs b.N calls of fn spread over conc goroutines.
func runConcurrent(b *testing.B, conc int, fn func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	b.ResetTimer()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func benchSSE(on bool) encrypt.ServerSide {
	if on {
		return encrypt.NewSSE()
	}
	return nil
}

// BenchmarkPut16MiB: PutObject of 16 MiB objects at concurrency 4 over TLS
// with minio-go; MB/s is the figure.
func BenchmarkPut16MiB(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("sse-s3=%v", on), func(b *testing.B) {
			e := newEnv(b)
			bk := e.bucket("bench")
			data := randBytes(16 << 20)
			b.SetBytes(int64(len(data)))
			runConcurrent(b, 4, func(i int) error {
				_, err := e.mc.PutObject(context.Background(), bk, fmt.Sprint("o", i%8), bytes.NewReader(data), int64(len(data)),
					minio.PutObjectOptions{ServerSideEncryption: benchSSE(on), DisableMultipart: true})
				return err
			})
		})
	}
}

// BenchmarkGet16MiB: GetObject of 16 MiB objects at concurrency 4.
func BenchmarkGet16MiB(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("sse-s3=%v", on), func(b *testing.B) {
			e := newEnv(b)
			bk := e.bucket("bench")
			data := randBytes(16 << 20)
			for i := 0; i < 4; i++ {
				if _, err := e.mc.PutObject(context.Background(), bk, fmt.Sprint("o", i), bytes.NewReader(data), int64(len(data)),
					minio.PutObjectOptions{ServerSideEncryption: benchSSE(on), DisableMultipart: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(data)))
			runConcurrent(b, 4, func(i int) error {
				obj, err := e.mc.GetObject(context.Background(), bk, fmt.Sprint("o", i%4), minio.GetObjectOptions{})
				if err != nil {
					return err
				}
				defer obj.Close()
				n, err := io.CopyBuffer(io.Discard, obj, make([]byte, 256<<10))
				if err == nil && n != int64(len(data)) {
					err = io.ErrUnexpectedEOF
				}
				return err
			})
		})
	}
}

// BenchmarkPutSmall: PutObject of 4 KiB objects at concurrency 1 and 16
// (each PUT fsyncs a file and its directory; bolt commits are batched).
func BenchmarkPutSmall(b *testing.B) {
	for _, conc := range []int{1, 16} {
		benchPutSmall(b, conc)
	}
}

func benchPutSmall(b *testing.B, conc int) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("conc=%d/sse-s3=%v", conc, on), func(b *testing.B) {
			e := newEnv(b)
			bk := e.bucket("bench")
			data := randBytes(4 << 10)
			runConcurrent(b, conc, func(i int) error {
				_, err := e.mc.PutObject(context.Background(), bk, fmt.Sprint("small/", i), bytes.NewReader(data), int64(len(data)),
					minio.PutObjectOptions{ServerSideEncryption: benchSSE(on)})
				return err
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkSioEncrypt16MiB is the ceiling: DARE encryption alone, one
// stream per core as the servers use it.
func BenchmarkSioEncrypt16MiB(b *testing.B) {
	data := randBytes(16 << 20)
	key := randBytes(32)
	b.SetBytes(int64(len(data)))
	runConcurrent(b, 4, func(int) error {
		_, err := sio.Encrypt(io.Discard, bytes.NewReader(data), dareConfig(key))
		return err
	})
}

// discardWriter is a ResponseWriter that throws the body away.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int) {
	if code >= 300 {
		panic(fmt.Sprintf("status %d", code))
	}
}

// BenchmarkHandler16MiB measures the server alone (no TLS, no client):
// signed UNSIGNED-PAYLOAD PUTs and GETs of 16 MiB straight into the
// handler at concurrency 4, to compare with BenchmarkSioEncrypt16MiB.
func BenchmarkHandler16MiB(b *testing.B) {
	for _, op := range []string{"put", "get"} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/sse-s3=%v", op, on), func(b *testing.B) {
				e := newEnv(b)
				bk := e.bucket("bench")
				data := randBytes(16 << 20)
				h := e.srv.Handler()
				do := func(method, key string) error {
					var body io.Reader
					if method == http.MethodPut {
						body = bytes.NewReader(data)
					}
					req := httptest.NewRequest(method, "http://127.0.0.1/"+bk+"/"+key, body)
					req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
					if on && method == http.MethodPut {
						req.Header.Set("X-Amz-Server-Side-Encryption", "AES256")
					}
					req = signer.SignV4(*req, testAccess, testSecret, "", "us-east-1")
					h.ServeHTTP(&discardWriter{h: http.Header{}}, req)
					return nil
				}
				for i := 0; i < 4; i++ {
					_ = do(http.MethodPut, fmt.Sprint("o", i))
				}
				b.SetBytes(int64(len(data)))
				method := http.MethodGet
				if op == "put" {
					method = http.MethodPut
				}
				runConcurrent(b, 4, func(i int) error { return do(method, fmt.Sprint("o", i%4)) })
			})
		}
	}
}

// BenchmarkLimits16MiB gives the other ceilings of an upload on this
// machine: MD5 (every PUT computes the ETag) and writing+fsyncing a file.
func BenchmarkLimits16MiB(b *testing.B) {
	data := randBytes(16 << 20)
	b.Run("md5", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		runConcurrent(b, 4, func(int) error { md5.Sum(data); return nil })
	})
	b.Run("write+fsync", func(b *testing.B) {
		dir := b.TempDir()
		b.SetBytes(int64(len(data)))
		runConcurrent(b, 4, func(i int) error {
			f, err := os.Create(filepath.Join(dir, fmt.Sprint(i%4)))
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := f.Write(data); err != nil {
				return err
			}
			return f.Sync()
		})
	})
}
