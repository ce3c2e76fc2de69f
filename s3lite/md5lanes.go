package s3lite

import (
	"crypto/md5"
	"hash"
	"sync"
	"time"

	"github.com/kmsbox/kmsbox/s3lite/internal/md5x"
)

// md5LanesMin is the number of large uploads that must be hashing at once
// (the one starting included) for a new one to hash its MD5 in a lane. One
// pass of md5x hashes up to 16 streams for the cost of one stream in
// crypto/md5 (about 52 against 50 us per 32 KiB on the reference machine),
// so two uploads side by side already halve the MD5 CPU; an upload alone
// hashes with crypto/md5 and never waits at the gate.
const md5LanesMin = 2

// md5GateWait is how long a lane's write waits for the writes of the other
// lanes (md5Lanes.hashBlocks), so that one pass hashes them all. Uploads
// receive their bodies at network speed and seldom have chunks ready at the
// same moment; without the gate most passes would hold one lane and cost
// what crypto/md5 does. An upload's hash may run up to pipelineDepth chunks
// behind its reads, so the wait costs an upload nothing while its body
// arrives; once its reader would stall on a waiting lane (the whole
// pipeline unhashed), or has read the whole body, the reader runs the
// waiting batch itself (laneHash.unblock), so that a fast upload is not held
// to the pace of a slow one and no upload ends later for the gate. (Letting
// a lane skip the wait whenever its worker had a chunk queued cut the lanes
// per pass of four 16 MiB uploads from 3.4 to 1.9, and MD5 took 42 % of
// kmsbox's CPU instead of 28 %.)
const md5GateWait = 5 * time.Millisecond

// md5BatchFull is the number of writes that make a batch full whatever the
// number of lanes: a pass of 8 streams already costs a seventh of
// crypto/md5 per byte, and with many uploads in flight, most of them
// waiting for the network, waiting for every lane would hold each chunk
// for the whole md5GateWait.
const md5BatchFull = 8

// md5Lanes hands out the MD5 hashes of upload bodies (the ETag): crypto/md5
// for bodies of one chunk, for an upload that runs alone and where the CPU
// has no AVX-512; otherwise a lane, whose writes are gathered with the other
// lanes' and hashed in one md5x pass by the writer that completes the batch.
// Safe for concurrent use; the zero value is ready.
type md5Lanes struct {
	mu       sync.Mutex
	streamed int           // large uploads hashing now, whichever their hash
	lanes    int           // lanes not yet released
	batch    *laneBatch    // the writes waiting to be hashed together; nil when none waits
	wait     time.Duration // the longest wait at the gate; 0 means md5GateWait (tests set it)
}

// laneBatch is the lanes' writes that one md5x pass hashes.
type laneBatch struct {
	jobs []md5x.Job
	done chan struct{} // closed once every job is hashed
}

// isDone reports whether the batch is hashed.
func (b *laneBatch) isDone() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

func (b *laneBatch) run() {
	md5x.Blocks(b.jobs)
	close(b.done)
}

