package appliance

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	vaultapi "github.com/hashicorp/vault/api"
)

// The guide's Vault steps 3.1-3.5 and the dev mode of issue 3 item 8, run with the real
// Vault client against the in-process appliance over TLS, trusting only its exported CA.

// guideVault returns a Vault client for a's Vault API that trusts only the exported CA and
// does not retry (so a 503 is seen at once), with token set ("" = none).
func guideVault(t testing.TB, a *Appliance, token string) *vaultapi.Client {
	t.Helper()
	return guideVaultAt(t, a.URL("vault"), a.CAFile(), token)
}

func guideVaultAt(t testing.TB, addr, caFile, token string) *vaultapi.Client {
	t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	if err := cfg.ConfigureTLS(&vaultapi.TLSConfig{CACert: caFile}); err != nil {
		t.Fatal(err)
	}
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	if token == "" {
		c.ClearToken()
	}
	return c
}

// guideCode returns the HTTP status of a Vault API error, 0 if err is not one.
func guideCode(err error) int {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// guideInit runs `vault operator init` with n shares and threshold th.
func guideInit(t *testing.T, c *vaultapi.Client, n, th int) *vaultapi.InitResponse {
	t.Helper()
	res, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: n, SecretThreshold: th})
	if err != nil {
		t.Fatalf("sys/init %d/%d: %v", n, th, err)
	}
	if len(res.KeysB64) != n || len(res.Keys) != n || res.RootToken == "" {
		t.Fatalf("sys/init: %d base64 shares, %d hex shares, root token %q", len(res.KeysB64), len(res.Keys), res.RootToken)
	}
	return res
}

// guideUnseal runs `vault operator unseal` with each key and checks that the last one
// unseals and the ones before only make progress.
func guideUnseal(t *testing.T, c *vaultapi.Client, keys ...string) {
	t.Helper()
	for i, k := range keys {
		st, err := c.Sys().Unseal(k)
		if err != nil {
			t.Fatalf("unseal %d: %v", i+1, err)
		}
		last := i == len(keys)-1
		if last && st.Sealed {
			t.Fatalf("still sealed after %d shares: %+v", len(keys), st)
		}
		if !last && (!st.Sealed || st.Progress != i+1) {
			t.Fatalf("after share %d: sealed=%v progress=%d, want sealed, progress %d", i+1, st.Sealed, st.Progress, i+1)
		}
	}
}

// guideSealStatus reads sys/seal-status.
func guideSealStatus(t *testing.T, c *vaultapi.Client) *vaultapi.SealStatusResponse {
	t.Helper()
	st, err := c.Sys().SealStatus()
	if err != nil {
		t.Fatalf("seal-status: %v", err)
	}
	return st
}

// guideRoleArgs are the exact arguments of the guide's
// `vault write auth/approle/role/kes-role token_num_uses=0 secret_id_num_uses=0 period=5m`:
// the CLI sends k=v arguments as JSON strings.
var guideRoleArgs = map[string]any{"token_num_uses": "0", "secret_id_num_uses": "0", "period": "5m"}

// guideAppRole runs the guide's steps 3.2-3.4 on root (a root-token client): a K/V engine at
// mount (kvVersion "" or "1" = v1, "2" = v2) unless present, approle unless enabled, the
// policy from testdata/guide/policyFile, role with the guide's arguments and that policy,
// and returns the role ID and a fresh secret ID.
func guideAppRole(t *testing.T, root *vaultapi.Client, mount, kvVersion, policyFile, role string) (roleID, secretID string) {
	t.Helper()
	mounts, err := root.Sys().ListMounts()
	if err != nil {
		t.Fatalf("sys/mounts: %v", err)
	}
	if mounts[mount+"/"] == nil {
		in := &vaultapi.MountInput{Type: "kv"}
		if kvVersion != "" {
			in.Options = map[string]string{"version": kvVersion}
		}
		if err := root.Sys().Mount(mount, in); err != nil {
			t.Fatalf("secrets enable -path=%s kv: %v", mount, err)
		}
	}
	auths, err := root.Sys().ListAuth()
	if err != nil {
		t.Fatalf("sys/auth: %v", err)
	}
	if auths["approle/"] == nil {
		if err := root.Sys().EnableAuthWithOptions("approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
			t.Fatalf("auth enable approle: %v", err)
		}
	}
	policy := strings.TrimSuffix(filepath.Base(policyFile), filepath.Ext(policyFile))
	if err := root.Sys().PutPolicy(policy, string(mustRead(t, filepath.Join("testdata", "guide", policyFile)))); err != nil {
		t.Fatalf("policy write %s: %v", policy, err)
	}
	if _, err := root.Logical().Write("auth/approle/role/"+role, guideRoleArgs); err != nil {
		t.Fatalf("write role %s: %v", role, err)
	}
	if _, err := root.Logical().Write("auth/approle/role/"+role, map[string]any{"policies": policy}); err != nil {
		t.Fatalf("write role %s policies: %v", role, err)
	}
	s, err := root.Logical().Read("auth/approle/role/" + role + "/role-id")
	if err != nil || s == nil {
		t.Fatalf("read role-id: %v, %v", s, err)
	}
	roleID, _ = s.Data["role_id"].(string)
	s, err = root.Logical().Write("auth/approle/role/"+role+"/secret-id", map[string]any{})
	if err != nil || s == nil {
		t.Fatalf("write -f secret-id: %v, %v", s, err)
	}
	secretID, _ = s.Data["secret_id"].(string)
	if roleID == "" || secretID == "" {
		t.Fatalf("role_id %q, secret_id %q", roleID, secretID)
	}
	return roleID, secretID
}

