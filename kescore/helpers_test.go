package kescore

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/minio/kms-go/kes"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// testIdentity is a client certificate from a fixed Ed25519 seed, so its
// identity (and the golden files) are stable.
type testIdentity struct {
	cert tls.Certificate
	id   string
}

func newIdentity(t testing.TB, seed byte, cn string) testIdentity {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(slices.Repeat([]byte{seed}, ed25519.SeedSize))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(seed) + 1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testIdentity{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, id: Identity(leaf)}
}

var (
	adminSeed = byte(1)
	minioSeed = byte(2)
	otherSeed = byte(3)
)

// testEnv is a kescore server on an mTLS listener on 127.0.0.1:0.
type testEnv struct {
	srv   *Server
	store *MemKeyStore
	url   string
	ts    *httptest.Server
	admin testIdentity
	minio testIdentity
	other testIdentity
}

// guidePolicy is the policy of the MinIO KMS guide, step 4.
func guidePolicy(ids ...string) Policy {
	return Policy{
		Allow:      []string{"/v1/key/create/minio-*", "/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*"},
		Identities: ids,
	}
}

func newEnv(t testing.TB, mutate func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{
		store: NewMemKeyStore(),
		admin: newIdentity(t, adminSeed, "admin"),
		minio: newIdentity(t, minioSeed, "MinIO"),
		other: newIdentity(t, otherSeed, "other"),
	}
	cfg := Config{
		Store:    e.store,
		Admin:    e.admin.id,
		Policies: map[string]Policy{"minio": guidePolicy(e.minio.id)},
		Version:  "2025-03-12T09-35-18Z",
		Commit:   "0000000000000000000000000000000000000000",
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.ts = httptest.NewUnstartedServer(srv.Handler())
	e.ts.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	e.ts.EnableHTTP2 = true // KES offers h2 and http/1.1
	e.ts.StartTLS()
	e.url = e.ts.URL
	t.Cleanup(func() {
		srv.Close()
		e.ts.Close()
	})
	return e
}

// client returns the real KES client authenticated as id.
func (e *testEnv) client(id testIdentity) *kes.Client {
	return kes.NewClientWithConfig(e.url, &tls.Config{
		Certificates:       []tls.Certificate{id.cert},
		InsecureSkipVerify: true,
	})
}

// httpClient returns a plain HTTP client authenticated as id, not following redirects.
func (e *testEnv) httpClient(id testIdentity) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{
		Certificates:       []tls.Certificate{id.cert},
		InsecureSkipVerify: true,
	}}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// golden compares got with testdata/golden/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s mismatch:\n got: %s\nwant: %s", name, got, want)
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
