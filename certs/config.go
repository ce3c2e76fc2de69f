package certs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Defaults used when the corresponding Config field is zero.
const (
	// DefaultValidity is the lifetime of a server certificate issued by the
	// local CA.
	DefaultValidity = 90 * 24 * time.Hour
	// CAValidity is the lifetime of the local CA. The CA is never renewed
	// automatically: a new CA would break every client that trusts the old
	// one.
	CAValidity = 10 * 365 * 24 * time.Hour
	// DefaultCheckInterval is how often the maintenance loop checks whether
	// the server certificate is due for renewal.
	DefaultCheckInterval = time.Hour
	// DefaultIdentityValidity is the lifetime NewIdentity uses for a zero
	// validity, the same default as `kes identity new`.
	DefaultIdentityValidity = 720 * time.Hour
	// ClientIdentityValidity is the lifetime of the client certificates made
	// by [Manager.ClientIdentity].
	ClientIdentityValidity = 10 * 365 * 24 * time.Hour
)

// Config configures a [Manager]. It holds live values; flags and files are
// parsed by the caller.
type Config struct {
	// Dir is the directory holding the CA, the server certificate, client
	// identities and certmagic's ACME state, normally <data-dir>/certs.
	// Required. It is created with mode 0700 if missing, and an existing
	// one is tightened to 0700.
	Dir string

	// SANs are extra DNS names or IP addresses for the server certificate, in
	// addition to localhost, 127.0.0.1, ::1 and the host name. Empty means
	// none.
	SANs []string

	// Logger receives certificate events. Nil discards them.
	Logger *slog.Logger

	// ACME, if not nil, makes the certificates for ACME.Domains come from an
	// ACME CA through certmagic. The local CA and its server certificate are
	// kept for every other name (localhost, the loopback addresses), so local
	// health checks and clients trusting ca.crt keep working.
	ACME *ACMEConfig

	// IdentityKey, if not nil, returns the 32-byte Ed25519 seed of the key of a new client
	// identity name (deterministic tests derive it from their seed, so the identity, the
	// hash of its public key, is the same on every fresh start). Nil means random keys.
	IdentityKey func(name string) []byte

	// Now is the clock used to issue and renew local certificates. Nil means
	// time.Now. Tests inject a clock to drive renewal.
	Now func() time.Time

	// Validity is the lifetime of the server certificate issued by the local
	// CA. Zero means DefaultValidity (90 days). It is capped at the CA's
	// expiry. The CA itself lives CAValidity (10 years).
	Validity time.Duration

	// CheckInterval is how often the maintenance loop checks the server
	// certificate for renewal. Zero means DefaultCheckInterval (1 hour).
	CheckInterval time.Duration
}

// ACMEConfig configures certificates obtained from an ACME CA.
type ACMEConfig struct {
	// Domains are the DNS names (or IP addresses, if the CA issues for them)
	// to obtain certificates for. Required, at least one.
	Domains []string

	// CA is the ACME directory URL. Empty means Let's Encrypt production.
	CA string

	// Email is the account contact. Empty means an account without contact.
	Email string

	// TrustedRoots, if not nil, are the roots trusted when talking to the
	// ACME CA (for a private or test CA). Nil means the system roots.
	TrustedRoots *x509.CertPool

	// ListenHost is the interface the challenge solvers bind to. Empty means
	// all interfaces.
	ListenHost string

	// HTTPPort is the port the http-01 solver listens on. Zero means 80.
	HTTPPort int

	// TLSALPNPort is the port the tls-alpn-01 solver listens on. Zero means
	// 443. If the port is already taken, certmagic assumes the listener
	// answers the challenge; a server using [Manager.ServerTLSConfig] does
	// (it offers acme-tls/1 and certmagic's GetCertificate serves the
	// challenge certificate).
	TLSALPNPort int

	// DisableHTTPChallenge turns off the http-01 challenge.
	DisableHTTPChallenge bool

	// DisableTLSALPNChallenge turns off the tls-alpn-01 challenge.
	DisableTLSALPNChallenge bool

	// Sync makes [Open] wait until every domain has a certificate (loaded
	// from Dir or obtained) and fail if one cannot be had. False obtains them
	// in the background; until then the local certificate is served.
	Sync bool
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("certs: Dir is required"))
	}
	for _, s := range c.SANs {
		if err := checkName(s); err != nil {
			errs = append(errs, fmt.Errorf("certs: SAN %q: %w", s, err))
		}
	}
	if c.Validity < 0 {
		errs = append(errs, errors.New("certs: Validity must not be negative"))
	} else if c.Validity > 0 && c.Validity < time.Minute {
		errs = append(errs, errors.New("certs: Validity must be at least one minute"))
	}
	if c.CheckInterval < 0 {
		errs = append(errs, errors.New("certs: CheckInterval must not be negative"))
	}
	if c.ACME != nil {
		errs = append(errs, c.ACME.Validate())
	}
	return errors.Join(errs...)
}

// Validate reports every problem with a at once.
func (a ACMEConfig) Validate() error {
	var errs []error
	if len(a.Domains) == 0 {
		errs = append(errs, errors.New("certs: ACME needs at least one domain"))
	}
	for _, d := range a.Domains {
		if err := checkName(d); err != nil {
			errs = append(errs, fmt.Errorf("certs: ACME domain %q: %w", d, err))
		}
	}
	if a.CA != "" {
		u, err := url.Parse(a.CA)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("certs: ACME CA %q is not an http(s) URL", a.CA))
		}
	}
	if a.Email != "" && !strings.Contains(a.Email, "@") {
		errs = append(errs, fmt.Errorf("certs: ACME email %q is not an email address", a.Email))
	}
	for name, p := range map[string]int{"HTTPPort": a.HTTPPort, "TLSALPNPort": a.TLSALPNPort} {
		if p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("certs: ACME %s %d is out of range", name, p))
		}
	}
	if a.DisableHTTPChallenge && a.DisableTLSALPNChallenge {
		errs = append(errs, errors.New("certs: ACME needs the http-01 or the tls-alpn-01 challenge"))
	}
	return errors.Join(errs...)
}

// checkName accepts an IP address or a DNS name (optionally with one leading
// wildcard label) as a certificate subject.
func checkName(s string) error {
	if net.ParseIP(s) != nil {
		return nil
	}
	name := strings.TrimPrefix(s, "*.")
	if name == "" || len(s) > 253 {
		return errors.New("empty or longer than 253 characters")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("a label is empty or longer than 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("a label starts or ends with '-'")
		}
		for _, r := range label {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			default:
				return fmt.Errorf("invalid character %q", r)
			}
		}
	}
	return nil
}

// normalizeName returns the canonical spelling of a valid name: IPs in
// their shortest form, DNS names in lower case.
func normalizeName(s string) string {
	if ip := net.ParseIP(s); ip != nil {
		return ip.String()
	}
	return strings.ToLower(s)
}