// guideLogin logs in with the AppRole and returns a client with the token.
func guideLogin(t *testing.T, c *vaultapi.Client, roleID, secretID string) (*vaultapi.Client, *vaultapi.SecretAuth) {
	t.Helper()
	s, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil || s == nil || s.Auth == nil {
		t.Fatalf("approle login: %v, %v", s, err)
	}
	app, err := c.Clone()
	if err != nil {
		t.Fatal(err)
	}
	app.SetToken(s.Auth.ClientToken)
	return app, s.Auth
}

// guideTemplate fills testdata/guide/name with vars and writes it into dir.
func guideTemplate(t *testing.T, dir, name string, vars any) string {
	t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join("testdata", "guide", name))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, vars); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGuideVaultSteps runs the guide's steps 3.1-3.5 against a production-like (non-dev)
// appliance, then seals, unseals, restarts and unseals with a different 3 of the 5 shares.
func TestGuideVaultSteps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, stop := startAppliance(t, Config{DataDir: dir})
	c := guideVault(t, a, "")
	admin := guideTLSCert(t, filepath.Join(dir, "certs", "admin"))
	hc := caClient(t, a.CAFile(), admin)

	// A fresh appliance waits for `vault operator init`; KES and S3 are not ready meanwhile.
	st := guideSealStatus(t, c)
	if st.Initialized || !st.Sealed || st.T != 0 || st.N != 0 {
		t.Fatalf("fresh seal-status = %+v, want uninitialized and sealed", st)
	}
	guideNotReady(t, hc, a, "uninitialized")
	if _, err := c.Logical().Read("kv/minio/x"); guideCode(err) != http.StatusServiceUnavailable {
		t.Fatalf("read before init: err = %v, want 503", err)
	}

	// 3.1 vault operator init; vault operator unseal x3 with the base64 shares.
	res := guideInit(t, c, 5, 3)
	st = guideSealStatus(t, c)
	if !st.Initialized || !st.Sealed || st.T != 3 || st.N != 5 || st.Progress != 0 {
		t.Fatalf("seal-status after init = %+v, want initialized, sealed, 3 of 5", st)
	}
	guideNotReady(t, hc, a, "initialized but sealed")
	guideUnseal(t, c, res.KeysB64[0], res.KeysB64[1], res.KeysB64[2])
	if _, err := c.Sys().Leader(); err != nil {
		t.Fatalf("sys/leader: %v", err)
	}
	root := guideVault(t, a, res.RootToken)

	// kmsbox keeps KES's keys in its own kes/ mount once unsealed.
	mounts, err := root.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	if m := mounts["kes/"]; m == nil || m.Type != "kv" {
		t.Errorf("sys/mounts right after unseal has no kv mount kes/: %v", slices.Sorted(maps.Keys(mounts)))
	}

	// 3.2 vault secrets enable kv; vault auth enable approle. kes/ is not in the way.
	if err := root.Sys().Mount("kv", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatalf("vault secrets enable kv: %v", err)
	}
	if err := root.Sys().EnableAuthWithOptions("approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatalf("vault auth enable approle: %v", err)
	}
	if err := root.Sys().Mount("kv", &vaultapi.MountInput{Type: "kv"}); guideCode(err) != http.StatusConflict && guideCode(err) != http.StatusBadRequest {
		t.Errorf("second secrets enable kv: err = %v, want a path-in-use error", err)
	}
	guideReady(t, hc, a)
	mounts, err = root.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"kv/", "kes/"} {
		if mounts[m] == nil || mounts[m].Type != "kv" {
			t.Errorf("sys/mounts: %s missing or not kv: %v", m, slices.Sorted(maps.Keys(mounts)))
		}
	}
	if v := mounts["kv/"].Options["version"]; v != "" && v != "1" {
		t.Errorf("kv/ options.version = %q, want K/V v1", v)
	}

	// 3.3 vault policy write minio-key-policy ./kes-policy.hcl
	policy := string(mustRead(t, filepath.Join("testdata", "guide", "minio-key-policy.hcl")))
	if err := root.Sys().PutPolicy("minio-key-policy", policy); err != nil {
		t.Fatalf("vault policy write: %v", err)
	}
	if got, err := root.Sys().GetPolicy("minio-key-policy"); err != nil || !strings.Contains(got, `"kv/minio/*"`) {
		t.Fatalf("policy read back = %q, %v", got, err)
	}

	// 3.4 the role with the guide's exact string arguments, then its policy.
	if _, err := root.Logical().Write("auth/approle/role/kes-role", guideRoleArgs); err != nil {
		t.Fatalf("write kes-role: %v", err)
	}
	if _, err := root.Logical().Write("auth/approle/role/kes-role", map[string]any{"policies": "minio-key-policy"}); err != nil {
		t.Fatalf("write kes-role policies: %v", err)
	}
	role, err := root.Logical().Read("auth/approle/role/kes-role")
	if err != nil || role == nil {
		t.Fatalf("read kes-role: %v, %v", role, err)
	}
	if p := guideJSONInt(role.Data["token_period"]); p != 300 {
		t.Errorf("kes-role token_period = %v, want 300 (period=5m kept by the policies update)", role.Data["token_period"])
	}
	if n := guideJSONInt(role.Data["token_num_uses"]); n != 0 {
		t.Errorf("kes-role token_num_uses = %v, want 0", role.Data["token_num_uses"])
	}
	if n := guideJSONInt(role.Data["secret_id_num_uses"]); n != 0 {
		t.Errorf("kes-role secret_id_num_uses = %v, want 0", role.Data["secret_id_num_uses"])
	}
	if !guideHas(role.Data["token_policies"], "minio-key-policy") {
		t.Errorf("kes-role token_policies = %v, want minio-key-policy", role.Data["token_policies"])
	}
	s, err := root.Logical().Read("auth/approle/role/kes-role/role-id")
	if err != nil || s == nil {
		t.Fatalf("vault read role-id: %v, %v", s, err)
	}
	roleID, _ := s.Data["role_id"].(string)
	s, err = root.Logical().Write("auth/approle/role/kes-role/secret-id", map[string]any{})
	if err != nil || s == nil {
		t.Fatalf("vault write -f secret-id: %v, %v", s, err)
	}
	secretID, _ := s.Data["secret_id"].(string)
	if roleID == "" || secretID == "" || s.Data["secret_id_accessor"] == "" {
		t.Fatalf("role_id %q secret_id %q data %v", roleID, secretID, s.Data)
	}

	// 3.5 what KES does with the credentials: log in, then create/read/delete under kv/minio/.
	app, auth := guideLogin(t, c, roleID, secretID)
	if !slices.Contains(auth.Policies, "minio-key-policy") || !slices.Contains(auth.Policies, "default") {
		t.Errorf("login policies = %v, want default and minio-key-policy", auth.Policies)
	}
	if auth.LeaseDuration != 300 || !auth.Renewable {
		t.Errorf("login lease %d renewable %v, want the 5m period and renewable", auth.LeaseDuration, auth.Renewable)
	}
	if _, err := app.Logical().Write("kv/minio/my-minio-key", map[string]any{"my-minio-key": "record"}); err != nil {
		t.Fatalf("create kv/minio/my-minio-key: %v", err)
	}
	if got, err := app.Logical().Read("kv/minio/my-minio-key"); err != nil || got == nil || got.Data["my-minio-key"] != "record" {
		t.Fatalf("read kv/minio/my-minio-key = %v, %v", got, err)
	}
	if _, err := app.Logical().Write("kv/minio/my-minio-key", map[string]any{"my-minio-key": "other"}); guideCode(err) != http.StatusForbidden {
		t.Errorf("overwrite without update capability: err = %v, want 403", err)
	}
	if _, err := app.Logical().Delete("kv/minio/my-minio-key"); err != nil {
		t.Fatalf("delete kv/minio/my-minio-key: %v", err)
	}
	if got, err := app.Logical().Read("kv/minio/my-minio-key"); err != nil || got != nil {
		t.Fatalf("read after delete = %v, %v, want no secret", got, err)
	}
	if _, err := app.Logical().Write("kv/other/x", map[string]any{"x": "y"}); guideCode(err) != http.StatusForbidden {
		t.Errorf("write kv/other/x: err = %v, want 403", err)
	}
	if _, err := app.Logical().Read("kv/other/x"); guideCode(err) != http.StatusForbidden {
		t.Errorf("read kv/other/x: err = %v, want 403", err)
	}
	if _, err := app.Logical().List("kv/minio"); guideCode(err) != http.StatusForbidden {
		t.Errorf("list kv/minio without list capability: err = %v, want 403", err)
	}
	if _, err := app.Logical().Write("kv/minio/kept", map[string]any{"kept": "before-seal"}); err != nil {
		t.Fatal(err)
	}

	// vault operator seal -> every request 503 -> unseal with other shares.
	if err := app.Sys().Seal(); guideCode(err) != http.StatusForbidden {
		t.Errorf("seal with the AppRole token: err = %v, want 403 (needs sudo)", err)
	}
	if err := root.Sys().Seal(); err != nil {
		t.Fatalf("vault operator seal: %v", err)
	}
	_, err = app.Logical().Read("kv/minio/kept")
	if guideCode(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "Vault is sealed") {
		t.Fatalf("read while sealed: err = %v, want 503 Vault is sealed", err)
	}
	if h, err := c.Sys().Health(); err != nil || !h.Sealed || !h.Initialized {
		t.Fatalf("sys/health while sealed = %+v, %v", h, err)
	}
	guideNotReady(t, hc, a, "sealed by vault operator seal")
	guideUnseal(t, c, res.Keys[2], res.Keys[3], res.Keys[4]) // hex this time
	if got, err := app.Logical().Read("kv/minio/kept"); err != nil || got == nil || got.Data["kept"] != "before-seal" {
		t.Fatalf("read after unseal = %v, %v", got, err)
	}
	guideReady(t, hc, a)

	// Stop, restart on the same dir: sealed again; a different 3 of the 5 unseal it.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	b, _ := startAppliance(t, Config{DataDir: dir})
	c = guideVault(t, b, "")
	hc = caClient(t, b.CAFile(), admin)
	if st := guideSealStatus(t, c); !st.Initialized || !st.Sealed || st.T != 3 || st.N != 5 {
		t.Fatalf("seal-status after restart = %+v, want initialized and sealed", st)
	}
	guideNotReady(t, hc, b, "restarted, sealed")
	// A wrong share in the set fails the attempt and resets the progress.
	bad := make([]byte, 33)
	if _, err := c.Sys().Unseal(res.KeysB64[1]); err != nil {
		t.Fatal(err)
	}
	c.Sys().Unseal(res.KeysB64[3])
	if _, err := c.Sys().Unseal(base64.StdEncoding.EncodeToString(bad)); guideCode(err) != http.StatusBadRequest {
		t.Fatalf("unseal with a wrong third share: err = %v, want 400", err)
	}
	if st := guideSealStatus(t, c); !st.Sealed || st.Progress != 0 {
		t.Fatalf("after a failed combination: %+v, want sealed, progress 0", st)
	}
	guideUnseal(t, c, res.KeysB64[1], res.KeysB64[3], res.KeysB64[4])
	root = guideVault(t, b, res.RootToken)
	app.SetAddress(b.URL("vault"))
	if got, err := app.Logical().Read("kv/minio/kept"); err != nil || got == nil || got.Data["kept"] != "before-seal" {
		t.Fatalf("read after restart = %v, %v (token and data must survive)", got, err)
	}
	if _, auth := guideLogin(t, c, roleID, secretID); auth.LeaseDuration != 300 {
		t.Errorf("login after restart: lease %d, want 300", auth.LeaseDuration)
	}
	if got, err := root.Sys().GetPolicy("minio-key-policy"); err != nil || got == "" {
		t.Errorf("policy after restart = %q, %v", got, err)
	}
	mounts, err = root.Sys().ListMounts()
	if err != nil || mounts["kv/"] == nil || mounts["kes/"] == nil {
		t.Errorf("mounts after restart: %v, %v", slices.Sorted(maps.Keys(mounts)), err)
	}
	guideReady(t, hc, b)
}

