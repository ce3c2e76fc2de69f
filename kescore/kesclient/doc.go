// Package kesclient is kmsbox's own client for the KES HTTP API: the calls a
// KES admin or application makes over mutual TLS (key create, import,
// describe, list, delete, generate, encrypt, decrypt, hmac, plus version,
// status, readiness and self-description).
//
// It backs the `kmsbox key ...` command line and s3lite's remote-KES KMS
// adapter. The wire contract is ../../../shared/spec/kes-api.md: request and
// response JSON, status codes and the exact error messages.
//
// # Why it is hand-written
//
// The reference client, github.com/minio/kms-go/kes, is AGPL-3.0 and may not
// enter the Apache-2.0 kmsbox binary, so this package implements the same
// wire protocol from the specification. Tests use the reference client to
// check that both behave alike.
//
// # Errors
//
// A server error answer becomes an [*Error] carrying the HTTP status and the
// server's message. The exported sentinels ([ErrKeyExists], [ErrKeyNotFound],
// [ErrNotAllowed], [ErrDecrypt], [ErrPolicyNotFound], [ErrIdentityNotFound])
// match with [errors.Is] when status AND message agree, including the
// messages of older (v0.7) servers. A request that reached no endpoint fails
// with a [*ConnError].
//
// # Endpoints, failover and retries
//
// A [Client] may know several endpoints of KES replicas. A request goes to the
// endpoint that answered last; on a network error or a 5xx answer (except 501)
// it moves on to the next endpoint and sets the failing one aside for a
// while. When every endpoint failed with a network error or 503 the whole
// round is repeated after a random delay (200 ms to 1 s by default), a bounded
// number of times ([Config.Retries]). Request bodies are small JSON documents
// held in memory, so every attempt resends the same bytes.
package kesclient
