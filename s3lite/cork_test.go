package s3lite

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestGetBodyCorked: the body of a GET leaves in writes of several TLS records (netcork),
// encrypted or not, whole or a range, and arrives intact.
func TestGetBodyCorked(t *testing.T) {
	t.Parallel()
	for _, encrypted := range []bool{true, false} {
		e := newEnv(t, func(c *Config) { c.AutoEncrypt = encrypted })
		ctx := context.Background()
		b := e.bucket("cork")
		body := make([]byte, 4<<20+100)
		rand.Read(body)
		if _, err := e.mc.PutObject(ctx, b, "k", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, rng := range [][2]int64{{0, 0}, {1000, 3<<20 + 7}} {
			opts := minio.GetObjectOptions{}
			want := body
			if rng[1] > 0 {
				if err := opts.SetRange(rng[0], rng[1]); err != nil {
					t.Fatal(err)
				}
				want = body[rng[0] : rng[1]+1]
			}
			before := e.writes.Load()
			o, err := e.mc.GetObject(ctx, b, "k", opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(o)
			o.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("encrypted %v, range %v: %d bytes, %v", encrypted, rng, len(got), err)
			}
			records := int64(len(want) >> 14)
			n := e.writes.Load() - before
			if n > records/7+8 {
				t.Errorf("encrypted %v, range %v: %d writes for a body of %d TLS records", encrypted, rng, n, records)
			}
			t.Logf("encrypted %v, range %v: %d writes for a body of %d TLS records", encrypted, rng, n, records)
		}
	}
}
