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
func BenchmarkPut16MiB(b *testing.B) { benchPut16(b, 4) }

// BenchmarkPut16MiBSerial is BenchmarkPut16MiB at concurrency 1.
func BenchmarkPut16MiBSerial(b *testing.B) { benchPut16(b, 1) }

func benchPut16(b *testing.B, conc int) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("sse-s3=%v", on), func(b *testing.B) {
			e := newEnv(b)
			bk := e.bucket("bench")
			data := randBytes(16 << 20)
			b.SetBytes(int64(len(data)))
			runConcurrent(b, conc, func(i int) error {
				_, err := e.mc.PutObject(context.Background(), bk, fmt.Sprint("o", i%8), bytes.NewReader(data), int64(len(data)),
					minio.PutObjectOptions{ServerSideEncryption: benchSSE(on), DisableMultipart: true})
				return err
			})
		})
	}
}

// BenchmarkGet16MiB: GetObject of 16 MiB objects at concurrency 4.
func BenchmarkGet16MiB(b *testing.B) { benchGet16(b, 4) }

// BenchmarkGet16MiBSerial is BenchmarkGet16MiB at concurrency 1.
func BenchmarkGet16MiBSerial(b *testing.B) { benchGet16(b, 1) }

func benchGet16(b *testing.B, conc int) {
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
			runConcurrent(b, conc, func(i int) error {
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

// BenchmarkSioRawEncrypt16MiB is the ceiling of encrypted uploads: DARE
// encryption alone (memory to io.Discard) of 16 MiB streams at
// concurrency 4, as BenchmarkHandler16MiB/put/sse-s3=true runs them.
func BenchmarkSioRawEncrypt16MiB(b *testing.B) {
	data := randBytes(16 << 20)
	key := randBytes(32)
	b.SetBytes(int64(len(data)))
	runConcurrent(b, 4, func(int) error {
		_, err := sio.Encrypt(io.Discard, bytes.NewReader(data), dareConfig(key))
		return err
	})
}

// BenchmarkSioRawDecrypt16MiB is the ceiling of encrypted downloads: DARE
// decryption alone of 16 MiB streams at concurrency 4.
func BenchmarkSioRawDecrypt16MiB(b *testing.B) {
	key := randBytes(32)
	var ct bytes.Buffer
	if _, err := sio.Encrypt(&ct, bytes.NewReader(randBytes(16<<20)), dareConfig(key)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(16 << 20)
	runConcurrent(b, 4, func(int) error {
		_, err := sio.Decrypt(io.Discard, bytes.NewReader(ct.Bytes()), dareConfig(key))
		return err
	})
}

// discardWriter is a ResponseWriter that throws the body away.
type discardWriter struct {
	h http.Header
	n int64
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return len(p), nil
}
func (d *discardWriter) WriteHeader(code int) {
	if code >= 300 {
		panic(fmt.Sprintf("status %d", code))
	}
}

// BenchmarkHandler16MiB measures the server alone (no TLS, no client):
// signed UNSIGNED-PAYLOAD PUTs and GETs of 16 MiB straight into the
// handler at concurrency 4. With sse-s3=true it is the "encrypted
// large-object throughput" to compare with BenchmarkSioRawEncrypt16MiB
// (put) and BenchmarkSioRawDecrypt16MiB (get).
func BenchmarkHandler16MiB(b *testing.B) { benchHandler(b, 4) }

// BenchmarkHandler16MiBSerial is BenchmarkHandler16MiB at concurrency 1:
// what a single request gets out of the machine.
func BenchmarkHandler16MiBSerial(b *testing.B) { benchHandler(b, 1) }

func benchHandler(b *testing.B, conc int) {
	for _, op := range []string{"put", "get"} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/sse-s3=%v", op, on), func(b *testing.B) {
				e := newEnv(b)
				bk := e.bucket("bench")
				data := randBytes(16 << 20)
				sum := md5.Sum(data)
				etag := fmt.Sprintf(`"%x"`, sum)
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
					w := &discardWriter{h: http.Header{}}
					h.ServeHTTP(w, req)
					if got := w.h.Get("ETag"); got != etag {
						return fmt.Errorf("%s %s: ETag %s, want %s", method, key, got, etag)
					}
					if method == http.MethodGet && w.n != int64(len(data)) {
						return fmt.Errorf("GET %s: %d bytes", key, w.n)
					}
					return nil
				}
				for i := 0; i < 4; i++ {
					if err := do(http.MethodPut, fmt.Sprint("o", i)); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(len(data)))
				method := http.MethodGet
				if op == "put" {
					method = http.MethodPut
				}
				runConcurrent(b, conc, func(i int) error { return do(method, fmt.Sprint("o", i%4)) })
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

// BenchmarkBodyRead16MiB reads a 16 MiB plaintext body file from the page cache as a GET
// does, without and with block hash verification: the cost of the hashes alone, free of
// the TLS and network noise of BenchmarkGet16MiB.
func BenchmarkBodyRead16MiB(b *testing.B) {
	const size = 16 << 20
	key := randBytes(32)
	data := randBytes(size)
	var file bytes.Buffer
	hw := newHashingWriter(&file, key)
	if _, err := hw.Write(data); err != nil {
		b.Fatal(err)
	}
	root, err := hw.finish()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "body")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf, blk := make([]byte, chunkSize), make([]byte, hashBlock)
	for _, hashed := range []bool{false, true} {
		b.Run(fmt.Sprintf("hashed=%v", hashed), func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				var r io.Reader = io.NewSectionReader(f, 0, size)
				if hashed {
					hr, err := newHashedReader(f, key, size, root, 0, size, blk)
					if err != nil {
						b.Fatal(err)
					}
					r = hr
				}
				if n, err := io.CopyBuffer(io.Discard, onlyReader{r}, buf); err != nil || n != size {
					b.Fatal(n, err)
				}
			}
		})
	}
}
