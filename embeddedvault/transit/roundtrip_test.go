package transit

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

const helloB64 = "aGVsbG8=" // "hello"

func TestEncryptDecryptEveryType(t *testing.T) {
	for _, typ := range []string{"aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "rsa-2048", "rsa-3072", "rsa-4096"} {
		t.Run(typ, func(t *testing.T) {
			e := newEnv(t)
			e.must(up, "keys/k", map[string]any{"type": typ})
			ct := encryptHello(e, "k", nil)
			if got := e.must(up, "decrypt/k", map[string]any{"ciphertext": ct})["plaintext"]; got != helloB64 {
				t.Fatalf("decrypt = %v", got)
			}
		})
	}
}

func TestSignVerifyEveryType(t *testing.T) {
	for _, typ := range []string{"ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-4096"} {
		t.Run(typ, func(t *testing.T) {
			e := newEnv(t)
			e.must(up, "keys/k", map[string]any{"type": typ})
			sig := e.must(up, "sign/k", map[string]any{"input": helloB64})["signature"]
			if v := e.must(up, "verify/k", map[string]any{"input": helloB64, "signature": sig})["valid"]; v != true {
				t.Fatalf("verify = %v", v)
			}
			if v := e.must(up, "verify/k", map[string]any{"input": "aGVsbG9v", "signature": sig})["valid"]; v != false {
				t.Fatalf("verify of other input = %v", v)
			}
		})
	}
}

func TestHMACVerifyEveryType(t *testing.T) {
	for _, tc := range []struct{ typ, algo string }{
		{"hmac", "sha2-256"}, {"aes256-gcm96", "sha2-512"}, {"ed25519", "sha3-256"}, {"ecdsa-p256", "sha1"},
	} {
		t.Run(tc.typ+"/"+tc.algo, func(t *testing.T) {
			e := newEnv(t)
			e.must(up, "keys/k", map[string]any{"type": tc.typ, "key_size": map[bool]int{true: 64}[tc.typ == "hmac"]})
			mac := e.must(up, "hmac/k/"+tc.algo, map[string]any{"input": helloB64})["hmac"]
			if v := e.must(up, "verify/k/"+tc.algo, map[string]any{"input": helloB64, "hmac": mac})["valid"]; v != true {
				t.Fatalf("verify = %v", v)
			}
			if v := e.must(up, "verify/k", map[string]any{"input": helloB64, "hmac": mac, "hash_algorithm": "sha2-384"})["valid"]; v != false {
				t.Fatalf("verify with other algorithm = %v", v)
			}
			res := e.must(up, "verify/k/"+tc.algo, map[string]any{"batch_input": []any{
				map[string]any{"input": helloB64, "hmac": mac, "reference": "r"},
			}})["batch_results"].([]hmacResult)
			if !res[0].Valid || res[0].Reference != "r" {
				t.Fatalf("batch verify = %+v", res)
			}
		})
	}
}

func TestRotateDecryptOldAndMinDecryption(t *testing.T) {
	e := newEnv(t)
	e.must(up, "keys/k", nil)
	v1 := encryptHello(e, "k", nil)
	e.must(up, "keys/k/rotate", nil)
	v2 := encryptHello(e, "k", nil)
	if v1[:9] != "vault:v1:" || v2[:9] != "vault:v2:" {
		t.Fatalf("prefixes %q %q", v1[:9], v2[:9])
	}
	if got := e.must(up, "decrypt/k", map[string]any{"ciphertext": v1})["plaintext"]; got != helloB64 {
		t.Fatalf("old ciphertext after rotate = %v", got)
	}
	rewrapped := e.must(up, "rewrap/k", map[string]any{"ciphertext": v1})
	if rewrapped["key_version"] != 2 {
		t.Fatalf("rewrap = %v", rewrapped)
	}
	e.must(up, "keys/k/config", map[string]any{"min_decryption_version": 2, "min_encryption_version": 2})
	resp, err := e.do(up, "decrypt/k", map[string]any{"ciphertext": v1})
	if out := outcomeOf(up, resp, err); out.Status != 400 {
		t.Fatalf("decrypt below min_decryption_version = %+v", out)
	}
	if got := e.must(up, "decrypt/k", map[string]any{"ciphertext": rewrapped["ciphertext"]})["plaintext"]; got != helloB64 {
		t.Fatalf("rewrapped decrypt = %v", got)
	}
	// Trim drops version 1 for good.
	keys := e.must(up, "keys/k/trim", map[string]any{"min_available_version": 2})["keys"].(map[string]int64)
	if _, ok := keys["1"]; ok || len(keys) != 1 {
		t.Fatalf("keys after trim = %v", keys)
	}
	resp, err = e.do(up, "keys/k/config", map[string]any{"min_decryption_version": 1})
	if out := outcomeOf(up, resp, err); out.Status != 400 {
		t.Fatalf("min_decryption_version below min_available_version = %+v", out)
	}
}

