// Package appliance wires kmsbox's three servers into one process and runs them.
//
// It is the only place that knows all of them: it opens the certificates (package certs), the
// sealed store (embeddedvault), the key server (kescore) and the object store (s3lite), joins
// them through the small interfaces the consumers declare (kescore.KeyStore, s3lite.KMS) with
// the adapters in adapters.go, binds one TLS listener per enabled server, and on shutdown stops
// them in reverse dependency order: S3 first, then KES, then Vault.
//
// Start-up is two steps so that callers (main and tests) can bind ports before serving:
// [Open] binds every listener and opens every store, failing fast with a one-line error that
// names the flag to change when a port is taken; [Appliance.Run] serves until its context is
// cancelled and returns only when every server and background goroutine has stopped.
//
// The listeners outlive the servers: each forwards to the current generation of them, which
// [Appliance.Reset] replaces with a fresh one (the --dev start state) without closing a port.
// Every port also serves the CA at [CAPath], unauthenticated; the KES port asks for a client
// certificate in the handshake (RequireAnyClientCert, as KES does), so a client fetching the CA
// there needs some certificate: any will do (one the configured CAs verify when a KES config
// turns verification on).
//
// Written by hand here, with reasons:
//   - the env file writer (dev.go): a dozen shell export lines, quoted with strconv-style
//     single quotes; a dotenv library would add a dependency for one function;
//   - the health probe (health.go): three HTTPS GETs with the exported CA; no client library
//     covers Vault, KES and MinIO health at once;
//   - the selftest's S3 requests (selftest.go): five signed requests with minio-go's signer; a
//     whole S3 SDK in the binary would cost megabytes for them.
package appliance
