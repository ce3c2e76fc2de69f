package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmsbox/kmsbox/appliance"
)

func TestEnvCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing-here")
	_, _, err := runApp(t, "env", "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "no env file in "+dir) || !strings.Contains(err.Error(), "kmsbox server --dev") {
		t.Errorf("env without a data dir: err = %v, want it to name the dir and 'kmsbox server --dev'", err)
	}

	dir = t.TempDir()
	content := "export VAULT_ADDR='https://127.0.0.1:8200'\n"
	if err := os.WriteFile(appliance.EnvFile(dir), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runApp(t, "env", "--data-dir", dir)
	if err != nil || out != content {
		t.Errorf("env printed %q, %v; want the file %q", out, err, content)
	}

	if _, _, err := runApp(t, "cert", "ca", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "no CA") {
		t.Errorf("cert ca without a CA: err = %v", err)
	}
}
