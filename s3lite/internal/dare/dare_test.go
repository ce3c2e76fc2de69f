package dare

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/minio/sio"
)

// sioStream is sio's encryption of data under key and nonce: what every Writer stream must
// equal byte for byte.
func sioStream(t testing.TB, data, key []byte, nonce *[12]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := sio.EncryptWriter(&out, sio.Config{
		MinVersion: sio.Version20, MaxVersion: sio.Version20, Key: key, Nonce: nonce,
		CipherSuites: []byte{sio.AES_256_GCM},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// recorder keeps what a Writer writes and the size of each write.
type recorder struct {
	bytes.Buffer
	sizes []int
}

func (r *recorder) Write(p []byte) (int, error) {
	r.sizes = append(r.sizes, len(p))
	return r.Buffer.Write(p)
}

func testKey(seed uint64) ([]byte, [12]byte) {
	rng := rand.New(rand.NewPCG(seed, 1))
	key := make([]byte, 32)
	var nonce [12]byte
	for i := range key {
		key[i] = byte(rng.Uint32())
	}
	for i := range nonce {
		nonce[i] = byte(rng.Uint32())
	}
	return key, nonce
}

func testData(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(uint64(n), 2))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// writeSplit writes data through a new Writer in writes of the given sizes (cycled), the last
// one with WriteLast, and returns what it wrote.
func writeSplit(t testing.TB, data []byte, sizes []int, block int, key []byte, nonce *[12]byte) *recorder {
	t.Helper()
	var rec recorder
	w, err := NewWriter(&rec, key, nonce, make([]byte, BufferSize(block)), block)
	if err != nil {
		t.Fatal(err)
	}
	p := data
	for i := 0; ; i++ {
		k := min(sizes[i%len(sizes)], len(p))
		if k == len(p) {
			if n, err := w.WriteLast(p); err != nil || n != k {
				t.Fatalf("WriteLast of %d bytes: %d, %v", k, n, err)
			}
			break
		}
		if n, err := w.Write(p[:k]); err != nil || n != k {
			t.Fatalf("Write of %d bytes: %d, %v", k, n, err)
		}
		p = p[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close after WriteLast: %v", err)
	}
	return &rec
}

// TestMatchesSio: whatever the object size, the write sizes and the block size, the stream is
// byte for byte the one sio's EncryptWriter makes of the same plaintext under the same key
// and nonce, sio decrypts it, and it reaches the destination in whole blocks but the last.
func TestMatchesSio(t *testing.T) {
	t.Parallel()
	key, nonce := testKey(1)
	sizes := []int{0, 1, MaxPayload - 1, MaxPayload, MaxPayload + 1, 2 * MaxPayload, 3*MaxPayload + 5,
		256 << 10, 256<<10 + 1, 512 << 10, 2*(256<<10) + MaxPackage, 16<<20 + 3}
	splits := [][]int{{1 << 30}, {256 << 10}, {MaxPayload}, {MaxPayload + 7, 100}, {1, 3 * MaxPayload}, {4096}}
	blocks := []int{256 << 10, 4096, 100}
	for _, size := range sizes {
		data := testData(size)
		want := sioStream(t, data, key, &nonce)
		for _, split := range splits {
			for _, block := range blocks {
				if size > 1<<20 && (block < 4096 || split[0] < 4096) {
					continue // the large object in small pieces adds time, not cases
				}
				name := fmt.Sprintf("size %d, writes %v, block %d", size, split, block)
				rec := writeSplit(t, data, split, block, key, &nonce)
				if !bytes.Equal(rec.Bytes(), want) {
					t.Fatalf("%s: stream differs from sio's (%d bytes, want %d)", name, rec.Len(), len(want))
				}
				for i, n := range rec.sizes {
					if n != block && i != len(rec.sizes)-1 || n > block {
						t.Fatalf("%s: write %d of %d has %d bytes", name, i, len(rec.sizes), n)
					}
				}
				if size == 0 {
					continue // empty, as sio's; sio's DecryptBuffer refuses an empty stream
				}
				got, err := sio.DecryptBuffer(nil, rec.Bytes(), sio.Config{MinVersion: sio.Version20, MaxVersion: sio.Version20, Key: key})
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("%s: sio decrypts %d bytes, %v", name, len(got), err)
				}
			}
		}
	}
}

// TestClose: Close ends a stream whose last write left a partial package, like sio's Close; a
// stream that ended on a whole package without WriteLast cannot be ended (ErrNotFinal); an
// empty stream is empty.
func TestClose(t *testing.T) {
	t.Parallel()
	key, nonce := testKey(2)
	for _, tc := range []struct {
		writes []int
		err    error
	}{
		{nil, nil},
		{[]int{5}, nil},
		{[]int{MaxPayload, 3}, nil},
		{[]int{MaxPayload - 1, 1, 7}, nil},
		{[]int{MaxPayload}, ErrNotFinal},
		{[]int{MaxPayload - 1, 1}, ErrNotFinal},
		{[]int{3 * MaxPayload}, ErrNotFinal},
	} {
		var rec recorder
		w, err := NewWriter(&rec, key, &nonce, make([]byte, BufferSize(4096)), 4096)
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		for _, n := range tc.writes {
			p := testData(n)
			data = append(data, p...)
			if _, err := w.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); !errors.Is(err, tc.err) {
			t.Fatalf("writes %v: Close = %v, want %v", tc.writes, err, tc.err)
		}
		if tc.err != nil {
			if _, err := w.WriteLast(nil); !errors.Is(err, tc.err) {
				t.Fatalf("writes %v: WriteLast after a failed Close = %v, want %v", tc.writes, err, tc.err)
			}
			continue
		}
		if want := sioStream(t, data, key, &nonce); !bytes.Equal(rec.Bytes(), want) {
			t.Fatalf("writes %v: stream differs from sio's", tc.writes)
		}
		if _, err := w.Write([]byte{1}); err == nil {
			t.Fatalf("writes %v: a write after Close succeeded", tc.writes)
		}
	}
}

// TestRandomNonce: without a nonce, two streams of the same plaintext differ, and both decrypt.
func TestRandomNonce(t *testing.T) {
	t.Parallel()
	key, _ := testKey(3)
	data := testData(3*MaxPayload + 9)
	var outs [2][]byte
	for i := range outs {
		rec := writeSplit(t, data, []int{1 << 30}, 4096, key, nil)
		outs[i] = rec.Bytes()
		got, err := sio.DecryptBuffer(nil, outs[i], sio.Config{MinVersion: sio.Version20, MaxVersion: sio.Version20, Key: key})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("stream %d: sio decrypts %d bytes, %v", i, len(got), err)
		}
	}
	if bytes.Equal(outs[0], outs[1]) {
		t.Fatal("two streams without a nonce are equal")
	}
}

// failWriter fails every write after the first ok ones.
type failWriter struct{ ok int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.ok == 0 {
		return 0, errDisk
	}
	f.ok--
	return len(p), nil
}

// TestWriteError: the destination's error comes back from the write that met it and from every
// later call.
func TestWriteError(t *testing.T) {
	t.Parallel()
	key, _ := testKey(4)
	w, err := NewWriter(&failWriter{ok: 1}, key, nil, make([]byte, BufferSize(4096)), 4096)
	if err != nil {
		t.Fatal(err)
	}
	data := testData(4 * MaxPayload)
	if _, err := w.Write(data); !errors.Is(err, errDisk) {
		t.Fatalf("Write = %v, want the destination's error", err)
	}
	if _, err := w.Write(data[:10]); !errors.Is(err, errDisk) {
		t.Fatalf("a later Write = %v", err)
	}
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Fatalf("Close = %v", err)
	}
}

// TestNewWriterBadInput: a key that is not 32 bytes (AES-128 too), a buffer smaller than
// BufferSize(block) and a block of 0 are refused.
func TestNewWriterBadInput(t *testing.T) {
	t.Parallel()
	key, _ := testKey(5)
	if _, err := NewWriter(io.Discard, key[:31], nil, make([]byte, BufferSize(4096)), 4096); err == nil {
		t.Error("a 31-byte key was accepted")
	}
	if _, err := NewWriter(io.Discard, key[:16], nil, make([]byte, BufferSize(4096)), 4096); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	if _, err := NewWriter(io.Discard, key, nil, make([]byte, BufferSize(4096)-1), 4096); err == nil {
		t.Error("a short buffer was accepted")
	}
	if _, err := NewWriter(io.Discard, key, nil, make([]byte, BufferSize(4096)), 0); err == nil {
		t.Error("a block of 0 was accepted")
	}
}

// FuzzWriter: any plaintext written in any split, through any small block, gives sio's stream.
func FuzzWriter(f *testing.F) {
	f.Add([]byte("hello"), uint16(3), uint16(100))
	f.Add(make([]byte, 3*MaxPayload), uint16(MaxPayload%65536), uint16(4096))
	f.Add(make([]byte, MaxPayload+1), uint16(1), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, split, block uint16) {
		key, nonce := testKey(6)
		data = data[:min(len(data), 3*MaxPayload+MaxPayload/2)]
		s, b := max(int(split), 1), 64+int(block)
		rec := writeSplit(t, data, []int{s, s/2 + 1}, b, key, &nonce)
		if want := sioStream(t, data, key, &nonce); !bytes.Equal(rec.Bytes(), want) {
			t.Fatalf("%d bytes in writes of %d, block %d: stream differs from sio's", len(data), s, b)
		}
	})
}

