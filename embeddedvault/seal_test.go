package embeddedvault

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

func TestInitUnsealKVv1RoundTrip(t *testing.T) {
	tv := startVault(t, testConfig(t))
	res := tv.initUnseal(5, 3)
	if !strings.HasPrefix(res.RootToken, "hvs.") || len(res.Keys) != 5 || len(res.KeysB64) != 5 {
		t.Fatalf("init response: %+v", res)
	}
	c := tv.client(res.RootToken)
	if err := c.Sys().Mount("kv", &api.MountInput{Type: "kv"}); err != nil {
		t.Fatalf("mount: %v", err)
	}
	if _, err := c.Logical().Write("kv/minio/k1", map[string]any{"k1": "secret-value"}); err != nil {
		t.Fatalf("write: %v", err)
	}
	sec, err := c.Logical().Read("kv/minio/k1")
	if err != nil || sec == nil || sec.Data["k1"] != "secret-value" {
		t.Fatalf("read = %+v, %v", sec, err)
	}
	if sec.LeaseDuration != 2764800 {
		t.Errorf("lease_duration = %d, want 2764800", sec.LeaseDuration)
	}
	l, err := c.Logical().List("kv/minio")
	if err != nil || l == nil {
		t.Fatalf("list = %v, %v", l, err)
	}
	if keys := l.Data["keys"].([]any); len(keys) != 1 || keys[0] != "k1" {
		t.Fatalf("keys = %v", keys)
	}
	if _, err := c.Logical().Delete("kv/minio/k1"); err != nil {
		t.Fatal(err)
	}
	if sec, err := c.Logical().Read("kv/minio/k1"); err != nil || sec != nil {
		t.Fatalf("read after delete = %v, %v", sec, err)
	}
}

