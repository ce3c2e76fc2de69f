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

// The store key authenticates the object records s3lite keeps in meta.db and keys the
// block hashes of plaintext bodies: object record MACs (recordmac.go) and body hashes
// (bodyhash.go) are derived from it. Where it lives, in bolt's top-level bucket "sys":
//
//	"sealed"  with a KMS: {"key": key id, "ct": the KMS ciphertext} of a data key made by
//	          GenerateKey under Config.DefaultKeyID when an object first needs it (not at
//	          Open: a store opens, and bucket operations work, while the vault is sealed,
//	          and no KMS key is made for a server that never stores an object); unsealed
//	          when first needed, then cached in memory. Nothing secret is on disk in the
//	          clear. Until the KMS serves, object reads and writes answer its error.
//	"key"     without a KMS (or when the KMS has no default key): the 32 bytes in the
//	          clear. Honest limit: an attacker who can write meta.db can read this key
//	          and forge MACs and hashes; what it still catches is damage, and edits and
//	          swaps made without reading the key.
//	"bkey"    the bucket record key, always in the clear (same limit): bucket records hold
//	          no secret, and bucket operations must work without a KMS.
//	"macs"    present once every object record carries a MAC (migrateObjectMACs), and
//	"bmacs"   once every bucket record does (migrateBucketMACs): from then on a record
//	          without one is refused, not MAC'd.
//
// The keys are made once, with the store, and never change: body hashes depend on them.
var (
	sysBucket      = []byte("sys")
	sysSealedKey   = []byte("sealed")
	sysClearKey    = []byte("key")
	sysBucketKey   = []byte("bkey")
	sysMACsMarker  = []byte("macs")
	sysBMACsMarker = []byte("bmacs")
)

// bucketRecordKey returns the bucket record key of the store in tx (a write transaction),
// made on first use.
func bucketRecordKey(tx *bolt.Tx) ([]byte, error) {
	sys, err := tx.CreateBucketIfNotExists(sysBucket)
	if err != nil {
		return nil, err
	}
	if k := sys.Get(sysBucketKey); len(k) == 32 {
		return append([]byte(nil), k...), nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, sys.Put(sysBucketKey, k)
}

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
	// loaded runs once, when the key is first had (migrateMACs); its error is logged.
	loaded func(key []byte) error
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
	if kr.loaded != nil {
		if err := kr.loaded(kr.key); err != nil {
			kr.warn("s3: giving records their MACs failed; retried at the next start", "err", err)
		}
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
	return deriveBodyHashKey(k), nil
}

// deriveBodyHashKey derives the key of the block hashes of plaintext bodies from storeKey.
func deriveBodyHashKey(storeKey []byte) []byte {
	return hmacSum(storeKey, []byte("s3lite body block hash v1"))
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
