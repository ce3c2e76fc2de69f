package embeddedvault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/physical"
	bolt "go.etcd.io/bbolt"
)

// boltBucket is the single bucket every physical entry lives in.
var boltBucket = []byte("vault")

// boltBackend is a physical.Backend over one bbolt file. It stores what it
// is given: the barrier above it encrypts every value before it gets here.
type boltBackend struct {
	db *bolt.DB
}

var _ physical.Backend = (*boltBackend)(nil)

// openBolt opens (creating if needed) the bbolt file at path.
func openBolt(path string) (*boltBackend, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("embeddedvault: open %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embeddedvault: init %s: %w", path, err)
	}
	// Concurrent writes are coalesced by Batch; a short window keeps the
	// latency of a lone writer low.
	db.MaxBatchDelay = time.Millisecond
	return &boltBackend{db: db}, nil
}

func (b *boltBackend) close() error { return b.db.Close() }

// Put stores entry.Value under entry.Key.
func (b *boltBackend) Put(ctx context.Context, entry *physical.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if entry == nil || entry.Key == "" {
		return errors.New("embeddedvault: empty key")
	}
	// Batch coalesces concurrent writers into one transaction (one fsync);
	// the function is idempotent as Batch requires.
	return b.db.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket(boltBucket).Put([]byte(entry.Key), entry.Value)
	})
}

// putIfAbsent stores the entry only when the key does not exist yet and
// reports whether it did; the check and the write share one transaction.
func (b *boltBackend) putIfAbsent(ctx context.Context, entry *physical.Entry) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	created := false
	err := b.db.Batch(func(tx *bolt.Tx) error {
		bk := tx.Bucket(boltBucket)
		created = false
		if bk.Get([]byte(entry.Key)) != nil {
			return nil
		}
		created = true
		return bk.Put([]byte(entry.Key), entry.Value)
	})
	return created, err
}

// Get returns the entry at key or nil, nil when there is none.
func (b *boltBackend) Get(ctx context.Context, key string) (*physical.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *physical.Entry
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(boltBucket).Get([]byte(key))
		if v != nil {
			out = &physical.Entry{Key: key, Value: bytes.Clone(v)}
		}
		return nil
	})
	return out, err
}

// Delete removes key; a missing key is not an error.
func (b *boltBackend) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.db.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket(boltBucket).Delete([]byte(key))
	})
}

// deletePrefix removes every key starting with prefix in one transaction.
func (b *boltBackend) deletePrefix(ctx context.Context, prefix string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if prefix == "" {
		return errors.New("embeddedvault: refusing to delete everything")
	}
	p := []byte(prefix)
	return b.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(boltBucket).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Seek(p) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// List returns the keys directly under prefix; deeper keys are folded into
// their first path segment with a trailing "/", as physical.Backend requires.
func (b *boltBackend) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var keys []string
	p := []byte(prefix)
	err := b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(boltBucket).Cursor()
		last := ""
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			rest := string(k[len(p):])
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				rest = rest[:i+1]
			}
			if rest == "" || rest == last {
				continue
			}
			last = rest
			keys = append(keys, rest)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dedupe(keys), nil
}

// dedupe removes repeated folder names: keys "a/x", "a.b", "a/y" sort so
// that "a/" can appear twice, non-adjacent.
func dedupe(keys []string) []string {
	seen := make(map[string]struct{}, len(keys))
	out := keys[:0]
	for _, k := range keys {
		if _, ok := seen[k]; ok {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, k)
	}
	return out
}
