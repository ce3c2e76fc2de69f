//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The closed-loop S3 load generator of the side-by-side benchmark (TestBenchVsMinIO): a fixed
// number of workers, each issuing its next request as soon as the last one answered, until
// the workload's operation count or time is used up.

// dataPool is random, incompressible data that every object body is cut from, generated once.
type dataPool []byte

func newDataPool(n int) dataPool {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// object is the body of object number i of size n (at most the pool's size): a window of the
// pool at an offset that depends on i, so that objects differ but a key's body never changes.
func (p dataPool) object(i, n int) []byte {
	off := (i * 7919 * 64) % (len(p) - n + 1)
	return p[off : off+n]
}

// repeatReader streams size bytes repeating the pool, so a 1 GiB upload never holds 1 GiB in
// memory. As an io.ReaderAt it lets minio-go upload the parts in parallel without buffering.
type repeatReader struct {
	p         dataPool
	size, off int64
}

func (r *repeatReader) Read(b []byte) (int, error) {
	n, err := r.ReadAt(b, r.off)
	r.off += int64(n)
	return n, err
}

func (r *repeatReader) ReadAt(b []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	short := false
	if rem := r.size - off; int64(len(b)) > rem {
		b, short = b[:rem], true
	}
	for n := 0; n < len(b); {
		n += copy(b[n:], r.p[(off+int64(n))%int64(len(r.p)):])
	}
	if short {
		return len(b), io.EOF
	}
	return len(b), nil
}

// opKind is what a workload's workers do.
type opKind int

const (
	opPut       opKind = iota // PUT object number n mod keys
	opGet                     // GET a random one of the keys and compare its bytes
	opMixed                   // 70 % GET, 30 % PUT of random keys
	opMultipart               // one multipart PUT of size bytes from a repeatReader
)

// workload is one line of the benchmark table.
type workload struct {
	name     string
	kind     opKind
	size     int    // object size in bytes
	conc     int    // workers
	prefix   string // key prefix; workloads sharing it share objects
	keys     int    // key space: what GETs read and PUTs overwrite (bounds the disk used)
	maxOps   int
	maxTime  time.Duration // no new operation starts after it
	partSize uint64        // for opMultipart
	opsRate  bool          // report ops/s instead of MiB/s
}

func (w workload) key(i int) string { return w.prefix + "/" + strconv.Itoa(i) }

// loadTarget is one S3 server under load.
type loadTarget struct {
	name   string
	s3     *minio.Client
	bucket string
	pid    int
}

// benchS3Client is a minio-go client for endpoint over TLS trusting only pool, without retries
// and with enough idle connections that no worker pays a new handshake per request.
func benchS3Client(t testing.TB, endpoint, access, secret, region string, pool *x509.CertPool) *minio.Client {
	t.Helper()
	tr, err := minio.DefaultTransport(true)
	if err != nil {
		t.Fatal(err)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 256
	c, err := minio.New(endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(access, secret, ""),
		Secure:     true,
		Transport:  tr,
		Region:     region,
		MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runStats is the outcome of one run of a workload against one target.
type runStats struct {
	ops      int
	bytes    int64
	elapsed  time.Duration
	lat      []time.Duration // sorted
	cpu      time.Duration   // the server's CPU time during the run
	errs     int
	firstErr error
}

// rate is MiB/s, or ops/s for an opsRate workload.
func (s runStats) rate(w workload) float64 {
	if s.elapsed <= 0 {
		return 0
	}
	if w.opsRate {
		return float64(s.ops) / s.elapsed.Seconds()
	}
	return float64(s.bytes) / (1 << 20) / s.elapsed.Seconds()
}

// pct is the q-quantile (0..1) of the latencies, nearest rank.
func (s runStats) pct(q float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(q*float64(len(s.lat))+0.5) - 1
	return s.lat[min(max(i, 0), len(s.lat)-1)]
}

// cores is the server's CPU time over the wall time: how many cores it kept busy.
func (s runStats) cores() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return s.cpu.Seconds() / s.elapsed.Seconds()
}

// workerStats is what one worker accumulates, merged when the run ends.
type workerStats struct {
	ops      int
	bytes    int64
	lat      []time.Duration
	errs     int
	firstErr error
}

// runLoad runs w against tg once and returns its statistics.
func runLoad(ctx context.Context, tg loadTarget, w workload, p dataPool) runStats {
	deadline := time.Now().Add(w.maxTime)
	// In-flight operations may finish after the deadline, but not hang the benchmark.
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(2*time.Minute))
	defer cancel()
	var next atomic.Int64
	workers := make([]workerStats, w.conc)
	cpu0 := procCPU(tg.pid)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range workers {
		ws := &workers[i]
		wg.Go(func() {
			var buf []byte
			if w.kind == opGet || w.kind == opMixed {
				buf = make([]byte, w.size+1)
			}
			for {
				n := int(next.Add(1) - 1)
				if n >= w.maxOps || time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				moved, err := doOp(ctx, tg, w, p, n, buf)
				d := time.Since(t0)
				if err != nil {
					ws.errs++
					if ws.firstErr == nil {
						ws.firstErr = err
					}
					continue
				}
				ws.ops++
				ws.bytes += moved
				ws.lat = append(ws.lat, d)
			}
		})
	}
	wg.Wait()
	s := runStats{elapsed: time.Since(start), cpu: procCPU(tg.pid) - cpu0}
	for _, ws := range workers {
		s.ops += ws.ops
		s.bytes += ws.bytes
		s.lat = append(s.lat, ws.lat...)
		s.errs += ws.errs
		if s.firstErr == nil {
			s.firstErr = ws.firstErr
		}
	}
	slices.Sort(s.lat)
	return s
}

// doOp performs operation number n of w and returns the bytes it moved.
func doOp(ctx context.Context, tg loadTarget, w workload, p dataPool, n int, buf []byte) (int64, error) {
	switch w.kind {
	case opPut:
		return putKey(ctx, tg, w, p, n%w.keys)
	case opGet:
		return getKey(ctx, tg, w, p, randN(w.keys), buf)
	case opMixed:
		if randN(10) < 7 {
			return getKey(ctx, tg, w, p, randN(w.keys), buf)
		}
		return putKey(ctx, tg, w, p, randN(w.keys))
	case opMultipart:
		size := int64(w.size)
		_, err := tg.s3.PutObject(ctx, tg.bucket, w.key(n%w.keys), &repeatReader{p: p, size: size}, size,
			minio.PutObjectOptions{PartSize: w.partSize, DisableContentSha256: true})
		return size, err
	}
	return 0, fmt.Errorf("unknown operation kind %d", w.kind)
}

// putKey stores object i of w's size under w's prefix.
func putKey(ctx context.Context, tg loadTarget, w workload, p dataPool, i int) (int64, error) {
	body := p.object(i, w.size)
	_, err := tg.s3.PutObject(ctx, tg.bucket, w.key(i), bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{DisableContentSha256: true})
	return int64(len(body)), err
}

// getKey reads object i of w into buf (one byte longer than the object, to notice a longer
// answer) and compares it with what was stored.
func getKey(ctx context.Context, tg loadTarget, w workload, p dataPool, i int, buf []byte) (int64, error) {
	o, err := tg.s3.GetObject(ctx, tg.bucket, w.key(i), minio.GetObjectOptions{})
	if err != nil {
		return 0, err
	}
	defer o.Close()
	n, err := io.ReadFull(o, buf)
	if !errors.Is(err, io.ErrUnexpectedEOF) && err != nil {
		return int64(n), err
	}
	if !bytes.Equal(buf[:n], p.object(i, w.size)) {
		return int64(n), fmt.Errorf("GET %s: %d bytes that differ from the %d stored", w.key(i), n, w.size)
	}
	return int64(n), nil
}

// fill stores every key of w once, at concurrency 8, so that its GETs find objects.
func fill(ctx context.Context, tg loadTarget, w workload, p dataPool) error {
	var next atomic.Int64
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= w.keys {
					errs <- nil
					return
				}
				if _, err := putKey(ctx, tg, w, p, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
	for range 8 {
		err = errors.Join(err, <-errs)
	}
	return err
}

// procCPU is the user plus system CPU time of process pid so far, 0 when unknown (it assumes
// the usual 100 clock ticks per second of Linux).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	rest := string(b[bytes.LastIndexByte(b, ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// procStatusKB is a "kB" line of /proc/<pid>/status, such as VmRSS or VmHWM.
func procStatusKB(t testing.TB, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("/proc/%d/status %s: %v", pid, field, err)
			}
			return kb
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// resetPeakRSS makes VmHWM of pid start again from the current RSS (proc(5), clear_refs 5).
func resetPeakRSS(t testing.TB, pid int) {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak RSS of %d: %v", pid, err)
	}
}
