package kescore

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/minio/kms-go/kes"
)

// TestDamagedRecord: a key record that does not parse is an error for that key only: the
// server opens (also with the key in Config.Keys), lists it, and serves every other key.
func TestDamagedRecord(t *testing.T) {
	store := NewMemKeyStore()
	if err := store.Create(context.Background(), "bad", []byte("\x00not a key record")); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) {
		c.Store = store
		c.Keys = []string{"bad", "good"}
	})
	e.store = store
	if _, _, err := e.srv.GenerateKey(ctx(t), "bad", nil); err == nil {
		t.Error("a damaged record generated a data key")
	}
	if _, err := e.srv.DescribeKey(ctx(t), "bad"); err == nil {
		t.Error("a damaged record described")
	}
	pt, ct, err := e.srv.GenerateKey(ctx(t), "good", []byte("ctx"))
	if err != nil {
		t.Fatalf("good key next to a damaged one: %v", err)
	}
	if got, err := e.srv.Decrypt(ctx(t), "good", ct, []byte("ctx")); err != nil || string(got) != string(pt) {
		t.Errorf("decrypt with the good key: %v", err)
	}
	names, err := e.srv.ListKeys(ctx(t), "")
	if err != nil || len(names) != 2 {
		t.Errorf("list next to a damaged record: %v, %v", names, err)
	}
	// Over the wire: the real client gets KES's 502 "failed to read key" for the damaged key, 200 for the good one.
	c := e.client(e.admin)
	_, err = c.GenerateKey(ctx(t), "bad", nil)
	var ke kes.Error
	if !errors.As(err, &ke) || ke.Status() != http.StatusBadGateway || ke.Error() != "failed to read key" {
		t.Errorf("generate with a damaged key over the wire: %v", err)
	}
	if _, err := c.GenerateKey(ctx(t), "good", nil); err != nil {
		t.Errorf("generate with the good key over the wire: %v", err)
	}
}
