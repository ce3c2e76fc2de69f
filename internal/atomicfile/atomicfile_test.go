package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// names lists dir, so a test can tell that no temporary file was left behind.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "unseal.json")
	for _, c := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{"new private file", []byte(`{"unseal_key":"a2V5"}`), 0o600},
		{"replaced, mode narrowed", []byte("second"), 0o600},
		{"public file", []byte("ca"), 0o644},
		{"empty", nil, 0o600},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := WriteFile(name, c.data, c.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(name)
			if err != nil || !bytes.Equal(got, c.data) {
				t.Fatalf("content %q, %v; want %q", got, err, c.data)
			}
			fi, err := os.Stat(name)
			if err != nil || fi.Mode().Perm() != c.perm {
				t.Fatalf("mode %v, %v; want %v", fi.Mode().Perm(), err, c.perm)
			}
			if got := names(t, dir); !slices.Equal(got, []string{"unseal.json"}) {
				t.Fatalf("directory holds %q, want only unseal.json", got)
			}
		})
	}
	// An existing world-readable file does not lend its mode to the new one.
	if err := os.Chmod(name, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(name, []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(name); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v after replacing a 0644 file, want 0600", fi.Mode().Perm())
	}
}

func TestWriteFileFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	// The rename fails: the target is a non-empty directory.
	target := filepath.Join(dir, "taken")
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(target, []byte("secret"), 0o600); err == nil {
		t.Fatal("WriteFile over a directory succeeded")
	}
	if got := names(t, dir); !slices.Equal(got, []string{"taken"}) {
		t.Fatalf("directory holds %q after a failed write, want only taken", got)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("WriteFile into a missing directory succeeded")
	}
}

func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("SyncDir of a missing directory succeeded")
	}
}
