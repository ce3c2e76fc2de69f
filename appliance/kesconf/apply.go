package kesconf

import (
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/kmsbox/kmsbox/kescore"
)

// Apply copies what the file decides into a runtime kescore.Config: the
// admin identity (if the file sets one), the policies, cache expiries, keys
// to create, route overrides and client certificate verification (with
// the CA file of tls.ca). Store, Logger, Version and everything about the
// listener stay the caller's. Values the file leaves unset keep cfg's.
func (f *File) Apply(cfg *kescore.Config) error {
	if f.Admin != "" {
		cfg.Admin = f.Admin
	}
	if f.Policies != nil {
		cfg.Policies = make(map[string]kescore.Policy, len(f.Policies))
		for name, p := range f.Policies {
			cfg.Policies[name] = kescore.Policy{
				Allow:      slices.Clone(p.Allow),
				Deny:       slices.Clone(p.Deny),
				Identities: slices.Clone(p.Identities),
			}
		}
	}
	if f.Cache.Any > 0 {
		cfg.Cache.Expiry = f.Cache.Any
	}
	if f.Cache.Unused > 0 {
		cfg.Cache.ExpiryUnused = f.Cache.Unused
	}
	if f.Cache.Offline > 0 {
		cfg.Cache.ExpiryOffline = f.Cache.Offline
	}
	for _, k := range f.Keys {
		if !slices.Contains(cfg.Keys, k) {
			cfg.Keys = append(cfg.Keys, k)
		}
	}
	if len(f.API) > 0 {
		if cfg.Routes == nil {
			cfg.Routes = map[string]kescore.RouteConfig{}
		} else {
			cfg.Routes = maps.Clone(cfg.Routes)
		}
		for path, a := range f.API {
			cfg.Routes[path] = kescore.RouteConfig{SkipAuth: a.SkipAuth, Timeout: a.Timeout}
		}
	}
	switch f.TLS.Auth {
	case "verify":
		cfg.VerifyClientCerts = true
	case "ignore":
		cfg.VerifyClientCerts = false
	}
	if f.TLS.CA != "" {
		pool, err := loadCertPool(f.TLS.CA)
		if err != nil {
			return fmt.Errorf("kesconf: tls.ca: %w", err)
		}
		cfg.ClientCAs = pool
	}
	return nil
}

// loadCertPool reads PEM certificates from a file.
func loadCertPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New(path + ": no PEM certificates")
	}
	return pool, nil
}
