// Package transit serves Vault's Transit secrets engine ("encryption as a
// service") as a vault/sdk framework backend, so that kmsbox's embedded
// vault can be the KMS of SeaweedFS (its vault/openbao provider), sops and
// other Vault Transit clients.
//
// Endpoints (relative to the mount): keys (LIST), keys/:name (create, read,
// delete), keys/:name/config, keys/:name/rotate, keys/:name/trim,
// config/keys, encrypt/:name, decrypt/:name, rewrap/:name,
// datakey/plaintext|wrapped/:name, random[/:source][/:bytes],
// hash[/:algorithm], hmac/:name[/:algorithm], sign/:name[/:algorithm],
// verify/:name[/:algorithm], export/:type/:name[/:version], backup/:name,
// restore[/:name] and cache-config. Field names, defaults, response shapes,
// error texts and statuses follow Vault's transit API.
//
// What comes from github.com/hashicorp/vault/sdk/helper/keysutil (MPL-2.0):
// the key policy and its storage layout (policy/<name>, archive/<name>),
// key versions and their creation, the "vault:v<N>:" ciphertext and
// signature formats, key derivation and convergent encryption, the
// LockManager and its cache, and Encrypt/Decrypt/Sign/Verify/HMACKey/
// Rotate/Backup/Restore. Reusing it keeps ciphertexts and backups
// byte-compatible with Vault and keeps hand-written crypto out of kmsbox.
//
// What is hand-written here, and why: the HTTP-facing layer that in Vault
// lives in its BUSL-licensed builtin/logical/transit package, which kmsbox
// must not copy: path definitions and field schemas, argument validation
// and Vault's error wording, batch_input decoding and batch_results with
// Vault's status rules (400, 500 or partial_failure_response_code), the
// read-key and export response shapes (PEM/PKIX encoding of public keys),
// the random and hash endpoints (Vault's helper/random is BUSL too), and the
// periodic auto-rotation.
//
// Not served: key import (BYOK, wrapping_key), CSR/certificate chains,
// managed keys, CMAC and the post-quantum and CBC key types; asking for one
// of those types answers "unknown key type".
package transit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/keysutil"
	"github.com/hashicorp/vault/sdk/logical"
)

// minCacheSize is Vault's smallest non-zero policy cache size.
const minCacheSize = 10

// autoRotateCheckInterval throttles the key scan of the periodic function,
// as Vault does (once an hour).
const autoRotateCheckInterval = time.Hour

// Storage keys of the backend's own configuration.
const (
	cacheConfigPath = "config/cache"
	keysConfigPath  = "config/keys"
	policyPrefix    = "policy/"
)

// backend is the transit engine over one mount's storage.
type backend struct {
	*framework.Backend
	lm  *keysutil.LockManager
	now func() time.Time

	rotateMu       sync.Mutex // serializes periodic runs
	nextRotateScan time.Time  // guarded by rotateMu
}

// New returns the transit backend for a mount; conf.StorageView is the
// mount's storage. The backend's PeriodicFunc (run by a RollbackOperation
// request) rotates keys whose auto_rotate_period has elapsed.
func New(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	return newBackend(ctx, conf, time.Now)
}

