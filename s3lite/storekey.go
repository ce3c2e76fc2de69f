package s3lite

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// The store key authenticates what s3lite keeps in meta.db and keys the block hashes of
// plaintext bodies: record MACs (recordmac.go) and body hashes (bodyhash.go) are derived
// from it. Where it lives, in bolt's top-level bucket "sys":
//
//	"sealed"  with a KMS: {"key": key id, "ct": the KMS ciphertext} of a data key made by
//	          GenerateKey under Config.DefaultKeyID; unsealed when first needed, then
//	          cached in memory. Nothing secret is on disk in the clear.
//	"key"     without a KMS (or when the KMS has no default key at the store's
//	          creation): the 32 bytes in the clear. Honest limit: an attacker who can
//	          write meta.db can read this key and forge MACs and hashes; what it still
//	          catches is damage and edits made without it.
//	"macs"    present once every record carries a MAC (migrateMACs): from then on a
//	          record without one is refused, not MAC'd.
//
// The key is made once, with the store, and never changes: body hashes depend on it.
var (
	sysBucket     = []byte("sys")
	sysSealedKey  = []byte("sealed")
	sysClearKey   = []byte("key")
	sysMACsMarker = []byte("macs")
)

// storeKeyContext is the KMS context the store key is sealed with.
var storeKeyContext = []byte(`{"kmsbox-s3":"store key"}`)

// sealedStoreKey is the "sealed" record.
type sealedStoreKey struct {
	KeyID      string `json:"key"`
	Ciphertext []byte `json:"ct"`
}

// keyring hands out the store key, loading (or making) it on first use: with a KMS that
// is not available yet (a sealed vault) the store still opens, and what needs the key
// answers the KMS error until it is.
type keyring struct {
	db    *bolt.DB
	kms   KMS // nil: clear key
	keyID string

	mu   sync.Mutex
	key  []byte
	warn func(msg string, args ...any)
}

// get returns the store key.
func (kr *keyring) get(ctx context.Context) ([]byte, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kr.key != nil {
		return kr.key, nil
	}
	var sealed sealedStoreKey
	var clear []byte
	if err := kr.db.View(func(tx *bolt.Tx) error {
		sys := tx.Bucket(sysBucket)
		if sys == nil {
			return nil
		}
		if v := sys.Get(sysClearKey); v != nil {
			clear = append([]byte(nil), v...)
		}
		if v := sys.Get(sysSealedKey); v != nil {
			return json.Unmarshal(v, &sealed)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("s3lite: store key record: %w", err)
	}
	switch {
	case len(clear) == 32:
		kr.key = clear
	case sealed.Ciphertext != nil:
		if kr.kms == nil {
			return nil, fmt.Errorf("%w: the store key is sealed by a KMS (key %q) and none is configured", errKMSNotConfigured, sealed.KeyID)
		}
		k, err := kr.kms.Decrypt(ctx, sealed.KeyID, sealed.Ciphertext, storeKeyContext)
		if err != nil {
			return nil, kmsErr(errKMSDecrypt, err)
		}
		if len(k) != 32 {
			return nil, fmt.Errorf("%w: the store key unseals to %d bytes", errKMSDecrypt, len(k))
		}
		kr.key = k
	default:
		k, err := kr.create(ctx)
		if err != nil {
			return nil, err
		}
		kr.key = k
	}
	return kr.key, nil
}

// create makes the store key of a new (or pre-MAC) store and records it.
func (kr *keyring) create(ctx context.Context) ([]byte, error) {
	var rec []byte
	var name []byte
	var key []byte
	if kr.kms != nil {
		dek, err := kr.kms.GenerateKey(ctx, kr.keyID, storeKeyContext)
		switch {
		case err == nil && len(dek.Plaintext) == 32:
			key, name = dek.Plaintext, sysSealedKey
			rec, _ = json.Marshal(sealedStoreKey{KeyID: cmp.Or(dek.KeyID, kr.keyID), Ciphertext: dek.Ciphertext})
		case errors.Is(err, ErrKMSKeyNotFound):
			kr.warn("s3: the KMS has no default key to seal the store key with; it is kept in the clear", "key", kr.keyID)
		case err == nil:
			return nil, fmt.Errorf("%w: the KMS made a %d-byte data key", errKMSGenerate, len(dek.Plaintext))
		default:
			return nil, kmsErr(errKMSGenerate, err)
		}
	}
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		rec, name = key, sysClearKey
	}
	err := kr.db.Update(func(tx *bolt.Tx) error {
		sys, err := tx.CreateBucketIfNotExists(sysBucket)
		if err != nil {
			return err
		}
		if sys.Get(sysSealedKey) != nil || sys.Get(sysClearKey) != nil {
			return errors.New("s3lite: store key appeared concurrently")
		}
		return sys.Put(name, rec)
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// bodyHashKey returns the key of the block hashes of plaintext bodies.
func (s *Server) bodyHashKey(ctx context.Context) ([]byte, error) {
	k, err := s.keys.get(ctx)
	if err != nil {
		return nil, err
	}
	return hmacSum(k, []byte("s3lite body block hash v1")), nil
}

// bodyHashKeyOf returns bodyHashKey if a part of m has block hashes, else nil.
func (s *Server) bodyHashKeyOf(ctx context.Context, m *objectMeta) ([]byte, error) {
	for _, p := range m.Parts {
		if p.Hash != nil {
			return s.bodyHashKey(ctx)
		}
	}
	return nil, nil
}
