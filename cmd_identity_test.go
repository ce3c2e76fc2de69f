package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func identityOf(t *testing.T, certFile string) string {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", certFile)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

func TestIdentityCommands(t *testing.T) {
	dir := t.TempDir()
	key, crt := filepath.Join(dir, "c.key"), filepath.Join(dir, "c.crt")

	out, _, err := runApp(t, "identity", "new", "--key", key, "--cert", crt, "--time", "1h", "alice")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	if id != identityOf(t, crt) {
		t.Errorf("identity new printed %s, the certificate's identity is %s", id, identityOf(t, crt))
	}
	if out, _, err := runApp(t, "identity", "of", crt); err != nil || strings.TrimSpace(out) != id {
		t.Errorf("identity of = %q, %v; want %s", out, err, id)
	}
	for name, want := range map[string]os.FileMode{key: 0o600, crt: 0o644} {
		if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, mode %v, want %v", name, err, fi.Mode().Perm(), want)
		}
	}

	// No overwrite without --force, and the files stay as they were.
	keyBefore, _ := os.ReadFile(key)
	crtBefore, _ := os.ReadFile(crt)
	_, _, err = runApp(t, "identity", "new", "--key", key, "--cert", crt, "alice")
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("identity new over existing files: err = %v, want a hint at --force", err)
	}
	keyAfter, _ := os.ReadFile(key)
	crtAfter, _ := os.ReadFile(crt)
	if !bytes.Equal(keyBefore, keyAfter) || !bytes.Equal(crtBefore, crtAfter) {
		t.Error("a refused identity new changed the files")
	}
	// With a fresh key path but the old cert path it must not leave a half identity either.
	_, _, err = runApp(t, "identity", "new", "--key", filepath.Join(dir, "other.key"), "--cert", crt, "alice")
	if err == nil {
		t.Error("identity new over an existing certificate succeeded without --force")
	}
	if _, err := os.Stat(filepath.Join(dir, "other.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused identity new left a private key without its certificate behind (%v)", err)
	}

	// --force over a key file someone widened must leave a 0600 key, not keep the old mode.
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = runApp(t, "identity", "new", "--key", key, "--cert", crt, "--force", "alice")
	if err != nil {
		t.Fatalf("identity new --force: %v", err)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("identity new --force over a 0644 key: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
	if id2 := strings.TrimSpace(out); id2 == id || id2 != identityOf(t, crt) {
		t.Errorf("identity new --force printed %s (old %s, certificate %s)", id2, id, identityOf(t, crt))
	}

	_, _, err = runApp(t, "identity", "new")
	var ec cli.ExitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 2 {
		t.Errorf("identity new without NAME: err = %v, want exit code 2", err)
	}
	if _, _, err := runApp(t, "identity", "of", filepath.Join(dir, "missing.crt")); err == nil {
		t.Error("identity of a missing file succeeded")
	}
	if _, _, err := runApp(t, "identity", "of", key); err == nil {
		t.Error("identity of a private key succeeded")
	}
}

// TestIdentityNewNameFirst is the word order of issue 2 (and of the kes CLI):
// `identity new NAME --key F --cert F --time D`.
func TestIdentityNewNameFirst(t *testing.T) {
	dir := t.TempDir()
	key, crt := filepath.Join(dir, "c.key"), filepath.Join(dir, "c.crt")
	out, _, err := runApp(t, "identity", "new", "alice", "--key", key, "--cert", crt, "--time", "1h")
	if err != nil {
		t.Fatalf("identity new NAME --key --cert --time: %v", err)
	}
	if id := strings.TrimSpace(out); id != identityOf(t, crt) {
		t.Errorf("identity new printed %s, the certificate's identity is %s", id, identityOf(t, crt))
	}
}
