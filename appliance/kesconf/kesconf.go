// Package kesconf reads KES server configuration files into one
// format-neutral File: the TOML of KES v0.5-v0.7 that MinIO's 2020 KMS guide
// prints, and the current KES YAML (server-config.yaml). File.Apply copies
// what a file decides (admin, policies, cache, keys, route overrides,
// client verification) into a kescore.Config; the key store, the listener
// and its certificates stay the appliance's job.
//
// Unknown keys and bad values are errors that name the key, e.g.
// "kesconf: unknown key 'keystore.vault.adress'" or
// "kesconf: cache.expiry.unused: invalid duration \"20\"".
//
// Hand-written parts and why: the YAML unknown-key check walks the parsed
// node tree against the struct tags, because yaml.v3's KnownFields errors
// name Go types rather than the key path a user wrote; ${VAR} expansion is
// KES's whole-value rule, which no library implements.
package kesconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Format is a configuration file format.
type Format int

// Supported formats.
const (
	TOML Format = iota + 1 // KES v0.5-v0.7, MinIO's KMS guide
	YAML                   // current KES
)

// String returns the format's lower-case name, "toml" or "yaml".
func (f Format) String() string {
	switch f {
	case TOML:
		return "toml"
	case YAML:
		return "yaml"
	}
	return "unknown"
}

// File is a KES server configuration, whichever format it came from. Empty
// values mean "not set in the file".
type File struct {
	// Format is the format the file was written in.
	Format Format
	// Address is the listen address (TOML address, YAML address).
	Address string
	// Admin is the admin identity (TOML root, YAML admin.identity). A
	// value no certificate hashes to, such as "disabled", disables it.
	Admin string
	// TLS is the server's TLS configuration.
	TLS TLS
	// Policies maps policy names to policies (TOML [policy.NAME] paths
	// become Allow).
	Policies map[string]Policy
	// Cache is the key cache configuration.
	Cache Cache
	// Log is the logging configuration.
	Log Log
	// API holds per-route overrides (YAML api./v1/...); nil if none.
	API map[string]API
	// Keys are created at start if missing (YAML keys).
	Keys []string
	// KeyStore is where keys are kept.
	KeyStore KeyStore
}

// TLS is the server TLS configuration.
type TLS struct {
	// Key and Cert are the server's private key and certificate files;
	// Password decrypts an encrypted key.
	Key, Cert, Password string
	// CA verifies client certificates when Auth is "verify".
	CA string
	// Auth is "verify" (YAML tls.auth: on), "ignore" (off) or "" (unset;
	// the TOML format has no such key, only the --mtls-auth flag).
	Auth string
	// ProxyIdentities and ProxyCertHeader describe trusted TLS proxies.
	ProxyIdentities []string
	ProxyCertHeader string
}

// Policy is a named set of allowed/denied path patterns and its members.
type Policy struct {
	// Allow and Deny are API path patterns (e.g. /v1/key/create/minio-*);
	// deny wins.
	Allow, Deny []string
	// Identities are the members of the policy.
	Identities []string
}

// Cache holds the cache expiries; zero means unset.
type Cache struct {
	// Any is cache.expiry.any (TOML: [cache.expiry] all).
	Any time.Duration
	// Unused is cache.expiry.unused.
	Unused time.Duration
	// Offline is cache.expiry.offline (YAML only).
	Offline time.Duration
}

// Log is the logging configuration.
type Log struct {
	// Error and Audit are the YAML levels: "on", "off" or a level name.
	Error, Audit string
	// ErrorFiles and AuditFiles are the TOML [log.error]/[log.audit] file
	// targets.
	ErrorFiles, AuditFiles []string
}

// API is a per-route override of the YAML format.
type API struct {
	// SkipAuth serves the route without checking the client's identity.
	SkipAuth bool
	// Timeout bounds the route's requests; zero means unset.
	Timeout time.Duration
}

// KeyStore is the key store section; at most one member is set.
type KeyStore struct {
	// Vault is a Vault / OpenBao K/V store (keystore.vault).
	Vault *Vault
	// FS is a directory of key files (keystore.fs).
	FS *FS
}

// FS is the directory key store (keystore.fs.path).
type FS struct {
	// Path is the directory holding the keys.
	Path string
}

