package kesclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// LoadClientCert loads the PEM certificate and private key files that make
// up a KES client identity.
func LoadClientCert(certFile, keyFile string) (tls.Certificate, error) {
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, errors.New("kesclient: a client certificate needs both a certificate and a key file")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("kesclient: client certificate %s / key %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

// TLSConfig returns a client TLS configuration. certFile and keyFile, if
// set, are the client identity (see [LoadClientCert]). caPath, if set, is a
// PEM file or a directory of PEM files with the CA certificates that verify
// the server; empty means the system roots. insecure skips the verification
// of the server certificate (the CLI's -k/--insecure); the client still
// presents its certificate.
func TLSConfig(certFile, keyFile, caPath string, insecure bool) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	if certFile != "" || keyFile != "" {
		cert, err := LoadClientCert(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	if caPath != "" {
		pool, err := LoadCAs(caPath)
		if err != nil {
			return nil, err
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// InsecureTLS returns a TLS configuration that presents cert and does not
// verify the server certificate, as `kes ... -k` does.
func InsecureTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		Certificates:       []tls.Certificate{cert},
		InsecureSkipVerify: true,
	}
}

// LoadCAs reads CA certificates from a PEM file or from every regular file
// of a directory (files without certificates are skipped). It fails if no
// certificate was found.
func LoadCAs(path string) (*x509.CertPool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("kesclient: CA path: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("kesclient: CA path: %w", err)
		}
		files = files[:0]
		for _, e := range entries {
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	pool := x509.NewCertPool()
	found := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("kesclient: CA file: %w", err)
		}
		if pool.AppendCertsFromPEM(b) {
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("kesclient: no PEM certificate in %s", path)
	}
	return pool, nil
}
