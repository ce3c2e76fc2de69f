package s3lite

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

// TestFileWriterDirect: pooled chunks and seal buffers (and seal blocks) are aligned for
// O_DIRECT; a fileWriter in direct mode stays in it for whole chunks, leaves it for a short
// tail, and the file holds every byte.
func TestFileWriterDirect(t *testing.T) {
	t.Parallel()
	var pool chunkPool
	c := pool.get()
	defer pool.put(c)
	if uintptr(unsafe.Pointer(&c[0]))%directAlign != 0 {
		t.Fatalf("a pooled chunk at %p is not %d-byte aligned", &c[0], directAlign)
	}
	var seals bufPool[sealBuf]
	sb := seals.get()
	defer seals.put(sb)
	if uintptr(unsafe.Pointer(&sb[0]))%directAlign != 0 || sealBlock%directAlign != 0 {
		t.Fatalf("a pooled seal buffer at %p, or its block of %d bytes, is not %d-byte aligned", &sb[0], sealBlock, directAlign)
	}
	copy(c[:], randBytes(chunkSize))
	tail := randBytes(1000)

	f, err := os.Create(filepath.Join(t.TempDir(), "body"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := &fileWriter{f: f}
	w.useDirect()
	direct := w.direct // false on a file system without O_DIRECT (tmpfs)
	t.Logf("O_DIRECT on %s: %v", filepath.Dir(f.Name()), direct)
	for range 2 {
		if _, err := w.Write(c[:]); err != nil {
			t.Fatal(err)
		}
	}
	if w.direct != direct {
		t.Fatalf("whole chunks changed the mode: direct %v, then %v", direct, w.direct)
	}
	if _, err := w.Write(tail); err != nil {
		t.Fatal(err)
	}
	if w.direct {
		t.Fatal("still in O_DIRECT mode after a short write")
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte{}, c[:]...), c[:]...), tail...)
	if !bytes.Equal(got, want) || w.written != int64(len(want)) {
		t.Fatalf("file holds %d bytes (written %d), want %d", len(got), w.written, len(want))
	}
}
