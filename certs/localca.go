package certs

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"slices"
	"time"

	"github.com/caddyserver/certmagic"
)

// Storage keys (relative to Config.Dir) of the local PKI.
const (
	keyCACert     = "pki/ca.crt"
	keyCAKey      = "pki/ca.key"
	keyServerCert = "pki/server.crt"
	keyServerKey  = "pki/server.key"
	caExportFile  = "ca.crt"
)

// clockSkew backdates NotBefore so that peers with a slightly slow clock
// accept a freshly issued certificate.
const clockSkew = 5 * time.Minute

// authority is the local CA.
type authority struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
}

// loadOrCreateCA returns the CA kept in storage, creating it only if neither
// its certificate nor its key exists. Anything else that is wrong is
// ErrCorrupt: a silent new CA would break every client trusting the old one.
func loadOrCreateCA(ctx context.Context, st *certmagic.FileStorage, now time.Time) (*authority, bool, error) {
	certPEM, certErr := st.Load(ctx, keyCACert)
	keyPEM, keyErr := st.Load(ctx, keyCAKey)
	certMissing, keyMissing := errors.Is(certErr, fs.ErrNotExist), errors.Is(keyErr, fs.ErrNotExist)
	switch {
	case certMissing && keyMissing:
		ca, err := newCA(ctx, st, now)
		return ca, true, err
	case certErr != nil && !certMissing:
		return nil, false, fmt.Errorf("certs: read CA certificate: %w", certErr)
	case keyErr != nil && !keyMissing:
		return nil, false, fmt.Errorf("certs: read CA key: %w", keyErr)
	case certMissing:
		return nil, false, fmt.Errorf("%w: CA key %s exists but its certificate %s is missing",
			ErrCorrupt, st.Filename(keyCAKey), st.Filename(keyCACert))
	case keyMissing:
		return nil, false, fmt.Errorf("%w: CA certificate %s exists but its key %s is missing",
			ErrCorrupt, st.Filename(keyCACert), st.Filename(keyCAKey))
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, false, fmt.Errorf("%w: CA certificate %s: %v", ErrCorrupt, st.Filename(keyCACert), err)
	}
	if !cert.IsCA {
		return nil, false, fmt.Errorf("%w: CA certificate %s is not a CA", ErrCorrupt, st.Filename(keyCACert))
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, false, fmt.Errorf("%w: CA key %s: %v", ErrCorrupt, st.Filename(keyCAKey), err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, false, fmt.Errorf("%w: CA key %s does not match certificate %s",
			ErrCorrupt, st.Filename(keyCAKey), st.Filename(keyCACert))
	}
	return &authority{cert: cert, certPEM: certPEM, key: key}, false, nil
}

// newCA makes an ECDSA P-256 CA and stores it, key first: a crash between the
// two writes leaves a key without certificate, which loadOrCreateCA reports.
func newCA(ctx context.Context, st *certmagic.FileStorage, now time.Time) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "kmsbox local CA", Organization: []string{"kmsbox"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := storeSynced(ctx, st, keyCAKey, keyPEM); err != nil {
		return nil, fmt.Errorf("certs: store CA key: %w", err)
	}
	if err := storeSynced(ctx, st, keyCACert, certPEM); err != nil {
		return nil, fmt.Errorf("certs: store CA certificate: %w", err)
	}
	return &authority{cert: cert, certPEM: certPEM, key: key}, nil
}

// issueServer signs a fresh server certificate for names with a new P-256
// key. Its lifetime is validity, capped at the CA's expiry.
func (ca *authority) issueServer(names []string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"kmsbox"}},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = marshalKeyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// certNames returns the sorted, normalized DNS and IP SANs of cert.
func certNames(cert *x509.Certificate) []string {
	var names []string
	for _, d := range cert.DNSNames {
		names = append(names, normalizeName(d))
	}
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// renewalDue reports whether less than a third of cert's life is left at now.
func renewalDue(cert *x509.Certificate, now time.Time) bool {
	life := cert.NotAfter.Sub(cert.NotBefore)
	return cert.NotAfter.Sub(now) < life/3
}

func randomSerial() *big.Int {
	// 128 random bits; rand.Int only fails if the reader fails, which the
	// crypto/rand reader does not.
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err)
	}
	return n
}

func marshalKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parseCertPEM returns the first certificate in data.
func parseCertPEM(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// parseKeyPEM parses a PKCS#8, SEC 1 (EC) or PKCS#1 (RSA) private key.
func parseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key block")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported key type %T", key)
		}
		return signer, nil
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