// guideNotReady checks that KES /v1/ready and S3 /minio/health/ready answer not ready.
func guideNotReady(t *testing.T, hc *http.Client, a *Appliance, when string) {
	t.Helper()
	if code := getStatus(t, hc, a.URL("kes")+"/v1/ready"); code == http.StatusOK || code < 500 {
		t.Errorf("%s: KES /v1/ready = %d, want a 5xx not-ready answer", when, code)
	}
	if code := getStatus(t, hc, a.URL("s3")+"/minio/health/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("%s: S3 /minio/health/ready = %d, want 503", when, code)
	}
}

// guideReady checks that KES /v1/ready and S3 /minio/health/ready answer 200.
func guideReady(t *testing.T, hc *http.Client, a *Appliance) {
	t.Helper()
	if code := getStatus(t, hc, a.URL("kes")+"/v1/ready"); code != http.StatusOK {
		t.Errorf("unsealed: KES /v1/ready = %d, want 200", code)
	}
	if code := getStatus(t, hc, a.URL("s3")+"/minio/health/ready"); code != http.StatusOK {
		t.Errorf("unsealed: S3 /minio/health/ready = %d, want 200", code)
	}
}

// guideJSONInt reads a JSON number the Vault client decoded (json.Number or float64).
func guideJSONInt(v any) int64 {
	switch n := v.(type) {
	case interface{ Int64() (int64, error) }:
		i, _ := n.Int64()
		return i
	case float64:
		return int64(n)
	}
	return -1
}

