package embeddedvault

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/physical"
)

func TestBarrier(t *testing.T) {
	phys := newTestBolt(t)
	b := newBarrier(phys)
	ctx := t.Context()
	if _, err := b.Get(ctx, "x"); !errors.Is(err, ErrSealed) {
		t.Fatalf("sealed Get = %v", err)
	}
	root, err := b.initialize(ctx, sealConfig{Type: "shamir", SecretShares: 1, SecretThreshold: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.initialize(ctx, sealConfig{}, nil); !errors.Is(err, ErrAlreadyInitialized) {
		t.Fatalf("second initialize = %v", err)
	}
	wrong := bytes.Clone(root)
	wrong[0] ^= 1
	if err := b.unseal(ctx, wrong); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("wrong key = %v", err)
	}
	if err := b.unseal(ctx, root[:16]); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("short key = %v", err)
	}
	if err := b.unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if err := b.Put(ctx, &logical.StorageEntry{Key: k, Value: []byte("value-" + k)}); err != nil {
			t.Fatal(err)
		}
	}
	if e, err := b.Get(ctx, "a"); err != nil || string(e.Value) != "value-a" {
		t.Fatalf("Get = %v, %v", e, err)
	}
	// A ciphertext moved to another path does not decrypt (path is AAD).
	pa, _ := phys.Get(ctx, "a")
	if bytes.Contains(pa.Value, []byte("value-a")) {
		t.Fatal("plaintext in physical value")
	}
	if err := phys.Put(ctx, &physical.Entry{Key: "b", Value: pa.Value}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "b"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("moved value Get = %v", err)
	}
	// A flipped bit is detected.
	bad := bytes.Clone(pa.Value)
	bad[len(bad)-1] ^= 1
	_ = phys.Put(ctx, &physical.Entry{Key: "a", Value: bad})
	if _, err := b.Get(ctx, "a"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("tampered value Get = %v", err)
	}
	b.seal()
	if err := b.Put(ctx, &logical.StorageEntry{Key: "c", Value: []byte("x")}); !errors.Is(err, ErrSealed) {
		t.Fatalf("sealed Put = %v", err)
	}
}
