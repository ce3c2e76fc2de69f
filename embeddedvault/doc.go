// Package embeddedvault is a Vault-compatible sealed key store: the subset
// of Vault's HTTP API that the vault CLI, the github.com/hashicorp/vault/api
// client and KES use, served in-process on :8200 by kmsbox.
//
// # What it serves
//
// Every route is under /v1/ (see routes.go for the table the Server serves
// itself; everything else is routed to a mount):
//   - the seal lifecycle: sys/init, sys/seal-status, sys/unseal, sys/seal,
//     sys/health (with all status overrides and HEAD) and sys/leader;
//   - sys/mounts, sys/auth and sys/internal/ui/mounts with KV v1/v2
//     secrets engines and the AppRole auth method;
//   - ACL policies (sys/policies/acl and the legacy sys/policy) in HCL or
//     JSON, with Vault's matching rules;
//   - the token store: auth/token/create, lookup(-self), renew-self,
//     revoke(-self); TTLs, periodic tokens and use counts.
//
// While sealed, every request except the seal lifecycle ones gets 503
// {"errors":["Vault is sealed"]}. Open always returns a sealed Server
// (unless Config.Dev): the key that unseals it exists only in the shares
// handed out by sys/init.
//
// # Storage and encryption
//
// One bbolt file holds everything (physical.go implements vault/sdk's
// physical.Backend and passes the sdk's own backend tests). Above it the
// barrier (barrier.go) encrypts every value with AES-256-GCM under the
// active keyring key, with the version, key term and storage path as
// additional data, so a value copied to another path or altered fails to
// decrypt. The keyring is itself stored encrypted with the 32-byte root
// key; the root key is split with github.com/hashicorp/vault/shamir at init
// and never written anywhere. Only the share count and threshold are
// stored in the clear. Token IDs are stored as HMAC-SHA256 under a salt
// kept behind the barrier; AppRole secret IDs likewise.
//
// # Engines and what is hand-written
//
// The secrets engines and auth methods are vault/sdk framework backends in
// their own packages, which know nothing of this one or of HTTP and are
// tested directly over logical.InmemStorage: embeddedvault/kv (KV v1 and
// v2) and embeddedvault/approle (AppRole). newBackend in mounts.go builds
// the backend of a mount by type; the mount gets a logical.StorageView of
// the barrier under its UUID. While unsealed a rollback ticker
// (rollback.go, Vault's rollback manager) sends every mount a rollback
// request each Config.RollbackInterval, which runs the backends'
// PeriodicFunc; seal and Close stop it and wait for it.
//
// Vault's server (its HTTP layer, core, token store, policy engine and
// system backend) is BUSL-licensed and cannot be used by this Apache-2.0
// project; the MPL-2.0 vault/sdk offers building blocks but no server. So
// this package writes from the documented behaviour the HTTP method
// mapping and envelope (http.go, logical.go, which also renders the
// backends' logical.ErrorResponse and errutil errors), the sys endpoints,
// the token store (tokens.go), the ACL engine (acl.go, HCL parsed by
// github.com/hashicorp/hcl) and the barrier. Crypto comes from the
// standard library and vault/shamir only.
//
// # In-process use
//
// The KES key store inside kmsbox uses EnsureKVMount, KVCreate, KVRead,
// KVDelete and KVList: root-privileged access to KV v1 mounts that stores
// entries exactly where and how an HTTP write would, so kmsbox's key
// server and a real KES can share the store.
//
// # Dev mode
//
// With Config.Dev an empty store is initialized with one share and
// unsealed at Open; the unseal key and root token are written to
// Config.DevKeyFile (0600) so that the next Open unseals itself. This is
// insecure by design and the only case where anything that unseals the
// store touches the disk.
package embeddedvault
