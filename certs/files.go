package certs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
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
	if err := writeFileAtomic(path, certPEM, 0o644); err != nil {
		return fmt.Errorf("certs: export CA certificate: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file in path's directory and
// renames it over path, so readers never see a partial file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
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
