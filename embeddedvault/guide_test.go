package embeddedvault

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

const guidePolicy = `path "kv/minio/*" { capabilities = ["create","read","delete"] }`

// fakeClock lets tests move token time forward without sleeping.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// startVaultClock starts a vault whose token clock is controlled by the test.
func startVaultClock(t *testing.T, cfg Config) (*testVault, *fakeClock) {
	t.Helper()
	tv := startVault(t, cfg)
	clk := &fakeClock{}
	tv.srv.now = clk.now // set before the first request is served
	return tv, clk
}

func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// guideSetup runs the guide's steps 3.1-3.4 and returns the init response
// and the AppRole credentials.
func guideSetup(t *testing.T, tv *testVault) (res *api.InitResponse, roleID, secretID string) {
	t.Helper()
	c := tv.client("")
	// 3.1 vault operator init (GET seal-status, PUT init 5/3) and 3 unseals.
	st, err := c.Sys().SealStatus()
	if err != nil || st.Initialized || !st.Sealed {
		t.Fatalf("seal-status before init = %+v, %v", st, err)
	}
	res, err = c.Sys().Init(&api.InitRequest{SecretShares: 5, SecretThreshold: 3})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	if len(res.KeysB64) != 5 || len(res.Keys[0]) != 66 || len(res.KeysB64[0]) != 44 {
		t.Fatalf("share shapes: %d keys, hex %d chars, b64 %d chars", len(res.KeysB64), len(res.Keys[0]), len(res.KeysB64[0]))
	}
	for i, k := range res.KeysB64[:3] {
		st, err := c.Sys().Unseal(k)
		if err != nil {
			t.Fatalf("unseal %d: %v", i, err)
		}
		if i < 2 && (st.Progress != i+1 || !st.Sealed || st.T != 3 || st.N != 5 || st.Nonce == "") {
			t.Fatalf("unseal %d status = %+v", i, st)
		}
		if i == 2 && (st.Sealed || st.Progress != 0) {
			t.Fatalf("final unseal status = %+v", st)
		}
	}
	if _, err := c.Sys().Leader(); err != nil {
		t.Fatalf("leader: %v", err)
	}
	c.SetToken(res.RootToken)
	// 3.2 vault secrets enable kv; vault auth enable approle.
	if err := c.Sys().Mount("kv", &api.MountInput{Type: "kv"}); err != nil {
		t.Fatalf("secrets enable kv: %v", err)
	}
	if err := c.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatalf("auth enable approle: %v", err)
	}
	// 3.3 vault policy write minio-key-policy kes-policy.hcl
	if err := c.Sys().PutPolicy("minio-key-policy", guidePolicy); err != nil {
		t.Fatalf("policy write: %v", err)
	}
	// 3.4 the role with the guide's exact string arguments.
	if _, err := c.Logical().Write("auth/approle/role/kes-role", map[string]any{
		"token_num_uses": "0", "secret_id_num_uses": "0", "period": "5m",
	}); err != nil {
		t.Fatalf("write role: %v", err)
	}
	if _, err := c.Logical().Write("auth/approle/role/kes-role", map[string]any{"policies": "minio-key-policy"}); err != nil {
		t.Fatalf("write role policies: %v", err)
	}
	role, err := c.Logical().Read("auth/approle/role/kes-role")
	if err != nil || role == nil {
		t.Fatalf("read role: %v", err)
	}
	if role.Data["token_period"].(jsonNumber).String() != "300" || !slices.Equal(toStrings(role.Data["token_policies"]), []string{"minio-key-policy"}) {
		t.Fatalf("role = %v", role.Data)
	}
	rid, err := c.Logical().Read("auth/approle/role/kes-role/role-id")
	if err != nil || rid == nil {
		t.Fatalf("read role-id: %v", err)
	}
	roleID = rid.Data["role_id"].(string)
	sid, err := c.Logical().Write("auth/approle/role/kes-role/secret-id", map[string]any{}) // vault write -f
	if err != nil || sid == nil {
		t.Fatalf("secret-id: %v", err)
	}
	secretID = sid.Data["secret_id"].(string)
	if roleID == "" || secretID == "" || sid.Data["secret_id_accessor"] == "" {
		t.Fatalf("credentials: %q %q %v", roleID, secretID, sid.Data)
	}
	return res, roleID, secretID
}

