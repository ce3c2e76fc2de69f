package embeddedvault

import (
	"path/filepath"
	"testing"

	"github.com/hashicorp/vault/sdk/physical"
)

func newTestBolt(t *testing.T) *boltBackend {
	t.Helper()
	b, err := openBolt(filepath.Join(t.TempDir(), "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.close() })
	return b
}

func TestBoltBackendExercise(t *testing.T) {
	b := newTestBolt(t)
	physical.ExerciseBackend(t, b)
	physical.ExerciseBackend_ListPrefix(t, b)
}

func TestBoltListFoldsFolders(t *testing.T) {
	b := newTestBolt(t)
	ctx := t.Context()
	for _, k := range []string{"a/x", "a.b", "a/y", "a", "b/c/d"} {
		if err := b.Put(ctx, &physical.Entry{Key: k, Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := b.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "a.b", "a/", "b/"}
	if len(keys) != len(want) {
		t.Fatalf("List = %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("List = %v, want %v", keys, want)
		}
	}
}

func TestBoltPutIfAbsentAndDeletePrefix(t *testing.T) {
	b := newTestBolt(t)
	ctx := t.Context()
	ok, err := b.putIfAbsent(ctx, &physical.Entry{Key: "p/k", Value: []byte("1")})
	if err != nil || !ok {
		t.Fatalf("first putIfAbsent = %v, %v", ok, err)
	}
	ok, err = b.putIfAbsent(ctx, &physical.Entry{Key: "p/k", Value: []byte("2")})
	if err != nil || ok {
		t.Fatalf("second putIfAbsent = %v, %v", ok, err)
	}
	if e, _ := b.Get(ctx, "p/k"); string(e.Value) != "1" {
		t.Fatalf("value overwritten: %q", e.Value)
	}
	_ = b.Put(ctx, &physical.Entry{Key: "q", Value: []byte("x")})
	if err := b.deletePrefix(ctx, "p/"); err != nil {
		t.Fatal(err)
	}
	if e, _ := b.Get(ctx, "p/k"); e != nil {
		t.Fatal("deletePrefix left p/k")
	}
	if e, _ := b.Get(ctx, "q"); e == nil {
		t.Fatal("deletePrefix removed q")
	}
}
