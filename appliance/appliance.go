package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kmsbox/kmsbox/appliance/kesconf"
	"github.com/kmsbox/kmsbox/appliance/seed"
	"github.com/kmsbox/kmsbox/appliance/vaultconf"
	"github.com/kmsbox/kmsbox/certs"
)

// Config is everything the appliance needs to start. main fills it from flags, the
// environment and config files; tests fill it directly.
type Config struct {
	// DataDir holds every file kmsbox keeps: certs/, vault.db, s3/, the env file. Required.
	DataDir string

	// VaultAddr, KESAddr and S3Addr are the listen addresses ("127.0.0.1:8200", ...). An
	// empty address disables that server (its state may still run in-process for the others).
	VaultAddr, KESAddr, S3Addr string
	// ConsoleAddr is the listen address of the web console ("127.0.0.1:9001"); empty disables
	// it. It logs in with the S3 root credentials and needs the S3 server's state.
	ConsoleAddr string

	// SANs are extra DNS names or IPs for the server certificate (e.g. a compose service name).
	SANs []string

	// ACME, when set, gets the server certificate from an ACME CA instead of the local CA.
	ACME *certs.ACMEConfig

	// Dev initializes and unseals the vault, makes the MinIO identity, policy and key, picks
	// S3 credentials, and writes the env file. The zero value is a production-like start:
	// a new vault waits for `vault operator init`.
	Dev bool
	// DevRootToken fixes the dev root token ID; empty = random. Only with Dev.
	DevRootToken string

	// Seed is the parsed seed file (--seed): applied in full during Open, before any listener
	// serves; nil = none. It needs Dev.
	Seed *seed.Seed
	// Deterministic, when not empty, derives every secret a fresh dev start makes (unseal key,
	// root token, identities, S3 credentials, key material) from this string, so two fresh
	// starts with the same value agree. For tests only: it needs Dev, and every log line says so.
	Deterministic string

	// VaultConfig is the guide's vault-config.json (or HCL), parsed; nil = none. Its storage
	// path and lease TTLs apply to the store, its TLS files and minimum version to the Vault
	// listener. (main applies its listener address to VaultAddr unless --vault-addr is set.)
	VaultConfig *vaultconf.Config
	// KESConfig is a KES server config (the guide's TOML or the current YAML), parsed; nil =
	// defaults. (main applies its address to KESAddr unless --kes-addr is set.)
	KESConfig *kesconf.File

	// S3 configures the object store.
	S3 S3Config
	// KMS chooses where the object store takes its keys from; zero = in-process kescore.
	KMS KMSConfig

	// Version is reported by the servers (Vault seal-status, KES /version).
	Version string

	// Logger receives structured logs; nil = discard.
	Logger *slog.Logger
	// Out receives the human banner (dev credentials); nil = discard.
	Out io.Writer
	// ShutdownTimeout bounds a graceful stop; zero = 5 seconds.
	ShutdownTimeout time.Duration
}

// S3Config is the object store's part of [Config].
type S3Config struct {
	// AccessKey and SecretKey are the root credentials. Empty: with Dev a random pair kept in
	// the data dir, otherwise MinIO's default minioadmin:minioadmin (with a warning).
	AccessKey, SecretKey string
	// Region is the SigV4 region; empty = "us-east-1".
	Region string
	// Domain enables virtual-hosted-style requests for <bucket>.<Domain>; empty = path style only.
	Domain string
	// AutoEncrypt encrypts (SSE-S3) every upload that asks for no encryption. On with Dev,
	// unless NoAutoEncrypt.
	AutoEncrypt bool
	// NoAutoEncrypt keeps AutoEncrypt off with Dev too: --auto-encrypt=false given explicitly.
	NoAutoEncrypt bool
	// KeyName is the default key for SSE-S3 and SSE-KMS; empty = "minio-key-1", or the
	// static key's own name with KMSConfig.StaticKey.
	KeyName string
}

// KMSConfig chooses the object store's KMS. At most one of its two groups may be set.
type KMSConfig struct {
	// KESEndpoints, KESCertFile, KESKeyFile and KESCAPath select a remote KES over mTLS
	// (MINIO_KMS_KES_*). An endpoint that is this appliance's own KES uses it in-process.
	KESEndpoints            []string
	KESCertFile, KESKeyFile string
	KESCAPath               string
	// StaticKey is the guide's appendix B single key: "name:base64" (MINIO_KMS_SECRET_KEY)
	// or "name:hex" (MINIO_KMS_MASTER_KEY).
	StaticKey string
}

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir is required (--data-dir)"))
	}
	if c.VaultAddr == "" && c.KESAddr == "" && c.S3Addr == "" {
		errs = append(errs, errors.New("every server is disabled: set at least one of --vault-addr, --kes-addr, --s3-addr"))
	}
	if c.DevRootToken != "" && !c.Dev {
		errs = append(errs, errors.New("--dev-root-token needs --dev"))
	}
	if c.Seed != nil && !c.Dev {
		errs = append(errs, errors.New("--seed needs --dev"))
	}
	if c.Deterministic != "" && !c.Dev {
		errs = append(errs, errors.New("--deterministic needs --dev"))
	}
	if len(c.KMS.KESEndpoints) > 0 && c.KMS.StaticKey != "" {
		errs = append(errs, errors.New("MINIO_KMS_KES_* and MINIO_KMS_SECRET_KEY/MINIO_KMS_MASTER_KEY are mutually exclusive"))
	}
	if len(c.KMS.KESEndpoints) > 0 && (c.KMS.KESCertFile == "") != (c.KMS.KESKeyFile == "") {
		errs = append(errs, errors.New("MINIO_KMS_KES_CERT_FILE and MINIO_KMS_KES_KEY_FILE must be set together"))
	}
	if c.S3.AutoEncrypt && c.S3.NoAutoEncrypt {
		errs = append(errs, errors.New("S3.AutoEncrypt and S3.NoAutoEncrypt are both set"))
	}
	for _, san := range c.SANs {
		if san == "" {
			errs = append(errs, errors.New("--san: empty name"))
		}
	}
	return errors.Join(errs...)
}

