package kescore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// MemKeyStore is a KeyStore in memory: its records live as long as the value. The appliance
// serves the KMS guide's single static key (MINIO_KMS_SECRET_KEY) from one, and tests use it
// as the store of a Server. The zero value is an empty store ready for use; it is safe for
// concurrent use.
type MemKeyStore struct {
	mu   sync.Mutex
	keys map[string][]byte
	down error
}

// NewMemKeyStore returns an empty MemKeyStore.
func NewMemKeyStore() *MemKeyStore { return &MemKeyStore{keys: map[string][]byte{}} }

// SetDown makes every call fail with err (Status included), as a sealed or unreachable store
// does, until SetDown(nil). err should wrap ErrStoreUnavailable or ErrStoreUnreachable.
func (m *MemKeyStore) SetDown(err error) {
	m.mu.Lock()
	m.down = err
	m.mu.Unlock()
}

// Status reports the error of SetDown, if any; the latency is a nominal half millisecond.
func (m *MemKeyStore) Status(ctx context.Context) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return 0, m.down
	}
	return time.Millisecond / 2, ctx.Err()
}

// Create stores a copy of value under name unless name exists (ErrKeyExists).
func (m *MemKeyStore) Create(ctx context.Context, name string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.err(ctx); err != nil {
		return err
	}
	if _, ok := m.keys[name]; ok {
		return ErrKeyExists
	}
	if m.keys == nil {
		m.keys = map[string][]byte{}
	}
	m.keys[name] = slices.Clone(value)
	return nil
}

// Get returns a copy of the value stored under name, or ErrKeyNotFound.
func (m *MemKeyStore) Get(ctx context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.err(ctx); err != nil {
		return nil, err
	}
	v, ok := m.keys[name]
	if !ok {
		return nil, ErrKeyNotFound
	}
	return slices.Clone(v), nil
}

// Delete removes name, zeroing its stored value, or returns ErrKeyNotFound.
func (m *MemKeyStore) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.err(ctx); err != nil {
		return err
	}
	v, ok := m.keys[name]
	if !ok {
		return ErrKeyNotFound
	}
	clear(v) // the record holds key material; Create and Get hand out copies only
	delete(m.keys, name)
	return nil
}

// List returns the names that start with prefix, sorted.
func (m *MemKeyStore) List(ctx context.Context, prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.err(ctx); err != nil {
		return nil, err
	}
	var names []string
	for n := range m.keys {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// err is the failure every call reports first: SetDown's error, then a done ctx.
func (m *MemKeyStore) err(ctx context.Context) error {
	if m.down != nil {
		return m.down
	}
	return ctx.Err()
}
