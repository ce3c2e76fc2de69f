package vaultstore

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/kmsbox/kmsbox/kescore"
)

// maxListBody bounds a K/V listing, as real KES does.
const maxListBody = 32 << 20

// Store is a kescore.KeyStore in a Vault K/V engine. It is safe for
// concurrent use.
type Store struct {
	cfg    Config
	client *vaultapi.Client // token changes on login; api.Client is safe for that
	health *vaultapi.Client // same server, namespace cleared (sys/health is root-only)
	log    *slog.Logger

	loginMu sync.Mutex // serializes logins, guards auth
	auth    tokenAuth  // what the last login said about the token

	relogin chan struct{} // a request found the token invalid; renewal restarts
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	creating keyLocks // one Create per key name at a time (K/V v1 has no create-if-absent)
}

var _ kescore.KeyStore = (*Store)(nil)

// Connect logs in to Vault with the AppRole and starts the token renewal
// and health goroutines. It fails if the configuration is invalid or the
// first login fails (wrong credentials, Vault unreachable or sealed).
func Connect(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()

	vc := apiConfig(cfg.Endpoint)
	tlsConf := &vaultapi.TLSConfig{ClientCert: cfg.CertFile, ClientKey: cfg.KeyFile}
	if cfg.CAFile != "" {
		fi, err := os.Stat(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("vaultstore: CA file: %w", err)
		}
		if fi.IsDir() {
			tlsConf.CAPath = cfg.CAFile
		} else {
			tlsConf.CACert = cfg.CAFile
		}
	}
	if err := vc.ConfigureTLS(tlsConf); err != nil {
		return nil, fmt.Errorf("vaultstore: TLS: %w", err)
	}
	client, err := vaultapi.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vaultstore: %w", err)
	}
	// NewClient picks up VAULT_TOKEN and VAULT_NAMESPACE from the
	// environment; the store uses only its own configuration.
	client.ClearToken()
	client.ClearNamespace()
	if cfg.Namespace != "" {
		client.SetNamespace(cfg.Namespace)
	}
	health, err := client.Clone()
	if err != nil {
		return nil, fmt.Errorf("vaultstore: %w", err)
	}
	health.ClearNamespace()
	// A health probe reports the state now; the next probe is the retry.
	health.SetMaxRetries(0)

	s := &Store{
		cfg:     cfg,
		client:  client,
		health:  health,
		log:     cfg.Logger.With("component", "vaultstore", "endpoint", cfg.Endpoint),
		relogin: make(chan struct{}, 1),
	}
	auth, err := s.login(ctx)
	if err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.wg.Add(2)
	go s.renewLoop(bg, auth)
	go s.pingLoop(bg)
	return s, nil
}

// apiConfig returns the Vault client configuration with the api's defaults
// but none of the VAULT_* environment variables the api reads on its own
// (skip-verify, CA, client cert, proxy, retries...): the store uses only
// its Config.
func apiConfig(endpoint string) *vaultapi.Config {
	vc := vaultapi.DefaultConfig() // its Error can only stem from the environment, ignored here
	vc.Error = nil
	vc.Address = endpoint
	vc.AgentAddress = ""
	vc.Timeout = 60 * time.Second
	vc.MinRetryWait, vc.MaxRetryWait, vc.MaxRetries = time.Second, 1500*time.Millisecond, 2
	vc.Limiter = nil
	vc.SRVLookup = false
	vc.DisableRedirects = false
	tr := vc.HttpClient.Transport.(*http.Transport) // DefaultConfig's own transport
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.Proxy = http.ProxyFromEnvironment
	vc.HttpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// Retry network errors and 5xx as the api does by default, but not 503:
	// a sealed Vault stays sealed for longer than the retry backoff.
	vc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if resp != nil && resp.StatusCode == http.StatusServiceUnavailable {
			return false, nil
		}
		// A TLS alert from Vault (e.g. "certificate required") is a
		// configuration problem, not a transient one.
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "remote error" {
			return false, nil
		}
		return vaultapi.DefaultRetryPolicy(ctx, resp, err)
	}
	return vc
}

