//go:build e2e

package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestTransitCurl drives the built binary's Transit engine as Vault's Transit API docs do,
// with curl and bash, from the env file alone (issue 10 item 4): `--dev` enabled
// $VAULT_TRANSIT_MOUNT with the key $VAULT_TRANSIT_KEY; encrypt, decrypt, rotate, read and
// list answer in Vault's shapes. (The vault CLI itself does not build from the Go module
// proxy: its go.mod replaces vault/sdk with its own tree, see the report of issue 10.)
func TestTransitCurl(t *testing.T) {
	needTool(t, "curl", "curl")
	bash := needTool(t, "bash", "bash")
	srv := startServer(t, t.TempDir())
	sh := cmd{env: srv.envFor(t, []string{"VAULT_ADDR", "VAULT_CACERT", "VAULT_TOKEN", "VAULT_TRANSIT_MOUNT", "VAULT_TRANSIT_KEY"})}
	if srv.env["VAULT_TRANSIT_MOUNT"] != "transit" || srv.env["VAULT_TRANSIT_KEY"] != "transit-key-1" {
		t.Fatalf("env file: VAULT_TRANSIT_MOUNT=%q VAULT_TRANSIT_KEY=%q", srv.env["VAULT_TRANSIT_MOUNT"], srv.env["VAULT_TRANSIT_KEY"])
	}
	// call runs one curl against $VAULT_ADDR/v1/<path> and decodes the answer's data.
	call := func(method, path, body string) map[string]any {
		t.Helper()
		script := `curl -sS --fail-with-body --cacert "$VAULT_CACERT" --header "X-Vault-Token: $VAULT_TOKEN" --request ` + method
		if body != "" {
			script += ` --data "` + body + `"`
		}
		script += ` "$VAULT_ADDR/v1/` + path + `"`
		out := sh.ok(t, bash, "-c", script)
		var resp struct{ Data map[string]any }
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, out)
		}
		return resp.Data
	}
	const key = "$VAULT_TRANSIT_MOUNT/keys/$VAULT_TRANSIT_KEY"

	enc := call("POST", "$VAULT_TRANSIT_MOUNT/encrypt/$VAULT_TRANSIT_KEY", `{\"plaintext\": \"$(base64 <<< 'my secret data')\"}`)
	v1, _ := enc["ciphertext"].(string)
	if !strings.HasPrefix(v1, "vault:v1:") {
		t.Fatalf("encrypt: %v, want a vault:v1: ciphertext", enc)
	}
	call("POST", key+"/rotate", "")
	enc = call("POST", "$VAULT_TRANSIT_MOUNT/encrypt/$VAULT_TRANSIT_KEY", `{\"plaintext\": \"$(base64 <<< 'my secret data')\"}`)
	if v2, _ := enc["ciphertext"].(string); !strings.HasPrefix(v2, "vault:v2:") {
		t.Fatalf("encrypt after a rotation: %v, want vault:v2:", enc)
	}
	dec := call("POST", "$VAULT_TRANSIT_MOUNT/decrypt/$VAULT_TRANSIT_KEY", `{\"ciphertext\": \"`+v1+`\"}`)
	p, _ := dec["plaintext"].(string)
	if out := sh.ok(t, bash, "-c", `base64 --decode <<< '`+p+`'`); out != "my secret data\n" {
		t.Errorf("decrypt of the v1 ciphertext: %q, want the data", out)
	}

	info := call("GET", key, "")
	if info["type"] != "aes256-gcm96" || info["latest_version"] != float64(2) || info["name"] != "transit-key-1" {
		t.Errorf("read %s: %v", key, info)
	}
	list := call("LIST", "$VAULT_TRANSIT_MOUNT/keys", "")
	if keys, _ := list["keys"].([]any); !slices.Contains(keys, any("transit-key-1")) {
		t.Errorf("list keys: %v", list)
	}
}
