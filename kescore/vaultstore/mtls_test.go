package vaultstore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/kescore"
)

// TestClientCertAndNamespace: the store presents its client certificate to
// a Vault that demands one, sends the namespace on K/V and login requests
// and clears it for sys/health.
func TestClientCertAndNamespace(t *testing.T) {
	v := startVault(t)
	role := v.appRole(t, "kes-role", "5m", "minio-key-policy")
	dir := t.TempDir()

	// A client certificate, written as PEM files.
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kes"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	must(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	must(t, err)
	certFile, keyFile := filepath.Join(dir, "kes.crt"), filepath.Join(dir, "kes.key")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))

	// The same vault behind a listener that demands a client certificate
	// and records the namespace header per path.
	var mu sync.Mutex
	namespaces := map[string]string{}
	var peer []byte
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		namespaces[r.URL.Path] = r.Header.Get("X-Vault-Namespace")
		if len(r.TLS.PeerCertificates) > 0 {
			peer = r.TLS.PeerCertificates[0].Raw
		}
		mu.Unlock()
		v.ev.Handler().ServeHTTP(w, r)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(dir, "ca.pem")
	must(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

	ctx := t.Context()
	cfg := Config{Endpoint: srv.URL, CAFile: ca, Engine: "kv", Prefix: "minio", Namespace: "team-a", AppRole: role,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := Connect(ctx, cfg); !errors.Is(err, kescore.ErrStoreUnreachable) {
		t.Fatalf("without client certificate: %v", err)
	}

	cfg.CertFile, cfg.KeyFile = certFile, keyFile
	s, err := Connect(ctx, cfg)
	must(t, err)
	t.Cleanup(func() { must(t, s.Close()) })
	must(t, s.Create(ctx, "minio-key-1", []byte(value)))
	_, err = s.Status(ctx)
	must(t, err)

	mu.Lock()
	defer mu.Unlock()
	if string(peer) != string(der) {
		t.Error("Vault did not see the configured client certificate")
	}
	for p, want := range map[string]string{
		"/v1/auth/approle/login":   "team-a",
		"/v1/kv/minio/minio-key-1": "team-a",
		"/v1/sys/health":           "",
	} {
		if got, ok := namespaces[p]; !ok || got != want {
			t.Errorf("%s: namespace %q (seen %v), want %q", p, got, ok, want)
		}
	}
}
