package certs

import (
	"context"
	"crypto/tls"
	"testing"
	"time"
)

// BenchmarkOpenExisting measures a restart: loading the CA and the server
// certificate from Dir and caching them (part of kmsbox's start-to-ready).
func BenchmarkOpenExisting(b *testing.B) {
	dir := b.TempDir()
	m, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	m.Close()
	for b.Loop() {
		m, err := Open(context.Background(), Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}

// BenchmarkOpenFresh measures a first start: making the CA and the server
// certificate.
func BenchmarkOpenFresh(b *testing.B) {
	for b.Loop() {
		m, err := Open(context.Background(), Config{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}

// BenchmarkGetCertificate measures the per-handshake certificate lookup in
// certmagic's cache.
func BenchmarkGetCertificate(b *testing.B) {
	m, err := Open(context.Background(), Config{Dir: b.TempDir(), CheckInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	get := m.ServerTLSConfig().GetCertificate
	hello := &tls.ClientHelloInfo{ServerName: "localhost"}
	for b.Loop() {
		if c, err := get(hello); err != nil || c == nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewIdentity measures `kmsbox identity new`.
func BenchmarkNewIdentity(b *testing.B) {
	for b.Loop() {
		if _, _, err := NewIdentity("bench", time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
