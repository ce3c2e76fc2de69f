package main

import (
	"log/slog"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/appliance"
)

// TestServerAutoEncryptFlag: an explicitly false --auto-encrypt (flag or its env var) turns
// auto-encryption off even with --dev; unset leaves it to --dev.
func TestServerAutoEncryptFlag(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		env      string // KMSBOX_AUTO_ENCRYPT
		auto, no bool
	}{
		{"unset", nil, "", false, false},
		{"dev", []string{"--dev"}, "", false, false},
		{"true", []string{"--auto-encrypt"}, "", true, false},
		{"dev false", []string{"--dev", "--auto-encrypt=false"}, "", false, true},
		{"env false", []string{"--dev"}, "false", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("MINIO_KMS_AUTO_ENCRYPTION", "")
			if tc.env != "" {
				t.Setenv("KMSBOX_AUTO_ENCRYPT", tc.env)
			}
			var cfg appliance.Config
			cmd := serverCommand()
			cmd.Action = func(c *cli.Context) (err error) {
				cfg, err = serverConfig(c, slog.New(slog.DiscardHandler))
				return err
			}
			app := &cli.App{Commands: []*cli.Command{cmd}}
			if err := app.Run(append([]string{"kmsbox", "server"}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			if cfg.S3.AutoEncrypt != tc.auto || cfg.S3.NoAutoEncrypt != tc.no {
				t.Errorf("AutoEncrypt %v NoAutoEncrypt %v, want %v %v", cfg.S3.AutoEncrypt, cfg.S3.NoAutoEncrypt, tc.auto, tc.no)
			}
		})
	}
}
