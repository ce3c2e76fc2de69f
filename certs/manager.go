package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// localTag marks the server certificate issued by the local CA in
// certmagic's cache.
const localTag = "kmsbox-local"

// acmeTLS1Protocol is the ALPN protocol of the tls-alpn-01 challenge
// (RFC 8737).
const acmeTLS1Protocol = "acme-tls/1"

// Manager owns the local CA, the server certificate, its renewal, and (with
// ACME) the certmagic-managed certificates. Its methods are safe for
// concurrent use. Close stops its background work.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	storage *certmagic.FileStorage
	cache   *certmagic.Cache
	magic   *certmagic.Config
	ca      *authority
	names   []string // desired SANs of the local server certificate, sorted

	ctx    context.Context // cancelled by Close; bounds background ACME work
	cancel context.CancelFunc
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	mu         sync.Mutex // guards the fields below
	serverHash string
	serverLeaf *x509.Certificate

	acmeMu      sync.Mutex      // guards acmePending and closing acmeReady
	acmePending map[string]bool // ACME names not yet cached
	acmeReady   chan struct{}   // closed when acmePending becomes empty
}

// Open makes (on first start) or loads (later) the local CA and the server
// certificate in cfg.Dir, caches them in a certmagic cache, obtains ACME
// certificates if cfg.ACME is set, and starts the renewal loop.
//
// A CA that exists but cannot be read is an error wrapping ErrCorrupt; it is
// never silently replaced. A server certificate whose SANs differ from the
// configured ones, that is due for renewal, unreadable or not signed by the
// CA is re-issued from the same CA.
func Open(ctx context.Context, cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Now,
		storage: &certmagic.FileStorage{Path: cfg.Dir},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),

		acmePending: map[string]bool{},
		acmeReady:   make(chan struct{}),
	}
	if cfg.ACME != nil {
		for _, d := range cfg.ACME.Domains {
			m.acmePending[normalizeName(d)] = true
		}
	} else {
		close(m.acmeReady)
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.cfg.Validity == 0 {
		m.cfg.Validity = DefaultValidity
	}
	if m.cfg.CheckInterval == 0 {
		m.cfg.CheckInterval = DefaultCheckInterval
	}
	if err := ensurePrivateDir(cfg.Dir); err != nil {
		return nil, err
	}

	ca, created, err := loadOrCreateCA(ctx, m.storage, m.now())
	if err != nil {
		return nil, err
	}
	m.ca = ca
	if created {
		m.log.Info("created local CA", "dir", cfg.Dir, "not_after", ca.cert.NotAfter)
	}
	if err := exportCA(filepath.Join(cfg.Dir, caExportFile), ca.certPEM); err != nil {
		return nil, err
	}
	m.names = m.serverNames()

	zl := newZapLogger(m.log.With("component", "certmagic"))
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           zl,
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		RenewalWindowRatio: certmagic.DefaultRenewalWindowRatio,
		// Handshakes without SNI (clients dialing an IP we have no SAN
		// for) and with an unknown SNI get the local certificate, which
		// always holds localhost, rather than a handshake failure.
		DefaultServerName:  "localhost",
		FallbackServerName: "localhost",
		Issuers:            []certmagic.Issuer{},
		KeySource:          certmagic.StandardKeyGenerator{KeyType: certmagic.P256},
		Storage:            m.storage,
		Logger:             zl,
		OnEvent:            m.onEvent,
		ShouldEmitFunc:     func(event string) bool { return event == "cached_managed_cert" },
	})
	m.ctx, m.cancel = context.WithCancel(context.Background())

	if err := m.loadServer(ctx); err != nil {
		m.shutdown()
		return nil, err
	}
	if cfg.ACME != nil {
		if err := m.startACME(ctx); err != nil {
			m.shutdown()
			return nil, err
		}
	}
	go m.maintenanceLoop()
	return m, nil
}

