package appliance

import (
	"context"
	"errors"
	"fmt"

	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/kescore/kesclient"
	"github.com/kmsbox/kmsbox/s3lite"
)

// keyService is what the object store's KMS needs of a key server. kescore's in-process calls
// (*kescore.Server: the appliance's own KES, or the static key's in-memory one) and kmsbox's
// KES client (*kesclient.Client: a remote KES) both have it.
type keyService interface {
	CreateKey(ctx context.Context, name string) error
	GenerateKey(ctx context.Context, name string, assoc []byte) (plaintext, ciphertext []byte, err error)
	Decrypt(ctx context.Context, name string, ciphertext, assoc []byte) ([]byte, error)
	Ready(ctx context.Context) error
}

// kmsAdapter gives the object store its keys from a key server ([s3lite.KMS]): it creates the
// default key when a generate finds it missing, and translates the key server's errors.
type kmsAdapter struct {
	keys       keyService
	defaultKey string
	// createDefault: like MinIO at start-up, a generate that finds the default key missing
	// creates it. Off for the static key, which is the only key there is.
	createDefault bool
	// probeByGenerate: Status asks for a data key, as MinIO's readiness check does; the
	// identity's policy allows that (the guide's allows nothing else), and it proves keys can
	// be had. Otherwise Status is the key server's Ready.
	probeByGenerate bool
	// legacy opens the data keys sealed by kmsbox's first static-key KMS (nil: none).
	legacy *legacyStaticKey

	// For the console: where the keys come from, and whether that is the appliance's own
	// key server (whose keys and vault it can show).
	source string
	ours   bool
}

// GenerateKey returns a fresh data key sealed under keyID ("" is the default key).
func (k *kmsAdapter) GenerateKey(ctx context.Context, keyID string, assoc []byte) (s3lite.DEK, error) {
	if keyID == "" {
		keyID = k.defaultKey
	}
	pt, ct, err := k.keys.GenerateKey(ctx, keyID, assoc)
	if k.createDefault && keyID == k.defaultKey && isAny(err, kescore.ErrKeyNotFound, kesclient.ErrKeyNotFound) {
		// A policy may allow generate but not create (someone else made the key): try anyway.
		err = k.keys.CreateKey(ctx, keyID)
		if err == nil || isAny(err, kescore.ErrKeyExists, kesclient.ErrKeyExists, kesclient.ErrNotAllowed) {
			pt, ct, err = k.keys.GenerateKey(ctx, keyID, assoc)
		}
	}
	if err != nil {
		return s3lite.DEK{}, kmsError(err)
	}
	return s3lite.DEK{KeyID: keyID, Plaintext: pt, Ciphertext: ct}, nil
}

// Decrypt opens a data key sealed under keyID with the same assoc.
func (k *kmsAdapter) Decrypt(ctx context.Context, keyID string, ciphertext, assoc []byte) ([]byte, error) {
	if k.legacy != nil && k.legacy.opens(keyID, ciphertext) {
		pt, err := k.legacy.decrypt(ciphertext, assoc)
		return pt, kmsError(err)
	}
	pt, err := k.keys.Decrypt(ctx, keyID, ciphertext, assoc)
	return pt, kmsError(err)
}

// Status reports whether keys can be had.
func (k *kmsAdapter) Status(ctx context.Context) error {
	if k.probeByGenerate {
		_, err := k.GenerateKey(ctx, "", []byte(`{"healthcheck":""}`))
		return err
	}
	return kmsError(k.keys.Ready(ctx))
}

// kmsError translates a key server's error, in process or from the wire, into s3lite's KMS
// errors: one table, anything else is s3lite.ErrKMSUnavailable.
func kmsError(err error) error {
	if err == nil {
		return nil
	}
	table := []struct {
		from []error
		to   error
	}{
		{[]error{kescore.ErrKeyNotFound, kesclient.ErrKeyNotFound}, s3lite.ErrKMSKeyNotFound},
		{[]error{kescore.ErrNotAllowed, kesclient.ErrNotAllowed}, s3lite.ErrKMSNotAuthorized},
		{[]error{kescore.ErrDecrypt, kesclient.ErrDecrypt}, s3lite.ErrKMSInvalidCiphertext},
	}
	for _, m := range table {
		if isAny(err, m.from...) {
			return fmt.Errorf("%w: %w", m.to, err)
		}
	}
	return fmt.Errorf("%w: %w", s3lite.ErrKMSUnavailable, err)
}

// isAny reports whether err matches one of targets.
func isAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