// Close stops the token renewal and the health poll and waits for them.
// The token is not revoked (real KES does not either). Close is idempotent.
func (s *Store) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Status probes sys/health and returns its round-trip time. A Vault that
// cannot be reached, is sealed or is not initialized gives
// kescore.ErrStoreUnreachable, as KES reports such a Vault (/v1/ready: 504
// "key store is not reachable"); one that answers with an error gives
// kescore.ErrStoreUnavailable.
func (s *Store) Status(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	h, err := s.health.Sys().HealthWithContext(ctx)
	latency := time.Since(start)
	if err != nil {
		return 0, s.mapError(ctx, "health check", "sys/health", err)
	}
	switch {
	case !h.Initialized:
		return 0, fmt.Errorf("vaultstore: Vault at %s is not initialized: %w", s.cfg.Endpoint, kescore.ErrStoreUnreachable)
	case h.Sealed:
		return 0, fmt.Errorf("vaultstore: Vault at %s is sealed: %w", s.cfg.Endpoint, kescore.ErrStoreUnreachable)
	}
	return max(latency, time.Nanosecond), nil
}

// location returns the path of key name for K/V v1 or the given v2
// sub-tree ("data", "metadata").
func (s *Store) location(v2tree, name string) string {
	if s.cfg.Version == KVv2 {
		return path.Join(s.cfg.Engine, v2tree, s.cfg.Prefix, name)
	}
	return path.Join(s.cfg.Engine, s.cfg.Prefix, name)
}

// Create stores value under name if no entry of that name exists: a read,
// then a write (cas=0 on K/V v2), as real KES does.
func (s *Store) Create(ctx context.Context, name string, value []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	// K/V v1 offers no create-if-absent: read, then write. Within this process creates of one
	// name take turns, so concurrent creates have exactly one winner (as MinIO nodes starting
	// together all create the default key). Across processes K/V v2's cas=0 is the only guard.
	defer s.creating.lock(name)()
	loc := s.location("data", name)
	_, err := s.read(ctx, loc, name, false)
	switch {
	case err == nil:
		return fmt.Errorf("vaultstore: %s: %w", loc, kescore.ErrKeyExists)
	case !errors.Is(err, kescore.ErrKeyNotFound):
		return err
	}

	var body any = Entry(name, value)
	if s.cfg.Version == KVv2 {
		body = map[string]any{"options": map[string]int{"cas": 0}, "data": body}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	err = s.withToken(ctx, "create", loc, func() error {
		resp, err := s.client.Logical().WriteRawWithContext(ctx, loc, b)
		if resp != nil {
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		}
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
			return fmt.Errorf("vaultstore: create %s: unexpected status %d", loc, resp.StatusCode)
		}
		return nil
	})
	if err != nil && s.cfg.Version == KVv2 && (isStatus(err, http.StatusBadRequest) || errors.Is(err, ErrPermissionDenied)) {
		// cas=0 refused (400), or the write arrived after another process created the entry
		// and so counted as an update, which a create-only policy refuses (403).
		if _, rerr := s.read(ctx, loc, name, false); rerr == nil {
			return fmt.Errorf("vaultstore: %s: %w", loc, kescore.ErrKeyExists)
		}
	}
	return err
}

// Get returns the value stored under name.
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	v, err := s.read(ctx, s.location("data", name), name, true)
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}

