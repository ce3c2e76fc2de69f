package s3lite

import (
	"crypto/md5"
	"hash"
	"sync"
	"time"

	md5simd "github.com/minio/md5-simd"
)

// md5LanesMin is the number of large uploads that must be hashing at once
// (the one starting included) for a new one to hash its MD5 in a SIMD lane.
// md5-simd runs 16 MD5 streams in one AVX-512 pass (8 with AVX2) on one
// core; with one or two streams it is slower than crypto/md5 (about 410 and
// 500 against 600 MB/s on the reference machine), from three on it is
// faster and uses less CPU (4 streams: 1.3 GB/s on one core against 0.8 GB/s
// on two; 16 streams: 3.6 GB/s against 0.7).
const md5LanesMin = 3

// md5MaxLanes is the number of streams one md5-simd pass hashes.
const md5MaxLanes = 16

// md5GateWait is how long a lane's chunk waits for the chunks of the other
// lanes (md5Lanes.await). md5-simd hashes one 32 KiB block of every lane
// that has one queued in each pass, and a pass with fewer than three runs
// the scalar code: uploads that receive their bodies at network speed seldom
// have chunks queued at the same moment, so without the gate most passes are
// scalar and md5-simd costs as much CPU as crypto/md5. Measured with four
// streams receiving a 256 KiB chunk every 5 ms: 112 ms of CPU for crypto/md5,
// 117 ms for md5-simd, 53 ms for md5-simd behind a 5 ms gate. An upload's
// hash may run up to pipelineDepth chunks behind its reads, so the wait
// delays only the end of an upload, by at most md5GateWait. A lane that has
// fallen behind (its hash worker has more chunks queued) does not wait: it
// opens the gate, and the lanes waiting there write with it.
const md5GateWait = 5 * time.Millisecond

// md5ServerHashes is the number of hashes one md5-simd server hands out
// before md5Lanes starts the next one. md5-simd v1.1.2 never forgets a
// closed hash: its server keeps the hash's channel and interim digest in two
// maps, and every pass walks the channels (its process loop deletes the
// client under uid 0, not the closed one's uid). Under steady load the walk
// grew with every upload: after 20 s of 1 MiB uploads a 16 MiB PUT cost 4.1
// instead of 2.6 ms of CPU per MiB. A retired server is closed once its
// last hash is released and is garbage with all it kept; 32 dead entries
// cost a pass well under a microsecond.
const md5ServerHashes = 32

// md5Lanes hands out the MD5 hashes of upload bodies (the ETag): crypto/md5
// for bodies of one chunk and for large uploads while few run at once, a lane
// of a shared md5-simd server while several large uploads run. A server is
// started on first use, retired after md5ServerHashes hashes, and stopped
// once it is retired (or close was called) and its last lane is released.
// Safe for concurrent use.
type md5Lanes struct {
	mu       sync.Mutex
	srv      *laneServer // the server new lanes join; nil until first needed, and again after close
	streamed int         // large uploads hashing now, whichever their hash
	lanes    int         // lanes not yet released, of every server
	closed   bool
	gate     chan struct{} // closed to let the waiting lanes write; nil when none waits
	waiting  int           // lanes waiting at gate
	wait     time.Duration // the longest wait at the gate; 0 means md5GateWait (tests set it)
}

// laneServer is one md5-simd server and the count of its hashes.
type laneServer struct {
	md5simd.Server
	handed  int  // hashes handed out
	out     int  // hashes not yet released
	stopped bool // Close was called
}

func (s *laneServer) stop() {
	s.Close()
	s.stopped = true
}

