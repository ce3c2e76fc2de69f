// Package seed reads kmsbox's seed file (--seed, KMSBOX_SEED) and applies it to the three
// servers: the state an integration test or a docker-compose fixture starts from.
//
// A seed file is YAML with four sections, all optional:
//
//	vault:    mounts (kv, kv-v2, transit, with transit keys), secrets, ACL policies,
//	          AppRoles (fixed role_id and secret_id when given), tokens with fixed ids
//	kes:      keys (random, or fixed 256-bit material in hex or base64), identities (a
//	          certificate file, or a name kmsbox makes a certificate for), policies
//	s3:       the root credentials, buckets with default encryption, objects
//	console:  true or false
//
// [Parse] checks the whole file before anything is applied and names every problem by its
// place in the file ("seed.yaml:12:5: vault.mounts[1].type: ..."), all at once: unknown keys,
// bad values, duplicates, files that do not exist, policies that do not parse. Relative file
// paths are relative to the seed file's directory.
//
// [Seed.Apply] brings the servers to the seed's state and is idempotent: what is there and
// equal is left alone, what differs is overwritten with the seed's value (the seed wins, as a
// fixture must), what is missing is created; a token that exists with other policies is
// revoked and made again. One thing is never overwritten: a KES key that exists (its material
// encrypts data; replacing it would lose that data). Things the seed does not name are left
// as they are: applying a seed never deletes.
//
// Some parts act when the servers are configured rather than by Apply: the console switch,
// the S3 root credentials (kmsbox's S3 server has one key pair: s3.credentials sets it), and
// KES identities and policies (KES reads its policies from its configuration). The appliance
// reads them from the [Seed] fields.
//
// The package imports none of the servers: [Targets] is what it needs of them, and the
// appliance implements it.
package seed

import (
	"context"
	"errors"
)

// Seed is a parsed, checked seed file.
type Seed struct {
	// File is the name the seed was read from, used in messages.
	File    string
	Vault   Vault
	KES     KES
	S3      S3
	Console *bool // nil: the seed does not say
}

// Vault is the seed's vault section.
type Vault struct {
	Mounts   []Mount
	Secrets  []Secret
	Policies []Policy
	AppRoles []AppRole
	Tokens   []Token
}

// Mount is a secrets engine to enable: Type is "kv", "kv-v2" or "transit"; Keys are transit
// keys to create in it (transit only).
type Mount struct {
	Path string
	Type string
	Keys []string
	at   pos
}

// Secret is a KV entry: Path starts with its mount ("secret/app/db"); kv-v2 mounts get it as
// the data of a new version when it differs from the current one.
type Secret struct {
	Path string
	Data map[string]any
	at   pos
}

// Policy is a Vault ACL policy; its text came inline (policy) or from a file.
type Policy struct {
	Name   string
	Policy string
	at     pos
}

// AppRole is a role of the AppRole auth method at auth/approle (enabled if absent).
// RoleID and SecretID are fixed when set; else Vault picks them (no secret ID is made).
type AppRole struct {
	Name     string
	Policies []string
	RoleID   string
	SecretID string
	at       pos
}

// Token is a token with a fixed ID, made as an orphan so that it outlives its maker.
type Token struct {
	ID       string
	Policies []string
	TTL      string // Vault duration; "" = the mount's default
	at       pos
}

// KES is the seed's KES section.
type KES struct {
	Keys       []Key
	Identities []Identity
	Policies   []KESPolicy
}

// Key is a KES master key; Material is nil for a random key, else 32 bytes.
type Key struct {
	Name     string
	Material []byte
	at       pos
}

// Identity is a KES client: either Cert (a PEM certificate file, as given, relative to the
// seed file) or none, and kmsbox makes <data-dir>/certs/<Name>.{crt,key}.
type Identity struct {
	Name string
	Cert string
	at   pos
}

// KESPolicy is a KES policy: Allow and Deny are API path patterns ("/v1/key/generate/app-*"),
// Identities name entries of KES.Identities.
type KESPolicy struct {
	Name       string
	Allow      []string
	Deny       []string
	Identities []string
	at         pos
}

// S3 is the seed's S3 section.
type S3 struct {
	// AccessKey and SecretKey, when set, are the S3 root credentials.
	AccessKey, SecretKey string
	Buckets              []Bucket
}

// Bucket is a bucket with an optional default encryption: Encryption is "" (none), "sse-s3"
// or "sse-kms" (KeyID "" = the default key).
type Bucket struct {
	Name       string
	Encryption string
	KeyID      string
	Objects    []Object
	at         pos
}

// Object is an object of a bucket; Content came inline (content) or from a file.
type Object struct {
	Key     string
	Content []byte
	at      pos
}

// Targets is what Apply needs of the servers. A nil member is a server that is not there:
// a seed with a section for it fails.
type Targets struct {
	Vault VaultAPI
	KES   KESAPI
	S3    S3API
}

// VaultAPI sends Vault API requests with root privileges.
type VaultAPI interface {
	// Request sends one request (method, path below /v1/, JSON body or nil) and returns the
	// decoded JSON answer, nil for none. An answer of 404 gives an error that wraps
	// ErrNotFound; any other error answer an error with Vault's message.
	Request(ctx context.Context, method, path string, body map[string]any) (map[string]any, error)
}

// KESAPI is the key server, in-process, without policy checks.
type KESAPI interface {
	CreateKey(ctx context.Context, name string) error             // ErrExists if there
	ImportKey(ctx context.Context, name string, key []byte) error // ErrExists if there
}

// S3API is the object store with root privileges.
type S3API interface {
	CreateBucket(ctx context.Context, name string) error // ErrExists if there (and ours)
	// BucketEncryption returns the bucket's default ("", "sse-s3" or "sse-kms") and key id.
	BucketEncryption(ctx context.Context, bucket string) (algo, keyID string, err error)
	SetBucketEncryption(ctx context.Context, bucket, algo, keyID string) error // algo "" removes it
	GetObject(ctx context.Context, bucket, key string) ([]byte, error)         // ErrNotFound
	PutObject(ctx context.Context, bucket, key string, content []byte) error
}

// Sentinels the Targets return, so that Apply knows what is there already.
var (
	ErrExists   = errors.New("seed: already exists")
	ErrNotFound = errors.New("seed: not found")
)
