package md5x

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kmsbox/kmsbox/internal/testutil"
)

// sums hashes every body with Blocks (all bodies in one batch, each written in pieces of
// piece bytes) and Resume for the tail, and returns the sums.
func sums(t testing.TB, bodies [][]byte, piece int, span int) [][]byte {
	t.Helper()
	states := make([]State, len(bodies))
	done := make([]int, len(bodies))
	for i := range states {
		states[i] = Init
	}
	for {
		var jobs []Job
		var idx []int
		for i, b := range bodies {
			n := min(piece, len(b)-done[i]) &^ (BlockSize - 1)
			if n > 0 {
				jobs = append(jobs, Job{&states[i], b[done[i] : done[i]+n]})
				idx = append(idx, i)
			}
		}
		if len(jobs) == 0 {
			break
		}
		blocksSpan(jobs, span)
		for _, i := range idx {
			done[i] += min(piece, len(bodies[i])-done[i]) &^ (BlockSize - 1)
		}
	}
	out := make([][]byte, len(bodies))
	for i, b := range bodies {
		h := Resume(states[i], uint64(done[i]))
		h.Write(b[done[i]:])
		out[i] = h.Sum(nil)
	}
	return out
}

func randomBodies(r *rand.Rand, n, maxLen int) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		b := make([]byte, r.IntN(maxLen+1))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		bodies[i] = b
	}
	return bodies
}

// TestBlocksMatchCryptoMD5 checks the kernel against crypto/md5: batches of 1 to 40 bodies
// (more than one pass of Lanes), of unequal lengths (empty, shorter than a block, not a
// multiple of it), written whole or in pieces, and with the span so small that every job
// takes its own pass.
func TestBlocksMatchCryptoMD5(t *testing.T) {
	testutil.NeedCPU(t, "AVX-512", Available())
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		n, maxLen, piece, span int
	}{
		{1, 200, 1 << 20, 1 << 30},
		{3, 5000, 1 << 20, 1 << 30},
		{16, 70_000, 32 << 10, 1 << 30},
		{17, 9000, 640, 1 << 30},
		{40, 3000, 1 << 20, 1 << 30},
		{5, 4096, 1 << 20, 64},
	} {
		t.Run(fmt.Sprintf("n=%d,max=%d,piece=%d,span=%d", tc.n, tc.maxLen, tc.piece, tc.span), func(t *testing.T) {
			bodies := randomBodies(r, tc.n, tc.maxLen)
			for i, got := range sums(t, bodies, tc.piece, tc.span) {
				if want := md5.Sum(bodies[i]); !bytes.Equal(got, want[:]) {
					t.Fatalf("body %d (%d bytes): %x, want %x", i, len(bodies[i]), got, want)
				}
			}
		})
	}
}

// TestResume checks that a State resumed in crypto/md5 after its first blocks sums the
// whole body (here without the kernel: the first blocks go through crypto/md5 too).
func TestResume(t *testing.T) {
	body := bytes.Repeat([]byte("kmsbox"), 1000)
	h := Resume(Init, 0)
	h.Write(body)
	if want := md5.Sum(body); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("Resume(Init, 0) does not hash like md5.New")
	}
}

// FuzzBlocks hashes two fuzzed bodies in one batch, written in pieces of a fuzzed size, and
// compares with crypto/md5. Seeds in testdata/fuzz/FuzzBlocks.
func FuzzBlocks(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b []byte, piece uint16) {
		testutil.NeedCPU(t, "AVX-512", Available())
		p := max(int(piece), BlockSize)
		for i, got := range sums(t, [][]byte{a, b}, p, 1<<30) {
			want := md5.Sum([][]byte{a, b}[i])
			if !bytes.Equal(got, want[:]) {
				t.Fatalf("body %d: %x, want %x", i, got, want)
			}
		}
	})
}

// BenchmarkBlocks measures a batch of lanes streams of 256 KiB (an upload chunk each) against
// crypto/md5 over the same bytes.
func BenchmarkBlocks(b *testing.B) {
	testutil.NeedCPU(b, "AVX-512", Available())
	for _, lanes := range []int{1, 2, 4, 8, 16} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) {
			bufs := make([][]byte, lanes)
			states := make([]State, lanes)
			jobs := make([]Job, lanes)
			for i := range bufs {
				bufs[i] = make([]byte, 256<<10)
				states[i] = Init
				jobs[i] = Job{&states[i], bufs[i]}
			}
			b.SetBytes(int64(lanes * 256 << 10))
			for b.Loop() {
				Blocks(jobs)
			}
		})
	}
	b.Run("crypto/md5", func(b *testing.B) {
		buf := make([]byte, 256<<10)
		h := md5.New()
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			h.Write(buf)
		}
	})
}