// ServerTLSConfig returns a new TLS configuration (TLS 1.2 minimum, ALPN h2
// and http/1.1) whose certificates come from the certmagic cache, so a
// renewed certificate is served on the next handshake. Callers may change
// the returned value (e.g. ClientAuth); each call returns a fresh one.
// TLS 1.2 offers only ECDHE with AES-GCM or ChaCha20-Poly1305; TLS 1.3 has only
// AEAD suites anyway.
func (m *Manager) ServerTLSConfig() *tls.Config {
	protos := []string{"h2", "http/1.1"}
	if m.cfg.ACME != nil && !m.cfg.ACME.DisableTLSALPNChallenge {
		protos = append(protos, acmeTLS1Protocol)
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   serverCipherSuites(),
		GetCertificate: m.magic.GetCertificate,
		NextProtos:     protos,
	}
}

// serverCipherSuites returns the TLS 1.2 cipher suites kmsbox's servers offer:
// ECDHE key exchange with AES-GCM or ChaCha20-Poly1305, for ECDSA and RSA
// certificates (a config file may give an RSA one). Go's defaults would add
// the CBC suites with HMAC-SHA1.
func serverCipherSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

// CAPEM returns the local CA certificate in PEM form, the same bytes as
// <Dir>/ca.crt.
func (m *Manager) CAPEM() []byte { return bytes.Clone(m.ca.certPEM) }

// CAPool returns a pool holding only the local CA.
func (m *Manager) CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(m.ca.cert)
	return p
}

// ACMEReady returns a channel that is closed once every ACME domain has a
// certificate in the cache (loaded or obtained). Without ACME it is closed
// from the start.
func (m *Manager) ACMEReady() <-chan struct{} { return m.acmeReady }

// onEvent receives certmagic's events (only those ShouldEmitFunc lets
// through) and tracks which ACME names are being served.
func (m *Manager) onEvent(_ context.Context, event string, data map[string]any) error {
	if event != "cached_managed_cert" {
		return nil
	}
	sans, _ := data["sans"].([]string)
	m.acmeMu.Lock()
	defer m.acmeMu.Unlock()
	if len(m.acmePending) == 0 {
		return nil
	}
	for _, n := range sans {
		delete(m.acmePending, normalizeName(n))
	}
	if len(m.acmePending) == 0 {
		close(m.acmeReady)
		m.log.Info("ACME certificates ready", "domains", m.cfg.ACME.Domains)
	}
	return nil
}

// Close stops the renewal loop, background ACME work and certmagic's cache
// maintenance, and waits for them. It is safe to call more than once.
func (m *Manager) Close() error {
	m.once.Do(func() {
		close(m.stop)
		<-m.done
		m.shutdown()
	})
	return nil
}

// shutdown releases what Open set up before the maintenance loop started.
func (m *Manager) shutdown() {
	m.cancel()
	m.cache.Stop()
}

func (m *Manager) maintenanceLoop() {
	defer close(m.done)
	t := time.NewTicker(m.cfg.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			if err := m.maintain(m.ctx); err != nil {
				m.log.Error("renewing server certificate", "err", err)
			}
		}
	}
}

// maintain re-issues the local server certificate from the CA if less than
// a third of its life is left, stores it and swaps it into the cache. It is
// one step of the maintenance loop; certmagic renews ACME certificates
// itself.
func (m *Manager) maintain(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.serverLeaf != nil && !renewalDue(m.serverLeaf, now) {
		return nil
	}
	if m.ca.cert.NotAfter.Sub(now) < m.cfg.Validity {
		m.log.Warn("local CA expires soon; server certificates are capped at its expiry, replace the CA deliberately",
			"not_after", m.ca.cert.NotAfter)
	}
	return m.issueServerLocked(ctx, "renewal due")
}