// newBackend is New with an injectable clock for the auto-rotation.
func newBackend(ctx context.Context, conf *logical.BackendConfig, now func() time.Time) (*backend, error) {
	b := &backend{now: now}
	b.Backend = &framework.Backend{
		Help: "The transit backend encrypts and decrypts data in transit, signs and verifies, and computes HMACs and hashes.",
		PathsSpecial: &logical.Paths{
			SealWrapStorage: []string{"archive/", "policy/"},
		},
		// More specific patterns first: keys/:name would match the
		// rotate/config/trim subpaths otherwise.
		Paths: []*framework.Path{
			b.pathRotate(),
			b.pathTrim(),
			b.pathKeysConfig(),
			b.pathKeys(),
			b.pathListKeys(),
			b.pathConfigKeys(),
			b.pathEncrypt(),
			b.pathDecrypt(),
			b.pathRewrap(),
			b.pathDatakey(),
			b.pathRandom(),
			b.pathHash(),
			b.pathHMAC(),
			b.pathSign(),
			b.pathVerify(),
			b.pathExport(),
			b.pathBackup(),
			b.pathRestore(),
			b.pathCacheConfig(),
		},
		Invalidate:   b.invalidate,
		BackendType:  logical.TypeLogical,
		PeriodicFunc: b.periodicFunc,
	}
	size, err := cacheSizeFromStorage(ctx, conf.StorageView)
	if err != nil {
		return nil, fmt.Errorf("error retrieving cache size from storage: %w", err)
	}
	if size != 0 && size < minCacheSize {
		size = minCacheSize
	}
	// The policy cache is always on: the policy pointers it hands out are
	// what the per-key read/write locks below protect.
	if b.lm, err = keysutil.NewLockManager(true, size); err != nil {
		return nil, err
	}
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

func cacheSizeFromStorage(ctx context.Context, s logical.Storage) (int, error) {
	if s == nil {
		return 0, nil
	}
	entry, err := s.Get(ctx, cacheConfigPath)
	if err != nil || entry == nil {
		return 0, err
	}
	var c cacheConfig
	if err := entry.DecodeJSON(&c); err != nil {
		return 0, err
	}
	return c.Size, nil
}

// policy loads (or with req.Upsert creates) the named key and locks it,
// exclusively when the caller changes it. A nil policy means no such key
// and holds no lock; otherwise the caller must Unlock it.
func (b *backend) policy(ctx context.Context, req keysutil.PolicyRequest, exclusive bool) (*keysutil.Policy, bool, error) {
	p, upserted, err := b.lm.GetPolicy(ctx, req, b.GetRandomReader())
	if err != nil || p == nil {
		return nil, false, err
	}
	p.Lock(exclusive)
	return p, upserted, nil
}

// readPolicy is policy for an existing key under a shared lock.
func (b *backend) readPolicy(ctx context.Context, s logical.Storage, name string) (*keysutil.Policy, error) {
	p, _, err := b.policy(ctx, keysutil.PolicyRequest{Storage: s, Name: name}, false)
	return p, err
}

// requirePolicy is readPolicy for the request's "name", answering Vault's
// 400 notFound message when there is no such key (then p is nil).
func (b *backend) requirePolicy(ctx context.Context, req *logical.Request, d *framework.FieldData, notFound string) (*keysutil.Policy, *logical.Response, error) {
	p, err := b.readPolicy(ctx, req.Storage, d.Get("name").(string))
	if err != nil || p != nil {
		return p, nil, err
	}
	resp, err := errorResponse("%s", notFound)
	return nil, resp, err
}

func (b *backend) invalidate(_ context.Context, key string) {
	if name, ok := strings.CutPrefix(key, policyPrefix); ok {
		b.lm.InvalidatePolicy(name)
	}
}

// periodicFunc rotates every key whose auto_rotate_period has passed since
// its latest version was created. Like Vault it scans at most once an hour.
func (b *backend) periodicFunc(ctx context.Context, req *logical.Request) error {
	b.rotateMu.Lock()
	defer b.rotateMu.Unlock()
	now := b.now()
	if now.Before(b.nextRotateScan) {
		return nil
	}
	b.nextRotateScan = now.Add(autoRotateCheckInterval)
	names, err := req.Storage.List(ctx, policyPrefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if err := b.rotateIfDue(ctx, req.Storage, name, now); err != nil {
			errs = append(errs, fmt.Errorf("auto-rotate %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (b *backend) rotateIfDue(ctx context.Context, s logical.Storage, name string, now time.Time) error {
	p, _, err := b.policy(ctx, keysutil.PolicyRequest{Storage: s, Name: name}, true)
	if err != nil || p == nil {
		return err
	}
	defer p.Unlock()
	if p.AutoRotatePeriod == 0 || (p.Imported && !p.AllowImportedKeyRotation) {
		return nil
	}
	latest, ok := p.Keys[strconv.Itoa(p.LatestVersion)]
	if !ok || !now.After(latest.CreationTime.Add(p.AutoRotatePeriod)) {
		return nil
	}
	b.Logger().Debug("automatically rotating key", "key", name)
	return p.Rotate(ctx, s, b.GetRandomReader())
}

// parseKeyType maps the key types kmsbox creates from their API names.
func parseKeyType(name string) (keysutil.KeyType, bool) {
	for _, t := range []keysutil.KeyType{
		keysutil.KeyType_AES128_GCM96, keysutil.KeyType_AES256_GCM96, keysutil.KeyType_ChaCha20_Poly1305,
		keysutil.KeyType_ECDSA_P256, keysutil.KeyType_ECDSA_P384, keysutil.KeyType_ECDSA_P521,
		keysutil.KeyType_ED25519, keysutil.KeyType_RSA2048, keysutil.KeyType_RSA3072,
		keysutil.KeyType_RSA4096, keysutil.KeyType_HMAC,
	} {
		if t.String() == name {
			return t, true
		}
	}
	return 0, false
}

// errorResponse is Vault's 400 answer: an error response together with
// logical.ErrInvalidRequest.
func errorResponse(format string, args ...any) (*logical.Response, error) {
	return logical.ErrorResponse(format, args...), logical.ErrInvalidRequest
}
