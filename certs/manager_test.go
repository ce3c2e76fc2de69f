package certs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/internal/testutil"
)

func TestFirstStartCreatesFilesWithModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	m := openT(t, Config{Dir: dir, SANs: []string{"kmsbox", "10.1.2.3", "KMS.Example.org"}})

	wantModes := map[string]os.FileMode{
		".":              0o700 | os.ModeDir,
		"pki":            0o700 | os.ModeDir,
		"pki/ca.key":     0o600,
		"pki/ca.crt":     0o600,
		"pki/server.key": 0o600,
		"pki/server.crt": 0o600,
		"ca.crt":         0o644,
	}
	for name, want := range wantModes {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModeDir | os.ModePerm); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}

	exported, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(exported, m.CAPEM()) {
		t.Error("ca.crt differs from CAPEM()")
	}
	ca, err := parseCertPEM(m.CAPEM())
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := ca.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", ca.PublicKey)
	}
	if !ca.IsCA || ca.NotAfter.Sub(ca.NotBefore) < 9*365*24*time.Hour {
		t.Errorf("CA: IsCA=%v lifetime %v", ca.IsCA, ca.NotAfter.Sub(ca.NotBefore))
	}

	leaf := storedLeaf(t, dir)
	host, _ := os.Hostname()
	want := []string{"localhost", "127.0.0.1", "::1", strings.ToLower(host), "kmsbox", "10.1.2.3", "kms.example.org"}
	got := certNames(leaf)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("server SANs %v lack %q", got, w)
		}
	}
	if len(leaf.IPAddresses) != 3 {
		t.Errorf("IP SANs %v, want 3 (127.0.0.1, ::1, 10.1.2.3)", leaf.IPAddresses)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: m.CAPool(), DNSName: "kms.example.org"}); err != nil {
		t.Errorf("server certificate does not verify against CAPool: %v", err)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Errorf("server lifetime %v, want ~90 days", d)
	}
}