// get returns the MD5 hash of one body and the function that releases it
// once its sum is taken; streamed says whether the body spans more than one
// chunk (copyHashed knows after its first read).
func (l *md5Lanes) get(streamed bool) (hash.Hash, func()) {
	if !streamed {
		return md5.New(), func() {}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.streamed++
	if l.streamed < md5LanesMin || !md5x.Available() {
		return md5.New(), l.release(nil)
	}
	l.lanes++
	h := &laneHash{l: l, state: md5x.Init}
	return h, l.release(h)
}

// release returns the function that gives back a streamed body's hash
// (h nil: a crypto/md5 one). Writes waiting for the released lane are
// hashed at once if they are now all the lanes left.
func (l *md5Lanes) release(h *laneHash) func() {
	return func() {
		if h != nil && h.timer != nil {
			h.timer.Stop()
		}
		l.mu.Lock()
		l.streamed--
		var full *laneBatch
		if h != nil {
			l.lanes--
			full = l.takeIfFull()
		}
		l.mu.Unlock()
		if full != nil {
			full.run()
		}
	}
}

// takeIfFull takes the waiting batch if it holds a write of every lane or
// md5BatchFull writes. Callers hold mu and run what it returns.
func (l *md5Lanes) takeIfFull() *laneBatch {
	b := l.batch
	if b == nil || len(b.jobs) < min(l.lanes, md5BatchFull) {
		return nil
	}
	l.batch = nil
	return b
}

// hashBlocks advances h over p, whole MD5 blocks, in a pass with the
// other lanes' writes: it joins the waiting batch and runs it if it
// completes it, if h's reader asked it to hurry (unblock), or if nobody
// else ran it within l.wait; otherwise it returns once whoever ran it
// (another writer, a reader in unblock, a release) has hashed it.
func (l *md5Lanes) hashBlocks(h *laneHash, p []byte) {
	l.mu.Lock()
	if l.batch == nil {
		l.batch = &laneBatch{done: make(chan struct{})}
	}
	b := l.batch
	b.jobs = append(b.jobs, md5x.Job{State: &h.state, Data: p})
	h.batch = b
	if l.lanes < md5LanesMin || h.hurry {
		h.hurry = false
		l.batch = nil
	} else if l.takeIfFull() == nil {
		wait := l.wait
		l.mu.Unlock()
		if wait == 0 {
			wait = md5GateWait
		}
		if h.timer == nil {
			h.timer = time.NewTimer(wait)
		} else {
			h.timer.Reset(wait)
		}
		select {
		case <-b.done:
			h.timer.Stop()
			return
		case <-h.timer.C:
		}
		l.mu.Lock()
		if l.batch != b { // taken by another writer, a reader or a release: wait for it
			l.mu.Unlock()
			<-b.done
			return
		}
		l.batch = nil
	}
	l.mu.Unlock()
	b.run()
}

// laneHash is the MD5 of one body hashed in md5x lanes: whole blocks go
// through the gate (hashBlocks); from the first write that ends in a partial
// block on (the body's last, as copyHashed writes whole chunks before it),
// it continues in crypto/md5. Like every hash.Hash, it is used by one
// goroutine at a time.
type laneHash struct {
	l     *md5Lanes
	state md5x.State
	n     uint64      // bytes hashed in lanes
	tail  hash.Hash   // crypto/md5 resumed from state; nil while writes are whole blocks
	timer *time.Timer // the wait at the gate: made on first use, stopped by release
	hurry bool        // the next write does not wait at the gate (set by unblock; guarded by l.mu)
	batch *laneBatch  // the batch of h's last write (guarded by l.mu)
}

func (h *laneHash) Write(p []byte) (int, error) {
	n := len(p)
	if h.tail == nil {
		whole := len(p) &^ (md5x.BlockSize - 1)
		if whole > 0 {
			h.l.hashBlocks(h, p[:whole])
			h.n += uint64(whole)
		}
		if whole == len(p) {
			return n, nil
		}
		h.tail = md5x.Resume(h.state, h.n)
		p = p[whole:]
	}
	h.tail.Write(p)
	return n, nil
}

func (h *laneHash) Sum(b []byte) []byte {
	if h.tail == nil {
		return md5x.Resume(h.state, h.n).Sum(b)
	}
	return h.tail.Sum(b)
}

func (h *laneHash) Reset() {
	h.state, h.n, h.tail = md5x.Init, 0, nil
}

// unblock runs the batch waiting at the gate now if h's write waits in it
// (gatedHash). If h's write is in a batch being hashed, that is all it
// takes. If it is in none (yet: the worker may not have been scheduled),
// h's next write does not wait at the gate; the batch waits on for its
// lanes.
func (h *laneHash) unblock() {
	l := h.l
	l.mu.Lock()
	b := h.batch
	switch {
	case b != nil && b == l.batch:
		l.batch = nil
		l.mu.Unlock()
		b.run()
		return
	case b != nil && !b.isDone():
		// Being hashed by whoever took it.
	default:
		h.hurry = true
	}
	l.mu.Unlock()
}

func (h *laneHash) Size() int      { return md5.Size }
func (h *laneHash) BlockSize() int { return md5.BlockSize }