func TestBackupRestore(t *testing.T) {
	e := newEnv(t)
	e.must(up, "keys/k", map[string]any{"allow_plaintext_backup": true, "exportable": true})
	ct := encryptHello(e, "k", nil)
	backup := e.must(read, "backup/k", nil)["backup"].(string)

	// Restore under another name, then over the original only with force.
	e.must(up, "restore/copy", map[string]any{"backup": backup})
	if got := e.must(up, "decrypt/copy", map[string]any{"ciphertext": ct})["plaintext"]; got != helloB64 {
		t.Fatalf("decrypt with restored copy = %v", got)
	}
	if resp, err := e.do(up, "restore", map[string]any{"backup": backup}); err == nil || resp != nil {
		t.Fatalf("restore over existing key without force: %v %v", resp, err)
	}
	e.must(up, "keys/k/config", map[string]any{"deletion_allowed": true})
	e.must(logical.DeleteOperation, "keys/k", nil)
	e.must(up, "restore", map[string]any{"backup": backup})
	if got := e.must(up, "decrypt/k", map[string]any{"ciphertext": ct})["plaintext"]; got != helloB64 {
		t.Fatalf("decrypt after restore = %v", got)
	}
	if info := e.must(read, "keys/k", nil)["restore_info"]; info == nil {
		t.Fatal("restore_info missing after restore")
	}
	e.must(up, "restore/k", map[string]any{"backup": backup, "force": true})
}

func TestExport(t *testing.T) {
	e := newEnv(t)
	e.must(up, "keys/k", map[string]any{"exportable": true})
	key := e.must(read, "export/encryption-key/k/1", nil)["keys"].(map[string]string)["1"]
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 32 {
		t.Fatalf("exported aes256 key: %d bytes, %v", len(raw), err)
	}
	if hk := e.must(read, "export/hmac-key/k", nil)["keys"].(map[string]string); len(hk["1"]) == 0 {
		t.Fatal("empty hmac-key export")
	}
	e.must(up, "keys/ec", map[string]any{"type": "ecdsa-p256", "exportable": true})
	pemKey := e.must(read, "export/signing-key/ec", nil)["keys"].(map[string]string)["1"]
	if len(pemKey) < 30 || pemKey[:30] != "-----BEGIN EC PRIVATE KEY-----" {
		t.Fatalf("signing-key export = %q", pemKey)
	}
	// Public keys are exportable without "exportable".
	e.must(up, "keys/rsa", map[string]any{"type": "rsa-2048"})
	pub := e.must(read, "export/public-key/rsa", nil)["keys"].(map[string]string)["1"]
	if len(pub) < 26 || pub[:26] != "-----BEGIN PUBLIC KEY-----" {
		t.Fatalf("public-key export = %q", pub)
	}
}

