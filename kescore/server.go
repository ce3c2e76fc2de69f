package kescore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/cpu"
)

// Server is a KES-compatible key server. Its Handler must be served over
// TLS with client certificates requested (tls.RequireAnyClientCert).
type Server struct {
	cfg      Config
	log      *slog.Logger
	cache    *keyCache
	policies map[string]*policy
	members  map[string]*policy // identity -> policy
	start    time.Time
	keyType  keyType

	table    []route
	mux      *http.ServeMux
	metrics  *metrics
	auditLog *multicast
	errorLog *multicast

	mu      sync.Mutex
	pending []string   // Config.Keys not yet created
	auditMu sync.Mutex // serializes writes to Config.AuditLog

	done      chan struct{}
	stopCache context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Open validates cfg, creates the configured keys that are missing (within ctx; keys the
// store cannot take yet stay pending and are created after a later successful probe) and
// starts the key store probe. ctx bounds only this start-up I/O, not the Server's life.
// Call Close to stop the probe.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = 10 * time.Second
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{
		cfg:      cfg,
		cache:    newKeyCache(cfg.Store, cfg.Cache),
		policies: map[string]*policy{},
		members:  map[string]*policy{},
		start:    time.Now().UTC(),
		auditLog: newMulticast(),
		errorLog: newMulticast(),
		done:     make(chan struct{}),
		keyType:  typeAES256,
	}
	// KES picks ChaCha20 only on CPUs without AES-GCM acceleration.
	if !(cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ) && !cpu.ARM64.HasAES && !cpu.S390X.HasAES {
		s.keyType = typeChaCha20
	}
	s.metrics = newMetrics(s.start)
	base := cfg.Logger
	if base == nil {
		base = slog.Default()
	}
	s.log = slog.New(&teeHandler{next: base.Handler(), out: s.errorLog, count: s.metrics.errorEvents.Inc})
	for name, p := range cfg.Policies {
		pol := &policy{name: name, allow: slices.Clone(p.Allow), deny: slices.Clone(p.Deny)}
		s.policies[name] = pol
		for _, id := range p.Identities {
			s.members[id] = pol
		}
	}
	s.table = s.routes()
	applyOverrides(s.table, cfg.Routes)
	s.mux = s.newMux()

	s.pending = slices.Clone(cfg.Keys)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A store that hangs must not hold up the start: what is not created in time stays pending.
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	s.createPending(pctx)
	cancel()

	cctx, stop := context.WithCancel(context.Background())
	s.stopCache = stop
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.cache.run(cctx, cfg.ProbeInterval, s.createPending)
	}()
	return s, nil
}

// createPending creates the configured keys that do not exist yet. Keys
// that fail because the store is down stay pending.
func (s *Server) createPending(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var left []string
	for _, name := range s.pending {
		err := s.CreateKey(ctx, name)
		switch {
		case err == nil, errors.Is(err, ErrKeyExists):
		case errors.Is(err, ErrStoreUnavailable), errors.Is(err, ErrStoreUnreachable):
			left = append(left, name)
		default:
			s.log.Error("failed to create key", "key", name, "err", err)
			left = append(left, name)
		}
	}
	s.pending = left
}

// Handler returns the HTTP handler of the KES API.
func (s *Server) Handler() http.Handler { return s.mux }

// Close stops the background probe and ends open log streams. It does not
// close the KeyStore.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.stopCache()
		s.wg.Wait()
	})
	return nil
}

// CreateKey creates a master key without a policy check (in-process use).
func (s *Server) CreateKey(ctx context.Context, name string) error {
	if !validName(name) {
		return ErrInvalidName
	}
	k, err := newMasterKey(s.keyType, "", time.Now())
	if err != nil {
		return err
	}
	return s.cache.create(ctx, name, k)
}

// ImportKey creates the master key name with the given 32-byte AES-256 key material, as
// /v1/key/import does, without a policy check (in-process use). ErrKeyExists if name exists.
func (s *Server) ImportKey(ctx context.Context, name string, key []byte) error {
	if !validName(name) {
		return ErrInvalidName
	}
	if len(key) != keySize {
		return fmt.Errorf("kescore: import %s: need a %d-byte key, got %d bytes", name, keySize, len(key))
	}
	return s.importMaster(ctx, name, typeAES256, key, "")
}

// importMaster stores a master key of type typ with the given material.
func (s *Server) importMaster(ctx context.Context, name string, typ keyType, key []byte, createdBy string) error {
	k, err := newMasterKey(typ, createdBy, time.Now())
	if err != nil {
		return err
	}
	copy(k.key[:], key)
	return s.cache.create(ctx, name, k)
}

// GenerateKey returns a fresh 256-bit data key and its ciphertext under the
// master key name, with assoc bound as associated data (in-process use).
func (s *Server) GenerateKey(ctx context.Context, name string, assoc []byte) (plaintext, ciphertext []byte, err error) {
	if !validName(name) {
		return nil, nil, ErrInvalidName
	}
	k, err := s.cache.get(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	return generate(k, assoc)
}

func generate(k *masterKey, assoc []byte) (plaintext, ciphertext []byte, err error) {
	plaintext = make([]byte, 32)
	if _, err := rand.Read(plaintext); err != nil {
		return nil, nil, err
	}
	ciphertext, err = k.encrypt(plaintext, assoc)
	if err != nil {
		return nil, nil, err
	}
	return plaintext, ciphertext, nil
}

// Decrypt opens a ciphertext produced under the master key name with the
// same assoc (in-process use). It returns ErrDecrypt if the ciphertext is
// not authentic.
func (s *Server) Decrypt(ctx context.Context, name string, ciphertext, assoc []byte) ([]byte, error) {
	if !validName(name) {
		return nil, ErrInvalidName
	}
	k, err := s.cache.get(ctx, name)
	if err != nil {
		return nil, err
	}
	return k.decrypt(ciphertext, assoc)
}

// KeyInfo describes a master key without its secret, as /v1/key/describe does.
type KeyInfo struct {
	Name, Algorithm string
	CreatedAt       time.Time
	CreatedBy       string
}

// DescribeKey returns what /v1/key/describe/<name> answers (in-process use): ErrKeyNotFound
// for a missing key, the key store's error while it is unavailable.
func (s *Server) DescribeKey(ctx context.Context, name string) (KeyInfo, error) {
	if !validName(name) {
		return KeyInfo{}, ErrInvalidName
	}
	k, err := s.cache.get(ctx, name)
	if err != nil {
		return KeyInfo{}, err
	}
	return KeyInfo{Name: name, Algorithm: k.typ.String(), CreatedAt: k.createdAt, CreatedBy: k.createdBy}, nil
}

// ListKeys returns the names of the master keys that start with prefix, sorted (in-process
// use; "" lists all).
func (s *Server) ListKeys(ctx context.Context, prefix string) ([]string, error) {
	return s.cache.list(ctx, prefix)
}

// Ready reports whether the key store is reachable and serving: nil, or
// an error matching ErrStoreUnreachable or ErrStoreUnavailable.
func (s *Server) Ready(ctx context.Context) error {
	_, err := s.cache.status(ctx)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrStoreUnreachable) || errors.Is(err, ErrStoreUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrStoreUnavailable, err)
}
