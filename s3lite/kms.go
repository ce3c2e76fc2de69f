package s3lite

import "context"

// KMS is the key service s3lite seals object keys with: kescore in
// process, a remote KES, or a single static key. Implementations must be
// safe for concurrent use, honour ctx, and return (wrapped) ErrKMSKeyNotFound,
// ErrKMSNotAuthorized, ErrKMSInvalidCiphertext or ErrKMSUnavailable so that
// clients get the matching S3 KMS error.
type KMS interface {
	// GenerateKey returns a fresh 32-byte data key and its ciphertext under
	// the master key keyID, bound to context (replayed byte-for-byte on Decrypt).
	GenerateKey(ctx context.Context, keyID string, context []byte) (DEK, error)
	// Decrypt returns the plaintext of a data key ciphertext made by GenerateKey.
	Decrypt(ctx context.Context, keyID string, ciphertext, context []byte) ([]byte, error)
	// Status returns nil when the KMS can serve requests.
	Status(ctx context.Context) error
}

// DEK is a data key: Plaintext is used once and forgotten, Ciphertext is
// stored with the object.
type DEK struct {
	// KeyID names the master key the DEK is sealed with.
	KeyID string
	// Plaintext is the 32-byte key.
	Plaintext []byte
	// Ciphertext is Plaintext sealed by the KMS.
	Ciphertext []byte
}