// guideHas reports whether v (a decoded JSON array) holds s.
func guideHas(v any, s string) bool {
	l, _ := v.([]any)
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// TestGuideVaultDevMode checks issue 3 item 8: --dev-root-token fixes the root token, the
// env file's VAULT_* work with the real client, a restart unseals itself from the dev key
// file with data intact; and a non-dev start never writes anything that unseals.
func TestGuideVaultDevMode(t *testing.T) {
	t.Parallel()
	const rootToken = "guide-dev-root"
	dir := t.TempDir()
	var out bytes.Buffer
	_, stop := startAppliance(t, Config{DataDir: dir, Dev: true, DevRootToken: rootToken, Out: &out})
	env := mustRead(t, EnvFile(dir))
	if got := envValue(env, "VAULT_TOKEN"); got != rootToken {
		t.Fatalf("env VAULT_TOKEN = %q, want %q", got, rootToken)
	}
	if !strings.Contains(out.String(), rootToken) {
		t.Errorf("dev banner does not show the root token:\n%s", out.String())
	}
	c := guideVaultAt(t, envValue(env, "VAULT_ADDR"), envValue(env, "VAULT_CACERT"), envValue(env, "VAULT_TOKEN"))
	self, err := c.Auth().Token().LookupSelf()
	if err != nil {
		t.Fatalf("lookup-self with the env file's token: %v", err)
	}
	if p, _ := self.TokenPolicies(); !slices.Contains(p, "root") {
		t.Errorf("dev root token policies = %v, want root", p)
	}
	if st := guideSealStatus(t, c); st.Sealed || !st.Initialized || st.T != 1 || st.N != 1 {
		t.Errorf("dev seal-status = %+v, want initialized, unsealed, 1 of 1", st)
	}
	// kmsbox's kes/ mount is there from the start (dev unseals inside Open).
	if mounts, err := c.Sys().ListMounts(); err != nil || mounts["kes/"] == nil {
		t.Errorf("dev sys/mounts = %v, %v; want kes/", slices.Sorted(maps.Keys(mounts)), err)
	}
	if err := c.Sys().Mount("kv", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("kv/minio/dev", map[string]any{"dev": "kept"}); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, devVaultKeyFile)
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 || !strings.Contains(fi.Name(), "INSECURE") {
		t.Fatalf("dev key file %s: %v, %v; want 0600 and loudly named", keyFile, fi, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// The restart unseals itself and keeps the data; a different --dev-root-token is the
	// one the env file now names, and it works.
	const rootToken2 = "guide-dev-root-2"
	b, bstop := startAppliance(t, Config{DataDir: dir, Dev: true, DevRootToken: rootToken2})
	c = guideVault(t, b, rootToken2)
	if st := guideSealStatus(t, c); st.Sealed {
		t.Fatal("dev restart did not unseal itself")
	}
	if got, err := c.Logical().Read("kv/minio/dev"); err != nil || got == nil || got.Data["dev"] != "kept" {
		t.Fatalf("dev data after restart = %v, %v", got, err)
	}
	if got := envValue(mustRead(t, EnvFile(dir)), "VAULT_TOKEN"); got != rootToken2 {
		t.Errorf("env VAULT_TOKEN after a restart with --dev-root-token %s = %q", rootToken2, got)
	}
	if _, err := c.Auth().Token().LookupSelf(); err != nil {
		t.Errorf("lookup-self with the new dev root token: %v", err)
	}
	// Without the key file the dev store cannot unseal: it is what unseals.
	if err := bstop(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(keyFile, keyFile+".moved"); err != nil {
		t.Fatal(err)
	}
	if a2, err := Open(t.Context(), Config{DataDir: dir, Dev: true, VaultAddr: "127.0.0.1:0"}); err == nil {
		a2.closeState()
		t.Error("dev Open without its key file succeeded on an initialized store")
	}

	// Without --dev the dev store starts sealed, and the unseal key the banner printed opens it.
	m := regexp.MustCompile(`unseal key\s+(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("dev banner shows no unseal key:\n%s", out.String())
	}
	np, npstop := startAppliance(t, Config{DataDir: dir})
	c = guideVault(t, np, "")
	if st := guideSealStatus(t, c); !st.Sealed || st.T != 1 || st.N != 1 {
		t.Fatalf("dev store started without --dev: %+v, want sealed, 1 of 1", st)
	}
	guideUnseal(t, c, m[1])
	c.SetToken(rootToken2)
	if got, err := c.Logical().Read("kv/minio/dev"); err != nil || got == nil || got.Data["dev"] != "kept" {
		t.Fatalf("dev data read without --dev = %v, %v", got, err)
	}
	if err := npstop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a start without --dev wrote the dev key file again: %v", err)
	}

	// --dev-root-token without --dev is refused.
	if _, err := Open(t.Context(), Config{DataDir: t.TempDir(), DevRootToken: rootToken, VaultAddr: "127.0.0.1:0"}); err == nil {
		t.Error("DevRootToken without Dev: Open succeeded")
	}

	// A production-like start on a fresh dir keeps nothing that unseals the store on disk.
	prod := t.TempDir()
	p, pstop := startAppliance(t, Config{DataDir: prod})
	pc := guideVault(t, p, "")
	res := guideInit(t, pc, 5, 3)
	guideUnseal(t, pc, res.KeysB64[:3]...)
	proot := guideVault(t, p, res.RootToken)
	if err := proot.Sys().Mount("kv", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := proot.Logical().Write("kv/minio/prod", map[string]any{"prod": "secret"}); err != nil {
		t.Fatal(err)
	}
	if err := pstop(); err != nil {
		t.Fatal(err)
	}
	// Switching such a store to --dev later is refused, and writes neither a key file nor an
	// env file (the walk below checks).
	if a2, err := Open(t.Context(), Config{DataDir: prod, Dev: true, VaultAddr: "127.0.0.1:0"}); err == nil {
		a2.closeState()
		t.Error("--dev on a store initialized without --dev: Open succeeded")
	} else if !strings.Contains(err.Error(), devVaultKeyFile) {
		t.Errorf("--dev on a store initialized without --dev: error %q does not name the missing key file", err)
	}
	var secrets [][]byte
	secrets = append(secrets, []byte(res.RootToken))
	for i := range res.Keys {
		raw, _ := hex.DecodeString(res.Keys[i])
		secrets = append(secrets, []byte(res.Keys[i]), []byte(res.KeysB64[i]), raw[:16])
	}
	err = filepath.WalkDir(prod, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), "vault-dev") || strings.Contains(d.Name(), "INSECURE") || d.Name() == envFileName {
			t.Errorf("non-dev start (or the refused --dev start) wrote %s", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(b, s) {
				t.Errorf("%s holds a share or the root token in the clear", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
