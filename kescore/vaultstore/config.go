package vaultstore

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero values of [Config].
const (
	DefaultEngine        = "kv"
	DefaultAppRoleEngine = "approle"
	DefaultStatusPing    = 15 * time.Second
	DefaultAppRoleRetry  = 5 * time.Second
)

// KV engine versions.
const (
	KVv1 = "v1"
	KVv2 = "v2"
)

// Config says where the keys live in Vault and how to log in.
type Config struct {
	// Endpoint is the Vault address, e.g. "https://vault.example:8200".
	// Required.
	Endpoint string

	// Engine is the mount path of the K/V secrets engine. Empty means "kv".
	Engine string

	// Version is the K/V engine version, "v1" or "v2". Empty means "v1".
	Version string

	// Prefix is the folder below the engine that holds the keys, e.g.
	// "minio" for kv/minio/<key>. Empty means the keys sit at the engine's
	// top level.
	Prefix string

	// Namespace is the Vault Enterprise / OpenBao namespace. Empty means the
	// root namespace (no X-Vault-Namespace header is sent).
	Namespace string

	// AppRole holds the AppRole login. ID and Secret are required.
	AppRole AppRoleConfig

	// CAFile is a PEM file, or a directory of them, with the CAs that
	// verify Vault's certificate. Empty means the system roots.
	CAFile string

	// CertFile and KeyFile are an optional client certificate for mTLS to
	// Vault; both or neither.
	CertFile, KeyFile string

	// StatusPing is the interval of the sys/health poll. Zero means 15s.
	StatusPing time.Duration

	// Logger receives login, renewal and health events (never tokens or
	// secrets). Nil means slog.Default().
	Logger *slog.Logger

	// hooks lets tests in this package observe and drive the background
	// work. Nil in production.
	hooks *hooks
}

// AppRoleConfig is the AppRole login of the key store.
type AppRoleConfig struct {
	// Engine is the AppRole auth mount. Empty means "approle".
	Engine string
	// ID is the role_id. Required.
	ID string
	// Secret is the secret_id. Required.
	Secret string
	// Retry is the wait between failed logins. Zero means 5s.
	Retry time.Duration
}

// Validate reports every problem of the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, errors.New("vaultstore: endpoint is empty"))
	} else if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("vaultstore: endpoint %q: want https://host:port", c.Endpoint))
	}
	switch c.Version {
	case "", KVv1, KVv2:
	default:
		errs = append(errs, fmt.Errorf("vaultstore: K/V version %q: want %q or %q", c.Version, KVv1, KVv2))
	}
	if strings.Contains(c.Engine, "..") || strings.Contains(c.Prefix, "..") || strings.Contains(c.AppRole.Engine, "..") {
		errs = append(errs, errors.New("vaultstore: engine, prefix and approle engine must not contain '..'"))
	}
	if c.AppRole.ID == "" {
		errs = append(errs, errors.New("vaultstore: approle id is empty"))
	}
	if c.AppRole.Secret == "" {
		errs = append(errs, errors.New("vaultstore: approle secret is empty"))
	}
	if c.AppRole.Retry < 0 {
		errs = append(errs, errors.New("vaultstore: approle retry is negative"))
	}
	if c.StatusPing < 0 {
		errs = append(errs, errors.New("vaultstore: status ping interval is negative"))
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("vaultstore: a client certificate needs both a certificate and a key file"))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with the zero values replaced by the defaults and
// the paths trimmed of surrounding slashes.
func (c Config) withDefaults() Config {
	c.Engine = strings.Trim(c.Engine, "/")
	if c.Engine == "" {
		c.Engine = DefaultEngine
	}
	if c.Version == "" {
		c.Version = KVv1
	}
	c.Prefix = strings.Trim(c.Prefix, "/")
	c.AppRole.Engine = strings.Trim(c.AppRole.Engine, "/")
	if c.AppRole.Engine == "" {
		c.AppRole.Engine = DefaultAppRoleEngine
	}
	if c.AppRole.Retry == 0 {
		c.AppRole.Retry = DefaultAppRoleRetry
	}
	if c.StatusPing == 0 {
		c.StatusPing = DefaultStatusPing
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.hooks == nil {
		c.hooks = &hooks{}
	}
	return c
}
