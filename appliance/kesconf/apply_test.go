package kesconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/kescore"
)

func TestApplyGuide(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "guide.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := kescore.Config{Admin: "from-flag", Keys: []string{"minio-key-1"}}
	if err := f.Apply(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Admin != "from-flag" {
		t.Fatalf("admin changed to %q though the file sets none", cfg.Admin)
	}
	want := map[string]kescore.Policy{"minio": {
		Allow:      []string{"/v1/key/create/minio-*", "/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*"},
		Identities: []string{"dd46485bedc9ad2909d2e8f9017216eec4413bc5c64b236d992f7ec19c843c5f"},
	}}
	if !reflect.DeepEqual(cfg.Policies, want) {
		t.Fatalf("policies %+v", cfg.Policies)
	}
	if cfg.Cache.Expiry != 5*time.Minute || cfg.Cache.ExpiryUnused != 20*time.Second || cfg.VerifyClientCerts {
		t.Fatalf("cfg %+v", cfg)
	}
}

func TestApplyYAML(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeTestCA(t, ca)
	yml := "admin:\n  identity: disabled\ntls:\n  auth: on\n  ca: " + ca +
		"\ncache:\n  expiry:\n    offline: 1h\nkeys:\n- name: k1\napi:\n  /v1/metrics:\n    skip_auth: true\n"
	f, err := ParseYAML([]byte(yml), nil)
	if err != nil {
		t.Fatal(err)
	}
	var cfg kescore.Config
	if err := f.Apply(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Admin != "disabled" || !cfg.VerifyClientCerts || cfg.ClientCAs == nil || cfg.Cache.ExpiryOffline != time.Hour ||
		!reflect.DeepEqual(cfg.Keys, []string{"k1"}) || !cfg.Routes["/v1/metrics"].SkipAuth {
		t.Fatalf("cfg %+v", cfg)
	}
	cfg.Store = nopStore{}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("applied config invalid: %v", err)
	}

	f.TLS.CA = filepath.Join(dir, "missing.pem")
	if err := f.Apply(&cfg); err == nil || !strings.Contains(err.Error(), "tls.ca") {
		t.Fatalf("missing CA: %v", err)
	}
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.TLS.CA = bad
	if err := f.Apply(&cfg); err == nil || !strings.Contains(err.Error(), "no PEM certificates") {
		t.Fatalf("bad CA: %v", err)
	}
}

func writeTestCA(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// nopStore satisfies kescore.KeyStore for Validate.
type nopStore struct{ kescore.KeyStore }
