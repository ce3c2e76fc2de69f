package vaultstore

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/kmsbox/kmsbox/embeddedvault"
	"github.com/kmsbox/kmsbox/kescore"
)

// guidePolicy is the KMS guide's policy for KES, extended with list (which
// current KES needs), for a v1 mount at kv/ and a v2 mount at kv2/.
const guidePolicy = `
path "kv/minio/*" { capabilities = ["create", "read", "delete", "list"] }
path "kv2/data/minio/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "kv2/metadata/minio/*" { capabilities = ["read", "delete", "list"] }
`

// guidePolicyNoList is the guide's policy exactly as printed: no list.
const guidePolicyNoList = `path "kv/minio/*" { capabilities = ["create", "read", "delete"] }`

// testVault is kmsbox's embedded vault over real HTTPS on 127.0.0.1:0, set up
// as the KMS guide does with the vault CLI.
type testVault struct {
	srv    *httptest.Server
	ev     *embeddedvault.Server
	root   *vaultapi.Client
	caFile string
	unseal string
}

func startVault(t testing.TB) *testVault {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	ev, err := embeddedvault.Open(ctx, embeddedvault.Config{Path: filepath.Join(dir, "vault.db")})
	if err != nil {
		t.Fatal(err)
	}
	v := &testVault{ev: ev, srv: httptest.NewUnstartedServer(ev.Handler())}
	v.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected handshake failures
	v.srv.StartTLS()
	t.Cleanup(func() {
		v.srv.Close()
		if err := ev.Close(); err != nil {
			t.Error(err)
		}
	})
	v.caFile = filepath.Join(dir, "vault-ca.pem")
	if err := os.WriteFile(v.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: v.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := vaultapi.DefaultConfig()
	cfg.Address = v.srv.URL
	if err := cfg.ConfigureTLS(&vaultapi.TLSConfig{CACert: v.caFile}); err != nil {
		t.Fatal(err)
	}
	cfg.MaxRetries = 0
	root, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	root.ClearNamespace()
	v.root = root

	// vault operator init / unseal
	init, err := root.Sys().InitWithContext(ctx, &vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	v.unseal = init.KeysB64[0]
	if st, err := root.Sys().UnsealWithContext(ctx, v.unseal); err != nil || st.Sealed {
		t.Fatalf("unseal: %+v %v", st, err)
	}
	root.SetToken(init.RootToken)

	// vault secrets enable kv; vault auth enable approle
	must(t, root.Sys().MountWithContext(ctx, "kv", &vaultapi.MountInput{Type: "kv"}))
	must(t, root.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &vaultapi.EnableAuthOptions{Type: "approle"}))
	must(t, root.Sys().PutPolicyWithContext(ctx, "minio-key-policy", guidePolicy))
	must(t, root.Sys().PutPolicyWithContext(ctx, "guide-no-list", guidePolicyNoList))
	return v
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// appRole creates a role as the guide does (vault write
// auth/approle/role/NAME token_num_uses=0 secret_id_num_uses=0 period=...
// policies=...) and returns its role-id and a fresh secret-id.
func (v *testVault) appRole(t testing.TB, name, period, policies string) AppRoleConfig {
	t.Helper()
	ctx := t.Context()
	_, err := v.root.Logical().WriteWithContext(ctx, "auth/approle/role/"+name, map[string]any{
		"token_num_uses": "0", "secret_id_num_uses": "0", "period": period, "policies": policies,
	})
	must(t, err)
	rid, err := v.root.Logical().ReadWithContext(ctx, "auth/approle/role/"+name+"/role-id")
	must(t, err)
	sid, err := v.root.Logical().WriteWithContext(ctx, "auth/approle/role/"+name+"/secret-id", map[string]any{})
	must(t, err)
	return AppRoleConfig{ID: rid.Data["role_id"].(string), Secret: sid.Data["secret_id"].(string)}
}

// events collects the store's background events.
type events chan event

func (e events) hook(ev event) {
	select {
	case e <- ev:
	default: // a test that does not read events must not block the store
	}
}

// next waits for the next event of kind.
func (e events) next(t *testing.T, kind string) event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-e:
			if ev.kind == kind {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q event", kind)
		}
	}
}

