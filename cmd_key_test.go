package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmsbox/kmsbox/appliance"
)

// TestKeyCommands drives `kmsbox key ...` the way the guide types `kes key ...`, against a
// real dev appliance over mTLS, with the identity taken from the environment variables of
// each era (KES_CLIENT_CERT/KEY and the guide's KES_CLIENT_TLS_*_FILE).
func TestKeyCommands(t *testing.T) {
	dir := t.TempDir()
	a := serveAppliance(t, appliance.Config{DataDir: dir, Dev: true, KESAddr: "127.0.0.1:0"})
	certDir := filepath.Join(dir, "certs")

	kmsbox := func(t *testing.T, env map[string]string, args ...string) (string, error) {
		t.Helper()
		for k, v := range env {
			t.Setenv(k, v)
		}
		var out, errOut bytes.Buffer
		err := run(&out, &errOut, append([]string{"kmsbox"}, args...))
		return out.String(), err
	}
	admin := map[string]string{
		"KES_SERVER":           a.URL("kes"),
		"KES_CLIENT_CERT":      filepath.Join(certDir, "admin.crt"),
		"KES_CLIENT_KEY":       filepath.Join(certDir, "admin.key"),
		"MINIO_KMS_KES_CAPATH": a.CAFile(),
	}
	// The guide's 2020 variable names, the MinIO identity and -k instead of a CA.
	guide := map[string]string{
		"KES_SERVER":               a.URL("kes"),
		"KES_CLIENT_CERT":          "",
		"KES_CLIENT_KEY":           "",
		"MINIO_KMS_KES_CAPATH":     "",
		"KES_CLIENT_TLS_CERT_FILE": filepath.Join(certDir, "minio.crt"),
		"KES_CLIENT_TLS_KEY_FILE":  filepath.Join(certDir, "minio.key"),
	}

	t.Run("guide step 4.3", func(t *testing.T) {
		if _, err := kmsbox(t, guide, "key", "create", "minio-key-2", "-k"); err != nil {
			t.Fatalf("key create minio-key-2 -k: %v", err)
		}
		_, err := kmsbox(t, guide, "key", "create", "my-key-1", "-k")
		if err == nil || err.Error() != "not authorized: insufficient permissions" {
			t.Fatalf("key create my-key-1: err = %v, want KES's not-authorized message", err)
		}
		_, err = kmsbox(t, guide, "key", "create", "minio-key-2", "-k")
		if err == nil || err.Error() != "key already exists" {
			t.Fatalf("duplicate create: err = %v", err)
		}
		// Without -k the server certificate is checked, and no CA was given.
		if _, err := kmsbox(t, guide, "key", "create", "minio-key-3"); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("create without -k or CA: err = %v, want a certificate error", err)
		}
	})

	t.Run("admin", func(t *testing.T) {
		out, err := kmsbox(t, admin, "key", "ls")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(out); strings.Join(got, ",") != "minio-key-1,minio-key-2" {
			t.Fatalf("key ls = %q", got)
		}
		out, err = kmsbox(t, admin, "key", "describe", "minio-key-2")
		if err != nil || !strings.Contains(out, `"name": "minio-key-2"`) {
			t.Fatalf("describe: %q, %v", out, err)
		}

		assoc := base64.StdEncoding.EncodeToString([]byte(`{"bucket":"bucket/object"}`))
		out, err = kmsbox(t, admin, "key", "generate", "minio-key-1", assoc)
		if err != nil {
			t.Fatal(err)
		}
		var dek struct{ Plaintext, Ciphertext []byte }
		if err := json.Unmarshal([]byte(out), &dek); err != nil || len(dek.Plaintext) != 32 {
			t.Fatalf("generate output %q: %v", out, err)
		}
		ct := base64.StdEncoding.EncodeToString(dek.Ciphertext)
		out, err = kmsbox(t, admin, "key", "decrypt", "minio-key-1", ct, assoc)
		if err != nil {
			t.Fatal(err)
		}
		var pt struct{ Plaintext []byte }
		if err := json.Unmarshal([]byte(out), &pt); err != nil || !bytes.Equal(pt.Plaintext, dek.Plaintext) {
			t.Fatalf("decrypt = %q, %v; want the generated data key", out, err)
		}
		_, err = kmsbox(t, admin, "key", "decrypt", "minio-key-1", ct)
		if err == nil || err.Error() != "decryption failed: ciphertext is not authentic" {
			t.Fatalf("decrypt without the context: err = %v", err)
		}

		if _, err := kmsbox(t, admin, "key", "rm", "minio-key-2"); err != nil {
			t.Fatal(err)
		}
		_, err = kmsbox(t, admin, "key", "describe", "minio-key-2")
		if err == nil || err.Error() != "key does not exist" {
			t.Fatalf("describe deleted key: err = %v", err)
		}
		// As `kes key rm` against KES: deleting a missing key succeeds silently.
		if out, err := kmsbox(t, admin, "key", "rm", "minio-key-2"); err != nil || out != "" {
			t.Fatalf("key rm of a deleted key = %q, %v; want no output and no error", out, err)
		}
	})

	t.Run("usage", func(t *testing.T) {
		if _, err := kmsbox(t, admin, "key", "create"); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Fatalf("key create without NAME: err = %v", err)
		}
		if _, err := kmsbox(t, admin, "key", "generate", "minio-key-1", "not base64!"); err == nil || !strings.Contains(err.Error(), "base64") {
			t.Fatalf("bad context: err = %v", err)
		}
		noIdentity := map[string]string{"KES_CLIENT_CERT": "", "KES_CLIENT_KEY": ""}
		if _, err := kmsbox(t, noIdentity, "key", "ls"); err == nil || !strings.Contains(err.Error(), "KES_CLIENT_CERT") {
			t.Fatalf("no identity: err = %v", err)
		}
	})
}
