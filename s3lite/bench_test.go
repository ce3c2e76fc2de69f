package s3lite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
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

// BenchmarkPutSmall: PutObject of 4 KiB objects at concurrency 16; ns/op
// gives ops/s (each PUT fsyncs a file, its directory and the bolt commit).
func BenchmarkPutSmall(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("sse-s3=%v", on), func(b *testing.B) {
			e := newEnv(b)
			bk := e.bucket("bench")
			data := randBytes(4 << 10)
			runConcurrent(b, 16, func(i int) error {
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
