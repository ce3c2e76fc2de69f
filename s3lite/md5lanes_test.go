package s3lite

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"hash"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/internal/testutil"
	"github.com/kmsbox/kmsbox/s3lite/internal/checksum"
	"github.com/kmsbox/kmsbox/s3lite/internal/md5x"
)

// TestMD5LanesChoice checks which hash md5Lanes hands out: crypto/md5 for one-chunk bodies
// and for a large upload alone, a lane from md5LanesMin large uploads at once on (crypto/md5
// only, on a CPU without AVX-512); every hash sums right, and releasing them leaves no count
// behind.
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
	isLane := func(h hash.Hash) bool { _, ok := h.(*laneHash); return ok }

	small, relSmall := l.get(false)
	if isLane(small) {
		t.Fatal("a one-chunk body got a lane")
	}
	check(small)
	relSmall()

	var rels []func()
	for i := 1; i <= md5LanesMin+1; i++ {
		h, rel := l.get(true)
		if lane := isLane(h); lane != (i >= md5LanesMin && md5x.Available()) {
			t.Fatalf("large upload %d of %d at once: lane %v", i, i, lane)
		}
		check(h)
		rels = append(rels, rel)
	}
	for _, rel := range rels {
		rel()
	}
	if l.lanes != 0 || l.streamed != 0 || l.batch != nil {
		t.Fatalf("after the last release: lanes %d, streamed %d, batch %v", l.lanes, l.streamed, l.batch)
	}
}

// lanesOf returns n lanes of l (taking md5LanesMin-1 crypto/md5 hashes first) and
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

// lanesOut returns the number of lanes not yet released.
func (l *md5Lanes) lanesOut() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lanes
}

// waitingAt returns the number of lanes' writes waiting at l's gate.
func waitingAt(l *md5Lanes) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.batch == nil {
		return 0
	}
	return len(l.batch.jobs)
}

// waitAtGate returns once n lanes wait at l's gate.
func waitAtGate(l *md5Lanes, n int) {
	for waitingAt(l) != n {
		runtime.Gosched()
	}
}

// newGateTest returns three lanes of an md5Lanes whose gate waits at most wait, the
// functions that release them, and size random bytes with their MD5; the crypto/md5 slots
// taken first are released at cleanup.
func newGateTest(t *testing.T, wait time.Duration, size int) (*md5Lanes, []hash.Hash, []func(), []byte, [md5.Size]byte) {
	t.Helper()
	testutil.NeedCPU(t, "AVX-512", md5x.Available())
	l := &md5Lanes{wait: wait}
	hs, rels, relPlain := lanesOf(t, l, 3)
	t.Cleanup(relPlain)
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
	if l.lanes != 0 || l.batch != nil {
		t.Fatalf("after all releases: lanes %d, batch %v", l.lanes, l.batch)
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

// TestMD5LanesUnblock: a write waiting at the gate (which never times out here) goes on when
// unblock runs the batch, and the writes of other lanes waiting with it too.
func TestMD5LanesUnblock(t *testing.T) {
	t.Parallel()
	l, hs, rels, data, want := newGateTest(t, time.Hour, 1000)
	var wg sync.WaitGroup
	for _, h := range hs[:2] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.Write(data)
		}()
	}
	waitAtGate(l, 2)
	hs[0].(*laneHash).unblock()
	wg.Wait()
	for i, h := range hs[:2] {
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("lane %d: md5 %x, want %x", i, got, want)
		}
	}
	hs[2].(*laneHash).unblock() // nothing waits: a no-op
	for _, rel := range rels {
		rel()
	}
}