// Vault is a Hashicorp Vault / OpenBao K/V key store.
type Vault struct {
	// Endpoint is the Vault URL (TOML address).
	Endpoint string
	// Engine is the K/V mount; "" means "kv". The TOML format always
	// uses "kv".
	Engine string
	// Version is the K/V version, "v1" or "v2"; "" means "v1".
	Version string
	// Namespace is the Vault namespace.
	Namespace string
	// Prefix is the path inside the mount (TOML name, YAML prefix).
	Prefix string
	// AppRole holds the AppRole credentials; nil if not configured.
	AppRole *AppRole
	// TLS configures the connection to Vault.
	TLS VaultTLS
	// StatusPing is the health poll interval; zero means unset.
	StatusPing time.Duration
	// Transit, when set, names a transit key wrapping the entries (YAML
	// only; kept so a caller can refuse it explicitly).
	Transit *Transit
}

// AppRole is the Vault AppRole login.
type AppRole struct {
	// Engine is the AppRole auth mount ("" means "approle") and
	// Namespace the Vault namespace of the login.
	Engine, Namespace string
	// ID and Secret are the role ID and secret ID.
	ID, Secret string
	// Retry is the re-login delay after a failure; zero means unset.
	Retry time.Duration
}

// VaultTLS is the client TLS configuration towards Vault.
type VaultTLS struct {
	// Key and Cert are a client certificate for Vault's TLS client
	// authentication; CA verifies Vault's server certificate.
	Key, Cert, CA string
}

// Transit is the optional Vault transit wrapping of K/V entries.
type Transit struct {
	// Engine is the transit mount and Key the key's name in it.
	Engine, Key string
}

// ReadFile reads a configuration file. Files ending in ".toml" are read as
// TOML, all others as YAML, as KES does. ${VAR} references in YAML are
// resolved from the process environment.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kesconf: %w", err)
	}
	if strings.EqualFold(filepath.Ext(path), ".toml") {
		return ParseTOML(data)
	}
	return ParseYAML(data, os.LookupEnv)
}

// parseDuration parses a duration value of key.
func parseDuration(key, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("kesconf: %s: invalid duration %q", key, s)
	}
	if d < 0 {
		return 0, fmt.Errorf("kesconf: %s: duration %q is negative", key, s)
	}
	return d, nil
}

// durations parses several duration values, collecting every error.
type durations struct{ errs []error }

func (d *durations) parse(key, s string) time.Duration {
	v, err := parseDuration(key, s)
	if err != nil {
		d.errs = append(d.errs, err)
	}
	return v
}

// check runs the checks shared by both formats.
func (f *File) check() error {
	var errs []error
	for name, p := range f.Policies {
		if name == "" {
			errs = append(errs, errors.New("kesconf: policy: empty policy name"))
		}
		for i, pat := range append(append([]string(nil), p.Allow...), p.Deny...) {
			if strings.TrimSpace(pat) == "" {
				errs = append(errs, fmt.Errorf("kesconf: policy.%s: empty path pattern (entry %d)", name, i+1))
			}
		}
		for _, id := range p.Identities {
			if id == "" {
				errs = append(errs, fmt.Errorf("kesconf: policy.%s.identities: empty identity", name))
			}
			if id != "" && id == f.Admin {
				errs = append(errs, fmt.Errorf("kesconf: policy.%s.identities: identity '%s' is already admin", name, id))
			}
		}
	}
	if v := f.KeyStore.Vault; v != nil {
		if v.Endpoint == "" {
			key := "keystore.vault.endpoint"
			if f.Format == TOML {
				key = "keystore.vault.address"
			}
			errs = append(errs, fmt.Errorf("kesconf: %s: no Vault endpoint", key))
		}
		if v.Version != "" && v.Version != "v1" && v.Version != "v2" {
			errs = append(errs, fmt.Errorf("kesconf: keystore.vault.version: invalid K/V version %q (want v1 or v2)", v.Version))
		}
		if (v.TLS.Key == "") != (v.TLS.Cert == "") {
			errs = append(errs, errors.New("kesconf: keystore.vault.tls: key and cert must be set together"))
		}
	}
	if f.KeyStore.Vault != nil && f.KeyStore.FS != nil {
		errs = append(errs, errors.New("kesconf: keystore: more than one key store specified"))
	}
	if f.KeyStore.FS != nil && f.KeyStore.FS.Path == "" {
		errs = append(errs, errors.New("kesconf: keystore.fs.path: no path specified"))
	}
	return errors.Join(errs...)
}
