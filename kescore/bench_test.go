package kescore

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/kmsbox/kmsbox/internal/testutil"
)

// BenchmarkGenerateDecrypt measures generate+decrypt pairs per second over
// mTLS with the real client, at 1, 8 and 32 concurrent callers.
func BenchmarkGenerateDecrypt(b *testing.B) {
	e := newEnv(b, nil)
	c := e.client(e.minio)
	if err := c.CreateKey(ctx(b), "minio-key-1"); err != nil {
		b.Fatal(err)
	}
	assoc := []byte(`{"bucket/object":""}`)
	for _, conc := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			pairs := testutil.RunConcurrent(b, conc, func() error {
				dek, err := c.GenerateKey(ctx(b), "minio-key-1", assoc)
				if err != nil {
					return err
				}
				p, err := c.Decrypt(ctx(b), "minio-key-1", dek.Ciphertext, assoc)
				if err != nil || !bytes.Equal(p, dek.Plaintext) {
					return fmt.Errorf("decrypt: %v", err)
				}
				return nil
			})
			b.ReportMetric(pairs, "pairs/s")
		})
	}
}
