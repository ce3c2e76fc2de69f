package appliance

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/kmsbox/kmsbox/embeddedvault"
	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/kescore/vaultstore"
)

// vaultKeyStore keeps KES key records in the embedded vault, in-process, where and how real
// KES keeps them in a Vault: the KV v1 entry {"<name>": "<record>"} at <mount>/<prefix>/<name>
// (the layout of vaultstore.Entry, Record and Names).
// So `vault kv list kv/minio` shows the keys of the guide's config, and real KES pointed at
// :8200 reads the keys kescore made (and the other way round).
type vaultKeyStore struct {
	vault  *embeddedvault.Server
	mount  string // KV v1 mount, e.g. "kes" or the guide's "kv"
	prefix string // path below the mount, e.g. "" or the guide's "minio"
	// manage: kmsbox owns the mount and enables it on first use after unseal. For a mount
	// named in a KES config the user enables it, as in the guide.
	manage bool

	mu      sync.Mutex
	mounted bool
}

func (s *vaultKeyStore) entry(name string) string { return path.Join(s.mount, s.prefix, name) }

// ensureMount enables the managed mount once the vault is unsealed.
func (s *vaultKeyStore) ensureMount(ctx context.Context) error {
	if !s.manage {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mounted {
		return nil
	}
	if err := s.vault.EnsureKVMount(ctx, s.mount); err != nil {
		return storeError(err)
	}
	s.mounted = true
	return nil
}

func (s *vaultKeyStore) Status(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	// A sealed (or uninitialized) vault is a key store that is not reachable, as KES
	// reports it: /v1/ready answers 504 "key store is not reachable".
	if s.vault.Sealed() {
		return 0, fmt.Errorf("%w: the vault is sealed", kescore.ErrStoreUnreachable)
	}
	if err := s.ensureMount(ctx); err != nil {
		if errors.Is(err, embeddedvault.ErrSealed) || errors.Is(err, embeddedvault.ErrNotInitialized) {
			return 0, fmt.Errorf("%w: %w", kescore.ErrStoreUnreachable, err)
		}
		return 0, err
	}
	return time.Since(start), nil
}

func (s *vaultKeyStore) Create(ctx context.Context, name string, value []byte) error {
	if err := s.ensureMount(ctx); err != nil {
		return err
	}
	return storeError(s.vault.KVCreate(ctx, s.entry(name), vaultstore.Entry(name, value)))
}

func (s *vaultKeyStore) Get(ctx context.Context, name string) ([]byte, error) {
	if err := s.ensureMount(ctx); err != nil {
		return nil, err
	}
	data, err := s.vault.KVRead(ctx, s.entry(name))
	if err != nil {
		return nil, storeError(err)
	}
	return vaultstore.Record(data, s.entry(name), name)
}

func (s *vaultKeyStore) Delete(ctx context.Context, name string) error {
	if err := s.ensureMount(ctx); err != nil {
		return err
	}
	if _, err := s.vault.KVRead(ctx, s.entry(name)); err != nil {
		return storeError(err)
	}
	return storeError(s.vault.KVDelete(ctx, s.entry(name)))
}

func (s *vaultKeyStore) List(ctx context.Context, prefix string) ([]string, error) {
	if err := s.ensureMount(ctx); err != nil {
		return nil, err
	}
	entries, err := s.vault.KVList(ctx, path.Join(s.mount, s.prefix)+"/")
	if errors.Is(err, embeddedvault.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeError(err)
	}
	return vaultstore.Names(entries, prefix), nil
}

// storeError translates the vault's errors into kescore's.
func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, embeddedvault.ErrSealed), errors.Is(err, embeddedvault.ErrNotInitialized):
		return fmt.Errorf("%w: %w", kescore.ErrStoreUnavailable, err)
	case errors.Is(err, embeddedvault.ErrNotFound):
		return fmt.Errorf("%w: %w", kescore.ErrKeyNotFound, err)
	case errors.Is(err, embeddedvault.ErrExists):
		return fmt.Errorf("%w: %w", kescore.ErrKeyExists, err)
	}
	return err
}
