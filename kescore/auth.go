package kescore

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"strings"
)

// Identity returns the KES identity of a certificate: the lowercase hex
// SHA-256 of its DER SubjectPublicKeyInfo.
func Identity(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// identify returns the identity of the request's client certificate. CA
// certificates in the peer chain are skipped, as KES does.
func (s *Server) identify(r *http.Request) (string, error) {
	if r.TLS == nil {
		return "", errTLSRequired
	}
	var leaf *x509.Certificate
	for _, c := range r.TLS.PeerCertificates {
		if c.IsCA {
			continue
		}
		if leaf != nil {
			return "", errManyClientCerts
		}
		leaf = c
	}
	if leaf == nil {
		return "", errNoClientCert
	}
	if s.cfg.VerifyClientCerts {
		inter := x509.NewCertPool()
		for _, c := range r.TLS.PeerCertificates {
			if c != leaf {
				inter.AddCert(c)
			}
		}
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots:         s.cfg.ClientCAs,
			Intermediates: inter,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			return "", errCertNotVerified
		}
	}
	return Identity(leaf), nil
}

// policy is a Policy prepared for matching.
type policy struct {
	name        string
	allow, deny []string
}

// authorize reports whether identity may access path: the admin always,
// a policy member iff no deny pattern and some allow pattern matches.
func (s *Server) authorize(identity, path string) error {
	if identity == s.cfg.Admin {
		return nil
	}
	p, ok := s.members[identity]
	if !ok {
		return ErrNotAllowed
	}
	for _, pat := range p.deny {
		if matchPattern(pat, path) {
			return ErrNotAllowed
		}
	}
	for _, pat := range p.allow {
		if matchPattern(pat, path) {
			return nil
		}
	}
	return ErrNotAllowed
}

// matchPattern is KES's current rule: a pattern ending in '*' matches every
// path that starts with the rest (crossing '/'); otherwise the pattern must
// equal the path. The empty pattern matches nothing.
func matchPattern(pattern, path string) bool {
	if pattern == "" {
		return false
	}
	if strings.HasSuffix(pattern, "*") {
		return strings.HasPrefix(path, pattern[:len(pattern)-1])
	}
	return pattern == path
}
