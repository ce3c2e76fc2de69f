package kescore

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"
)

func TestMemKeyStore(t *testing.T) {
	var m MemKeyStore // the zero value is ready for use
	c := context.Background()
	if err := m.Create(c, "b", []byte("rec-b")); err != nil {
		t.Fatal(err)
	}
	val := []byte("rec-a")
	if err := m.Create(c, "a", val); err != nil {
		t.Fatal(err)
	}
	val[0] = 'X' // the store keeps its own copy
	if err := m.Create(c, "a", []byte("again")); !errors.Is(err, ErrKeyExists) {
		t.Errorf("second Create = %v, want ErrKeyExists", err)
	}
	if got, err := m.Get(c, "a"); err != nil || string(got) != "rec-a" {
		t.Errorf("Get = %q, %v", got, err)
	}
	if names, err := m.List(c, ""); err != nil || !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("List = %q, %v", names, err)
	}
	if err := m.Delete(c, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(c, "a"); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Get after Delete = %v", err)
	}
	if err := m.Delete(c, "a"); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("second Delete = %v", err)
	}

	m.SetDown(ErrStoreUnreachable)
	if _, err := m.Status(c); !errors.Is(err, ErrStoreUnreachable) {
		t.Errorf("Status while down = %v", err)
	}
	if _, err := m.Get(c, "b"); !errors.Is(err, ErrStoreUnreachable) {
		t.Errorf("Get while down = %v", err)
	}
	m.SetDown(nil)
	if _, err := m.Status(c); err != nil {
		t.Errorf("Status back up = %v", err)
	}
	done, cancel := context.WithCancel(c)
	cancel()
	if err := m.Create(done, "c", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a done context = %v", err)
	}
}

// TestImportKeyInProcess imports the all-zero key of KES's published vectors in process and
// opens a real KES ciphertext with it.
func TestImportKeyInProcess(t *testing.T) {
	srv, err := Open(context.Background(), Config{Store: NewMemKeyStore(), Logger: slog.New(slog.DiscardHandler), ProbeInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.ImportKey(ctx(t), "kes-aes", make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if err := srv.ImportKey(ctx(t), "kes-aes", make([]byte, 32)); !errors.Is(err, ErrKeyExists) {
		t.Errorf("import twice = %v, want ErrKeyExists", err)
	}
	if err := srv.ImportKey(ctx(t), "short", make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was imported")
	}
	if err := srv.ImportKey(ctx(t), "a/b", make([]byte, 32)); !errors.Is(err, ErrInvalidName) {
		t.Errorf("import a/b = %v, want ErrInvalidName", err)
	}
	raw, _ := base64.StdEncoding.DecodeString("zwdDgHeRlIFRnJ7+DIhs/ka7GFK2CFSfDELqg1VCyTQzZ58o7MAdupMLk3ZjlMo2ZUDwldL2o41nAWDc")
	if p, err := srv.Decrypt(ctx(t), "kes-aes", raw, nil); err != nil || !bytes.Equal(p, make([]byte, 16)) {
		t.Errorf("KES vector under the imported key: %x, %v", p, err)
	}
	if ki, err := srv.DescribeKey(ctx(t), "kes-aes"); err != nil || ki.Algorithm != "AES256" {
		t.Errorf("DescribeKey = %+v, %v", ki, err)
	}
}

func TestOpenWithDoneContext(t *testing.T) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Open(c, Config{Store: NewMemKeyStore()}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a done context = %v, want context.Canceled", err)
	}
}

// TestMemKeyStoreDeleteZeroes: a deleted record's bytes (key material) do not linger.
func TestMemKeyStoreDeleteZeroes(t *testing.T) {
	var m MemKeyStore
	c := context.Background()
	if err := m.Create(c, "k", []byte("secret key material")); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	stored := m.keys["k"]
	m.mu.Unlock()
	if err := m.Delete(c, "k"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, make([]byte, len(stored))) {
		t.Errorf("deleted record still holds %q", stored)
	}
}