// clock hands the store's waits to the test: each wait shows up on waits
// with its duration and fires when the test sends on fire.
type clock struct{ waits chan wait }

type wait struct {
	d    time.Duration
	fire chan time.Time
}

func newClock() *clock { return &clock{waits: make(chan wait, 64)} }

func (c *clock) after(d time.Duration) <-chan time.Time {
	w := wait{d: d, fire: make(chan time.Time, 1)}
	c.waits <- w
	return w.fire
}

func (c *clock) next(t *testing.T) wait {
	t.Helper()
	select {
	case w := <-c.waits:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("the store scheduled no wait")
		return wait{}
	}
}

func (v *testVault) connect(t testing.TB, cfg Config) *Store {
	t.Helper()
	cfg.Endpoint = v.srv.URL
	cfg.CAFile = v.caFile
	if cfg.Prefix == "" {
		cfg.Prefix = "minio"
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := Connect(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { must(t, s.Close()) })
	return s
}

// value is a key record as real KES writes it: base64 text.
const value = "CiQKIKmN0eU3b3R4c3Ni9ghHhS1zWmDbXbzLJQGSHo1NjEwXEAEaIgog"

func TestKVv1(t *testing.T) {
	v := startVault(t)
	s := v.connect(t, Config{Engine: "kv", AppRole: v.appRole(t, "kes-role", "5m", "minio-key-policy")})
	testKV(t, s)

	// Where and how the key sits in Vault: as real KES keeps it.
	sec, err := v.root.Logical().ReadWithContext(t.Context(), "kv/minio/minio-key-1")
	if err != nil || sec == nil || len(sec.Data) != 1 || sec.Data["minio-key-1"] != value {
		t.Fatalf("vault entry: %+v %v", sec, err)
	}
}

func TestKVv2(t *testing.T) {
	v := startVault(t)
	must(t, v.root.Sys().MountWithContext(t.Context(), "kv2", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}))
	s := v.connect(t, Config{Engine: "kv2", Version: KVv2, AppRole: v.appRole(t, "kes-role", "5m", "minio-key-policy")})
	testKV(t, s)

	sec, err := v.root.Logical().ReadWithContext(t.Context(), "kv2/data/minio/minio-key-1")
	if err != nil || sec == nil {
		t.Fatalf("vault entry: %v", err)
	}
	data, _ := sec.Data["data"].(map[string]any)
	if len(data) != 1 || data["minio-key-1"] != value {
		t.Fatalf("vault v2 entry: %+v", sec.Data)
	}
}