func storedLeaf(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pki", "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCertPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReopenReusesCAAndServerCert(t *testing.T) {
	dir := t.TempDir()
	m1, err := Open(context.Background(), Config{Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ca1, _ := parseCertPEM(m1.CAPEM())
	leaf1 := storedLeaf(t, dir)
	m1.Close()

	m2 := openT(t, Config{Dir: dir})
	ca2, _ := parseCertPEM(m2.CAPEM())
	if fingerprint(ca1) != fingerprint(ca2) {
		t.Fatal("second Open made a new CA")
	}
	if leaf2 := storedLeaf(t, dir); leaf2.SerialNumber.Cmp(leaf1.SerialNumber) != 0 {
		t.Fatalf("second Open re-issued the server certificate: serial %v -> %v", leaf1.SerialNumber, leaf2.SerialNumber)
	}
}

func TestChangedSANsReissueFromSameCA(t *testing.T) {
	dir := t.TempDir()
	m1, err := Open(context.Background(), Config{Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ca1, _ := parseCertPEM(m1.CAPEM())
	leaf1 := storedLeaf(t, dir)
	m1.Close()

	m2 := openT(t, Config{Dir: dir, SANs: []string{"minio-kms"}})
	ca2, _ := parseCertPEM(m2.CAPEM())
	if fingerprint(ca1) != fingerprint(ca2) {
		t.Fatal("changed SANs made a new CA")
	}
	leaf2 := storedLeaf(t, dir)
	if leaf2.SerialNumber.Cmp(leaf1.SerialNumber) == 0 {
		t.Fatal("changed SANs did not re-issue the server certificate")
	}
	if !slices.Contains(leaf2.DNSNames, "minio-kms") {
		t.Errorf("new SANs %v lack minio-kms", leaf2.DNSNames)
	}
	if err := leaf2.CheckSignatureFrom(ca1); err != nil {
		t.Errorf("new server certificate not signed by the old CA: %v", err)
	}

	// The new certificate is served.
	ln := listenT(t, "127.0.0.1:0")
	serveTLS(t, ln, m2.ServerTLSConfig())
	got := handshake(t, ln.Addr().String(), "minio-kms", x509PoolOf(ca1), time.Now())
	if got.SerialNumber.Cmp(leaf2.SerialNumber) != 0 {
		t.Errorf("served serial %v, want %v", got.SerialNumber, leaf2.SerialNumber)
	}
}

func x509PoolOf(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

func TestRenewalIsServedWithoutRestart(t *testing.T) {
	real := time.Now()
	clock := testutil.NewClock(real.Add(-80 * 24 * time.Hour))
	dir := t.TempDir()
	m := openT(t, Config{Dir: dir, Now: clock.Now, CheckInterval: 24 * time.Hour})

	ln := listenT(t, "127.0.0.1:0")
	serveTLS(t, ln, m.ServerTLSConfig())
	addr := ln.Addr().String()
	pool := m.CAPool()

	before := handshake(t, addr, "localhost", pool, real)

	// At real-70d only 10 of 90 days are gone: not due.
	clock.Set(real.Add(-70 * 24 * time.Hour))
	if err := m.maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := handshake(t, addr, "localhost", pool, real); got.SerialNumber.Cmp(before.SerialNumber) != 0 {
		t.Fatal("renewed although two thirds of the life were not over")
	}

	// At real time only ~10 of 90 days are left: due.
	clock.Set(real)
	if err := m.maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := handshake(t, addr, "localhost", pool, real)
	if after.SerialNumber.Cmp(before.SerialNumber) == 0 {
		t.Fatal("handshake after maintenance still sees the old certificate")
	}
	if after.NotAfter.Before(real.Add(89 * 24 * time.Hour)) {
		t.Errorf("renewed certificate expires %v, want ~90 days from now", after.NotAfter)
	}
	// Requests without SNI (by IP) see it too.
	if got := handshake(t, addr, "", pool, real); got.SerialNumber.Cmp(after.SerialNumber) != 0 {
		t.Error("IP handshake does not see the renewed certificate")
	}
	// The renewal is persisted: a restart serves the same certificate.
	if stored := storedLeaf(t, dir); stored.SerialNumber.Cmp(after.SerialNumber) != 0 {
		t.Error("renewed certificate was not stored")
	}
}

func TestRealClientTrustingOnlyCA(t *testing.T) {
	m := openT(t, Config{Dir: t.TempDir()})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(m.CAPEM()) {
		t.Fatal("CAPEM holds no certificate")
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	t.Cleanup(client.CloseIdleConnections)

	ln4 := listenT(t, "127.0.0.1:0")
	serveTLS(t, ln4, m.ServerTLSConfig())
	ln6 := listenT(t, "[::1]:0")
	serveTLS(t, ln6, m.ServerTLSConfig())
	_, port4, _ := net.SplitHostPort(ln4.Addr().String())

	for _, url := range []string{
		"https://" + ln4.Addr().String() + "/",
		"https://" + ln6.Addr().String() + "/",
		"https://localhost:" + port4 + "/",
	} {
		t.Run(url, func(t *testing.T) {
			resp, err := client.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != "ok" {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if resp.TLS.Version < tls.VersionTLS12 || resp.Proto != "HTTP/2.0" {
				t.Errorf("TLS version %x proto %s, want >= 1.2 and HTTP/2", resp.TLS.Version, resp.Proto)
			}
		})
	}

	// A client trusting only the system roots must fail: the chain is ours.
	_, err := (&http.Client{Transport: &http.Transport{}}).Get("https://" + ln4.Addr().String() + "/")
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Errorf("client without our CA: err %v, want x509.UnknownAuthorityError", err)
	}
}

func TestServerTLSConfig(t *testing.T) {
	m := openT(t, Config{Dir: t.TempDir()})
	c1, c2 := m.ServerTLSConfig(), m.ServerTLSConfig()
	if c1 == c2 {
		t.Error("ServerTLSConfig returns a shared value")
	}
	if c1.MinVersion != tls.VersionTLS12 || !slices.Equal(c1.NextProtos, []string{"h2", "http/1.1"}) || c1.GetCertificate == nil {
		t.Errorf("MinVersion %x NextProtos %v GetCertificate nil=%v", c1.MinVersion, c1.NextProtos, c1.GetCertificate == nil)
	}
	// TLS 1.1 is refused.
	ln := listenT(t, "127.0.0.1:0")
	serveTLS(t, ln, c1)
	_, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: m.CAPool(), ServerName: "localhost", MaxVersion: tls.VersionTLS11})
	if err == nil {
		t.Error("TLS 1.1 handshake succeeded")
	}
}

// TestServerTLS12OnlyAEAD handshakes TLS 1.2 with one suite at a time: every suite that is
// not ECDHE with AES-GCM or ChaCha20-Poly1305 (the CBC-SHA1 ones above all) is refused. The
// local certificate is ECDSA, so the ECDHE_RSA suites fail for that reason alone.
func TestServerTLS12OnlyAEAD(t *testing.T) {
	m := openT(t, Config{Dir: t.TempDir()})
	ln := listenT(t, "127.0.0.1:0")
	serveTLS(t, ln, m.ServerTLSConfig())
	aead := map[uint16]bool{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       true,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       true,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: true,
	}
	tried := 0
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if !slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			continue // a TLS 1.3 suite
		}
		tried++
		t.Run(s.Name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
				RootCAs: m.CAPool(), ServerName: "localhost", MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{s.ID},
			})
			if err == nil {
				conn.Close()
			}
			if ok := err == nil; ok != aead[s.ID] {
				t.Errorf("TLS 1.2 handshake offering only %s: err %v, want success %v", s.Name, err, aead[s.ID])
			}
		})
	}
	if tried < 6 {
		t.Fatalf("tried %d suites: crypto/tls lists fewer than expected", tried)
	}
}

