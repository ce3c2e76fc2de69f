package embeddedvault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/sdk/logical"
	bolt "go.etcd.io/bbolt"
)

// damage flips the last byte of the stored value at key, in the bbolt file itself.
func damage(t *testing.T, path, key string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(boltBucket)
		v := append([]byte(nil), bk.Get([]byte(key))...)
		if len(v) == 0 {
			return fmt.Errorf("no entry %s to damage", key)
		}
		v[len(v)-1] ^= 0xff
		return bk.Put([]byte(key), v)
	}); err != nil {
		t.Fatal(err)
	}
}

// storedKeys lists the physical keys under prefix.
func storedKeys(t *testing.T, srv *Server, prefix string) []string {
	t.Helper()
	var out []string
	if err := srv.phys.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(boltBucket).ForEach(func(k, _ []byte) error {
			if strings.HasPrefix(string(k), prefix) {
				out = append(out, string(k))
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// damagedVault is a store with a root token, a policy p1, KV v1 mounts a/ and b/ with a
// secret each, stopped; it returns the config, the unseal key and the root token.
func damagedVault(t *testing.T) (Config, string, string, *testVault) {
	t.Helper()
	cfg := testConfig(t)
	tv := startVault(t, cfg)
	res := tv.initUnseal(1, 1)
	c := tv.client(res.RootToken)
	if err := c.Sys().PutPolicy("p1", `path "a/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"a", "b"} {
		if err := c.Sys().Mount(m, &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write(m+"/s", map[string]any{"v": m}); err != nil {
			t.Fatal(err)
		}
	}
	return cfg, res.KeysB64[0], res.RootToken, tv
}

func restartUnsealed(t *testing.T, cfg Config, key string) *testVault {
	t.Helper()
	tv := startVault(t, cfg)
	if _, err := tv.client("").Sys().Unseal(key); err != nil {
		t.Fatalf("unseal after damage: %v", err)
	}
	return tv
}

func statusOfErr(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// TestDamagedEntry: a damaged policy, token or KV entry is an error for that entry;
// the vault unseals and everything else serves. Check finds the damage, repair moves it
// aside, and the store then checks clean.
func TestDamagedEntry(t *testing.T) {
	cfg, key, root, tv := damagedVault(t)
	other, err := tv.client(root).Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"p1"}})
	if err != nil {
		t.Fatal(err)
	}
	tokenKey := tokenIDPrefix + tv.srv.state.Load().tokens.hash(other.Auth.ClientToken)
	if got := storedKeys(t, tv.srv, tokenKey); len(got) != 1 {
		t.Fatalf("token entry %s not found: %v", tokenKey, got)
	}
	if _, err := tv.client(root).Logical().Write("b/t", map[string]any{"v": "t"}); err != nil {
		t.Fatal(err)
	}
	kvKey := tv.srv.state.Load().mounts.find(tableSecret, "b/").storagePrefix() + "t"
	tv.stop()
	damage(t, cfg.Path, policyPrefix+"p1")
	damage(t, cfg.Path, tokenKey)
	damage(t, cfg.Path, kvKey)

	tv = restartUnsealed(t, cfg, key)
	c := tv.client(root)
	if _, err := c.Sys().GetPolicy("p1"); statusOfErr(err) != http.StatusInternalServerError || !strings.Contains(err.Error(), `policy "p1"`) {
		t.Errorf("damaged policy: %v", err)
	}
	for _, m := range []string{"a", "b"} {
		if s, err := c.Logical().Read(m + "/s"); err != nil || s.Data["v"] != m {
			t.Errorf("%s/s next to the damage: %v, %v", m, s, err)
		}
	}
	if _, err := c.Logical().Read("b/t"); statusOfErr(err) != http.StatusInternalServerError {
		t.Errorf("damaged KV entry: %v", err)
	}
	if _, err := tv.client(other.Auth.ClientToken).Logical().Read("a/s"); statusOfErr(err) != http.StatusInternalServerError || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged token: %v", err)
	}
	tv.stop()

	shares := [][]byte{mustB64(t, key)}
	rep, err := Check(context.Background(), cfg.Path, shares, false)
	// The policy, the token, the token's accessor that now points nowhere, the KV entry.
	if err != nil || rep.OK() || len(rep.Problems) != 4 {
		t.Fatalf("check of a damaged store: %+v, %v", rep, err)
	}
	if rep, err = Check(context.Background(), cfg.Path, shares, true); err != nil || !rep.OK() || len(rep.Repaired) != 4 {
		t.Fatalf("repair: %+v, %v", rep, err)
	}
	if rep, err = Check(context.Background(), cfg.Path, shares, false); err != nil || !rep.OK() || len(rep.Notes) != 0 {
		t.Fatalf("check after repair: %+v, %v", rep, err)
	}
	tv = restartUnsealed(t, cfg, key)
	if _, err := tv.client(root).Sys().GetPolicy("p1"); err != nil {
		t.Errorf("policy moved aside should be absent: %v", err)
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDamagedMountTable: a mount table that does not read back leaves the builtin mounts
// serving; the other paths, and new mounts, answer an error that names it.
func TestDamagedMountTable(t *testing.T) {
	cfg, key, root, tv := damagedVault(t)
	tv.stop()
	damage(t, cfg.Path, mountTableKey)
	tv = restartUnsealed(t, cfg, key)
	c := tv.client(root)
	if _, err := c.Logical().Read("a/s"); statusOfErr(err) != http.StatusInternalServerError || !strings.Contains(err.Error(), "mount table") {
		t.Errorf("read through a damaged mount table: %v", err)
	}
	if err := c.Sys().Mount("c", &api.MountInput{Type: "kv"}); err == nil || !strings.Contains(err.Error(), "mount table") {
		t.Errorf("mount over a damaged table: %v", err)
	}
	if _, err := c.Auth().Token().LookupSelf(); err != nil {
		t.Errorf("token lookup next to a damaged mount table: %v", err)
	}
	tv.stop()
	rep, err := Check(context.Background(), cfg.Path, [][]byte{mustB64(t, key)}, false)
	if err != nil || rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), mountTableKey) {
		t.Errorf("check: %+v, %v", rep, err)
	}
}

// TestMountCannotStart: one mount whose engine fails to start answers that error; the others serve.
func TestMountCannotStart(t *testing.T) {
	cfg, key, root, tv := damagedVault(t)
	tv.stop()
	tv = startVault(t, cfg)
	tv.srv.build = func(ctx context.Context, e *mountEntry, cfg Config) (logical.Backend, error) {
		if e.Path == "b/" {
			return nil, errors.New("engine broke")
		}
		return newBackend(ctx, e, cfg)
	}
	if _, err := tv.client("").Sys().Unseal(key); err != nil {
		t.Fatalf("unseal with a broken mount: %v", err)
	}
	c := tv.client(root)
	if s, err := c.Logical().Read("a/s"); err != nil || s.Data["v"] != "a" {
		t.Errorf("a/s: %v, %v", s, err)
	}
	if _, err := c.Logical().Read("b/s"); statusOfErr(err) != http.StatusInternalServerError || !strings.Contains(err.Error(), "mount b/ cannot start: engine broke") {
		t.Errorf("b/s: %v", err)
	}
}

// TestDamagedKeyring: a damaged keyring or seal configuration is the exception: unseal
// fails, with a message that names what is damaged and the file.
func TestDamagedKeyring(t *testing.T) {
	cfg, key, _, tv := damagedVault(t)
	tv.stop()
	db, err := bolt.Open(cfg.Path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(boltBucket).Put([]byte(keyringKey), []byte{9, 9}) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	tv = startVault(t, cfg)
	_, err = tv.client("").Sys().Unseal(key)
	if err == nil || !strings.Contains(err.Error(), "keyring") {
		t.Errorf("unseal with a damaged keyring: %v", err)
	}
	if err := tv.srv.unsealWithKey(context.Background(), mustB64(t, key)); err == nil || !strings.Contains(err.Error(), cfg.Path) {
		t.Errorf("the keyring error does not name the file: %v", err)
	}
	tv.stop()
	damage(t, cfg.Path, sealConfigKey)
	tv = startVault(t, cfg)
	if _, err := tv.srv.SealState(context.Background()); err == nil || !strings.Contains(err.Error(), "seal configuration") || !strings.Contains(err.Error(), cfg.Path) {
		t.Errorf("damaged seal config: %v", err)
	}
}

// TestCheckOffline: Check refuses a store a server holds, checks only the structure without
// a key (and says so), and removes orphaned mount data with repair.
func TestCheckOffline(t *testing.T) {
	cfg, key, _, tv := damagedVault(t)
	ctx := context.Background()
	if _, err := Check(ctx, cfg.Path, nil, false); !errors.Is(err, ErrInUse) {
		t.Errorf("check of a store in use: %v", err)
	}
	if err := tv.srv.barrier.Put(ctx, &logical.StorageEntry{Key: "logical/00000000-dead/x", Value: []byte("left")}); err != nil {
		t.Fatal(err)
	}
	tv.stop()
	rep, err := Check(ctx, cfg.Path, nil, false)
	if err != nil || !rep.OK() || len(rep.Notes) != 1 || rep.Entries < 5 {
		t.Errorf("structure-only check: %+v, %v", rep, err)
	}
	shares := [][]byte{mustB64(t, key)}
	if rep, err = Check(ctx, cfg.Path, shares, false); err != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "orphan") {
		t.Errorf("orphan: %+v, %v", rep, err)
	}
	if rep, err = Check(ctx, cfg.Path, shares, true); err != nil || !rep.OK() || len(rep.Repaired) != 1 {
		t.Errorf("orphan repair: %+v, %v", rep, err)
	}
	bad := append([]byte(nil), shares[0]...)
	bad[0] ^= 1
	if _, err := Check(ctx, cfg.Path, [][]byte{bad}, false); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("wrong key: %v", err)
	}
}
