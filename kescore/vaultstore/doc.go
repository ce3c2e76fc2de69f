// Package vaultstore is a kescore.KeyStore kept in a remote HashiCorp Vault
// or OpenBao K/V secrets engine, reached over HTTPS with AppRole
// authentication: the "vault" key store of real KES, call for call, so that
// kescore and a real KES server can share one Vault.
//
// # Layout in Vault
//
// A key named N is the K/V entry at <engine>/<prefix>/N (KV v1) or
// <engine>/data/<prefix>/N (KV v2) holding one field, {"N": "<value>"},
// where the value is the key record exactly as kescore hands it over (the
// base64 text real KES writes). Creation is create-if-absent: a read, then
// a write (with cas=0 on KV v2). Listing reads the direct children of
// <engine>/<prefix> (KV v2: <engine>/metadata/<prefix>) with list=true.
//
// # Authentication and liveness
//
// [Connect] logs in at auth/<approle engine>/login. A background goroutine
// renews the token through auth/token/renew-self when 80% of its TTL has
// passed (three attempts; a 4xx answer ends them at once) and logs in again
// when renewal fails, retrying the login every AppRole.Retry. A second
// goroutine polls sys/health every StatusPing. A request refused with 403
// is checked against auth/token/lookup-self: if the token itself is no
// longer valid (revoked, expired) the store logs in again at once and
// retries the request once; otherwise the error names the Vault policy that
// is missing a capability. [Store.Close] stops both goroutines and waits for
// them.
//
// # Errors
//
// Network failures wrap kescore.ErrStoreUnreachable, and so does a sealed or
// uninitialized Vault seen by Status (sys/health), as KES reports it; key
// operations that Vault answers with 503 (sealed) or another 5xx wrap
// kescore.ErrStoreUnavailable;
// a missing entry is kescore.ErrKeyNotFound and a create over an existing
// entry kescore.ErrKeyExists; a policy denial wraps [ErrPermissionDenied].
//
// # Deviations from real KES
//
// Delete reads the entry first (Vault's K/V delete is idempotent), so that
// in-process callers learn of a missing key through kescore.ErrKeyNotFound;
// the KES API still answers 200 for it, as real KES does.
// A 403 answer is followed by a lookup-self (and, for an invalid token, a
// login and one retry) where real KES waits for its next renewal. The
// sys/health probe is not retried by the Vault client (the next probe is
// the retry), and 503 answers and TLS alerts are never retried.
// List filters the listed children by the requested name prefix and treats
// an empty listing (404) as no keys. Requests are not refused locally while
// the last health ping said "sealed": Vault answers them with 503 itself,
// which avoids a stale sealed flag after an unseal.
//
// # Hand-written parts
//
// None of the protocol: requests go through github.com/hashicorp/vault/api.
// The renewal loop is written here rather than with api.LifetimeWatcher
// because KES's schedule (80% of TTL, fixed retry counts, re-login) and its
// observable events are the contract.
package vaultstore
