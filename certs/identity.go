package certs

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// kesIdentity returns the KES identity of cert: the lowercase hex SHA-256 of its DER
// SubjectPublicKeyInfo (64 characters). The definition is kescore.Identity's; certs keeps
// this private copy of its two lines so as not to import the key server, and
// appliance's TestIdentityAgrees pins that the two agree.
func kesIdentity(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// IdentityOfPEM returns the KES identity of the first certificate in a PEM
// file, as `kes identity of` prints it.
func IdentityOfPEM(data []byte) (string, error) {
	cert, err := parseCertPEM(data)
	if err != nil {
		return "", fmt.Errorf("certs: %w", err)
	}
	return kesIdentity(cert), nil
}

// NewIdentity makes a client identity the way `kes identity new` does: a
// fresh Ed25519 key (PKCS#8 PEM "PRIVATE KEY") and a self-signed certificate
// with CN=name and the ClientAuth extended key usage, valid from now for
// validity (zero means DefaultIdentityValidity, 720h).
func NewIdentity(name string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	return newIdentity(name, time.Now(), validity, nil)
}

// newIdentity makes an identity; keySeed, when 32 bytes, is the Ed25519 seed of its key.
func newIdentity(name string, now time.Time, validity time.Duration, keySeed []byte) (certPEM, keyPEM []byte, err error) {
	if name == "" {
		return nil, nil, fmt.Errorf("%w: empty name", ErrInvalidName)
	}
	if validity < 0 {
		return nil, nil, errors.New("certs: identity validity must not be negative")
	}
	if validity == 0 {
		validity = DefaultIdentityValidity
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if len(keySeed) == ed25519.SeedSize {
		priv = ed25519.NewKeyFromSeed(keySeed)
		pub = priv.Public().(ed25519.PublicKey)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = marshalKeyPEM(priv)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// ClientIdentity returns the files <Dir>/<name>.crt and <Dir>/<name>.key
// (both 0600) of a client certificate made by NewIdentity with
// ClientIdentityValidity, and its KES identity. The pair is made on the first
// call and reused afterwards, so the identity is stable across restarts. A
// pair that exists but is unusable is an error wrapping ErrCorrupt. name is
// 1-64 characters of [A-Za-z0-9_-] and not "ca".
func (m *Manager) ClientIdentity(name string) (certFile, keyFile, identity string, err error) {
	if err := checkIdentityName(name); err != nil {
		return "", "", "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx := context.Background()
	certKey, keyKey := name+".crt", name+".key"
	certFile, keyFile = m.storage.Filename(certKey), m.storage.Filename(keyKey)

	certPEM, certErr := m.storage.Load(ctx, certKey)
	keyPEM, keyErr := m.storage.Load(ctx, keyKey)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		var keySeed []byte
		if m.cfg.IdentityKey != nil {
			keySeed = m.cfg.IdentityKey(name)
		}
		certPEM, keyPEM, err = newIdentity(name, m.now(), ClientIdentityValidity, keySeed)
		if err != nil {
			return "", "", "", err
		}
		if err := storeSynced(ctx, m.storage, keyKey, keyPEM); err != nil {
			return "", "", "", fmt.Errorf("certs: store identity key: %w", err)
		}
		if err := storeSynced(ctx, m.storage, certKey, certPEM); err != nil {
			return "", "", "", fmt.Errorf("certs: store identity certificate: %w", err)
		}
		m.log.Info("created client identity", "name", name, "cert", certFile)
	case certErr != nil || keyErr != nil:
		return "", "", "", fmt.Errorf("%w: identity %q: certificate: %v; key: %v", ErrCorrupt, name, certErr, keyErr)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return "", "", "", fmt.Errorf("%w: identity certificate %s: %v", ErrCorrupt, certFile, err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return "", "", "", fmt.Errorf("%w: identity key %s: %v", ErrCorrupt, keyFile, err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return "", "", "", fmt.Errorf("%w: identity key %s does not match %s", ErrCorrupt, keyFile, certFile)
	}
	// KES does not verify client chains by default, so an expired identity
	// still authenticates; replacing it would change the identity silently.
	if m.now().After(cert.NotAfter) {
		m.log.Warn("client identity certificate has expired", "name", name, "not_after", cert.NotAfter)
	}
	for _, f := range []string{certFile, keyFile} {
		if err := tightenFile(f); err != nil {
			return "", "", "", err
		}
	}
	return certFile, keyFile, kesIdentity(cert), nil
}

// checkIdentityName keeps identity names usable as file names in Dir
// without colliding with ca.crt.
func checkIdentityName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("%w: %q must be 1-64 characters", ErrInvalidName, name)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return fmt.Errorf("%w: %q may hold only A-Z, a-z, 0-9, '-' and '_'", ErrInvalidName, name)
		}
	}
	if name == "ca" {
		return fmt.Errorf("%w: %q is reserved for the CA certificate", ErrInvalidName, name)
	}
	return nil
}
