package vaultstore

import (
	"sync"
	"testing"
)

// TestKeyLocks: holders of one name take turns, other names do not wait,
// and a name's lock is dropped once nobody holds or waits for it.
func TestKeyLocks(t *testing.T) {
	var k keyLocks
	const workers, rounds = 8, 200
	inside := map[string]int{}
	var mu sync.Mutex // guards inside; the key lock is what is tested
	var wg sync.WaitGroup
	for w := range workers {
		name := []string{"a", "b"}[w%2]
		wg.Go(func() {
			for range rounds {
				unlock := k.lock(name)
				mu.Lock()
				inside[name]++
				n := inside[name]
				mu.Unlock()
				if n != 1 {
					t.Errorf("%d holders of %q at once", n, name)
				}
				mu.Lock()
				inside[name]--
				mu.Unlock()
				unlock()
			}
		})
	}
	// Another name is free while "a" is held.
	unlockA := k.lock("a")
	done := make(chan struct{})
	go func() { k.lock("c")(); close(done) }()
	<-done
	unlockA()
	wg.Wait()
	if len(k.locks) != 0 {
		t.Fatalf("locks left after all unlocks: %v", k.locks)
	}
}
