//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Soak sizes: soakWorkers clients for KMSBOX_SOAK (20s in `make test`, 10m in `make soak`),
// sampled every soakSample.
const (
	soakWorkers = 64
	soakSample  = time.Second
	soakBucket  = "soak"
	// soakGrowth is how much the last third's peak RSS and stack memory may exceed the first
	// third's: generous, since caches, bbolt's mmap and the GC's heap target settle during
	// the run; a leak of one goroutine or buffer per request at hundreds of requests a second
	// outgrows it within minutes.
	soakGrowth = 1.5
)

// soakReading is one sample of the server process.
type soakReading struct {
	rss   int64 // VmRSS, bytes
	stack int64 // kes_system_mem_stack_used: goroutine stacks, bytes (kmsbox exports no goroutine count)
}

// TestSoak runs a bounded mixed load (S3 PUT, GET and DELETE of small objects, KES data key
// generation, KV v2 writes and reads) at concurrency 64 against the real binary and reports
// ops/s, p50/p99 latency and errors (which must be 0), and samples the process's RSS and its
// goroutine stack memory, which must level off: the last third's peak within soakGrowth of
// the first third's.
func TestSoak(t *testing.T) {
	d := envDuration(t, "KMSBOX_SOAK", 20*time.Second)
	srv := startServer(t, t.TempDir())
	c := newLoadClients(t, srv)
	c.kes.Transport.(*http.Transport).MaxIdleConnsPerHost = soakWorkers
	ctx := context.Background()
	c.enableKV(t)
	must(t, "make bucket", c.s3.MakeBucket(ctx, soakBucket, minio.MakeBucketOptions{}))
	if code, err := c.kesDo(ctx, http.MethodPost, "/v1/key/create/soak", nil); err != nil || code != http.StatusOK {
		t.Fatalf("create KES key: %d %v", code, err)
	}

	lctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      []string
		wg        sync.WaitGroup
	)
	for w := range soakWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := 0; lctx.Err() == nil; i++ {
				start := time.Now()
				err := soakOp(lctx, c, w, i)
				if lctx.Err() != nil {
					break // cut off by the end of the run, not a failure
				}
				mine = append(mine, time.Since(start))
				if err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	var samples []soakReading
	tick := time.NewTicker(soakSample)
	for sampling := true; sampling; {
		select {
		case <-tick.C:
			samples = append(samples, readProcess(t, srv, c))
		case <-lctx.Done():
			sampling = false
		}
	}
	tick.Stop()
	wg.Wait()

	slices.Sort(latencies)
	n := len(latencies)
	if n == 0 {
		t.Fatal("no operation finished")
	}
	t.Logf("soak %v at concurrency %d: %d ops, %.0f ops/s, p50 %v, p99 %v, %d errors",
		d, soakWorkers, n, float64(n)/d.Seconds(), latencies[n/2], latencies[n*99/100], len(errs))
	for i, s := range samples {
		t.Logf("sample %3d: RSS %6.1f MiB, stacks %6.1f MiB", i, float64(s.rss)/(1<<20), float64(s.stack)/(1<<20))
	}
	if len(errs) > 0 {
		t.Errorf("%d errors, want 0; first: %s", len(errs), errs[0])
	}
	if len(samples) < 6 {
		t.Fatalf("only %d samples", len(samples))
	}
	third := len(samples) / 3
	peak := func(s []soakReading, f func(soakReading) int64) int64 {
		var m int64
		for _, r := range s {
			m = max(m, f(r))
		}
		return m
	}
	for what, f := range map[string]func(soakReading) int64{
		"RSS":              func(r soakReading) int64 { return r.rss },
		"goroutine stacks": func(r soakReading) int64 { return r.stack },
	} {
		first, last := peak(samples[:third], f), peak(samples[len(samples)-third:], f)
		if float64(last) > soakGrowth*float64(first) {
			t.Errorf("%s does not level off: last third's peak %d bytes, first third's %d (bound ×%.1f)", what, last, first, soakGrowth)
		}
	}
}

// soakOp runs worker w's i-th operation.
func soakOp(ctx context.Context, c *loadClients, w, i int) error {
	key := fmt.Sprintf("w%d/o%d", w, i%4)
	switch i % 5 {
	case 0, 1:
		data, _ := randomData(4<<10 + randN(60<<10))
		return c.putObject(ctx, soakBucket, key, data, 0)
	case 2:
		_, err := c.getHash(ctx, soakBucket, key)
		if err != nil && minio.ToErrorResponse(err).Code == "NoSuchKey" {
			err = nil
		}
		return err
	case 3:
		code, err := c.kesDo(ctx, http.MethodPost, "/v1/key/generate/soak", []byte(`{}`))
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("KES generate answered %d", code)
		}
		return err
	default:
		kv := fmt.Sprintf("w%d-k%d", w, i%3)
		if err := c.kvWrite(ctx, 2, kv, strconv.Itoa(i)); err != nil {
			return err
		}
		if got, err := c.kvRead(ctx, 2, kv); err != nil || got != strconv.Itoa(i) {
			return fmt.Errorf("kv read back %q, %v", got, err)
		}
		if i%40 == 4 {
			return c.s3.RemoveObject(ctx, soakBucket, key, minio.RemoveObjectOptions{})
		}
		return nil
	}
}

// readProcess samples the server: VmRSS from /proc/<pid>/status and the goroutine stack
// memory from KES's /v1/metrics.
func readProcess(t testing.TB, srv *proc, c *loadClients) soakReading {
	t.Helper()
	var r soakReading
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid))
	must(t, "proc status", err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			r.rss = kb << 10
		}
	}
	req, err := http.NewRequest(http.MethodGet, c.kesURL+"/v1/metrics", nil)
	must(t, "metrics request", err)
	resp, err := c.kes.Do(req)
	must(t, "metrics", err)
	defer resp.Body.Close()
	sc = bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "kes_system_mem_stack_used "); ok {
			fv, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			r.stack = int64(fv)
		}
	}
	if r.rss == 0 || r.stack == 0 {
		t.Fatalf("sample without RSS (%d) or stack memory (%d)", r.rss, r.stack)
	}
	return r
}
