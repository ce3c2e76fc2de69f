package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/embeddedvault"
)

// TestCheckCommand: a dev store checks clean with the dev unseal file, structure-only
// without it (and says so), and a store a server holds is refused.
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := embeddedvault.Config{Path: filepath.Join(dir, "vault.db"), Dev: true,
		DevKeyFile: filepath.Join(dir, "vault-dev-INSECURE-unseal.json"), Logger: slog.New(slog.DiscardHandler)}
	srv, err := embeddedvault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = runApp(t, "check", "--data-dir", dir)
	var ec cli.ExitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 2 || !strings.Contains(err.Error(), "in use by a running kmsbox") {
		t.Errorf("check of a data dir in use: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	out, _, err := runApp(t, "check", "--data-dir", dir)
	if err != nil || !strings.HasSuffix(out, "ok\n") || strings.Contains(out, "note: no unseal key") {
		t.Errorf("check of a stopped dev store: %v\n%s", err, out)
	}
	out, _, err = runApp(t, "check", "--data-dir", dir, "--unseal-key", "AAAA")
	if !errors.As(err, &ec) || ec.ExitCode() != 2 {
		t.Errorf("check with a wrong key: %v\n%s", err, out)
	}
}
