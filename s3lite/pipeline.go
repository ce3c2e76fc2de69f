package s3lite

import (
	"errors"
	"hash"
	"io"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/kmsbox/kmsbox/s3lite/internal/dare"
)

// errDirectOff means a body file could not leave O_DIRECT mode for an
// unaligned write.
var errDirectOff = errors.New("s3lite: cannot turn O_DIRECT off for a body file")

// chunkSize is the unit in which bodies move: four DARE payloads, so that
// sio seals whole packages straight from a chunk, and large enough that
// file I/O costs few system calls.
const chunkSize = 4 * darePayload

// pipelineDepth is the number of chunks an upload has in flight between
// reading and hashing; an upload holds at most pipelineDepth*chunkSize
// bytes, whatever the object size.
const pipelineDepth = 4

// chunk is one pooled body buffer.
type chunk [chunkSize]byte

// sealBlock is the size of the writes of an encrypted body of more than
// one chunk. An O_DIRECT write returns once the device has the data, and
// the upload reads nothing meanwhile: 512 KiB writes (half as many waits as
// chunk-sized ones) made PUT 16 MiB c4 faster in 10 of 11 interleaved
// rounds (+5 % on average); 64 and 128 KiB writes were 20 and 8 % slower.
const sealBlock = 2 * chunkSize

// sealBuf is the buffer an encrypted upload seals its DARE packages into
// and writes its file from (dare.BufferSize(sealBlock) bytes).
type sealBuf [2*sealBlock + dare.MaxPackage]byte

// bufPool lends buffers to requests, which reuse them instead of
// allocating (and the GC clearing) 256 KiB or more each. Go allocates
// objects this large on whole pages, so the buffers are page-aligned, as
// O_DIRECT needs.
type bufPool[T any] struct{ p sync.Pool }

func (bp *bufPool[T]) get() *T {
	if b, ok := bp.p.Get().(*T); ok {
		return b
	}
	return new(T)
}

func (bp *bufPool[T]) put(b *T) { bp.p.Put(b) }

// chunkPool lends chunks to uploads and downloads.
type chunkPool = bufPool[chunk]

// lastWriter is a destination that must be told which write ends the data:
// a DARE stream marks its final package.
type lastWriter interface {
	io.Writer
	WriteLast(p []byte) (int, error)
}

// hashWorker runs one hash in its own goroutine: an upload hashes
// (MD5 for the ETag, the request checksum) on one core while it reads,
// encrypts and writes on another. It acknowledges each chunk on done, in
// order, once it no longer reads it.
type hashWorker struct {
	h    hash.Hash
	in   chan []byte
	done chan struct{}
}

func (hw *hashWorker) run(wg *sync.WaitGroup) {
	defer wg.Done()
	for p := range hw.in {
		hw.h.Write(p)
		hw.done <- struct{}{}
	}
}

// await returns once the worker has acknowledged its oldest chunk. A hash
// whose write may be waiting for other uploads (a lane at the md5 gate)
// is told to go on first if the chunk is not done: this upload would stall
// on it.
func (hw *hashWorker) await() {
	select {
	case <-hw.done:
		return
	default:
	}
	if g, ok := hw.h.(gatedHash); ok {
		g.unblock()
	}
	<-hw.done
}

// gatedHash is a hash whose writes may wait for other hashes' writes.
type gatedHash interface {
	hash.Hash
	// unblock ends the wait of the hash's write at once, or spares the
	// next write the wait if none waits yet.
	unblock()
}

