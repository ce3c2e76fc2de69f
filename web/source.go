package web

import (
	"context"
	"errors"
	"time"
)

// Source is what the console shows. The appliance implements it over its three servers;
// the console never reaches a server itself, so it works the same whether the keys live in
// the embedded vault, an external Vault, or a static key. Every method must honour ctx and
// must never return secret material (no plaintext key, no token).
type Source interface {
	// Status reports the three layers and what they hold, for the overview page.
	Status(ctx context.Context) (Status, error)
	// Objects lists at most limit objects of bucket whose keys start with prefix, in key
	// order. A missing bucket is an error wrapping [ErrNotFound].
	Objects(ctx context.Context, bucket, prefix string, limit int) ([]Object, error)
	// Chain follows one object down to the sealed store, checking every link now: the
	// KMS is asked to decrypt the object's data key (the plaintext is dropped at once).
	// A missing bucket or object is an error wrapping [ErrNotFound].
	Chain(ctx context.Context, bucket, key string) (Chain, error)
}

// Check is the live state of one link: OK, or the reason it is broken (a sealed vault, a
// deleted master key, an unreachable KES...). Err is a human sentence, never a secret.
type Check struct {
	OK  bool
	Err string
}

// Status is the overview: one entry per layer, top (S3) to bottom (vault).
type Status struct {
	S3    S3Status
	KES   KESStatus
	Vault VaultStatus
}

// S3Status describes the object store.
type S3Status struct {
	// URL is where S3 clients connect; "" when the S3 listener is disabled.
	URL string
	// Ready is the store's readiness: not OK while the KMS it needs is unavailable.
	Ready Check
	// AutoEncrypt is on when every upload without SSE headers is encrypted with SSE-S3.
	AutoEncrypt bool
	// KMS names where object keys are sealed: "kmsbox KES (in-process)", "KES at <url>",
	// or "static key <name>".
	KMS string
	// DefaultKey is the master key of SSE-S3 and of SSE-KMS without a key id.
	DefaultKey string
	// Buckets are every bucket, in name order.
	Buckets []Bucket
}

// Bucket is one bucket of the object store.
type Bucket struct {
	Name    string
	Created time.Time
	// Encryption is the bucket's default encryption: "" (none), "SSE-S3" or "SSE-KMS".
	Encryption string
	// KeyID is the master key of an SSE-KMS default; "" otherwise.
	KeyID string
}

// KESStatus describes the key server.
type KESStatus struct {
	// URL is where KES clients connect (mTLS); "" when the KES listener is disabled.
	URL string
	// Ready is the key server's readiness: not OK while its key store is unavailable.
	Ready Check
	// Keys are the master keys in the key store, in name order (empty when it is unavailable).
	Keys []MasterKey
}

// MasterKey is one master key of the key server.
type MasterKey struct {
	Name string
	// Location says where the key store keeps the key, e.g. "embedded vault, KV v1 kes/minio-key-1"
	// or "Vault at https://vault:8200, kv/minio-key-1".
	Location string
}

// VaultStatus describes the sealed store under the key server.
type VaultStatus struct {
	// URL is where Vault clients connect; "" when the Vault listener is disabled.
	URL string
	// External is true when the key server keeps its keys in an external Vault: the fields
	// below then describe the embedded vault, which holds no master keys.
	External bool
	// Initialized and Sealed are the seal status; Shares and Threshold its Shamir split.
	Initialized, Sealed bool
	Shares, Threshold   int
	// StorageFile is the bbolt file every value is kept in, encrypted behind the barrier.
	StorageFile string
	// Mount is the KV mount that holds the key server's master keys, e.g. "kes/".
	Mount string
	// Transit are the vault's Transit engines and their keys, in path order; empty while the
	// vault is sealed. The overview shows them; the chain page leaves them out.
	Transit []TransitMount
}

// TransitMount is one Transit secrets engine of the vault.
type TransitMount struct {
	// Path is the mount path, e.g. "transit/".
	Path string
	// Keys are its keys in name order.
	Keys []TransitKey
}

// TransitKey describes one Transit key by its metadata, never its material.
type TransitKey struct {
	Name string
	// Type is the key type, e.g. "aes256-gcm96".
	Type string
	// LatestVersion is the version new ciphertexts are made with.
	LatestVersion int
}

// Object is one stored object, as a listing shows it.
type Object struct {
	Bucket, Key string
	Size        int64
	ModTime     time.Time
	ETag        string
	// Encryption is "" (not encrypted), "SSE-S3", "SSE-KMS" or "SSE-C".
	Encryption string
	// KeyID is the master key that seals the object's data key ("" for SSE-C and plaintext).
	KeyID string
	// Parts is the number of parts of a multipart object, 0 for a single-part one.
	Parts int
}

// Chain is one object followed down to the sealed store:
//
//	object (DARE ciphertext on disk)
//	  -> object key, sealed with the data key and bound to bucket/object
//	  -> data key, stored only as the KMS's ciphertext under the master key
//	  -> master key, kept by the key server in its key store
//	  -> the vault, whose barrier encrypts it and whose unseal keys open it.
//
// For SSE-C the chain ends at the object key: the customer holds the key that seals it.
// For an unencrypted object only Object is set.
type Chain struct {
	Object Object
	// Format describes the stored body, e.g. "DARE 2.0, AES-256-GCM, 64 KiB packages".
	Format string
	// SealedObjectKey is the object key sealed with the key encryption key (hex); SealAlgorithm
	// is how ("DARE-SHA256"). Neither is secret.
	SealedObjectKey, SealAlgorithm string
	// DataKeyCiphertext is the data key as the KMS encrypted it (base64) and DataKeyContext
	// the associated data it was bound to (JSON). Empty for SSE-C.
	DataKeyCiphertext, DataKeyContext string
	// DataKey is the live check of the data key: does the KMS decrypt it now?
	DataKey Check
	// MasterKey is the key that encrypts the data key; its Check says whether the key
	// server can use it now. Zero for SSE-C and plaintext objects.
	MasterKey      MasterKey
	MasterKeyCheck Check
	// Vault is the sealed store at the bottom of the chain: zero for SSE-C and plaintext,
	// and when the master key is not kept by this kmsbox (a remote KES, a static key).
	Vault VaultStatus
}

// ErrNotFound is wrapped by a [Source] for a bucket or object that does not exist.
var ErrNotFound = errors.New("web: not found")