// testKV runs the KeyStore contract against s.
func testKV(t *testing.T, s *Store) {
	ctx := t.Context()
	if d, err := s.Status(ctx); err != nil || d <= 0 {
		t.Fatalf("status: %v %v", d, err)
	}
	if names, err := s.List(ctx, ""); err != nil || len(names) != 0 {
		t.Fatalf("list of nothing: %v %v", names, err)
	}
	must(t, s.Create(ctx, "minio-key-1", []byte(value)))
	must(t, s.Create(ctx, "minio-key-2", []byte("two")))
	must(t, s.Create(ctx, "other", []byte("three")))
	if err := s.Create(ctx, "minio-key-1", []byte("overwrite")); !errors.Is(err, kescore.ErrKeyExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	got, err := s.Get(ctx, "minio-key-1")
	if err != nil || string(got) != value {
		t.Fatalf("get: %q %v", got, err)
	}
	if _, err := s.Get(ctx, "missing"); !errors.Is(err, kescore.ErrKeyNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	names, err := s.List(ctx, "")
	if err != nil || strings.Join(names, ",") != "minio-key-1,minio-key-2,other" {
		t.Fatalf("list: %v %v", names, err)
	}
	names, err = s.List(ctx, "minio-")
	if err != nil || strings.Join(names, ",") != "minio-key-1,minio-key-2" {
		t.Fatalf("list prefix: %v %v", names, err)
	}
	must(t, s.Delete(ctx, "minio-key-2"))
	if err := s.Delete(ctx, "minio-key-2"); !errors.Is(err, kescore.ErrKeyNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
	if _, err := s.Get(ctx, "minio-key-2"); !errors.Is(err, kescore.ErrKeyNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	// A deleted key can be created again.
	must(t, s.Create(ctx, "minio-key-2", []byte("again")))
	if got, err := s.Get(ctx, "minio-key-2"); err != nil || string(got) != "again" {
		t.Fatalf("recreated: %q %v", got, err)
	}
	for _, bad := range []string{"", "..", "a/b", "../kv/x", "a?b"} {
		if err := s.Create(ctx, bad, []byte("x")); !errors.Is(err, kescore.ErrInvalidName) {
			t.Errorf("create %q: %v", bad, err)
		}
	}
	if got, err := s.Get(ctx, "minio-key-1"); err != nil || string(got) != value {
		t.Fatalf("bad input changed stored data: %q %v", got, err)
	}
}

// TestGuidePolicyWithoutList: the guide's policy lacks list; the error says
// which capability on which path the policy needs.
func TestGuidePolicyWithoutList(t *testing.T) {
	v := startVault(t)
	s := v.connect(t, Config{Engine: "kv", AppRole: v.appRole(t, "kes-role", "5m", "guide-no-list")})
	ctx := t.Context()
	must(t, s.Create(ctx, "minio-key-1", []byte(value)))
	_, err := s.List(ctx, "")
	if !errors.Is(err, ErrPermissionDenied) || !strings.Contains(err.Error(), `grant "list" on "kv/minio/*"`) {
		t.Fatalf("list without list capability: %v", err)
	}
	// The denial did not cost the store its token.
	if got, err := s.Get(ctx, "minio-key-1"); err != nil || string(got) != value {
		t.Fatalf("get after denial: %v", err)
	}
}

func TestRenewal(t *testing.T) {
	v := startVault(t)
	clk, ev := newClock(), make(events, 64)
	s := v.connect(t, Config{Engine: "kv", AppRole: v.appRole(t, "kes-role", "5m", "minio-key-policy"), hooks: &hooks{after: clk.after, event: ev.hook}})
	ctx := t.Context()

	for range 2 { // renew twice: each renewal schedules the next
		w := clk.next(t)
		if w.d != 4*time.Minute { // 80% of the 5m period
			t.Fatalf("renewal scheduled after %v, want 4m", w.d)
		}
		w.fire <- time.Now()
		if e := ev.next(t, "renewed"); e.ttl != 5*time.Minute {
			t.Fatalf("renewed TTL %v, want 5m", e.ttl)
		}
	}
	must(t, s.Create(ctx, "minio-key-1", []byte(value)))

	// The token is revoked behind the store's back: the next renewal fails
	// and the store logs in again.
	_, err := v.root.Logical().WriteWithContext(ctx, "auth/token/revoke", map[string]any{"token": s.client.Token()})
	must(t, err)
	w := clk.next(t)
	w.fire <- time.Now()
	if e := ev.next(t, "renew-failed"); e.err == nil {
		t.Fatal("renew-failed without error")
	}
	if e := ev.next(t, "login"); e.ttl != 5*time.Minute {
		t.Fatalf("login TTL %v", e.ttl)
	}
	if got, err := s.Get(ctx, "minio-key-1"); err != nil || string(got) != value {
		t.Fatalf("get after re-login: %v", err)
	}
	if w := clk.next(t); w.d != 4*time.Minute {
		t.Fatalf("after re-login the renewal is scheduled after %v", w.d)
	}
}

// TestReloginOnRevokedToken: a request that finds the token revoked logs in
// again at once instead of failing until the next renewal.
func TestReloginOnRevokedToken(t *testing.T) {
	v := startVault(t)
	clk, ev := newClock(), make(events, 64)
	s := v.connect(t, Config{Engine: "kv", AppRole: v.appRole(t, "kes-role", "5m", "minio-key-policy"), hooks: &hooks{after: clk.after, event: ev.hook}})
	ctx := t.Context()
	must(t, s.Create(ctx, "minio-key-1", []byte(value)))
	ev.next(t, "login")
	clk.next(t) // the first renewal, never fired

	old := s.client.Token()
	_, err := v.root.Logical().WriteWithContext(ctx, "auth/token/revoke", map[string]any{"token": old})
	must(t, err)
	if got, err := s.Get(ctx, "minio-key-1"); err != nil || string(got) != value {
		t.Fatalf("get with revoked token: %v", err)
	}
	ev.next(t, "login")
	if s.client.Token() == old {
		t.Fatal("token not replaced")
	}
	// The renewal schedule restarted for the new token.
	if w := clk.next(t); w.d != 4*time.Minute {
		t.Fatalf("renewal after %v", w.d)
	}

	// Many requests find the token revoked at once: one login serves all.
	_, err = v.root.Logical().WriteWithContext(ctx, "auth/token/revoke", map[string]any{"token": s.client.Token()})
	must(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if _, err := s.Get(ctx, "minio-key-1"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	logins := 0
	for len(ev) > 0 {
		if e := <-ev; e.kind == "login" {
			logins++
		}
	}
	if logins != 1 {
		t.Fatalf("%d logins for one revoked token", logins)
	}
}

func TestSealed(t *testing.T) {
	v := startVault(t)
	ev := make(events, 64)
	s := v.connect(t, Config{Engine: "kv", AppRole: v.appRole(t, "kes-role", "5m", "minio-key-policy"), StatusPing: 5 * time.Millisecond, hooks: &hooks{event: ev.hook}})
	ctx := t.Context()
	must(t, s.Create(ctx, "minio-key-1", []byte(value)))

	must(t, v.root.Sys().SealWithContext(ctx))
	// KES reports a sealed Vault as not reachable (/v1/ready 504).
	if _, err := s.Status(ctx); !errors.Is(err, kescore.ErrStoreUnreachable) || errors.Is(err, kescore.ErrStoreUnavailable) {
		t.Fatalf("status while sealed: %v, want kescore.ErrStoreUnreachable", err)
	}
	// The health poll notices too.
	e := ev.next(t, "health")
	for e.err == nil {
		e = ev.next(t, "health")
	}
	if !errors.Is(e.err, kescore.ErrStoreUnreachable) {
		t.Fatalf("health poll while sealed: %v, want kescore.ErrStoreUnreachable", e.err)
	}
	if _, err := s.Get(ctx, "minio-key-1"); !errors.Is(err, kescore.ErrStoreUnavailable) {
		t.Fatalf("get while sealed: %v", err)
	}
	if err := s.Create(ctx, "minio-key-2", []byte("x")); !errors.Is(err, kescore.ErrStoreUnavailable) {
		t.Fatalf("create while sealed: %v", err)
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, kescore.ErrStoreUnavailable) {
		t.Fatalf("list while sealed: %v", err)
	}
	if err := s.Delete(ctx, "minio-key-1"); !errors.Is(err, kescore.ErrStoreUnavailable) {
		t.Fatalf("delete while sealed: %v", err)
	}

	if st, err := v.root.Sys().UnsealWithContext(ctx, v.unseal); err != nil || st.Sealed {
		t.Fatalf("unseal: %+v %v", st, err)
	}
	if _, err := s.Status(ctx); err != nil {
		t.Fatalf("status after unseal: %v", err)
	}
	if got, err := s.Get(ctx, "minio-key-1"); err != nil || string(got) != value {
		t.Fatalf("get after unseal: %q %v", got, err)
	}
	must(t, s.Create(ctx, "minio-key-2", []byte("x")))
}

func TestUnreachable(t *testing.T) {
	v := startVault(t)
	s := v.connect(t, Config{Engine: "kv", AppRole: v.appRole(t, "kes-role", "5m", "minio-key-policy")})
	v.srv.Close()
	if _, err := s.Status(t.Context()); !errors.Is(err, kescore.ErrStoreUnreachable) {
		t.Fatalf("status of a stopped vault: %v", err)
	}
}

func TestConnectErrors(t *testing.T) {
	v := startVault(t)
	ctx := t.Context()
	good := v.appRole(t, "kes-role", "5m", "minio-key-policy")
	base := Config{Endpoint: v.srv.URL, CAFile: v.caFile, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	bad := base
	bad.AppRole = AppRoleConfig{ID: good.ID, Secret: "wrong"}
	if _, err := Connect(ctx, bad); err == nil || !strings.Contains(err.Error(), "invalid role or secret ID") {
		t.Fatalf("wrong secret: %v", err)
	}

	noCA := base
	noCA.CAFile, noCA.AppRole = "", good
	if _, err := Connect(ctx, noCA); !errors.Is(err, kescore.ErrStoreUnreachable) {
		t.Fatalf("unknown server CA: %v", err)
	}

	must(t, v.root.Sys().SealWithContext(ctx))
	sealed := base
	sealed.AppRole = good
	if _, err := Connect(ctx, sealed); !errors.Is(err, kescore.ErrStoreUnavailable) {
		t.Fatalf("sealed at connect: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Endpoint: "https://127.0.0.1:8200", AppRole: AppRoleConfig{ID: "i", Secret: "s"}}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // substring of the error, "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"no endpoint", func(c *Config) { c.Endpoint = "" }, "endpoint is empty"},
		{"bad endpoint", func(c *Config) { c.Endpoint = "vault:8200" }, "want https://host:port"},
		{"version", func(c *Config) { c.Version = "v3" }, `K/V version "v3"`},
		{"no role id", func(c *Config) { c.AppRole.ID = "" }, "approle id is empty"},
		{"no secret", func(c *Config) { c.AppRole.Secret = "" }, "approle secret is empty"},
		{"dotdot", func(c *Config) { c.Prefix = "../sys" }, "must not contain '..'"},
		{"half cert", func(c *Config) { c.CertFile = "c.pem" }, "both a certificate and a key"},
		{"negative ping", func(c *Config) { c.StatusPing = -1 }, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
	// Every problem at once.
	if err := (&Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "endpoint") || !strings.Contains(err.Error(), "approle secret") {
		t.Fatalf("joined errors: %v", err)
	}
}

// TestCloseStopsGoroutines: Close returns only after the background work
// ended; no hook runs after it.
func TestCloseStopsGoroutines(t *testing.T) {
	v := startVault(t)
	ev := make(events, 1024)
	var closed, late atomic.Bool
	hook := func(e event) {
		if closed.Load() {
			late.Store(true)
		}
		ev.hook(e)
	}
	cfg := Config{Endpoint: v.srv.URL, CAFile: v.caFile, Engine: "kv", Prefix: "minio", StatusPing: time.Millisecond,
		AppRole: v.appRole(t, "kes-role", "5m", "minio-key-policy"), hooks: &hooks{event: hook},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s, err := Connect(context.Background(), cfg)
	must(t, err)
	ev.next(t, "health")
	must(t, s.Close())
	closed.Store(true)
	must(t, s.Close()) // idempotent
	t.Cleanup(func() {
		if late.Load() {
			t.Error("background work ran after Close")
		}
	})
}

// TestRenewalWhileSealed: renewal against a sealed vault is tried three
// times, then the store logs in again, retrying every AppRole.Retry until
// the vault is unsealed.
func TestRenewalWhileSealed(t *testing.T) {
	v := startVault(t)
	clk, ev := newClock(), make(events, 64)
	role := v.appRole(t, "kes-role", "5m", "minio-key-policy")
	role.Retry = 7 * time.Second
	s := v.connect(t, Config{Engine: "kv", AppRole: role, hooks: &hooks{after: clk.after, event: ev.hook}})
	ctx := t.Context()
	ev.next(t, "login")

	must(t, v.root.Sys().SealWithContext(ctx))
	clk.next(t).fire <- time.Now() // renewal due
	for range renewAttempts - 1 {
		w := clk.next(t)
		if w.d != time.Second {
			t.Fatalf("renew retry after %v", w.d)
		}
		w.fire <- time.Now()
	}
	if e := ev.next(t, "renew-failed"); !errors.Is(e.err, kescore.ErrStoreUnavailable) {
		t.Fatalf("renew-failed: %v", e.err)
	}
	if e := ev.next(t, "login-failed"); !errors.Is(e.err, kescore.ErrStoreUnavailable) {
		t.Fatalf("login-failed: %v", e.err)
	}
	w := clk.next(t)
	if w.d != 7*time.Second {
		t.Fatalf("login retry after %v, want the AppRole retry 7s", w.d)
	}
	if st, err := v.root.Sys().UnsealWithContext(ctx, v.unseal); err != nil || st.Sealed {
		t.Fatalf("unseal: %v", err)
	}
	w.fire <- time.Now()
	ev.next(t, "login")
	if w := clk.next(t); w.d != 4*time.Minute {
		t.Fatalf("renewal after %v", w.d)
	}
	must(t, s.Create(ctx, "minio-key-1", []byte(value)))
}
