package s3lite

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"hash"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/s3lite/internal/checksum"
	md5simd "github.com/minio/md5-simd"
)

// TestMD5LanesChoice checks which hash md5Lanes hands out: crypto/md5 for one-chunk bodies
// and for the first md5LanesMin-1 large uploads at once, a SIMD lane from then on, and
// crypto/md5 again after close; every hash sums right, and close stops the server only
// once its last lane is released.
func TestMD5LanesChoice(t *testing.T) {
	t.Parallel()
	var l md5Lanes
	data := randBytes(3*chunkSize + 7)
	want := md5.Sum(data)
	check := func(h hash.Hash) {
		t.Helper()
		h.Write(data)
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("md5 %x, want %x", got, want)
		}
	}
	isLane := func(h hash.Hash) bool { _, ok := h.(md5simd.Hasher); return ok }

	small, relSmall := l.get(false)
	if isLane(small) {
		t.Fatal("a one-chunk body got a SIMD lane")
	}
	check(small)
	relSmall()

	var rels []func()
	for i := 1; i <= md5LanesMin+1; i++ {
		h, rel := l.get(true)
		if lane := isLane(h); lane != (i >= md5LanesMin) {
			t.Fatalf("large upload %d of %d at once: lane %v", i, i, lane)
		}
		check(h)
		rels = append(rels, rel)
	}
	for _, rel := range rels[:md5LanesMin] {
		rel()
	}
	l.close()
	if l.srv == nil {
		t.Fatal("close stopped the server while a lane was still out")
	}
	rels[md5LanesMin]()
	if l.srv != nil || l.lanes != 0 || l.streamed != 0 {
		t.Fatalf("after the last release: server %v, lanes %d, streamed %d", l.srv, l.lanes, l.streamed)
	}
	for range md5LanesMin {
		h, rel := l.get(true)
		if isLane(h) {
			t.Fatal("a lane after close")
		}
		check(h)
		defer rel()
	}
}

// TestMD5LanesServerGenerations checks that an md5-simd server hands out md5ServerHashes
// lanes and then retires: the next lane starts a new server, and the retired one stops once
// its last lane is released (md5-simd keeps every hash it ever served until its server
// stops), while hashes on both servers sum right.
func TestMD5LanesServerGenerations(t *testing.T) {
	t.Parallel()
	var l md5Lanes
	data := randBytes(2*chunkSize + 3)
	want := md5.Sum(data)
	hs, rels, releasePlain := lanesOf(t, &l, md5ServerHashes+1)
	defer releasePlain()
	first, last := hs[0].(*laneHash).srv, hs[md5ServerHashes].(*laneHash).srv
	for i, h := range hs[:md5ServerHashes] {
		if h.(*laneHash).srv != first {
			t.Fatalf("lane %d is on another server than lane 0", i)
		}
	}
	if last == first {
		t.Fatalf("lane %d is on the first server, which hands out %d", md5ServerHashes, md5ServerHashes)
	}
	for _, h := range []hash.Hash{hs[0], hs[md5ServerHashes]} {
		h.Write(data)
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("md5 %x, want %x", got, want)
		}
	}
	for i, rel := range rels[:md5ServerHashes] {
		if first.stopped {
			t.Fatalf("the retired server stopped with %d of its lanes out", md5ServerHashes-i)
		}
		rel()
	}
	if !first.stopped || last.stopped {
		t.Fatalf("after the retired server's last release: retired stopped %v, current stopped %v", first.stopped, last.stopped)
	}
	rels[md5ServerHashes]()
	if last.stopped || l.srv != last {
		t.Fatal("the current server stopped without close")
	}
	l.close()
	if !last.stopped || l.srv != nil {
		t.Fatal("close left the idle current server running")
	}
}

// lanesOf returns n md5-simd lanes of l (taking md5LanesMin-1 crypto/md5 hashes first) and
// a function that releases the crypto/md5 ones.
func lanesOf(t *testing.T, l *md5Lanes, n int) ([]hash.Hash, []func(), func()) {
	t.Helper()
	var plain []func()
	for range md5LanesMin - 1 {
		_, rel := l.get(true)
		plain = append(plain, rel)
	}
	var hs []hash.Hash
	var rels []func()
	for range n {
		h, rel := l.get(true)
		if _, ok := h.(*laneHash); !ok {
			t.Fatal("no lane")
		}
		hs, rels = append(hs, h), append(rels, rel)
	}
	return hs, rels, func() {
		for _, rel := range plain {
			rel()
		}
	}
}

// waitingAt returns the number of lanes waiting at l's gate.
func waitingAt(l *md5Lanes) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiting
}

// waitAtGate returns once n lanes wait at l's gate.
func waitAtGate(l *md5Lanes, n int) {
	for waitingAt(l) != n {
		runtime.Gosched()
	}
}

// newGateTest returns md5LanesMin lanes of an md5Lanes whose gate waits at most wait, the
// functions that release them, and size random bytes with their MD5; the crypto/md5 slots
// taken first and the server are released at cleanup.
func newGateTest(t *testing.T, wait time.Duration, size int) (*md5Lanes, []hash.Hash, []func(), []byte, [md5.Size]byte) {
	t.Helper()
	l := &md5Lanes{wait: wait}
	hs, rels, relPlain := lanesOf(t, l, md5LanesMin)
	t.Cleanup(func() { relPlain(); l.close() })
	data := randBytes(size)
	return l, hs, rels, data, md5.Sum(data)
}

