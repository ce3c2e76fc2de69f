package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServerRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"log-format", []string{"--log-format", "xml"}, nil, `--log-format "xml": want text or json`},
		{"log-level", []string{"--log-level", "loud"}, nil, `--log-level "loud"`},
		{"auto-encryption", nil, map[string]string{"MINIO_KMS_AUTO_ENCRYPTION": "maybe"}, "MINIO_KMS_AUTO_ENCRYPTION"},
		{"acme-ca alone", []string{"--acme-ca", "https://acme.example/dir"}, nil, "--acme-domain"},
		{"bad seed", []string{"--dev", "--seed", "appliance/seed/testdata/bad/duplicate-bucket.yaml"}, nil,
			"--seed:\nappliance/seed/testdata/bad/duplicate-bucket.yaml:5:13: s3.buckets[2].name: duplicate bucket \"data\" (first at line 3)"},
		{"missing seed", []string{"--dev", "--seed", "no-such-seed.yaml"}, nil, "no-such-seed.yaml: no such file"},
		{"seed without dev", []string{"--seed", "appliance/seed/testdata/example.yaml"}, nil, "--seed needs --dev"},
		{"deterministic without dev", []string{"--deterministic", "x"}, nil, "--deterministic needs --dev"},
		{"secret key twice", nil, map[string]string{"MINIO_KMS_SECRET_KEY": "k:AAAA", "MINIO_KMS_SECRET_KEY_FILE": "/nonexistent"}, "mutually exclusive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			dir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"server", "--data-dir", dir,
				"--vault-addr", "127.0.0.1:0", "--kes-addr", "127.0.0.1:0", "--s3-addr", "127.0.0.1:0", "--console-addr", ""}, tc.args...)
			_, _, err := runApp(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused start touched the data dir (%v)", err)
			}
		})
	}
}
