package appliance

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

// Vault's Transit engine in the appliance (issue 10 items 4 and 6), driven with the real
// Vault client over the appliance's TLS listener, as a Transit client (SeaweedFS, sops, the
// vault CLI) drives a Vault.

// transitEncrypt encrypts plaintext with key of mount and returns the "vault:vN:" ciphertext.
func transitEncrypt(t testing.TB, c *vaultapi.Client, mount, key string, plaintext []byte) string {
	t.Helper()
	s, err := c.Logical().Write(mount+"/encrypt/"+key, map[string]any{"plaintext": base64.StdEncoding.EncodeToString(plaintext)})
	if err != nil {
		t.Fatalf("%s/encrypt/%s: %v", mount, key, err)
	}
	ct, _ := s.Data["ciphertext"].(string)
	if !strings.HasPrefix(ct, "vault:v") {
		t.Fatalf("%s/encrypt/%s: ciphertext %q, want vault:vN:...", mount, key, ct)
	}
	return ct
}

// transitDecrypt decrypts ciphertext with key of mount.
func transitDecrypt(c *vaultapi.Client, mount, key, ciphertext string) ([]byte, error) {
	s, err := c.Logical().Write(mount+"/decrypt/"+key, map[string]any{"ciphertext": ciphertext})
	if err != nil {
		return nil, err
	}
	p, _ := s.Data["plaintext"].(string)
	return base64.StdEncoding.DecodeString(p)
}

// transitWantPlain fails unless ciphertext decrypts to want.
func transitWantPlain(t testing.TB, c *vaultapi.Client, mount, key, ciphertext string, want []byte) {
	t.Helper()
	got, err := transitDecrypt(c, mount, key, ciphertext)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s/decrypt/%s of %.20s...: %q, %v; want %q", mount, key, ciphertext, got, err, want)
	}
}

// transitKeyInfo is what `vault read transit/keys/<name>` shows of a key.
type transitKeyInfo struct {
	Type                 string
	LatestVersion        int
	MinDecryptionVersion int
	DeletionAllowed      bool
	Versions             []string // the keys of its "keys" map
}

func transitReadKey(t testing.TB, c *vaultapi.Client, mount, key string) transitKeyInfo {
	t.Helper()
	s, err := c.Logical().Read(mount + "/keys/" + key)
	if err != nil || s == nil {
		t.Fatalf("read %s/keys/%s: %v, %v", mount, key, s, err)
	}
	num := func(name string) int {
		n, err := s.Data[name].(json.Number).Int64()
		if err != nil {
			t.Fatalf("%s/keys/%s: %s = %v", mount, key, name, s.Data[name])
		}
		return int(n)
	}
	info := transitKeyInfo{LatestVersion: num("latest_version"), MinDecryptionVersion: num("min_decryption_version")}
	info.Type, _ = s.Data["type"].(string)
	info.DeletionAllowed, _ = s.Data["deletion_allowed"].(bool)
	if m, ok := s.Data["keys"].(map[string]any); ok {
		info.Versions = slices.Sorted(maps.Keys(m))
	}
	return info
}

// transitList lists the keys of mount (nil when it has none: Vault answers 404).
func transitList(t testing.TB, c *vaultapi.Client, mount string) []string {
	t.Helper()
	s, err := c.Logical().List(mount + "/keys")
	if err != nil {
		t.Fatalf("list %s/keys: %v", mount, err)
	}
	if s == nil {
		return nil
	}
	var out []string
	for _, k := range s.Data["keys"].([]any) {
		out = append(out, k.(string))
	}
	return out
}

// transitWantError fails unless err is a Vault API error with status and a message
// containing msg.
func transitWantError(t testing.TB, what string, err error, status int, msg string) {
	t.Helper()
	var re *vaultapi.ResponseError
	if !errors.As(err, &re) || re.StatusCode != status || !strings.Contains(strings.Join(re.Errors, "\n"), msg) {
		t.Fatalf("%s: %v, want %d %q", what, err, status, msg)
	}
}

