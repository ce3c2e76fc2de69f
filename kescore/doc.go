// Package kescore is a KES-compatible key server: the HTTP API that MinIO
// and the KES clients (github.com/minio/kms-go/kes, the kes CLI) speak on
// :7373 over mutual TLS. The wire contract is ../shared/spec/kes-api.md.
//
// # Serving
//
// Open builds a Server from a Config, creating its configured keys within the
// caller's context; Handler is served by the caller over
// TLS with client certificates requested (tls.RequireAnyClientCert), so
// that self-signed client certificates reach the handler. With
// Config.VerifyClientCerts the handler verifies the chain against
// Config.ClientCAs itself (KES "--mtls-auth=verify", "tls.auth: on").
// Close stops the background key store probe and ends open log streams.
// MemKeyStore is a KeyStore in memory (the appliance's static key, tests).
//
// # Identities and policies
//
// A client is known by its identity: the lowercase hex SHA-256 of its leaf
// certificate's DER SubjectPublicKeyInfo (CA certificates in the peer chain
// are skipped). Config.Admin passes every check; a value no certificate
// hashes to ("disabled") disables it. Every other identity must be a
// member of a Config.Policies entry whose allow patterns match the request
// path and whose deny patterns do not; a pattern ending in '*' matches
// every path starting with the rest, any other pattern only itself.
// Unknown identities get 403 "not authorized: insufficient permissions".
//
// # API
//
// routes.go holds the whole API (method, path, body limit, timeout, auth);
// /v1/api is generated from it. A PUT route also accepts POST; other method
// mismatches get 405 with an Accept header. Paths ending in '/' take the
// key, policy or identity name (or a listing pattern) as the rest of the
// path; the bare path is redirected with 301, as ServeMux did for KES.
// errors.go maps every error to KES's status and exact message in one
// table; clients compare both.
//
// # Keys and cryptography
//
// Master keys are 256-bit secrets of type AES256 (default on CPUs with AES
// acceleration) or ChaCha20, each with a 256-bit HMAC key, kept one record
// per key in a KeyStore. Records are written as real KES writes them
// (base64 of a protobuf KeyVersion) and read in every form KES has written
// (that, JSON {"bytes","algorithm","created_at","created_by"}, v0.7
// {"bytes"}), so kescore and KES can share one Vault.
//
// A ciphertext is AEAD output || iv (16 bytes) || nonce (12 bytes). The
// sealing key is HMAC-SHA256(key, iv) for AES-256-GCM and HChaCha20(key,
// iv) for ChaCha20-Poly1305; the request context is the associated data.
// The legacy JSON and msgpack ciphertexts of KES v0.x are decrypted too.
// Any failure to open a ciphertext is ErrDecrypt ("decryption failed:
// ciphertext is not authentic").
//
// # Key cache and key store state
//
// Keys are cached in memory: all are dropped every Cache.Expiry, unused
// ones every Cache.ExpiryUnused. The key store is probed every
// Config.ProbeInterval (and on /v1/status, /v1/ready and Ready). While it
// is down, /v1/ready answers 502 "key store is unavailable" (504 "key
// store is not reachable" for ErrStoreUnreachable, which is also what a
// sealed or uninitialized Vault is, as in KES), /v1/status reports
// keystore_unreachable and keystore_unavailable, and key operations fail
// with KES's 502 messages ("failed to read key", ...) unless
// Cache.ExpiryOffline keeps cached keys serving for that long. The in-
// process calls (CreateKey, GenerateKey, Decrypt, Ready) skip HTTP and
// policies and return the sentinel errors of this package.
//
// # Hand-written parts and why
//
// The key record encoding uses protowire directly because real KES's
// generated protobuf types are AGPL and the record is two small messages.
// The legacy ciphertext formats are read with encoding/json and the
// tinylib/msgp runtime, the same readers KES used.
package kescore
