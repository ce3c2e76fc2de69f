package appliance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/kmsbox/kmsbox/appliance/seed"
	"github.com/kmsbox/kmsbox/embeddedvault"
	"github.com/kmsbox/kmsbox/internal/atomicfile"
	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/s3lite"
)

// wire opens the three servers on top of each other (vault, then KES on the vault, then S3
// on KES) and turns the bound listeners into services.
func (a *Appliance) wire(ctx context.Context, lns map[string]net.Listener) error {
	cfg := a.cfg
	serverTLS := a.certs.ServerTLSConfig()

	// 1. The sealed store.
	vcfg := embeddedvault.Config{
		Path:         filepath.Join(cfg.DataDir, "vault.db"),
		Logger:       cfg.Logger.With("server", "vault"),
		Dev:          cfg.Dev,
		DevRootToken: cfg.DevRootToken,
		DevKeyFile:   filepath.Join(cfg.DataDir, devVaultKeyFile),
		Version:      cfg.Version,
	}
	if a.det != nil {
		vcfg.DevRootKey = a.det.bytes("vault root key", 32)
		if vcfg.DevRootToken == "" {
			vcfg.DevRootToken = "hvs." + randomString(a.det.reader("vault root token"), 24)
		}
	}
	if mount := a.managedMount(); mount != "" || cfg.Dev {
		// KES's mount (and with --dev the Transit engine and its key) are there as soon as an
		// unseal returns, as on every restart.
		vcfg.OnUnseal = func(ctx context.Context, v *embeddedvault.Server) error {
			var errs []error
			if mount != "" {
				errs = append(errs, v.EnsureKVMount(ctx, mount))
			}
			if cfg.Dev {
				errs = append(errs, ensureDevTransit(ctx, v))
			}
			return errors.Join(errs...)
		}
	}
	// Sealing is the emergency stop: KES drops its cached keys at once (a probe of the sealed
	// store does that) instead of at its next periodic probe.
	var kes *kescore.Server
	vcfg.OnSeal = func(ctx context.Context) {
		if kes != nil {
			kes.Ready(ctx)
		}
	}
	vaultTLS := serverTLS
	if cfg.VaultConfig != nil {
		vcfg = applyVaultConf(vcfg, cfg.VaultConfig)
		var err error
		if vaultTLS, err = vaultListenerTLS(cfg.VaultConfig, serverTLS); err != nil {
			return err
		}
	}
	vault, err := embeddedvault.Open(ctx, vcfg)
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	a.closers = append(a.closers, vault.Close)

	// 2. The key server, keeping its keys in the vault.
	kcfg, err := a.kesConfig(ctx, vault)
	if err != nil {
		return err
	}
	kes, err = kescore.Open(ctx, kcfg)
	if err != nil {
		return fmt.Errorf("kes: %w", err)
	}
	a.closers = append(a.closers, kes.Close)
	if a.det != nil && a.devKey != "" {
		// kesConfig left the dev key out: made here from the seed instead of at random.
		if err := (kesTarget{kes: kes, det: a.det}).CreateKey(ctx, a.devKey); err != nil && !errors.Is(err, seed.ErrExists) {
			return fmt.Errorf("kes: key %s: %w", a.devKey, err)
		}
	}

	// 3. The object store, taking its data keys from the key server.
	scfg, err := a.s3Config(ctx, kes)
	if err != nil {
		return err
	}
	s3, err := s3lite.Open(ctx, scfg)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	a.closers = append(a.closers, s3.Close)

	log := cfg.Logger
	if ln := lns["vault"]; ln != nil {
		a.services = append(a.services, &service{name: "vault", scheme: "https", ln: ln,
			srv: newHTTPServer(vault.Handler(), vaultTLS, log.With("server", "vault"))})
	}
	if ln := lns["kes"]; ln != nil {
		kesTLS := serverTLS.Clone()
		if f := cfg.KESConfig; f != nil && (f.TLS.Cert != "" || f.TLS.Key != "") {
			cert, err := tls.LoadX509KeyPair(f.TLS.Cert, f.TLS.Key)
			if err != nil {
				return fmt.Errorf("--kes-config: tls.cert/tls.key: %w", err)
			}
			kesTLS.GetCertificate, kesTLS.Certificates = nil, []tls.Certificate{cert}
		}
		kesTLS.ClientAuth = kesClientAuth(kcfg)
		kesTLS.ClientCAs = kcfg.ClientCAs
		srv := newHTTPServer(kes.Handler(), kesTLS, log.With("server", "kes"))
		a.services = append(a.services, &service{name: "kes", scheme: "https", ln: ln, srv: srv})
	}
	if ln := lns["s3"]; ln != nil {
		a.services = append(a.services, &service{name: "s3", scheme: "https", ln: ln,
			srv: newHTTPServer(s3.Handler(), serverTLS, log.With("server", "s3"))})
	}

	if ln := lns["console"]; ln != nil {
		srv, err := a.newConsole(vault, kes, s3, scfg, vcfg.Path)
		if err != nil {
			return err
		}
		a.services = append(a.services, &service{name: "console", scheme: "https", ln: ln,
			srv: newHTTPServer(srv.Handler(), serverTLS, log.With("server", "console"))})
	}

	if err := a.writeTrustBundle(); err != nil {
		return err
	}
	if vault.Sealed() && a.URL("vault") != "" {
		a.log.Warn("the vault is sealed: KES and S3 wait for it; initialize it (vault operator init) or unseal it (vault operator unseal)",
			"VAULT_ADDR", a.URL("vault"), "VAULT_CACERT", a.CAFile())
	}
	if !cfg.Dev {
		return nil
	}
	if err := a.writeDevFiles(vault, scfg); err != nil {
		return err
	}
	rootToken, _ := vault.DevCredentials()
	access, secret := rootCredentials(scfg)
	a.seedTargets = seed.Targets{
		Vault: vaultTarget{h: vault.Handler(), token: rootToken},
		KES:   kesTarget{kes: kes, det: a.det},
		S3:    s3Target{h: s3.Handler(), access: access, secret: secret, region: scfg.Region, ip: "127.0.0.1"},
	}
	return a.ApplySeed(ctx)
}