// get returns the MD5 hash of one body and the function that releases it
// once its sum is taken; streamed says whether the body spans more than one
// chunk (copyHashed knows after its first read).
func (l *md5Lanes) get(streamed bool) (hash.Hash, func()) {
	if !streamed {
		return md5.New(), func() {}
	}
	l.mu.Lock()
	l.streamed++
	if l.closed || l.streamed < md5LanesMin {
		l.mu.Unlock()
		return md5.New(), l.release(nil)
	}
	if l.srv != nil && l.srv.handed == md5ServerHashes {
		if l.srv.out == 0 {
			l.srv.stop()
		}
		l.srv = nil // retired: stops when its last lane is released
	}
	if l.srv == nil {
		l.srv = &laneServer{Server: md5simd.NewServer()}
	}
	srv := l.srv
	srv.handed++
	srv.out++ // keeps srv running until this lane is released
	l.lanes++
	l.mu.Unlock()
	h := &laneHash{Hasher: srv.NewHash(), l: l, srv: srv} // NewHash may wait for the server: not under mu
	return h, l.release(h)
}

// release returns the function that gives back a streamed body's hash
// (h nil: a crypto/md5 one).
func (l *md5Lanes) release(h *laneHash) func() {
	return func() {
		if h != nil {
			h.Close()
			if h.timer != nil {
				h.timer.Stop()
			}
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.streamed--
		if h != nil {
			l.lanes--
			l.openGateIfFull()
			h.srv.out--
			if h.srv.out == 0 && (h.srv != l.srv || l.closed) {
				h.srv.stop()
				if h.srv == l.srv {
					l.srv = nil
				}
			}
		}
	}
}

// await holds a lane's next write until every lane (up to md5MaxLanes) has
// a write waiting, or l.wait has passed, so that md5-simd hashes them in
// one pass (see md5GateWait). With fewer than md5LanesMin lanes it does not
// wait. t is the caller's timer.
func (l *md5Lanes) await(t *time.Timer) {
	l.mu.Lock()
	if l.lanes < md5LanesMin {
		l.mu.Unlock()
		return
	}
	if l.gate == nil {
		l.gate = make(chan struct{})
	}
	gate := l.gate
	l.waiting++
	l.openGateIfFull()
	wait := l.wait
	l.mu.Unlock()
	if wait == 0 {
		wait = md5GateWait
	}
	t.Reset(wait)
	select {
	case <-gate:
		t.Stop()
	case <-t.C:
		l.mu.Lock()
		if l.gate == gate {
			l.waiting--
		}
		l.mu.Unlock()
	}
}

// openGateIfFull lets the waiting lanes go once all lanes wait (or too few
// lanes are left to wait for). Callers hold mu.
func (l *md5Lanes) openGateIfFull() {
	if l.gate != nil && (l.waiting >= min(l.lanes, md5MaxLanes) || l.lanes < md5LanesMin) {
		close(l.gate)
		l.gate, l.waiting = nil, 0
	}
}

// openGate lets the waiting lanes go: a lane that is behind writes at once,
// and the lanes waiting then go with it.
func (l *md5Lanes) openGate() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gate != nil && l.waiting > 0 {
		close(l.gate)
		l.gate, l.waiting = nil, 0
	}
}

// close stops the server now or, if lanes are still out, when the last one
// is released (retired servers stop the same way); later bodies hash with
// crypto/md5.
func (l *md5Lanes) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.srv != nil && l.srv.out == 0 {
		l.srv.stop()
		l.srv = nil
	}
}

// laneHash is an md5-simd hash whose writes wait at the gate of its md5Lanes.
// Like every hash.Hash, it is used by one goroutine at a time.
type laneHash struct {
	md5simd.Hasher
	l      *md5Lanes
	srv    *laneServer // the server it hashes on
	timer  *time.Timer // made on first use, stopped by release
	behind bool        // set by the writer: more input is queued, do not wait
}

func (h *laneHash) Write(p []byte) (int, error) {
	if h.behind {
		h.l.openGate() // the lanes waiting now go into the same passes
	} else {
		if h.timer == nil {
			h.timer = time.NewTimer(time.Hour)
			h.timer.Stop()
		}
		h.l.await(h.timer)
	}
	return h.Hasher.Write(p)
}