// TestMD5LanesGate: writes to lanes wait at the gate until every lane has one waiting (the
// gate never times out here, so the writes finishing shows the count opened it), and the
// waiting writes go on when a lane is released and too few are left to wait for.
func TestMD5LanesGate(t *testing.T) {
	t.Parallel()
	l, hs, rels, data, want := newGateTest(t, time.Hour, chunkSize)
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.Write(data)
		}()
	}
	wg.Wait()
	for i, h := range hs {
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("lane %d: md5 %x, want %x", i, got, want)
		}
	}

	// Two lanes wait for the third, which is released instead of writing.
	for _, h := range hs[:2] {
		h.Reset()
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.Write(data)
		}()
	}
	waitAtGate(l, 2)
	rels[2]()
	wg.Wait()
	for i, h := range hs[:2] {
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("lane %d after the release: md5 %x, want %x", i, got, want)
		}
		rels[i]()
	}
	if l.lanes != 0 || l.gate != nil || l.waiting != 0 {
		t.Fatalf("after all releases: lanes %d, gate %v, waiting %d", l.lanes, l.gate, l.waiting)
	}
}

// TestMD5LanesGateTimeout: a lane whose peers send nothing writes after the gate's wait.
func TestMD5LanesGateTimeout(t *testing.T) {
	t.Parallel()
	l, hs, rels, data, want := newGateTest(t, time.Millisecond, 1000)
	hs[0].Write(data)
	if got := hs[0].Sum(nil); !bytes.Equal(got, want[:]) {
		t.Fatalf("md5 %x, want %x", got, want)
	}
	if waiting := waitingAt(l); waiting != 0 {
		t.Fatalf("%d lanes still counted at the gate after the timeout", waiting)
	}
	for _, rel := range rels {
		rel()
	}
}

// TestMD5LanesBehind: a lane that has fallen behind writes without waiting at the gate (which
// never times out here) and lets the lane waiting there go with it.
func TestMD5LanesBehind(t *testing.T) {
	t.Parallel()
	l, hs, rels, data, want := newGateTest(t, time.Hour, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs[1].Write(data)
	}()
	waitAtGate(l, 1)
	lane := hs[0].(*laneHash)
	lane.behind = true
	lane.Write(data)
	<-done
	for i, h := range hs[:2] {
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("lane %d: md5 %x, want %x", i, got, want)
		}
	}
	for _, rel := range rels {
		rel()
	}
}

// TestWriteBodyConcurrentMD5 writes bodies of many sizes at once through writeBody, so
// that most hash in SIMD lanes side by side, and checks each one's MD5 and checksum.
func TestWriteBodyConcurrentMD5(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sizes := []int{0, 5, chunkSize, chunkSize + 1, 2*chunkSize - 3, 5*chunkSize + darePayload + 9, 9 * chunkSize}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(sizes))
	for i := range 4 * len(sizes) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := randBytes(sizes[i%len(sizes)] + i)
			var key []byte
			if i%2 == 0 {
				key = randBytes(32)
			}
			f, res, err := e.srv.writeBody(context.Background(), bytes.NewReader(data), key, nil, checksum.CRC32C, maxObjectSize)
			if err != nil {
				errs <- err
				return
			}
			discard(f)
			if want := md5.Sum(data); !bytes.Equal(res.md5, want[:]) || !bytes.Equal(res.sum, checksum.CRC32C.Sum(data)) {
				errs <- fmt.Errorf("body %d of %d bytes: md5 %x want %x", i, len(data), res.md5, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if e.srv.md5.streamed != 0 || e.srv.md5.lanes != 0 {
		t.Fatalf("md5 lanes not all released: streamed %d, lanes %d", e.srv.md5.streamed, e.srv.md5.lanes)
	}
}

// BenchmarkETagMD5 hashes 16 MiB per stream in 256 KiB writes, 1, 4 and 16 streams at
// once, with crypto/md5 and with md5-simd lanes (what md5Lanes chooses between).
func BenchmarkETagMD5(b *testing.B) {
	buf := randBytes(chunkSize)
	srv := md5simd.NewServer()
	defer srv.Close()
	kinds := []struct {
		name string
		get  func() (hash.Hash, func())
	}{
		{"crypto", func() (hash.Hash, func()) { return md5.New(), func() {} }},
		{"simd", func() (hash.Hash, func()) { h := srv.NewHash(); return h, h.Close }},
	}
	for _, streams := range []int{1, 4, 16} {
		for _, k := range kinds {
			b.Run(fmt.Sprintf("%s/streams=%d", k.name, streams), func(b *testing.B) {
				b.SetBytes(int64(streams) * 16 << 20)
				for b.Loop() {
					var wg sync.WaitGroup
					for range streams {
						wg.Add(1)
						go func() {
							defer wg.Done()
							h, rel := k.get()
							defer rel()
							for range (16 << 20) / chunkSize {
								h.Write(buf)
							}
							h.Sum(nil)
						}()
					}
					wg.Wait()
				}
			})
		}
	}
}
