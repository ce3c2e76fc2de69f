package appliance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// HealthConfig says where `kmsbox health` looks: the data dir (for the CA and the admin
// client certificate) and the addresses of the servers; an empty address is not checked.
type HealthConfig struct {
	DataDir                    string
	VaultAddr, KESAddr, S3Addr string
}

// TrustFile is the certificate bundle that verifies every listener of the appliance whose
// data dir is dataDir: the local CA plus the certificates config files gave the listeners.
func TrustFile(dataDir string) string { return filepath.Join(dataDir, "certs", "trust.pem") }

// Health returns nil when every enabled server answers ready: Vault /v1/sys/health 200
// (initialized, unsealed), KES /v1/ready 200 (its key store is reachable), S3
// /minio/health/ready 200 (its KMS is usable). It is what the Docker HEALTHCHECK runs, in an
// image without curl.
func Health(ctx context.Context, cfg HealthConfig) error {
	dir := filepath.Join(cfg.DataDir, "certs")
	trust := TrustFile(cfg.DataDir)
	caPEM, err := os.ReadFile(trust)
	if errors.Is(err, os.ErrNotExist) { // written by an older kmsbox
		trust = filepath.Join(dir, "ca.crt")
		caPEM, err = os.ReadFile(trust)
	}
	if err != nil {
		return fmt.Errorf("health: CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return errors.New("health: no certificate in " + trust)
	}
	tlsConfig := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if admin, err := tls.LoadX509KeyPair(filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key")); err == nil {
		tlsConfig.Certificates = []tls.Certificate{admin}
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}}

	var errs []error
	for _, probe := range []struct{ name, addr, path string }{
		{"vault", cfg.VaultAddr, "/v1/sys/health"},
		{"kes", cfg.KESAddr, "/v1/ready"},
		{"s3", cfg.S3Addr, "/minio/health/ready"},
	} {
		if probe.addr == "" {
			continue
		}
		base := "https://" + dialAddr(probe.addr)
		err := get(ctx, client, base+probe.path)
		if probe.name == "kes" && errors.Is(err, errForbidden) {
			// A KES config that disables the admin (the guide's root = "disabled") leaves
			// nobody here who may ask /v1/ready; that the server answers must do.
			err = get(ctx, client, base+"/version")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", probe.name, err))
		}
	}
	return errors.Join(errs...)
}

var errForbidden = errors.New("403 Forbidden")

func get(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusForbidden:
		return fmt.Errorf("GET %s: %w", url, errForbidden)
	}
	return fmt.Errorf("GET %s: %s", url, resp.Status)
}