func TestGuideSteps(t *testing.T) {
	tv := startVault(t, testConfig(t))
	res, roleID, secretID := guideSetup(t, tv)

	// 3.5: KES logs in and works under kv/minio/.
	c := tv.client("")
	login, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil || login == nil || login.Auth == nil {
		t.Fatalf("login: %v", err)
	}
	a := login.Auth
	if a.LeaseDuration != 300 || !a.Renewable || !slices.Equal(a.Policies, []string{"default", "minio-key-policy"}) || a.Metadata["role_name"] != "kes-role" {
		t.Fatalf("login auth = %+v", a)
	}
	app := tv.client(a.ClientToken)
	if _, err := app.Logical().Write("kv/minio/key-1", map[string]any{"key-1": "c2VjcmV0"}); err != nil {
		t.Fatalf("create under kv/minio: %v", err)
	}
	got, err := app.Logical().Read("kv/minio/key-1")
	if err != nil || got == nil || got.Data["key-1"] != "c2VjcmV0" {
		t.Fatalf("read under kv/minio = %v, %v", got, err)
	}
	// The guide policy has no update: overwriting an existing key is denied.
	if _, err := app.Logical().Write("kv/minio/key-1", map[string]any{"key-1": "other"}); statusOf(err) != http.StatusForbidden {
		t.Fatalf("overwrite err = %v, want 403", err)
	}
	if _, err := app.Logical().Delete("kv/minio/key-1"); err != nil {
		t.Fatalf("delete under kv/minio: %v", err)
	}
	if _, err := app.Logical().Write("kv/other/key-1", map[string]any{"x": "y"}); statusOf(err) != http.StatusForbidden {
		t.Fatalf("write kv/other err = %v, want 403", err)
	}
	if _, err := app.Logical().List("kv/minio"); statusOf(err) != http.StatusForbidden {
		t.Fatalf("list kv/minio err = %v, want 403", err)
	}
	if _, err := app.Sys().ListMounts(); statusOf(err) != http.StatusForbidden {
		t.Fatalf("sys/mounts err = %v, want 403", err)
	}
	self, err := app.Auth().Token().LookupSelf()
	if err != nil || self.Data["period"] == nil {
		t.Fatalf("lookup-self = %v, %v", self, err)
	}
	caps, err := app.Sys().CapabilitiesSelf("kv/minio/key-2")
	if err != nil || !slices.Equal(caps, []string{"create", "delete", "read"}) {
		t.Fatalf("capabilities-self = %v, %v", caps, err)
	}
	if caps, _ := app.Sys().CapabilitiesSelf("kv/other/x"); !slices.Equal(caps, []string{"deny"}) {
		t.Fatalf("capabilities-self outside = %v", caps)
	}
	// Wrong secret ID and unknown role ID.
	for _, body := range []map[string]any{
		{"role_id": roleID, "secret_id": "wrong"},
		{"role_id": "nope", "secret_id": secretID},
	} {
		_, err := c.Logical().Write("auth/approle/login", body)
		var re *api.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 400 || re.Errors[0] != "invalid role or secret ID" {
			t.Fatalf("bad login err = %v", err)
		}
	}
	if _, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID}); err == nil {
		t.Fatal("login without secret_id succeeded")
	}

	// The root token sees the app token; disabling AppRole revokes it.
	root := tv.client(res.RootToken)
	look, err := root.Auth().Token().Lookup(a.ClientToken)
	if err != nil || look.Data["path"] != "auth/approle/login" || look.Data["display_name"] != "approle" {
		t.Fatalf("lookup = %v, %v", look, err)
	}
	auths, err := root.Sys().ListAuth()
	if err != nil || auths["approle/"] == nil || auths["token/"] == nil || auths["approle/"].Type != "approle" {
		t.Fatalf("sys/auth = %v, %v", auths, err)
	}
	mounts, err := root.Sys().ListMounts()
	if err != nil || mounts["kv/"] == nil || mounts["kv/"].Type != "kv" || mounts["kv/"].Options["version"] != "1" || mounts["sys/"] == nil {
		t.Fatalf("ListMounts = %v, %v", mounts, err)
	}
	pols, err := root.Sys().ListPolicies()
	if err != nil || !slices.Equal(pols, []string{"default", "minio-key-policy", "root"}) {
		t.Fatalf("ListPolicies = %v, %v", pols, err)
	}
	if p, err := root.Sys().GetPolicy("minio-key-policy"); err != nil || p != guidePolicy {
		t.Fatalf("GetPolicy = %q, %v", p, err)
	}
	if err := root.Sys().DisableAuth("approle"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Auth().Token().LookupSelf(); statusOf(err) != http.StatusForbidden {
		t.Fatalf("token of a disabled auth method = %v, want 403", err)
	}
	if _, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID}); statusOf(err) != 404 {
		t.Fatalf("login on disabled approle = %v, want 404", err)
	}
}

