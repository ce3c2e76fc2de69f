// Package kescore is a KES-compatible key server: the HTTP API that MinIO
// and the KES clients speak on :7373 over mutual TLS.
//
// Clients are known by their identity, the lowercase hex SHA-256 of their
// certificate's DER-encoded SubjectPublicKeyInfo. Named policies of allowed
// and denied path patterns are assigned to identities; one admin identity
// may do everything.
//
// Master keys are 256-bit secrets kept, one record per key, in a KeyStore
// (the embedded vault or a remote Vault, wired in package appliance). The
// records and the ciphertexts are byte-compatible with real KES, so kescore
// and KES can share one Vault and decrypt each other's ciphertexts.
//
// Hand-written parts and why: the key record encoding uses protowire
// directly because real KES's generated protobuf types are AGPL and the
// record is two small messages. The legacy ciphertext formats are read with
// encoding/json and the tinylib/msgp runtime, the same readers KES used.
package kescore