// TestTransitVaultAPI runs the Transit engine's documented steps with the real client on a
// vault initialized and unsealed as the guide does it (no --dev): enable, keys, encrypt,
// decrypt, rotate, min_decryption_version, a path-glob ACL policy, and a sealed vault.
func TestTransitVaultAPI(t *testing.T) {
	a, _ := startAppliance(t, Config{DataDir: t.TempDir(), VaultAddr: "127.0.0.1:0"})
	root := guideVault(t, a, "")
	res := guideInit(t, root, 1, 1)
	guideUnseal(t, root, res.KeysB64[0])
	root.SetToken(res.RootToken)

	// `vault secrets enable transit` and `vault secrets enable -path=other transit`.
	for _, path := range []string{"transit", "other"} {
		if err := root.Sys().Mount(path, &vaultapi.MountInput{Type: "transit"}); err != nil {
			t.Fatalf("enable transit at %s/: %v", path, err)
		}
	}
	t.Run("engines", func(t *testing.T) {
		t.Run("mounts", func(t *testing.T) {
			t.Parallel()
			mounts, err := root.Sys().ListMounts()
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"transit/", "other/"} {
				if m := mounts[p]; m == nil || m.Type != "transit" {
					t.Errorf("sys/mounts %s = %+v, want type transit", p, m)
				}
			}
			err = root.Sys().Mount("transit", &vaultapi.MountInput{Type: "transit"})
			transitWantError(t, "enable transit twice", err, http.StatusConflict, "path is already in use at transit/")
		})
		t.Run("disable and enable again", func(t *testing.T) {
			t.Parallel()
			if err := root.Sys().Mount("scratch", &vaultapi.MountInput{Type: "transit"}); err != nil {
				t.Fatal(err)
			}
			if _, err := root.Logical().Write("scratch/keys/gone", nil); err != nil {
				t.Fatal(err)
			}
			old := transitEncrypt(t, root, "scratch", "gone", []byte("before the disable"))
			if err := root.Sys().Unmount("scratch"); err != nil {
				t.Fatal(err)
			}
			if s, err := root.Logical().Read("scratch/keys/gone"); s != nil || (err != nil && guideCode(err) != http.StatusNotFound) {
				t.Fatalf("read a key of a disabled engine: %v, %v; want 404", s, err)
			}
			if err := root.Sys().Mount("scratch", &vaultapi.MountInput{Type: "transit"}); err != nil {
				t.Fatal(err)
			}
			if keys := transitList(t, root, "scratch"); keys != nil {
				t.Fatalf("keys of a re-enabled engine: %v, want none", keys)
			}
			// The old key went with the old engine: a new key of that name does not open
			// its ciphertexts.
			if _, err := root.Logical().Write("scratch/keys/gone", nil); err != nil {
				t.Fatal(err)
			}
			if p, err := transitDecrypt(root, "scratch", "gone", old); err == nil {
				t.Fatalf("a ciphertext of a disabled engine's key decrypts with a new key: %q", p)
			}
		})
		t.Run("keys, encrypt, decrypt, rotate", func(t *testing.T) {
			t.Parallel()
			if _, err := root.Logical().Write("transit/keys/orders", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := root.Logical().Write("transit/keys/signing", map[string]any{"type": "ed25519"}); err != nil {
				t.Fatal(err)
			}
			if _, err := root.Logical().Write("other/keys/orders", map[string]any{"type": "chacha20-poly1305"}); err != nil {
				t.Fatal(err)
			}
			if got := transitList(t, root, "transit"); !slices.Contains(got, "orders") || !slices.Contains(got, "signing") {
				t.Errorf("list transit/keys = %v, want orders and signing among them", got)
			}
			if k := transitReadKey(t, root, "transit", "orders"); k.Type != "aes256-gcm96" || k.LatestVersion != 1 || k.MinDecryptionVersion != 1 {
				t.Errorf("transit/keys/orders = %+v, want aes256-gcm96 v1", k)
			}
			if k := transitReadKey(t, root, "other", "orders"); k.Type != "chacha20-poly1305" {
				t.Errorf("other/keys/orders = %+v, want chacha20-poly1305", k)
			}
			data := []byte("card 4111 1111 1111 1111\n")
			v1 := transitEncrypt(t, root, "transit", "orders", data)
			transitWantPlain(t, root, "transit", "orders", v1, data)
			if !strings.HasPrefix(v1, "vault:v1:") {
				t.Errorf("ciphertext %q, want vault:v1:", v1)
			}
			// Same name, other mount: another key.
			if p, err := transitDecrypt(root, "other", "orders", v1); err == nil {
				t.Errorf("other/ decrypts transit/'s ciphertext: %q", p)
			}

			if _, err := root.Logical().Write("transit/keys/orders/rotate", nil); err != nil {
				t.Fatal(err)
			}
			v2 := transitEncrypt(t, root, "transit", "orders", data)
			if !strings.HasPrefix(v2, "vault:v2:") {
				t.Errorf("ciphertext after a rotation %q, want vault:v2:", v2)
			}
			transitWantPlain(t, root, "transit", "orders", v1, data) // made before the rotation
			transitWantPlain(t, root, "transit", "orders", v2, data)
			if k := transitReadKey(t, root, "transit", "orders"); k.LatestVersion != 2 || !slices.Equal(k.Versions, []string{"1", "2"}) {
				t.Errorf("after a rotation: %+v, want latest 2, versions 1 and 2", k)
			}

			// min_decryption_version=2 retires v1: its ciphertexts are refused, v2's are not.
			if _, err := root.Logical().Write("transit/keys/orders/config", map[string]any{"min_decryption_version": 2}); err != nil {
				t.Fatal(err)
			}
			_, err := transitDecrypt(root, "transit", "orders", v1)
			transitWantError(t, "decrypt v1 under min_decryption_version 2", err, http.StatusBadRequest, "ciphertext or signature version is disallowed by policy (too old)")
			transitWantPlain(t, root, "transit", "orders", v2, data)
			if k := transitReadKey(t, root, "transit", "orders"); k.MinDecryptionVersion != 2 {
				t.Errorf("min_decryption_version = %d, want 2", k.MinDecryptionVersion)
			}
		})
		t.Run("ACL on transit/encrypt/minio-*", func(t *testing.T) {
			t.Parallel()
			const policy = `
path "transit/encrypt/minio-*" { capabilities = ["update"] }
path "transit/decrypt/minio-*" { capabilities = ["update"] }
`
			if err := root.Sys().PutPolicy("transit-minio", policy); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"minio-a", "audit"} {
				if _, err := root.Logical().Write("transit/keys/"+k, nil); err != nil {
					t.Fatal(err)
				}
			}
			tok, err := root.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"transit-minio"}})
			if err != nil {
				t.Fatal(err)
			}
			c := guideVault(t, a, tok.Auth.ClientToken)
			ct := transitEncrypt(t, c, "transit", "minio-a", []byte("allowed"))
			transitWantPlain(t, c, "transit", "minio-a", ct, []byte("allowed"))

			_, err = c.Logical().Write("transit/encrypt/audit", map[string]any{"plaintext": "eA=="})
			transitWantError(t, "encrypt with a key outside the policy", err, http.StatusForbidden, "permission denied")
			_, err = c.Logical().Write("transit/keys/minio-a/rotate", nil)
			transitWantError(t, "rotate under an encrypt/decrypt policy", err, http.StatusForbidden, "permission denied")
			_, err = c.Logical().Read("transit/keys/minio-a")
			transitWantError(t, "read a key under an encrypt/decrypt policy", err, http.StatusForbidden, "permission denied")
			// Encrypting with a missing key would create it: that takes "create", which
			// the policy lacks.
			_, err = c.Logical().Write("transit/encrypt/minio-new", map[string]any{"plaintext": "eA=="})
			transitWantError(t, "encrypt with a missing key under update only", err, http.StatusForbidden, "permission denied")
			if s, err := root.Logical().Read("transit/keys/minio-new"); s != nil || err != nil {
				t.Errorf("a refused encrypt created minio-new: %v, %v", s, err)
			}
		})
	})

	t.Run("sealed", func(t *testing.T) {
		ct := transitEncrypt(t, root, "transit", "minio-a", []byte("sealed in"))
		if err := root.Sys().Seal(); err != nil {
			t.Fatal(err)
		}
		_, err := root.Logical().Write("transit/encrypt/minio-a", map[string]any{"plaintext": "eA=="})
		transitWantError(t, "encrypt while sealed", err, http.StatusServiceUnavailable, "Vault is sealed")
		_, err = transitDecrypt(root, "transit", "minio-a", ct)
		transitWantError(t, "decrypt while sealed", err, http.StatusServiceUnavailable, "Vault is sealed")
		guideUnseal(t, root, res.KeysB64[0])
		transitWantPlain(t, root, "transit", "minio-a", ct, []byte("sealed in"))
	})
}