func TestConvergentDerivedDeterministic(t *testing.T) {
	e := newEnv(t)
	e.must(up, "keys/k", map[string]any{"derived": true, "convergent_encryption": true})
	ctx := map[string]any{"context": "Y3R4"}
	a, b := encryptHello(e, "k", ctx), encryptHello(e, "k", ctx)
	if a != b {
		t.Fatalf("convergent ciphertexts differ: %s %s", a, b)
	}
	if c := encryptHello(e, "k", map[string]any{"context": "b3RoZXI="}); c == a {
		t.Fatal("another context gave the same ciphertext")
	}
	if got := e.must(up, "decrypt/k", map[string]any{"ciphertext": a, "context": "Y3R4"})["plaintext"]; got != helloB64 {
		t.Fatalf("decrypt = %v", got)
	}
	// A derived, non-convergent key is randomized.
	e.must(up, "keys/d", map[string]any{"derived": true})
	if c1, c2 := encryptHello(e, "d", ctx), encryptHello(e, "d", ctx); c1 == c2 {
		t.Fatal("derived non-convergent ciphertexts are equal")
	}
}

func TestDatakeyWrappedDecryptsToPlaintext(t *testing.T) {
	e := newEnv(t)
	e.must(up, "keys/k", nil)
	for _, bits := range []int{128, 256, 512} {
		dk := e.must(up, "datakey/plaintext/k", map[string]any{"bits": bits})
		raw, _ := base64.StdEncoding.DecodeString(dk["plaintext"].(string))
		if len(raw) != bits/8 {
			t.Fatalf("bits %d: %d bytes", bits, len(raw))
		}
		if got := e.must(up, "decrypt/k", map[string]any{"ciphertext": dk["ciphertext"]})["plaintext"]; got != dk["plaintext"] {
			t.Fatalf("bits %d: decrypt = %v, want %v", bits, got, dk["plaintext"])
		}
	}
}

func TestAssociatedData(t *testing.T) {
	e := newEnv(t)
	e.must(up, "keys/k", nil)
	ct := encryptHello(e, "k", map[string]any{"associated_data": "YWFk"})
	if got := e.must(up, "decrypt/k", map[string]any{"ciphertext": ct, "associated_data": "YWFk"})["plaintext"]; got != helloB64 {
		t.Fatalf("decrypt = %v", got)
	}
	resp, err := e.do(up, "decrypt/k", map[string]any{"ciphertext": ct, "associated_data": "b3RoZXI="})
	if out := outcomeOf(up, resp, err); out.Status != 400 {
		t.Fatalf("decrypt with other associated data = %+v", out)
	}
}

// TestAutoRotate drives the PeriodicFunc through a RollbackOperation, as
// the server's ticker does, with the backend's clock moved forward.
func TestAutoRotate(t *testing.T) {
	e := newEnv(t)
	e.must(up, "keys/auto", map[string]any{"auto_rotate_period": "2h"})
	e.must(up, "keys/manual", nil)
	rollback := func() {
		t.Helper()
		if _, err := e.b.HandleRequest(t.Context(), &logical.Request{Operation: logical.RollbackOperation, Storage: e.s}); err != nil {
			t.Fatal(err)
		}
	}
	latest := func(name string) int { return e.must(read, "keys/"+name, nil)["latest_version"].(int) }

	rollback()
	if latest("auto") != 1 {
		t.Fatal("rotated before the period elapsed")
	}
	e.clock.Advance(3 * time.Hour)
	rollback()
	if latest("auto") != 2 || latest("manual") != 1 {
		t.Fatalf("after period: auto v%d, manual v%d", latest("auto"), latest("manual"))
	}
	// A second run within the hour does not scan again.
	e.clock.Advance(10 * time.Minute)
	rollback()
	if latest("auto") != 2 {
		t.Fatal("rotated again within the scan interval")
	}
	// Config can switch auto-rotation off.
	e.must(up, "keys/auto/config", map[string]any{"auto_rotate_period": 0})
	e.clock.Advance(24 * time.Hour)
	rollback()
	if latest("auto") != 2 {
		t.Fatal("rotated with auto_rotate_period 0")
	}
}
