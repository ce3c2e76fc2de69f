package appliance

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Paths kmsbox serves next to the servers' own APIs.
const (
	// CAPath serves the local CA certificate (PEM) on every port, unauthenticated, as
	// `kmsbox cert ca` prints it. (The KES port asks for a client certificate in the TLS
	// handshake; see the package doc.)
	CAPath = "/kmsbox/ca.crt"
	// ResetPath, on the Vault port, resets a --dev server ([Appliance.Reset]): POST with
	// the dev root token in X-Vault-Token. 204 on success.
	ResetPath = "/kmsbox/v1/reset"
)

// Errors of [Appliance.Reset].
var (
	// ErrResetNotDev: only a --dev server can be reset; a production vault is never wiped.
	ErrResetNotDev = errors.New("reset needs a server started with --dev")
	// ErrClosed: the appliance has stopped.
	ErrClosed = errors.New("the appliance is closed")
)

// Reset brings the three servers back to their start state without a restart and without
// closing a listener: the fresh --dev state (and the seed, through bootstrap). The CA, the
// server certificate, the client identities, the dev root token and the S3 credentials stay,
// so clients keep working; every secret, key, bucket and object made since is gone.
//
// New requests wait while Reset runs. Requests in flight finish on the old servers first,
// within Config.ShutdownTimeout; one that takes longer gets the old server's error as its
// state closes under it. Then the old generation is closed (its goroutines stopped), its
// files removed, and a new generation opened on fresh files and bootstrapped. When that
// fails, every request gets 503 until a reset succeeds.
func (a *Appliance) Reset(ctx context.Context) error {
	if !a.cfg.Dev {
		return ErrResetNotDev
	}
	a.resetMu.Lock()
	defer a.resetMu.Unlock()
	if a.closed {
		return ErrClosed
	}
	start := time.Now()
	a.swapMu.Lock()
	defer a.swapMu.Unlock()
	old := a.gen
	a.gen = nil
	if old != nil {
		dctx, cancel := context.WithTimeout(ctx, a.cfg.ShutdownTimeout)
		if err := old.inflight.wait(dctx); err != nil {
			a.log.Warn("reset: requests still in flight; closing the old state under them", "err", err)
		}
		cancel()
		if err := old.close(); err != nil {
			a.log.Warn("reset: closing the old state", "err", err)
		}
		if err := removeState(old.vaultFile, S3Dir(a.cfg.DataDir)); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
	}
	g, err := a.openGeneration(ctx)
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	a.gen = g
	a.log.Info("reset", "took", time.Since(start).Round(time.Microsecond))
	return nil
}

// removeState removes the files of a closed generation: the vault's store file and
// everything in the object store's directory except the empty fan-out directories of its
// bodies (data/00 ... data/ff), which the next generation would make again at a cost that
// dominates a reset on slow file systems.
func removeState(vaultFile, s3Dir string) error {
	if err := os.Remove(vaultFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	entries, err := os.ReadDir(s3Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != "data" || !e.IsDir() {
			if err := os.RemoveAll(filepath.Join(s3Dir, e.Name())); err != nil {
				return err
			}
			continue
		}
		if err := emptyDirs(filepath.Join(s3Dir, "data")); err != nil {
			return err
		}
	}
	return nil
}

// emptyDirs removes everything below dir except its subdirectories themselves.
func emptyDirs(dir string) error {
	subs, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		p := filepath.Join(dir, sub.Name())
		if !sub.IsDir() {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			continue
		}
		files, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := os.RemoveAll(filepath.Join(p, f.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// serveCA answers GET and HEAD of CAPath with the local CA certificate.
func (a *Appliance) serveCA(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(a.certs.CAPEM())
}

// serveReset answers POST ResetPath: X-Vault-Token must be the dev root token. Errors are
// Vault's JSON error body.
func (a *Appliance) serveReset(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string][]string{"errors": {msg}})
	}
	switch {
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", "POST")
		fail(http.StatusMethodNotAllowed, "method not allowed: POST")
		return
	case !a.cfg.Dev:
		fail(http.StatusNotFound, ErrResetNotDev.Error())
		return
	}
	token, root := r.Header.Get("X-Vault-Token"), a.devRootToken()
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(root)) != 1 {
		fail(http.StatusForbidden, "permission denied")
		return
	}
	if err := a.Reset(r.Context()); err != nil {
		a.log.Error("reset failed", "err", err)
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// RemoteReset asks the kmsbox whose Vault API is at vaultURL to reset ([ResetPath]), with the
// dev root token, trusting the CA certificates in caFile.
func RemoteReset(ctx context.Context, vaultURL, token, caFile string) error {
	client, err := trustClient(caFile)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, vaultURL+ResetPath, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("POST %s: %s: %s", ResetPath, resp.Status, body)
	}
	return nil
}

// trustClient is an HTTPS client that trusts the certificates in caFile.
func trustClient(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return &http.Client{Transport: tr}, nil
}
