package certs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/caddyserver/certmagic"

	"github.com/kmsbox/kmsbox/internal/atomicfile"
)

// ensurePrivateDir creates dir with mode 0700, or tightens an existing one.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("certs: %s is not a directory", dir)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("certs: %w", err)
		}
	}
	return nil
}

// exportCA writes the public CA certificate (0644) for clients, atomically,
// unless it already holds exactly certPEM.
func exportCA(path string, certPEM []byte) error {
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, certPEM) {
		return nil
	}
	if err := atomicfile.WriteFile(path, certPEM, 0o644); err != nil {
		return fmt.Errorf("certs: export CA certificate: %w", err)
	}
	return nil
}

// storeSynced stores a key or certificate through certmagic's FileStorage, which fsyncs
// the file before renaming it into place, and then fsyncs its directory: only then is the
// rename durable, and a private key is relied on (served, handed to clients) right after.
func storeSynced(ctx context.Context, st *certmagic.FileStorage, key string, value []byte) error {
	if err := st.Store(ctx, key, value); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(st.Filename(key)))
}

// tightenFile makes sure a key or identity file is readable by its owner
// only.
func tightenFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if fi.Mode().Perm() != 0o600 {
		if err := os.Chmod(path, 0o600); err != nil {
			return fmt.Errorf("certs: %w", err)
		}
	}
	return nil
}
