// Package testutil holds the small helpers that the tests of several kmsbox packages share.
//
// It is for tests only: import it from _test.go files, never from code that ships. It imports
// no kmsbox package, so any package's tests may use it without an import cycle.
package testutil

import (
	"bytes"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer that goroutines may write into while a test reads it, such as
// the output of a component's logger. It is not tied to a testing.T: a server's goroutine may
// still write into it after the test has ended. The zero value is an empty buffer.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Clock is a settable clock for the injectable Now of a Config, safe for concurrent use. The
// zero value reads the zero time.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock that reads t until it is set or advanced.
func NewClock(t time.Time) *Clock {
	return &Clock{t: t}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// FreeAddr returns a loopback address (127.0.0.1:port) that was free a moment ago, for a
// server that must know its address before it listens, or that restarts on the same one.
// Another process may take the port in between; prefer passing a listener on 127.0.0.1:0.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// RunConcurrent runs b.N calls of op spread over conc goroutines, timing only the calls, and
// fails the benchmark with the first error. It returns the calls per second, for
// b.ReportMetric.
func RunConcurrent(b *testing.B, conc int, op func() error) (perSecond float64) {
	b.Helper()
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
				if err := op(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(b.N) / elapsed.Seconds()
}

// NeedCPU skips a test of code that runs only where the CPU has feature (have false), and
// fails it instead under CI=true: CI machines are of the kind the project targets and have
// it, so there a missing feature must not pass as a skip.
func NeedCPU(t testing.TB, feature string, have bool) {
	t.Helper()
	if have {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI=true and this CPU has no %s: the code under test would go untested", feature)
	}
	t.Skipf("this CPU has no %s: the code under test does not run here", feature)
}
