package vaultstore

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/kmsbox/kmsbox/internal/testutil"
)

// TestLogsCarryNoSecrets: at debug level, neither a failed nor a good
// login, nor key traffic, logs the secret ID, the Vault token or a key
// record.
func TestLogsCarryNoSecrets(t *testing.T) {
	v := startVault(t)
	ctx := t.Context()
	good := v.appRole(t, "kes-role", "5m", "minio-key-policy")
	var logs testutil.SyncBuffer
	cfg := Config{Endpoint: v.srv.URL, CAFile: v.caFile, Engine: "kv", Prefix: "minio",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}

	const wrongSecret = "0d5c3a7e-wrong-secret-id"
	bad := cfg
	bad.AppRole = AppRoleConfig{ID: good.ID, Secret: wrongSecret}
	if _, err := Connect(ctx, bad); err == nil {
		t.Fatal("login with a wrong secret ID succeeded")
	}

	cfg.AppRole = good
	s, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	token := s.client.Token()
	must(t, s.Create(ctx, "my-key", []byte(value)))
	if _, err := s.Get(ctx, "my-key"); err != nil {
		t.Fatal(err)
	}
	must(t, s.Close())

	out := logs.String()
	if !strings.Contains(out, "AppRole login failed") || !strings.Contains(out, "logged in to Vault with AppRole") {
		t.Fatalf("expected login records missing from:\n%s", out)
	}
	for what, secret := range map[string]string{"secret ID": good.Secret, "wrong secret ID": wrongSecret, "token": token, "key record": value} {
		if secret == "" || strings.Contains(out, secret) {
			t.Errorf("log shows the %s %q:\n%s", what, secret, out)
		}
	}
}