// TestTransitDev checks issue 10 item 4: --dev enables transit/ with the key the banner and
// the env file name; a client configured from the env file alone encrypts and decrypts; a
// restart leaves the key as it is (created only if absent).
func TestTransitDev(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	_, stop := startAppliance(t, Config{DataDir: dir, Dev: true, Out: &out})
	if !strings.Contains(out.String(), "transit key  "+devTransitKey+" (mount "+devTransitMount+"/)") {
		t.Errorf("dev banner does not name the transit key:\n%s", out.String())
	}
	env := mustRead(t, EnvFile(dir))
	mount, key := envValue(env, "VAULT_TRANSIT_MOUNT"), envValue(env, "VAULT_TRANSIT_KEY")
	if mount != "transit" || key != "transit-key-1" {
		t.Fatalf("env VAULT_TRANSIT_MOUNT=%q VAULT_TRANSIT_KEY=%q, want transit and transit-key-1", mount, key)
	}
	c := guideVaultAt(t, envValue(env, "VAULT_ADDR"), envValue(env, "VAULT_CACERT"), envValue(env, "VAULT_TOKEN"))
	if k := transitReadKey(t, c, mount, key); k.Type != "aes256-gcm96" || k.LatestVersion != 1 {
		t.Fatalf("dev key %+v, want aes256-gcm96 v1", k)
	}
	data := []byte("a 32-byte data key, more or less")
	v1 := transitEncrypt(t, c, mount, key, data)
	transitWantPlain(t, c, mount, key, v1, data)
	if _, err := c.Logical().Write(mount+"/keys/"+key+"/rotate", nil); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	b, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	c = guideVault(t, b, envValue(mustRead(t, EnvFile(dir)), "VAULT_TOKEN"))
	if k := transitReadKey(t, c, mount, key); k.LatestVersion != 2 {
		t.Errorf("dev key after a restart: %+v, want the rotated one (latest 2), not a new key", k)
	}
	transitWantPlain(t, c, mount, key, v1, data)
	if got := transitList(t, c, mount); !slices.Equal(got, []string{key}) {
		t.Errorf("list %s/keys after a restart = %v", mount, got)
	}
}

