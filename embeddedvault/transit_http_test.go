package embeddedvault

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/hashicorp/vault/api"
)

// TestTransitOverHTTP mounts transit twice and drives it with vault/api the
// way SeaweedFS's vault KMS provider does, including ACLs on encrypt's
// create/update split, batch status codes and the sealed answer.
func TestTransitOverHTTP(t *testing.T) {
	tv := startVault(t, testConfig(t))
	root := tv.client(tv.initUnseal(1, 1).RootToken)
	for _, p := range []string{"transit", "other"} {
		if err := root.Sys().Mount(p, &api.MountInput{Type: "transit"}); err != nil {
			t.Fatalf("mount %s: %v", p, err)
		}
	}
	mounts, err := root.Sys().ListMounts()
	if err != nil || mounts["transit/"] == nil || mounts["transit/"].Type != "transit" || mounts["other/"].Type != "transit" {
		t.Fatalf("ListMounts = %v, %v", mounts, err)
	}

	// Encrypt creates the key on first use; decrypt with the base64
	// context SeaweedFS sends; read the key's type.
	plain := base64.StdEncoding.EncodeToString([]byte("object key"))
	sec, err := root.Logical().Write("transit/encrypt/minio-a", map[string]any{"plaintext": plain})
	if err != nil {
		t.Fatal(err)
	}
	ct := sec.Data["ciphertext"].(string)
	sec, err = root.Logical().Write("transit/decrypt/minio-a", map[string]any{"ciphertext": ct})
	if err != nil || sec.Data["plaintext"] != plain {
		t.Fatalf("decrypt = %v, %v", sec, err)
	}
	if sec, err = root.Logical().Read("transit/keys/minio-a"); err != nil || sec.Data["type"] != "aes256-gcm96" {
		t.Fatalf("read key = %v, %v", sec, err)
	}
	// The mounts are separate: other/ has no minio-a.
	if _, err := root.Logical().Write("other/decrypt/minio-a", map[string]any{"ciphertext": ct}); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("decrypt on other mount: %v", err)
	}

	// A failing batch item gives 400 with the batch_results body.
	code, body := tv.rawCall("POST", "/v1/transit/encrypt/minio-a", root.Token(),
		`{"batch_input":[{"plaintext":"`+plain+`"},{"plaintext":"!!"}]}`)
	results, _ := body["data"].(map[string]any)["batch_results"].([]any)
	if code != http.StatusBadRequest || len(results) != 2 || results[1].(map[string]any)["error"] == nil {
		t.Fatalf("mixed batch = %d %v", code, body)
	}

	// ACL: update on transit/encrypt/minio-* allows encrypting with an
	// existing minio key, not another key, and not creating one.
	if err := root.Sys().PutPolicy("enc", `path "transit/encrypt/minio-*" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"enc"}})
	if err != nil {
		t.Fatal(err)
	}
	user := tv.client(tok.Auth.ClientToken)
	if _, err := user.Logical().Write("transit/encrypt/minio-a", map[string]any{"plaintext": plain}); err != nil {
		t.Fatalf("encrypt with update capability: %v", err)
	}
	if _, err := root.Logical().Write("transit/keys/other-key", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := user.Logical().Write("transit/encrypt/other-key", map[string]any{"plaintext": plain}); statusOf(err) != http.StatusForbidden {
		t.Fatalf("encrypt on non-matching key: %v", err)
	}
	if _, err := user.Logical().Write("transit/encrypt/minio-new", map[string]any{"plaintext": plain}); statusOf(err) != http.StatusForbidden {
		t.Fatalf("encrypt on a missing key without create: %v", err)
	}

	if err := root.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("transit/encrypt/minio-a", map[string]any{"plaintext": plain}); statusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("encrypt while sealed: %v", err)
	}
}
