package certs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/certmagic"
)

func TestEnsurePrivateDir(t *testing.T) {
	dir := t.TempDir()
	loose := filepath.Join(dir, "loose")
	if err := os.Mkdir(loose, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ensurePrivateDir(loose); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(loose); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("existing dir after ensurePrivateDir: %v %v, want 0700", fi.Mode(), err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ensurePrivateDir(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("ensurePrivateDir on a file: %v", err)
	}
	if err := ensurePrivateDir(filepath.Join(file, "sub")); err == nil {
		t.Fatal("ensurePrivateDir below a file succeeded")
	}
}

func TestTightenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "id.key")
	if err := os.WriteFile(path, []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tightenFile(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after tightenFile: %v %v, want 0600", fi.Mode(), err)
	}
	if err := tightenFile(path + ".missing"); err == nil {
		t.Fatal("tightenFile of a missing file succeeded")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ca.pem")
	if err := exportCA(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := exportCA(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if fi, serr := os.Stat(path); err != nil || serr != nil || string(got) != "two" || fi.Mode().Perm() != 0o644 {
		t.Fatalf("exported CA = %q (%v, %v), want \"two\" mode 0644", got, err, serr)
	}
	if err := exportCA(filepath.Join(dir, "missing", "ca.pem"), []byte("x")); err == nil || !strings.Contains(err.Error(), "export CA certificate") {
		t.Fatalf("exportCA into a missing directory: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %v (%v), want only ca.pem: no temporary files left", entries, err)
	}
}

func TestStoreSynced(t *testing.T) {
	dir := t.TempDir()
	st := &certmagic.FileStorage{Path: dir}
	ctx := context.Background()
	for _, v := range []string{"first key", "second key"} {
		if err := storeSynced(ctx, st, "pki/server.key", []byte(v)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "pki", "server.key"))
		fi, serr := os.Stat(filepath.Join(dir, "pki", "server.key"))
		if err != nil || serr != nil || string(got) != v || fi.Mode().Perm() != 0o600 {
			t.Fatalf("stored key = %q (%v, %v), want %q mode 0600", got, err, serr, v)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "pki")); err != nil || len(entries) != 1 {
		t.Fatalf("pki/ holds %v (%v), want only server.key: no temporary files left", entries, err)
	}
	// A key that cannot be stored is an error, not a sync of some other directory.
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := storeSynced(ctx, st, "file/x.key", []byte("k")); err == nil {
		t.Fatal("storing below a file succeeded")
	}
}
