package sigv4

import (
	"crypto/sha256"
	"hash"
)

// sha256Hasher adapts crypto/sha256 to minio-go's md5simd.Hasher.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

func newSHA256() sha256Hasher { return sha256Hasher{sha256.New()} }
