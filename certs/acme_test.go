package certs

import (
	"context"
	"crypto/x509"
	"io/fs"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"github.com/kmsbox/kmsbox/internal/testutil"
)

// acmeDomain is not a loopback name: pebble resolves it through our test
// DNS server to 127.0.0.1, like a public name would resolve to the host.
const acmeDomain = "kms.kmsbox.test"

// startDNS answers every A query with 127.0.0.1 over TCP (pebble's VA
// queries a custom resolver over TCP) and returns its address.
func startDNS(t *testing.T) string {
	t.Helper()
	ln := listenT(t, "127.0.0.1:0")
	started := make(chan struct{})
	srv := &dns.Server{
		Listener:          ln,
		Net:               "tcp",
		NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(r)
			for _, q := range r.Question {
				if q.Qtype == dns.TypeA {
					m.Answer = append(m.Answer, &dns.A{
						Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET},
						A:   net.IPv4(127, 0, 0, 1),
					})
				}
			}
			w.WriteMsg(m)
		}),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("dns server: %v", err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		<-done
	})
	return ln.Addr().String()
}

// pebbleCA is an in-process pebble ACME server.
type pebbleCA struct {
	dirURL   string
	apiRoots *x509.CertPool // trusts the ACME API's TLS certificate
	issuing  *x509.CertPool // trusts the certificates pebble issues
	srv      *httptest.Server
}

// startPebble runs pebble's WFE, CA and VA in-process. Its VA validates
// tls-alpn-01 on tlsALPNPort of whatever our DNS server resolves the name
// to (127.0.0.1).
func startPebble(t *testing.T, tlsALPNPort int) *pebbleCA {
	t.Helper()
	// No random validation delays and no injected bad nonces: the test
	// must be fast and deterministic.
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	logs := &testutil.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pebble log:\n%s", logs)
		}
	})
	logger := log.New(logs, "pebble ", log.Lmicroseconds)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default": {Description: "default profile"},
	})
	// The http-01 port is never used: the test disables that challenge.
	validator := va.New(logger, 1, tlsALPNPort, false, startDNS(t), store)
	frontEnd := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)

	srv := httptest.NewUnstartedServer(frontEnd.Handler())
	srv.StartTLS()
	t.Cleanup(srv.Close)

	p := &pebbleCA{
		dirURL:   srv.URL + wfe.DirectoryPath,
		apiRoots: x509.NewCertPool(),
		issuing:  x509.NewCertPool(),
		srv:      srv,
	}
	p.apiRoots.AddCert(srv.Certificate())
	for i := 0; i < authority.GetNumberOfRootCerts(); i++ {
		p.issuing.AddCert(authority.GetRootCert(i).Cert)
	}
	return p
}

// freePort returns a loopback TCP port that was free a moment ago, for the
// certmagic tls-alpn-01 solver, which binds its own listener.
func freePort(t *testing.T) int {
	t.Helper()
	ln := listenT(t, "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestACMEFromPebble(t *testing.T) {
	alpnPort := freePort(t)
	pebble := startPebble(t, alpnPort)
	dir := t.TempDir()
	acme := &ACMEConfig{
		Domains:              []string{acmeDomain},
		CA:                   pebble.dirURL,
		Email:                "ops@kmsbox.test",
		TrustedRoots:         pebble.apiRoots,
		ListenHost:           "127.0.0.1",
		TLSALPNPort:          alpnPort,
		DisableHTTPChallenge: true,
		Sync:                 true,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := Open(ctx, Config{Dir: dir, ACME: acme, SANs: []string{acmeDomain, "other.kmsbox.test"}, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open with ACME: %v", err)
	}

	select {
	case <-m.ACMEReady():
	default:
		t.Error("ACMEReady not closed after a synchronous Open")
	}

	ln := listenT(t, "127.0.0.1:0")
	serveTLS(t, ln, m.ServerTLSConfig())
	addr := ln.Addr().String()

	// The ACME name is served the certificate pebble issued.
	got := handshake(t, addr, acmeDomain, pebble.issuing, time.Now())
	if !slices.Equal(got.DNSNames, []string{acmeDomain}) {
		t.Errorf("ACME certificate names %v, want [%s]", got.DNSNames, acmeDomain)
	}
	if _, err := got.Verify(x509.VerifyOptions{Roots: m.CAPool(), DNSName: acmeDomain}); err == nil {
		t.Error("ACME name was served a certificate of the local CA")
	}
	// Every other name still gets the local certificate.
	local := handshake(t, addr, "localhost", m.CAPool(), time.Now())
	if slices.Contains(local.DNSNames, acmeDomain) {
		t.Errorf("local certificate claims the ACME name: %v", local.DNSNames)
	}
	if !slices.Contains(local.DNSNames, "other.kmsbox.test") {
		t.Errorf("local certificate lacks the extra SAN: %v", local.DNSNames)
	}
	handshake(t, addr, "", m.CAPool(), time.Now()) // by IP

	// certmagic kept the certificate and its key in Dir, keys 0600.
	var keys []string
	filepath.WalkDir(filepath.Join(dir, "certificates"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, acmeDomain+".key") {
			keys = append(keys, p)
			if fi, _ := d.Info(); fi.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v, want 0600", p, fi.Mode().Perm())
			}
		}
		return nil
	})
	if len(keys) != 1 {
		t.Fatalf("stored ACME keys %v, want one", keys)
	}
	first := got.SerialNumber
	m.Close()

	// A restart loads the certificate from Dir; the CA is not asked again.
	pebble.srv.Close()
	m2, err := Open(ctx, Config{Dir: dir, ACME: acme, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("reopen with the ACME CA down: %v", err)
	}
	defer m2.Close()
	ln2 := listenT(t, "127.0.0.1:0")
	serveTLS(t, ln2, m2.ServerTLSConfig())
	if again := handshake(t, ln2.Addr().String(), acmeDomain, pebble.issuing, time.Now()); again.SerialNumber.Cmp(first) != 0 {
		t.Errorf("restart served serial %v, want the stored %v", again.SerialNumber, first)
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.crt")); err != nil {
		t.Errorf("ca.crt missing in ACME mode: %v", err)
	}
}

func TestACMEAsync(t *testing.T) {
	alpnPort := freePort(t)
	pebble := startPebble(t, alpnPort)
	m := openT(t, Config{Dir: t.TempDir(), ACME: &ACMEConfig{
		Domains:              []string{acmeDomain},
		CA:                   pebble.dirURL,
		TrustedRoots:         pebble.apiRoots,
		ListenHost:           "127.0.0.1",
		TLSALPNPort:          alpnPort,
		DisableHTTPChallenge: true,
	}})
	// Local names are served at once, whatever the ACME state.
	ln := listenT(t, "127.0.0.1:0")
	serveTLS(t, ln, m.ServerTLSConfig())
	handshake(t, ln.Addr().String(), "localhost", m.CAPool(), time.Now())

	select {
	case <-m.ACMEReady():
	case <-time.After(30 * time.Second):
		t.Fatal("ACME certificate not obtained in the background within 30s")
	}
	got := handshake(t, ln.Addr().String(), acmeDomain, pebble.issuing, time.Now())
	if !slices.Equal(got.DNSNames, []string{acmeDomain}) {
		t.Errorf("names %v, want [%s]", got.DNSNames, acmeDomain)
	}
}

func TestACMEReadyWithoutACME(t *testing.T) {
	m := openT(t, Config{Dir: t.TempDir()})
	select {
	case <-m.ACMEReady():
	default:
		t.Error("ACMEReady not closed without ACME")
	}
}
