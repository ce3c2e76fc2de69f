package s3lite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// storeEncrypted writes data as a one-part object encrypted under a fresh key and returns
// its record and key, for reading through a rangeReader without HTTP.
func storeEncrypted(t testing.TB, e *env, data []byte) (*objectMeta, []byte) {
	t.Helper()
	key := randBytes(32)
	f, res, err := e.srv.writeBody(context.Background(), bytes.NewReader(data), key, nil, 0, maxObjectSize)
	if err != nil {
		t.Fatal(err)
	}
	name, err := e.srv.st.commitFile(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	m := &objectMeta{Key: "k", Size: res.size, SSE: map[string]string{metaS3Sealed: "x"},
		Parts: []partMeta{{File: name, Size: res.size, EncSize: res.encSize}}}
	return m, key
}

// TestRangeReaderLastPackage reads ranges of encrypted bodies that end in the last DARE
// package (decrypted at once by openLast when they need only it) and that do not, and
// compares each with the plaintext; a flipped byte in the last package is ObjectTampered.
func TestRangeReaderLastPackage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, size := range []int{1, 4 << 10, darePayload - 1, darePayload, darePayload + 1, 3*darePayload + 100} {
		data := randBytes(size)
		m, key := storeEncrypted(t, e, data)
		n := int64(size)
		ranges := [][2]int64{{0, n}, {n - 1, 1}, {n / 2, n - n/2}, {0, n / 2}, {n / 3, n / 3}}
		if n > darePayload {
			ranges = append(ranges, [2]int64{darePayload, n - darePayload}, [2]int64{darePayload - 1, 2})
		}
		for _, r := range ranges {
			if r[1] == 0 {
				continue
			}
			t.Run(fmt.Sprintf("size=%d/off=%d/len=%d", size, r[0], r[1]), func(t *testing.T) {
				rr := e.srv.newRangeReader(m, key, nil, r[0], r[1])
				defer rr.Close()
				got, err := io.ReadAll(rr)
				if err != nil || !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
					t.Fatalf("read %d bytes, %v", len(got), err)
				}
			})
		}
		path := filepath.Join(e.srv.st.dataDir, filepath.FromSlash(m.Parts[0].File))
		stored, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		stored[len(stored)-20] ^= 1 // in the last package's ciphertext
		if err := os.WriteFile(path, stored, 0o600); err != nil {
			t.Fatal(err)
		}
		rr := e.srv.newRangeReader(m, key, nil, n-1, 1)
		if _, err := io.ReadAll(rr); !errors.Is(err, errObjectTampered) {
			t.Errorf("size %d: the last package altered: %v", size, err)
		}
		rr.Close()
	}
}

// BenchmarkReadSmallEncrypted reads a whole 4 KiB encrypted body through a rangeReader, as
// every small GET does: no 64 KiB buffer per read.
func BenchmarkReadSmallEncrypted(b *testing.B) {
	e := newEnv(b)
	data := randBytes(4 << 10)
	m, key := storeEncrypted(b, e, data)
	buf := make([]byte, len(data))
	b.ReportAllocs()
	for b.Loop() {
		rr := e.srv.newRangeReader(m, key, nil, 0, int64(len(data)))
		if _, err := io.ReadFull(rr, buf); err != nil {
			b.Fatal(err)
		}
		rr.Close()
	}
}
