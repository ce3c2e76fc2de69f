package s3lite

import (
	"bytes"
	"testing"

	"github.com/minio/sio"
)

// TestSealSmall: what sealSmall makes is one DARE 2.0 stream that sio opens under the same
// key, 32 bytes longer than the message, with a fresh nonce each time; another key fails.
func TestSealSmall(t *testing.T) {
	t.Parallel()
	key := randBytes(32)
	for _, n := range []int{1, 16, 32, 100} {
		msg := randBytes(n)
		a, err := sealSmall(key, msg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := sealSmall(key, msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != n+32 || bytes.Equal(a, b) {
			t.Fatalf("%d bytes sealed into %d, twice the same: %v", n, len(a), bytes.Equal(a, b))
		}
		got, err := sio.DecryptBuffer(nil, a, dareConfig(key))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: opened %x, %v", n, got, err)
		}
		if _, err := sio.DecryptBuffer(nil, a, dareConfig(randBytes(32))); err == nil {
			t.Fatalf("%d bytes: opened under another key", n)
		}
	}
}

// BenchmarkSealObjectKey seals a 32-byte object key, as every encrypted upload does.
func BenchmarkSealObjectKey(b *testing.B) {
	oek, kek := randBytes(32), randBytes(32)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := sealObjectKey(oek, kek, sseS3, "bucket", "object"); err != nil {
			b.Fatal(err)
		}
	}
}
