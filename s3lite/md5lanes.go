package s3lite

import (
	"crypto/md5"
	"hash"
	"sync"

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

// md5Lanes hands out the MD5 hashes of upload bodies (the ETag): crypto/md5
// for bodies of one chunk and for large uploads while few run at once, a lane
// of one shared md5-simd server while several large uploads run. The server
// is started on first use and stopped by close once its last lane is
// released. Safe for concurrent use.
type md5Lanes struct {
	mu       sync.Mutex
	srv      md5simd.Server // nil until first needed, and again after close
	streamed int            // large uploads hashing now, whichever their hash
	lanes    int            // hashes of srv not yet released
	closed   bool
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
	if l.srv == nil {
		l.srv = md5simd.NewServer()
	}
	l.lanes++ // keeps srv running until this lane is released
	srv := l.srv
	l.mu.Unlock()
	h := srv.NewHash() // may wait for the server to take it: not under mu
	return h, l.release(h)
}

// release returns the function that gives back a streamed body's hash
// (h nil: a crypto/md5 one).
func (l *md5Lanes) release(h md5simd.Hasher) func() {
	return func() {
		if h != nil {
			h.Close()
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.streamed--
		if h != nil {
			l.lanes--
			l.stopIfIdle()
		}
	}
}

// close stops the server now or, if lanes are still out, when the last one
// is released; later bodies hash with crypto/md5.
func (l *md5Lanes) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.stopIfIdle()
}

func (l *md5Lanes) stopIfIdle() {
	if l.closed && l.lanes == 0 && l.srv != nil {
		l.srv.Close()
		l.srv = nil
	}
}