// loadServer caches the stored server certificate if it is still fit for
// use, and issues a new one otherwise.
func (m *Manager) loadServer(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	certPEM, keyPEM, leaf, reason := m.storedServer(ctx)
	if reason != "" {
		return m.issueServerLocked(ctx, reason)
	}
	return m.installLocked(ctx, certPEM, keyPEM, leaf)
}

// storedServer returns the stored server certificate, or why it cannot be
// reused.
func (m *Manager) storedServer(ctx context.Context) (certPEM, keyPEM []byte, leaf *x509.Certificate, reason string) {
	certPEM, err := m.storage.Load(ctx, keyServerCert)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, "no server certificate"
	}
	if err != nil {
		return nil, nil, nil, "unreadable certificate: " + err.Error()
	}
	keyPEM, err = m.storage.Load(ctx, keyServerKey)
	if err != nil {
		return nil, nil, nil, "unreadable key: " + err.Error()
	}
	leaf, err = parseCertPEM(certPEM)
	if err != nil {
		return nil, nil, nil, "unparsable certificate: " + err.Error()
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, nil, "unparsable key: " + err.Error()
	}
	switch {
	case !publicKeysEqual(key.Public(), leaf.PublicKey):
		return nil, nil, nil, "key does not match certificate"
	case leaf.CheckSignatureFrom(m.ca.cert) != nil:
		return nil, nil, nil, "not signed by the local CA"
	case !slices.Equal(certNames(leaf), m.names):
		return nil, nil, nil, "SANs changed"
	case renewalDue(leaf, m.now()):
		return nil, nil, nil, "renewal due"
	}
	return certPEM, keyPEM, leaf, ""
}

// issueServerLocked issues, stores and caches a new server certificate.
func (m *Manager) issueServerLocked(ctx context.Context, reason string) error {
	certPEM, keyPEM, err := m.ca.issueServer(m.names, m.now(), m.cfg.Validity)
	if err != nil {
		return fmt.Errorf("certs: issue server certificate: %w", err)
	}
	// Key first: a crash in between leaves a mismatched pair, which the
	// next start re-issues.
	if err := storeSynced(ctx, m.storage, keyServerKey, keyPEM); err != nil {
		return fmt.Errorf("certs: store server key: %w", err)
	}
	if err := storeSynced(ctx, m.storage, keyServerCert, certPEM); err != nil {
		return fmt.Errorf("certs: store server certificate: %w", err)
	}
	leaf, err := parseCertPEM(certPEM)
	if err != nil {
		return err
	}
	if err := m.installLocked(ctx, certPEM, keyPEM, leaf); err != nil {
		return err
	}
	m.log.Info("issued server certificate", "reason", reason, "sans", m.names, "not_after", leaf.NotAfter)
	return nil
}

// installLocked puts the pair into the certmagic cache and then drops the
// previous one, so the next handshake is served the new certificate.
func (m *Manager) installLocked(ctx context.Context, certPEM, keyPEM []byte, leaf *x509.Certificate) error {
	hash, err := m.magic.CacheUnmanagedCertificatePEMBytes(ctx, certPEM, keyPEM, []string{localTag})
	if err != nil {
		return fmt.Errorf("certs: cache server certificate: %w", err)
	}
	if m.serverHash != "" && m.serverHash != hash {
		m.cache.Remove([]string{m.serverHash})
	}
	m.serverHash, m.serverLeaf = hash, leaf
	return nil
}

// serverNames returns the SANs of the local server certificate: localhost,
// the loopback addresses, the host name and cfg.SANs, minus names an ACME CA
// certifies (two certificates for one name would make the choice arbitrary).
func (m *Manager) serverNames() []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && checkName(h) == nil {
		names = append(names, h)
	}
	names = append(names, m.cfg.SANs...)
	var acme []string
	if m.cfg.ACME != nil {
		for _, d := range m.cfg.ACME.Domains {
			acme = append(acme, normalizeName(d))
		}
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n = normalizeName(n); !slices.Contains(acme, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
