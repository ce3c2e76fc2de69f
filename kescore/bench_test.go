package kescore

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkGenerateDecrypt measures generate+decrypt pairs per second over
// mTLS with the real client, at 1, 8 and 32 concurrent callers.
func BenchmarkGenerateDecrypt(b *testing.B) {
	e := newEnv(b, nil)
	c := e.client(e.minio)
	if err := c.CreateKey(ctx(b), "minio-key-1"); err != nil {
		b.Fatal(err)
	}
	assoc := []byte(`{"bucket/object":""}`)
	for _, conc := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, conc)
			start := time.Now()
			b.ResetTimer()
			for range conc {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						dek, err := c.GenerateKey(ctx(b), "minio-key-1", assoc)
						if err != nil {
							errs <- err
							return
						}
						p, err := c.Decrypt(ctx(b), "minio-key-1", dek.Ciphertext, assoc)
						if err != nil || !bytes.Equal(p, dek.Plaintext) {
							errs <- fmt.Errorf("decrypt: %v", err)
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
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pairs/s")
		})
	}
}
