package kescore

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Config is the runtime configuration of a Server. File formats (the
// guide's TOML, the current KES YAML) are parsed by appliance/kesconf.
type Config struct {
	// Store keeps the key records. Required.
	Store KeyStore

	// Admin is the identity (lowercase hex SHA-256 of a certificate's
	// SubjectPublicKeyInfo) that passes every authorization check. Empty
	// or any value no certificate hashes to (e.g. "disabled") disables
	// the admin.
	Admin string

	// Policies maps policy names to policies. An identity may be in at
	// most one policy and may not be the admin. Nil means no policies.
	Policies map[string]Policy

	// VerifyClientCerts makes the handler verify the client's certificate
	// chain against ClientCAs (KES "mtls-auth: verify", "tls.auth: on").
	// When false, any certificate is accepted and only its public key
	// matters (the guide's "--mtls-auth=ignore"). The listener must
	// request a client certificate (tls.RequireAnyClientCert) either way.
	VerifyClientCerts bool

	// ClientCAs verifies client chains when VerifyClientCerts is set.
	// Nil means the system roots.
	ClientCAs *x509.CertPool

	// Cache controls how long master keys stay in memory.
	Cache CacheConfig

	// Keys are created at start if they do not exist yet. If the store
	// is not available at start, creation is retried after each
	// successful store probe.
	Keys []string

	// Logger receives error and warning records; they are also streamed
	// to /v1/log/error subscribers. Nil means slog.Default().
	Logger *slog.Logger

	// Version and Commit are reported by /version and /v1/status. Empty
	// Version reports "dev".
	Version, Commit string

	// ProbeInterval is how often the key store is probed. Zero means
	// 10 seconds, as KES does.
	ProbeInterval time.Duration

	// AuditLog, if set, receives every audit event as one JSON line (the
	// shape of /v1/log/audit), as KES's "log.audit: on" writes to stdout.
	// Nil means audit events only go to /v1/log/audit subscribers.
	AuditLog io.Writer

	// Routes overrides single API routes by path, as KES's "api:" config
	// section does ("/v1/metrics", "/v1/status", ...). Nil means none.
	Routes map[string]RouteConfig

	// BodyIdle is how long a request body may go without a byte before the read fails and
	// the request gets 400 (invalid request body); zero means httproute.DefaultBodyIdle (30 s), negative none.
	BodyIdle time.Duration
}

// RouteConfig overrides one API route.
type RouteConfig struct {
	// SkipAuth serves the route to any client, with or without a
	// certificate and without a policy check (KES "skip_auth").
	SkipAuth bool
	// Timeout replaces the route's timeout; zero keeps the default.
	Timeout time.Duration
}

// CacheConfig is the key cache configuration (KES cache.expiry.*).
// Zero values select KES's defaults; negative values disable the
// respective expiry.
type CacheConfig struct {
	// Expiry drops every cached key after this period (cache.expiry.any,
	// old name "all"). Zero means 5 minutes.
	Expiry time.Duration
	// ExpiryUnused drops keys not used within this period
	// (cache.expiry.unused). Zero means 30 seconds.
	ExpiryUnused time.Duration
	// ExpiryOffline is how long cached keys keep serving while the key
	// store is unreachable (cache.expiry.offline). Zero or negative means
	// off: when the store goes down the cache is dropped and key
	// operations fail until it is back.
	ExpiryOffline time.Duration
}

// Policy is a named set of allowed and denied API path patterns and the
// identities it applies to. A pattern ending in '*' matches every path
// starting with the rest; any other pattern matches only itself.
type Policy struct {
	// Allow lists the path patterns the identities may access.
	Allow []string
	// Deny lists path patterns that are refused even if allowed.
	Deny []string
	// Identities are the members of the policy.
	Identities []string
}

func (c *CacheConfig) withDefaults() CacheConfig {
	out := *c
	if out.Expiry == 0 {
		out.Expiry = 5 * time.Minute
	}
	if out.ExpiryUnused == 0 {
		out.ExpiryUnused = 30 * time.Second
	}
	return out
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("kescore: Store is required"))
	}
	owner := map[string]string{}
	for name, p := range c.Policies {
		if !validName(name) {
			errs = append(errs, fmt.Errorf("kescore: policy name '%s' is empty, too long or contains invalid characters", name))
		}
		for _, pat := range append(append([]string(nil), p.Allow...), p.Deny...) {
			if pat == "" {
				errs = append(errs, fmt.Errorf("kescore: policy '%s': empty path pattern", name))
			}
		}
		for _, id := range p.Identities {
			switch {
			case !validName(id):
				errs = append(errs, fmt.Errorf("kescore: policy '%s': identity '%s' is empty, too long or contains invalid characters", name, id))
			case id == c.Admin:
				errs = append(errs, fmt.Errorf("kescore: policy '%s': identity '%s' is the admin identity", name, id))
			case owner[id] != "":
				errs = append(errs, fmt.Errorf("kescore: cannot assign policy '%s' to '%s': identity already has policy '%s'", name, id, owner[id]))
			default:
				owner[id] = name
			}
		}
	}
	for _, k := range c.Keys {
		if !validName(k) {
			errs = append(errs, fmt.Errorf("kescore: key name '%s' is empty, too long or contains invalid characters", k))
		}
	}
	for path, rc := range c.Routes {
		if !knownPath(path) {
			errs = append(errs, fmt.Errorf("kescore: Routes: unknown API path '%s'", path))
		}
		if rc.Timeout < 0 {
			errs = append(errs, fmt.Errorf("kescore: Routes: negative timeout for '%s'", path))
		}
	}
	if c.ProbeInterval < 0 {
		errs = append(errs, errors.New("kescore: ProbeInterval must not be negative"))
	}
	return errors.Join(errs...)
}

// validName reports whether s is a valid key, policy or identity name:
// 1-80 characters of [A-Za-z0-9_-], '-' not first or last, not "_" alone.
func validName(s string) bool {
	if s == "" || len(s) > 80 || s == "_" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	return validChars(s)
}

func validChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validPattern reports whether s is a valid listing pattern, as KES checks
// it: empty, "*", or up to 80 characters following the name rules (not "_"
// alone, '-' neither first nor last) where a last '*' is allowed. So
// "minio-" is refused like the key name "minio-", while "minio-*" is valid.
func validPattern(s string) bool {
	if s == "" || s == "*" {
		return true
	}
	if len(s) > 80 || s == "_" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	return validChars(strings.TrimSuffix(s, "*"))
}

// listPrefix turns a listing pattern into a name prefix.
func listPrefix(pattern string) string {
	if n := len(pattern); n > 0 && pattern[n-1] == '*' {
		return pattern[:n-1]
	}
	return pattern
}
