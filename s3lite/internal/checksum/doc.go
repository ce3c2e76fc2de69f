// Package checksum computes and checks the integrity values of S3 requests and responses:
// the additional checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) that today's clients
// send by default (x-amz-checksum-* headers or aws-chunked trailers), multipart COMPOSITE
// checksums, FULL_OBJECT CRCs combined from part CRCs, and Content-MD5.
//
// # Contract
//
// [FromHeaders] finds the one checksum a request declares (header value now, or an
// algorithm whose value arrives in the aws-chunked trailer); s3lite hashes the body
// through a [Reader] (MD5 for the ETag plus the declared algorithm, streaming, nothing
// buffered) and checks the value with [Verify] after the body ended, before committing.
// A mismatch is ErrBadDigest (400 BadDigest, never InvalidArgument), a malformed or
// duplicate declaration ErrInvalidAlgorithm (400 InvalidRequest), a malformed
// Content-MD5 ErrInvalidDigest (400 InvalidDigest). An unknown x-amz-checksum-*
// algorithm is refused rather than stored unverified. Values are compared in constant
// time.
//
// Multipart uploads: [Composite] gives the COMPOSITE value S3 returns from
// CompleteMultipartUpload, base64(H(sum1 || sum2 || ...)) + "-N". [FullObjectCRC] turns
// the stored part CRCs and part sizes into the CRC of the whole object for GetObject
// with x-amz-checksum-mode: ENABLED, without reading the object again, using the zlib
// crc32_combine identity crc(A||B) = crc(A)·x^(8·|B|) mod P ⊕ crc(B) in the reflected
// bit order of these CRCs (square-and-multiply, 64 steps per part at most). SHA
// checksums cannot be combined; an object uploaded in parts with SHA1/SHA256 only has a
// COMPOSITE value.
//
// # Why this is hand-written
//
// The hashes are the standard library's: hash/crc32 (IEEE and Castagnoli, hardware
// accelerated), hash/crc64 with the CRC-64/NVME polynomial in reflected form
// (0x9a6c9329ac4bc9b5, as aws-sdk-go-v2 itself uses; check value of "123456789" is
// 0xae8b14860a799888), crypto/sha1, crypto/sha256, crypto/md5. What is written here is
// only S3's glue around them: header names, base64 framing, the single-checksum rule,
// the composite formula and CRC combination. aws-sdk-go-v2 implements the same
// algorithms in service/internal/checksum, which is an internal package and cannot be
// imported; its test vectors ("hello world") are used in this package's tests.
// github.com/minio/crc64nvme (a faster CRC-64/NVME) is already in the module graph but
// CRC64NVME is rare (clients default to CRC32), so the standard library is preferred.
package checksum
