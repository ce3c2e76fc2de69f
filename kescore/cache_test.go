package kescore

import (
	"errors"
	"testing"
	"time"
)

func TestCacheEviction(t *testing.T) {
	store := NewMemKeyStore()
	c := newKeyCache(store, CacheConfig{})
	if c.conf.Expiry != 5*time.Minute || c.conf.ExpiryUnused != 30*time.Second || c.conf.ExpiryOffline != 0 {
		t.Fatalf("defaults: %+v", c.conf)
	}
	for _, name := range []string{"a", "b"} {
		k, _ := newMasterKey(typeAES256, "", time.Now())
		if err := c.create(ctx(t), name, k); err != nil {
			t.Fatal(err)
		}
		if _, err := c.get(ctx(t), name); err != nil {
			t.Fatal(err)
		}
	}
	cached := func() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.entries) }
	c.evictUnused() // both were used: marked unused, kept
	if cached() != 2 {
		t.Fatalf("after first pass: %d", cached())
	}
	if _, err := c.get(ctx(t), "a"); err != nil { // a used again
		t.Fatal(err)
	}
	c.evictUnused() // b unused since the last pass: dropped
	if cached() != 1 {
		t.Fatalf("after second pass: %d", cached())
	}
	// Store down without offline caching: cache dropped, gets fail.
	store.SetDown(ErrStoreUnreachable)
	if _, err := c.status(ctx(t)); !errors.Is(err, ErrStoreUnreachable) {
		t.Fatalf("status: %v", err)
	}
	if cached() != 0 {
		t.Fatal("cache kept while the store is down and offline caching is off")
	}
	if _, err := c.get(ctx(t), "a"); !errors.Is(err, ErrStoreUnreachable) {
		t.Fatalf("get while down: %v", err)
	}
	store.SetDown(nil)
	if _, err := c.status(ctx(t)); err != nil || c.offline.Load() {
		t.Fatalf("status after recovery: %v", err)
	}
	if _, err := c.get(ctx(t), "a"); err != nil {
		t.Fatal(err)
	}
}

func TestCacheRecordErrors(t *testing.T) {
	store := NewMemKeyStore()
	store.keys["broken"] = []byte("not a record")
	c := newKeyCache(store, CacheConfig{})
	if _, err := c.get(ctx(t), "broken"); err == nil || !errors.Is(err, errRecord) {
		t.Fatalf("broken record: %v", err)
	}
	if _, err := c.get(ctx(t), "missing"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("missing: %v", err)
	}
}
