package s3lite

import (
	"context"
	"crypto/sha256"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// patternReader yields n pseudo-random bytes without holding them: patternBlock over
// and over, copied a Read at a time (a byte-at-a-time generator costs seconds per 256 MiB
// under -race).
type patternReader struct {
	n, off int64
}

// patternBlock is 1 MiB and 3 bytes of pseudo-random data: no 64 KiB package of a body
// repeats another at the same offset within the block.
var patternBlock = sync.OnceValue(func() []byte {
	b := make([]byte, 1<<20+3)
	state := uint64(1)
	for i := range b {
		state = state*6364136223846793005 + 1442695040888963407
		b[i] = byte(state >> 56)
	}
	return b
})

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n-p.off {
		b = b[:p.n-p.off]
	}
	block := patternBlock()
	n := 0
	for n < len(b) {
		n += copy(b[n:], block[(p.off+int64(n))%int64(len(block)):])
	}
	p.off += int64(n)
	return n, nil
}

// heapPeak samples the live heap until stop is called and returns the peak
// growth over the heap at start.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		if peak < base {
			return 0
		}
		return peak - base
	}
}

// sseRoundTripMemory PUTs (minio-go) and GETs (aws-sdk-go-v2) size bytes
// with SSE-S3 and returns the peak heap growth of the whole process
// (clients and server).
func sseRoundTripMemory(tb testing.TB, e *env, size int64) uint64 {
	ctx := context.Background()
	b := "memory"
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		tb.Fatal(err)
	}
	want := sha256.New()
	_, _ = io.Copy(want, &patternReader{n: size})
	stop := heapPeak()
	// minio-go streams a single PUT (UNSIGNED-PAYLOAD over TLS). aws-sdk-go-v2
	// would send the whole body as ONE aws-chunked chunk, which
	// internal/sigv4 refuses above 16 MiB (see the package report).
	_, err := e.mc.PutObject(ctx, b, "big", &patternReader{n: size}, size,
		minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE(), DisableMultipart: true})
	if err != nil {
		stop()
		tb.Fatal(err)
	}
	out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("big")})
	if err != nil {
		stop()
		tb.Fatal(err)
	}
	got := sha256.New()
	n, err := io.CopyBuffer(got, out.Body, make([]byte, 64<<10))
	out.Body.Close()
	peak := stop()
	if err != nil || n != size || string(got.Sum(nil)) != string(want.Sum(nil)) {
		tb.Fatalf("GET: %v, %d bytes, hash equal=%v", err, n, string(got.Sum(nil)) == string(want.Sum(nil)))
	}
	return peak
}

// TestStreamingMemory: a 256 MiB SSE-S3 PUT and GET keep the heap growth
// under 64 MiB (BenchmarkStreamingMemory1GiB does 1 GiB).
func TestStreamingMemory(t *testing.T) {
	e := newEnv(t)
	peak := sseRoundTripMemory(t, e, 256<<20)
	t.Logf("peak heap growth for 256 MiB: %.1f MiB", float64(peak)/(1<<20))
	if peak > 64<<20 {
		t.Errorf("heap grew by %d MiB", peak>>20)
	}
}

// BenchmarkStreamingMemory1GiB reports the peak heap growth of a 1 GiB
// SSE-S3 PUT and GET (issue item 9: under 64 MiB).
func BenchmarkStreamingMemory1GiB(b *testing.B) {
	for i := 0; i < b.N; i++ {
		e := newEnv(b)
		peak := sseRoundTripMemory(b, e, 1<<30)
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		if peak > 64<<20 {
			b.Errorf("heap grew by %d MiB", peak>>20)
		}
	}
}
