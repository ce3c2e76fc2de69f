package certs

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/minio/kms-go/kes"
)

var identityRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestNewIdentityShape(t *testing.T) {
	certPEM, keyPEM, err := NewIdentity("MinIO", 8760*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		t.Fatalf("key PEM block %v, want PRIVATE KEY", kb)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := key.(ed25519.PrivateKey); !ok {
		t.Fatalf("key is %T, want ed25519", key)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "MinIO" {
		t.Errorf("CN %q", cert.Subject.CommonName)
	}
	if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("EKU %v, want ClientAuth", cert.ExtKeyUsage)
	}
	if cert.IsCA {
		t.Error("identity certificate is a CA (KES skips CA peer certificates)")
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if d := time.Until(cert.NotAfter); d < 8759*time.Hour || d > 8761*time.Hour {
		t.Errorf("valid for %v more, want 8760h", d)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Errorf("pair unusable by crypto/tls: %v", err)
	}

	// Default validity is kes' 720h.
	certPEM, _, err = NewIdentity("x", 0)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = parseCertPEM(certPEM)
	if d := time.Until(cert.NotAfter); d < 719*time.Hour || d > 721*time.Hour {
		t.Errorf("default validity %v, want 720h", d)
	}

	for _, bad := range []struct {
		name     string
		validity time.Duration
	}{{"", time.Hour}, {"x", -time.Hour}} {
		if _, _, err := NewIdentity(bad.name, bad.validity); err == nil {
			t.Errorf("NewIdentity(%q, %v) succeeded", bad.name, bad.validity)
		}
	}
}

// TestIdentityMatchesKES checks our hash against the KES client library in
// both directions and against the spec's rule.
func TestIdentityMatchesKES(t *testing.T) {
	// kes -> us: a certificate made by the KES client for its API key.
	apiKey, err := kes.GenerateAPIKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kes.GenerateCertificate(apiKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kesIdentity(kc.Leaf), apiKey.Identity().String(); got != want {
		t.Errorf("kesIdentity(kes cert) = %s, kes says %s", got, want)
	}

	// us -> kes: the Ed25519 seed of our identity, as a KES API key.
	certPEM, keyPEM, err := NewIdentity("admin", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := parseKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	seed := priv.(ed25519.PrivateKey).Seed()
	parsed, err := kes.ParseAPIKey("kes:v1:" + base64.StdEncoding.EncodeToString(append([]byte{0}, seed...)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := IdentityOfPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if want := parsed.Identity().String(); got != want {
		t.Errorf("IdentityOfPEM = %s, kes says %s", got, want)
	}

	// The spec: lowercase hex SHA-256 of RawSubjectPublicKeyInfo, 64 chars.
	cert, _ := parseCertPEM(certPEM)
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	if want := hex.EncodeToString(sum[:]); got != want || !identityRE.MatchString(got) {
		t.Errorf("identity %s, spec rule gives %s", got, want)
	}
}

func TestIdentityOfPEM(t *testing.T) {
	certPEM, keyPEM, err := NewIdentity("a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := IdentityOfPEM(certPEM)
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"cert", certPEM, false},
		{"key before cert", append(append([]byte{}, keyPEM...), certPEM...), false},
		{"empty", nil, true},
		{"key only", keyPEM, true},
		{"not PEM", []byte("hello"), true},
		{"bad DER", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := IdentityOfPEM(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %s, want error", got)
				}
				return
			}
			if err != nil || got != want {
				t.Fatalf("got %q, %v; want %s", got, err, want)
			}
		})
	}
}

func TestClientIdentity(t *testing.T) {
	dir := t.TempDir()
	m := openT(t, Config{Dir: dir})
	certFile, keyFile, id, err := m.ClientIdentity("admin")
	if err != nil {
		t.Fatal(err)
	}
	if certFile != filepath.Join(dir, "admin.crt") || keyFile != filepath.Join(dir, "admin.key") {
		t.Errorf("files %s %s", certFile, keyFile)
	}
	for _, f := range []string{certFile, keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if kesIdentity(pair.Leaf) != id || !identityRE.MatchString(id) {
		t.Errorf("returned identity %s does not match the file's", id)
	}
	if time.Until(pair.Leaf.NotAfter) < 9*365*24*time.Hour {
		t.Errorf("client identity expires %v, want long-lived", pair.Leaf.NotAfter)
	}
	content := read(t, dir, "admin.crt")

	// Reused, also after a restart.
	_, _, id2, err := m.ClientIdentity("admin")
	if err != nil || id2 != id {
		t.Fatalf("second call: %s, %v; want %s", id2, err, id)
	}
	m.Close()
	m2 := openT(t, Config{Dir: dir})
	_, _, id3, err := m2.ClientIdentity("admin")
	if err != nil || id3 != id || !bytes.Equal(read(t, dir, "admin.crt"), content) {
		t.Fatalf("after restart: %s, %v; want %s unchanged", id3, err, id)
	}

	// Distinct names are distinct identities.
	_, _, idMinio, err := m2.ClientIdentity("minio")
	if err != nil || idMinio == id {
		t.Fatalf("minio identity %s, %v", idMinio, err)
	}

	// Damage is an error, not a new identity.
	write(t, dir, "minio.key", []byte("junk"))
	if _, _, _, err := m2.ClientIdentity("minio"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged key: err %v, want ErrCorrupt", err)
	}
	remove(t, dir, "admin.key")
	if _, _, _, err := m2.ClientIdentity("admin"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("missing key: err %v, want ErrCorrupt", err)
	}

	for _, bad := range []string{"", "ca", "../x", "a/b", "a.b", string(make([]byte, 65))} {
		if _, _, _, err := m2.ClientIdentity(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ClientIdentity(%q): err %v, want ErrInvalidName", bad, err)
		}
	}
	// The CA is untouched by identity work.
	if !bytes.Equal(read(t, dir, "ca.crt"), m2.CAPEM()) {
		t.Error("ca.crt changed")
	}
}

func FuzzIdentityOfPEM(f *testing.F) {
	certPEM, keyPEM, err := NewIdentity("seed", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(certPEM)
	f.Add(keyPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := IdentityOfPEM(data)
		if err != nil {
			return
		}
		if !identityRE.MatchString(id) {
			t.Fatalf("identity %q is not 64 lowercase hex digits", id)
		}
	})
}
