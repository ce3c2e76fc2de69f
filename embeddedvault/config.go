package embeddedvault

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Defaults Vault uses when a mount or the system sets nothing.
const (
	defaultLeaseTTL    = 768 * time.Hour // 32 days, Vault's system default
	defaultMaxBodySize = 32 << 20        // 32 MiB, Vault's max_request_size
	defaultVersion     = "1.15.0"
	defaultRollback    = time.Minute // Vault's rollback manager period
)

// Config is the live configuration of a Server.
type Config struct {
	// Path is the bbolt file holding the sealed store (vault.db). Required;
	// the file is created on first use.
	Path string
	// Logger receives operational messages; nil discards them. Secrets,
	// shares and tokens are never logged.
	Logger *slog.Logger
	// DefaultLeaseTTL is the system default token TTL and KV v1 lease
	// duration; zero means 768h (Vault's default).
	DefaultLeaseTTL time.Duration
	// MaxLeaseTTL caps token TTLs and renewals; zero means 768h.
	MaxLeaseTTL time.Duration
	// Dev initializes an empty store with one share, unseals it at Open and
	// keeps the unseal key and root token in DevKeyFile so that a restart
	// unseals itself. INSECURE: for development only.
	Dev bool
	// DevRootToken, with Dev, is used as the root token ID at first
	// initialization; empty means a random hvs. token.
	DevRootToken string
	// DevRootKey, with Dev, is the 32-byte root key (and so the one unseal key) a fresh
	// store is initialized with, so that test starts derive it from a seed; nil (or another
	// length) means random. INSECURE: for deterministic tests only.
	DevRootKey []byte
	// DevKeyFile is the path of the dev-mode key file (0600 JSON with the
	// unseal key and root token). Required with Dev, ignored without.
	DevKeyFile string
	// Version is reported by sys/seal-status and sys/health; empty means
	// "1.15.0".
	Version string
	// MaxRequestSize limits request bodies; zero means 32 MiB. Larger
	// bodies get 413.
	MaxRequestSize int64
	// ClusterName is reported once unsealed; empty means "kmsbox-vault".
	ClusterName string
	// RollbackInterval is how often, while unsealed, every mounted engine
	// gets Vault's periodic rollback request, which runs a framework
	// backend's PeriodicFunc (transit's key auto-rotation, for one); zero
	// means 60s, as in Vault.
	RollbackInterval time.Duration
	// BodyIdle is how long a request body may go without a byte before the read fails and
	// the request gets 400; zero means httproute.DefaultBodyIdle (30 s), negative none.
	BodyIdle time.Duration
	// OnUnseal, if set, runs each time the barrier opens, after the state is
	// published and before the unseal call returns, so that what it sets up
	// (the appliance enables KES's kes/ mount) is there when the client sees
	// "sealed": false. It may use the in-process KV API; it must not call
	// back into seal or unseal. An error is logged; the store stays unsealed.
	OnUnseal func(ctx context.Context, s *Server) error
	// OnSeal, if set, runs after sys/seal closed the barrier and before the
	// answer is sent, so that in-process users of the store (kescore's key
	// cache) stop serving at once: seal is the emergency stop.
	OnSeal func(ctx context.Context)
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("embeddedvault: Path is required"))
	}
	if c.DefaultLeaseTTL < 0 {
		errs = append(errs, errors.New("embeddedvault: DefaultLeaseTTL must not be negative"))
	}
	if c.MaxLeaseTTL < 0 {
		errs = append(errs, errors.New("embeddedvault: MaxLeaseTTL must not be negative"))
	}
	if c.withDefaults().DefaultLeaseTTL > c.withDefaults().MaxLeaseTTL {
		errs = append(errs, errors.New("embeddedvault: DefaultLeaseTTL must not exceed MaxLeaseTTL"))
	}
	if c.Dev && c.DevKeyFile == "" {
		errs = append(errs, errors.New("embeddedvault: DevKeyFile is required with Dev"))
	}
	if !c.Dev && c.DevRootToken != "" {
		errs = append(errs, errors.New("embeddedvault: DevRootToken needs Dev"))
	}
	if c.RollbackInterval < 0 {
		errs = append(errs, errors.New("embeddedvault: RollbackInterval must not be negative"))
	}
	if c.MaxRequestSize < 0 {
		errs = append(errs, errors.New("embeddedvault: MaxRequestSize must not be negative"))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DefaultLeaseTTL == 0 {
		c.DefaultLeaseTTL = defaultLeaseTTL
	}
	if c.MaxLeaseTTL == 0 {
		c.MaxLeaseTTL = defaultLeaseTTL
		if c.DefaultLeaseTTL > c.MaxLeaseTTL {
			c.MaxLeaseTTL = c.DefaultLeaseTTL
		}
	}
	if c.Version == "" {
		c.Version = defaultVersion
	}
	if c.MaxRequestSize == 0 {
		c.MaxRequestSize = defaultMaxBodySize
	}
	if c.RollbackInterval == 0 {
		c.RollbackInterval = defaultRollback
	}
	if c.ClusterName == "" {
		c.ClusterName = "kmsbox-vault"
	}
	return c
}
