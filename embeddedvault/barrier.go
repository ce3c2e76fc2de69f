package embeddedvault

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/physical"
)

// Physical keys the barrier itself owns.
const (
	sealConfigKey = "core/seal-config" // plaintext: shares and threshold only
	keyringKey    = "core/keyring"     // encrypted with the root key
)

const (
	barrierVersion = 1
	headerLen      = 1 + 4 // version byte, key term
	rootKeyLen     = 32
)

// sealConfig is the only value stored in the clear: it says how many shares
// exist and how many unseal. It holds nothing secret.
type sealConfig struct {
	Type            string `json:"type"`
	SecretShares    int    `json:"secret_shares"`
	SecretThreshold int    `json:"secret_threshold"`
}

// keyring holds the data encryption keys, indexed by term. It is stored
// encrypted with the root key and lives in memory only while unsealed.
type keyring struct {
	ActiveTerm uint32            `json:"active_term"`
	Keys       map[uint32][]byte `json:"keys"`
}

// barrier encrypts every value with AES-256-GCM under the active keyring
// key, binding the storage path as additional data so a value copied to
// another path fails to decrypt. It implements logical.Storage.
type barrier struct {
	phys *boltBackend

	mu    sync.RWMutex
	ring  *keyring
	aeads map[uint32]cipher.AEAD
}

var _ logical.Storage = (*barrier)(nil)

func newBarrier(phys *boltBackend) *barrier { return &barrier{phys: phys} }

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealConfig returns the stored seal configuration or nil when the store
// has not been initialized.
func (b *barrier) sealConfig(ctx context.Context) (*sealConfig, error) {
	e, err := b.phys.Get(ctx, sealConfigKey)
	if err != nil || e == nil {
		return nil, err
	}
	var c sealConfig
	if err := json.Unmarshal(e.Value, &c); err != nil {
		return nil, withMessage(ErrDamaged, "the seal configuration (%s in %s) is damaged, the store cannot be unsealed until it is restored from a backup: %v", sealConfigKey, b.phys.db.Path(), err)
	}
	return &c, nil
}

// initialize creates the keyring, encrypts it with a fresh root key, stores
// both the seal config and the encrypted keyring and returns the root key.
// The barrier stays sealed.
// A fixedRoot of rootKeyLen bytes is the root key instead of a random one (dev tests).
func (b *barrier) initialize(ctx context.Context, cfg sealConfig, fixedRoot []byte) ([]byte, error) {
	if c, err := b.sealConfig(ctx); err != nil {
		return nil, err
	} else if c != nil {
		return nil, ErrAlreadyInitialized
	}
	root := make([]byte, rootKeyLen)
	dek := make([]byte, rootKeyLen)
	if len(fixedRoot) == rootKeyLen {
		copy(root, fixedRoot)
	} else if _, err := rand.Read(root); err != nil {
		return nil, err
	}
	if _, err := rand.Read(dek); err != nil {
		return nil, err
	}
	ring := keyring{ActiveTerm: 1, Keys: map[uint32][]byte{1: dek}}
	plain, err := json.Marshal(ring)
	if err != nil {
		return nil, err
	}
	sealed, err := seal(root, 0, keyringKey, plain)
	clear(plain)
	if err != nil {
		return nil, err
	}
	if err := b.phys.Put(ctx, &physical.Entry{Key: keyringKey, Value: sealed}); err != nil {
		return nil, err
	}
	cj, _ := json.Marshal(cfg)
	if err := b.phys.Put(ctx, &physical.Entry{Key: sealConfigKey, Value: cj}); err != nil {
		return nil, err
	}
	return root, nil
}

// unseal decrypts the keyring with root. A wrong key gives ErrInvalidKey.
func (b *barrier) unseal(ctx context.Context, root []byte) error {
	e, err := b.phys.Get(ctx, keyringKey)
	if err != nil {
		return err
	}
	if e == nil {
		return ErrNotInitialized
	}
	if len(root) != rootKeyLen {
		return ErrInvalidKey
	}
	if err := checkSealedShape(e.Value); err != nil {
		return withMessage(ErrDamaged, "the keyring (%s in %s) is damaged, the store cannot be unsealed until it is restored from a backup: %v", keyringKey, b.phys.db.Path(), err)
	}
	plain, err := open(root, keyringKey, e.Value)
	if err != nil {
		return ErrInvalidKey
	}
	var ring keyring
	err = json.Unmarshal(plain, &ring)
	clear(plain)
	if err != nil {
		return withMessage(ErrDamaged, "the keyring (%s in %s) is damaged, the store cannot be unsealed until it is restored from a backup: %v", keyringKey, b.phys.db.Path(), err)
	}
	aeads := make(map[uint32]cipher.AEAD, len(ring.Keys))
	for term, k := range ring.Keys {
		a, err := newGCM(k)
		if err != nil {
			return err
		}
		aeads[term] = a
	}
	b.mu.Lock()
	b.ring, b.aeads = &ring, aeads
	b.mu.Unlock()
	return nil
}

// seal forgets the keyring.
func (b *barrier) seal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring != nil {
		for _, k := range b.ring.Keys {
			clear(k)
		}
	}
	b.ring, b.aeads = nil, nil
}

func (b *barrier) sealed() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.ring == nil
}

