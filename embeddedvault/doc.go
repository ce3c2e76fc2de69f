// Package embeddedvault is a Vault-compatible sealed key store: the subset
// of Vault's HTTP API that the vault CLI, the vault/api Go client and KES
// use (seal lifecycle, KV v1/v2, AppRole, tokens, ACL policies).
package embeddedvault