// writeTrustBundle writes <data-dir>/certs/trust.pem: the local CA plus the certificates that
// config files gave the Vault and KES listeners (the guide makes its own), so one file verifies
// every listener. `kmsbox health` uses it.
func (a *Appliance) writeTrustBundle() error {
	bundle := a.certs.CAPEM()
	var extra []string
	if vc := a.cfg.VaultConfig; vc != nil && vc.TLSCertFile != "" {
		extra = append(extra, vc.TLSCertFile)
	}
	if kc := a.cfg.KESConfig; kc != nil && kc.TLS.Cert != "" {
		extra = append(extra, kc.TLS.Cert)
	}
	for _, name := range extra {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		bundle = append(append(bundle, '\n'), b...)
	}
	return atomicfile.WriteFile(TrustFile(a.cfg.DataDir), bundle, 0o644)
}

// writeDevFiles writes the env file and prints the dev banner.
func (a *Appliance) writeDevFiles(vault *embeddedvault.Server, s3cfg s3lite.Config) error {
	rootToken, unsealKey := vault.DevCredentials()
	accessKey, secretKey := rootCredentials(s3cfg)
	dir := filepath.Join(a.cfg.DataDir, "certs")
	abs := func(p string) string {
		if q, err := filepath.Abs(p); err == nil {
			return q
		}
		return p
	}
	ca := abs(a.CAFile())
	a.envFile = EnvFile(a.cfg.DataDir)
	var transitMount, transitKey string // what a Transit client needs besides VAULT_*
	if a.URL("vault") != "" {
		transitMount, transitKey = devTransitMount, devTransitKey
	}
	vars := []envVar{
		{"VAULT_ADDR", a.URL("vault")},
		{"VAULT_CACERT", ca},
		{"VAULT_TOKEN", rootToken},
		{"VAULT_TRANSIT_MOUNT", transitMount},
		{"VAULT_TRANSIT_KEY", transitKey},
		{"KES_SERVER", a.URL("kes")},
		{"KES_CLIENT_CERT", abs(filepath.Join(dir, adminIdentityName+".crt"))},
		{"KES_CLIENT_KEY", abs(filepath.Join(dir, adminIdentityName+".key"))},
		{"AWS_ENDPOINT_URL", a.URL("s3")},
		{"AWS_CA_BUNDLE", ca},
		{"AWS_ACCESS_KEY_ID", accessKey},
		{"AWS_SECRET_ACCESS_KEY", secretKey},
		{"AWS_REGION", s3cfg.Region},
		{"MINIO_KMS_KES_ENDPOINT", a.URL("kes")},
		{"MINIO_KMS_KES_CERT_FILE", abs(filepath.Join(dir, minioIdentityName+".crt"))},
		{"MINIO_KMS_KES_KEY_FILE", abs(filepath.Join(dir, minioIdentityName+".key"))},
		{"MINIO_KMS_KES_KEY_NAME", a.devKey},
		{"MINIO_KMS_KES_CAPATH", ca},
	}
	if err := writeEnvFile(a.envFile, vars); err != nil {
		return fmt.Errorf("env file: %w", err)
	}

	w := a.cfg.Out
	if a.det != nil {
		fmt.Fprintln(w, "kmsbox "+deterministicNote+": every secret below derives from --deterministic.")
	}
	fmt.Fprintln(w, "kmsbox dev mode: credentials for development only, never for production data.")
	if u := a.URL("vault"); u != "" {
		fmt.Fprintf(w, "  Vault  %s\n         root token  %s\n         unseal key  %s\n", u, rootToken, unsealKey)
		fmt.Fprintf(w, "         transit key  %s (mount %s/)\n", devTransitKey, devTransitMount)
	}
	if u := a.URL("kes"); u != "" {
		fmt.Fprintf(w, "  KES    %s\n         admin identity  %s\n         MinIO identity  %s\n", u, a.adminID, a.minioID)
	}
	if u := a.URL("s3"); u != "" {
		fmt.Fprintf(w, "  S3     %s\n         access key  %s\n         secret key  %s\n", u, accessKey, secretKey)
	}
	if u := a.URL("console"); u != "" {
		fmt.Fprintf(w, "  Console %s (log in with the S3 access key and secret key)\n", u)
	}
	fmt.Fprintf(w, "  CA     %s\n", ca)
	_, err := fmt.Fprintf(w, "  env    %s\n         load it with: eval \"$(kmsbox env --data-dir %s)\"\n", a.envFile, a.cfg.DataDir)
	return err
}

// kesClientAuth is the handshake policy of the KES listener, as KES sets it: a client
// certificate is required, and verified against the configured CAs with tls.auth on
// (mtls-auth verify); a route with skip_auth relaxes the handshake to "request".
func kesClientAuth(kcfg kescore.Config) tls.ClientAuthType {
	for _, r := range kcfg.Routes {
		if r.SkipAuth {
			return tls.RequestClientCert
		}
	}
	if kcfg.VerifyClientCerts {
		return tls.RequireAndVerifyClientCert
	}
	return tls.RequireAnyClientCert
}
