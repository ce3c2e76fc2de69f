package kescore

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors of kescore. KeyStore implementations return the store
// errors; the in-process calls of Server return all of them. errors.go maps
// them to KES's wire errors.
var (
	// ErrKeyExists is returned when a key with the same name already exists.
	ErrKeyExists = errors.New("key already exists")
	// ErrKeyNotFound is returned when a key does not exist.
	ErrKeyNotFound = errors.New("key does not exist")
	// ErrDecrypt is returned when a ciphertext is malformed or not authentic.
	ErrDecrypt = errors.New("decryption failed: ciphertext is not authentic")
	// ErrNotAllowed is returned when a policy denies an operation.
	ErrNotAllowed = errors.New("not authorized: insufficient permissions")
	// ErrStoreUnavailable is returned when the key store answered but
	// cannot serve the request, for example a Vault that answers a key
	// operation with 503 because it is sealed.
	ErrStoreUnavailable = errors.New("key store is unavailable")
	// ErrStoreUnreachable is returned when the key store cannot be reached,
	// and by Status for a Vault that is sealed or not initialized: KES
	// reports such a Vault as not reachable (/v1/ready 504).
	ErrStoreUnreachable = errors.New("key store is unreachable")
	// ErrInvalidName is returned for key, policy or identity names that
	// KES does not accept.
	ErrInvalidName = errors.New("invalid name")
)

// KeyStore keeps the key records of a KES server. A value is a key record
// as real KES keeps it (the base64 protobuf KeyVersion text); the store
// treats it as opaque bytes.
//
// Implementations MUST be safe for concurrent use and honour context
// cancellation. They report ErrStoreUnavailable (e.g. a key operation that
// a sealed Vault refuses) and ErrStoreUnreachable (network failure; a sealed
// or uninitialized Vault in Status) wrapped or plain.
type KeyStore interface {
	// Status reports whether the store is reachable and serving, and the
	// latency of the probe. It returns ErrStoreUnreachable when the store
	// is down, sealed or not initialized (as KES reports a sealed Vault),
	// ErrStoreUnavailable when it answers with another failure.
	Status(ctx context.Context) (latency time.Duration, err error)
	// Create stores value under name if, and only if, no entry of that
	// name exists; otherwise it returns ErrKeyExists.
	Create(ctx context.Context, name string, value []byte) error
	// Get returns the value stored under name or ErrKeyNotFound.
	Get(ctx context.Context, name string) ([]byte, error)
	// Delete removes the entry of name. It may return ErrKeyNotFound if
	// there is none; the KES API answers 200 either way, as KES does.
	Delete(ctx context.Context, name string) error
	// List returns the names that start with prefix, sorted. An empty
	// prefix lists all names.
	List(ctx context.Context, prefix string) ([]string, error)
}
