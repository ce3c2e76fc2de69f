package embeddedvault

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/hashicorp/vault/api"
)

// TestEnsureMount checks the in-process enable of any engine: idempotent for the same
// type, a conflict for another, sealed and unknown types refused as sys/mounts refuses them.
func TestEnsureMount(t *testing.T) {
	tv := startVault(t, testConfig(t))
	ctx := context.Background()
	if err := tv.srv.EnsureMount(ctx, "transit", "transit", nil); err != ErrSealed {
		t.Fatalf("sealed EnsureMount = %v, want ErrSealed", err)
	}
	res := tv.initUnseal(1, 1)
	s, c := tv.srv, tv.client(res.RootToken)
	for _, p := range []string{"transit", "transit/"} {
		if err := s.EnsureMount(ctx, p, "transit", nil); err != nil {
			t.Fatalf("EnsureMount(%q): %v", p, err)
		}
	}
	if err := s.EnsureMount(ctx, "kv2", "kv", map[string]string{"version": "2"}); err != nil {
		t.Fatal(err)
	}
	mounts, err := c.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	if m := mounts["transit/"]; m == nil || m.Type != "transit" {
		t.Errorf("sys/mounts transit/ = %+v", m)
	}
	if m := mounts["kv2/"]; m == nil || m.Type != "kv" || m.Options["version"] != "2" {
		t.Errorf("sys/mounts kv2/ = %+v", m)
	}
	for _, tc := range []struct {
		name, path, typ string
		want            error
	}{
		{"another type at the path", "transit", "kv", ErrMountConflict},
		{"KV at a transit mount", "kv2", "transit", ErrMountConflict},
		{"nested in a mount", "transit/inner", "transit", ErrMountConflict},
		{"unknown type", "nope", "nope", ErrBadRequest},
		{"reserved-looking path", "", "transit", ErrBadRequest},
	} {
		if err := s.EnsureMount(ctx, tc.path, tc.typ, nil); !errors.Is(err, tc.want) {
			t.Errorf("%s: EnsureMount(%q, %q) = %v, want %v", tc.name, tc.path, tc.typ, err, tc.want)
		}
	}
	if err := s.EnsureKVMount(ctx, "transit"); !errors.Is(err, ErrNotKVMount) {
		t.Errorf("EnsureKVMount on transit/ = %v, want ErrNotKVMount", err)
	}
}

// TestInternalTransit checks EnsureTransitKey and TransitKeys against what the HTTP API
// shows: the key is made once, a second call leaves a rotated key alone, and the listing
// carries name, type and versions only.
func TestInternalTransit(t *testing.T) {
	tv := startVault(t, testConfig(t))
	ctx := context.Background()
	res := tv.initUnseal(1, 1)
	s, c := tv.srv, tv.client(res.RootToken)
	if got, err := s.TransitKeys(ctx); err != nil || len(got) != 0 {
		t.Fatalf("TransitKeys without an engine = %v, %v", got, err)
	}
	if _, err := s.EnsureTransitKey(ctx, "transit", "k", ""); !errors.Is(err, ErrMountConflict) {
		t.Fatalf("EnsureTransitKey without the engine = %v, want ErrMountConflict", err)
	}
	if err := s.EnsureMount(ctx, "transit", "transit", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().Mount("apps/enc", &api.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().Mount("kv", &api.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureTransitKey(ctx, "kv", "k", ""); !errors.Is(err, ErrMountConflict) {
		t.Errorf("EnsureTransitKey on a KV mount = %v, want ErrMountConflict", err)
	}
	for _, name := range []string{"", "a/b"} {
		if _, err := s.EnsureTransitKey(ctx, "transit", name, ""); !errors.Is(err, ErrBadRequest) {
			t.Errorf("EnsureTransitKey(%q) = %v, want ErrBadRequest", name, err)
		}
	}
	if _, err := s.EnsureTransitKey(ctx, "transit", "bad-type", "rot13"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("EnsureTransitKey of an unknown type = %v, want ErrBadRequest", err)
	}

	created, err := s.EnsureTransitKey(ctx, "transit", "dev-key", "")
	if err != nil || !created {
		t.Fatalf("EnsureTransitKey = %v, %v; want created", created, err)
	}
	// The key is a real Transit key: the HTTP API encrypts with it; rotate it, and a second
	// ensure must leave it as it is.
	enc, err := c.Logical().Write("transit/encrypt/dev-key", map[string]any{"plaintext": base64.StdEncoding.EncodeToString([]byte("x"))})
	if err != nil || enc == nil {
		t.Fatalf("encrypt with the ensured key: %v", err)
	}
	if _, err := c.Logical().Write("transit/keys/dev-key/rotate", nil); err != nil {
		t.Fatal(err)
	}
	if created, err := s.EnsureTransitKey(ctx, "transit/", "dev-key", "ed25519"); err != nil || created {
		t.Fatalf("second EnsureTransitKey = %v, %v; want not created", created, err)
	}
	if _, err := s.EnsureTransitKey(ctx, "apps/enc", "signer", "ed25519"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("transit/keys/alpha", map[string]any{"type": "chacha20-poly1305"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("transit/keys/alpha/config", map[string]any{"min_decryption_version": 1}); err != nil {
		t.Fatal(err)
	}

	got, err := s.TransitKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []TransitMount{
		{Path: "apps/enc/", Keys: []TransitKey{{Name: "signer", Type: "ed25519", LatestVersion: 1, MinDecryptionVersion: 1}}},
		{Path: "transit/", Keys: []TransitKey{
			{Name: "alpha", Type: "chacha20-poly1305", LatestVersion: 1, MinDecryptionVersion: 1},
			{Name: "dev-key", Type: "aes256-gcm96", LatestVersion: 2, MinDecryptionVersion: 1},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TransitKeys =\n%+v\nwant\n%+v", got, want)
	}

	if err := c.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitKeys(ctx); err != ErrSealed {
		t.Errorf("sealed TransitKeys = %v, want ErrSealed", err)
	}
	if _, err := s.EnsureTransitKey(ctx, "transit", "dev-key", ""); err != ErrSealed {
		t.Errorf("sealed EnsureTransitKey = %v, want ErrSealed", err)
	}
	// And over HTTP a sealed Transit answers 503.
	_, err = c.Logical().Write("transit/encrypt/dev-key", map[string]any{"plaintext": "eA=="})
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("sealed encrypt = %v, want 503", err)
	}
}