// read returns the field name of the entry at loc. On K/V v2, version1
// reads version 1 (?version=1) as real KES's Get does; its create check
// reads the current version.
func (s *Store) read(ctx context.Context, loc, name string, version1 bool) (string, error) {
	var secret *vaultapi.Secret
	err := s.withToken(ctx, "read", loc, func() error {
		var err error
		if s.cfg.Version == KVv2 && version1 {
			secret, err = s.client.Logical().ReadWithDataWithContext(ctx, loc, map[string][]string{"version": {"1"}})
		} else {
			secret, err = s.client.Logical().ReadWithContext(ctx, loc)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return entryValue(secret, s.cfg.Version == KVv2, loc, name)
}

// entryValue extracts the string field name from a K/V read answer (nil:
// no entry).
func entryValue(secret *vaultapi.Secret, v2 bool, loc, name string) (string, error) {
	if secret == nil {
		return "", fmt.Errorf("vaultstore: %s: %w", loc, kescore.ErrKeyNotFound)
	}
	data := secret.Data
	if v2 {
		d, ok := data["data"].(map[string]any)
		if !ok {
			// A 404 of a deleted version carries data.data = null.
			if v, present := data["data"]; present && v == nil {
				return "", fmt.Errorf("vaultstore: %s: %w", loc, kescore.ErrKeyNotFound)
			}
			return "", fmt.Errorf("vaultstore: %s: not a K/V v2 entry (is the engine K/V v1?)", loc)
		}
		data = d
	}
	if len(data) == 0 && len(secret.Warnings) > 0 {
		return "", fmt.Errorf("vaultstore: %s: Vault warns: %s", loc, strings.Join(secret.Warnings, "; "))
	}
	record, err := Record(data, loc, name)
	return string(record), err
}

// Delete removes the entry of name. Vault's delete is idempotent, so the
// entry is read first to report kescore.ErrKeyNotFound (which the KES API
// turns into an empty 200, as KES does).
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, err := s.read(ctx, s.location("data", name), name, true); err != nil {
		return err
	}
	loc := s.location("metadata", name)
	return s.withToken(ctx, "delete", loc, func() error {
		resp, err := s.client.Logical().DeleteRawWithContext(ctx, loc)
		if resp != nil {
			defer resp.Body.Close()
		}
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
			return fmt.Errorf("vaultstore: delete %s: unexpected status %d", loc, resp.StatusCode)
		}
		return nil
	})
}

// List returns the sorted names of the keys under the prefix folder that
// start with prefix. Sub-folders are not keys and are skipped.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	loc := s.location("metadata", "")
	var names []string
	err := s.withToken(ctx, "list", loc, func() error {
		resp, err := s.client.Logical().ReadRawWithDataWithContext(ctx, loc, map[string][]string{"list": {"true"}})
		if resp != nil {
			defer resp.Body.Close()
		}
		if err != nil {
			return err
		}
		secret, err := vaultapi.ParseSecret(io.LimitReader(resp.Body, maxListBody))
		if err != nil {
			return fmt.Errorf("vaultstore: list %s: %w", loc, err)
		}
		names, err = listedNames(secret, loc, prefix)
		return err
	})
	if isStatus(err, http.StatusNotFound) {
		return []string{}, nil // Vault answers 404 for an empty folder.
	}
	if err != nil {
		return nil, err
	}
	return names, nil
}

// listedNames returns the sorted key names of a K/V list answer that start
// with prefix, without sub-folders ("name/").
func listedNames(secret *vaultapi.Secret, loc, prefix string) ([]string, error) {
	if secret == nil || secret.Data == nil || secret.Data["keys"] == nil {
		return []string{}, nil
	}
	keys, ok := secret.Data["keys"].([]any)
	if !ok {
		return nil, fmt.Errorf("vaultstore: list %s: malformed key listing", loc)
	}
	listed := make([]string, 0, len(keys))
	for _, k := range keys {
		n, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("vaultstore: list %s: malformed key listing", loc)
		}
		listed = append(listed, n)
	}
	return Names(listed, prefix), nil
}

// checkName refuses names that would address another Vault path.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\?#%") {
		return fmt.Errorf("vaultstore: key name %q: %w", name, kescore.ErrInvalidName)
	}
	return nil
}