// TestTransitRestart checks issue 10 item 6: closing the appliance and opening it again on
// the same data dir keeps every engine, key, version and config; ciphertexts made before
// the restart, and before a rotation, still decrypt.
func TestTransitRestart(t *testing.T) {
	dir := t.TempDir()
	a, stop := startAppliance(t, Config{DataDir: dir, VaultAddr: "127.0.0.1:0"})
	c := guideVault(t, a, "")
	res := guideInit(t, c, 1, 1)
	guideUnseal(t, c, res.KeysB64[0])
	c.SetToken(res.RootToken)
	for _, path := range []string{"transit", "apps/transit"} {
		if err := c.Sys().Mount(path, &vaultapi.MountInput{Type: "transit"}); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path string, data map[string]any) {
		t.Helper()
		if _, err := c.Logical().Write(path, data); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	data := []byte("kept across a restart")
	write("transit/keys/orders", nil)
	v1 := transitEncrypt(t, c, "transit", "orders", data)
	write("transit/keys/orders/rotate", nil)
	write("transit/keys/orders/rotate", nil)
	v3 := transitEncrypt(t, c, "transit", "orders", data)
	write("transit/keys/orders/config", map[string]any{"deletion_allowed": true})
	write("transit/keys/retired", nil)
	r1 := transitEncrypt(t, c, "transit", "retired", data)
	write("transit/keys/retired/rotate", nil)
	write("transit/keys/retired/config", map[string]any{"min_decryption_version": 2})
	write("apps/transit/keys/app", map[string]any{"type": "chacha20-poly1305"})
	a1 := transitEncrypt(t, c, "apps/transit", "app", data)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	b, _ := startAppliance(t, Config{DataDir: dir, VaultAddr: "127.0.0.1:0"})
	c = guideVault(t, b, "")
	guideUnseal(t, c, res.KeysB64[0])
	c.SetToken(res.RootToken)
	mounts, err := c.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"transit/", "apps/transit/"} {
		if m := mounts[p]; m == nil || m.Type != "transit" {
			t.Errorf("sys/mounts %s after a restart = %+v", p, m)
		}
	}
	t.Run("keys and versions", func(t *testing.T) {
		t.Parallel()
		if got := transitList(t, c, "transit"); !slices.Equal(got, []string{"orders", "retired"}) {
			t.Errorf("list transit/keys = %v", got)
		}
		if k := transitReadKey(t, c, "transit", "orders"); k.LatestVersion != 3 || !k.DeletionAllowed || !slices.Equal(k.Versions, []string{"1", "2", "3"}) {
			t.Errorf("transit/keys/orders = %+v, want latest 3, deletion allowed, versions 1-3", k)
		}
		if k := transitReadKey(t, c, "apps/transit", "app"); k.Type != "chacha20-poly1305" || k.LatestVersion != 1 {
			t.Errorf("apps/transit/keys/app = %+v", k)
		}
	})
	t.Run("old ciphertexts", func(t *testing.T) {
		t.Parallel()
		transitWantPlain(t, c, "transit", "orders", v1, data) // before two rotations
		transitWantPlain(t, c, "transit", "orders", v3, data)
		transitWantPlain(t, c, "apps/transit", "app", a1, data)
		if v := transitEncrypt(t, c, "transit", "orders", data); !strings.HasPrefix(v, "vault:v3:") {
			t.Errorf("new ciphertext %q, want vault:v3:", v)
		}
	})
	t.Run("min_decryption_version", func(t *testing.T) {
		t.Parallel()
		if k := transitReadKey(t, c, "transit", "retired"); k.MinDecryptionVersion != 2 {
			t.Errorf("retired min_decryption_version = %d, want 2", k.MinDecryptionVersion)
		}
		_, err := transitDecrypt(c, "transit", "retired", r1)
		transitWantError(t, "decrypt a retired version after a restart", err, http.StatusBadRequest, "disallowed by policy (too old)")
	})
}
