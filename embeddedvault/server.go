package embeddedvault

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Server is the embedded Vault-compatible store. All methods are safe for
// concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	phys    *boltBackend
	barrier *barrier
	handler http.Handler
	table   []route

	// mu serializes seal state changes and guards the unseal attempt.
	mu          sync.Mutex
	shares      [][]byte // shares supplied in the current unseal attempt
	unsealNonce string

	// state is non-nil while unsealed.
	state atomic.Pointer[coreState]

	// now is the clock for token expiry; tests replace it before serving.
	now func() time.Time
	// build makes mount backends: newBackend, or a test's factory set
	// before the first unseal.
	build backendFactory

	clusterID  string // guarded by mu
	devRoot    string
	devUnseal  string
	closeOnce  sync.Once
	closeError error
}

// coreState is everything that exists only while unsealed.
type coreState struct {
	mounts   *mountTable
	tokens   *tokenStore
	policies *policyStore
	rollback *rollback // nil until published by postUnseal
}

// Open opens (or creates) the store at cfg.Path. The returned Server is
// sealed unless cfg.Dev is set, in which case it is initialized and
// unsealed as described on Config.Dev.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	phys, err := openBolt(cfg.Path)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, phys: phys, barrier: newBarrier(phys), now: time.Now, build: newBackend}
	s.handler = s.routes()
	if cfg.Dev {
		if err := s.devStart(ctx); err != nil {
			_ = phys.close()
			return nil, err
		}
	}
	return s, nil
}

// Handler returns the HTTP API; every route is under /v1/.
func (s *Server) Handler() http.Handler { return s.handler }

// Close seals the store and closes the bbolt file.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.sealLocked()
		s.mu.Unlock()
		s.closeError = s.phys.close()
	})
	return s.closeError
}

// Sealed reports whether the store is sealed.
func (s *Server) Sealed() bool { return s.state.Load() == nil }

// SealState is the seal status as sys/seal-status reports it, without the unseal progress.
type SealState struct {
	Initialized, Sealed bool
	// Shares and Threshold are the Shamir split made by sys/init (0 before it).
	Shares, Threshold int
}

// SealState returns the store's seal status (in-process use).
func (s *Server) SealState(ctx context.Context) (SealState, error) {
	ok, c, err := s.initialized(ctx)
	if err != nil {
		return SealState{}, err
	}
	st := SealState{Initialized: ok, Sealed: s.Sealed()}
	if c != nil {
		st.Shares, st.Threshold = c.SecretShares, c.SecretThreshold
	}
	return st, nil
}

// DevCredentials returns the root token and base64 unseal key of a dev-mode
// server; both are empty without Config.Dev.
func (s *Server) DevCredentials() (rootToken, unsealKey string) {
	return s.devRoot, s.devUnseal
}

// active returns the unsealed state or ErrSealed.
func (s *Server) active() (*coreState, error) {
	st := s.state.Load()
	if st == nil {
		return nil, ErrSealed
	}
	return st, nil
}

// initialized reports whether sys/init has run.
func (s *Server) initialized(ctx context.Context) (bool, *sealConfig, error) {
	c, err := s.barrier.sealConfig(ctx)
	return c != nil, c, err
}

// postUnseal loads mounts, policies and tokens after the barrier opened
// and publishes them: from then on requests are served.
func (s *Server) postUnseal(ctx context.Context) error {
	st, err := s.loadState(ctx)
	if err != nil {
		return err
	}
	st.rollback = startRollback(st.mounts, s.cfg.RollbackInterval, s.log)
	s.state.Store(st)
	if s.cfg.OnUnseal != nil {
		if err := s.cfg.OnUnseal(ctx, s); err != nil {
			s.log.Error("embeddedvault: unseal hook failed", "err", err)
		}
	}
	return nil
}

// loadState builds the unsealed state (creating defaults on first use)
// without publishing it.
func (s *Server) loadState(ctx context.Context) (*coreState, error) {
	st := &coreState{}
	var err error
	if st.policies, err = loadPolicyStore(ctx, s.barrier); err != nil {
		return nil, err
	}
	if st.tokens, err = loadTokenStore(ctx, s.barrier, s.cfg, func() time.Time { return s.now() }); err != nil {
		return nil, err
	}
	if st.mounts, err = loadMountTable(ctx, s.barrier, s.cfg, s.build); err != nil {
		return nil, err
	}
	if s.clusterID == "" {
		var id string
		if ok, err := s.barrier.getJSON(ctx, "core/cluster-id", &id); err != nil {
			return nil, err
		} else if !ok {
			id = uuid.NewString()
			if err := s.barrier.putJSON(ctx, "core/cluster-id", id); err != nil {
				return nil, err
			}
		}
		s.clusterID = id
	}
	return st, nil
}

// sealLocked drops the unsealed state, stopping its rollback goroutine
// before the barrier closes; s.mu must be held.
func (s *Server) sealLocked() {
	if st := s.state.Swap(nil); st != nil && st.rollback != nil {
		st.rollback.stop()
	}
	s.barrier.seal()
	s.resetUnsealLocked()
}

func (s *Server) resetUnsealLocked() {
	for _, sh := range s.shares {
		clear(sh)
	}
	s.shares, s.unsealNonce = nil, ""
}

// unsealWithKey unseals with the complete root key (dev mode, tests).
func (s *Server) unsealWithKey(ctx context.Context, key []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.Sealed() {
		return nil
	}
	if err := s.barrier.unseal(ctx, key); err != nil {
		return err
	}
	if err := s.postUnseal(ctx); err != nil {
		s.sealLocked()
		return err
	}
	return nil
}
