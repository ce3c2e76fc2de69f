package transit

import (
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

// step is one request of a golden case.
type step struct {
	op   logical.Operation
	path string
	data map[string]any
}

type goldenCase struct {
	name  string
	setup []step
	req   step
	// data builds req.data from the setup's state (e.g. a ciphertext).
	data func(e *env) map[string]any
}

const (
	up   logical.Operation = logical.UpdateOperation
	read logical.Operation = logical.ReadOperation
)

func createKey(name, typ string, extra ...any) step {
	d := map[string]any{"type": typ}
	for i := 0; i+1 < len(extra); i += 2 {
		d[extra[i].(string)] = extra[i+1]
	}
	return step{up, "keys/" + name, d}
}

// encryptHello encrypts "hello" with key and returns the ciphertext.
func encryptHello(e *env, key string, extra map[string]any) string {
	d := map[string]any{"plaintext": "aGVsbG8="}
	for k, v := range extra {
		d[k] = v
	}
	return e.must(up, "encrypt/"+key, d)["ciphertext"].(string)
}

func goldenCases() []goldenCase {
	aes := createKey("k", "aes256-gcm96")
	ed := createKey("ed", "ed25519")
	derived := createKey("dk", "aes256-gcm96", "derived", true)
	return []goldenCase{
		{name: "keys_create_default", req: step{up, "keys/k", nil}},
		{name: "keys_create_again_warns", setup: []step{aes}, req: step{up, "keys/k", nil}},
		{name: "keys_create_unknown_type", req: createKey("k", "des")},
		{name: "keys_create_convergent_not_derived", req: createKey("k", "aes256-gcm96", "convergent_encryption", true)},
		{name: "keys_create_rotate_period_short", req: createKey("k", "aes256-gcm96", "auto_rotate_period", "30m")},
		{name: "keys_create_key_size_not_hmac", req: createKey("k", "aes256-gcm96", "key_size", 64)},
		{name: "keys_create_derived_convergent", req: createKey("k", "aes256-gcm96", "derived", true, "convergent_encryption", true)},
		{name: "keys_create_ecdsa_derived", req: createKey("k", "ecdsa-p256", "derived", true)},
		{name: "keys_create_hmac_without_key_size", req: createKey("h", "hmac")},
		{name: "keys_read_missing", req: step{read, "keys/nope", nil}},
		{name: "keys_read_ed25519", setup: []step{ed}, req: step{read, "keys/ed", nil}},
		{name: "keys_read_rsa", setup: []step{createKey("r", "rsa-2048")}, req: step{read, "keys/r", nil}},
		{name: "keys_read_hmac", setup: []step{createKey("h", "hmac", "key_size", 32)}, req: step{read, "keys/h", nil}},
		{name: "keys_list", setup: []step{aes, ed}, req: step{logical.ListOperation, "keys/", nil}},
		{name: "keys_list_empty", req: step{logical.ListOperation, "keys/", nil}},
		{name: "keys_delete_not_allowed", setup: []step{aes}, req: step{logical.DeleteOperation, "keys/k", nil}},
		{name: "keys_delete_allowed", setup: []step{aes, {up, "keys/k/config", map[string]any{"deletion_allowed": true}}},
			req: step{logical.DeleteOperation, "keys/k", nil}},
		{name: "keys_delete_missing", req: step{logical.DeleteOperation, "keys/nope", nil}},
		{name: "config_missing_key", req: step{up, "keys/nope/config", map[string]any{"deletion_allowed": true}}},
		{name: "config_min_decryption_too_high", setup: []step{aes}, req: step{up, "keys/k/config", map[string]any{"min_decryption_version": 5}}},
		{name: "config_min_encryption_below_decryption", setup: []step{aes, {up, "keys/k/rotate", nil}},
			req: step{up, "keys/k/config", map[string]any{"min_decryption_version": 2, "min_encryption_version": 1}}},
		{name: "config_zero_min_decryption_warns", setup: []step{aes}, req: step{up, "keys/k/config", map[string]any{"min_decryption_version": 0}}},
		{name: "config_keys_disable_upsert", req: step{up, "config/keys", map[string]any{"disable_upsert": true}}},
		{name: "encrypt_upsert_disabled", setup: []step{{up, "config/keys", map[string]any{"disable_upsert": true}}},
			req: step{up, "encrypt/new", map[string]any{"plaintext": "aGVsbG8="}}},
		{name: "encrypt_upserts_key", req: step{up, "encrypt/new", map[string]any{"plaintext": "aGVsbG8="}}},
		{name: "encrypt_upsert_ecdsa", req: step{up, "encrypt/new", map[string]any{"plaintext": "aGVsbG8=", "type": "ecdsa-p256"}}},
		{name: "encrypt_missing_plaintext", setup: []step{aes}, req: step{up, "encrypt/k", map[string]any{}}},
		{name: "encrypt_bad_base64", setup: []step{aes}, req: step{up, "encrypt/k", map[string]any{"plaintext": "%%%"}}},
		{name: "encrypt_with_ed25519", setup: []step{ed}, req: step{up, "encrypt/ed", map[string]any{"plaintext": "aGVsbG8="}}},
		{name: "encrypt_derived_without_context", setup: []step{derived}, req: step{up, "encrypt/dk", map[string]any{"plaintext": "aGVsbG8="}}},
		{name: "encrypt_nonce_not_allowed", setup: []step{aes}, req: step{up, "encrypt/k", map[string]any{"plaintext": "aGVsbG8=", "nonce": "AAAAAAAAAAAAAAAA"}}},
		{name: "encrypt_key_version_too_new", setup: []step{aes}, req: step{up, "encrypt/k", map[string]any{"plaintext": "aGVsbG8=", "key_version": 7}}},
		{name: "encrypt_batch_mixed", setup: []step{aes}, req: step{up, "encrypt/k", map[string]any{"batch_input": []any{
			map[string]any{"plaintext": "aGVsbG8=", "reference": "good"},
			map[string]any{"plaintext": "!!", "reference": "bad"},
		}}}},
		{name: "encrypt_batch_partial_code", setup: []step{aes}, req: step{up, "encrypt/k", map[string]any{
			"partial_failure_response_code": 207, "batch_input": []any{
				map[string]any{"plaintext": "aGVsbG8="}, map[string]any{"plaintext": "!!"},
			}}}},
		{name: "encrypt_batch_mixed_context", setup: []step{derived}, req: step{up, "encrypt/dk", map[string]any{"batch_input": []any{
			map[string]any{"plaintext": "aGVsbG8=", "context": "YQ=="}, map[string]any{"plaintext": "aGVsbG8="},
		}}}},
		{name: "encrypt_batch_empty", setup: []step{aes}, req: step{up, "encrypt/k", map[string]any{"batch_input": []any{}}}},
		{name: "encrypt_batch_ok", setup: []step{aes}, req: step{up, "encrypt/k", map[string]any{"batch_input": []any{
			map[string]any{"plaintext": "aGVsbG8=", "reference": "a"}, map[string]any{"plaintext": "", "reference": "b"},
		}}}},
		{name: "decrypt_ok", setup: []step{aes}, req: step{up, "decrypt/k", nil},
			data: func(e *env) map[string]any { return map[string]any{"ciphertext": encryptHello(e, "k", nil)} }},
		{name: "decrypt_unknown_key", req: step{up, "decrypt/nope", map[string]any{"ciphertext": "vault:v1:AAAA"}}},
		{name: "decrypt_missing_ciphertext", setup: []step{aes}, req: step{up, "decrypt/k", map[string]any{}}},
		{name: "decrypt_tampered", setup: []step{aes}, req: step{up, "decrypt/k", nil}, data: func(e *env) map[string]any {
			ct := []byte(encryptHello(e, "k", nil))
			i := len(ct) - 6
			ct[i] = map[bool]byte{true: 'B', false: 'A'}[ct[i] == 'A']
			return map[string]any{"ciphertext": string(ct)}
		}},
		{name: "decrypt_truncated", setup: []step{aes}, req: step{up, "decrypt/k", nil}, data: func(e *env) map[string]any {
			return map[string]any{"ciphertext": encryptHello(e, "k", nil)[:12]}
		}},
		{name: "decrypt_no_prefix", setup: []step{aes}, req: step{up, "decrypt/k", map[string]any{"ciphertext": "hello"}}},
		{name: "decrypt_bad_version", setup: []step{aes}, req: step{up, "decrypt/k", map[string]any{"ciphertext": "vault:vX:AAAA"}}},
		{name: "decrypt_below_min_decryption_version", setup: []step{aes}, req: step{up, "decrypt/k", nil}, data: func(e *env) map[string]any {
			ct := encryptHello(e, "k", nil)
			e.must(up, "keys/k/rotate", nil)
			e.must(up, "keys/k/config", map[string]any{"min_decryption_version": 2})
			return map[string]any{"ciphertext": ct}
		}},
		{name: "decrypt_derived_missing_context", setup: []step{derived}, req: step{up, "decrypt/dk", nil}, data: func(e *env) map[string]any {
			return map[string]any{"ciphertext": encryptHello(e, "dk", map[string]any{"context": "YQ=="})}
		}},
		{name: "decrypt_batch_mixed", setup: []step{aes}, req: step{up, "decrypt/k", nil}, data: func(e *env) map[string]any {
			return map[string]any{"batch_input": []any{
				map[string]any{"ciphertext": encryptHello(e, "k", nil), "reference": "ok"},
				map[string]any{"ciphertext": "vault:v1:AAAA", "reference": "short"},
				map[string]any{"ciphertext": "", "reference": "empty"},
			}}
		}},
		{name: "rewrap_batch_mixed", setup: []step{aes}, req: step{up, "rewrap/k", nil}, data: func(e *env) map[string]any {
			ct := encryptHello(e, "k", nil)
			e.must(up, "keys/k/rotate", nil)
			return map[string]any{"batch_input": []any{map[string]any{"ciphertext": ct}, map[string]any{"ciphertext": "nope"}}}
		}},
		{name: "datakey_bits_invalid", setup: []step{aes}, req: step{up, "datakey/plaintext/k", map[string]any{"bits": 100}}},
		{name: "datakey_bad_kind", setup: []step{aes}, req: step{up, "datakey/both/k", nil}},
		{name: "datakey_plaintext", setup: []step{aes}, req: step{up, "datakey/plaintext/k", map[string]any{"bits": 128}}},
		{name: "datakey_wrapped", setup: []step{aes}, req: step{up, "datakey/wrapped/k", nil}},
		{name: "datakey_unknown_key", req: step{up, "datakey/wrapped/nope", nil}},
		{name: "random_default", req: step{up, "random", nil}},
		{name: "random_url_bytes_hex", req: step{up, "random/16", map[string]any{"format": "hex"}}},
		{name: "random_too_many", req: step{up, "random/platform/200000", nil}},
		{name: "random_bad_format", req: step{up, "random", map[string]any{"format": "base32"}}},
		{name: "hash_sha2_256", req: step{up, "hash", map[string]any{"input": "aGVsbG8="}}},
		{name: "hash_sha3_512_base64", req: step{up, "hash/sha3-512", map[string]any{"input": "aGVsbG8=", "format": "base64"}}},
		{name: "hash_bad_algorithm", req: step{up, "hash/md5", map[string]any{"input": "aGVsbG8="}}},
		{name: "hash_missing_input", req: step{up, "hash", nil}},
		{name: "hmac_ok", setup: []step{aes}, req: step{up, "hmac/k", map[string]any{"input": "aGVsbG8="}}},
		{name: "hmac_bad_algorithm", setup: []step{aes}, req: step{up, "hmac/k/md5", map[string]any{"input": "aGVsbG8="}}},
		{name: "hmac_unknown_key", req: step{up, "hmac/nope", map[string]any{"input": "aGVsbG8="}}},
		{name: "hmac_batch_mixed", setup: []step{createKey("h", "hmac", "key_size", 32)}, req: step{up, "hmac/h", map[string]any{"batch_input": []any{
			map[string]any{"input": "aGVsbG8=", "reference": "a"}, map[string]any{"input": "**", "reference": "b"}, map[string]any{"reference": "c"},
		}}}},
		{name: "verify_hmac_no_prefix", setup: []step{aes}, req: step{up, "verify/k", map[string]any{"input": "aGVsbG8=", "hmac": "abc"}}},
		{name: "verify_hmac_too_new", setup: []step{aes}, req: step{up, "verify/k", map[string]any{"input": "aGVsbG8=", "hmac": "vault:v9:AAAA"}}},
		{name: "verify_missing_signature", setup: []step{ed}, req: step{up, "verify/ed", map[string]any{"input": "aGVsbG8="}}},
		{name: "verify_both", setup: []step{ed}, req: step{up, "verify/ed", map[string]any{"input": "aGVsbG8=", "signature": "x", "hmac": "y"}}},
		{name: "verify_bad_signature", setup: []step{ed}, req: step{up, "verify/ed", map[string]any{"input": "aGVsbG8=", "signature": "vault:v1:AAAA"}}},
		{name: "sign_with_aes", setup: []step{aes}, req: step{up, "sign/k", map[string]any{"input": "aGVsbG8="}}},
		{name: "sign_unknown_key", req: step{up, "sign/nope", map[string]any{"input": "aGVsbG8="}}},
		{name: "sign_ed25519", setup: []step{ed}, req: step{up, "sign/ed", map[string]any{"input": "aGVsbG8="}}},
		{name: "sign_ed25519_prehashed", setup: []step{ed}, req: step{up, "sign/ed", map[string]any{"input": "aGVsbG8=", "prehashed": true}}},
		{name: "sign_bad_hash", setup: []step{createKey("ec", "ecdsa-p256")}, req: step{up, "sign/ec/sha2-999", map[string]any{"input": "aGVsbG8="}}},
		{name: "sign_batch_mixed", setup: []step{createKey("ec", "ecdsa-p256")}, req: step{up, "sign/ec", map[string]any{"batch_input": []any{
			map[string]any{"input": "aGVsbG8=", "reference": "a"}, map[string]any{"input": "**", "reference": "b"},
		}}}},
		{name: "export_not_exportable", setup: []step{aes}, req: step{read, "export/encryption-key/k", nil}},
		{name: "export_invalid_type", setup: []step{aes}, req: step{read, "export/secret-key/k", nil}},
		{name: "export_signing_of_aes", setup: []step{createKey("k", "aes256-gcm96", "exportable", true)}, req: step{read, "export/signing-key/k", nil}},
		{name: "export_encryption_key", setup: []step{createKey("k", "aes256-gcm96", "exportable", true)}, req: step{read, "export/encryption-key/k/latest", nil}},
		{name: "export_version_missing", setup: []step{createKey("k", "aes256-gcm96", "exportable", true)}, req: step{read, "export/encryption-key/k/v3", nil}},
		{name: "export_public_key_ecdsa", setup: []step{createKey("ec", "ecdsa-p384")}, req: step{read, "export/public-key/ec", nil}},
		{name: "export_missing_key", req: step{read, "export/public-key/nope", nil}},
		{name: "backup_missing_key", req: step{read, "backup/nope", nil}},
		{name: "backup_not_allowed", setup: []step{aes}, req: step{read, "backup/k", nil}},
		{name: "restore_missing_backup", req: step{up, "restore", map[string]any{}}},
		{name: "restore_bad_backup", req: step{up, "restore/x", map[string]any{"backup": "!!"}}},
		{name: "rotate_missing_key", req: step{up, "keys/nope/rotate", nil}},
		{name: "rotate_ok", setup: []step{aes}, req: step{up, "keys/k/rotate", nil}},
		{name: "trim_missing_version", setup: []step{aes}, req: step{up, "keys/k/trim", map[string]any{}}},
		{name: "trim_without_min_encryption", setup: []step{aes}, req: step{up, "keys/k/trim", map[string]any{"min_available_version": 1}}},
		{name: "trim_missing_key", req: step{up, "keys/nope/trim", map[string]any{"min_available_version": 1}}},
		{name: "cache_config_too_small", req: step{up, "cache-config", map[string]any{"size": 5}}},
		{name: "cache_config_set", req: step{up, "cache-config", map[string]any{"size": 20}}},
		{name: "cache_config_read", req: step{read, "cache-config", nil}},
	}
}

// TestGolden pins status, data and errors of every endpoint, success and
// error cases alike, with random values normalized.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for _, s := range tc.setup {
				e.must(s.op, s.path, s.data)
			}
			data := tc.req.data
			if tc.data != nil {
				data = tc.data(e)
			}
			resp, err := e.do(tc.req.op, tc.req.path, data)
			got := outcomeOf(tc.req.op, resp, err)
			if m, ok := got.Data.(map[string]any); ok && strings.HasPrefix(tc.req.path, "datakey/") {
				if _, has := m["plaintext"]; has {
					m["plaintext"] = "<redacted>"
				}
			}
			golden(t, tc.name, map[string]any{"request": map[string]any{
				"operation": tc.req.op, "path": tc.req.path, "data": data,
			}, "response": got})
		})
	}
}
