package embeddedvault

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

func TestDevModeRestartUnsealsItself(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Path: filepath.Join(dir, "vault.db"), Dev: true, DevRootToken: "dev-root",
		DevKeyFile: filepath.Join(dir, "vault-dev-INSECURE-unseal.json")}
	tv := startVault(t, cfg)
	if tv.srv.Sealed() {
		t.Fatal("dev server sealed after Open")
	}
	token, key := tv.srv.DevCredentials()
	if token != "dev-root" || key == "" {
		t.Fatalf("DevCredentials = %q, %q", token, key)
	}
	fi, err := os.Stat(cfg.DevKeyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	var kf devKeyFile
	raw, _ := os.ReadFile(cfg.DevKeyFile)
	if err := json.Unmarshal(raw, &kf); err != nil || kf.UnsealKey != key || kf.RootToken != "dev-root" || !strings.Contains(kf.Warning, "INSECURE") {
		t.Fatalf("key file content = %s, %v", raw, err)
	}
	c := tv.client(token)
	st, _ := c.Sys().SealStatus()
	if st.T != 1 || st.N != 1 {
		t.Fatalf("dev seal config = %+v", st)
	}
	if err := c.Sys().Mount("kv", &api.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("kv/k", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	tv.stop()

	tv2 := startVault(t, cfg)
	if tv2.srv.Sealed() {
		t.Fatal("dev restart did not unseal")
	}
	if s, err := tv2.client("dev-root").Logical().Read("kv/k"); err != nil || s == nil || s.Data["v"] != "1" {
		t.Fatalf("data after dev restart = %v, %v", s, err)
	}
	tv2.stop()

	// Without Dev the same store opens sealed; the key file unseals it.
	plain := Config{Path: cfg.Path}
	tv3 := startVault(t, plain)
	if !tv3.srv.Sealed() {
		t.Fatal("non-dev open is unsealed")
	}
	if _, err := tv3.client("").Sys().Unseal(key); err != nil || tv3.srv.Sealed() {
		t.Fatalf("unseal with dev key: %v", err)
	}
	if tok, k := tv3.srv.DevCredentials(); tok != "" || k != "" {
		t.Fatal("DevCredentials without Dev")
	}
}

func TestDevModeMissingKeyFile(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Path: filepath.Join(dir, "vault.db"), Dev: true, DevKeyFile: filepath.Join(dir, "k.json")}
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.Remove(cfg.DevKeyFile)
	if s, err := Open(context.Background(), cfg); err == nil {
		s.Close()
		t.Fatal("dev Open without key file succeeded")
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{DefaultLeaseTTL: -1, MaxLeaseTTL: time.Hour, Dev: true, MaxRequestSize: -1, RollbackInterval: -1}.Validate()
	for _, want := range []string{"Path is required", "DefaultLeaseTTL must not be negative", "DevKeyFile is required", "MaxRequestSize", "RollbackInterval must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
	if err := (Config{Path: "x", DefaultLeaseTTL: 2 * time.Hour, MaxLeaseTTL: time.Hour}).Validate(); err == nil {
		t.Error("default > max accepted")
	}
	if err := (Config{Path: "x", DevRootToken: "r"}).Validate(); err == nil {
		t.Error("DevRootToken without Dev accepted")
	}
	if err := (Config{Path: "x"}).Validate(); err != nil {
		t.Errorf("minimal config: %v", err)
	}
}

// TestDevKeyFileStaleTemp: a leftover world-readable temporary file does
// not lend its mode to the written key file.
func TestDevKeyFileStaleTemp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev-keys.json")
	if err := os.WriteFile(path+".tmp", []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeDevKeyFile(path, devKeyFile{Warning: devWarning, UnsealKey: "a2V5", RootToken: "hvs.x"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	var kf devKeyFile
	if raw, err := os.ReadFile(path); err != nil || json.Unmarshal(raw, &kf) != nil || kf.RootToken != "hvs.x" {
		t.Fatalf("key file = %+v, %v", kf, err)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary file left: %v", err)
	}
	if entries, err := os.ReadDir(filepath.Dir(path)); err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %v (%v), want only the key file", entries, err)
	}
}