// seal encrypts plain with key: version | term | nonce | ciphertext+tag,
// the path and the header bound as additional data.
func seal(key []byte, term uint32, path string, plain []byte) ([]byte, error) {
	a, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return sealWith(a, term, path, plain)
}

func sealWith(a cipher.AEAD, term uint32, path string, plain []byte) ([]byte, error) {
	out := make([]byte, headerLen+a.NonceSize(), headerLen+a.NonceSize()+len(plain)+a.Overhead())
	out[0] = barrierVersion
	binary.BigEndian.PutUint32(out[1:headerLen], term)
	if _, err := rand.Read(out[headerLen:]); err != nil {
		return nil, err
	}
	return a.Seal(out, out[headerLen:], plain, aad(out[:headerLen], path)), nil
}

func open(key []byte, path string, ct []byte) ([]byte, error) {
	a, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return openWith(a, path, ct)
}

func openWith(a cipher.AEAD, path string, ct []byte) ([]byte, error) {
	if len(ct) < headerLen+a.NonceSize()+a.Overhead() || ct[0] != barrierVersion {
		return nil, ErrCorrupt
	}
	nonce := ct[headerLen : headerLen+a.NonceSize()]
	plain, err := a.Open(nil, nonce, ct[headerLen+a.NonceSize():], aad(ct[:headerLen], path))
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

// checkSealedShape reports a sealed value that cannot be one: too short or of an unknown
// version. An AEAD failure alone cannot tell damage from a wrong key; this can.
func checkSealedShape(ct []byte) error {
	const gcmNonce, gcmTag = 12, 16
	if len(ct) < headerLen+gcmNonce+gcmTag || ct[0] != barrierVersion {
		return ErrCorrupt
	}
	return nil
}

func aad(header []byte, path string) []byte {
	return append(append([]byte{}, header...), path...)
}

func (b *barrier) active() (uint32, cipher.AEAD, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.ring == nil {
		return 0, nil, ErrSealed
	}
	return b.ring.ActiveTerm, b.aeads[b.ring.ActiveTerm], nil
}

func (b *barrier) encrypt(key string, value []byte) ([]byte, error) {
	term, a, err := b.active()
	if err != nil {
		return nil, err
	}
	return sealWith(a, term, key, value)
}

func (b *barrier) decrypt(key string, ct []byte) ([]byte, error) {
	if len(ct) < headerLen {
		return nil, ErrCorrupt
	}
	term := binary.BigEndian.Uint32(ct[1:headerLen])
	b.mu.RLock()
	if b.ring == nil {
		b.mu.RUnlock()
		return nil, ErrSealed
	}
	a := b.aeads[term]
	b.mu.RUnlock()
	if a == nil {
		return nil, ErrCorrupt
	}
	return openWith(a, key, ct)
}

// Get decrypts the value at key; nil, nil when absent.
func (b *barrier) Get(ctx context.Context, key string) (*logical.StorageEntry, error) {
	if b.sealed() {
		return nil, ErrSealed
	}
	e, err := b.phys.Get(ctx, key)
	if err != nil || e == nil {
		return nil, err
	}
	v, err := b.decrypt(key, e.Value)
	if err != nil {
		return nil, fmt.Errorf("embeddedvault: %s: %w", key, err)
	}
	return &logical.StorageEntry{Key: key, Value: v}, nil
}

// Put encrypts and stores entry.
func (b *barrier) Put(ctx context.Context, entry *logical.StorageEntry) error {
	ct, err := b.encrypt(entry.Key, entry.Value)
	if err != nil {
		return err
	}
	return b.phys.Put(ctx, &physical.Entry{Key: entry.Key, Value: ct})
}

// putIfAbsent encrypts and stores entry unless its key exists; it reports
// whether it wrote.
func (b *barrier) putIfAbsent(ctx context.Context, entry *logical.StorageEntry) (bool, error) {
	ct, err := b.encrypt(entry.Key, entry.Value)
	if err != nil {
		return false, err
	}
	return b.phys.putIfAbsent(ctx, &physical.Entry{Key: entry.Key, Value: ct})
}

// Delete removes key.
func (b *barrier) Delete(ctx context.Context, key string) error {
	if b.sealed() {
		return ErrSealed
	}
	return b.phys.Delete(ctx, key)
}

// List lists the keys under prefix; names are not secret, so no decryption.
func (b *barrier) List(ctx context.Context, prefix string) ([]string, error) {
	if b.sealed() {
		return nil, ErrSealed
	}
	return b.phys.List(ctx, prefix)
}

// deletePrefix drops a whole subtree (a disabled mount's data).
func (b *barrier) deletePrefix(ctx context.Context, prefix string) error {
	if b.sealed() {
		return ErrSealed
	}
	return b.phys.deletePrefix(ctx, prefix)
}

// getJSON and putJSON are helpers for the server's own records.
func (b *barrier) getJSON(ctx context.Context, key string, out any) (bool, error) {
	e, err := b.Get(ctx, key)
	if err != nil || e == nil {
		return false, err
	}
	return true, json.Unmarshal(e.Value, out)
}

func (b *barrier) putJSON(ctx context.Context, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(ctx, &logical.StorageEntry{Key: key, Value: raw})
}
