package kescore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// TestInProcessCalls drives the calls the s3lite adapter makes, without
// HTTP: round trip, bound context, tampering, unknown and invalid names,
// a store that goes down and comes back.
func TestInProcessCalls(t *testing.T) {
	store := NewMemKeyStore()
	srv, err := Open(context.Background(), Config{Store: store, Logger: slog.New(slog.DiscardHandler), ProbeInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	if err := srv.Ready(ctx(t)); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := srv.CreateKey(ctx(t), "minio-key"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateKey(ctx(t), "minio-key"); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second CreateKey: %v, want ErrKeyExists", err)
	}
	assoc := []byte(`{"bucket/object":""}`)
	plain, ciphertext, err := srv.GenerateKey(ctx(t), "minio-key", assoc)
	if err != nil || len(plain) != 32 {
		t.Fatalf("GenerateKey = %d bytes, %v", len(plain), err)
	}
	if got, err := srv.Decrypt(ctx(t), "minio-key", ciphertext, assoc); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Decrypt = %x, %v; want %x", got, err, plain)
	}

	if err := srv.CreateKey(ctx(t), "other-key"); err != nil {
		t.Fatal(err)
	}
	if names, err := srv.ListKeys(ctx(t), "minio-"); err != nil || len(names) != 1 || names[0] != "minio-key" {
		t.Fatalf("ListKeys(minio-) = %q, %v", names, err)
	}
	if names, err := srv.ListKeys(ctx(t), ""); err != nil || len(names) != 2 || names[1] != "other-key" {
		t.Fatalf("ListKeys(\"\") = %q, %v", names, err)
	}
	if ki, err := srv.DescribeKey(ctx(t), "minio-key"); err != nil || ki.Name != "minio-key" || ki.Algorithm == "" || ki.CreatedAt.IsZero() {
		t.Fatalf("DescribeKey = %+v, %v", ki, err)
	}
	if _, err := srv.DescribeKey(ctx(t), "missing"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("DescribeKey(missing) = %v, want ErrKeyNotFound", err)
	}
	if _, err := srv.DescribeKey(ctx(t), "a/b"); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("DescribeKey(a/b) = %v, want ErrInvalidName", err)
	}

	tampered := bytes.Clone(ciphertext)
	tampered[len(tampered)/2] ^= 1
	for name, tc := range map[string]struct {
		ciphertext, assoc []byte
	}{
		"other context": {ciphertext, []byte(`{"bucket/other":""}`)},
		"no context":    {ciphertext, nil},
		"tampered":      {tampered, assoc},
		"truncated":     {ciphertext[:len(ciphertext)-1], assoc},
		"empty":         {nil, assoc},
	} {
		if got, err := srv.Decrypt(ctx(t), "minio-key", tc.ciphertext, tc.assoc); !errors.Is(err, ErrDecrypt) || got != nil {
			t.Errorf("%s: Decrypt = %x, %v; want ErrDecrypt", name, got, err)
		}
	}

	if err := srv.CreateKey(ctx(t), "-bad-"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("CreateKey(-bad-): %v, want ErrInvalidName", err)
	}
	if _, _, err := srv.GenerateKey(ctx(t), "a/b", nil); !errors.Is(err, ErrInvalidName) {
		t.Errorf("GenerateKey(a/b): %v, want ErrInvalidName", err)
	}
	if _, err := srv.Decrypt(ctx(t), "", ciphertext, assoc); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Decrypt(\"\"): %v, want ErrInvalidName", err)
	}
	if _, _, err := srv.GenerateKey(ctx(t), "missing", nil); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("GenerateKey(missing): %v, want ErrKeyNotFound", err)
	}
	if _, err := srv.Decrypt(ctx(t), "missing", ciphertext, assoc); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Decrypt(missing): %v, want ErrKeyNotFound", err)
	}

	// A store failure that is neither sentinel still reads as unavailable.
	store.SetDown(errors.New("disk on fire"))
	if err := srv.Ready(ctx(t)); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("Ready with a failing store: %v, want ErrStoreUnavailable", err)
	}
	if _, err := srv.ListKeys(ctx(t), ""); err == nil {
		t.Fatal("ListKeys with a failing store = nil error")
	}
	store.SetDown(ErrStoreUnreachable)
	if err := srv.Ready(ctx(t)); !errors.Is(err, ErrStoreUnreachable) {
		t.Fatalf("Ready with an unreachable store: %v", err)
	}
	store.SetDown(nil)
	if err := srv.Ready(ctx(t)); err != nil {
		t.Fatalf("Ready after recovery: %v", err)
	}
	if got, err := srv.Decrypt(ctx(t), "minio-key", ciphertext, assoc); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Decrypt after recovery = %v", err)
	}
}
