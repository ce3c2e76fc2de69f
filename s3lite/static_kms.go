package s3lite

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// StaticKMS is the single built-in key of the KMS guide's appendix B
// (MINIO_KMS_SECRET_KEY, old MINIO_KMS_MASTER_KEY): one named 32-byte
// master key held in memory. It seals data keys with AES-256-GCM under a
// key derived from the master key and a random IV, with the context as
// associated data; the format is kmsbox's own.
type StaticKMS struct {
	name string
	key  []byte
}

// Ciphertext layout: version(1) | iv(32) | nonce(12) | AES-GCM(DEK, aad=context).
const staticKMSVersion = 1

// NewStaticKMS parses spec as "<name>:<base64 of 32 bytes>" (MINIO_KMS_SECRET_KEY)
// or "<name>:<64 hex digits>" (the older MINIO_KMS_MASTER_KEY).
func NewStaticKMS(spec string) (*StaticKMS, error) {
	name, enc, ok := strings.Cut(strings.TrimSpace(spec), ":")
	if !ok || name == "" || enc == "" {
		return nil, errors.New("s3lite: static KMS key must be <name>:<base64 or hex of 32 bytes>")
	}
	var key []byte
	if len(enc) == 64 {
		if k, err := hex.DecodeString(enc); err == nil {
			key = k
		}
	}
	if key == nil {
		k, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, fmt.Errorf("s3lite: static KMS key %q: not base64 or hex", name)
		}
		key = k
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("s3lite: static KMS key %q: need 32 bytes, got %d", name, len(key))
	}
	return &StaticKMS{name: name, key: key}, nil
}

// KeyID returns the name of the key.
func (k *StaticKMS) KeyID() string { return k.name }

func (k *StaticKMS) aead(iv []byte) (cipher.AEAD, error) {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte("kmsbox static kms v1"))
	m.Write(iv)
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// GenerateKey returns a fresh data key sealed under the static key.
func (k *StaticKMS) GenerateKey(ctx context.Context, keyID string, context []byte) (DEK, error) {
	if err := ctx.Err(); err != nil {
		return DEK{}, err
	}
	if keyID != k.name {
		return DEK{}, fmt.Errorf("%w: %q", ErrKMSKeyNotFound, keyID)
	}
	buf := make([]byte, 32+1+32+12)
	if _, err := rand.Read(buf); err != nil {
		return DEK{}, err
	}
	plain, hdr := buf[:32], buf[32:]
	hdr[0] = staticKMSVersion
	g, err := k.aead(hdr[1:33])
	if err != nil {
		return DEK{}, err
	}
	ct := g.Seal(append([]byte(nil), hdr...), hdr[33:], plain, context)
	return DEK{KeyID: k.name, Plaintext: plain, Ciphertext: ct}, nil
}

// Decrypt unseals a data key made by GenerateKey with the same context.
func (k *StaticKMS) Decrypt(ctx context.Context, keyID string, ciphertext, context []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if keyID != k.name {
		return nil, fmt.Errorf("%w: %q", ErrKMSKeyNotFound, keyID)
	}
	if len(ciphertext) != 1+32+12+32+16 || ciphertext[0] != staticKMSVersion {
		return nil, ErrKMSInvalidCiphertext
	}
	g, err := k.aead(ciphertext[1:33])
	if err != nil {
		return nil, err
	}
	plain, err := g.Open(nil, ciphertext[33:45], ciphertext[45:], context)
	if err != nil {
		return nil, ErrKMSInvalidCiphertext
	}
	return plain, nil
}

// Status always reports ready: the key lives in memory.
func (k *StaticKMS) Status(ctx context.Context) error { return ctx.Err() }