// copyHashed copies src to dst in chunks and feeds every byte to each of
// the hashes newHashes returns, returning the byte count. newHashes is
// called once, after the first read, with whether the body spans more than
// one chunk (so that md5Lanes can choose its hash). Hashing runs
// concurrently with the next read and write; a body that fits in one chunk
// is hashed inline. When copyHashed returns, every hash has seen every byte
// copied. A destination that is a lastWriter gets the body's last chunk
// through WriteLast.
func (s *Server) copyHashed(dst io.Writer, src io.Reader, newHashes func(streamed bool) []hash.Hash) (int64, error) {
	var bufs [pipelineDepth]*chunk
	defer func() {
		for _, b := range bufs {
			if b != nil {
				s.chunks.put(b)
			}
		}
	}()
	var (
		hashes   []hash.Hash
		workers  []*hashWorker
		wg       sync.WaitGroup
		inflight int // chunks sent to the workers and not yet acknowledged by all
		total    int64
	)
	// ackOldest waits until every worker is done with the oldest chunk in
	// flight (chunks are hashed in order).
	ackOldest := func() {
		for _, w := range workers {
			w.await()
		}
		inflight--
	}
	// held is the last chunk read and not yet written: it is written after
	// the next read, which tells whether it ends the body (a lastWriter
	// destination is told so). Its slot is not read into before then.
	var held []byte
	writeHeld := func(last bool) error {
		if held == nil {
			return nil
		}
		p := held
		held = nil
		var err error
		if lw, ok := dst.(lastWriter); ok && last {
			_, err = lw.WriteLast(p)
		} else {
			_, err = dst.Write(p)
		}
		if err == nil {
			total += int64(len(p))
		}
		return err
	}
	stop := func() {
		// Collect the chunks in flight: the reads are over, so a lane
		// waiting at the md5 gate need not wait for other uploads.
		for inflight > 0 {
			ackOldest()
		}
		for _, w := range workers {
			close(w.in)
		}
		wg.Wait()
	}
	for i := 0; ; i++ {
		slot := i % pipelineDepth
		if inflight == pipelineDepth {
			ackOldest() // frees the oldest chunk, the one in this slot
		}
		if bufs[slot] == nil {
			bufs[slot] = s.chunks.get()
		}
		n, rerr := io.ReadFull(src, bufs[slot][:])
		if rerr == io.ErrUnexpectedEOF {
			rerr = io.EOF
		}
		if i == 0 {
			hashes = newHashes(rerr != io.EOF)
		}
		if n > 0 {
			p := bufs[slot][:n]
			if i == 0 && rerr == io.EOF {
				for _, h := range hashes {
					h.Write(p)
				}
			} else {
				if workers == nil {
					for _, h := range hashes {
						w := &hashWorker{h: h, in: make(chan []byte, pipelineDepth), done: make(chan struct{}, pipelineDepth)}
						workers = append(workers, w)
						wg.Add(1)
						go w.run(&wg)
					}
				}
				for _, w := range workers {
					w.in <- p
				}
				inflight++
			}
			// The chunk read before this one goes out now that it is known
			// not to be the last.
			if err := writeHeld(false); err != nil {
				stop()
				return total, err
			}
			held = p
		}
		if rerr != nil {
			if rerr == io.EOF {
				rerr = writeHeld(true) // nil, or the write's error
			}
			stop()
			return total, rerr
		}
	}
}

// writebackBytes is how much an upload writes between two writeback
// hints (startWriteback).
const writebackBytes = 2 << 20

// directAlign is the alignment O_DIRECT writes need of their buffer
// address, length and file offset (the page size; devices need 512 or 4096).
const directAlign = 4096

// fileWriter writes a body to its temp file and starts the writeback of
// every writebackBytes written.
//
// With direct set (useDirect), it writes with O_DIRECT while every write is
// aligned (the DARE writer's blocks are) and goes back to the page cache
// for good at the first write that is not (the last, short one).
type fileWriter struct {
	f       *os.File
	written int64 // bytes written
	hinted  int64 // bytes handed to startWriteback
	direct  bool  // f is in O_DIRECT mode
}

// useDirect puts the body file in O_DIRECT mode where the file system
// allows it. An encrypted body is written once and read later, mostly once:
// through the page cache every write copies it into newly allocated cache
// pages, which under memory and CPU contention cost several times the copy
// (on the reference machine write(2) of a 1 GiB multipart upload took 47 %
// of kmsbox's CPU while other processes ran); written directly, the device
// reads the chunk from the pooled buffer. The fsync before commit stays: it
// writes the metadata and flushes the device's cache.
func (w *fileWriter) useDirect() { w.direct = setDirect(w.f, true) }

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.direct {
		if len(p)%directAlign == 0 && w.written%directAlign == 0 && len(p) > 0 &&
			uintptr(unsafe.Pointer(&p[0]))%directAlign == 0 {
			n, err := w.f.Write(p)
			if n > 0 || !errors.Is(err, syscall.EINVAL) {
				w.written += int64(n)
				return n, err
			}
			// EINVAL before a byte is written: the device wants another
			// alignment. Write through the page cache from now on.
		}
		w.direct = !setDirect(w.f, false)
		if w.direct {
			return 0, errDirectOff
		}
	}
	n, err := w.f.Write(p)
	w.written += int64(n)
	if w.written-w.hinted >= writebackBytes {
		startWriteback(w.f, w.hinted, w.written-w.hinted)
		w.hinted = w.written
	}
	return n, err
}
