package kesclient_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kmsbox/kmsbox/kescore/kesclient"
)

// writeIdentity writes cert's certificate and key as PEM files, as
// `kes identity new` leaves them.
func writeIdentity(t *testing.T, dir string, cert tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSHelpers(t *testing.T) {
	ctx := t.Context()
	k := startKescore(t)
	dir := t.TempDir()
	certFile, keyFile := writeIdentity(t, dir, k.admin)
	caDir := filepath.Join(dir, "cas")
	if err := os.Mkdir(caDir, 0o700); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(caDir, "server.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(caDir, "README"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}

	selfIs := func(t *testing.T, conf *tls.Config) error {
		t.Helper()
		c, err := kesclient.New(kesclient.Config{Endpoints: []string{k.srv.URL}, TLS: conf, Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.DescribeSelf(ctx)
		if err == nil && info.Identity != identityOf(k.admin.Leaf) {
			t.Fatalf("identity %s", info.Identity)
		}
		return err
	}

	cert, err := kesclient.LoadClientCert(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("insecure", func(t *testing.T) {
		if err := selfIs(t, kesclient.InsecureTLS(cert)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("CA file", func(t *testing.T) {
		conf, err := kesclient.TLSConfig(certFile, keyFile, caFile, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := selfIs(t, conf); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("CA directory", func(t *testing.T) {
		conf, err := kesclient.TLSConfig(certFile, keyFile, caDir, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := selfIs(t, conf); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown server CA", func(t *testing.T) {
		conf, err := kesclient.TLSConfig(certFile, keyFile, "", false)
		if err != nil {
			t.Fatal(err)
		}
		err = selfIs(t, conf)
		var ce *kesclient.ConnError
		var ue *tls.CertificateVerificationError
		if !errors.As(err, &ce) || !errors.As(err, &ue) || !kesclient.IsUnavailable(err) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		conf, err := kesclient.TLSConfig("", "", caFile, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := selfIs(t, conf); err == nil {
			t.Fatal("server accepted a client without certificate")
		}
	})

	for name, fn := range map[string]func() error{
		"missing key file": func() error { _, err := kesclient.LoadClientCert(certFile, filepath.Join(dir, "nope")); return err },
		"swapped files":    func() error { _, err := kesclient.LoadClientCert(keyFile, certFile); return err },
		"only cert":        func() error { _, err := kesclient.TLSConfig(certFile, "", "", false); return err },
		"CA without certs": func() error { _, err := kesclient.LoadCAs(keyFile); return err },
		"CA path missing":  func() error { _, err := kesclient.LoadCAs(filepath.Join(dir, "nope")); return err },
		"CA dir empty-ish": func() error { _, err := kesclient.LoadCAs(t.TempDir()); return err },
	} {
		if fn() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestIsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&kesclient.ConnError{Endpoint: "https://x:7373", Err: errors.New("refused")}, true},
		{&kesclient.Error{Status: 502, Message: "key store is unavailable"}, true},
		{&kesclient.Error{Status: 504, Message: "key store is not reachable"}, true},
		{&kesclient.Error{Status: 501, Message: "not implemented"}, false},
		{kesclient.ErrKeyNotFound, false},
		{kesclient.ErrNotAllowed, false},
		{errors.New("other"), false},
		{nil, false},
	} {
		if got := kesclient.IsUnavailable(tc.err); got != tc.want {
			t.Errorf("IsUnavailable(%v) = %v", tc.err, got)
		}
	}
}