func TestSealUnsealRestartWithOtherShares(t *testing.T) {
	cfg := testConfig(t)
	tv := startVault(t, cfg)
	res, roleID, secretID := guideSetup(t, tv)
	root := tv.client(res.RootToken)
	if _, err := root.Logical().Write("kv/minio/k", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().Seal(); err != nil {
		t.Fatalf("seal: %v", err)
	}
	if _, err := root.Logical().Read("kv/minio/k"); statusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("sealed read = %v, want 503", err)
	}
	if _, err := root.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID}); statusOf(err) != 503 {
		t.Fatalf("sealed login = %v, want 503", err)
	}
	for _, k := range res.Keys[:3] { // hex this time
		if _, err := root.Sys().Unseal(k); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := root.Logical().Read("kv/minio/k"); err != nil || v.Data["k"] != "v" {
		t.Fatalf("read after unseal = %v, %v", v, err)
	}
	tv.stop()

	tv2 := startVault(t, cfg)
	c := tv2.client(res.RootToken)
	st, err := c.Sys().SealStatus()
	if err != nil || !st.Sealed || !st.Initialized || st.T != 3 || st.N != 5 {
		t.Fatalf("status after restart = %+v, %v", st, err)
	}
	// Duplicate share: progress stays at 1.
	if st, err := c.Sys().Unseal(res.KeysB64[4]); err != nil || st.Progress != 1 {
		t.Fatalf("first share = %+v, %v", st, err)
	}
	if st, err := c.Sys().Unseal(res.Keys[4]); err != nil || st.Progress != 1 {
		t.Fatalf("duplicate share (hex form) = %+v, %v", st, err)
	}
	// A corrupted third share makes the combination wrong: 400, reset.
	raw, err := base64.StdEncoding.DecodeString(res.KeysB64[3])
	if err != nil {
		t.Fatal(err)
	}
	raw[5] ^= 0x01 // flip a bit of the share itself: still valid base64 (a flipped character may not be)
	bad := base64.StdEncoding.EncodeToString(raw)
	if _, err := c.Sys().Unseal(res.KeysB64[2]); err != nil {
		t.Fatal(err)
	}
	_, err = c.Sys().Unseal(string(bad))
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 400 || re.Errors[0] != "Unseal failed, invalid key" {
		t.Fatalf("wrong share err = %v", err)
	}
	if st, _ := c.Sys().SealStatus(); st.Progress != 0 || !st.Sealed || st.Nonce != "" {
		t.Fatalf("after wrong share = %+v", st)
	}
	for _, k := range []string{res.KeysB64[4], res.KeysB64[3], res.KeysB64[1]} {
		if _, err := c.Sys().Unseal(k); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := c.Logical().Read("kv/minio/k"); err != nil || v == nil || v.Data["k"] != "v" {
		t.Fatalf("read after restart = %v, %v", v, err)
	}
	if _, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID}); err != nil {
		t.Fatalf("login after restart: %v", err)
	}
}