func TestCorruptStateIsAnError(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"garbage CA key", func(t *testing.T, dir string) { write(t, dir, "pki/ca.key", []byte("not a key")) }},
		{"truncated CA key", func(t *testing.T, dir string) {
			b := read(t, dir, "pki/ca.key")
			write(t, dir, "pki/ca.key", b[:len(b)/2])
		}},
		{"CA key PEM with bad DER", func(t *testing.T, dir string) {
			write(t, dir, "pki/ca.key", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
		}},
		{"CA key missing", func(t *testing.T, dir string) { remove(t, dir, "pki/ca.key") }},
		{"CA certificate missing", func(t *testing.T, dir string) { remove(t, dir, "pki/ca.crt") }},
		{"CA certificate garbage", func(t *testing.T, dir string) { write(t, dir, "pki/ca.crt", []byte("junk")) }},
		{"CA key of another CA", func(t *testing.T, dir string) {
			other := t.TempDir()
			m, err := Open(context.Background(), Config{Dir: other})
			if err != nil {
				t.Fatal(err)
			}
			m.Close()
			write(t, dir, "pki/ca.key", read(t, other, "pki/ca.key"))
		}},
		{"CA certificate is the server certificate", func(t *testing.T, dir string) {
			write(t, dir, "pki/ca.crt", read(t, dir, "pki/server.crt"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m, err := Open(context.Background(), Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			m.Close()
			tc.damage(t, dir)
			before := snapshot(t, dir)

			m, err = Open(context.Background(), Config{Dir: dir, Logger: testLogger(t)})
			if err == nil {
				m.Close()
				t.Fatal("Open succeeded on damaged CA material")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, "pki")) {
				t.Errorf("error %q does not name the file", err)
			}
			if after := snapshot(t, dir); !maps.Equal(before, after) {
				t.Error("failed Open changed files in the directory")
			}
		})
	}
}

func TestDamagedServerCertIsReissued(t *testing.T) {
	for _, name := range []string{"pki/server.key", "pki/server.crt"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			m, err := Open(context.Background(), Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			ca1 := read(t, dir, "pki/ca.crt")
			m.Close()
			write(t, dir, name, []byte("garbage"))

			m = openT(t, Config{Dir: dir})
			if !bytes.Equal(m.CAPEM(), ca1) {
				t.Fatal("a damaged server certificate replaced the CA")
			}
			leaf := storedLeaf(t, dir)
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: m.CAPool(), DNSName: "localhost"}); err != nil {
				t.Fatal(err)
			}
			if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "pki/server.crt"), filepath.Join(dir, "pki/server.key")); err != nil {
				t.Fatalf("re-issued pair unusable: %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string
	}{
		{"minimal", Config{Dir: "x"}, nil},
		{"no dir", Config{}, []string{"Dir is required"}},
		{"bad SANs", Config{Dir: "x", SANs: []string{"a b", "", "-x.org", "ok.example", "::1"}}, []string{`"a b"`, `SAN ""`, `"-x.org"`}},
		{"negative validity", Config{Dir: "x", Validity: -1}, []string{"Validity"}},
		{"tiny validity", Config{Dir: "x", Validity: time.Second}, []string{"at least one minute"}},
		{"acme without domains", Config{Dir: "x", ACME: &ACMEConfig{}}, []string{"at least one domain"}},
		{"acme bad CA", Config{Dir: "x", ACME: &ACMEConfig{Domains: []string{"a.example"}, CA: "ftp://x"}}, []string{"not an http(s) URL"}},
		{"acme no challenge", Config{Dir: "x", ACME: &ACMEConfig{Domains: []string{"a.example"}, DisableHTTPChallenge: true, DisableTLSALPNChallenge: true}}, []string{"http-01 or the tls-alpn-01"}},
		{"everything wrong at once", Config{Validity: -1, ACME: &ACMEConfig{Email: "nope", HTTPPort: 70000}}, []string{"Dir", "Validity", "domain", "email", "HTTPPort"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := Open(context.Background(), Config{}); err == nil {
		t.Error("Open accepted an invalid config")
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	m, err := Open(context.Background(), Config{Dir: t.TempDir(), CheckInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// snapshot maps every regular file under dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