func TestSealedRejectsAndReopenIsSealed(t *testing.T) {
	cfg := testConfig(t)
	tv := startVault(t, cfg)
	if st, err := tv.srv.SealState(context.Background()); err != nil || st != (SealState{Sealed: true}) {
		t.Fatalf("SealState before init = %+v, %v", st, err)
	}
	res := tv.initUnseal(5, 3)
	if st, err := tv.srv.SealState(context.Background()); err != nil || st != (SealState{Initialized: true, Shares: 5, Threshold: 3}) {
		t.Fatalf("SealState after unseal = %+v, %v", st, err)
	}
	c := tv.client(res.RootToken)
	if err := c.Sys().Mount("kv", &api.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("kv/a", map[string]any{"x": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().Seal(); err != nil {
		t.Fatalf("seal: %v", err)
	}
	_, err := c.Logical().Read("kv/a")
	var re *api.ResponseError
	if !asResponseError(err, &re) || re.StatusCode != http.StatusServiceUnavailable || len(re.Errors) != 1 || re.Errors[0] != "Vault is sealed" {
		t.Fatalf("sealed read err = %v", err)
	}
	if st, _ := tv.srv.SealState(context.Background()); !st.Sealed || !st.Initialized || st.Shares != 5 {
		t.Fatalf("SealState after seal = %+v", st)
	}
	tv.stop()

	tv2 := startVault(t, cfg)
	if !tv2.srv.Sealed() {
		t.Fatal("reopened store is not sealed")
	}
	c2 := tv2.client(res.RootToken)
	for _, k := range []string{res.KeysB64[4], res.Keys[2], res.KeysB64[1]} {
		if _, err := c2.Sys().Unseal(k); err != nil {
			t.Fatalf("unseal: %v", err)
		}
	}
	sec, err := c2.Logical().Read("kv/a")
	if err != nil || sec == nil || sec.Data["x"] != "1" {
		t.Fatalf("read after reopen = %v, %v", sec, err)
	}
}

func TestVaultFileHasNoPlaintext(t *testing.T) {
	cfg := testConfig(t)
	tv := startVault(t, cfg)
	c := tv.client("")
	res, err := c.Sys().Init(&api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := base64.StdEncoding.DecodeString(res.KeysB64[0])
	if _, err := c.Sys().Unseal(res.KeysB64[0]); err != nil {
		t.Fatal(err)
	}
	ring := *tv.srv.barrier.ring
	var ringKeys [][]byte
	for _, k := range ring.Keys {
		ringKeys = append(ringKeys, append([]byte(nil), k...))
	}
	c.SetToken(res.RootToken)
	if err := c.Sys().Mount("kv", &api.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	secret := "SUPER-SECRET-PLAINTEXT-0123456789"
	if _, err := c.Logical().Write("kv/minio/key1", map[string]any{"key1": secret}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("minio-key-policy", `path "kv/minio/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	tv.stop()
	db, err := os.ReadFile(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	needles := map[string][]byte{
		"secret":          []byte(secret),
		"root token":      []byte(res.RootToken),
		"root key":        root,
		"root key b64":    []byte(res.KeysB64[0]),
		"root key hex":    []byte(res.Keys[0]),
		"policy text":     []byte("kv/minio/*"),
		"secret path key": []byte("key1\""),
	}
	for i, k := range ringKeys {
		needles["keyring key"+string(rune('0'+i))] = k
		needles["keyring key b64"+string(rune('0'+i))] = []byte(base64.StdEncoding.EncodeToString(k))
	}
	for name, n := range needles {
		if bytes.Contains(db, n) {
			t.Errorf("vault.db contains the %s in plaintext", name)
		}
	}
}

func asResponseError(err error, re **api.ResponseError) bool {
	return err != nil && errorsAs(err, re)
}

func TestInternalKVAPI(t *testing.T) {
	tv := startVault(t, testConfig(t))
	ctx := context.Background()
	if err := tv.srv.EnsureKVMount(ctx, "kes"); err != ErrSealed {
		t.Fatalf("sealed EnsureKVMount = %v", err)
	}
	tv.initUnseal(1, 1)
	s := tv.srv
	if err := s.EnsureKVMount(ctx, "kes"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureKVMount(ctx, "kes/"); err != nil {
		t.Fatalf("second EnsureKVMount: %v", err)
	}
	if err := s.KVCreate(ctx, "kes/minio-key-1", map[string]any{"minio-key-1": "v1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.KVCreate(ctx, "kes/minio-key-1", map[string]any{"minio-key-1": "v2"}); err != ErrExists {
		t.Fatalf("duplicate create = %v", err)
	}
	got, err := s.KVRead(ctx, "kes/minio-key-1")
	if err != nil || got["minio-key-1"] != "v1" {
		t.Fatalf("read = %v, %v", got, err)
	}
	if _, err := s.KVRead(ctx, "kes/missing"); err != ErrNotFound {
		t.Fatalf("read missing = %v", err)
	}
	_ = s.KVCreate(ctx, "kes/other", map[string]any{"other": "x"})
	for prefix, want := range map[string]string{"kes": "minio-key-1,other", "kes/": "minio-key-1,other", "kes/min": "minio-key-1", "kes/zzz": ""} {
		l, err := s.KVList(ctx, prefix)
		if err != nil || strings.Join(l, ",") != want {
			t.Errorf("KVList(%q) = %v, %v; want %s", prefix, l, err, want)
		}
	}
	if err := s.KVDelete(ctx, "kes/minio-key-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.KVDelete(ctx, "kes/minio-key-1"); err != nil {
		t.Fatalf("idempotent delete: %v", err)
	}
	if _, err := s.KVRead(ctx, "kes/minio-key-1"); err != ErrNotFound {
		t.Fatalf("read after delete = %v", err)
	}
	if _, err := s.KVRead(ctx, "nomount/x"); !errorsIs(err, ErrNotKVMount) {
		t.Fatalf("read outside mounts = %v", err)
	}
}

func TestKVCreateIsAtomic(t *testing.T) {
	tv := startVault(t, testConfig(t))
	tv.initUnseal(1, 1)
	ctx := context.Background()
	if err := tv.srv.EnsureKVMount(ctx, "kes"); err != nil {
		t.Fatal(err)
	}
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- tv.srv.KVCreate(ctx, "kes/race", map[string]any{"race": string(rune('a' + i))})
		}()
	}
	created := 0
	for range n {
		switch err := <-errs; err {
		case nil:
			created++
		case ErrExists:
		default:
			t.Fatalf("KVCreate: %v", err)
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent creates succeeded, want 1", created)
	}
}