// Appliance is a running kmsbox: its listeners are bound and its stores open.
type Appliance struct {
	cfg      Config
	log      *slog.Logger
	certs    *certs.Manager
	services []*service     // in start order: vault, kes, s3, console
	closers  []func() error // appliance state (certificates) closed last, in reverse order
	addrs    map[string]string
	envFile  string
	adminID  string // KES identity of <data-dir>/certs/admin.crt
	minioID  string // KES identity of <data-dir>/certs/minio.crt (dev)
	devKey   string // the key --dev creates for the MinIO identity
	keys     keyStoreInfo
	det      *deriver // deterministic mode; nil = random secrets
	devRoot  string   // the --dev root token, kept over resets

	// resetMu serializes resets and the final close; swapMu is held for writing while a
	// reset replaces gen (requests wait in acquire), for reading while one is counted.
	resetMu sync.Mutex
	swapMu  sync.RWMutex
	gen     *generation // the servers now serving; nil after a failed reset or close
	closed  bool
}

// Open binds the listeners of every enabled server and opens every store. It fails fast and
// leaves nothing open on error. Call [Appliance.Run] to serve.
func Open(ctx context.Context, cfg Config) (_ *Appliance, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	if cfg.S3.Region == "" {
		cfg.S3.Region = "us-east-1"
	}
	if cfg.S3.KeyName == "" && cfg.KMS.StaticKey == "" {
		cfg.S3.KeyName = defaultKeyName
	}
	if cfg.Dev && !cfg.S3.NoAutoEncrypt {
		cfg.S3.AutoEncrypt = true
	}
	if cfg.Seed != nil && cfg.Seed.Console != nil && !*cfg.Seed.Console {
		cfg.ConsoleAddr = ""
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}

	det := newDeriver(cfg.Deterministic)
	if det != nil {
		cfg.Logger = cfg.Logger.With("deterministic", deterministicNote)
		cfg.Logger.Warn("every secret of this start derives from --deterministic: never use it outside tests")
	}
	a := &Appliance{cfg: cfg, log: cfg.Logger, addrs: map[string]string{}, det: det}
	defer func() {
		if err != nil {
			a.closeState()
		}
	}()

	a.certs, err = certs.Open(ctx, certs.Config{
		Dir:    filepath.Join(cfg.DataDir, "certs"),
		SANs:   cfg.SANs,
		ACME:   cfg.ACME,
		Logger: cfg.Logger.With("component", "certs"),
		IdentityKey: func() func(string) []byte {
			if det == nil {
				return nil
			}
			return func(name string) []byte { return det.bytes("kes identity "+name, 32) }
		}(),
	})
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	a.closers = append(a.closers, a.certs.Close)

	// Bind every port before any store is opened, so a taken port fails in a blink.
	lns := map[string]net.Listener{}
	defer func() {
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
		}
	}()
	for _, l := range []struct{ name, addr, what, flag string }{
		{"vault", cfg.VaultAddr, "Vault API", "--vault-addr"},
		{"kes", cfg.KESAddr, "KES API", "--kes-addr"},
		{"s3", cfg.S3Addr, "S3 API", "--s3-addr"},
		{"console", cfg.ConsoleAddr, "console", "--console-addr"},
	} {
		if l.addr == "" {
			continue
		}
		ln, err := listen(l.addr, l.what, l.flag)
		if err != nil {
			return nil, err
		}
		lns[l.name] = ln
		a.addrs[l.name] = displayAddr(ln.Addr())
	}

	if err := a.wire(ctx, lns); err != nil {
		return nil, err
	}
	return a, nil
}

// Addr returns the address a client dials for server "vault", "kes", "s3" or "console", or ""
// when it is disabled.
func (a *Appliance) Addr(server string) string { return a.addrs[server] }

// URL returns https://Addr(server), or "" when the server is disabled.
func (a *Appliance) URL(server string) string {
	if a.addrs[server] == "" {
		return ""
	}
	return "https://" + a.addrs[server]
}

// CAFile is the path of the exported CA certificate that clients should trust.
func (a *Appliance) CAFile() string { return filepath.Join(a.cfg.DataDir, "certs", "ca.crt") }

// Run serves until ctx is cancelled (SIGINT/SIGTERM in main), then stops the servers in
// reverse dependency order within Config.ShutdownTimeout, letting in-flight requests finish,
// and closes every store. It returns when everything has stopped.
func (a *Appliance) Run(ctx context.Context) error {
	err := serveAll(ctx, a.services, a.cfg.ShutdownTimeout, a.log)
	return errors.Join(err, a.closeState())
}

// closeState closes the current generation, then the appliance's own state, in reverse
// order of opening.
func (a *Appliance) closeState() error {
	a.resetMu.Lock()
	defer a.resetMu.Unlock()
	a.swapMu.Lock()
	g := a.gen
	a.gen, a.closed = nil, true
	a.swapMu.Unlock()
	var errs []error
	if g != nil {
		errs = append(errs, g.close())
	}
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}