func TestTokenLifetimes(t *testing.T) {
	tv, clk := startVaultClock(t, testConfig(t))
	res, roleID, secretID := guideSetup(t, tv)
	root := tv.client(res.RootToken)

	// TTL: expired tokens stop working.
	sec, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"minio-key-policy"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	short := tv.client(sec.Auth.ClientToken)
	if _, err := short.Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	clk.advance(time.Hour + time.Second)
	if _, err := short.Auth().Token().LookupSelf(); statusOf(err) != http.StatusForbidden {
		t.Fatalf("expired token err = %v, want 403", err)
	}

	// num_uses: two uses, then gone.
	sec, err = root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"minio-key-policy"}, NumUses: 2})
	if err != nil {
		t.Fatal(err)
	}
	limited := tv.client(sec.Auth.ClientToken)
	for i := range 2 {
		if _, err := limited.Logical().Write("kv/minio/n"+string(rune('0'+i)), map[string]any{"a": "b"}); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	if _, err := limited.Logical().Read("kv/minio/n0"); statusOf(err) != http.StatusForbidden {
		t.Fatalf("third use err = %v, want 403", err)
	}

	// Periodic AppRole token: renew-self resets the TTL to the period.
	login, err := tv.client("").Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil {
		t.Fatal(err)
	}
	app := tv.client(login.Auth.ClientToken)
	clk.advance(4 * time.Minute)
	ren, err := app.Auth().Token().RenewSelf(0)
	if err != nil || ren.Auth == nil || ren.Auth.LeaseDuration != 300 || !ren.Auth.Renewable {
		t.Fatalf("renew-self = %+v, %v", ren, err)
	}
	clk.advance(4 * time.Minute) // 8 min after login: alive only thanks to renewal
	if _, err := app.Logical().Read("kv/minio/n0"); err != nil {
		t.Fatalf("renewed token: %v", err)
	}
	clk.advance(2 * time.Minute)
	if _, err := app.Logical().Read("kv/minio/n0"); statusOf(err) != http.StatusForbidden {
		t.Fatalf("token past its period err = %v, want 403", err)
	}
	// Non-renewable tokens cannot renew; others extend up to the max TTL.
	no := false
	sec, _ = root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h", Renewable: &no})
	if _, err := tv.client(sec.Auth.ClientToken).Auth().Token().RenewSelf(0); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("renew of non-renewable token = %v, want 400", err)
	}
	sec, _ = root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h", ExplicitMaxTTL: "90m"})
	ren, err = tv.client(sec.Auth.ClientToken).Auth().Token().RenewSelf(3600)
	if err != nil || ren.Auth.LeaseDuration != 3600 {
		t.Fatalf("renew within max = %+v, %v", ren, err)
	}
	clk.advance(45 * time.Minute)
	ren, err = tv.client(sec.Auth.ClientToken).Auth().Token().RenewSelf(3600)
	if err != nil || ren.Auth.LeaseDuration != 2700 {
		t.Fatalf("renew capped by explicit max = %+v, %v", ren, err)
	}
	// revoke-self.
	sec, _ = root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}})
	tmp := tv.client(sec.Auth.ClientToken)
	if err := tmp.Auth().Token().RevokeSelf(""); err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.Auth().Token().LookupSelf(); statusOf(err) != http.StatusForbidden {
		t.Fatalf("revoked token err = %v", err)
	}
}