// BenchmarkSeal seals 16 MiB in the 256 KiB writes of an upload, into 256 KiB blocks: with
// Writer, and with sio's EncryptWriter followed by a copy of its packages into blocks, the
// path Writer replaced.
func BenchmarkSeal(b *testing.B) {
	const block = 256 << 10
	key, nonce := testKey(7)
	data := testData(16 << 20)
	b.Run("dare", func(b *testing.B) {
		buf := make([]byte, BufferSize(block))
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			w, err := NewWriter(io.Discard, key, &nonce, buf, block)
			if err != nil {
				b.Fatal(err)
			}
			for p := data; len(p) > 0; p = p[block:] {
				if len(p) == block {
					_, err = w.WriteLast(p)
				} else {
					_, err = w.Write(p[:block])
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("sio+copy", func(b *testing.B) {
		blocks := &blockCopier{buf: make([]byte, block)}
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			w, err := sio.EncryptWriter(blocks, sio.Config{MinVersion: sio.Version20, MaxVersion: sio.Version20, Key: key, Nonce: &nonce, CipherSuites: []byte{sio.AES_256_GCM}})
			if err != nil {
				b.Fatal(err)
			}
			for p := data; len(p) > 0; p = p[block:] {
				if _, err := w.Write(p[:block]); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// blockCopier gathers what it is written into blocks of len(buf), as s3lite did before
// Writer; a full block is dropped.
type blockCopier struct {
	buf []byte
	n   int
}

func (c *blockCopier) Write(p []byte) (int, error) {
	for written := 0; written < len(p); {
		k := copy(c.buf[c.n:], p[written:])
		c.n += k
		written += k
		if c.n == len(c.buf) {
			c.n = 0
		}
	}
	return len(p), nil
}
