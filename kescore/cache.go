package kescore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// keyCache keeps parsed master keys in memory in front of the KeyStore and
// tracks whether the store is reachable (probed every probe interval).
//
// Eviction follows KES: every Expiry all keys are dropped, every
// ExpiryUnused/2 keys not used since the last pass are dropped. While the
// store is down these two are suspended; with ExpiryOffline > 0 the cached
// keys keep serving and are all dropped every ExpiryOffline, with
// ExpiryOffline off the cache is dropped and bypassed so key operations
// report the store failure.
type keyCache struct {
	store   KeyStore
	conf    CacheConfig
	offline atomic.Bool

	mu      sync.Mutex
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	key  *masterKey
	used atomic.Bool
}

func newKeyCache(store KeyStore, conf CacheConfig) *keyCache {
	return &keyCache{store: store, conf: conf.withDefaults(), entries: map[string]*cacheEntry{}}
}

func (c *keyCache) offlineCaching() bool { return c.conf.ExpiryOffline > 0 }

// setOffline records the store's state; going down without offline
// caching drops every cached key.
func (c *keyCache) setOffline(down bool) {
	if c.offline.Swap(down) != down && down && !c.offlineCaching() {
		c.dropAll()
	}
}

// noteErr marks the store offline when err says it is down.
func (c *keyCache) noteErr(err error) {
	if errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrStoreUnreachable) {
		c.setOffline(true)
	}
}

func (c *keyCache) dropAll() {
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}

// status probes the store and records the outcome.
func (c *keyCache) status(ctx context.Context) (time.Duration, error) {
	latency, err := c.store.Status(ctx)
	if err != nil && ctx.Err() != nil {
		return 0, err // our caller gave up; says nothing about the store
	}
	c.setOffline(err != nil)
	return latency, err
}

func (c *keyCache) get(ctx context.Context, name string) (*masterKey, error) {
	useCache := !c.offline.Load() || c.offlineCaching()
	if useCache {
		c.mu.Lock()
		e, ok := c.entries[name]
		c.mu.Unlock()
		if ok {
			e.used.Store(true)
			return e.key, nil
		}
	}
	b, err := c.store.Get(ctx, name)
	if err != nil {
		c.noteErr(err)
		return nil, err
	}
	k, err := parseRecord(b)
	if err != nil {
		return nil, err
	}
	if useCache {
		e := &cacheEntry{key: k}
		e.used.Store(true)
		c.mu.Lock()
		c.entries[name] = e
		c.mu.Unlock()
	}
	return k, nil
}

func (c *keyCache) create(ctx context.Context, name string, k *masterKey) error {
	err := c.store.Create(ctx, name, encodeRecord(k))
	c.noteErr(err)
	return err
}

func (c *keyCache) delete(ctx context.Context, name string) error {
	err := c.store.Delete(ctx, name)
	c.noteErr(err)
	if err == nil || errors.Is(err, ErrKeyNotFound) {
		c.mu.Lock()
		delete(c.entries, name)
		c.mu.Unlock()
	}
	return err
}

func (c *keyCache) list(ctx context.Context, prefix string) ([]string, error) {
	names, err := c.store.List(ctx, prefix)
	c.noteErr(err)
	return names, err
}

// evictUnused drops entries not used since the previous pass and marks
// the rest unused.
func (c *keyCache) evictUnused() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, e := range c.entries {
		if !e.used.CompareAndSwap(true, false) {
			delete(c.entries, name)
		}
	}
}

// run does the periodic work until ctx ends: eviction and store probes.
// onProbe is called after each successful probe.
func (c *keyCache) run(ctx context.Context, probe time.Duration, onProbe func(context.Context)) {
	tick := func(d time.Duration) (<-chan time.Time, func()) {
		if d <= 0 {
			return nil, func() {}
		}
		t := time.NewTicker(d)
		return t.C, t.Stop
	}
	anyC, stop1 := tick(c.conf.Expiry)
	defer stop1()
	unusedC, stop2 := tick(c.conf.ExpiryUnused / 2)
	defer stop2()
	offC, stop3 := tick(c.conf.ExpiryOffline)
	defer stop3()
	probeC, stop4 := tick(probe)
	defer stop4()
	for {
		select {
		case <-ctx.Done():
			return
		case <-anyC:
			if !c.offline.Load() {
				c.dropAll()
			}
		case <-unusedC:
			if !c.offline.Load() {
				c.evictUnused()
			}
		case <-offC:
			if c.offline.Load() {
				c.dropAll()
			}
		case <-probeC:
			pctx, cancel := context.WithTimeout(ctx, probe)
			_, err := c.status(pctx)
			if err == nil && onProbe != nil {
				onProbe(pctx)
			}
			cancel()
		}
	}
}
