package certs

import (
	"context"
	"fmt"

	"github.com/caddyserver/certmagic"
)

// startACME sets certmagic's ACME issuer on the manager's config and hands
// it the domains: certmagic obtains (or loads from Dir), caches and renews
// them. With ACMEConfig.Sync, Open waits for the certificates.
func (m *Manager) startACME(ctx context.Context) error {
	a := m.cfg.ACME
	iss := certmagic.NewACMEIssuer(m.magic, certmagic.ACMEIssuer{
		CA:                      a.CA,
		Email:                   a.Email,
		Agreed:                  true,
		TrustedRoots:            a.TrustedRoots,
		ListenHost:              a.ListenHost,
		AltHTTPPort:             a.HTTPPort,
		AltTLSALPNPort:          a.TLSALPNPort,
		DisableHTTPChallenge:    a.DisableHTTPChallenge,
		DisableTLSALPNChallenge: a.DisableTLSALPNChallenge,
		Logger:                  m.magic.Logger,
	})
	m.magic.Issuers = []certmagic.Issuer{iss}
	domains := make([]string, len(a.Domains))
	for i, d := range a.Domains {
		domains[i] = normalizeName(d)
	}
	if a.Sync {
		if err := m.magic.ManageSync(ctx, domains); err != nil {
			return fmt.Errorf("certs: ACME certificates for %v: %w", domains, err)
		}
		return nil
	}
	// Background work is bounded by the manager's lifetime, not Open's ctx.
	if err := m.magic.ManageAsync(m.ctx, domains); err != nil {
		return fmt.Errorf("certs: ACME certificates for %v: %w", domains, err)
	}
	return nil
}
