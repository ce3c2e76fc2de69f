package appliance

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/kmsbox/kmsbox/kescore"
)

// parseStaticKey reads the KMS guide's appendix B single key: "<name>:<base64 of 32 bytes>"
// (MINIO_KMS_SECRET_KEY) or "<name>:<64 hex digits>" (the older MINIO_KMS_MASTER_KEY).
func parseStaticKey(spec string) (name string, key []byte, err error) {
	name, enc, ok := strings.Cut(strings.TrimSpace(spec), ":")
	if !ok || name == "" || enc == "" {
		return "", nil, errors.New("static KMS key must be <name>:<base64 or hex of 32 bytes>")
	}
	if len(enc) == 64 {
		if k, err := hex.DecodeString(enc); err == nil {
			key = k
		}
	}
	if key == nil {
		if key, err = base64.StdEncoding.DecodeString(enc); err != nil {
			return "", nil, fmt.Errorf("static KMS key %q: not base64 or hex", name)
		}
	}
	if len(key) != 32 {
		return "", nil, fmt.Errorf("static KMS key %q: need 32 bytes, got %d", name, len(key))
	}
	return name, key, nil
}

// openStaticKMS serves the static key from a kescore server over an in-memory key store that
// holds just that key, imported with its material: new data keys are sealed in KES's
// ciphertext format, the same as under the appliance's own KES. Data keys sealed by kmsbox's
// first static-key KMS still open (legacyStaticKey). Close the server when done.
func openStaticKMS(ctx context.Context, spec, defaultKey string, log *slog.Logger) (*kmsAdapter, *kescore.Server, error) {
	name, key, err := parseStaticKey(spec)
	if err != nil {
		return nil, nil, err
	}
	kes, err := kescore.Open(ctx, kescore.Config{
		Store:         kescore.NewMemKeyStore(),
		Logger:        log,
		Cache:         kescore.CacheConfig{Expiry: -1, ExpiryUnused: -1}, // the store is memory already
		ProbeInterval: time.Hour,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := kes.ImportKey(ctx, name, key); err != nil {
		kes.Close()
		return nil, nil, fmt.Errorf("static KMS key %q: %w", name, err)
	}
	if defaultKey == "" {
		defaultKey = name
	}
	return &kmsAdapter{
		keys:       kes,
		defaultKey: defaultKey,
		legacy:     &legacyStaticKey{name: name, key: key},
		source:     "static key " + name + " (MINIO_KMS_SECRET_KEY), held in memory",
	}, kes, nil
}

// legacyStaticKey opens, and never makes, the data keys sealed by kmsbox's first static-key
// KMS (before the static key was served by kescore), so objects written then stay readable.
// Its ciphertext is version 1 (one byte) | iv (32) | nonce (12) | AES-256-GCM(data key) with
// the context as associated data, under the sealing key HMAC-SHA256(key, label | iv).
//
// The framing is told apart by its length and first byte: 93 bytes starting with 0x01. KES's
// ciphertext of a 32-byte data key is 76 bytes (binary), or starts with '{' (JSON) or 0x95
// (msgpack); a data key ciphertext that kescore made is never 93 bytes.
type legacyStaticKey struct {
	name string
	key  []byte
}

const (
	legacyStaticVersion = 1
	legacyStaticSize    = 1 + 32 + 12 + 32 + 16
	legacyStaticLabel   = "kmsbox static kms v1"
)

// opens reports whether ciphertext is a legacy data key of this key.
func (l *legacyStaticKey) opens(keyID string, ciphertext []byte) bool {
	return keyID == l.name && len(ciphertext) == legacyStaticSize && ciphertext[0] == legacyStaticVersion
}

// decrypt opens a legacy ciphertext; every failure is kescore.ErrDecrypt.
func (l *legacyStaticKey) decrypt(ciphertext, assoc []byte) ([]byte, error) {
	iv, nonce, sealed := ciphertext[1:33], ciphertext[33:45], ciphertext[45:]
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(legacyStaticLabel))
	m.Write(iv)
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, kescore.ErrDecrypt
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, kescore.ErrDecrypt
	}
	pt, err := g.Open(nil, nonce, sealed, assoc)
	if err != nil {
		return nil, kescore.ErrDecrypt
	}
	return pt, nil
}
