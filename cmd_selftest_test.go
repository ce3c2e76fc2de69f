package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/kmsbox/kmsbox/appliance"
)

// serveAppliance opens an appliance with cfg and serves it until the test ends.
func serveAppliance(t *testing.T, cfg appliance.Config) *appliance.Appliance {
	t.Helper()
	a, err := appliance.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return a
}

// `kmsbox selftest` and `kmsbox reset` against a dev server, with the env file's settings;
// the environment wins over the file.
func TestSelftestAndResetCommands(t *testing.T) {
	dir := t.TempDir()
	serveAppliance(t, appliance.Config{DataDir: dir, Dev: true,
		VaultAddr: "127.0.0.1:0", KESAddr: "127.0.0.1:0", S3Addr: "127.0.0.1:0"})
	out, _, err := runApp(t, "selftest", "--data-dir", dir)
	if err != nil {
		t.Fatalf("selftest: %v\n%s", err, out)
	}
	for _, want := range []string{"ok    vault status", "ok    vault kv write/read", "ok    kes key", "ok    vault transit encrypt/decrypt (transit-key-1)", "ok    s3 put/get", "selftest: all 5 checks passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("selftest output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runApp(t, "reset", "--data-dir", dir)
	if err != nil || !strings.HasPrefix(out, "reset in ") {
		t.Errorf("reset: %q, %v", out, err)
	}

	// An env file with a wrong S3 secret and root token.
	raw, err := os.ReadFile(appliance.EnvFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	vars, err := parseEnvFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vars {
		if v.name == "AWS_SECRET_ACCESS_KEY" || v.name == "VAULT_TOKEN" {
			vars[i].value = "wrong"
		}
	}
	wrong, _ := formatEnv(vars, "shell")
	dir2 := t.TempDir()
	if err := os.WriteFile(appliance.EnvFile(dir2), wrong, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runApp(t, "selftest", "--data-dir", dir2)
	if err == nil || !strings.Contains(err.Error(), "3 of 5 checks failed") || !strings.Contains(out, "FAIL  s3 put/get") || !strings.Contains(out, "ok    kes key") {
		t.Errorf("selftest with a wrong S3 secret and token: %v\n%s", err, out)
	}
	if _, _, err := runApp(t, "reset", "--env-file", appliance.EnvFile(dir2)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("reset with a wrong token: %v, want 403", err)
	}
	if _, _, err := runApp(t, "selftest", "--data-dir", t.TempDir(), "--env-file", dir+"/none.env"); err == nil || !strings.Contains(err.Error(), "no env file") {
		t.Errorf("selftest without an env file: %v", err)
	}
}
