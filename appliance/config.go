package appliance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"

	"github.com/kmsbox/kmsbox/appliance/vaultconf"
	"github.com/kmsbox/kmsbox/embeddedvault"
	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/kescore/vaultstore"
)

// applyKESConfig applies a KES config file (the guide's TOML or the current YAML) to kcfg:
// admin, policies, cache, keys, client-certificate verification, and the key store. A
// [keystore.vault] that names this appliance's own vault uses it in-process; any other Vault
// (or OpenBao) is reached over HTTPS with AppRole, as real KES does.
func (a *Appliance) applyKESConfig(ctx context.Context, g *generation, kcfg *kescore.Config, vault *embeddedvault.Server) error {
	f := a.cfg.KESConfig
	if err := f.Apply(kcfg); err != nil {
		return fmt.Errorf("--kes-config: %w", err)
	}
	if f.KeyStore.FS != nil {
		return errors.New("--kes-config: keystore.fs is not supported by kmsbox: keep keys in keystore.vault (or leave the keystore out to use the embedded vault)")
	}
	v := f.KeyStore.Vault
	if v == nil {
		return nil // keys stay in the embedded vault's kes/ mount
	}
	if v.Transit != nil {
		return errors.New("--kes-config: keystore.vault.transit is not supported by kmsbox")
	}
	engine := v.Engine
	if engine == "" {
		engine = vaultstore.DefaultEngine
	}
	if a.isOwnVault(v.Endpoint) {
		if v.Version == vaultstore.KVv2 {
			return errors.New("--kes-config: keystore.vault.version v2 with kmsbox's own vault: use v1 (the in-process store speaks KV v1)")
		}
		// In dev mode kmsbox enables the configured mount too, as it does kes/.
		kcfg.Store = &vaultKeyStore{vault: vault, mount: engine, prefix: v.Prefix, manage: a.cfg.Dev}
		a.keys = keyStoreInfo{where: "embedded vault, KV v1 " + keyPath(engine, v.Prefix), mount: engine + "/"}
		return nil
	}
	vcfg := vaultstore.Config{
		Endpoint:   v.Endpoint,
		Engine:     engine,
		Version:    v.Version,
		Prefix:     v.Prefix,
		Namespace:  v.Namespace,
		CAFile:     v.TLS.CA,
		CertFile:   v.TLS.Cert,
		KeyFile:    v.TLS.Key,
		StatusPing: v.StatusPing,
		Logger:     a.log.With("component", "vaultstore"),
	}
	if v.AppRole != nil {
		vcfg.AppRole = vaultstore.AppRoleConfig{Engine: v.AppRole.Engine, ID: v.AppRole.ID, Secret: v.AppRole.Secret, Retry: v.AppRole.Retry}
	}
	store, err := vaultstore.Connect(ctx, vcfg)
	if err != nil {
		return fmt.Errorf("--kes-config: keystore.vault %s: %w", v.Endpoint, err)
	}
	g.closers = append(g.closers, store.Close)
	kcfg.Store = store
	a.keys = keyStoreInfo{external: true, where: "Vault at " + v.Endpoint + ", " + keyPath(engine, v.Prefix), mount: engine + "/"}
	return nil
}

// managedMount is the KV v1 mount of the embedded vault that kmsbox enables itself for KES
// on every unseal: kes/ by default; with --dev also the mount a KES config names on this
// vault (the guide's kv/); none when KES keeps its keys elsewhere or the user manages it.
func (a *Appliance) managedMount() string {
	f := a.cfg.KESConfig
	if f == nil || f.KeyStore.Vault == nil {
		return kesDefaultMount
	}
	if v := f.KeyStore.Vault; a.cfg.Dev && a.isOwnVault(v.Endpoint) && v.Version != vaultstore.KVv2 {
		if v.Engine == "" {
			return vaultstore.DefaultEngine
		}
		return v.Engine
	}
	return ""
}

// isOwnVault reports whether endpoint is this appliance's own Vault listener.
func (a *Appliance) isOwnVault(endpoint string) bool { return isLocal(endpoint, a.addrs["vault"]) }

// isLocal reports whether endpoint (a URL, or host:port) is the loopback listener own.
func isLocal(endpoint, own string) bool {
	if own == "" {
		return false
	}
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	_, ownPort, _ := net.SplitHostPort(own)
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return u.Port() == ownPort
	}
	return false
}

// applyVaultConf overlays the settings of the guide's vault-config.json that the store
// itself uses (storage path and lease TTLs) onto base.
func applyVaultConf(base embeddedvault.Config, vc *vaultconf.Config) embeddedvault.Config {
	if p := vc.DBPath(); p != "" {
		base.Path = p
	}
	if vc.DefaultLeaseTTL > 0 {
		base.DefaultLeaseTTL = vc.DefaultLeaseTTL
	}
	if vc.MaxLeaseTTL > 0 {
		base.MaxLeaseTTL = vc.MaxLeaseTTL
	}
	return base
}

// vaultListenerTLS is the Vault listener's TLS configuration under the guide's
// vault-config.json: its own certificate files when given (the guide makes them with
// openssl), else kmsbox's; its tls_min_version when given.
func vaultListenerTLS(vc *vaultconf.Config, serverTLS *tls.Config) (*tls.Config, error) {
	if vc.TLSDisable {
		return nil, errors.New("--vault-config: listener.tcp.tls_disable: kmsbox serves the Vault API over TLS only")
	}
	conf := serverTLS.Clone()
	if vc.TLSCertFile != "" || vc.TLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(vc.TLSCertFile, vc.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--vault-config: listener.tcp.tls_cert_file/tls_key_file: %w", err)
		}
		conf.GetCertificate = nil
		conf.Certificates = []tls.Certificate{cert}
	}
	if vc.TLSMinVersion != 0 {
		conf.MinVersion = vc.TLSMinVersion
	}
	return conf, nil
}

// keyPath is the path prefix under which a KV key store keeps key <name>: "kv/minio/".
func keyPath(engine, prefix string) string {
	return strings.TrimSuffix(path.Join(engine, prefix), "/") + "/"
}