// TestMD5LanesUnblockRunning: unblock of a lane whose write is in a batch being hashed (taken
// off the gate, not done) leaves the lane's next write at the gate: hurrying it would hash
// that write alone. A lane whose last batch is done, or that has none, is hurried.
func TestMD5LanesUnblockRunning(t *testing.T) {
	t.Parallel()
	l, hs, rels, _, _ := newGateTest(t, time.Hour, 64)
	h := hs[0].(*laneHash)
	running := &laneBatch{done: make(chan struct{})}
	h.batch = running // as hashBlocks leaves it once another goroutine took the batch
	h.unblock()
	if h.hurry {
		t.Fatal("a lane whose write is being hashed was hurried")
	}
	close(running.done)
	h.unblock()
	if !h.hurry {
		t.Fatal("a lane with no write at the gate or in a pass was not hurried")
	}
	h2 := hs[1].(*laneHash)
	h2.unblock()
	if !h2.hurry {
		t.Fatal("a lane that never wrote was not hurried")
	}
	if waitingAt(l) != 0 {
		t.Fatal("unblock made a batch")
	}
	for _, rel := range rels {
		rel()
	}
}

// stallReader blocks its reads until go is closed, then reports EOF.
type stallReader struct{ goOn <-chan struct{} }

func (r stallReader) Read([]byte) (int, error) {
	<-r.goOn
	return 0, io.EOF
}

// TestMD5LanesFastNotHeldBySlow: an upload whose reads would stall on its lane waiting at the
// gate runs the batch itself. With a gate that never times out, a fast upload completes
// while a slow one, holding the other lane, receives nothing; then the slow one completes.
func TestMD5LanesFastNotHeldBySlow(t *testing.T) {
	t.Parallel()
	testutil.NeedCPU(t, "AVX-512", md5x.Available())
	e := newEnv(t)
	e.srv.md5.wait = time.Hour
	_, relHold := e.srv.md5.get(true) // the first large upload at once hashes with crypto/md5
	defer relHold()
	ctx := context.Background()
	write := func(src io.Reader) (bodyResult, error) {
		f, res, err := e.srv.writeBody(ctx, src, nil, nil, checksum.None, maxObjectSize)
		if f != nil {
			discard(f)
		}
		return res, err
	}

	slow := randBytes(5*chunkSize + 11)
	goOn := make(chan struct{})
	slowDone := make(chan error, 1)
	go func() {
		res, err := write(io.MultiReader(bytes.NewReader(slow[:2*chunkSize]), stallReader{goOn}, bytes.NewReader(slow[2*chunkSize:])))
		if want := md5.Sum(slow); err == nil && !bytes.Equal(res.md5, want[:]) {
			err = fmt.Errorf("slow upload: md5 %x, want %x", res.md5, want)
		}
		slowDone <- err
	}()
	for e.srv.md5.lanesOut() != 1 {
		runtime.Gosched() // the slow upload holds its lane
	}

	fast := randBytes(12*chunkSize + 5)
	res, err := write(bytes.NewReader(fast))
	if want := md5.Sum(fast); err != nil || !bytes.Equal(res.md5, want[:]) {
		t.Fatalf("fast upload beside a stalled one: md5 %x, want %x, err %v", res.md5, want, err)
	}
	close(goOn)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
}

// TestMD5LanesBatchFull: with more lanes than md5BatchFull, md5BatchFull writes make a full
// batch (the gate never times out here, so the writes finishing shows the count ran it).
func TestMD5LanesBatchFull(t *testing.T) {
	t.Parallel()
	testutil.NeedCPU(t, "AVX-512", md5x.Available())
	l := &md5Lanes{wait: time.Hour}
	hs, rels, relPlain := lanesOf(t, l, md5BatchFull+3)
	defer relPlain()
	data := randBytes(3 * md5x.BlockSize)
	want := md5.Sum(data)
	var wg sync.WaitGroup
	for _, h := range hs[:md5BatchFull] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.Write(data)
		}()
	}
	wg.Wait()
	for i, h := range hs[:md5BatchFull] {
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
// once, with crypto/md5 and in md5Lanes' lanes (what md5Lanes chooses between).
func BenchmarkETagMD5(b *testing.B) {
	buf := randBytes(chunkSize)
	var l md5Lanes
	kinds := []struct {
		name string
		get  func() (hash.Hash, func())
	}{
		{"crypto", func() (hash.Hash, func()) { return md5.New(), func() {} }},
		{"lanes", func() (hash.Hash, func()) { return l.get(true) }},
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
