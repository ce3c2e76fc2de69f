package appliance

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kmsbox/kmsbox/embeddedvault"
	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/s3lite"
)

// vaultKeyStore keeps KES key records in the embedded vault, in-process, where and how real
// KES keeps them in a Vault: the KV v1 entry {"<name>": "<record>"} at <mount>/<prefix>/<name>.
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
	return storeError(s.vault.KVCreate(ctx, s.entry(name), map[string]any{name: string(value)}))
}

func (s *vaultKeyStore) Get(ctx context.Context, name string) ([]byte, error) {
	if err := s.ensureMount(ctx); err != nil {
		return nil, err
	}
	data, err := s.vault.KVRead(ctx, s.entry(name))
	if err != nil {
		return nil, storeError(err)
	}
	v, ok := data[name].(string)
	if !ok {
		return nil, fmt.Errorf("vault entry %s holds no key record named %q", s.entry(name), name)
	}
	return []byte(v), nil
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
	names := entries[:0]
	for _, e := range entries {
		if !strings.HasSuffix(e, "/") && strings.HasPrefix(e, prefix) {
			names = append(names, e)
		}
	}
	sort.Strings(names)
	return names, nil
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

// kesKMS gives the object store its keys from the in-process key server. Like MinIO at
// start-up, it creates the default key the first time a generate finds it missing.
type kesKMS struct {
	kes        *kescore.Server
	defaultKey string
}

func (k *kesKMS) GenerateKey(ctx context.Context, keyID string, assoc []byte) (s3lite.DEK, error) {
	if keyID == "" {
		keyID = k.defaultKey
	}
	pt, ct, err := k.kes.GenerateKey(ctx, keyID, assoc)
	if errors.Is(err, kescore.ErrKeyNotFound) && keyID == k.defaultKey {
		if err = k.kes.CreateKey(ctx, keyID); err == nil || errors.Is(err, kescore.ErrKeyExists) {
			pt, ct, err = k.kes.GenerateKey(ctx, keyID, assoc)
		}
	}
	if err != nil {
		return s3lite.DEK{}, kmsError(err)
	}
	return s3lite.DEK{KeyID: keyID, Plaintext: pt, Ciphertext: ct}, nil
}

func (k *kesKMS) Decrypt(ctx context.Context, keyID string, ciphertext, assoc []byte) ([]byte, error) {
	pt, err := k.kes.Decrypt(ctx, keyID, ciphertext, assoc)
	return pt, kmsError(err)
}

func (k *kesKMS) Status(ctx context.Context) error { return kmsError(k.kes.Ready(ctx)) }

// kmsError translates kescore's errors into s3lite's KMS errors.
func kmsError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kescore.ErrKeyNotFound):
		return fmt.Errorf("%w: %w", s3lite.ErrKMSKeyNotFound, err)
	case errors.Is(err, kescore.ErrNotAllowed):
		return fmt.Errorf("%w: %w", s3lite.ErrKMSNotAuthorized, err)
	case errors.Is(err, kescore.ErrDecrypt):
		return fmt.Errorf("%w: %w", s3lite.ErrKMSInvalidCiphertext, err)
	}
	return fmt.Errorf("%w: %w", s3lite.ErrKMSUnavailable, err)
}
