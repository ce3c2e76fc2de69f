package s3lite

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/minio/highwayhash"
)

// Plaintext bodies carry block hashes, as MinIO's streaming bitrot protection does: the
// body file is the plaintext followed by a trailer of one HighwayHash-256 per hashBlock
// bytes of it (the last block may be short), keyed with a key derived from the store key
// (bodyHashKey). The part record keeps the HighwayHash-256 of the trailer ("h"), and the
// record is MAC'd, so a flipped byte fails its block's hash, a cut or padded file fails
// the size check, and another object's body (whose blocks verify under the same key) fails
// the trailer hash in the record. A read checks the trailer against the record, then each
// block it needs before a byte of that block is returned: a ranged GET reads only its
// blocks and the trailer (32 bytes per 256 KiB). Encrypted bodies need none of this: DARE
// authenticates every 64 KiB package under a key bound to bucket/object, and its sequence
// numbers and final flag catch reordering and truncation.
//
// Why HighwayHash (github.com/minio/highwayhash, Apache-2.0): it is what MinIO uses for
// the same job, keyed, about 10 GB/s per core with its assembly (so a GET pays a few
// percent), and a maintained module; SHA-256 would cost about a third of a plain GET's
// throughput and BLAKE2b half as much again as HighwayHash.
const hashBlock = chunkSize

// trailerSize is the size of the block hash trailer of a size-byte body.
func trailerSize(size int64) int64 {
	return (size + hashBlock - 1) / hashBlock * highwayhash.Size
}

// hashedFileSize is the size of the body file of a hashed plaintext part of size bytes.
func hashedFileSize(size int64) int64 { return size + trailerSize(size) }

// hashingWriter writes a plaintext body and hashes it block by block; finish appends the
// trailer and returns the trailer hash for the record.
type hashingWriter struct {
	w       io.Writer
	key     []byte
	h       hash.Hash
	inBlock int64
	trailer []byte
}

func newHashingWriter(w io.Writer, key []byte) *hashingWriter {
	h, _ := highwayhash.New(key) // 32-byte key: no error
	return &hashingWriter{w: w, key: key, h: h}
}

func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	q := p[:n]
	for len(q) > 0 {
		k := min(int64(len(q)), hashBlock-hw.inBlock)
		hw.h.Write(q[:k])
		hw.inBlock += k
		q = q[k:]
		if hw.inBlock == hashBlock {
			hw.trailer = hw.h.Sum(hw.trailer)
			hw.h.Reset()
			hw.inBlock = 0
		}
	}
	return n, err
}

// finish writes the trailer and returns its hash.
func (hw *hashingWriter) finish() ([]byte, error) {
	if hw.inBlock > 0 {
		hw.trailer = hw.h.Sum(hw.trailer)
		hw.inBlock = 0
	}
	if _, err := hw.w.Write(hw.trailer); err != nil {
		return nil, err
	}
	sum := highwayhash.Sum(hw.trailer, hw.key)
	return sum[:], nil
}

// errBlockHash is joined to errObjectTampered when a body does not match its hashes.
var errBlockHash = errors.New("s3lite: body does not match its block hashes")

// hashedReader returns the plaintext [pos, end) of a hashed body file, verifying each
// block before returning any byte of it.
type hashedReader struct {
	f       io.ReaderAt
	key     []byte
	size    int64  // plaintext bytes in the file
	trailer []byte // the block hashes, verified against the record
	pos     int64
	end     int64
	buf     []byte // one block, for reads that do not take a whole block
	pending []byte // verified bytes not yet returned
}

// newHashedReader reads the trailer of f (size plaintext bytes) and checks it against the
// record's trailer hash want.
func newHashedReader(f io.ReaderAt, key []byte, size int64, want []byte, start, length int64, buf []byte) (*hashedReader, error) {
	trailer := make([]byte, trailerSize(size))
	if _, err := f.ReadAt(trailer, size); err != nil {
		return nil, truncated(err)
	}
	if sum := highwayhash.Sum(trailer, key); subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return nil, fmt.Errorf("%w: %w: the trailer does not match the record", errObjectTampered, errBlockHash)
	}
	return &hashedReader{f: f, key: key, size: size, trailer: trailer, pos: start, end: start + length, buf: buf}, nil
}

// readBlock reads block i into dst (which holds it whole) and verifies it.
func (hr *hashedReader) readBlock(i int64, dst []byte) ([]byte, error) {
	from := i * hashBlock
	blk := dst[:min(hashBlock, hr.size-from)]
	if _, err := hr.f.ReadAt(blk, from); err != nil {
		return nil, truncated(err)
	}
	sum := highwayhash.Sum(blk, hr.key)
	if subtle.ConstantTimeCompare(sum[:], hr.trailer[i*highwayhash.Size:(i+1)*highwayhash.Size]) != 1 {
		return nil, fmt.Errorf("%w: %w: block %d", errObjectTampered, errBlockHash, i)
	}
	return blk, nil
}

func (hr *hashedReader) Read(p []byte) (int, error) {
	if len(hr.pending) == 0 {
		if hr.pos >= hr.end {
			return 0, io.EOF
		}
		i := hr.pos / hashBlock
		from := i * hashBlock
		blockLen := min(hashBlock, hr.size-from)
		skip, want := hr.pos-from, min(from+blockLen, hr.end)-hr.pos
		if skip == 0 && int64(len(p)) >= blockLen {
			// The whole block fits the caller's buffer: verify it there.
			if _, err := hr.readBlock(i, p); err != nil {
				return 0, err
			}
			hr.pos += want
			return int(want), nil
		}
		blk, err := hr.readBlock(i, hr.buf)
		if err != nil {
			return 0, err
		}
		hr.pending = blk[skip : skip+want]
		hr.pos += want
	}
	n := copy(p, hr.pending)
	hr.pending = hr.pending[n:]
	return n, nil
}
