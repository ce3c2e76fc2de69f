package s3lite

import (
	"context"
	"encoding/base64"
	"errors"
	"time"
)

// This file is the in-process, read-only view of the store that kmsbox's console shows:
// what is stored and how each object's key is sealed. It never returns a plaintext key.

var (
	// ErrNotFound is wrapped by the inspection methods for a missing bucket or object.
	ErrNotFound = errors.New("s3lite: no such bucket or object")
	// ErrTampered is wrapped by [Server.CheckKey] when an object's stored key material
	// does not open: its metadata was altered.
	ErrTampered = errors.New("s3lite: the object's sealed key does not open: its metadata was altered")
)

// BucketInfo is a bucket as [Server.Buckets] reports it.
type BucketInfo struct {
	Name    string
	Created time.Time
	// SSE is the default encryption: "" (none), "SSE-S3" or "SSE-KMS"; KeyID is the
	// SSE-KMS default's key ("" means the server's default key).
	SSE, KeyID string
}

// ObjectInfo is an object as [Server.Objects] reports it.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
	// ETag is the ETag clients see, without quotes.
	ETag string
	// SSE is "" (plaintext), "SSE-S3", "SSE-KMS" or "SSE-C"; KeyID is the KMS master key
	// that seals the object's data key ("" for SSE-C and plaintext).
	SSE, KeyID string
	// Parts is the number of parts of a multipart object, 0 for a single-part one.
	Parts int
}

// SealedKey is how an object's key is kept: the object key sealed with a key encryption
// key, and for SSE-S3 and SSE-KMS that key encryption key (the data key) as the KMS's
// ciphertext. None of it is secret.
type SealedKey struct {
	Object ObjectInfo
	// SealAlgorithm is how the object key is sealed ("DAREv2-HMAC-SHA256"); IV and Sealed
	// are the seal's inputs and output.
	SealAlgorithm string
	IV, Sealed    []byte
	// DataKey is the KMS ciphertext of the data key and Context the associated data it is
	// bound to (both nil for SSE-C and plaintext objects).
	DataKey, Context []byte
	// Check is the live check of the key chain, made on the same record: what
	// [Server.CheckKey] returns for it.
	Check error
}

func objectInfo(m *objectMeta) ObjectInfo {
	typ := sseTypeOf(m.SSE)
	o := ObjectInfo{Key: m.Key, Size: m.Size, ModTime: m.ModTime, ETag: m.ETag, SSE: typ}
	if typ == sseS3 || typ == sseKMS {
		o.KeyID = m.SSE[metaKeyID]
	}
	if m.Multipart {
		o.Parts = len(m.Parts)
	}
	return o
}

// notFound adds ErrNotFound to the store's missing-bucket and missing-key errors.
func notFound(err error) error {
	if errors.Is(err, errNoSuchBucket) || errors.Is(err, errNoSuchKey) {
		return errors.Join(ErrNotFound, err)
	}
	return err
}

// Buckets returns every bucket in name order.
func (s *Server) Buckets(ctx context.Context) ([]BucketInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bs, err := s.st.listBuckets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]BucketInfo, 0, len(bs))
	for _, b := range bs {
		bi := BucketInfo{Name: b.Name, Created: b.Created}
		if e := b.Encryption; e != nil {
			bi.SSE, bi.KeyID = sseS3, ""
			if e.Algorithm == "aws:kms" {
				bi.SSE, bi.KeyID = sseKMS, e.KeyID
			}
		}
		out = append(out, bi)
	}
	return out, nil
}

// Objects returns at most limit objects of bucket whose keys start with prefix, in key
// order.
func (s *Server) Objects(ctx context.Context, bucket, prefix string, limit int) ([]ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []ObjectInfo
	err := s.st.scanObjects(ctx, bucket, prefix, "", func(m *objectMeta) bool {
		if len(out) >= limit {
			return false
		}
		out = append(out, objectInfo(m))
		return true
	})
	return out, notFound(err)
}

// Sealed returns how the key of bucket/key is sealed and, in SealedKey.Check, the live
// check of its key chain, made on the same record (so never one version's key beside
// another's check).
func (s *Server) Sealed(ctx context.Context, bucket, key string) (SealedKey, error) {
	if err := ctx.Err(); err != nil {
		return SealedKey{}, err
	}
	m, err := s.st.getObject(ctx, bucket, key)
	if err != nil {
		return SealedKey{}, notFound(err)
	}
	sk := SealedKey{Object: objectInfo(m)}
	typ := sk.Object.SSE
	if typ == "" {
		return sk, nil
	}
	sk.SealAlgorithm = m.SSE[metaSealAlgo]
	sk.IV, _ = base64.StdEncoding.DecodeString(m.SSE[metaIV])
	sk.Sealed, _ = base64.StdEncoding.DecodeString(m.SSE[sealedKeyMeta[typ]])
	if typ == sseC {
		return sk, nil // checking it takes the customer's key
	}
	sk.DataKey, _ = base64.StdEncoding.DecodeString(m.SSE[metaKEKSealed])
	clientCtx, _ := clientContext(m.SSE) // a tampered context shows as the default one
	sk.Context = kmsContext(clientCtx, bucket, key)

	oek, err := s.objectKey(ctx, m.SSE, bucket, key, nil)
	clear(oek)
	if errors.Is(err, errObjectTampered) {
		err = errors.Join(ErrTampered, err)
	}
	sk.Check = err
	return sk, nil
}

// CheckKey follows the key chain of bucket/key as a GET would, without reading the body:
// the KMS decrypts the data key and the data key unseals the object key. It returns nil
// when both hold, the KMS error (ErrKMSUnavailable, ErrKMSKeyNotFound, ...) or ErrTampered
// otherwise. SSE-C objects cannot be checked without the customer's key and return
// nil; so do plaintext objects. Every key is zeroed before it returns. It is
// [Server.Sealed]'s Check.
func (s *Server) CheckKey(ctx context.Context, bucket, key string) error {
	sk, err := s.Sealed(ctx, bucket, key)
	if err != nil {
		return err
	}
	return sk.Check
}

// Ready reports whether the KMS the store needs can serve, as /minio/health/ready does.
func (s *Server) Ready(ctx context.Context) error {
	if s.cfg.KMS == nil {
		return nil
	}
	return s.cfg.KMS.Status(ctx)
}
