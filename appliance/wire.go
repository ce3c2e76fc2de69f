package appliance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/kmsbox/kmsbox/embeddedvault"
	"github.com/kmsbox/kmsbox/internal/atomicfile"
	"github.com/kmsbox/kmsbox/internal/netcork"
	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/s3lite"
)

// wire opens the first generation of the servers and turns the bound listeners into
// services that forward to whichever generation is current (see [Appliance.Reset]).
func (a *Appliance) wire(ctx context.Context, lns map[string]net.Listener) error {
	cfg := a.cfg
	serverTLS := a.certs.ServerTLSConfig()
	g, err := a.openGeneration(ctx)
	if err != nil {
		return err
	}
	a.gen = g
	if cfg.Dev {
		a.devRoot, _ = g.vault.DevCredentials()
	}
	if ln := lns["vault"]; ln != nil {
		a.services = append(a.services, &service{name: "vault", scheme: "https", ln: ln,
			srv: newHTTPServer(a.front("vault"), g.vaultTLS, cfg.Logger.With("server", "vault"))})
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
		kesTLS.ClientAuth = kesClientAuth(g.kcfg)
		kesTLS.ClientCAs = g.kcfg.ClientCAs
		srv := newHTTPServer(a.front("kes"), kesTLS, cfg.Logger.With("server", "kes"))
		a.services = append(a.services, &service{name: "kes", scheme: "https", ln: ln, srv: srv})
	}
	for _, name := range []string{"s3", "console"} {
		if ln := lns[name]; ln != nil {
			if name == "s3" { // object bodies leave in writes of several TLS records
				ln = netcork.NewListener(ln)
			}
			a.services = append(a.services, &service{name: name, scheme: "https", ln: ln,
				srv: newHTTPServer(a.front(name), serverTLS, cfg.Logger.With("server", name))})
		}
	}

	if err := a.writeTrustBundle(); err != nil {
		return err
	}
	if g.vault.Sealed() && a.URL("vault") != "" {
		a.log.Warn("the vault is sealed: KES and S3 wait for it; initialize it (vault operator init) or unseal it (vault operator unseal)",
			"VAULT_ADDR", a.URL("vault"), "VAULT_CACERT", a.CAFile())
	}
	if cfg.Dev {
		return a.writeDevFiles(g.vault, g.scfg)
	}
	return nil
}

// openGeneration opens the three servers on top of each other (vault, then KES on the vault,
// then S3 on KES) and the console over them, then runs [Appliance.bootstrap]. On error it
// leaves nothing open.
func (a *Appliance) openGeneration(ctx context.Context) (_ *generation, err error) {
	cfg := a.cfg
	g := &generation{}
	defer func() {
		if err != nil {
			g.close()
		}
	}()

	// 1. The sealed store.
	vcfg := embeddedvault.Config{
		Path:         VaultFile(cfg.DataDir),
		Logger:       cfg.Logger.With("server", "vault"),
		Dev:          cfg.Dev,
		DevRootToken: a.devRootToken(),
		DevKeyFile:   DevUnsealFile(cfg.DataDir),
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
	g.vaultTLS = a.certs.ServerTLSConfig()
	if cfg.VaultConfig != nil {
		vcfg = applyVaultConf(vcfg, cfg.VaultConfig)
		if g.vaultTLS, err = vaultListenerTLS(cfg.VaultConfig, g.vaultTLS); err != nil {
			return nil, err
		}
	}
	g.vaultFile = vcfg.Path
	if g.vault, err = embeddedvault.Open(ctx, vcfg); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	g.closers = append(g.closers, g.vault.Close)

	// 2. The key server, keeping its keys in the vault.
	if g.kcfg, err = a.kesConfig(ctx, g, g.vault); err != nil {
		return nil, err
	}
	if kes, err = kescore.Open(ctx, g.kcfg); err != nil {
		return nil, fmt.Errorf("kes: %w", err)
	}
	g.kes = kes
	g.closers = append(g.closers, kes.Close)

	// 3. The object store, taking its data keys from the key server.
	if g.scfg, err = a.s3Config(ctx, g, kes); err != nil {
		return nil, err
	}
	if g.s3, err = s3lite.Open(ctx, g.scfg); err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	g.closers = append(g.closers, g.s3.Close)

	g.handlers = map[string]http.Handler{"vault": g.vault.Handler(), "kes": kes.Handler(), "s3": g.s3.Handler()}
	if a.cfg.ConsoleAddr != "" {
		srv, err := a.newConsole(g, g.vault, kes, g.s3, g.scfg, vcfg.Path)
		if err != nil {
			return nil, err
		}
		g.handlers["console"] = srv.Handler()
	}
	if err := a.bootstrap(ctx, g); err != nil {
		return nil, err
	}
	return g, nil
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
