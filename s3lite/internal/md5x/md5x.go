// Package md5x hashes up to 16 MD5 streams in one pass of AVX-512 (x86-64), for the ETags of
// uploads that run at once.
//
// MD5 is serial within a stream, so one core hashes one stream at about 650 MB/s whatever
// its vector width; 16 streams side by side in the 16 lanes of the 512-bit registers cost
// about as much as one (a pass over 32 KiB of every lane: 52 us, against 50 us for 32 KiB of
// one stream with crypto/md5; the kernel gathers a block's words during the block before, so
// a pass runs at the latency of MD5's dependent steps). github.com/minio/md5-simd has such a kernel behind a server
// goroutine that collects blocks from its clients through channels; under load the server
// runs most passes with the one or two lanes whose blocks happen to be queued, and it never
// forgets a closed client. Here the caller brings the whole batch (Blocks), so a pass always
// holds every stream that is waiting. The kernel (md5x16_amd64.s) is generated from the
// step table of RFC 1321 by gen_amd64.go.
//
// A State continues in crypto/md5 for the last partial block and the sum (Resume), through
// crypto/md5's documented binary form, so this package has no scalar MD5 of its own.
package md5x

import (
	"crypto/md5"
	"encoding"
	"encoding/binary"
	"hash"
	"math"
	"unsafe"
)

//go:generate go run gen_amd64.go

// Lanes is the number of streams one pass hashes.
const Lanes = 16

// BlockSize is MD5's block size: Blocks takes whole blocks.
const BlockSize = 64

// State is the running state (a, b, c, d) of one MD5 stream.
type State [4]uint32

// Init is the state of a stream before its first block.
var Init = State{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}

// Job is one stream's part of a batch: its state and its next whole blocks.
type Job struct {
	State *State
	Data  []byte // a multiple of BlockSize long
}

// Available reports whether Blocks runs the multi-lane kernel on this machine. Where it
// does not, Blocks is not to be called: hash with crypto/md5 instead.
func Available() bool { return available }

// Blocks advances every job's state over its data, Lanes jobs per pass. Jobs of unequal
// length share passes while they all have data left.
func Blocks(jobs []Job) { blocksSpan(jobs, math.MaxInt32) }

// blocksSpan is Blocks with the span of blocksOf (tests make it small).
func blocksSpan(jobs []Job, span int) {
	for len(jobs) > 0 {
		n := min(len(jobs), Lanes)
		blocksOf(jobs[:n], span)
		jobs = jobs[n:]
	}
}

// blocksOf hashes at most Lanes jobs: a pass runs over the shortest remaining length of the
// jobs not done yet, and lanes without a job (or done) read the data of the job at the
// lowest address, their results dropped. The kernel gathers through signed 32-bit offsets
// from that address: the jobs of a pass that would reach farther than span bytes from it
// go one by one instead.
func blocksOf(jobs []Job, span int) {
	var (
		states [4][Lanes]uint32
		offs   [Lanes]int32
		pos    [Lanes]int // bytes of each job hashed
	)
	for {
		// The live jobs and the length they all have left.
		var live [Lanes]int
		nlive, run := 0, math.MaxInt
		for i, j := range jobs {
			if left := len(j.Data) - pos[i]; left >= BlockSize {
				live[nlive] = i
				nlive++
				run = min(run, left)
			}
		}
		if nlive == 0 {
			return
		}
		run = min(run, span) &^ (BlockSize - 1)
		low := live[0]
		for _, i := range live[:nlive] {
			if addr(jobs[i].Data[pos[i]:]) < addr(jobs[low].Data[pos[low]:]) {
				low = i
			}
		}
		base := unsafe.Pointer(&jobs[low].Data[pos[low]])
		far := false
		for lane := range Lanes {
			i := low
			if lane < nlive {
				i = live[lane]
			}
			s := jobs[i].State
			states[0][lane], states[1][lane], states[2][lane], states[3][lane] = s[0], s[1], s[2], s[3]
			off := addr(jobs[i].Data[pos[i]:]) - uintptr(base)
			far = far || off+uintptr(run) > uintptr(span)
			offs[lane] = int32(off)
		}
		if far {
			for _, i := range live[:nlive] {
				blocksOf([]Job{{jobs[i].State, jobs[i].Data[pos[i] : pos[i]+run]}}, span)
				pos[i] += run
			}
			continue
		}
		blocks16(&states, (*byte)(base), &offs, run/BlockSize)
		for lane, i := range live[:nlive] {
			*jobs[i].State = State{states[0][lane], states[1][lane], states[2][lane], states[3][lane]}
			pos[i] += run
		}
	}
}

// addr is the address of b's first byte.
func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

// Resume returns a crypto/md5 hash that continues a stream from s after n bytes, n a
// multiple of BlockSize: it hashes the rest and sums.
func Resume(s State, n uint64) hash.Hash {
	// crypto/md5's binary form: "md5\x01", the state big-endian, the pending block (empty
	// here), the length.
	b := make([]byte, 0, 4+4*4+BlockSize+8)
	b = append(b, "md5\x01"...)
	for _, v := range s {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	b = append(b, make([]byte, BlockSize)...)
	b = binary.BigEndian.AppendUint64(b, n)
	h := md5.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
		panic("md5x: crypto/md5 refused its own binary form: " + err.Error())
	}
	return h
}
