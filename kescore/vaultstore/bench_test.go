package vaultstore

import (
	"fmt"
	"testing"
)

// BenchmarkGet measures a key read through AppRole-authenticated HTTPS
// against the embedded vault (K/V v1): the cost of a cache miss in kescore.
func BenchmarkGet(b *testing.B) {
	v := startVault(b)
	s := v.connect(b, Config{Engine: "kv", AppRole: v.appRole(b, "kes-role", "5m", "minio-key-policy")})
	ctx := b.Context()
	must(b, s.Create(ctx, "minio-key-1", []byte(value)))
	for b.Loop() {
		if _, err := s.Get(ctx, "minio-key-1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreate measures create-if-absent (a read, then a write).
func BenchmarkCreate(b *testing.B) {
	v := startVault(b)
	s := v.connect(b, Config{Engine: "kv", AppRole: v.appRole(b, "kes-role", "5m", "minio-key-policy")})
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		if err := s.Create(ctx, fmt.Sprint("k-", i), []byte(value)); err != nil {
			b.Fatal(err)
		}
	}
}
