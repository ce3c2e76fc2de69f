//go:build unix

package s3lite

import (
	"crypto/md5"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkETagMD5Paced hashes four uploads that each receive a 256 KiB chunk every 5 ms
// (bodies arriving at network speed, as in the side-by-side benchmark) and reports the
// process CPU time per round: crypto/md5, lanes without the gate (a 1 ns wait) and behind
// it.
func BenchmarkETagMD5Paced(b *testing.B) {
	buf := randBytes(chunkSize)
	kinds := []struct {
		name string
		wait time.Duration // 0: crypto/md5
	}{{"crypto", 0}, {"lanes-nogate", time.Nanosecond}, {"lanes-gate", md5GateWait}}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			l := &md5Lanes{wait: k.wait}
			var cpu time.Duration
			for b.Loop() {
				// Hold md5LanesMin-1 streamed slots so that all four get lanes, as uploads
				// do that start while others run.
				var held []func()
				for range md5LanesMin - 1 {
					_, rel := l.get(true)
					held = append(held, rel)
				}
				c0 := processCPU()
				var wg sync.WaitGroup
				for s := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						h, rel := l.get(k.wait != 0)
						if k.wait == 0 {
							h, rel = md5.New(), func() {}
						}
						defer rel()
						time.Sleep(time.Duration(s) * 1300 * time.Microsecond)
						for range 32 {
							h.Write(buf)
							time.Sleep(5 * time.Millisecond)
						}
						h.Sum(nil)
					}()
				}
				wg.Wait()
				cpu += processCPU() - c0
				for _, rel := range held {
					rel()
				}
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
