package testutil

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSyncBufferConcurrentWrites(t *testing.T) {
	t.Parallel()
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Errorf("after 800 one-byte writes the buffer holds %d bytes", len(got))
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewClock(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("Now = %v, want %v", got, t0)
	}
	c.Advance(time.Hour)
	if got := c.Now(); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("after Advance(1h) Now = %v, want %v", got, t0.Add(time.Hour))
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("after Set Now = %v, want %v", got, t0)
	}
	if got := new(Clock).Now(); !got.IsZero() {
		t.Errorf("zero Clock reads %v, want the zero time", got)
	}
}

func TestFreeAddr(t *testing.T) {
	t.Parallel()
	addr := FreeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on FreeAddr's %s: %v", addr, err)
	}
	ln.Close()
}

// TestNeedCPU: a present feature lets the test run on; a missing one skips it outside CI.
func TestNeedCPU(t *testing.T) {
	var have, missing *testing.T
	t.Run("have", func(t *testing.T) { have = t; NeedCPU(t, "X", true) })
	t.Run("missing", func(t *testing.T) {
		missing = t
		t.Setenv("CI", "")
		NeedCPU(t, "X", false)
		t.Error("NeedCPU returned for a missing feature")
	})
	if have.Skipped() || !missing.Skipped() {
		t.Errorf("skipped: with the feature %v (want false), without it %v (want true)", have.Skipped(), missing.Skipped())
	}
}
