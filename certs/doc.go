// Package certs gives kmsbox its TLS material: a local CA, the server
// certificate that all three listeners (:8200, :7373, :9000) present,
// optionally ACME certificates, and the self-signed client identities KES
// clients authenticate with.
//
// # Files
//
// Everything lives in Config.Dir (normally <data-dir>/certs, mode 0700),
// written through certmagic's FileStorage (atomic writes, files 0600):
//
//	pki/ca.key, pki/ca.crt          local CA, ECDSA P-256, 10 years
//	pki/server.key, pki/server.crt  server certificate, ECDSA P-256, 90 days
//	ca.crt                          public copy of the CA (0644) for clients
//	<name>.key, <name>.crt          client identities (ClientIdentity)
//	acme/, certificates/, locks/    certmagic's ACME state (with ACME only)
//
// The CA is made once and reused on every start, so clients that trust
// ca.crt keep working. If its files exist but cannot be used, [Open] fails
// with an error wrapping [ErrCorrupt] and touches nothing; it never makes a
// new CA behind the operator's back. The server certificate is disposable:
// it is re-issued from the same CA when its SAN set changed, when it is
// damaged, and when less than a third of its life is left.
//
// # Serving and renewal
//
// Certificates are served from a [certmagic.Cache] through a
// [certmagic.Config] of our own (no package-level default config), so
// [Manager.ServerTLSConfig] picks a renewed certificate on the next
// handshake, without restart. Handshakes without SNI are matched by the
// local IP address; unknown names fall back to the local certificate, which
// always covers localhost.
//
// # What is hand-written and why
//
// certmagic obtains certificates only through Issuers, and ships two: ACME
// and ZeroSSL. It has no local-CA issuer; Caddy's "internal" issuer lives in
// Caddy's pki module on top of smallstep's CA, which would pull a large
// dependency tree into the binary for what is ~150 lines of crypto/x509
// here (make a P-256 CA, sign one leaf). smallstep/certificates and cfssl
// are CA servers, not small libraries; mkcert is a command. So issuing from
// the local CA uses the standard library only (localca.go).
//
// We also do not run the local certificate as a certmagic "managed"
// certificate behind a custom Issuer: certmagic manages one certificate per
// name (five certificates for localhost, 127.0.0.1, ::1, the host name and a
// --san, instead of the one multi-SAN certificate clients and tests expect)
// and reads the wall clock, so renewal could not be tested deterministically.
// The certificate is therefore cached as an unmanaged certificate, and the
// Manager renews it itself: a background loop (stopped and awaited by
// [Manager.Close]) re-issues it when less than a third of its life is left
// (the same ratio as certmagic's default renewal window), stores it, caches
// the new one and evicts the old one.
//
// With Config.ACME, the ACME names are managed by certmagic proper
// ([certmagic.NewACMEIssuer], ManageSync/ManageAsync): obtaining, storage,
// renewal and the http-01 / tls-alpn-01 solvers are all certmagic's. The local
// certificate keeps serving every other name (localhost, the loopback IPs),
// so local health checks that trust ca.crt keep working. [Manager.ACMEReady]
// is closed when certmagic reports every ACME name cached. Background ACME
// retries started by ManageAsync are cancelled by Close; certmagic offers no
// way to wait for them.
//
// Client identities follow `kes identity new`: an Ed25519 key (PKCS#8 PEM)
// and a self-signed certificate with the ClientAuth usage. A KES identity is
// the lowercase hex SHA-256 of the certificate's DER SubjectPublicKeyInfo
// ([Identity]); that is a one-line hash, not worth a dependency (the KES
// client library is AGPL and used only in tests, to check we agree with it).
//
// certmagic logs through zap; zaplog.go forwards its entries to the
// Config's slog.Logger so the process has one log stream.
package certs
